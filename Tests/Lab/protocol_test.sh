#!/usr/bin/env bash
# The protocol MUSTs of issue 16, through the real intercept: a client asks the decoy
# addresses with dig, kdig and hand-made datagrams (Tests/Lab/query_shapes.py), and the
# replies tproxy-dns gives must hold what the RFCs require (docs/conformance.md).
#
#   sudo Tests/Lab/protocol_test.sh     (TPROXY_DNS_BIN=... to test another binary)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }
probe() { lab_exec client python3 "$here/conformance.py" probe "$@" 2>&1; }

# expect_probe LABEL SERVER SHAPE NAME TYPE WANT [--tcp]: the probe's summary line is WANT.
expect_probe() {
    local label=$1 want=$6
    expect_eq "$label" "$(probe "$2" "$3" "$4" "$5" "${@:7}")" "$want"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts" lab_start_daemon || finish

    echo "# 1. CD copied into the response (RFC 4035 3.2.2): upstream, cache, errors"
    local out round
    for round in upstream cache; do
        out=$(dig_client +cd +noedns "@$DECOY4" example.test A)
        expect_match "CD without EDNS, from $round: flags" "$(dig_flags "$out")" '(^| )cd( |$)'
        out=$(dig_client +cd +dnssec "@$DECOY6" www.example.test AAAA)
        expect_match "CD with EDNS DO, from $round: flags" "$(dig_flags "$out")" '(^| )cd( |$)'
        expect_match "CD with EDNS DO, from $round: DO kept" "$out" '^; EDNS: version: 0, flags: do;'
    done
    out=$(lab_exec client kdig +retry=0 +timeout=3 +cd +tcp "@$DECOY4" example.test MX 2>&1)
    expect_match "CD over TCP (kdig)" "$out" 'Flags: qr rd ra cd'
    expect_probe "CD on a REFUSED the daemon makes (CHAOS)" "$DECOY4" chaos-cd version.bind TXT \
        "rcode=REFUSED flags=qr,rd,ra,cd qd=1 an=0 opt=none"

    echo "# 2. malformed EDNS: FORMERR with an OPT (RFC 6891 6.1.1, 7)"
    expect_probe "two OPT records" "$DECOY4" two-opt example.test A "rcode=FORMERR flags=qr,rd qd=1 an=0 opt=nodo"
    expect_probe "option data cut short" "$DECOY6" opt-cut-short example.test A \
        "rcode=FORMERR flags=qr,rd qd=1 an=0 opt=do"
    expect_probe "OPT owner not the root" "$DECOY4" opt-odd-owner example.test A \
        "rcode=FORMERR flags=qr,rd qd=1 an=0 opt=nodo"

    echo "# 3. EDNS version 1 with DO: BADVERS, DO copied (RFC 3225 3)"
    out=$(dig_client +edns=1 +dnssec +noednsnegotiation "@$DECOY4" example.test A)
    expect_eq "dig: status" "$(dig_status "$out")" BADVERS
    expect_match "dig: DO copied" "$out" '^; EDNS: version: 0, flags: do;'
    expect_probe "probe over v6" "$DECOY6" badvers-do example.test A "rcode=BADVERS flags=qr,rd,ra qd=1 an=0 opt=do"

    echo "# 4. errors keep the question and carry an OPT"
    expect_probe "NOTIFY: NOTIMP" "$DECOY4" opcode-notify example.test SOA "rcode=NOTIMP flags=qr qd=1 an=0 opt=nodo"
    expect_probe "UPDATE: NOTIMP" "$DECOY6" opcode-update example.test SOA "rcode=NOTIMP flags=qr qd=1 an=0 opt=nodo"
    expect_probe "STATUS: NOTIMP" "$DECOY4" opcode-status example.test A "rcode=NOTIMP flags=qr,rd qd=1 an=0 opt=nodo"
    expect_probe "QDCOUNT 0: FORMERR" "$DECOY4" qd0-opt example.test A "rcode=FORMERR flags=qr,rd qd=0 an=0 opt=nodo"
    expect_probe "QDCOUNT 2: FORMERR" "$DECOY6" qd2-opt example.test A "rcode=FORMERR flags=qr,rd qd=0 an=0 opt=nodo"
    expect_probe "QDCOUNT 2 over TCP" "$DECOY4" qd2-opt example.test A "rcode=FORMERR flags=qr,rd qd=0 an=0 opt=nodo" --tcp

    echo "# 5. CHAOS identity: REFUSED by default, never forwarded"
    lab_count_upstream_queries
    local name
    for name in version.bind version.server id.server hostname.bind authors.bind; do
        out=$(dig_client "@$DECOY4" CH TXT "$name")
        expect_eq "$name: REFUSED" "$(dig_status "$out")" REFUSED
    done
    expect_eq "no identity query reached the upstream" "$(lab_upstream_udp_queries)" 0

    echo "# 6. --identity and --version-string"
    lab_stop_daemon
    check "daemon restarts with identity strings" lab_start_daemon --identity "gw-lab" --version-string "tproxy-dns lab"
    lab_count_upstream_queries
    for name in id.server hostname.bind; do
        expect_eq "$name" "$(dig_client +short "@$DECOY6" CH TXT "$name")" '"gw-lab"'
    done
    for name in version.bind VERSION.server; do
        expect_eq "$name" "$(dig_client +short "@$DECOY4" CH TXT "$name")" '"tproxy-dns lab"'
    done
    out=$(lab_exec client kdig +retry=0 +timeout=3 +tcp "@$DECOY4" CH TXT version.bind 2>&1)
    expect_match "over TCP, AA" "$out" 'Flags: qr aa rd ra'
    expect_eq "authors.bind stays REFUSED" "$(dig_status "$(dig_client "@$DECOY4" CH TXT authors.bind)")" REFUSED
    expect_eq "still nothing forwarded" "$(lab_upstream_udp_queries)" 0
    check "daemon still running" lab_daemon_alive
    finish
}

lab_main main
