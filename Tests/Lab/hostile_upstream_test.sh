#!/usr/bin/env bash
# A hostile upstream, end to end, as root: the daemon's only upstream is
# Tests/Lab/hostile_upstream.py on 198.51.100.66, which answers with wrong IDs, wrong
# questions, garbage, oversized and malformed messages, replies from the wrong port,
# poison before the real answer, and misbehaves over TCP after TC=1. The daemon must keep
# running, and clients must get SERVFAIL or the right answer (A 198.51.100.77), never the
# poison (A 192.0.2.66), neither at once nor later from the cache.
#
#   sudo Tests/Lab/hostile_upstream_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6
HOSTILE=198.51.100.66
BIN=$(lab_daemon_bin)
CORRECT=198.51.100.77
POISON=192.0.2.66
UPSTREAM_TIMEOUT=1
SERVFAIL_TTL=5

finish() {
    if ((T_FAILED > 0)) && [[ -n $LAB_RUN && -s $LAB_RUN/daemon.log ]]; then
        echo "--- daemon log (last 40 lines)"
        tail -n 40 "$LAB_RUN/daemon.log"
        echo "--- hostile upstream log (last 20 lines)"
        tail -n 20 "$LAB_RUN/hostile.log"
    fi
    lab_down
    t_summary
    exit $?
}

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1 | tee -a "$LAB_RUN/client.out"; }
sources_since() { lab_daemon_log_since "$1" | grep ' answered$' | grep -o 'source=[a-z0-9-]*' | tr '\n' ' '; }
# Queries the hostile upstream received for NAME over TRANSPORT (udp, tcp).
upstream_saw() { grep -ci "^query $2 $1 " "$LAB_RUN/hostile.log"; }

# expect_safe LABEL OUT: SERVFAIL, or NOERROR with exactly the right answer; never poison.
expect_safe() {
    local label=$1 out=$2 status answer
    status=$(dig_status "$out")
    answer=$(dig_answers "$out" A | tr '\n' ' ')
    if [[ $status == SERVFAIL || ($status == NOERROR && $answer == "$CORRECT ") ]]; then
        t_pass "$label: ${status:-no reply}${answer:+ $answer}"
    else
        t_fail "$label: SERVFAIL or the right answer" "status ${status:-<no reply>}, answer ${answer:-<none>}" "$out"
    fi
    if grep -q "$POISON" <<<"$out"; then
        t_fail "$label: no poison" "$out"
    fi
}

n=0
# hostile MODE [WANT]: a fresh name in MODE; the answer is safe (WANT=right: it must be
# the right answer), the daemon lives, and a second query (from the cache, or asked again)
# is safe too.
hostile() {
    local mode=$1 want=${2:-safe} name out server=$DECOY4
    n=$((n + 1))
    ((n % 2)) || server=$DECOY6
    name=$mode-$n-$$.Hostile.Test # mixed case: the daemon must match it case-insensitively
    out=$(dig_client "@$server" "$name" A)
    expect_safe "$mode" "$out"
    if [[ $want == right ]]; then
        expect_eq "$mode: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    fi
    check "$mode: daemon still running" lab_daemon_alive
    out=$(dig_client "@$server" "$name" A)
    expect_safe "$mode, asked again" "$out"
    last_name=$name
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "address $HOSTILE on up" lab_add_upstream_address "$HOSTILE" || finish
    lab_spawn up hostile python3 -u "$here/hostile_upstream.py" "$HOSTILE"
    check "hostile upstream listens" wait_until 5 grep -q '^listening' "$LAB_RUN/hostile.log" || finish
    LAB_DAEMON_UPSTREAMS=$HOSTILE
    check "daemon starts with the hostile upstream as its only one" lab_start_daemon \
        --timeout "$UPSTREAM_TIMEOUT" --servfail-ttl "$SERVFAIL_TTL" --log-level debug || finish
    local out mark name

    echo "# 1. a well-behaved answer, for comparison"
    hostile ok right
    # The client's ID must not leak upstream (RFC 5452 4: it is half of what a spoofer guesses).
    local client_id upstream_id
    client_id=$(sed -n 's/^;; ->>HEADER<<- .*, id: \([0-9]*\)$/\1/p' "$LAB_RUN/client.out" | head -n 1)
    upstream_id=$(grep -i "^query udp $last_name " "$LAB_RUN/hostile.log" | head -n 1 | sed 's/.* id=\(0x[0-9a-f]*\) .*/\1/')
    if [[ -n $client_id && -n $upstream_id ]] && ((client_id != upstream_id)); then
        t_pass "ok: the upstream query has its own ID ($upstream_id, client $client_id)"
    else
        t_fail "ok: the upstream query has its own ID" "client id ${client_id:-?}, upstream id ${upstream_id:-?}"
    fi
    expect_eq "ok: relayed with AA cleared and RA set" "$(dig_flags "$(dig_client "@$DECOY4" "ok-$$-flags.hostile.test" A)")" "qr rd ra"
    expect_eq "ok: asked again, the upstream saw it once" "$(upstream_saw "$last_name" udp)" 1

    echo "# 2. forged or broken replies and nothing else: SERVFAIL after the timeout"
    local mode
    for mode in wrongid wrongq wrongtype notreply garbage short countlie ptrloop trailing wrongport; do
        hostile "$mode"
    done

    echo "# 3. poison first, then the real answer: the real one wins"
    hostile spoof right
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "$last_name" A)
    expect_eq "spoof, third time: still the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_eq "spoof, third time: from the cache" "$(sources_since "$mark")" "source=cache "
    expect_eq "spoof: the upstream saw one query" "$(upstream_saw "$last_name" udp)" 1
    out=$(dig_client +tcp "@$DECOY6" "spoof-tcp-$$.hostile.test" A)
    expect_eq "spoof, client over TCP: the right answer" "$(dig_answers "$out" A)" "$CORRECT"

    echo "# 4. too large: a 4000-byte UDP reply"
    hostile oversize

    echo "# 5. TC=1, then TCP"
    hostile tc right
    expect_eq "tc: the daemon retried over TCP" "$(upstream_saw "$last_name" tcp)" 1
    hostile tcpartial right
    expect_eq "tcpartial: TC=1 with records is still retried over TCP" "$(upstream_saw "$last_name" tcp)" 1
    for mode in tcbig tcpoison tcgarbage tchalf; do
        hostile "$mode"
        expect_eq "$mode: the daemon retried over TCP" "$(upstream_saw "$last_name" tcp)" 1
    done
    # A TC=1 answer over TCP is as big as it gets; relaying it is fine, caching it is not.
    hostile tctc
    expect_between "tctc: a TC=1 answer is not cached (asked again over TCP)" "$(upstream_saw "$last_name" tcp)" 2 8

    echo "# 5b. the upstream changes the case of the question"
    hostile lowercase right
    out=$(dig_client "@$DECOY6" "UPPERCASE-$$.Hostile.Test" A)
    expect_eq "uppercase: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "uppercase: question echoed in the client's case" "$out" "^;UPPERCASE-$$\.Hostile\.Test\.[[:space:]]"

    echo "# 5c. the first copy of a query is lost: sent again, answered well inside the timeout"
    # The only upstream: without retransmission the daemon would wait its 1 s timeout and
    # answer SERVFAIL, after dig (+time=1) has given up.
    local start elapsed retransmits failures
    retransmits=$(stats_field answers.upstreamRetransmits)
    failures=$(stats_field upstreams.0.failures)
    name=dropfirst-$$.hostile.test
    start=$(date +%s.%N)
    out=$(lab_exec client dig +tries=1 +time=1 "@$DECOY4" "$name" A 2>&1)
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    expect_eq "dropfirst: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_le "dropfirst: after a retransmit timeout, not the 1 s timeout (took $elapsed s)" "$elapsed" 0.8
    expect_eq "dropfirst: the upstream saw the query twice, no more" "$(upstream_saw "$name" udp)" 2
    expect_eq "dropfirst: one retransmission counted" "$(($(stats_field answers.upstreamRetransmits) - retransmits))" 1
    expect_eq "dropfirst: no upstream failure counted" "$(($(stats_field upstreams.0.failures) - failures))" 0

    echo "# 6. SERVFAIL is cached; an SOA-less NXDOMAIN is not"
    hostile servfail
    expect_eq "servfail: the second query came from the cache" "$(upstream_saw "$last_name" udp)" 1
    out=$(dig_client "@$DECOY4" "nxnosoa-$$.hostile.test" A)
    expect_eq "nxnosoa: NXDOMAIN passes through" "$(dig_status "$out")" NXDOMAIN
    out=$(dig_client "@$DECOY4" "nxnosoa-$$.hostile.test" A)
    expect_eq "nxnosoa: again NXDOMAIN" "$(dig_status "$out")" NXDOMAIN
    expect_eq "nxnosoa: not cached, the upstream saw both" "$(upstream_saw "nxnosoa-$$.hostile.test" udp)" 2

    echo "# 7. the daemon's own RFC 2308 arithmetic: negative TTL = min(SOA TTL, SOA MINIMUM)"
    local nx mark2
    for nx in nxsoamin nxsoattl; do
        out=$(dig_client "@$DECOY4" "$nx-$$.hostile.test" A)
        expect_eq "$nx: NXDOMAIN" "$(dig_status "$out")" NXDOMAIN
    done
    local negative_start
    negative_start=$(date +%s.%N)
    for nx in nxsoamin nxsoattl; do
        out=$(dig_client "@$DECOY6" "$nx-$$.hostile.test" A)
        expect_eq "$nx, asked again: NXDOMAIN" "$(dig_status "$out")" NXDOMAIN
        expect_eq "$nx, asked again: from the cache" "$(upstream_saw "$nx-$$.hostile.test" udp)" 1
        expect_between "$nx, asked again: SOA TTL at most 3 (what the daemon keeps it for)" \
            "$(dig_ttl "$out" AUTHORITY SOA)" 0 3
    done
    sleep "$(awk -v s="$negative_start" -v n="$(date +%s.%N)" 'BEGIN { w = s + 3.5 - n; printf "%.2f", (w > 0 ? w : 0) }')"
    for nx in nxsoamin nxsoattl; do
        out=$(dig_client "@$DECOY4" "$nx-$$.hostile.test" A)
        expect_eq "$nx, after 3 s: NXDOMAIN" "$(dig_status "$out")" NXDOMAIN
        expect_eq "$nx, after 3 s: expired, asked upstream again" "$(upstream_saw "$nx-$$.hostile.test" udp)" 2
    done

    echo "# 8. what the daemon sends upstream: always EDNS 1232, DO as the client asked"
    out=$(dig_client +noedns "@$DECOY4" "ok-noedns-$$.hostile.test" A)
    expect_eq "client without EDNS: right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "client without EDNS: no OPT in the relayed answer" "$out" 'ADDITIONAL: 0$'
    expect_match "client without EDNS: upstream query has EDNS 1232, DO=0" \
        "$(grep "^query udp ok-noedns-$$.hostile.test " "$LAB_RUN/hostile.log")" ' edns=1232 do=0 '
    out=$(dig_client +dnssec "@$DECOY6" "ok-do-$$.hostile.test" A)
    expect_match "client with DO: OPT with DO comes back" "$out" '^; EDNS: version: 0, flags: do;'
    expect_match "client with DO: upstream query has EDNS 1232, DO=1" \
        "$(grep "^query udp ok-do-$$.hostile.test " "$LAB_RUN/hostile.log")" ' edns=1232 do=1 '
    out=$(dig_client "@$DECOY4" "noopt-$$.hostile.test" A)
    expect_eq "upstream answers without OPT: right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "upstream answers without OPT: the EDNS client still gets an OPT (RFC 6891 7)" \
        "$out" '^; EDNS: version: 0,'
    out=$(dig_client +dnssec "@$DECOY6" "nodo-$$.hostile.test" A)
    expect_eq "upstream drops DO: right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "upstream drops DO: the client's DO is still copied (RFC 3225 3)" \
        "$out" '^; EDNS: version: 0, flags: do;'
    out=$(dig_client +bufsize=4096 "@$DECOY4" "ok-size-$$.hostile.test" A)
    expect_match "client with EDNS 4096: upstream query still has EDNS 1232" \
        "$(grep "^query udp ok-size-$$.hostile.test " "$LAB_RUN/hostile.log")" ' edns=1232 do=0 '

    echo "# 9. after all that"
    expect_match "the daemon probed its upstream with '. NS' while it was down" \
        "$(cat "$LAB_RUN/hostile.log")" '^query udp \. 2 '
    hostile ok right
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0

    echo "# 10. hostile upstream0, knotd upstream1 (ordered): bad answers make the daemon move on"
    check "knotd answers on $LAB_UPSTREAM_V4" lab_start_upstream || finish
    LAB_DAEMON_UPSTREAMS="$HOSTILE $LAB_UPSTREAM_V4"
    check "daemon restarts with upstreams $HOSTILE then $LAB_UPSTREAM_V4, ordered, --min-ttl 4" lab_start_daemon \
        --upstream-policy ordered --timeout "$UPSTREAM_TIMEOUT" --min-ttl 4 --log-level debug || finish
    out=$(dig_client "@$DECOY4" "ttl1-$$.hostile.test" A)
    expect_eq "TTL 1 answer: right answer" "$(dig_answers "$out" A)" "$CORRECT"
    sleep 2
    out=$(dig_client "@$DECOY4" "ttl1-$$.hostile.test" A)
    expect_eq "TTL 1 answer after 2 s: still the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_eq "TTL 1 answer after 2 s: kept in the cache for --min-ttl 4" "$(upstream_saw "ttl1-$$.hostile.test" udp)" 1
    for mode in servfail refused wrongid; do
        name=$mode-$$.wild.example.test
        mark2=$(lab_daemon_log_lines)
        start=$(date +%s.%N)
        out=$(dig_client "@$DECOY4" "$name" A)
        elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
        expect_eq "$mode from upstream0: upstream1's answer" "$(dig_answers "$out" A)" 198.51.100.99
        expect_eq "$mode from upstream0: by upstream1" "$(sources_since "$mark2")" "source=upstream1 "
        if [[ $mode == wrongid ]]; then
            # Its replies are not taken: no reply, as far as the daemon knows, so sent again:
            # at the retransmit timeout r and at 3r, while before the 1 s timeout (r is 200 ms
            # on a quiet machine; a slow one's RTT samples can push 3r past the timeout).
            expect_between "$mode from upstream0: upstream0 was asked first, 2 or 3 copies" "$(upstream_saw "$name" udp)" 2 3
            expect_le "$mode from upstream0: after upstream0's timeout (took $elapsed s)" "$elapsed" $((UPSTREAM_TIMEOUT + 1))
        else
            expect_eq "$mode from upstream0: upstream0 was asked first" "$(upstream_saw "$name" udp)" 1
            expect_le "$mode from upstream0: at once, no timeout (took $elapsed s)" "$elapsed" 0.5
        fi
    done
    expect_eq "no client ever saw $POISON" "$(grep -c "$POISON" "$LAB_RUN/client.out")" 0
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    lab_spawn_stop hostile
    finish
}

lab_main main
