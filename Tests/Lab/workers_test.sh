#!/usr/bin/env bash
# `serve --workers 2`, as root: two event loops in one SO_REUSEPORT group share the cache;
# queries from many flows reach both; the control socket, SIGHUP, zone reloads, metrics and
# the query log speak for the whole daemon; SIGTERM stops every thread.
#
#   sudo Tests/Lab/workers_test.sh      (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4

dig_client() { lab_exec client dig +tries=1 +time=2 "$@" 2>&1; }
flows() { lab_exec client python3 "$here/many_flows.py" "$@"; }
write_config() { # ALLOW
    cat >"$LAB_RUN/tproxy-dns.toml" <<CONF
# written by workers_test.sh
port = $DAEMON_PORT
upstream = ["$LAB_UPSTREAM_V4"]
workers = 2
cache-size = 5000
allow = [$1]
zones = "$LAB_RUN/zones"
query-log = "$LAB_RUN/query.log"
metrics = "127.0.0.1:9153"
CONF
}
scrape() { lab_exec gw python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=3).read().decode())'; }
metric() { python3 "$here/parse_metrics.py" "$1" "$2"; }
query_log_lines() { wc -l <"$LAB_RUN/query.log"; }
all_ok() { # FLOWS-OUTPUT COUNT RCODE: every flow answered with RCODE from the decoy
    [[ $1 == "answered $2 of $2 from-server $2 "*"rcodes $3=$2" ]]
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    BIN=$(lab_daemon_bin)
    mkdir -p "$LAB_RUN/zones"
    cp "$here/../../zones/local/lan.zone" "$LAB_RUN/zones/"
    write_config '"192.0.2.0/24"'
    LAB_DAEMON_UPSTREAMS="" check "daemon starts with workers = 2 from its config file" \
        lab_start_daemon --config "$LAB_RUN/tproxy-dns.toml" || finish
    pid=$(cat "$LAB_RUN/daemon.pid")
    expect_match "start-up line says workers=2" "$(grep 'listening' "$LAB_RUN/daemon.log")" 'workers=2'
    expect_match "a thread named dns-worker-1 runs" "$(cat /proc/"$pid"/task/*/comm)" '^dns-worker-1$'
    sockets=$(lab_exec gw ss -Hlun "sport = :$DAEMON_PORT" | wc -l)
    expect_eq "two UDP sockets share port $DAEMON_PORT" "$sockets" 2

    echo "# many flows reach both workers, which share one cache"
    lab_count_upstream_queries
    out=$(dig_client "@$DECOY4" example.test A)
    expect_eq "first answer, via the upstream" "$(dig_answers "$out" A)" 198.51.100.80
    out=$(flows "$DECOY4" example.test 64)
    if all_ok "$out" 64 NOERROR; then t_pass "64 flows: 64 NOERROR answers from $DECOY4"; else t_fail "64 flows answered" "$out"; fi
    expect_eq "the upstream was asked once: every worker hit the shared entry" "$(lab_upstream_udp_queries)" 1
    expect_eq "cache hits: 64" "$(stats_field cache.hits)" 64
    read -r main worker rest <<<"$(stats_field queriesByWorker)"
    expect_eq "stats list two loops" "${rest:-none}" none
    if ((${main:-0} > 0 && ${worker:-0} > 0)); then
        t_pass "both loops took queries ($main and $worker)"
    else
        t_fail "both loops took queries" "queriesByWorker: $main $worker"
    fi
    expect_eq "queries add up over the loops" "$(stats_field answers.queries)" $((main + worker))
    expect_eq "which are all 65" $((main + worker)) 65
    expect_eq "cache entries: 1" "$(stats_field cache.entries)" 1
    expect_eq "the targeted address counted 65 times over both loops" \
        "$(destination_count "$DECOY4")" 65

    out=$(flows "$DECOY4" "w{i}.wild.example.test" 256)
    if all_ok "$out" 256 NOERROR; then t_pass "256 flows, 256 different names: all answered"; else t_fail "256 flows, 256 names" "$out"; fi
    out=$(flows "$DECOY4" "w{i}.wild.example.test" 256)
    if all_ok "$out" 256 NOERROR; then t_pass "the same 256 names again: all answered"; else t_fail "256 names again" "$out"; fi
    expect_eq "cache hits: 64 + 256" "$(stats_field cache.hits)" 320

    echo "# flushing the cache reaches every worker"
    out=$(cli cache flush example.test)
    expect_match "flush removed the entry" "$out" '1'
    lab_count_upstream_queries
    out=$(flows "$DECOY4" example.test 32)
    if all_ok "$out" 32 NOERROR; then t_pass "32 flows answered after the flush"; else t_fail "32 flows answered after the flush" "$out"; fi
    # Each worker has its own in-flight table: at most one upstream query per worker.
    expect_between "the upstream was asked again, once per worker at most" "$(lab_upstream_udp_queries)" 1 2

    echo "# SIGHUP reaches every worker"
    write_config '"198.51.100.0/24"'
    check "reload: the client is no longer allowed" reload_daemon
    out=$(flows "$DECOY4" example.test 32)
    if all_ok "$out" 32 REFUSED; then t_pass "32 flows: all REFUSED"; else t_fail "32 flows: all REFUSED" "$out"; fi
    write_config '"192.0.2.0/24"'
    check "reload: allowed again" reload_daemon
    out=$(flows "$DECOY4" example.test 32)
    if all_ok "$out" 32 NOERROR; then t_pass "32 flows: all answered again"; else t_fail "32 flows: all answered again" "$out"; fi

    echo "# zone reloads reach every worker"
    cat >"$LAB_RUN/zones/reload.lan.zone" <<'ZONE'
$ORIGIN reload.lan.
$TTL 300
@     SOA ns.reload.lan. hostmaster.reload.lan. 1 3600 600 86400 300
@     NS  ns.reload.lan.
ns    A   192.0.2.53
host  A   192.0.2.77
ZONE
    out=$(cli zones reload)
    expect_match "zones reload names the new zone" "$out" 'reload\.lan'
    out=$(flows "$DECOY4" host.reload.lan 32)
    if all_ok "$out" 32 NOERROR && [[ $out == *" aa 32 "* ]]; then
        t_pass "32 flows: all answered authoritatively from the new zone"
    else
        t_fail "32 flows: all answered from the new zone" "$out"
    fi
    out=$(dig_client "@$DECOY4" host.reload.lan A)
    expect_eq "the zone's address" "$(dig_answers "$out" A)" 192.0.2.77

    echo "# metrics and the query log speak for every worker"
    scrape >"$LAB_RUN/metrics.txt" 2>&1
    total=$(stats_field answers.queries)
    w0=$(metric "$LAB_RUN/metrics.txt" 'tproxy_dns_worker_queries_total{worker="0"}')
    w1=$(metric "$LAB_RUN/metrics.txt" 'tproxy_dns_worker_queries_total{worker="1"}')
    expect_eq "worker query counters add up to the stats' queries" $((w0 + w1)) "$total"
    answered=$(awk '/^tproxy_dns_queries_total\{/ { n += $2 } END { print n + 0 }' "$LAB_RUN/metrics.txt")
    # Refusals are answers but not queries the forwarder took.
    expect_eq "answers by rcode add up too (queries + 32 refused)" "$answered" $((total + $(stats_field admission.refused)))
    check "the query log has a line per query" wait_until 3 test "$(query_log_lines)" -eq "$total"

    echo "# SIGTERM stops every thread"
    check "daemon stops" lab_stop_daemon
    expect_eq "exit status 0" "$LAB_DAEMON_EXIT_STATUS" 0
    expect_match "the stopped line counts every loop's queries" "$(grep 'stopped' "$LAB_RUN/daemon.log")" "queries=$total "

    echo "# --workers is checked"
    rc=0
    out=$(lab_exec gw "$BIN" serve --upstream "$LAB_UPSTREAM_V4" --workers 0 --no-control 2>&1) || rc=$?
    expect_match "--workers 0 refused" "$out" 'workers 0: use a count from 1 to 64, or auto'
    expect_eq "usage exit status" "$rc" 64
    rc=0
    out=$(lab_exec gw "$BIN" serve --upstream "$LAB_UPSTREAM_V4" --workers 2 --reply-via socket-per-source --no-control 2>&1) || rc=$?
    expect_match "--workers 2 with socket-per-source refused" "$out" 'needs --reply-via raw'
    finish
}

lab_main main
