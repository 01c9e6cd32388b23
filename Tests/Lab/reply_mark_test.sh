#!/usr/bin/env bash
# --reply-mark, as root: the raw replies carry the firewall mark (an nft counter on the gw's
# output hook sees it on every reply, IPv4 and IPv6), policy routing acts on it (an `ip rule
# fwmark` into a blackhole table swallows exactly the marked replies), and without the option
# replies carry no mark. A mark of 0 or text is refused at start with a clear error.
#
#   sudo Tests/Lab/reply_mark_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

MARK=0x53

# Counts the gw's outgoing DNS replies by whether they carry MARK.
count_replies() {
    lab_exec gw nft -f - <<NFT
table inet reply_mark_count {
    counter marked {}
    counter unmarked {}
    chain output {
        type filter hook output priority 0;
        udp sport 53 meta mark $MARK counter name marked
        udp sport 53 meta mark != $MARK counter name unmarked
    }
}
NFT
}
replies() { lab__counter_packets gw counter inet reply_mark_count "$1"; }
reset_counts() { lab_exec gw nft reset counters table inet reply_mark_count >/dev/null; }

ask() { # FAMILY-FLAG SERVER NAME: dig's status, or "timeout"
    local out
    out=$(lab_exec client dig "$1" +tries=1 +time=2 "@$2" "$3" A 2>&1)
    [[ $out == *"timed out"* || $out == *"no servers could be reached"* ]] && { echo timeout; return; }
    dig_status "$out"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "reply counters on the gw's output hook" count_replies || finish
    BIN=$(lab_daemon_bin)

    echo "# 1. --reply-mark $MARK: every reply carries it"
    check "daemon starts with --reply-mark $MARK" lab_start_daemon --reply-mark "$MARK" || finish
    expect_eq "IPv4 query answered" "$(ask -4 "$LAB_DECOY_V4" www.example.test)" NOERROR
    expect_eq "IPv6 query answered" "$(ask -6 "$LAB_DECOY_V6" www.example.test)" NOERROR
    expect_eq "cached answer too" "$(ask -4 "$LAB_DECOY_V4" www.example.test)" NOERROR
    expect_eq "replies with the mark" "$(replies marked)" 3
    expect_eq "replies without it" "$(replies unmarked)" 0

    echo "# 2. policy routing acts on it: fwmark $MARK into a blackhole table"
    lab_exec gw ip rule add fwmark "$MARK" lookup 153 priority 50
    lab_exec gw ip -6 rule add fwmark "$MARK" lookup 153 priority 50
    lab_exec gw ip route add blackhole default table 153
    lab_exec gw ip -6 route add blackhole default table 153
    expect_eq "IPv4 reply routed into the blackhole" "$(ask -4 "$LAB_DECOY_V4" www.example.test)" timeout
    expect_eq "IPv6 reply routed into the blackhole" "$(ask -6 "$LAB_DECOY_V6" www.example.test)" timeout
    lab_exec gw ip rule del fwmark "$MARK" lookup 153 priority 50
    lab_exec gw ip -6 rule del fwmark "$MARK" lookup 153 priority 50
    expect_eq "rule gone: answered again" "$(ask -4 "$LAB_DECOY_V4" www.example.test)" NOERROR
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null

    echo "# 3. without --reply-mark: no mark"
    reset_counts
    check "daemon starts without --reply-mark" lab_start_daemon || finish
    expect_eq "IPv4 query answered" "$(ask -4 "$LAB_DECOY_V4" www.example.test)" NOERROR
    expect_eq "replies with the mark" "$(replies marked)" 0
    expect_eq "replies without it" "$(replies unmarked)" 1
    lab_stop_daemon 2>/dev/null

    echo "# 4. bad marks are refused at start"
    local value out
    for value in 0 0x1ffffffff fifty; do
        out=$(lab_exec gw "$BIN" serve --port "$DAEMON_PORT" --upstream "$LAB_UPSTREAM_V4" --no-control \
            --reply-mark "$value" 2>&1) && t_fail "--reply-mark $value accepted" ||
            expect_match "--reply-mark $value: clear error" "$out" "--reply-mark $value: use a mark from 1 to 0xffffffff"
    done
    finish
}

lab_main main
