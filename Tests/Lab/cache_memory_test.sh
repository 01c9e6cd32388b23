#!/usr/bin/env bash
# The cache bounded by bytes (issue 15, break 1), as root: a client asks for many names
# whose answers are ~41 kB (zones/large-answers.test.zone; TC=1 over UDP, so the daemon
# fetches each over TCP and caches the whole answer). With --cache-memory 2M the daemon's
# RSS must grow by less than the budget plus a fixed slack and `cache stats` must show at
# most 2M in use; the same load with a budget it never reaches (the "before": an entry
# count alone bounds nothing here) shows how much the attack costs unbounded.
#
#   sudo Tests/Lab/cache_memory_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

BIN=$(lab_daemon_bin)
BUDGET=2M
BUDGET_BYTES=$((2 << 20))
# RSS the load may add beyond the budget: upstream TCP read buffers (64 KiB each, up to
# BATCH at once), reply arrays, malloc's free lists and per-thread arenas.
SLACK_BYTES=$((6 << 20))
NAMES=1000 # x ~41 kB of answer: ~42 MB offered
BATCH=50

flows() { lab_exec client python3 "$here/many_flows.py" "$@"; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$(cat "$LAB_RUN/daemon.pid")/status"; }

# load TAG: NAMES distinct large-answer names, BATCH at a time; prints the answered count.
load() {
    local tag=$1 batch answered=0 line
    for ((batch = 0; batch < NAMES / BATCH; batch++)); do
        line=$(flows "$LAB_DECOY_V4" "n{i}-$batch-$tag.large-answers.test" "$BATCH" TXT)
        answered=$((answered + $(awk '{ print $2 }' <<<"$line")))
    done
    echo "$answered"
}

# run BUDGET TAG: a fresh daemon with --cache-memory BUDGET, warmed up, then the load;
# sets GROWTH (RSS bytes added by the load), ANSWERED, and leaves the daemon running.
run() {
    check "daemon starts with --cache-memory $1" lab_start_daemon --cache-memory "$1" --timeout 3 || finish
    # Warm-up: the first TCP fetches, cached entries and thread arenas, so the baseline
    # holds the daemon's steady overhead and the measurement only the cache's growth.
    flows "$LAB_DECOY_V4" "warm{i}-$2.large-answers.test" 20 TXT >/dev/null
    local before
    before=$(rss_bytes)
    ANSWERED=$(load "$2")
    GROWTH=$(($(rss_bytes) - before))
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish

    echo "# 1. with --cache-memory $BUDGET: memory stays within the budget"
    run "$BUDGET" bounded
    local out size
    out=$(lab_exec client dig +tcp +tries=1 +time=3 "@$LAB_DECOY_V4" probe.large-answers.test TXT 2>&1)
    size=$(dig_msg_size "$out")
    expect_match "start-up line says cache_memory=$BUDGET_BYTES" "$(grep 'listening' "$LAB_RUN/daemon.log")" \
        "cache_memory=$BUDGET_BYTES "
    expect_between "a large answer is ~41 kB over TCP (got $size bytes)" "$size" 40000 45000
    expect_between "clients got (truncated) answers for the $NAMES names" "$ANSWERED" $((NAMES * 99 / 100)) "$NAMES"
    local used limit evictions entries oversized
    used=$(stats_field cache.memoryBytes) limit=$(stats_field cache.memoryLimit)
    evictions=$(stats_field cache.evictions) entries=$(stats_field cache.entries)
    oversized=$(stats_field cache.oversized)
    expect_eq "cache stats: the budget is $BUDGET_BYTES bytes" "$limit" "$BUDGET_BYTES"
    expect_le "cache stats: memory in use ($used bytes, $entries entries) within the budget" "$used" "$BUDGET_BYTES"
    expect_between "cache stats: the cache is in use, not empty" "$used" $((BUDGET_BYTES / 2)) "$BUDGET_BYTES"
    expect_between "cache stats: evicted by bytes ($evictions)" "$evictions" $((NAMES / 2)) $((NAMES + 40))
    expect_eq "cache stats: no answer was too large for the budget" "$oversized" 0
    expect_le "RSS grew by $((GROWTH / 1024)) KiB: within the budget plus $((SLACK_BYTES >> 20)) MiB" \
        "$GROWTH" $((BUDGET_BYTES + SLACK_BYTES))
    local bounded=$GROWTH
    lab_stop_daemon 2>/dev/null

    echo "# 2. before: a budget the load never reaches (only --cache-size bounds the cache)"
    run 1G unbounded
    used=$(stats_field cache.memoryBytes)
    t_note "RSS growth: $((bounded / 1024)) KiB with --cache-memory $BUDGET, $((GROWTH / 1024)) KiB without a byte bound ($((used / 1024)) KiB of entries)"
    expect_between "unbounded: every answer stayed cached ($used bytes)" "$used" $((NAMES * 40000)) $((NAMES * 50000))
    expect_between "unbounded: RSS grew by more than budget plus slack (the attack reproduces)" \
        "$GROWTH" $((BUDGET_BYTES + SLACK_BYTES)) $((1 << 30))
    lab_stop_daemon 2>/dev/null

    echo "# 3. --workers 2: the shared cache's shards each keep to their share"
    NAMES=300
    check "daemon starts with --workers 2 --cache-memory $BUDGET" lab_start_daemon --workers 2 --cache-memory "$BUDGET" \
        --timeout 3 || finish
    ANSWERED=$(load sharded)
    expect_between "clients got answers for the $NAMES names" "$ANSWERED" $((NAMES * 99 / 100)) "$NAMES"
    used=$(stats_field cache.memoryBytes)
    expect_between "cache stats: memory in use ($used bytes) within the budget, not empty" "$used" \
        $((BUDGET_BYTES / 2)) "$BUDGET_BYTES"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
