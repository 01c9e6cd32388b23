#!/usr/bin/env bash
# Prefetch (issue 18), as root: a 30-second name asked every 0.5 s keeps being answered from
# the cache across its expiries, with exactly one upstream query per TTL period (the refresh a
# hit in the entry's last tenth starts in the background); with --no-prefetch, a client's query
# after expiry is the one that waits for the upstream.
#
#   sudo Tests/Lab/prefetch_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

NAME=prefetch30.example.test # A 198.51.100.30, TTL 30 (zones/example.test.zone)
RUN_SECONDS=62               # two expiries (30, 60) and two refreshes (~27, ~55): not a third
SHORT_TTL=12                 # --max-ttl in part 2: an expiry within a short run

# steady NAME SECONDS: the client asks NAME every 0.5 s for SECONDS, one query at a time.
steady() { lab_exec client timeout $(($2 + 15)) python3 "$here/steady_queries.py" "$LAB_DECOY_V4" "$1" --duration "$2"; }
summary() { tail -n 1 <<<"$1"; }
field() { sed -n "s/.*$2 \([0-9.]*\).*/\1/p" <<<"$(summary "$1")"; }
# from_count SOURCE: the query log's answers for NAME given from SOURCE (cache, upstream0, ...).
from_count() { grep -c "name=$NAME\. .* from=$1" "$LAB_RUN/query.log" 2>/dev/null; }
log_has() { (($(grep -c "name=$NAME\." "$LAB_RUN/query.log" 2>/dev/null) >= $1)); }

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts (prefetch on by default)" lab_start_daemon --query-log "$LAB_RUN/query.log" --metrics 127.0.0.1:9153 || finish
    BIN=$(lab_daemon_bin)
    check "count queries reaching the upstream" lab_count_upstream_queries || finish

    echo "# 1. $NAME (TTL 30) asked every 0.5 s for $RUN_SECONDS s"
    local out queries
    out=$(steady "$NAME" "$RUN_SECONDS")
    queries=$(grep -c '^query ' <<<"$out")
    t_note "$(summary "$out")"
    expect_match "every query answered NOERROR" "$(summary "$out")" "^answered $queries of $queries, NOERROR $queries,"
    expect_between "the TTL clients saw never fell below 2 (refreshed with ~3 s left; without prefetch: 1)" \
        "$(field "$out" 'lowest ttl')" 2 30
    expect_eq "the upstream saw 3 queries: the first miss and one refresh per TTL period, not one per client" \
        "$(lab_upstream_udp_queries)" 3
    expect_eq "cache stats: 2 prefetches" "$(stats_field cache.prefetches)" 2
    expect_eq "cache stats: no prefetch failures" "$(stats_field cache.prefetchFailures)" 0
    wait_until 3 log_has "$queries"
    expect_eq "query log: only the very first answer came from the upstream" "$(from_count upstream)" 1
    expect_eq "query log: every other answer came from the cache" "$(from_count cache)" $((queries - 1))
    expect_match "cache stats table: a prefetches row" "$(cli cache stats)" '^  prefetches +2$'
    lab_exec gw python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=3).read().decode())' >"$LAB_RUN/metrics.txt" 2>&1
    expect_eq "metrics: tproxy_dns_prefetches_total 2" \
        "$(python3 "$here/parse_metrics.py" "$LAB_RUN/metrics.txt" tproxy_dns_prefetches_total)" 2
    expect_eq "metrics: tproxy_dns_prefetch_failures_total 0" \
        "$(python3 "$here/parse_metrics.py" "$LAB_RUN/metrics.txt" tproxy_dns_prefetch_failures_total)" 0

    echo "# 2. --no-prefetch --max-ttl $SHORT_TTL: after expiry a client waits for the upstream"
    lab_stop_daemon 2>/dev/null
    rm -f "$LAB_RUN/query.log"
    check "daemon restarts with --no-prefetch" \
        lab_start_daemon --no-prefetch --max-ttl "$SHORT_TTL" --query-log "$LAB_RUN/query.log" || finish
    check "upstream counter reset" lab_count_upstream_queries
    out=$(steady "$NAME" $((SHORT_TTL + 2)))
    queries=$(grep -c '^query ' <<<"$out")
    t_note "$(summary "$out")"
    expect_match "every query answered NOERROR" "$(summary "$out")" "^answered $queries of $queries, NOERROR $queries,"
    expect_eq "the TTL ran down to 1 before expiry" "$(field "$out" 'lowest ttl')" 1
    expect_eq "the upstream saw 2 queries: the first miss and the miss after expiry" "$(lab_upstream_udp_queries)" 2
    wait_until 3 log_has "$queries"
    expect_eq "query log: 2 answers came from the upstream (clients waited)" "$(from_count upstream)" 2
    expect_eq "cache stats: no prefetches" "$(stats_field cache.prefetches)" 0

    echo "# teardown"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
