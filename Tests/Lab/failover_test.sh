#!/usr/bin/env bash
# Upstream failover, end to end, as root: two knotd instances serve the same zones
# (upstream0 198.51.100.53, upstream1 198.51.100.54) and the daemon asks them in order
# (--upstream-policy ordered). When upstream0 goes silent, and separately when it is killed,
# answers keep coming from upstream1 within the timeout, the daemon logs "upstream down"
# after 3 failures in a row and stops waiting for it, probes it, logs "upstream up" once it
# answers again, and goes back to it.
#
#   sudo Tests/Lab/failover_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6
UPSTREAM0=$LAB_UPSTREAM_V4 # the lab's knotd
UPSTREAM1=198.51.100.54    # a second knotd with the same zones
UPSTREAM_TIMEOUT=1         # --timeout
PROBE_INTERVAL=5           # the daemon's fixed probe interval for a down upstream
WILDCARD_A=198.51.100.99

dig_client() { lab_exec client dig +tries=1 +time=4 "$@" 2>&1; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
sources_since() { lab_daemon_log_since "$1" | grep ' answered$' | grep -o 'source=[a-z0-9-]*' | tr '\n' ' '; }
log_has_since() { lab_daemon_log_since "$1" | grep -Eq -- "$2"; }

DOWN_LINE="warning .*upstream\.address=$UPSTREAM0:53.* upstream down$"
UP_LINE="notice .*upstream\.address=$UPSTREAM0:53.* upstream up$"

count=0
# ask LABEL MAX_SECONDS SOURCE: an uncached name is answered within MAX_SECONDS by SOURCE.
ask() {
    local label=$1 max=$2 want_source=$3 name start elapsed out mark server=$DECOY4
    count=$((count + 1))
    ((count % 2)) || server=$DECOY6
    name=failover-$count-$$.wild.example.test
    mark=$(lab_daemon_log_lines)
    start=$(now)
    out=$(dig_client "@$server" "$name" A)
    elapsed=$(since "$start")
    expect_eq "$label: answered" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_le "$label: within $max s (took $elapsed s)" "$elapsed" "$max"
    expect_eq "$label: by $want_source" "$(sources_since "$mark")" "source=$want_source "
}

# expect_log_within LABEL SECONDS MARK ERE: the daemon logs a matching line within SECONDS.
expect_log_within() {
    local start elapsed
    start=$(now)
    if wait_until "$2" log_has_since "$3" "$4"; then
        elapsed=$(since "$start")
        t_pass "$1 (after $elapsed s)"
    else
        t_fail "$1" "no line matching '$4' within $2 s; log since then:" "$(lab_daemon_log_since "$3" | tail -n 15)"
    fi
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd (upstream0) answers on $UPSTREAM0" lab_start_upstream || finish
    check "second address on up" lab_add_upstream_address "$UPSTREAM1" || finish
    check "second knotd (upstream1) answers on $UPSTREAM1" lab_start_knotd second "$UPSTREAM1" || finish
    LAB_DAEMON_UPSTREAMS="$UPSTREAM0 $UPSTREAM1"
    check "daemon starts with upstreams $UPSTREAM0 then $UPSTREAM1, ordered" \
        lab_start_daemon --upstream-policy ordered --timeout "$UPSTREAM_TIMEOUT" --log-level debug || finish
    local mark

    echo "# 1. both up: upstream0 answers"
    ask "both up (1)" 0.5 upstream0
    ask "both up (2)" 0.5 upstream0

    echo "# 2. upstream0 silent (packets dropped)"
    mark=$(lab_daemon_log_lines)
    check "upstream0 silenced" lab_silence_address "$UPSTREAM0"
    local i
    for i in 1 2 3; do
        ask "silent, failure $i: upstream1 after the timeout" $((UPSTREAM_TIMEOUT + 1)) upstream1
    done
    expect_log_within "silent: 'upstream down' for upstream0 at warning" 1 "$mark" "$DOWN_LINE"
    ask "silent, upstream0 down: upstream1 at once" 0.5 upstream1
    ask "silent, upstream0 down: again at once" 0.5 upstream1

    echo "# 3. upstream0 heard again"
    mark=$(lab_daemon_log_lines)
    check "upstream0 unsilenced" lab_unsilence_address "$UPSTREAM0"
    expect_log_within "unsilenced: 'upstream up' for upstream0 at notice, by a probe" \
        $((PROBE_INTERVAL + 2)) "$mark" "$UP_LINE"
    ask "unsilenced: upstream0 answers again" 0.5 upstream0

    echo "# 4. upstream0 killed (ICMP port unreachable)"
    mark=$(lab_daemon_log_lines)
    lab_stop_upstream 2>/dev/null
    for i in 1 2 3; do
        ask "killed, failure $i: upstream1 without waiting for the timeout" 0.5 upstream1
    done
    expect_log_within "killed: 'upstream down' for upstream0 at warning" 1 "$mark" "$DOWN_LINE"
    ask "killed, upstream0 down: upstream1" 0.5 upstream1

    echo "# 5. upstream0 restarted"
    mark=$(lab_daemon_log_lines)
    check "knotd (upstream0) restarts" lab_start_upstream
    expect_log_within "restarted: 'upstream up' for upstream0 at notice, by a probe" \
        $((PROBE_INTERVAL + 2)) "$mark" "$UP_LINE"
    ask "restarted: upstream0 answers again" 0.5 upstream0
    expect_eq "upstream1 was never marked down" \
        "$(grep -c "upstream\.address=$UPSTREAM1:53.* upstream down$" "$LAB_RUN/daemon.log")" 0

    echo "# 6. both silent: SERVFAIL after trying both, then recovery"
    check "both silenced" lab_silence_upstream
    local start elapsed out
    start=$(now)
    out=$(dig_client +time=6 "@$DECOY4" "both-$$.wild.example.test" A)
    elapsed=$(since "$start")
    expect_eq "both silent: SERVFAIL" "$(dig_status "$out")" SERVFAIL
    expect_le "both silent: within 2 timeouts + 1 s (took $elapsed s)" "$elapsed" $((2 * UPSTREAM_TIMEOUT + 1))
    check "both heard again" lab_unsilence_upstream
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
