#!/usr/bin/env bash
# --cache-file (issue 18): a warm restart with the upstream stopped in between is answered
# from the loaded cache with TTLs aged by the seconds that passed; `cache save` of 100,000
# entries while a fixed hit load runs (every query answered; p99 inside the save window
# against outside it); a damaged file and a symbolic link: one warning, an empty cache, serving.
#
#   sudo Tests/Lab/cache_file_test.sh   (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }
monotonic() { python3 -c 'import time; print(f"{time.monotonic():.6f}")'; }
hits_done() { ! lab_spawn_alive hits; }
warnings_since() { lab_daemon_log_since "$1" | grep -c 'warning'; }

warm_restart() {
    echo "# warm restart, upstream stopped in between"
    check "daemon starts with --cache-file" lab_start_daemon --cache-file "$state/cache" --cache-save-interval 0 || finish
    expect_eq "no file yet: nothing loaded" "$(stats_field cacheFile.loadedEntries)" 0
    local out ttl0 ttl1 t0 t1 passed
    out=$(dig_client "@$DECOY4" example.test A)
    t0=$(date +%s.%N)
    ttl0=$(dig_ttl "$out" ANSWER A)
    dig_client "@$DECOY4" www.example.test A >/dev/null
    dig_client "@$DECOY4" v4only.example.test AAAA >/dev/null
    expect_eq "three names cached" "$(stats_field cache.entries)" 3
    lab_stop_daemon
    expect_eq "SIGTERM: clean exit" "$LAB_DAEMON_EXIT_STATUS" 0
    expect_match "saved at exit" "$(cat "$LAB_RUN/daemon.log")" 'entries=3 .*reason=exit.*cache file saved'
    expect_eq "file mode 0600" "$(stat -c %a "$state/cache")" 600
    lab_stop_upstream
    sleep 3
    # With workers: one file, loaded into the cache they share.
    check "daemon restarts on the file, with 2 workers" \
        lab_start_daemon --cache-file "$state/cache" --cache-save-interval 0 --workers 2 || finish
    expect_eq "loaded 3 entries" "$(stats_field cacheFile.loadedEntries)" 3
    out=$(dig_client "@$DECOY4" example.test A)
    t1=$(date +%s.%N)
    ttl1=$(dig_ttl "$out" ANSWER A)
    expect_eq "answered with the upstream down" "$(dig_answers "$out" A)" 198.51.100.80
    passed=$(python3 -c "print(round($t1 - $t0))")
    t_note "TTL $ttl0 before the restart, $ttl1 after, ${passed} s later"
    expect_between "TTL aged by the seconds that passed (${passed} s)" "$((ttl0 - ttl1))" $((passed - 1)) $((passed + 1))
    out=$(dig_client "@$DECOY4" www.example.test A)
    expect_match "the CNAME chain too" "$out" 'www\.example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME'
    expect_eq "the NODATA answer too" "$(dig_status "$(dig_client "@$DECOY4" v4only.example.test AAAA)")" NOERROR
    expect_eq "every answer from the cache" "$(stats_field answers.fromCache)" 3
    expect_eq "none from upstreams" "$(stats_field answers.fromUpstreams)" 0
    lab_stop_daemon
    check "upstream back" lab_start_upstream || finish
}

save_while_serving() {
    echo "# cache save of 100,000 entries while serving"
    local bin out t0 t1 load_ms
    bin=$(lab_daemon_bin)
    out=$(lab_exec gw "$bin" bench-cache-file --names 100000 --write-only --path "$state/big" 2>&1)
    t_note "$out"
    check "daemon starts on a file of 100,000 entries" \
        lab_start_daemon --cache-file "$state/big" --cache-save-interval 0 || finish
    expect_eq "all 100,000 loaded" "$(stats_field cacheFile.loadedEntries)" 100000
    load_ms=$(stats_field cacheFile.loadMilliseconds)
    t_note "load of 100,000 entries at start: ${load_ms} ms"
    lab_spawn client hits python3 "$here/hit_latency.py" "$DECOY4" --out "$LAB_RUN/hits.txt" --rate 2000 --duration 6
    sleep 2
    t0=$(monotonic)
    out=$(cli cache save)
    t1=$(monotonic)
    t_note "$out"
    expect_match "cache save reports what it wrote" "$out" '^saved 100000 entries \([0-9]+ bytes\) to .* in [0-9.]+ ms$'
    wait_until 10 hits_done
    lab_spawn_stop hits
    out=$(python3 "$here/hit_latency.py" --analyze "$LAB_RUN/hits.txt" "$t0" "$t1")
    t_note "$out"
    expect_match "every hit during the save answered" "$out" '^inside: [1-9][0-9]* queries, 0 unanswered'
    expect_match "every hit outside it answered" "$out" 'outside: [0-9]+ queries, 0 unanswered'
    local inside outside
    inside=$(sed -n 's/^inside: .* p99 \([0-9.]*\) ms.*/\1/p' <<<"$out")
    outside=$(sed -n 's/^outside: .* p99 \([0-9.]*\) ms.*/\1/p' <<<"$out")
    check "p99 during the save ($inside ms) within 20 ms of the rest ($outside ms)" \
        python3 -c "import sys; sys.exit(0 if $inside <= $outside + 20 else 1)"
    expect_eq "the file was saved once" "$(stats_field cacheFile.saves)" 1
    lab_stop_daemon
}

damaged_file() {
    echo "# damaged file, symbolic link"
    python3 -c "
import sys
path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
data[len(data) // 2] ^= 0x10
open(path, 'wb').write(data)" "$state/cache"
    local lines
    lines=$(lab_daemon_log_lines)
    check "daemon starts on a damaged file" lab_start_daemon --cache-file "$state/cache" || finish
    expect_eq "one warning" "$(warnings_since "$lines")" 1
    expect_match "  naming the file and what was wrong" "$(lab_daemon_log_since "$lines" | grep warning)" \
        "error=--cache-file $state/cache: checksum mismatch.*cache file not loaded; starting with an empty cache"
    expect_eq "empty cache" "$(stats_field cache.entries)" 0
    expect_eq "still serving" "$(dig_answers "$(dig_client "@$DECOY4" example.test A)" A)" 198.51.100.80
    lab_stop_daemon
    : >"$state/truncated"
    head -c 20 "$state/big" >"$state/truncated"
    lines=$(lab_daemon_log_lines)
    check "daemon starts on a truncated file" lab_start_daemon --cache-file "$state/truncated" || finish
    expect_match "  warning: truncated" "$(lab_daemon_log_since "$lines" | grep warning)" 'truncated in its header'
    lab_stop_daemon
    echo "keep" >"$LAB_RUN/target"
    ln -s "$LAB_RUN/target" "$state/link"
    lines=$(lab_daemon_log_lines)
    check "daemon starts with a symbolic link as --cache-file" lab_start_daemon --cache-file "$state/link" || finish
    expect_match "  warning: a symbolic link" "$(lab_daemon_log_since "$lines" | grep warning)" 'is a symbolic link'
    expect_eq "  still serving" "$(dig_answers "$(dig_client "@$DECOY4" example.test A)" A)" 198.51.100.80
    lab_stop_daemon
    expect_eq "  the save at exit refused it too: the link's target untouched" "$(cat "$LAB_RUN/target")" keep
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    BIN=$(lab_daemon_bin)
    state=$LAB_RUN/state
    mkdir -m 0700 "$state"
    warm_restart
    save_while_serving
    damaged_file
    finish
}

lab_main main
