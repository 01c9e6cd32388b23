#!/usr/bin/env bash
# The answer cache, end to end, as root: hits with aged TTLs and a single upstream query,
# the cache key (case, DO, CD), coalescing, RFC 2308 negative caching and its cap, the TTL
# ceiling, cached SERVFAIL, and serve-stale.
#
#   sudo Tests/Lab/cache_test.sh        (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6
WILDCARD_A=198.51.100.99 # *.wild.example.test, TTL 3600
NEGATIVE_TTL=300         # example.test SOA: TTL 3600, MINIMUM 300 -> RFC 2308 says 300
NEGATIVE_CAP=8           # --max-negative-ttl in part 3
POSITIVE_CAP=4           # --max-ttl in part 3
SERVFAIL_TTL=4           # --servfail-ttl in part 3
BIN=$(lab_daemon_bin)

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
# The "answered" debug lines the daemon logged after MARK, as their source= values.
sources_since() { lab_daemon_log_since "$1" | grep ' answered$' | grep -o 'source=[a-z0-9-]*' | tr '\n' ' '; }
# sleep_until START SECONDS: sleep until SECONDS after START (no-op if already past).
sleep_until() { sleep "$(awk -v s="$1" -v d="$2" -v n="$(now)" 'BEGIN { w = s + d - n; printf "%.2f", (w > 0 ? w : 0) }')"; }

# expect_cached_ttl LABEL TTL_BEFORE TTL_AFTER ELAPSED: the TTL went down by the seconds the
# answer spent in the cache, give or take one (whole-second rounding at both ends).
expect_cached_ttl() {
    local drop
    drop=$(($2 - $3))
    expect_between "$1: TTL $2 -> $3 dropped by the $4 s waited (±1)" "$drop" \
        "$(awk -v e="$4" 'BEGIN { printf "%.2f", e - 1 }')" "$(awk -v e="$4" 'BEGIN { printf "%.2f", e + 1 }')"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts (default cache settings)" lab_start_daemon --timeout 1 --log-level debug || finish
    check "count queries reaching the upstream" lab_count_upstream_queries || finish

    echo "# 1. a positive answer is cached: one upstream query, TTL ages"
    local name=cache-1-$$.wild.example.test out t1 t2 ttl1 ttl2 negttl1 nodatattl1 mark elapsed
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$name" A)
    t1=$(now)
    ttl1=$(dig_ttl "$out" ANSWER A)
    expect_eq "first query: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_eq "first query: TTL as the zone has it" "$ttl1" 3600
    expect_eq "first query: relayed with AA cleared and RA set" "$(dig_flags "$out")" "qr rd ra"
    expect_eq "first query: the upstream saw 1 query" "$(lab_upstream_udp_queries)" 1
    expect_match "first query: debug log says source=upstream, original_destination=$DECOY4:53" \
        "$(lab_daemon_log_since "$mark" | grep ' answered$')" "original_destination=$DECOY4:53 .*source=upstream[01] "

    # Negative answers start ageing now too (part 2), so one sleep serves both.
    out=$(dig_client "@$DECOY4" "nx-1-$$.example.test" A)
    expect_eq "NXDOMAIN: status" "$(dig_status "$out")" NXDOMAIN
    negttl1=$(dig_ttl "$out" AUTHORITY SOA)
    expect_eq "NXDOMAIN: SOA TTL is min(SOA TTL, MINIMUM) (RFC 2308 section 5)" "$negttl1" "$NEGATIVE_TTL"
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "NODATA: status" "$(dig_status "$out")" NOERROR
    expect_match "NODATA: empty answer" "$out" 'ANSWER: 0,'
    nodatattl1=$(dig_ttl "$out" AUTHORITY SOA)
    expect_eq "NODATA: SOA TTL $NEGATIVE_TTL" "$nodatattl1" "$NEGATIVE_TTL"
    expect_eq "the upstream saw 3 queries so far" "$(lab_upstream_udp_queries)" 3

    sleep 2.5
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$name" A)
    t2=$(now)
    elapsed=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
    ttl2=$(dig_ttl "$out" ANSWER A)
    expect_eq "second query: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_cached_ttl "second query" "$ttl1" "$ttl2" "$elapsed"
    expect_eq "second query: flags still qr rd ra" "$(dig_flags "$out")" "qr rd ra"
    expect_eq "second query: the upstream still saw 1 query for the name" "$(lab_upstream_udp_queries)" 3
    expect_eq "second query: daemon log says source=cache" "$(sources_since "$mark")" "source=cache "
    expect_match "second query: with original_destination=$DECOY4:53" \
        "$(lab_daemon_log_since "$mark" | grep ' answered$')" "original_destination=$DECOY4:53 "

    echo "# 2. negative answers are cached for the RFC 2308 time"
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "nx-1-$$.example.test" A)
    elapsed=$(since "$t1")
    expect_eq "NXDOMAIN again: status" "$(dig_status "$out")" NXDOMAIN
    expect_cached_ttl "NXDOMAIN again: SOA" "$negttl1" "$(dig_ttl "$out" AUTHORITY SOA)" "$elapsed"
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "NODATA again: status" "$(dig_status "$out")" NOERROR
    expect_cached_ttl "NODATA again: SOA" "$nodatattl1" "$(dig_ttl "$out" AUTHORITY SOA)" "$elapsed"
    expect_eq "negatives again: no new upstream query" "$(lab_upstream_udp_queries)" 3
    expect_eq "negatives again: both from the cache" "$(sources_since "$mark")" "source=cache source=cache "

    echo "# 3. the cache key: name case-insensitive, DO and CD distinct"
    local upper
    upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
    out=$(dig_client "@$DECOY6" "$upper" A)
    expect_eq "upper-case name: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_match "upper-case name: question echoed in the client's case" "$out" "^;$upper\.[[:space:]]+IN[[:space:]]+A$"
    expect_eq "upper-case name: no upstream query (same key)" "$(lab_upstream_udp_queries)" 3
    out=$(dig_client +dnssec "@$DECOY4" "$name" A)
    expect_eq "DO=1: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_match "DO=1: OPT with DO comes back" "$out" '^; EDNS: version: 0, flags: do;'
    expect_eq "DO=1: a new upstream query (another key)" "$(lab_upstream_udp_queries)" 4
    out=$(dig_client +cdflag "@$DECOY4" "$name" A)
    expect_eq "CD=1: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_eq "CD=1: a new upstream query (another key)" "$(lab_upstream_udp_queries)" 5
    out=$(dig_client +dnssec "@$DECOY6" "$name" A)
    expect_eq "DO=1 again: from the cache" "$(lab_upstream_udp_queries)" 5
    out=$(dig_client +noedns "@$DECOY4" "$name" A)
    expect_eq "no EDNS: same key as EDNS without DO, from the cache" "$(lab_upstream_udp_queries)" 5
    expect_match "no EDNS: no OPT in the reply" "$out" 'ADDITIONAL: 0$'

    echo "# 4. identical queries in flight are coalesced, each client still gets its own reply"
    # All upstreams silent for 0.5 s: the daemon's first query is dropped, and so are the
    # retransmissions (0.2 s, then 0.6 s after it; --upstream-retransmits) sent while silent.
    # A later copy, or the failover to the next upstream at the 1 s timeout, gets through.
    # Five clients ask for medium.example.test TXT (about 690 bytes) meanwhile, with different
    # EDNS sizes, letter case and address families: one attempt (two with the failover) for all.
    local i before retransmits queries pids=() variants=(
        "+noedns @$DECOY4 medium.example.test"
        "@$DECOY4 medium.example.test"
        "@$DECOY6 MEDIUM.Example.TEST"
        "+bufsize=512 @$DECOY6 medium.example.test"
        "@$DECOY6 medium.example.test"
    )
    before=$(lab_upstream_udp_queries)
    retransmits=$(stats_field answers.upstreamRetransmits)
    check "upstreams silenced" lab_silence_upstream
    for i in "${!variants[@]}"; do
        # shellcheck disable=SC2086 # each variant is several dig arguments
        dig_client +time=5 +ignore ${variants[$i]} TXT >"$LAB_RUN/coalesce-$i.out" &
        pids+=($!)
    done
    sleep 0.5
    check "upstreams heard again" lab_unsilence_upstream
    for i in "${!pids[@]}"; do wait "${pids[$i]}"; done
    queries=$(($(lab_upstream_udp_queries) - before))
    retransmits=$(($(stats_field answers.upstreamRetransmits) - retransmits))
    t_note "upstream saw $queries queries, $retransmits of them retransmissions"
    expect_between "coalesced: 1 or 2 upstream attempts for 5 clients (retransmissions aside), not 5 or 10" \
        "$((queries - retransmits))" 1 2
    local c=()
    for i in "${!variants[@]}"; do c+=("$(cat "$LAB_RUN/coalesce-$i.out")"); done
    expect_match "coalesced, no EDNS: TC (690 > 512)" "$(dig_flags "${c[0]}")" '(^| )tc( |$)'
    expect_match "coalesced, no EDNS: no OPT" "${c[0]}" 'ADDITIONAL: 0$'
    expect_eq "coalesced, EDNS 1232: 3 records" "$(dig_answers "${c[1]}" TXT | wc -l)" 3
    expect_match "coalesced, EDNS 1232: OPT" "${c[1]}" '^; EDNS: version: 0,'
    expect_eq "coalesced, mixed case over IPv6: 3 records" "$(dig_answers "${c[2]}" TXT | wc -l)" 3
    expect_match "coalesced, mixed case: the client's own case in the question" "${c[2]}" \
        '^;MEDIUM\.Example\.TEST\.[[:space:]]+IN[[:space:]]+TXT$'
    expect_match "coalesced, EDNS 512: TC" "$(dig_flags "${c[3]}")" '(^| )tc( |$)'
    expect_match "coalesced, EDNS 512: OPT" "${c[3]}" '^; EDNS: version: 0,'
    expect_eq "coalesced, EDNS 1232 over IPv6: 3 records" "$(dig_answers "${c[4]}" TXT | wc -l)" 3

    echo "# 5. caps: --max-negative-ttl $NEGATIVE_CAP, --max-ttl $POSITIVE_CAP, --servfail-ttl $SERVFAIL_TTL"
    lab_stop_daemon 2>/dev/null
    check "daemon restarts with small caps" lab_start_daemon --timeout 1 --log-level debug \
        --max-negative-ttl "$NEGATIVE_CAP" --max-ttl "$POSITIVE_CAP" --servfail-ttl "$SERVFAIL_TTL" || finish
    local nx=nx-2-$$.example.test positive=cache-2-$$.wild.example.test t0
    out=$(dig_client "@$DECOY4" "$nx" A)
    t0=$(now)
    expect_eq "capped NXDOMAIN: status" "$(dig_status "$out")" NXDOMAIN
    expect_eq "capped NXDOMAIN: SOA TTL = --max-negative-ttl" "$(dig_ttl "$out" AUTHORITY SOA)" "$NEGATIVE_CAP"
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "capped NODATA: status" "$(dig_status "$out")" NOERROR
    expect_eq "capped NODATA: SOA TTL = --max-negative-ttl" "$(dig_ttl "$out" AUTHORITY SOA)" "$NEGATIVE_CAP"
    out=$(dig_client "@$DECOY4" "$positive" A)
    expect_eq "capped positive: answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_between "capped positive: TTL at most --max-ttl" "$(dig_ttl "$out" ANSWER A)" 0 "$POSITIVE_CAP"
    lab_stop_upstream 2>/dev/null

    sleep_until "$t0" 2.5
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$nx" A)
    expect_eq "upstream stopped, NXDOMAIN still cached: status" "$(dig_status "$out")" NXDOMAIN
    expect_match "upstream stopped, NXDOMAIN still cached: SOA present" "$out" '^example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA'
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "upstream stopped, NODATA still cached: status" "$(dig_status "$out")" NOERROR
    expect_match "upstream stopped, NODATA still cached: SOA present" "$out" '^example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA'
    out=$(dig_client "@$DECOY4" "$positive" A)
    expect_eq "upstream stopped, positive still cached" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_eq "upstream stopped: all three from the cache" "$(sources_since "$mark")" \
        "source=cache source=cache source=cache "

    sleep_until "$t0" "$((POSITIVE_CAP + 1))"
    out=$(dig_client "@$DECOY4" "$positive" A)
    expect_eq "positive after --max-ttl, upstream stopped: SERVFAIL" "$(dig_status "$out")" SERVFAIL
    sleep_until "$t0" "$((NEGATIVE_CAP + 1))"
    out=$(dig_client "@$DECOY4" "$nx" A)
    local servfail_at
    servfail_at=$(now)
    expect_eq "NXDOMAIN after --max-negative-ttl, upstream stopped: SERVFAIL" "$(dig_status "$out")" SERVFAIL
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "NODATA after --max-negative-ttl, upstream stopped: SERVFAIL" "$(dig_status "$out")" SERVFAIL

    echo "# 6. SERVFAIL is cached for --servfail-ttl"
    check "knotd restarts" lab_start_upstream
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$nx" A)
    if awk -v s="$servfail_at" -v n="$(now)" -v t="$SERVFAIL_TTL" 'BEGIN { exit !(n - s < t - 0.5) }'; then
        expect_eq "upstream back, within --servfail-ttl: still SERVFAIL" "$(dig_status "$out")" SERVFAIL
        expect_eq "upstream back, within --servfail-ttl: from the cache" "$(sources_since "$mark")" "source=cache "
    else
        t_fail "upstream back, within --servfail-ttl" "knotd took too long to restart to test this"
    fi
    sleep_until "$servfail_at" "$((SERVFAIL_TTL + 1))"
    out=$(dig_client "@$DECOY4" "$nx" A)
    expect_eq "after --servfail-ttl: NXDOMAIN again" "$(dig_status "$out")" NXDOMAIN

    echo "# 7. serve-stale (RFC 8767)"
    lab_stop_daemon 2>/dev/null
    check "daemon restarts with --serve-stale 60 --max-ttl 1" \
        lab_start_daemon --timeout 1 --log-level debug --serve-stale 60 --max-ttl 1 || finish
    local stale=stale-$$.wild.example.test
    out=$(dig_client "@$DECOY4" "$stale" A)
    expect_eq "stale: fresh answer" "$(dig_answers "$out" A)" "$WILDCARD_A"
    lab_stop_upstream 2>/dev/null
    sleep 2
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$stale" A)
    expect_eq "stale: expired answer served while upstreams fail" "$(dig_answers "$out" A)" "$WILDCARD_A"
    expect_eq "stale: with TTL 30" "$(dig_ttl "$out" ANSWER A)" 30
    expect_eq "stale: daemon log says source=stale-cache" "$(sources_since "$mark")" "source=stale-cache "

    echo "# teardown"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
