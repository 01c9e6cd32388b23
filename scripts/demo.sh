#!/usr/bin/env bash
# Start here. Builds tproxy-dns, runs it on the gateway of a throwaway network-namespace lab,
# and has a client ask 203.0.113.53 and 2001:db8:3::53, where no DNS server runs, for
# example.test. The answers come back from those addresses all the same. Needs root.
#
#   sudo scripts/demo.sh        (TPROXY_DNS_BIN=path to skip the build and use that binary)
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/debian_packages.sh
source scripts/lib/debian_packages.sh
# shellcheck source=scripts/lib/lab.sh
source scripts/lib/lab.sh

ensure_debian_packages libldns-dev libssl-dev pkg-config nftables knot knot-dnsutils dnsutils iproute2 python3
if [[ -z ${TPROXY_DNS_BIN:-} ]]; then
    swift build -c release
    TPROXY_DNS_BIN="$(swift build -c release --show-bin-path)/tproxy-dns"
fi

ask() { # SERVER NAME TYPE
    echo
    echo "client\$ dig @$1 $2 $3"
    lab_exec client dig +tries=1 +time=3 +noall +answer +stats "@$1" "$2" "$3" |
        grep -v -e '^;; WHEN:' -e '^$'
}

demo() {
    lab_up
    lab_start_upstream
    lab_start_daemon --zones zones/local
    ask "$LAB_DECOY_V4" example.test A
    ask "$LAB_DECOY_V6" example.test AAAA
    sleep 1
    ask "$LAB_DECOY_V4" example.test A
    echo "(answered from the cache: the TTL has gone down)"
    ask "$LAB_DECOY_V6" router.lan A
    echo "(answered from the local zone in zones/local)"
    echo
    echo "gateway\$ tproxy-dns cache dump"
    lab_exec gw "$TPROXY_DNS_BIN" cache dump --control "$LAB_CONTROL"
    echo
    echo "DNS packets that reached the decoy host itself: $(lab_decoy_dns_packets)"
    echo "(it runs no DNS server; tproxy-dns on the gateway answered in its name)"
}

lab_main demo
