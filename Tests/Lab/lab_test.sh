#!/usr/bin/env bash
# The lab itself, without tproxy-dns: routing, knotd, and TPROXY delivery with the original
# destination to a dual-stack transparent socket (scripts/lib/tproxy_probe.py). When
# e2e_test.sh fails and this passes, look at the daemon first.
#
#   sudo Tests/Lab/lab_test.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$repo/scripts/lib/lab.sh"

finish() {
    lab_down
    t_summary
    exit $?
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    local knotd_pid out
    knotd_pid=$(cat "$LAB_RUN/knotd.pid")

    echo "# routing to the upstream"
    out=$(lab_exec gw dig +tries=1 +time=3 "@$LAB_UPSTREAM_V4" example.test A 2>&1)
    expect_eq "gw -> upstream v4" "$(dig_answers "$out" A)" 198.51.100.80
    out=$(lab_exec client dig +tries=1 +time=3 "@$LAB_UPSTREAM_V4" www.example.test A 2>&1)
    expect_eq "client -> upstream v4, routed through gw" "$(dig_answers "$out" A)" 198.51.100.81
    out=$(lab_exec client dig +tries=1 +time=3 "@$LAB_UPSTREAM_V6" example.test AAAA 2>&1)
    expect_eq "client -> upstream v6, routed through gw" "$(dig_answers "$out" AAAA)" 2001:db8:2::80
    out=$(lab_exec client dig +tries=1 +time=3 +bufsize=4096 "@$LAB_UPSTREAM_V4" big.example.test TXT 2>&1)
    expect_match "zone: big TXT is larger than 1232 bytes" "$out" 'MSG SIZE  rcvd: (1[3-9][0-9][0-9]|[2-9][0-9]{3})$'

    echo "# TPROXY delivers queries for any address, with the original destination"
    lab_exec gw python3 "$repo/scripts/lib/tproxy_probe.py" --port "$DAEMON_PORT" --count 2 --timeout 10 \
        >"$LAB_RUN/probe.out" 2>&1 &
    local probe=$! i
    for ((i = 0; i < 50; i++)); do
        grep -q listening "$LAB_RUN/probe.out" && break
        sleep 0.1
    done
    # The probe does not answer: these digs time out, and that is fine.
    lab_exec client dig +tries=1 +time=1 "@$LAB_DECOY_V4" example.test A >/dev/null 2>&1
    lab_exec client dig +tries=1 +time=1 "@$LAB_DECOY_V6" example.test AAAA >/dev/null 2>&1
    local status=0
    wait "$probe" || status=$?
    out=$(cat "$LAB_RUN/probe.out")
    expect_eq "probe received both queries" "$status" 0
    expect_match "v4 query: original destination 203.0.113.53#53" "$out" \
        "^origdst $LAB_DECOY_V4#53 from $LAB_CLIENT_V4#[0-9]+ "
    expect_match "v6 query: original destination 2001:db8:3::53#53" "$out" \
        "^origdst $LAB_DECOY_V6#53 from $LAB_CLIENT_V6#[0-9]+ "
    expect_eq "the decoy itself received nothing" "$(lab_decoy_dns_packets)" 0

    echo "# without a listener, nft tproxy lets the packet through to the decoy"
    out=$(lab_exec client dig +tries=1 +time=2 "@$LAB_DECOY_V4" example.test A 2>&1)
    expect_eq "no DNS answer" "$(dig_status "$out")" ""
    expect_eq "the decoy received the query" "$(lab_decoy_dns_packets)" 1

    echo "# teardown"
    local id=$LAB_ID
    lab_down
    expect_eq "no namespace left" "$(ip netns list | grep -c "^$id-")" 0
    if lab__pid_alive "$knotd_pid"; then t_fail "knotd stopped"; else t_pass "knotd stopped"; fi
    finish
}

lab_main main
