#!/usr/bin/env bash
# The operator's tools against a live daemon, as root: `tproxy-dns cache stats|dump|lookup|
# flush` over the control socket, the query log, and local zones (answers, reload).
#
#   sudo Tests/Lab/control_test.sh      (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    zones=$LAB_RUN/zones
    mkdir -p "$zones"
    cp "$here/../../zones/local/lan.zone" "$zones/"
    check "daemon starts with a control socket, a query log and local zones" \
        lab_start_daemon --zones "$zones" --query-log "$LAB_RUN/query.log" || finish
    BIN=$(lab_daemon_bin)

    echo "# control socket"
    mode=$(stat -c %a "$LAB_CONTROL")
    expect_eq "socket file mode is 0600" "$mode" 600
    hits0=$(stats_field cache.hits)
    misses0=$(stats_field cache.misses)
    dig_client "@$DECOY4" example.test A >/dev/null
    dig_client "@$DECOY4" example.test A >/dev/null
    dig_client "@8.8.8.8" www.example.test A >/dev/null
    dig_client "@$DECOY6" example.test AAAA >/dev/null
    expect_eq "stats: one more hit" "$(stats_field cache.hits)" $((hits0 + 1))
    expect_eq "stats: three more misses" "$(stats_field cache.misses)" $((misses0 + 3))
    expect_eq "stats: 2 queries were for 203.0.113.53" "$(destination_count 203.0.113.53)" 2
    expect_eq "stats: 1 query was for 8.8.8.8" "$(destination_count 8.8.8.8)" 1
    expect_eq "stats: 1 query was for 2001:db8:3::53" "$(destination_count 2001:db8:3::53)" 1
    out=$(cli cache stats)
    expect_match "stats table: hit ratio row" "$out" '^  hit ratio +[0-9]+\.[0-9]%$'
    expect_match "stats table: upstream row" "$out" '^  198\.51\.100\.53:53 +up +[0-9]+'

    echo "# dump and lookup"
    first=$(cli cache dump | grep -A1 '^; example\.test\. A ' | tail -n 1)
    expect_match "dump: the entry in presentation form" "$first" '^example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.80$'
    ttl1=$(awk '{print $2}' <<<"$first")
    sleep 2.1
    ttl2=$(cli cache dump | grep -A1 '^; example\.test\. A ' | tail -n 1 | awk '{print $2}')
    expect_between "dump: TTL decreases as time passes ($ttl1 -> $ttl2)" "$((ttl1 - ttl2))" 2 3
    out=$(cli cache lookup www.example.test A)
    expect_match "lookup: CNAME chain shown" "$out" 'www\.example\.test\.[[:space:]].*CNAME[[:space:]]+web\.example\.test\.'
    expect_match "lookup: answered by the upstream" "$out" 'from=(198\.51\.100\.53:53|\[2001:db8:2::53\]:53)'
    out=$(cli cache lookup www.example.test --json)
    expect_match "lookup --json: one object per entry" "$out" '^\{.*"name":"www\.example\.test\.".*\}$'
    out=$(cli cache lookup no-such-name.test)
    expect_match "lookup of an absent name: zero entries" "$out" '^;; 0 entries$'

    echo "# flush"
    out=$(cli cache flush example.test)
    expect_eq "flush one name" "$out" "flushed 2 entries"
    misses=$(stats_field cache.misses)
    dig_client "@$DECOY4" example.test A >/dev/null
    expect_eq "after flush the next query goes upstream" "$(stats_field cache.misses)" $((misses + 1))
    dig_client "@$DECOY4" a.wild.example.test A >/dev/null
    dig_client "@$DECOY4" b.wild.example.test A >/dev/null
    out=$(cli cache flush wild.example.test --subtree)
    expect_eq "flush a subtree" "$out" "flushed 2 entries"
    out=$(cli cache flush)
    expect_match "flush everything" "$out" '^flushed [0-9]+ entr'
    expect_eq "cache empty after flushing everything" "$(stats_field cache.entries)" 0

    echo "# access and errors"
    chmod 711 "$LAB_RUN"
    rc=0
    out=$(lab_exec gw setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" cache stats --control "$LAB_CONTROL" 2>&1) || rc=$?
    expect_eq "non-root user: refused (exit 2)" "$rc" 2
    expect_match "non-root user: says permission denied" "$out" 'permission denied'
    rc=0
    out=$(lab_exec gw "$BIN" cache stats --control "$LAB_RUN/absent.sock" 2>&1) || rc=$?
    expect_eq "no socket: exit 2" "$rc" 2
    expect_match "no socket: says what to do" "$out" 'is `tproxy-dns serve` running'

    echo "# control socket directory and path (issue 15)"
    local shared=$LAB_RUN/shared
    mkdir -m 0777 "$shared" && chown 65534:65534 "$shared"
    rc=0
    out=$(lab_exec gw "$BIN" serve --port 5397 --upstream "$LAB_UPSTREAM_V4" --control "$shared/control.sock" 2>&1) || rc=$?
    t_note "$out"
    expect_eq "another user's world-writable directory: start-up refused (exit 1)" "$rc" 1
    expect_match "  the error names --control and the directory's owner" "$out" \
        "^tproxy-dns: --control $shared/control\.sock: directory $shared is owned by uid 65534, not root or this user"
    check "  and suggests no --port" test "${out/--port/}" == "$out"
    expect_eq "  no socket was created there" "$(find "$shared" -mindepth 1 | wc -l)" 0
    rc=0
    out=$(lab_exec gw "$BIN" serve --port 5397 --upstream "$LAB_UPSTREAM_V4" --control "$LAB_CONTROL" 2>&1) || rc=$?
    t_note "$out"
    expect_eq "control path of a running daemon: start-up refused (exit 1)" "$rc" 1
    expect_match "  the error names --control, not --port" "$out" \
        "^tproxy-dns: --control $LAB_CONTROL: another daemon answers on this control socket"
    check "  the running daemon keeps its socket" cli cache stats

    echo "# query log"
    dig_client "@$DECOY6" printer.lan A >/dev/null
    wait_until 3 grep -q 'name=printer\.lan\.' "$LAB_RUN/query.log"
    line=$(grep 'name=printer\.lan\.' "$LAB_RUN/query.log" | tail -n 1)
    expect_match "query log: client, original destination, name, type, rcode, source, latency" "$line" \
        '^[0-9-]+T[0-9:.]+Z client=\[2001:db8:1::10\]:[0-9]+ server=\[2001:db8:3::53\]:53 proto=udp name=printer\.lan\. type=A rcode=NOERROR from=zone latency_ms=[0-9.]+$'
    expect_match "query log: upstream answers name the upstream" "$(cat "$LAB_RUN/query.log")" \
        'name=example\.test\. type=A rcode=NOERROR from=upstream:'

    echo "# local zones"
    out=$(dig_client "@$DECOY4" router.lan A)
    expect_eq "zone: answer" "$(dig_answers "$out" A)" 192.0.2.1
    expect_match "zone: authoritative (aa)" "$(dig_flags "$out")" '(^| )aa( |$)'
    expect_match "zone: from the decoy's address" "$(dig_server "$out")" "^$DECOY4#53\("
    out=$(dig_client "@$DECOY4" anything.dev.lan A)
    expect_eq "zone: wildcard" "$(dig_answers "$out" A)" 192.0.2.30
    out=$(dig_client "@$DECOY4" missing.lan A)
    expect_eq "zone: NXDOMAIN" "$(dig_status "$out")" NXDOMAIN
    expect_match "zone: NXDOMAIN carries the zone's SOA" "$out" '^lan\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA'
    out=$(dig_client "@$DECOY4" nas.lan A)
    expect_match "zone: NODATA (AAAA only name asked for A)" "$(dig_status "$out") $(grep -o 'ANSWER: [0-9]*' <<<"$out")" '^NOERROR ANSWER: 0$'

    echo "# zone reload"
    sed -i 's/^printer[[:space:]].*$/printer IN A 192.0.2.21/' "$zones/lan.zone"
    out=$(cli zones reload)
    expect_match "reload picks up a change" "$out" '^reloaded 1 zone: lan\.$'
    expect_eq "changed record served" "$(dig_answers "$(dig_client "@$DECOY4" printer.lan A)" A)" 192.0.2.21
    printf 'broken IN A not-an-address\n' >>"$zones/lan.zone"
    rc=0
    out=$(cli zones reload) || rc=$?
    expect_eq "reload of a broken file fails (exit 1)" "$rc" 1
    expect_match "reload error names file and line" "$out" 'lan\.zone:[0-9]+'
    expect_eq "previous zone data still served" "$(dig_answers "$(dig_client "@$DECOY4" printer.lan A)" A)" 192.0.2.21
    lab_exec gw kill -HUP "$(cat "$LAB_RUN/daemon.pid")"
    sleep 0.5
    check "SIGHUP with a broken file: daemon keeps running" lab_daemon_alive
    expect_match "SIGHUP failure is logged" "$(cat "$LAB_RUN/daemon.log")" 'zone reload failed; previous zones still served'
    expect_eq "and still serves the previous data" "$(dig_answers "$(dig_client "@$DECOY4" printer.lan A)" A)" 192.0.2.21

    echo "# broken zone at start-up"
    lab_stop_daemon 2>/dev/null
    rc=0
    out=$(lab_exec gw "$BIN" serve --port 5398 --upstream "$LAB_UPSTREAM_V4" --zones "$zones" --no-control 2>&1) || rc=$?
    expect_eq "start-up refused with a broken zone (exit 1)" "$rc" 1
    expect_match "start-up error names file and line" "$out" 'lan\.zone:[0-9]+'
    rc=0
    out=$(lab_exec gw "$BIN" zones check "$zones" 2>&1) || rc=$?
    expect_eq "zones check: exit 1" "$rc" 1
    check "zones check of the shipped example passes" lab_exec gw "$BIN" zones check "$here/../../zones/local"

    finish
}

lab_main main
