#!/usr/bin/env bash
# libFuzzer targets over the code that reads hostile bytes. Not SwiftPM targets: each is the
# module's sources compiled together with one file from Fuzz/ by swiftc -sanitize=fuzzer,address.
#
#   scripts/fuzz.sh TARGET [SECONDS]     build (if stale) and fuzz one target (default 60 s)
#   scripts/fuzz.sh all [SECONDS]        every target in turn, SECONDS each
#   scripts/fuzz.sh build [TARGET|all]   build only
#   scripts/fuzz.sh repro TARGET FILE... run inputs once (a crash file, a corpus entry)
#
# Targets (Fuzz/*.swift):
#   query     client bytes -> ClientQueryParser.classify and Forwarder.handleQuery (and the
#             relayed reply, a UDP and a TCP cache hit for what went upstream)
#   upstream  a fixed pending query, fuzz bytes as the upstream's reply -> handleUpstreamReply
#   render    ReplyRenderer.render/personalize: a fuzzed cached answer and a fuzzed query
#   cmsg      RawUDP's ControlMessages + OriginalDestination.find over fuzzed control buffers
#   zone      fuzzed zone-file text -> LocalZones.load, then a few queries answered from it
#
# Everything built or found goes to .build-fuzz/ (gitignored): fuzz-TARGET binaries, the
# growing corpus in corpus/TARGET (seeded from the committed Fuzz/corpus/TARGET, which is never
# written), crashes in crashes/TARGET/. A crash stops the run; minimize it with
#   .build-fuzz/fuzz-TARGET -minimize_crash=1 -runs=20000 -exact_artifact_path=min FILE
# and make it a unit test (Tests/DNSForwardTests/FuzzRegressionTests.swift).
#
# Exit status: 0 when no target crashed, 1 otherwise (2: usage or build error).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
out=$repo/.build-fuzz
targets=(query upstream render cmsg zone)

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

target_file() {
    case $1 in
        query) echo Fuzz/QueryPath.swift ;;
        upstream) echo Fuzz/UpstreamReply.swift ;;
        render) echo Fuzz/CacheHitRender.swift ;;
        cmsg) echo Fuzz/ControlBuffer.swift ;;
        zone) echo Fuzz/ZoneLoader.swift ;;
        *) echo "unknown target '$1' (${targets[*]} or all)" >&2; return 2 ;;
    esac
}

# newer_than OUTPUT INPUT...: true when OUTPUT is missing or older than any INPUT.
stale() {
    local output=$1 input
    shift
    [[ -e $output ]] || return 0
    for input in "$@"; do [[ $input -nt $output ]] && return 0; done
    return 1
}

# swift-log, which DNSForward imports, as a static library and module: the same checkout
# SwiftPM would use (resolved through the normal package URL), compiled with ASan (no fuzzer
# coverage: its paths are not what we explore).
build_logging() {
    local checkout=$out/spm/checkouts/swift-log
    if [[ ! -d $checkout ]]; then
        swift package resolve --scratch-path "$out/spm" >&2
    fi
    local sources
    mapfile -t sources < <(find "$checkout/Sources/Logging" -name '*.swift' | sort)
    stale "$out/libLogging.a" "${sources[@]}" Package.resolved || return 0
    echo "fuzz.sh: building Logging (swift-log) with ASan" >&2
    mkdir -p "$out/modules"
    # Flags from swift-log's Package.swift (package access needs a package name).
    swiftc -parse-as-library -O -g -sanitize=address -swift-version 5 -package-name swift_log \
        -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
        -enable-upcoming-feature InternalImportsByDefault \
        -module-name Logging -emit-module -emit-module-path "$out/modules/Logging.swiftmodule" \
        -emit-library -static -o "$out/libLogging.a" "${sources[@]}" 2>&1 | grep -v -e 'warning:' -e '^ *[|`]' -e '^$' >&2 || true
    [[ -f $out/libLogging.a ]]
}

# RawUDP's C shim, and a module map for it (SwiftPM generates one from include/; swiftc
# needs it spelled out).
build_crawudp() {
    mkdir -p "$out/modules/CRawUDP"
    cat >"$out/modules/CRawUDP/module.modulemap" <<EOF
module CRawUDP {
    umbrella header "$repo/Sources/CRawUDP/include/CRawUDP.h"
    export *
}
EOF
    stale "$out/crawudp.o" Sources/CRawUDP/shim.c Sources/CRawUDP/include/CRawUDP.h || return 0
    clang -O1 -g -fsanitize=address,fuzzer-no-link -I Sources/CRawUDP/include -c Sources/CRawUDP/shim.c -o "$out/crawudp.o"
}

# gold warns about every ASan assembly thunk it cannot export; nothing to act on.
quiet_linker() { grep -v -e "Cannot export local symbol '__asan" >&2 || true; }

build_target() {
    local target=$1 file binary=$out/fuzz-$1 sources
    file=$(target_file "$target") || return 2
    mkdir -p "$out"
    if [[ $target == cmsg ]]; then
        build_crawudp
        sources=(Sources/RawUDP/*.swift Fuzz/Support/*.swift "$file")
        stale "$binary" "${sources[@]}" "$out/crawudp.o" "$0" || return 0
        echo "fuzz.sh: building $binary" >&2
        rm -f "$binary"
        swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -module-name FuzzCmsg \
            -Xcc -fmodule-map-file="$out/modules/CRawUDP/module.modulemap" \
            "${sources[@]}" "$out/crawudp.o" -o "$binary" 2>&1 | quiet_linker
    else
        build_logging
        # DNSForward's sources sit in concern folders (Wire/, Cache/, ...): every one, in a fixed order.
        mapfile -t sources < <(find Sources/DNSForward -name '*.swift' | sort)
        sources+=(Fuzz/Support/*.swift "$file")
        stale "$binary" "${sources[@]}" "$out/libLogging.a" "$0" || return 0
        echo "fuzz.sh: building $binary" >&2
        rm -f "$binary"
        # The DNSForward module's sources and the target in one module ("FuzzDNS"), so the
        # target reaches internal API (ReplyRenderer, MessageLayout) without @testable.
        swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -module-name FuzzDNS \
            -I "$out/modules" -L "$out" -lLogging \
            -Xcc -fmodule-map-file=Sources/CLdns/module.modulemap -lldns \
            "${sources[@]}" -o "$binary" 2>&1 | quiet_linker
    fi
    [[ -x $binary ]] || { echo "fuzz.sh: building $binary failed" >&2; return 2; }
}

# run_target TARGET SECONDS: prints one summary line; returns 1 on a crash.
run_target() {
    local target=$1 seconds=$2 binary=$out/fuzz-$1 log status=0
    local corpus=$out/corpus/$target crashes=$out/crashes/$target/
    mkdir -p "$corpus" "$crashes"
    log=$out/fuzz-$target.log
    echo "fuzz.sh: $target for ${seconds}s (log $log)" >&2
    # The writable corpus first: libFuzzer adds what it finds to the first directory only.
    # Leaks are reported (ASan's default), except while fuzzing the zone target: ldns leaks on
    # every zone syntax error (Fuzz/ZoneLoader.swift), and libFuzzer answers each such
    # malloc/free imbalance with a full leak scan, 100x slower. Its corpus is leak-checked in
    # one pass afterwards instead, with the known ldns leak masked by the target itself.
    local leaks=()
    [[ $target == zone ]] && leaks=(-detect_leaks=0)
    # SWIFT_BACKTRACE: the Swift runtime's crash handler fights ASan's; let ASan report.
    SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        "${leaks[@]}" -artifact_prefix="$crashes" "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    if ((status == 0)) && [[ $target == zone ]]; then
        SWIFT_BACKTRACE=enable=no "$binary" -runs=0 -detect_leaks=1 -artifact_prefix="$crashes" \
            "$corpus" "Fuzz/corpus/$target" >>"$log" 2>&1 || status=$?
    fi
    local execs corpus_size found
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
    corpus_size=$(find "$corpus" -type f | wc -l)
    found=$(grep -cE '^(==[0-9]+==ERROR|FUZZ INVARIANT BROKEN|Fatal error|SUMMARY: libFuzzer)' "$log" || true)
    if ((status != 0)); then
        local artifact
        artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
        printf '%-9s %12s execs  corpus %5s  CRASH (exit %s) %s\n' "$target" "${execs:-?}" "$corpus_size" "$status" "${artifact:-see $log}"
        grep -m 3 -E '^(==[0-9]+==ERROR|FUZZ INVARIANT BROKEN|.*Fatal error|SUMMARY)' "$log" | sed 's/^/          | /'
        return 1
    fi
    printf '%-9s %12s execs  corpus %5s  no crashes\n' "$target" "${execs:-?}" "$corpus_size"
    [[ $found == 0 ]]
}

[[ $# -ge 1 ]] || usage
command=$1
case $command in
    build)
        which=${2:-all}
        [[ $which == all ]] && list=("${targets[@]}") || list=("$which")
        for t in "${list[@]}"; do build_target "$t" || exit 2; done
        ;;
    repro)
        [[ $# -ge 3 ]] || usage
        build_target "$2" || exit 2
        SWIFT_BACKTRACE=enable=no "$out/fuzz-$2" "${@:3}"
        ;;
    all | query | upstream | render | cmsg | zone)
        seconds=${2:-60}
        [[ $seconds =~ ^[0-9]+$ ]] || usage
        [[ $command == all ]] && list=("${targets[@]}") || list=("$command")
        for t in "${list[@]}"; do build_target "$t" || exit 2; done
        crashed=0
        for t in "${list[@]}"; do run_target "$t" "$seconds" || crashed=1; done
        exit "$crashed"
        ;;
    *) usage ;;
esac
