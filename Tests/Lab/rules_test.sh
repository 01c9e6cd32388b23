#!/usr/bin/env bash
# `tproxy-dns rules` and `tproxy-dns doctor`, as root, in a lab whose gateway starts without
# any TPROXY setup (LAB_NO_TPROXY=1): `rules --apply` alone must make the client's queries to
# 203.0.113.53 / 2001:db8:3::53 reach the daemon, over UDP and TCP; `--remove` must leave nft
# and policy routing exactly as before; doctor must see what is right and what is missing.
#
#   sudo Tests/Lab/rules_test.sh        (TPROXY_DNS_BIN=... to test another binary,
#                                        KEEP_LAB=1 to keep the run dir with the logs)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
LAB_NO_TPROXY=1
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6
TABLE=153     # the rules defaults
MARK=0x2d4e

finish() {
    if ((T_FAILED > 0)) && [[ -n $LAB_RUN && -s $LAB_RUN/daemon.log ]]; then
        echo "--- daemon log (last 30 lines)"
        tail -n 30 "$LAB_RUN/daemon.log"
    fi
    lab_down
    t_summary
    exit $?
}

# The gateway's nft ruleset and policy routing; counters vary with traffic, so they go.
gw_state() {
    local table
    echo "## nft list ruleset"
    lab_exec gw nft list ruleset | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
    echo "## ip rule"
    lab_exec gw ip rule
    echo "## ip -6 rule"
    lab_exec gw ip -6 rule
    for table in "$TABLE" 154; do
        # A table that never held a route "does not exist"; one emptied again prints nothing.
        echo "## ip route show table $table"
        lab_exec gw ip route show table "$table" 2>/dev/null
        echo "## ip -6 route show table $table"
        lab_exec gw ip -6 route show table "$table" 2>/dev/null
    done
}

# expect_state LABEL WANT: the gateway's state equals WANT, else the diff is shown.
expect_state() {
    local now
    now=$(gw_state)
    if [[ $now == "$2" ]]; then
        t_pass "$1"
    else
        t_fail "$1" "$(diff <(echo "$2") <(echo "$now"))"
    fi
}

rules() { lab_exec gw "$BIN" rules "$@" 2>&1; }
doctor() { lab_exec gw "$BIN" doctor --control "$LAB_CONTROL" "$@" 2>&1; }

# answered LABEL SERVER [DIG-FLAGS...]: the daemon answers example.test from SERVER.
answered() {
    local label=$1 server=$2 type=A want=198.51.100.80 out
    shift 2
    [[ $server == *:* ]] && type=AAAA want=2001:db8:2::80
    out=$(lab_exec client dig +tries=1 +time=2 "$@" "@$server" example.test "$type" 2>&1)
    expect_eq "$label: answer" "$(dig_answers "$out" "$type")" "$want" &&
        expect_match "$label: comes from $server" "$(dig_server "$out")" "^$server#53\("
}

# not_answered LABEL SERVER: no DNS answer (the query went on to the decoy, which has none).
not_answered() {
    local label=$1 server=$2 out
    out=$(lab_exec client dig +tries=1 +time=2 "@$server" example.test A 2>&1)
    expect_eq "$label" "$(dig_status "$out")" ""
}

main() {
    echo "# setup (gateway without TPROXY rules)"
    check "lab up with LAB_NO_TPROXY=1" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts and listens on udp $DAEMON_PORT" lab_start_daemon --timeout 2 || finish
    BIN=$(lab_daemon_bin)
    before=$(gw_state)
    expect_eq "gw has no tproxy rule" "$(grep -c tproxy <<<"$before")" 0

    echo "# 1. before --apply nothing diverts"
    not_answered "v4 query not answered" "$DECOY4"
    rc=0
    out=$(doctor) || rc=$?
    expect_eq "doctor exits 1" "$rc" 1
    expect_match "doctor: no tproxy rule" "$out" '^FAIL nft: no tproxy rule'
    expect_match "doctor: daemon's port is held by tproxy-dns" "$out" "^ok   UDP port $DAEMON_PORT: tproxy-dns \(pid [0-9]+\) listens"

    echo "# 2. rules --apply makes the lab work"
    rc=0
    out=$(rules --apply --lan-interface gw-client --port "$DAEMON_PORT") || rc=$?
    expect_eq "apply exits 0" "$rc" 0
    t_note "$out"
    decoy_before=$(lab_decoy_dns_packets)
    answered "v4 UDP" "$DECOY4"
    answered "v6 UDP" "$DECOY6"
    answered "v4 TCP" "$DECOY4" +tcp
    answered "v6 TCP" "$DECOY6" +tcp
    expect_eq "the decoy itself received nothing" "$(($(lab_decoy_dns_packets) - decoy_before))" 0
    applied=$(gw_state)

    echo "# 3. --apply twice is idempotent"
    rc=0
    out=$(rules --apply --lan-interface gw-client --port "$DAEMON_PORT") || rc=$?
    expect_eq "second apply exits 0" "$rc" 0
    expect_eq "second apply adds no routing entry" "$(grep -c '^added' <<<"$out")" 0
    expect_state "state unchanged by the second apply" "$applied"
    expect_eq "one IPv4 rule for the mark" "$(lab_exec gw ip rule | grep -c "fwmark $MARK")" 1
    expect_eq "one IPv6 rule for the mark" "$(lab_exec gw ip -6 rule | grep -c "fwmark $MARK")" 1
    answered "still answering" "$DECOY4"

    echo "# 4. doctor on a working gateway"
    rc=0
    out=$(doctor --upstream "$LAB_UPSTREAM_V4" --upstream "[$LAB_UPSTREAM_V6]:53") || rc=$?
    t_note "$out"
    expect_eq "doctor exits 0" "$rc" 0
    expect_eq "doctor: no FAIL" "$(grep -c '^FAIL' <<<"$out")" 0
    expect_match "doctor: kernel tproxy" "$out" '^ok   kernel: nftables tproxy available'
    expect_match "doctor: nft rules" "$out" "^ok   nft: inet tproxy_dns diverts UDP and TCP to port $DAEMON_PORT with mark $MARK"
    expect_match "doctor: IPv4 ip rule" "$out" "^ok   IPv4 ip rule 1000: fwmark $MARK lookup $TABLE"
    expect_match "doctor: IPv6 ip rule" "$out" "^ok   IPv6 ip rule 1000: fwmark $MARK lookup $TABLE"
    expect_match "doctor: IPv4 route" "$out" "^ok   IPv4 routing table $TABLE: local default dev lo"
    expect_match "doctor: IPv6 route" "$out" "^ok   IPv6 routing table $TABLE: local default dev lo"
    expect_match "doctor: src_valid_mark" "$out" '^ok   net.ipv4.conf.*src_valid_mark is 0'
    expect_match "doctor: rp_filter on the rules' interface" "$out" '^ok   rp_filter is not strict on gw-client$'
    expect_match "doctor: TCP port" "$out" "^ok   TCP port $DAEMON_PORT: tproxy-dns"
    expect_match "doctor: control socket" "$out" '^ok   daemon answers on '
    expect_match "doctor: IPv4 upstream" "$out" "^ok   upstream $LAB_UPSTREAM_V4:53 answers"
    expect_match "doctor: IPv6 upstream" "$out" "^ok   upstream \[$LAB_UPSTREAM_V6\]:53 answers"
    rc=0
    out=$(doctor) || rc=$?
    expect_match "doctor: upstreams taken from the daemon" "$out" "^ok   upstream $LAB_UPSTREAM_V4:53 answers"

    echo "# 5. an ip rule deleted by hand"
    check "ip rule del fwmark $MARK" lab_exec gw ip rule del fwmark "$MARK" lookup "$TABLE"
    rc=0
    out=$(doctor) || rc=$?
    expect_eq "doctor exits 1" "$rc" 1
    expect_match "doctor names the missing rule and the fix" "$out" \
        "^FAIL IPv4 ip rule fwmark $MARK lookup $TABLE is missing: .*Fix: ip -4 rule add priority 1000 fwmark $MARK lookup $TABLE"
    expect_match "doctor: IPv6 rule still ok" "$out" "^ok   IPv6 ip rule 1000"
    not_answered "v4 query no longer answered" "$DECOY4"
    rc=0
    out=$(rules --apply --lan-interface gw-client --port "$DAEMON_PORT") || rc=$?
    expect_match "apply adds back just that rule" "$(grep '^added' <<<"$out")" "^added: IPv4 ip rule 1000: fwmark $MARK lookup $TABLE$"
    expect_state "state as after the first apply" "$applied"
    rc=0
    doctor >/dev/null || rc=$?
    expect_eq "doctor exits 0 again" "$rc" 0

    echo "# 6. src_valid_mark=1"
    check "sysctl src_valid_mark=1" lab_exec gw sysctl -qw net.ipv4.conf.all.src_valid_mark=1
    rc=0
    out=$(doctor) || rc=$?
    expect_eq "doctor exits 1" "$rc" 1
    expect_match "doctor explains src_valid_mark" "$out" \
        '^FAIL net.ipv4.conf.all.src_valid_mark=1 breaks IPv4 TPROXY: .*martian.*Fix: sysctl -w net.ipv4.conf.all.src_valid_mark=0'
    not_answered "and indeed v4 queries go unanswered" "$DECOY4"
    answered "while v6 still works" "$DECOY6"
    check "sysctl src_valid_mark=0" lab_exec gw sysctl -qw net.ipv4.conf.all.src_valid_mark=0
    answered "v4 answered again" "$DECOY4"

    echo "# 7. rp_filter strict and a silent upstream"
    check "sysctl rp_filter=1 on gw-client" lab_exec gw sysctl -qw net.ipv4.conf.gw-client.rp_filter=1
    lab_silence_address "$LAB_UPSTREAM_V6"
    rc=0
    out=$(doctor --upstream "$LAB_UPSTREAM_V4" --upstream "[$LAB_UPSTREAM_V6]:53") || rc=$?
    expect_eq "doctor exits 0 (warnings only)" "$rc" 0
    expect_match "doctor warns about strict rp_filter" "$out" '^WARN rp_filter=1 \(strict\) on gw-client: .*rp_filter=2'
    expect_match "doctor warns about the silent upstream" "$out" "^WARN upstream \[$LAB_UPSTREAM_V6\]:53: no answer within 2 s"
    lab_silence_address "$LAB_UPSTREAM_V4"
    rc=0
    out=$(doctor --upstream "$LAB_UPSTREAM_V4" --upstream "[$LAB_UPSTREAM_V6]:53") || rc=$?
    expect_eq "no upstream answers: doctor exits 1" "$rc" 1
    expect_match "doctor fails the silent upstreams" "$out" "^FAIL upstream $LAB_UPSTREAM_V4:53: no answer within 2 s; no upstream answers"
    lab_unsilence_address "$LAB_UPSTREAM_V4"
    lab_unsilence_address "$LAB_UPSTREAM_V6"
    lab_exec gw sysctl -qw net.ipv4.conf.gw-client.rp_filter=0

    echo "# 8. --remove restores the gateway"
    rc=0
    out=$(rules --remove) || rc=$?
    expect_eq "remove exits 0" "$rc" 0
    t_note "$out"
    expect_state "state as before apply" "$before"
    not_answered "v4 query no longer answered" "$DECOY4"
    rc=0
    out=$(rules --remove) || rc=$?
    expect_eq "second remove exits 0" "$rc" 0
    expect_eq "second remove deletes nothing" "$(grep -c '^deleted' <<<"$out")" 0
    expect_state "state still as before" "$before"

    echo "# 9. --exempt and --lan-prefix"
    rules --apply --lan-interface gw-client --exempt "$DECOY4" --port "$DAEMON_PORT" >/dev/null
    decoy_before=$(lab_decoy_dns_packets)
    not_answered "exempt v4 destination not diverted" "$DECOY4"
    expect_eq "the query reached the decoy itself" "$(($(lab_decoy_dns_packets) - decoy_before))" 1
    answered "v6 destination still diverted" "$DECOY6"
    rules --apply --lan-prefix 192.0.2.0/24 --port "$DAEMON_PORT" >/dev/null
    answered "v4 client in --lan-prefix diverted" "$DECOY4"
    decoy_before=$(lab_decoy_dns_packets)
    out=$(lab_exec client dig +tries=1 +time=2 "@$DECOY6" example.test AAAA 2>&1)
    expect_eq "v6 (no v6 --lan-prefix) not diverted" "$(dig_status "$out")" ""
    expect_eq "the v6 query reached the decoy itself" "$(($(lab_decoy_dns_packets) - decoy_before))" 1
    rules --remove >/dev/null
    expect_state "state as before after remove" "$before"

    echo "# 10. reinstall with other settings, remove without flags"
    rules --apply --lan-interface gw-client --port "$DAEMON_PORT" >/dev/null
    rc=0
    out=$(rules --apply --lan-interface gw-client --port "$DAEMON_PORT" --mark 0x35 --table 154 --priority 1001) || rc=$?
    expect_eq "apply with new settings exits 0" "$rc" 0
    expect_eq "old IPv4 rule gone" "$(lab_exec gw ip rule | grep -c "fwmark $MARK")" 0
    expect_eq "old IPv6 rule gone" "$(lab_exec gw ip -6 rule | grep -c "fwmark $MARK")" 0
    expect_match "new IPv4 rule" "$(lab_exec gw ip rule)" '^1001:.*fwmark 0x35 lookup 154'
    expect_eq "old table $TABLE empty" "$(lab_exec gw ip route show table "$TABLE" 2>/dev/null)" ""
    answered "answers with the new settings" "$DECOY6"
    rc=0
    out=$(doctor) || rc=$?
    expect_eq "doctor finds the recorded settings, exits 0" "$rc" 0
    expect_match "doctor checks the recorded rule" "$out" '^ok   IPv4 ip rule 1001: fwmark 0x35 lookup 154'
    rc=0
    rules --remove >/dev/null || rc=$?
    expect_eq "remove without flags exits 0" "$rc" 0
    expect_state "state as before after remove" "$before"

    echo "# 11. a failure halfway rolls back"
    install -d "$LAB_RUN/fakebin"
    cat >"$LAB_RUN/fakebin/nft" <<EOF
#!/bin/sh
# Fails every ruleset load (nft -f), passes everything else to the real nft.
for arg in "\$@"; do
    if [ "\$arg" = "-f" ]; then cat >/dev/null; echo "Error: injected failure" >&2; exit 1; fi
done
exec $(command -v nft) "\$@"
EOF
    chmod 755 "$LAB_RUN/fakebin/nft"
    rc=0
    out=$(lab_exec gw env PATH="$LAB_RUN/fakebin:$PATH" "$BIN" rules --apply --lan-interface gw-client 2>&1) || rc=$?
    expect_eq "apply exits 1" "$rc" 1
    # shellcheck disable=SC2016 # the backquotes are literal
    expect_match "the error names the command and what it said" "$out" '`nft -f -` failed \(exit 1\): Error: injected failure; rolled back: '
    expect_state "what was added is gone again" "$before"

    echo "# 12. without CAP_NET_ADMIN"
    if ! lab_exec gw setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$BIN"; then
        chmod 711 "$LAB_RUN"
        install -d -m 755 "$LAB_RUN/bin"
        install -m 755 "$BIN" "$LAB_RUN/bin/tproxy-dns"
        BIN=$LAB_RUN/bin/tproxy-dns
    fi
    for action in --apply --remove; do
        rc=0
        out=$(lab_exec gw setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" rules $action --lan-interface gw-client 2>&1) || rc=$?
        expect_eq "unprivileged $action exits 77" "$rc" 77
        expect_match "unprivileged $action says why" "$out" 'without CAP_NET_ADMIN: run as root'
    done
    expect_state "nothing changed" "$before"

    finish
}

lab_main main
