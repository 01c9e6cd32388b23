#!/usr/bin/env bash
# Issue 15, break 4: TCP slowloris. 700 connections from 100 LAN addresses each send one byte
# of a length prefix and hold on (reconnecting when closed), more than --tcp-max-connections
# (512). Meanwhile 40 legitimate `dig +tcp` queries to the intercepted decoy address must all
# be answered: the message deadline (--tcp-message-timeout, 2 s from a message's first byte)
# closes the stalled connections, and a full table evicts the one waiting longest instead of
# refusing the newcomer. --tcp-max-per-client (8) is checked from a single address: a newcomer
# over it replaces one of the address's own idle connections, or is refused.
#
#   sudo Tests/Lab/tcp_slowloris_test.sh   (TPROXY_DNS_BIN=..., LAB_ID=..., KEEP_LAB=1)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
SLOW=700
DIGS=40

tcp_connections() { stats_field transport.tcpConnections; }
table_full() { (($(tcp_connections) >= 500)); }

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts (defaults: 512 connections, 8 per client, 2 s message deadline)" \
        lab_start_daemon || finish
    BIN=$(lab_daemon_bin)
    local n
    for n in $(seq 100 199); do lab_exec client ip addr add "192.0.2.$n/24" dev eth0 || finish; done

    echo "# $SLOW slow connections from 100 addresses, one byte each"
    lab_spawn client slowloris python3 "$here/hold_connections.py" "$DECOY4" 53 --count "$SLOW" \
        --first-byte --sources 192.0.2.100-199 --reconnect --rate 1000 --hold 40
    wait_until 10 table_full
    t_note "daemon TCP connections under attack: $(tcp_connections)"
    local answered=0 out
    for n in $(seq 1 "$DIGS"); do
        out=$(lab_exec client dig +tcp +tries=1 +time=3 "@$DECOY4" "slowloris-$n.wild.example.test" A 2>&1)
        [[ $(dig_answers "$out" A) == 198.51.100.99 ]] && answered=$((answered + 1))
    done
    t_note "legitimate dig +tcp answered: $answered of $DIGS"
    expect_eq "legitimate TCP queries answered while the slow connections are held" "$answered" "$DIGS"
    local evicted refused
    evicted=$(stats_field transport.tcpEvicted)
    refused=$(stats_field transport.tcpRejected)
    t_note "evicted $evicted, refused $refused"
    expect_between "stalled connections were evicted to make room (evicted > 0)" "$evicted" 1 1000000
    check "daemon still running" lab_daemon_alive
    lab_spawn_stop slowloris
    t_note "$(grep '^connections:' "$LAB_RUN/slowloris.log")"

    echo "# --tcp-max-per-client 8: one address, 20 slow connections"
    # Its newcomers are refused, or replace one of its own connections still idle (its first
    # byte not yet read): either way 12 are closed and it never holds more than 8.
    refused=$(stats_field transport.tcpRejected)
    evicted=$(stats_field transport.tcpEvicted)
    out=$(lab_exec client timeout 10 python3 "$here/hold_connections.py" "$DECOY4" 53 --count 20 --first-byte \
        --sources 192.0.2.150-150 --hold 1)
    t_note "$out"
    local closed_by_us=$(($(stats_field transport.tcpRejected) - refused + $(stats_field transport.tcpEvicted) - evicted))
    t_note "refused $(($(stats_field transport.tcpRejected) - refused)), evicted from its own share $(($(stats_field transport.tcpEvicted) - evicted))"
    expect_eq "12 of 20 refused at accept or evicted from the address's own share" "$closed_by_us" 12
    expect_match "  the client saw 12 closed, 8 still open after 1 s" "$out" 'closed by the server 12, .*open at end 8$'

    echo "# teardown"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
