#!/usr/bin/env bash
# EDNS sizes, truncation and DNS over TCP, end to end, as root: oversized answers come back
# over UDP as TC=1 with the question, dig's TCP retry gets the whole RRset from the decoy's
# address, the reply limit follows the client's EDNS size (512 without EDNS); the daemon's
# TCP side answers 49 of 50 concurrent clients while one idles, closes the idle one after
# --tcp-idle-timeout (a stalled message after --tcp-message-timeout), answers pipelined
# queries, and when --tcp-max-connections are open evicts the oldest idle one for a newcomer.
# The lab's one client address stands for many clients here, so --tcp-max-per-client is raised
# (tcp_slowloris_test.sh checks it).
#
#   sudo Tests/Lab/truncation_tcp_test.sh   (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
DECOY6=$LAB_DECOY_V6
IDLE_TIMEOUT=3 # --tcp-idle-timeout
MAX_CONNECTIONS=5
PER_CLIENT=(--tcp-max-per-client 64)

dig_client() { lab_exec client dig +tries=1 +time=3 "$@" 2>&1; }
tcp_clients() { lab_exec client timeout 30 python3 "$here/tcp_dns_clients.py" "$@" 2>&1; }

# The 8 TXT strings of big.example.test, as dig prints them, sorted.
big_rrset() {
    local i letters=(a b c d e f g h) fill
    for i in 0 1 2 3 4 5 6 7; do
        fill=$(printf "%$((200 - 6))s" '' | tr ' ' "${letters[$i]}")
        printf '"big-%d-%s"\n' "$i" "$fill"
    done
}

# expect_truncated LABEL OUT LIMIT: TC=1, the question, no records (but OPT), at most LIMIT
# bytes.
expect_truncated() {
    local label=$1 out=$2 limit=$3 qname
    qname=$(sed -n 's/^; <<>> DiG .* \([a-z]*\.example\.test\) TXT$/\1/p' <<<"$out" | sed 's/\./\\./g')
    expect_match "$label: TC=1" "$(dig_flags "$out")" '(^| )tc( |$)'
    expect_match "$label: no records" "$out" '; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: [01]$'
    expect_match "$label: the question" "$out" "^;$qname\.[[:space:]]+IN[[:space:]]+TXT$"
    expect_le "$label: at most $limit bytes ($(dig_msg_size "$out"))" "$(dig_msg_size "$out")" "$limit"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    check "daemon starts" lab_start_daemon --timeout 1 --log-level debug --tcp-idle-timeout "$IDLE_TIMEOUT" \
        "${PER_CLIENT[@]}" || finish
    check "count queries reaching the upstream" lab_count_upstream_queries || finish
    local out

    echo "# 1. an answer larger than 1232 bytes: TC over UDP, whole over TCP"
    out=$(dig_client +ignore "@$DECOY4" big.example.test TXT)
    expect_eq "big, UDP: status" "$(dig_status "$out")" NOERROR
    expect_truncated "big, UDP (EDNS 1232)" "$out" 1232
    expect_match "big, UDP: OPT kept (the client sent EDNS)" "$out" '^; EDNS: version: 0,'
    expect_match "big, UDP: from the decoy's address" "$(dig_server "$out")" "^$DECOY4#53\(.*\(UDP\)$"
    expect_eq "big: the upstream's TC made the daemon retry over TCP (1 connection)" \
        "$(lab_upstream_tcp_connections)" 1
    out=$(dig_client "@$DECOY4" big.example.test TXT)
    expect_match "big, dig's TCP retry: served over TCP from the decoy's address" "$(dig_server "$out")" \
        "^$DECOY4#53\($DECOY4\) \(TCP\)$"
    expect_eq "big, TCP: all 8 records, intact" "$(dig_answers "$out" TXT | sort)" "$(big_rrset)"
    expect_between "big, TCP: the whole answer (MSG SIZE $(dig_msg_size "$out"))" "$(dig_msg_size "$out")" 1700 1800
    out=$(dig_client +tcp "@$DECOY6" big.example.test TXT)
    expect_match "big, +tcp over IPv6: from the decoy's address" "$(dig_server "$out")" \
        "^$DECOY6#53\($DECOY6\) \(TCP\)$"
    expect_eq "big, +tcp over IPv6: all 8 records" "$(dig_answers "$out" TXT | sort)" "$(big_rrset)"
    out=$(dig_client +ignore +bufsize=4096 "@$DECOY6" big.example.test TXT)
    expect_truncated "big, UDP asking for 4096: capped by --max-udp-size 1232" "$out" 1232
    out=$(dig_client +ignore +noedns "@$DECOY4" big.example.test TXT)
    expect_truncated "big, UDP without EDNS" "$out" 512
    expect_match "big, UDP without EDNS: no OPT" "$out" 'ADDITIONAL: 0$'
    expect_eq "big: later queries came from the cache (still 1 upstream TCP connection)" \
        "$(lab_upstream_tcp_connections)" 1

    echo "# 2. a medium answer (about 700 bytes): the client's EDNS size decides"
    out=$(dig_client +ignore "@$DECOY4" medium.example.test TXT)
    expect_eq "medium, EDNS 1232: not truncated" "$(dig_flags "$out")" "qr rd ra"
    expect_eq "medium, EDNS 1232: 3 records" "$(dig_answers "$out" TXT | wc -l)" 3
    expect_between "medium, EDNS 1232: between 512 and 1232 bytes ($(dig_msg_size "$out"))" \
        "$(dig_msg_size "$out")" 513 1232
    out=$(dig_client +ignore +bufsize=512 "@$DECOY6" medium.example.test TXT)
    expect_truncated "medium, EDNS 512" "$out" 512
    expect_match "medium, EDNS 512: OPT kept" "$out" '^; EDNS: version: 0,'
    out=$(dig_client +ignore +noedns "@$DECOY4" medium.example.test TXT)
    expect_truncated "medium, no EDNS (512)" "$out" 512
    expect_match "medium, no EDNS: no OPT" "$out" 'ADDITIONAL: 0$'
    out=$(dig_client +ignore +bufsize=300 "@$DECOY4" medium.example.test TXT)
    expect_truncated "medium, EDNS 300 (below 512 counts as 512)" "$out" 512
    out=$(dig_client +noedns "@$DECOY4" medium.example.test TXT)
    expect_eq "medium, no EDNS, dig's TCP retry: 3 records" "$(dig_answers "$out" TXT | wc -l)" 3
    expect_match "medium, no EDNS, dig's TCP retry: over TCP" "$(dig_server "$out")" '\(TCP\)$'

    echo "# 3. 50 concurrent TCP clients, one silent"
    out=$(tcp_clients "$DECOY4" concurrent --clients 50 --idle silent --idle-wait $((IDLE_TIMEOUT + 5)))
    t_note "$out"
    expect_match "silent: the other 49 answered" "$out" '^answered 49 of 49$'
    expect_match "silent: closed by the daemon" "$out" '^idle connection \(silent\) closed by the server after'
    expect_between "silent: closed after --tcp-idle-timeout $IDLE_TIMEOUT s (±1)" \
        "$(sed -n 's/^idle connection .* after \([0-9.]*\) s.*/\1/p' <<<"$out")" $((IDLE_TIMEOUT - 1)) $((IDLE_TIMEOUT + 1))
    check "daemon still running" lab_daemon_alive

    echo "# 4. 50 concurrent TCP clients over IPv6, one stuck after half a length prefix"
    out=$(tcp_clients "$DECOY6" concurrent --clients 50 --idle half --idle-wait $((IDLE_TIMEOUT + 5)))
    t_note "$out"
    expect_match "half prefix: the other 49 answered" "$out" '^answered 49 of 49$'
    expect_match "half prefix: closed by the daemon" "$out" '^idle connection \(half\) closed by the server after'
    expect_between "half prefix: closed by the 2 s --tcp-message-timeout (the sweep runs each second)" \
        "$(sed -n 's/^idle connection .* after \([0-9.]*\) s.*/\1/p' <<<"$out")" 1.9 3.2

    echo "# 5. pipelining: 3 queries in one write, 3 answers"
    out=$(tcp_clients "$DECOY4" pipeline --count 3)
    t_note "$out"
    expect_match "pipelined over IPv4: 3 answers with matching ids" "$out" '^pipelined: 3 sent, 3 answered, ids match$'
    out=$(tcp_clients "$DECOY6" pipeline --count 3)
    expect_match "pipelined over IPv6: 3 answers with matching ids" "$out" '^pipelined: 3 sent, 3 answered, ids match$'

    echo "# 6. a client that pipelines 1500 queries for big answers (2.6 MB) and reads nothing"
    out=$(tcp_clients "$DECOY4" slowreader --queries 1500 --hold 2)
    t_note "$out"
    expect_match "slow reader: another client is answered meanwhile, within 1 s" "$out" \
        '^other client: answered in 0\.[0-9]+ s$'
    # Closed with the client's pipelined queries still unread, the kernel may send RST, not FIN:
    # either way the daemon hung up.
    expect_match "slow reader: closed by the daemon rather than buffered without bound" "$out" \
        '^slow reader: read [0-9]+ answers, then (EOF|ConnectionResetError: .*)$'
    check "slow reader: daemon still running" lab_daemon_alive
    out=$(dig_client "@$DECOY6" example.test A)
    expect_eq "slow reader: UDP still answered afterwards" "$(dig_answers "$out" A)" 198.51.100.80

    echo "# 7. malformed frames over TCP"
    out=$(tcp_clients "$DECOY6" malformed)
    t_note "$out"
    local case
    for case in empty short response random; do
        # Closing the connection or answering the next query are both fine; hanging is not.
        expect_match "malformed $case frame: connection closed or the next query answered" "$out" \
            "^malformed $case: (connection closed|then the good query answered)$"
    done
    expect_match "malformed frames: a fresh connection is answered" "$out" '^fresh connection: answered$'
    check "malformed frames: daemon still running" lab_daemon_alive

    echo "# 8. --tcp-max-connections $MAX_CONNECTIONS"
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    check "daemon restarts with --tcp-max-connections $MAX_CONNECTIONS" lab_start_daemon --timeout 1 \
        --log-level debug --tcp-idle-timeout "$IDLE_TIMEOUT" --tcp-max-connections "$MAX_CONNECTIONS" \
        "${PER_CLIENT[@]}" || finish
    out=$(tcp_clients "$DECOY4" limit --hold "$MAX_CONNECTIONS")
    t_note "$out"
    expect_match "connection $((MAX_CONNECTIONS + 1)) is answered: the oldest idle one is evicted for it" "$out" \
        '^over the limit: answered$'
    expect_match "after the others close, a new connection is answered" "$out" '^after releasing: answered$'

    echo "# teardown"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    finish
}

lab_main main
