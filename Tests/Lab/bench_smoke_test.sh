#!/usr/bin/env bash
# The benchmark harness still works: scripts/bench.sh with only the limit responder and the
# tproxy-dns rows and 1-second runs must print its Markdown table, every measured cell a
# number, and no daemon may die. The numbers themselves are not judged (CI machines vary).
#
#   sudo Tests/Lab/bench_smoke_test.sh      (TPROXY_DNS_BIN=... to test another binary)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# expect_row LABEL WORKLOAD: the table has that row, with numbers in columns 3-12 (peak,
# offered, answered QPS, lost %, avg and p99 ms, daemon and machine CPU µs/query, VmRSS,
# VmHWM) and answers.
expect_row() {
    local label=$1 workload=$2 line cells bad=() i
    line=$(awk -F' [|] ' -v l="| $label" -v w="$workload" '$1 == l && $2 == w' "$work/results.md")
    if [[ -z $line ]]; then
        t_fail "$label, $workload: row present" "no such row in:" "$(grep '^|' "$work/results.md")"
        return 1
    fi
    t_pass "$label, $workload: row present"
    IFS='|' read -r -a cells <<<"$line"
    # cells[0] is empty (the line starts with '|'), so column N is cells[N].
    for ((i = 3; i <= 12; i++)); do
        [[ ${cells[i]// /} =~ ^[0-9]+(\.[0-9]+)?$ ]] || bad+=("column $i: '${cells[i]}'")
    done
    if ((${#bad[@]})); then
        t_fail "$label, $workload: every measured cell is a number" "$line" "${bad[@]}"
    else
        t_pass "$label, $workload: every measured cell is a number"
        expect_between "$label, $workload: answered QPS > 0" "${cells[5]// /}" 1 10000000
    fi
}

main() {
    echo "# bench.sh --rows limit,tproxy-dns --seconds 1"
    local status=0 start
    start=$(date +%s)
    "$here/../../scripts/bench.sh" --rows limit,tproxy-dns --seconds 1 --no-reply-via \
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
    for workload in hit mixed miss; do
        expect_row "tproxy-dns (TPROXY :5353, raw)" "$workload"
    done

    echo "# BENCH_LIMIT_WORKERS=2 bench.sh --rows limit --seconds 1"
    status=0
    BENCH_LIMIT_WORKERS=2 "$here/../../scripts/bench.sh" --rows limit --seconds 1 --no-reply-via \
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
