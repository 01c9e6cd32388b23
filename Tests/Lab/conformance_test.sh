#!/usr/bin/env bash
# Differential conformance: one query set (Tests/Lab/conformance_spec.json expanded by
# conformance.py, shapes in query_shapes.py) sent from the client to tproxy-dns through the
# intercept (the decoy addresses, port 53) and to Unbound from Debian, a plain forwarder to
# the same knotd, on the gw at port 5300 (not intercepted), over UDP v4, UDP v6 and TCP.
# Replies are compared field by field; every difference must be listed in
# Tests/Lab/conformance_allowlist.json with its reason and RFC. docs/conformance.md says why.
#
#   sudo Tests/Lab/conformance_test.sh  (TPROXY_DNS_BIN=... to test another binary)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

REFERENCE_PORT=5300
GW_CLIENT_V4=192.0.2.1
GW_CLIENT_V6=2001:db8:1::1

# Unbound as a plain forwarder: no validator, no cache prefetch, `test.` not its built-in
# static NXDOMAIN zone (RFC 6761 6.2 lets resolvers do that; we want knotd's answers), its
# identity and version hidden (they would name Unbound; unset, tproxy-dns refuses them too).
unbound_conf() {
    cat <<CONF
server:
    interface: $GW_CLIENT_V4@$REFERENCE_PORT
    interface: $GW_CLIENT_V6@$REFERENCE_PORT
    port: $REFERENCE_PORT
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$LAB_RUN"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    incoming-num-tcp: 64
    access-control: 192.0.2.0/24 allow
    access-control: 2001:db8:1::/64 allow
    module-config: "iterator"
    local-zone: "test." nodefault
    prefetch: no
    hide-identity: yes
    hide-version: yes
    qname-minimisation: no
    edns-buffer-size: 1232
    do-not-query-localhost: no
forward-zone:
    name: "."
    forward-addr: $LAB_UPSTREAM_V4
    forward-addr: $LAB_UPSTREAM_V6
CONF
}

reference_answers() {
    [[ -n $(lab_exec client dig +short +tries=1 +time=1 -p "$REFERENCE_PORT" "@$GW_CLIENT_V4" example.test A) ]] &&
        [[ -n $(lab_exec client dig +short +tries=1 +time=1 -p "$REFERENCE_PORT" "@$GW_CLIENT_V6" example.test A) ]]
}

main() {
    echo "# setup"
    # Not a skip: without the reference there is no conformance test (scripts/test.sh installs it).
    check "unbound is installed" command -v unbound || finish
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts" lab_start_daemon || finish
    unbound_conf >"$LAB_RUN/unbound.conf"
    lab_spawn gw unbound unbound -d -c "$LAB_RUN/unbound.conf"
    check "unbound answers on port $REFERENCE_PORT" wait_until 10 reference_answers || finish

    echo "# differential run"
    local out start=$SECONDS
    out=$(lab_exec client python3 "$here/conformance.py" run --spec "$here/conformance_spec.json" \
        --allowlist "$here/conformance_allowlist.json" --tested "$LAB_DECOY_V4" "$LAB_DECOY_V6" \
        --reference "$GW_CLIENT_V4" "$GW_CLIENT_V6" "$REFERENCE_PORT" 2>&1)
    printf '%s\n' "$out" >"$LAB_RUN/conformance.txt"
    t_note "$(grep -v '^conformance:' <<<"$out" | head -n 60)"
    local summary
    summary=$(grep '^conformance:' <<<"$out")
    t_note "$summary (in $((SECONDS - start)) s)"
    expect_match "at least 500 queries" "$summary" '^conformance: ([5-9][0-9]{2}|[0-9]{4,}) queries'
    expect_match "no unexplained difference" "$summary" ' 0 unexplained$'
    check "daemon still running" lab_daemon_alive
    check "unbound still running" lab_spawn_alive unbound
    lab_spawn_stop unbound
    finish
}

lab_main main
