#!/usr/bin/env bash
# The per-client in-flight quota (issue 15, break 5), as root: the daemon's only upstream is
# Tests/Lab/hostile_upstream.py, which answers ok-* names at once and never answers silent-*
# names. One client address (192.0.2.11) floods misses for silent names; another
# (192.0.2.10) asks for ok names, misses too, at a modest rate. With --max-in-flight 64 and
# the default quota (a quarter: 16) the flood holds at most 16 attempts and the other
# client's misses are answered (>= 99%); with --max-in-flight-per-client 64 (no quota: the
# "before") the flood takes every slot and most of them get SERVFAIL.
#
#   sudo Tests/Lab/client_quota_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

BIN=$(lab_daemon_bin)
HOSTILE=198.51.100.66
FLOODER=192.0.2.11
VICTIM=$LAB_CLIENT_V4
TOTAL=64
SECONDS_OF_FLOOD=6

flood_over() { ! lab_spawn_alive "$1"; }

# flood TAG: the two clients for SECONDS_OF_FLOOD (quota_flood.py, started and stopped by
# PID); samples the daemon's in-flight count halfway (IN_FLIGHT) and sets the figures of
# the script's line.
flood() {
    lab_spawn client "flood-$1" python3 "$here/quota_flood.py" "$LAB_DECOY_V4" "$FLOODER" "$VICTIM" "$1" \
        --seconds "$SECONDS_OF_FLOOD" --flood-rate 300 --victim-rate 40
    sleep $((SECONDS_OF_FLOOD / 2))
    IN_FLIGHT=$(stats_field inFlight)
    wait_until $((SECONDS_OF_FLOOD + 5)) flood_over "flood-$1"
    lab_spawn_stop "flood-$1"
    local line
    line=$(grep '^victim sent' "$LAB_RUN/flood-$1.log")
    t_note "${line:-quota_flood.py printed nothing}"
    # victim sent N noerror K servfail S none U flood sent F servfail G answered H
    read -r _ _ VICTIM_SENT _ VICTIM_NOERROR _ _ _ _ _ _ FLOOD_SENT _ FLOOD_SERVFAIL _ _ <<<"${line:-x x 0 x 0 x x x x x x 0 x 0}"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "second client address $FLOODER" lab_exec client ip addr add "$FLOODER/24" dev eth0 || finish
    check "address $HOSTILE on up" lab_add_upstream_address "$HOSTILE" || finish
    lab_spawn up hostile python3 -u "$here/hostile_upstream.py" "$HOSTILE"
    check "hostile upstream listens" wait_until 5 grep -q '^listening' "$LAB_RUN/hostile.log" || finish
    LAB_DAEMON_UPSTREAMS=$HOSTILE

    echo "# 1. with the default quota (a quarter of --max-in-flight $TOTAL): the other client is served"
    check "daemon starts with --max-in-flight $TOTAL" lab_start_daemon --max-in-flight "$TOTAL" --timeout 2 || finish
    local out
    out=$(lab_exec client dig +tries=1 +time=3 -b "$FLOODER" "@$LAB_DECOY_V4" "ok-probe-$$.hostile.test" A 2>&1)
    expect_eq "a query from $FLOODER is answered" "$(dig_answers "$out" A)" 198.51.100.77
    flood quota
    expect_between "the other client's misses: >= 99% answered NOERROR ($VICTIM_NOERROR of $VICTIM_SENT)" \
        "$VICTIM_NOERROR" $((VICTIM_SENT * 99 / 100)) "$VICTIM_SENT"
    expect_between "the flood's misses beyond its quota got SERVFAIL ($FLOOD_SERVFAIL of $FLOOD_SENT)" \
        "$FLOOD_SERVFAIL" $((FLOOD_SENT / 2)) "$FLOOD_SENT"
    local over
    over=$(stats_field answers.overQuota)
    expect_between "cache stats: answers.overQuota counts them ($over)" "$over" $((FLOOD_SENT / 2)) "$FLOOD_SENT"
    expect_between "in flight during the flood: the flood's quota of 16 and a few of the other's ($IN_FLIGHT)" \
        "$IN_FLIGHT" 1 20
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null

    echo "# 2. before: --max-in-flight-per-client $TOTAL (no quota): the flood starves the other client"
    check "daemon starts with --max-in-flight-per-client $TOTAL" lab_start_daemon --max-in-flight "$TOTAL" \
        --max-in-flight-per-client "$TOTAL" --timeout 2 || finish
    flood noquota
    expect_between "the other client's misses: most got no answer but SERVFAIL ($VICTIM_NOERROR of $VICTIM_SENT)" \
        "$VICTIM_NOERROR" 0 $((VICTIM_SENT * 90 / 100))
    expect_between "in flight during the flood: every slot ($IN_FLIGHT of $TOTAL)" "$IN_FLIGHT" $((TOTAL - 4)) "$TOTAL"
    expect_eq "cache stats: answers.overQuota stays 0" "$(stats_field answers.overQuota)" 0

    echo "# 3. the flag is checked"
    local rc=0
    out=$(lab_exec gw "$BIN" serve --upstream "$HOSTILE" --max-in-flight 8 --max-in-flight-per-client 9 --no-control 2>&1) || rc=$?
    expect_eq "a quota above --max-in-flight is refused (exit 64)" "$rc" 64
    expect_match "the error names the flag" "$out" 'max-in-flight-per-client 9: use 1 to --max-in-flight \(8\)'
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    lab_spawn_stop hostile
    finish
}

lab_main main
