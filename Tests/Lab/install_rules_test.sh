#!/usr/bin/env bash
# `serve --install-rules`, as root: on a gateway with no TPROXY setup at all, the daemon
# installs the nftables table and the ip rules/routes for both families at start, derives
# who may ask from the LAN interface's prefixes, and removes exactly what it added at exit.
#
#   sudo Tests/Lab/install_rules_test.sh    (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

dig_client() { lab_exec client dig +tries=1 +time=2 "$@" 2>&1; }
snapshot() {
    {
        lab_exec gw nft list tables
        lab_exec gw ip -4 rule
        lab_exec gw ip -6 rule
        lab_exec gw ip -4 route show table all | grep -v '^local.*table local' || true
    } 2>&1
}

main() {
    echo "# setup: a gateway without any TPROXY rule"
    LAB_NO_TPROXY=1 check "lab up without TPROXY rules" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    before=$(snapshot)
    out=$(dig_client "@$LAB_DECOY_V4" example.test A)
    expect_eq "without rules nothing answers for the decoy" "$(dig_status "$out")" ""
    reached=$(lab_decoy_dns_packets)

    echo "# serve --install-rules"
    check "daemon starts and installs its rules" lab_start_daemon --install-rules --lan-interface gw-client || finish
    # The daemon binds its sockets first and installs the rules right after.
    check "rules installed (logged)" wait_until 10 grep -q 'loaded: nft table inet tproxy_dns' "$LAB_RUN/daemon.log"
    expect_match "allow derived from gw-client's prefixes" "$(grep listening "$LAB_RUN/daemon.log")" 'allow=192\.0\.2\.0/24 2001:db8:1::/64'
    out=$(dig_client "@$LAB_DECOY_V4" example.test A)
    expect_eq "IPv4 answered" "$(dig_answers "$out" A)" 198.51.100.80
    expect_match "from the decoy's address" "$(dig_server "$out")" "^$LAB_DECOY_V4#53\("
    out=$(dig_client "@$LAB_DECOY_V6" example.test AAAA)
    expect_eq "IPv6 answered" "$(dig_answers "$out" AAAA)" 2001:db8:2::80
    expect_eq "TCP answered" "$(dig_answers "$(dig_client +tcp "@$LAB_DECOY_V4" www.example.test A)" A)" 198.51.100.81
    expect_eq "with the daemon's rules the decoy itself received nothing" "$(($(lab_decoy_dns_packets) - reached))" 0

    echo "# exit removes exactly what was installed"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits 0" "$LAB_DAEMON_EXIT_STATUS" 0
    expect_match "removal logged" "$(cat "$LAB_RUN/daemon.log")" 'TPROXY rules removed'
    after=$(snapshot)
    if [[ $before == "$after" ]]; then
        t_pass "tables, rules and routes as before"
    else
        t_fail "tables, rules and routes as before" "$(diff <(echo "$before") <(echo "$after"))"
    fi

    echo "# refusals"
    bin=$(lab_daemon_bin)
    rc=0
    out=$(lab_exec gw "$bin" serve --port 5397 --upstream "$LAB_UPSTREAM_V4" --install-rules --no-control 2>&1) || rc=$?
    expect_eq "--install-rules without a LAN: refused" "$rc" 64
    expect_match "and says why" "$out" 'give --lan-interface or --lan-prefix'
    rc=0
    out=$(lab_exec gw "$bin" serve --port 5397 --upstream "$LAB_UPSTREAM_V4" --install-rules --lan-interface gw-client --user nobody --no-control 2>&1) || rc=$?
    expect_eq "--install-rules with --user: refused" "$rc" 64
    expect_match "and says what to do instead" "$out" 'needs root'

    finish
}

lab_main main
