#!/usr/bin/env bash
# Running as a real gateway service, as root: a --config file (errors with key and line,
# flags win, SIGHUP reload keeps the cache), access control (--allow, refuse or drop),
# per-client rate limiting, dropping root with --user, and Prometheus metrics.
#
#   sudo Tests/Lab/gateway_test.sh      (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4

dig_client() { lab_exec client dig +tries=1 +time=2 "$@" 2>&1; }
write_config() { # ALLOW REFUSED-ACTION [EXTRA LINE]
    cat >"$LAB_RUN/tproxy-dns.toml" <<CONF
# written by gateway_test.sh
port = $DAEMON_PORT
upstream = ["$LAB_UPSTREAM_V4", "[$LAB_UPSTREAM_V6]:53"]
upstream-policy = "ordered"
cache-size = 5000
allow = [$1]
refused-action = "$2"
log-level = "debug"
${3:-}
CONF
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    BIN=$(lab_daemon_bin)

    echo "# config file errors name the key and line"
    printf 'port = 5397\nupstream = ["%s"]\n\ncahce-size = 10\n' "$LAB_UPSTREAM_V4" >"$LAB_RUN/bad1.toml"
    rc=0
    out=$(lab_exec gw "$BIN" serve --config "$LAB_RUN/bad1.toml" --no-control 2>&1) || rc=$?
    expect_eq "unknown key: exit 1" "$rc" 1
    expect_match "unknown key: FILE:LINE and the key" "$out" "bad1\.toml:4: unknown key \`cahce-size\`"
    printf 'port = 5397\nupstream = ["%s"]\nmax-udp-size = 100\n' "$LAB_UPSTREAM_V4" >"$LAB_RUN/bad2.toml"
    rc=0
    out=$(lab_exec gw "$BIN" serve --config "$LAB_RUN/bad2.toml" --no-control 2>&1) || rc=$?
    expect_eq "bad value: exit 1" "$rc" 1
    expect_match "bad value: FILE:LINE and the key" "$out" 'bad2\.toml:3: max-udp-size: --max-udp-size must be 512-4096'
    printf 'port = 5397\nupstream = "%s\n' "$LAB_UPSTREAM_V4" >"$LAB_RUN/bad3.toml"
    out=$(lab_exec gw "$BIN" serve --config "$LAB_RUN/bad3.toml" --no-control 2>&1)
    expect_match "syntax error: FILE:LINE" "$out" 'bad3\.toml:2: string not closed'

    echo "# served from a config file; clients outside allow are refused"
    write_config '"198.51.100.0/24"' refuse
    LAB_DAEMON_UPSTREAMS="" check "daemon starts from the config file" \
        lab_start_daemon --config "$LAB_RUN/tproxy-dns.toml" || finish
    expect_match "flags win over the file (control socket from the command line)" \
        "$(grep 'listening' "$LAB_RUN/daemon.log")" "control=$LAB_CONTROL"
    out=$(dig_client "@$DECOY4" example.test A)
    expect_eq "client outside --allow: REFUSED" "$(dig_status "$out")" REFUSED
    expect_match "REFUSED comes from the intercepted address" "$(dig_server "$out")" "^$DECOY4#53\("
    expect_eq "refusals counted" "$(stats_field admission.refused)" 1

    echo "# SIGHUP: drop instead of refuse"
    write_config '"198.51.100.0/24"' drop
    check "reload" reload_daemon
    out=$(dig_client "@$DECOY4" example.test A)
    expect_eq "client outside --allow, drop: no answer" "$(dig_status "$out")" ""
    expect_eq "ignored queries counted" "$(stats_field admission.ignored)" 1

    echo "# SIGHUP: allow the LAN; the cache survives reloads"
    write_config '"192.0.2.0/24", "2001:db8:1::/64"' refuse
    check "reload" reload_daemon
    out=$(dig_client "@$DECOY4" example.test A)
    expect_eq "allowed client answered" "$(dig_answers "$out" A)" 198.51.100.80
    entries=$(stats_field cache.entries)
    hits=$(stats_field cache.hits)
    write_config '"192.0.2.0/24", "2001:db8:1::/64"' refuse 'max-ttl = 600'
    check "reload with a new max-ttl" reload_daemon
    expect_eq "cache entries kept across SIGHUP" "$(stats_field cache.entries)" "$entries"
    dig_client "@$DECOY4" example.test A >/dev/null
    expect_eq "and still hit" "$(stats_field cache.hits)" $((hits + 1))
    printf 'port = 5353\nbogus-key = 1\n' >"$LAB_RUN/tproxy-dns.toml"
    check "reload of a broken config" reload_daemon
    expect_match "broken config on SIGHUP: logged, previous settings kept" \
        "$(tail -n 5 "$LAB_RUN/daemon.log")" 'tproxy-dns\.toml:2: unknown key.*configuration reload failed; previous settings kept'
    check "daemon alive after a broken reload" lab_daemon_alive
    out=$(dig_client "@$DECOY4" www.example.test A)
    expect_eq "and still serving" "$(dig_status "$out")" NOERROR
    lab_stop_daemon 2>/dev/null

    echo "# rate limit"
    check "daemon with --rate-limit 5" lab_start_daemon --rate-limit 5 || finish
    out=$(lab_exec client python3 "$here/udp_burst.py" "$DECOY4" 50 2>&1)
    answered=$(sed -nE 's/^answered ([0-9]+) of 50$/\1/p' <<<"$out")
    expect_between "burst of 50 from one client: about the burst (10) answered ($answered)" "${answered:-0}" 8 14
    expect_between "rate-limited queries counted" "$(stats_field admission.rateLimited)" 36 42
    sleep 1.2
    expect_eq "after a pause the client is answered again" "$(dig_answers "$(dig_client "@$DECOY4" example.test A)" A)" 198.51.100.80
    lab_stop_daemon 2>/dev/null

    echo "# --user: drops root, keeps serving"
    check "daemon with --user nobody and --metrics" \
        lab_start_daemon --user nobody --metrics 127.0.0.1:9153 --zones "$here/../../zones/local" || finish
    pid=$(cat "$LAB_RUN/daemon.pid")
    expect_eq "runs as nobody" "$(ps -o user= -p "$pid" | tr -d ' ')" nobody
    expect_match "says so in the log" "$(cat "$LAB_RUN/daemon.log")" 'user=nobody.*dropped privileges'
    expect_eq "UDP answered after the drop (upstream miss)" "$(dig_answers "$(dig_client "@$DECOY4" example.test A)" A)" 198.51.100.80
    expect_eq "IPv6 answered after the drop" "$(dig_answers "$(dig_client "@$LAB_DECOY_V6" example.test AAAA)" AAAA)" 2001:db8:2::80
    expect_eq "TCP answered after the drop" "$(dig_answers "$(dig_client +tcp "@$DECOY4" www.example.test A)" A)" 198.51.100.81
    expect_eq "zone answered after the drop" "$(dig_answers "$(dig_client "@$DECOY4" router.lan A)" A)" 192.0.2.1
    dig_client "@$DECOY4" nothing.example.test A >/dev/null

    echo "# metrics"
    scrape() { lab_exec gw python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=3).read().decode())'; }
    scrape >"$LAB_RUN/metrics1.txt" 2>&1
    python3 -c 'import prometheus_client' 2>/dev/null || pip install -q prometheus_client >/dev/null 2>&1
    parse() { python3 "$here/parse_metrics.py" "$1" "$2"; }
    check "scrape parses with prometheus_client" parse "$LAB_RUN/metrics1.txt" tproxy_dns_cache_misses_total
    expect_eq "NXDOMAIN counted by rcode" "$(parse "$LAB_RUN/metrics1.txt" 'tproxy_dns_queries_total{rcode="NXDOMAIN"}')" 1
    zone1=$(parse "$LAB_RUN/metrics1.txt" 'tproxy_dns_answers_total{source="zone"}')
    expect_eq "zone answers counted" "$zone1" 1
    expect_match "upstream RTT histogram present" "$(cat "$LAB_RUN/metrics1.txt")" \
        '^tproxy_dns_upstream_rtt_seconds_bucket\{le="\+Inf",upstream="198\.51\.100\.53:53"\} [0-9]+$'
    expect_match "per-original-destination counter present" "$(cat "$LAB_RUN/metrics1.txt")" \
        '^tproxy_dns_original_destination_queries_total\{destination="203\.0\.113\.53"\} [0-9]+$'
    hits1=$(parse "$LAB_RUN/metrics1.txt" tproxy_dns_cache_hits_total)
    dig_client "@$DECOY4" example.test A >/dev/null
    dig_client "@$DECOY4" router.lan A >/dev/null
    scrape >"$LAB_RUN/metrics2.txt" 2>&1
    expect_eq "cache hits counter moves" "$(parse "$LAB_RUN/metrics2.txt" tproxy_dns_cache_hits_total)" $((hits1 + 1))
    expect_eq "zone counter moves" "$(parse "$LAB_RUN/metrics2.txt" 'tproxy_dns_answers_total{source="zone"}')" $((zone1 + 1))
    out=$(lab_exec gw python3 -c 'import urllib.request,urllib.error
try: urllib.request.urlopen("http://127.0.0.1:9153/other", timeout=3)
except urllib.error.HTTPError as e: print(e.code)')
    expect_eq "other paths: 404" "$out" 404
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits cleanly after the drop" "$LAB_DAEMON_EXIT_STATUS" 0

    finish
}

lab_main main
