#!/usr/bin/env bash
# Issue 15, break 2: thousands of idle TCP connections to --metrics must not take the
# descriptors upstream sockets need. The daemon runs with a 1,024-descriptor limit (soft and
# hard, so its raise-to-hard-limit changes nothing) to make exhaustion reachable at this scale.
# While 3,000 connections are held from the client, cache misses (each needing an upstream
# socket) must be answered (>= 99%), the log must grow by less than 100 kB, and once the
# flood ends a scrape must be answered. Twice: with the default --metrics-max-connections
# (16), and with a cap above the descriptor limit, where only the descriptor reserve and the
# pause on EMFILE stand between the flood and the upstream sockets.
#
#   sudo Tests/Lab/descriptor_exhaustion_test.sh   (TPROXY_DNS_BIN=..., LAB_ID=..., KEEP_LAB=1)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

METRICS=192.0.2.1:9153
FLOOD=3000
QUERIES=400
LOG_GROWTH_LIMIT=102400

scrape() { lab_exec client timeout 5 curl -sf "http://$METRICS/metrics"; }
scrape_ok() { scrape | grep -q '^tproxy_dns_uptime_seconds '; }
log_size() { stat -c %s "$LAB_RUN/daemon.log"; }
daemon_fds() { find "/proc/$(cat "$LAB_RUN/daemon.pid")/fd" -mindepth 1 2>/dev/null | wc -l; }

# One round: flood, misses meanwhile, end the flood, scrape. $1 names the round.
flood_round() {
    local round=$1 log0 out fds
    log0=$(log_size)
    lab_spawn client "flood-$round" python3 "$here/hold_connections.py" "${METRICS%:*}" "${METRICS#*:}" \
        --count "$FLOOD" --hold 30 --rate 2000
    sleep 3
    out=$(lab_exec client timeout 30 python3 "$here/paced_queries.py" "$LAB_DECOY_V4" --count "$QUERIES" --rate 50)
    fds=$(daemon_fds)
    t_note "$out"
    t_note "daemon descriptors open during the flood: $fds (limit 1024)"
    expect_between "$round: misses answered NOERROR >= 99% ($QUERIES asked)" \
        "$(sed -n 's/.*NOERROR \([0-9]*\),.*/\1/p' <<<"$out")" "$((QUERIES * 99 / 100))" "$QUERIES"
    check "$round: daemon still running" lab_daemon_alive
    lab_spawn_stop "flood-$round"
    t_note "$(grep '^connections:' "$LAB_RUN/flood-$round.log")"
    expect_le "$round: log grew by less than 100 kB ($(($(log_size) - log0)) bytes)" \
        "$(($(log_size) - log0))" "$LOG_GROWTH_LIMIT"
    check "$round: a scrape is answered after the flood ends" wait_until 10 scrape_ok
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    local real
    real=$(lab_daemon_bin) || finish
    # prlimit execs the daemon: the PID lab_start_daemon records stays the daemon's.
    printf '#!/bin/sh\nexec prlimit --nofile=1024:1024 -- %q "$@"\n' "$real" >"$LAB_RUN/tproxy-dns-1024"
    chmod +x "$LAB_RUN/tproxy-dns-1024"
    TPROXY_DNS_BIN=$LAB_RUN/tproxy-dns-1024

    echo "# default cap (--metrics-max-connections 16)"
    check "daemon starts with --metrics $METRICS under a 1,024-descriptor limit" \
        lab_start_daemon --metrics "$METRICS" || finish
    expect_match "the daemon's limit is 1,024" "$(cat "/proc/$(cat "$LAB_RUN/daemon.pid")/limits")" \
        '^Max open files +1024 +1024'
    check "a scrape before the flood" scrape_ok
    flood_round "cap 16"
    expect_match "connections refused at the cap are counted" \
        "$(scrape | grep '^tproxy_dns_connections_closed_total{reason="stream_refused"}')" ' [1-9][0-9]*$'
    lab_stop_daemon 2>/dev/null

    echo "# a cap above the descriptor limit: the reserve holds"
    check "daemon starts with --metrics-max-connections 5000" \
        lab_start_daemon --metrics "$METRICS" --metrics-max-connections 5000 || finish
    flood_round "cap 5000"
    expect_match "accepting paused for want of descriptors (counted)" \
        "$(scrape | grep '^tproxy_dns_accept_pauses_total')" ' [1-9][0-9]*$'
    expect_match "the pause is logged, rate-limited" "$(cat "$LAB_RUN/daemon.log")" \
        'out of descriptors: not accepting metrics connections for a moment'

    echo "# teardown"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
