#!/usr/bin/env bash
# contrib/grafana/tproxy-dns.json against a real scrape: every metric name the dashboard's
# queries use must be in what `serve --metrics` exposes, after traffic that touches every
# family (hits, misses, an upstream RTT histogram, a refusal). Also: the file is valid JSON,
# every panel has a query, and each query names at least one tproxy_dns_ metric.
#
#   sudo Tests/Lab/dashboard_test.sh      (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DASHBOARD=$here/../../contrib/grafana/tproxy-dns.json
METRICS=127.0.0.1:9153
DECOY4=$LAB_DECOY_V4

main() {
    echo "# the dashboard file"
    check "valid JSON with panels, each with a tproxy_dns_ query" python3 -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
panels = d["panels"]
assert len(panels) >= 10, len(panels)
for p in panels:
    exprs = [t["expr"] for t in p["targets"]]
    assert exprs and all(re.search(r"tproxy_dns_[a-z_]+", e) for e in exprs), p["title"]
' "$DASHBOARD"
    names=$(grep -oE 'tproxy_dns_[a-z_]+' "$DASHBOARD" | sort -u)
    t_note "$(wc -l <<<"$names") metric names used"

    echo "# a real scrape"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts with --metrics $METRICS" lab_start_daemon --metrics "$METRICS" || finish
    for _ in 1 2 3; do lab_exec client dig +tries=1 +time=2 "@$DECOY4" www.example.test A >/dev/null; done
    lab_exec client dig +tries=1 +time=2 "@$DECOY4" nonexistent.example.test A >/dev/null
    scrape=$(lab_exec gw timeout 5 curl -sf "http://$METRICS/metrics")
    check "the scrape has samples" test -n "$scrape"
    while read -r name; do
        expect_match "scraped: $name" "$scrape" "^$name(\{| )"
    done <<<"$names"
    finish
}

lab_main main
