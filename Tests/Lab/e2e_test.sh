#!/usr/bin/env bash
# End to end, as root: a client queries 203.0.113.53 / 2001:db8:3::53, where no DNS server
# runs; tproxy-dns on the gateway intercepts, asks knotd on the upstream, and the reply must
# come back from the address the client queried.
#
#   sudo Tests/Lab/e2e_test.sh          (TPROXY_DNS_BIN=... to test another binary,
#                                        KEEP_LAB=1 to keep the run dir with the logs)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

UPSTREAM_TIMEOUT=2 # seconds, passed as --timeout
UPSTREAMS=2
DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }

# Names the daemon cannot have cached: *.wild.example.test is a wildcard (A 198.51.100.99).
uncached_count=0
next_uncached_name() {
    uncached_count=$((uncached_count + 1))
    uncached_name=uncached-$uncached_count-$$.wild.example.test
}

# expect_answers_again LABEL: an uncached name answers within 5 attempts a second apart.
expect_answers_again() {
    local attempt out
    for attempt in 1 2 3 4 5; do
        next_uncached_name
        out=$(dig_client "@$DECOY4" "$uncached_name" A)
        if [[ $(dig_answers "$out" A) == 198.51.100.99 ]]; then
            t_pass "$1: answers again (attempt $attempt)"
            return 0
        fi
        sleep 1
    done
    t_fail "$1: answers again" "no answer in 5 attempts; last:" "$out"
}

# expect_answer LABEL SERVER NAME TYPE WANT: NOERROR and exactly WANT as the TYPE answer.
expect_answer() {
    local label=$1 server=$2 name=$3 type=$4 want=$5 out
    out=$(dig_client "@$server" "$name" "$type")
    expect_eq "$label: status" "$(dig_status "$out")" NOERROR
    expect_eq "$label: answer" "$(dig_answers "$out" "$type")" "$want"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts and listens on udp $DAEMON_PORT" \
        lab_start_daemon --timeout "$UPSTREAM_TIMEOUT" --log-level debug || finish

    echo "# 1. IPv4 query to the decoy"
    out=$(dig_client "@$DECOY4" example.test A)
    expect_eq "v4: status" "$(dig_status "$out")" NOERROR
    expect_eq "v4: answer" "$(dig_answers "$out" A)" 198.51.100.80
    expect_match "v4: reply comes from the decoy's address" "$(dig_server "$out")" "^$DECOY4#53\("

    echo "# 2. IPv6 query to the decoy"
    out=$(dig_client "@$DECOY6" example.test AAAA)
    expect_eq "v6: status" "$(dig_status "$out")" NOERROR
    expect_eq "v6: answer" "$(dig_answers "$out" AAAA)" 2001:db8:2::80
    expect_match "v6: reply comes from the decoy's address" "$(dig_server "$out")" "^$DECOY6#53\("

    echo "# 3. answers relayed unchanged"
    expect_answer "AAAA over v4" "$DECOY4" example.test AAAA 2001:db8:2::80
    expect_answer "A over v6" "$DECOY6" example.test A 198.51.100.80
    out=$(dig_client "@$DECOY4" www.example.test A)
    expect_eq "CNAME chain: status" "$(dig_status "$out")" NOERROR
    expect_eq "CNAME chain: both CNAMEs" "$(dig_answers "$out" CNAME | tr '\n' ' ')" "web.example.test. host.example.test. "
    expect_eq "CNAME chain: final A" "$(dig_answers "$out" A)" 198.51.100.81
    out=$(dig_client "@$DECOY4" nothing.example.test A)
    expect_eq "NXDOMAIN passes through" "$(dig_status "$out")" NXDOMAIN
    expect_match "NXDOMAIN keeps the SOA in authority" "$out" '^example\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+SOA'
    out=$(dig_client "@$DECOY6" v4only.example.test AAAA)
    expect_eq "NODATA: status" "$(dig_status "$out")" NOERROR
    expect_match "NODATA: empty answer" "$out" 'ANSWER: 0,'
    out=$(dig_client +dnssec "@$DECOY4" example.test A)
    expect_eq "EDNS DO query: answer" "$(dig_answers "$out" A)" 198.51.100.80
    expect_match "EDNS DO query: OPT with DO comes back" "$out" '^; EDNS: version: 0, flags: do;'
    expect_answer "uppercase name" "$DECOY4" EXAMPLE.TEST A 198.51.100.80
    expect_answer "wildcard" "$DECOY6" foo.wild.example.test A 198.51.100.99
    expect_answer "MX" "$DECOY4" example.test MX "10 mail.example.test."
    expect_answer "TXT" "$DECOY6" txt.example.test TXT '"v=lab1; tproxy-dns test record"'
    expect_eq "the decoy itself received no DNS packet" "$(lab_decoy_dns_packets)" 0

    echo "# 4. malformed and unsupported queries"
    raw() { lab_exec client python3 "$here/raw_dns_query.py" "$@" 2>&1; }
    expect_match "shorter than a header: dropped" "$(raw "$DECOY4" short --timeout 1)" '^no reply'
    out=$(raw "$DECOY4" random --timeout 1)
    echo "     (random bytes: $out)"
    expect_match "opcode STATUS over v4: NOTIMP from the decoy" "$(raw "$DECOY4" opcode-status)" \
        "^reply from $DECOY4#53 id=0xbeef qr=1 opcode=2 rcode=4 "
    expect_match "opcode STATUS over v6: NOTIMP from the decoy" "$(raw "$DECOY6" opcode-status)" \
        "^reply from $DECOY6#53 id=0xbeef qr=1 opcode=2 rcode=4 "
    expect_match "QDCOUNT=2: FORMERR" "$(raw "$DECOY4" two-questions)" \
        "^reply from $DECOY4#53 id=0xbeef qr=1 opcode=0 rcode=1 "
    expect_match "truncated question: FORMERR" "$(raw "$DECOY6" truncated-question)" \
        "^reply from $DECOY6#53 id=0xbeef qr=1 opcode=0 rcode=1 "
    check "daemon still running after malformed input" lab_daemon_alive
    expect_answer "and still answering" "$DECOY4" example.test A 198.51.100.80

    echo "# 5. upstreams down: SERVFAIL, then recovery (names no cache can hold)"
    local limit=$((UPSTREAM_TIMEOUT * UPSTREAMS + 1)) start elapsed
    # Refused: knotd stopped, the upstream host answers ICMP port unreachable.
    lab_stop_upstream 2>/dev/null
    next_uncached_name
    start=$(now)
    out=$(dig_client +time=8 "@$DECOY4" "$uncached_name" A)
    elapsed=$(since "$start")
    expect_eq "upstreams refuse: SERVFAIL" "$(dig_status "$out")" SERVFAIL
    expect_le "upstreams refuse: answered within $limit s (took $elapsed s)" "$elapsed" "$limit"
    check "knotd restarts" lab_start_upstream
    expect_answers_again "upstream back after refusing"
    # Silent: packets to the upstreams are dropped, so each one must time out in turn.
    check "upstreams silenced" lab_silence_upstream
    next_uncached_name
    start=$(now)
    out=$(dig_client +time=8 "@$DECOY6" "$uncached_name" A)
    elapsed=$(since "$start")
    expect_eq "upstreams silent: SERVFAIL" "$(dig_status "$out")" SERVFAIL
    expect_le "upstreams silent: answered within $limit s (took $elapsed s)" "$elapsed" "$limit"
    # Every upstream was tried and waited for (a little slack for timer granularity).
    expect_le "upstreams silent: waited for all $UPSTREAMS upstreams (took $elapsed s)" \
        "$((UPSTREAM_TIMEOUT * UPSTREAMS - 1)).5" "$elapsed"
    check "upstreams heard again" lab_unsilence_upstream
    expect_answers_again "upstream back after silence"

    echo "# 6. daemon stopped: nothing answers for the decoy"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    before=$(lab_decoy_dns_packets)
    out=$(lab_exec client dig +tries=1 +time=2 "@$DECOY4" example.test A 2>&1)
    expect_eq "no DNS answer without the daemon" "$(dig_status "$out")" ""
    # nft's tproxy does not drop when no socket listens: the query is routed on to the decoy,
    # whose kernel answers ICMP port unreachable. So the answers above came from the daemon.
    after=$(lab_decoy_dns_packets)
    expect_eq "the query now reaches the decoy itself" "$((after - before))" 1

    echo "# 7. without root"
    bin=$(lab_daemon_bin)
    if ! lab_exec gw setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$bin"; then
        # The build dir may sit under a directory nobody cannot enter (e.g. /root).
        chmod 711 "$LAB_RUN"
        install -d -m 755 "$LAB_RUN/bin"
        install -m 755 "$bin" "$LAB_RUN/bin/tproxy-dns"
        bin=$LAB_RUN/bin/tproxy-dns
    fi
    rc=0
    out=$(lab_exec gw timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$bin" serve --port 5399 --upstream "$LAB_UPSTREAM_V4" 2>&1) || rc=$?
    if ((rc != 0 && rc != 124)); then
        t_pass "unprivileged: exits non-zero ($rc)"
    else
        t_fail "unprivileged: exits non-zero" "exit status $rc (124: still running after 10 s)"
    fi
    expect_match "unprivileged: says why" "$out" 'needs CAP_NET_ADMIN and CAP_NET_RAW: run as root'

    finish
}

lab_main main
