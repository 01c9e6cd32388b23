#!/usr/bin/env bash
# The unit tests under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer, each in its
# own scratch path (.build-asan, .build-tsan), one after the other: both builds are heavy.
#
#   scripts/sanitizers.sh [address|thread]...     (default: both)
#
# As root, the thread run also drives the TSan-built daemon through Tests/Lab/workers_test.sh
# (`serve --workers 2`: two event loops on one shared cache, control, reloads, metrics, many
# concurrent flows), with halt_on_error so a report kills the daemon and fails the test.
#
# Prints per sanitizer the build and test times, the test count, failed tests and sanitizer
# reports; exits 1 if anything failed.
#
# CI: run by CI through scripts/test.sh only if fast enough; test.sh does not call it yet.
# Measured on the 2-core development machine (Swift 6.3.1, 183 tests, clean scratch paths,
# other builds idle): address: build 87 s, tests 58 s (the slow unwinder below costs ~45 of
# them: 15 s without it); thread: build 83 s, tests 14 s. About 4 min together, on top of
# test.sh's own build; with other builds running the address build took over 6 min. The fuzz
# targets (scripts/fuzz.sh) cover the byte-parsing paths under ASan far more deeply.
#
# Leaks (ASan on Linux includes LSan), suppressed narrowly in the generated file below:
# - ldns 1.8.3 leaks the records parsed before a zone syntax error (zone.c frees its partial
#   zone shallowly; Sources/DNSForward/Zones/ZoneFileReader.swift documents it), and the zone
#   tests load broken files on purpose. Matching ldns_zone_new_frm_fp_l needs whole stacks,
#   and libldns has no frame pointers: hence fast_unwind_on_malloc=0.
# - XCTest's runner keeps its suite objects until exit (this package's tests are
#   swift-testing; XCTest runs zero tests and still leaks them).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
sanitizers=("$@")
((${#sanitizers[@]})) || sanitizers=(address thread)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/lsan.supp" <<'EOF'
leak:ldns_zone_new_frm_fp_l
leak:libXCTest.so
EOF

summary=()
failed=0
for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "unknown sanitizer '$sanitizer' (address or thread)" >&2; exit 2 ;;
    esac
    log=$repo/$scratch/sanitizers-test.log
    echo "== $sanitizer: swift build --build-tests --sanitize=$sanitizer --scratch-path $scratch"
    start=$SECONDS
    build_status=0
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 |
        grep -v -e "Cannot export local symbol '__asan" -e "Cannot export local symbol '__tsan" || build_status=${PIPESTATUS[0]}
    build_seconds=$((SECONDS - start))
    if ((build_status != 0)); then
        summary+=("$sanitizer: BUILD FAILED (exit $build_status) after ${build_seconds}s")
        failed=1
        continue
    fi

    echo "== $sanitizer: swift test --skip-build (log $log)"
    start=$SECONDS
    test_status=0
    ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1 \
        LSAN_OPTIONS=suppressions=$work/lsan.supp:print_suppressions=0 \
        TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 \
        swift test --sanitize="$sanitizer" --scratch-path "$scratch" --skip-build >"$log" 2>&1 || test_status=$?
    test_seconds=$((SECONDS - start))

    tests=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' "$log" | tail -n 1)
    failures=$(grep -acE '✘ Test .* failed after' "$log" || true)
    reports=$(grep -acE '^(==[0-9]+==ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer)' "$log" || true)
    line="$sanitizer: build ${build_seconds}s, tests ${test_seconds}s, ${tests:-?} tests, $failures failed, $reports sanitizer reports, exit $test_status"
    if ((test_status != 0 || reports > 0 || failures > 0)); then
        failed=1
        line+="  <-- FAILED"
        grep -aE '✘ Test .* failed after|^(==[0-9]+==ERROR|WARNING: ThreadSanitizer|SUMMARY:)' "$log" | head -n 20 | sed 's/^/    /'
    fi
    summary+=("$line")

    if [[ $sanitizer == thread ]] && ((EUID == 0)); then
        lab_log=$repo/$scratch/sanitizers-workers-lab.log
        echo "== thread: Tests/Lab/workers_test.sh with the TSan daemon (log $lab_log)"
        lab_status=0
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 TPROXY_DNS_BIN=$repo/$scratch/debug/tproxy-dns \
            Tests/Lab/workers_test.sh >"$lab_log" 2>&1 || lab_status=$?
        reports=$(grep -acE '^WARNING: ThreadSanitizer' "$lab_log" || true)
        line="thread, daemon in the lab: $(grep -aE '^lab: ' "$lab_log" | tail -n 1), $reports sanitizer reports, exit $lab_status"
        if ((lab_status != 0 || reports > 0)); then
            failed=1
            line+="  <-- FAILED"
            grep -aE '^FAIL|WARNING: ThreadSanitizer|SUMMARY:' "$lab_log" | head -n 20 | sed 's/^/    /'
        fi
        summary+=("$line")
    fi
done

echo
echo "== sanitizers summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
