#!/usr/bin/env bash
# The benchmark harness still works: scripts/bench.sh with only the limit responder and the
# tproxy-dns rows and 1-second runs must print its Markdown table, every measured cell a
# number, and no daemon may die; so must its miss checks (the run at 80% of the miss peak,
# knotd asked directly) and, alone (--zipf-only), its Zipf section over a 5,000-name universe
# (dnsdist too when it is installed). The numbers themselves are not judged (CI machines
# vary), except that the Zipf window's first-time share is near 20% and tproxy-dns's own hit
# ratio does not exceed what that leaves.
#
#   sudo Tests/Lab/bench_smoke_test.sh      (TPROXY_DNS_BIN=... to test another binary)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# expect_row LABEL WORKLOAD [FIRST]: the table has that row, with numbers in columns FIRST
# (3) to 12 (peak, offered, answered QPS, lost %, avg and p99 ms, daemon and machine CPU
# µs/query, VmRSS, VmHWM) and answers.
expect_row() {
    local label=$1 workload=$2 first=${3:-3} line cells bad=() i
    line=$(awk -F' [|] ' -v l="| $label" -v w="$workload" '$1 == l && $2 == w' "$work/results.md")
    if [[ -z $line ]]; then
        t_fail "$label, $workload: row present" "no such row in:" "$(grep '^|' "$work/results.md")"
        return 1
    fi
    t_pass "$label, $workload: row present"
    IFS='|' read -r -a cells <<<"$line"
    # cells[0] is empty (the line starts with '|'), so column N is cells[N].
    for ((i = first; i <= 12; i++)); do
        [[ ${cells[i]// /} =~ ^[0-9]+(\.[0-9]+)?$ ]] || bad+=("column $i: '${cells[i]}'")
    done
    if ((${#bad[@]})); then
        t_fail "$label, $workload: every measured cell is a number" "$line" "${bad[@]}"
    else
        t_pass "$label, $workload: every measured cell is a number"
        expect_between "$label, $workload: answered QPS > 0" "${cells[5]// /}" 1 10000000
    fi
}

# expect_zipf: bench.sh --zipf-only over a small universe: the section, one line per daemon
# (tproxy-dns with prefetch off and on, dnsdist if installed) with numbers in every measured
# cell, tproxy-dns's own hit ratio near 100 − the first-time share.
expect_zipf() {
    local rows=tproxy-dns labels=("tproxy-dns --no-prefetch" "tproxy-dns --prefetch") status=0 label line cells
    if command -v dnsdist >/dev/null; then
        rows+=,dnsdist-dnat labels+=("dnsdist (DNAT, packet cache)")
    else
        t_note "dnsdist not installed: the Zipf section runs tproxy-dns only"
    fi
    echo "# BENCH_ZIPF_UNIVERSE=5000 bench.sh --rows $rows --zipf-only --seconds 1"
    BENCH_ZIPF_UNIVERSE=5000 "$here/../../scripts/bench.sh" --rows "$rows" --zipf-only --seconds 1 \
        --output "$work/zipf.md" >"$work/stdout" 2>"$work/stderr" || status=$?
    expect_eq "bench.sh --zipf-only exits 0" "$status" 0 || t_note "$(tail -n 30 "$work/stderr")"
    expect_match "the Zipf section's heading" "$(cat "$work/zipf.md")" '^## Zipf workload: 5000 names, exponent 0.9, upstream delayed 20 ms$'
    check "no main table with --zipf-only" bash -c '! grep -q "^| daemon | workload |" "$1"' _ "$work/zipf.md"
    expect_match "Zipf: the upstream-alone reference line, latency in numbers" "$(cat "$work/zipf.md")" \
        '^\| upstream alone: relay \+ knotd \(from gw\) \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| - \| - \| [0-9.]+ \| [0-9.]+ \|'
    local first
    first=$(sed -n 's/.*\*\*\([0-9.]*\)% of them first-time names\*\*.*/\1/p' "$work/zipf.md")
    expect_between "first-time share of the window (%)" "${first%.*}" 15 25
    for label in "${labels[@]}"; do
        line=$(awk -F' [|] ' -v l="| $label" '$1 == l' "$work/zipf.md")
        [[ -n $line ]] || { t_fail "Zipf: $label: row present" "$(grep '^|' "$work/zipf.md")"; continue; }
        IFS='|' read -r -a cells <<<"$line"
        # columns: 2 offered, 3 answered, 4 lost %, 5 hit % by latency, 7 avg, 8 p99, 9 CPU, 10 RSS
        check "Zipf: $label: measured cells are numbers" \
            bash -c '[[ "$*" =~ ^([0-9]+(\.[0-9]+)?\ ?)+$ ]]' _ ${cells[2]} ${cells[3]} ${cells[4]} ${cells[5]} ${cells[7]} ${cells[8]} ${cells[9]} ${cells[10]}
        # At most 100 − first-time (+ rounding); a loaded machine loses some warm-up answers.
        [[ $label == tproxy-dns* ]] &&
            expect_between "Zipf: $label: its own hit ratio (%) in 50..100 − first-time" "${cells[6]// /}" \
                50 $((100 - ${first%.*} + 2))
    done
}

main() {
    echo "# bench.sh --rows limit,tproxy-dns --seconds 1 --no-zipf"
    local status=0 start
    start=$(date +%s)
    "$here/../../scripts/bench.sh" --rows limit,tproxy-dns --seconds 1 --no-reply-via --no-zipf \
        --output "$work/results.md" >"$work/stdout" 2>"$work/stderr" || status=$?
    t_note "took $(($(date +%s) - start)) s"
    expect_eq "bench.sh exits 0" "$status" 0 ||
        t_note "$(tail -n 30 "$work/stderr")"
    check "results file written" test -s "$work/results.md"
    check "stdout is the results file" cmp "$work/stdout" "$work/results.md"
    expect_match "the table header" "$(cat "$work/results.md")" '^\| daemon \| workload \| peak QPS \|'
    expect_match "machine line with cores and kernel" "$(cat "$work/results.md")" '^- Machine: [0-9]+ cores .*Linux '
    expect_match "versions line names tproxy-dns and dnsperf" "$(cat "$work/results.md")" '^- Versions: tproxy-dns .*dnsperf [0-9]'
    expect_match "no daemon died" "$(cat "$work/results.md")" '^- Daemons that died: 0$'
    expect_row "limit (bench-limit, TPROXY :5353, raw)" "any (echo)"
    local workload
    for workload in hit mixed miss "miss at 80% of peak"; do
        expect_row "tproxy-dns (TPROXY :5353, raw)" "$workload"
    done
    expect_match "the 80% run's notes count sent, answered, lost, and the upstream's drops" "$(cat "$work/results.md")" \
        '^\| tproxy-dns .* miss at 80% of peak .*sent [0-9]+, answered [0-9]+, lost [0-9]+; knotd.s full socket buffer dropped [0-9]+'
    expect_row "knotd directly (from gw)" "miss (upstream's own)" 4
    expect_match "the upstream's own p99 and its double" "$(cat "$work/results.md")" \
        "^Upstream's own miss latency .*: p99 [0-9.]+ ms; .* is [0-9.]+ ms\.\$"
    expect_zipf

    echo "# BENCH_LIMIT_WORKERS=2 bench.sh --rows limit --seconds 1"
    status=0
    BENCH_LIMIT_WORKERS=2 "$here/../../scripts/bench.sh" --rows limit --seconds 1 --no-reply-via --no-zipf \
        --output "$work/results.md" >"$work/stdout" 2>"$work/stderr" || status=$?
    expect_eq "bench.sh with 2 limit workers exits 0" "$status" 0 ||
        t_note "$(tail -n 30 "$work/stderr")"
    expect_row "limit (bench-limit, TPROXY :5353, raw, 2 workers)" "any (echo)"
    # Each worker's count, not their shares: with dnsperf's 8 sockets one worker may
    # (rarely, by the kernel's 4-tuple hash) get none.
    expect_match "the limit row's notes give each worker's answers" "$(cat "$work/results.md")" \
        'answered per worker: w0 [0-9]+, w1 [0-9]+ '
    t_summary
}

main
