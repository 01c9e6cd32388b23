#!/usr/bin/env bash
# DNS over TLS upstreams (RFC 7858), end to end, as root: Unbound from Debian on up serves
# DoT on 198.51.100.55:853 (tls-service-key/pem, a certificate from a throwaway CA made here
# with openssl) and forwards to the lab's knotd. The daemon forwards to it with
# --upstream tls://198.51.100.55#dot.example.test --upstream-ca (and a pin). Checked:
# answers arrive; a capture on gw's upstream link shows TLS on 853 and no port-53 packet
# nor the asked name in clear; a burst of 50 distinct misses uses at most 2 connections;
# after Unbound restarts the daemon reconnects and answers again; a wrong name, an unknown
# CA and a pin that matches nothing each give SERVFAIL and a log line naming the upstream
# and the reason; without #NAME the address must be in the certificate (it is: answers).
#
#   sudo Tests/Lab/dot_upstream_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"
# shellcheck source=scripts/lib/dot_server.sh
source "$here/../../scripts/lib/dot_server.sh"

DOT=198.51.100.55
DOT_NAME=dot.example.test
WILDCARD_A=198.51.100.99
BURST=50

dig_client() { lab_exec client dig +tries=1 +time=4 "$@" 2>&1; }
log_has_since() { lab_daemon_log_since "$1" | grep -Eq -- "$2"; }

dot_answers() {
    [[ -n $(lab_exec up kdig +short +timeout=1 +retry=0 +tls-ca="$TLS_DIR/ca.pem" +tls-hostname="$DOT_NAME" \
        "@$DOT" example.test SOA 2>/dev/null) ]]
}

start_unbound() {
    lab_spawn up unbound-dot unbound -d -c "$LAB_RUN/unbound-dot.conf" && wait_until 10 dot_answers
}

# Connections (SYNs) to port 853 and any port-53 packet reaching up from the gw.
count_upstream_traffic() {
    lab_count_upstream_queries
    lab_exec up nft delete table inet lab_dot_count 2>/dev/null
    lab_exec up nft -f - <<'NFT'
table inet lab_dot_count {
    counter tls_connections { }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        iifname "eth0" tcp dport 853 tcp flags & (syn | ack) == syn counter name "tls_connections"
    }
}
NFT
}
tls_connections() { lab__counter_packets up counter inet lab_dot_count tls_connections; }

# ask NAME: prints the status and the A records of NAME asked through the decoy.
ask() {
    local out
    out=$(dig_client "@$LAB_DECOY_V4" "$1" A)
    printf '%s %s\n' "$(dig_status "$out")" "$(dig_answers "$out" A)"
}

answered_after_restart() { [[ $(ask "restart-$RANDOM-$$.wild.example.test") == "NOERROR $WILDCARD_A" ]]; }

# refused_case LABEL REASON-ERE DAEMON-ARGS...: the daemon with these settings answers
# SERVFAIL and logs a TLS failure naming the upstream and REASON.
refused_case() {
    local label=$1 reason=$2 mark
    shift 2
    lab_stop_daemon 2>/dev/null
    mark=$(lab_daemon_log_lines)
    check "$label: daemon starts" lab_start_daemon "$@" || return
    expect_eq "$label: SERVFAIL" "$(ask "$label-$$.wild.example.test")" "SERVFAIL "
    if log_has_since "$mark" "upstream TLS connection failed"; then
        local line
        line=$(lab_daemon_log_since "$mark" | grep 'upstream TLS connection failed' | head -n 1)
        expect_match "$label: log line names the upstream" "$line" "upstream\.address=tls://$DOT:853[# ]"
        expect_match "$label: log line gives the reason" "$line" "tls\.reason=.*$reason"
    else
        t_fail "$label: no 'upstream TLS connection failed' line" "$(lab_daemon_log_since "$mark" | tail -n 5)"
    fi
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on $LAB_UPSTREAM_V4" lab_start_upstream || finish
    check "DoT address $DOT on up" lab_add_upstream_address "$DOT" || finish
    TLS_DIR=$LAB_RUN/tls
    check "throwaway CA and server certificate made with openssl" throwaway_ca "$TLS_DIR" "$DOT_NAME" "$DOT" || finish
    # Idle connections closed after 1 s, so the test sees the daemon reconnect and resume.
    dot_server_conf "$TLS_DIR" "$DOT" "$LAB_UPSTREAM_V4" 1000 >"$LAB_RUN/unbound-dot.conf"
    check "Unbound serves DNS over TLS on $DOT:853" start_unbound || finish
    local pin other_pin
    BIN=$(lab_daemon_bin) || finish
    pin=$(spki_pin "$TLS_DIR/server.pem")
    other_pin=$(spki_pin "$TLS_DIR/other-ca.pem")
    LAB_DAEMON_UPSTREAMS="tls://$DOT#$DOT_NAME"
    check "daemon starts with the DoT upstream, CA and pin" \
        lab_start_daemon --upstream-ca "$TLS_DIR/ca.pem" --upstream-pin "$pin" --timeout 2 --log-level debug || finish

    echo "# 1. answers arrive, only encrypted"
    local capture=$LAB_RUN/upstream.pcap secret=secretlabel$$
    count_upstream_traffic
    lab_spawn gw tcpdump tcpdump -Z root --immediate-mode -i gw-up -n -U -w "$capture" host "$DOT" or host "$LAB_UPSTREAM_V4"
    sleep 1
    expect_eq "answer through DoT" "$(ask "$secret.wild.example.test")" "NOERROR $WILDCARD_A"
    expect_eq "second answer on the same connection" "$(ask "$secret-2.wild.example.test")" "NOERROR $WILDCARD_A"
    sleep 0.5
    lab_spawn_stop tcpdump
    local tls_packets plain_packets
    tls_packets=$(tcpdump -r "$capture" -n 'tcp port 853' 2>/dev/null | wc -l)
    plain_packets=$(tcpdump -r "$capture" -n 'port 53' 2>/dev/null | wc -l)
    expect_between "capture: TLS packets on port 853 ($tls_packets)" "$tls_packets" 6 1000 ||
        t_note "tcpdump: $(tail -n 3 "$LAB_RUN/tcpdump.log")"
    expect_eq "capture: no port-53 packet to any upstream" "$plain_packets" 0
    expect_eq "capture: the asked name never in clear" "$(grep -a -c "$secret" "$capture")" 0
    expect_eq "nft on up: no port-53 packet from the gw" "$(($(lab_upstream_udp_queries) + $(lab_upstream_tcp_connections)))" 0
    expect_eq "nft on up: one TLS connection for both" "$(tls_connections)" 1

    echo "# 2. a burst of $BURST distinct misses shares the connection"
    count_upstream_traffic
    expect_eq "burst: all answered" "$(lab_exec client python3 "$here/udp_burst.py" "$LAB_DECOY_V4" "$BURST" "burst$$" 5)" \
        "answered $BURST of $BURST"
    expect_le "burst: new TLS connections ($(tls_connections))" "$(tls_connections)" 2

    echo "# 3. Unbound closes idle connections after 1 s: the next query reconnects, resuming a session"
    # Unbound 1.17 sends tickets after a full handshake but none after a resumed one, and
    # OpenSSL uses a TLS 1.3 ticket once: reconnects alternate full and resumed handshakes.
    local opened_before resumed_before
    opened_before=$(stats_field transport.tlsConnectionsOpened)
    resumed_before=$(stats_field transport.tlsSessionsResumed)
    sleep 2
    count_upstream_traffic
    expect_eq "after idle close: answered" "$(ask "after-idle-$$.wild.example.test")" "NOERROR $WILDCARD_A"
    expect_eq "after idle close: one new connection" "$(tls_connections)" 1
    sleep 2
    expect_eq "after a second idle close: answered" "$(ask "after-idle-2-$$.wild.example.test")" "NOERROR $WILDCARD_A"
    local opened resumed
    opened=$(($(stats_field transport.tlsConnectionsOpened) - opened_before))
    resumed=$(($(stats_field transport.tlsSessionsResumed) - resumed_before))
    expect_eq "two reconnects" "$opened" 2
    expect_eq "one of the two resumed a session" "$resumed" 1

    echo "# 4. Unbound restarts: the daemon reconnects and goes on"
    lab_spawn_stop unbound-dot
    check "Unbound serves DoT again" start_unbound
    count_upstream_traffic
    check "an answer within 10 s of the restart" wait_until 10 answered_after_restart
    expect_eq "after the restart: answered" "$(ask "after-restart-$$.wild.example.test")" "NOERROR $WILDCARD_A"
    expect_between "after the restart: reconnected ($(tls_connections) connections)" "$(tls_connections)" 1 3

    echo "# 5. verification failures: SERVFAIL, never an unverified answer"
    LAB_DAEMON_UPSTREAMS="tls://$DOT#wrong.example.test"
    refused_case wrong-name "certificate name mismatch \(expected wrong.example.test\)" \
        --upstream-ca "$TLS_DIR/ca.pem" --timeout 1
    LAB_DAEMON_UPSTREAMS="tls://$DOT#$DOT_NAME"
    refused_case unknown-ca "unable to get local issuer certificate" --upstream-ca "$TLS_DIR/other-ca.pem" --timeout 1
    refused_case pin-mismatch "no key in the chain matches" \
        --upstream-ca "$TLS_DIR/ca.pem" --upstream-pin "$other_pin" --timeout 1

    echo "# 6. no #NAME: the address itself must be in the certificate"
    LAB_DAEMON_UPSTREAMS="tls://$DOT"
    lab_stop_daemon 2>/dev/null
    check "daemon starts with tls://$DOT" lab_start_daemon --upstream-ca "$TLS_DIR/ca.pem" || finish
    expect_eq "IP SAN: answered" "$(ask "by-address-$$.wild.example.test")" "NOERROR $WILDCARD_A"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    lab_spawn_stop unbound-dot
    finish
}

lab_main main
