#!/usr/bin/env bash
# DNS 0x20 end to end, as root: the daemon's upstream is Tests/Lab/case_upstream.py, which
# logs every name exactly as it arrives. Upstream queries must carry mixed case; answers must
# echo the client's own case; a reply with our ID but the wrong case (a forger who guessed the
# ID) must be rejected and the question asked again over TCP; a burst of forged replies on one
# socket retires it (new port) and moves its query to TCP; an upstream that lower-cases every
# question gets 0x20 turned off (one log line) and is still answered.
#
#   sudo Tests/Lab/case_randomization_test.sh   (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
PRESERVING=198.51.100.68
LOWERING=198.51.100.69
CORRECT=198.51.100.77
POISON=192.0.2.66

dig_client() { lab_exec client dig +tries=1 +time=4 "$@" 2>&1 | tee -a "$LAB_RUN/client.out"; }
# Lines the upstream NAME logged for queries of TRANSPORT whose name is NAME (case-insensitive).
upstream_lines() { grep -i "^query $2 $3 " "$LAB_RUN/$1.log"; }
# The names as the upstream received them over UDP, one a line.
upstream_names() { upstream_lines "$1" udp "$2" | awk '{ print $3 }'; }
upstream_json() { # PYTHON-EXPRESSION over the stats as `s`
    cli cache stats --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    BIN=$(lab_daemon_bin)
    check "addresses $PRESERVING and $LOWERING on up" \
        eval "lab_add_upstream_address $PRESERVING && lab_add_upstream_address $LOWERING" || finish
    lab_spawn up preserving python3 -u "$here/case_upstream.py" "$PRESERVING"
    lab_spawn up lowering python3 -u "$here/case_upstream.py" "$LOWERING" --lowercase
    check "the upstreams listen" wait_until 5 eval "grep -q '^listening' '$LAB_RUN/preserving.log' && grep -q '^listening' '$LAB_RUN/lowering.log'" || finish
    LAB_DAEMON_UPSTREAMS=$PRESERVING
    check "daemon starts (0x20 on by default)" lab_start_daemon --timeout 2 --log-level debug || finish
    local out name names mixed=0 i

    echo "# 1. upstream queries carry mixed case; answers echo the client's"
    for i in 1 2 3 4 5; do
        name=mixedcaseprobe-$i-$$.example.test
        out=$(dig_client "@$DECOY4" "$name" A)
        expect_eq "$name: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
        names=$(upstream_names preserving "$name")
        [[ $names =~ [a-z] && $names =~ [A-Z] ]] && mixed=$((mixed + 1))
    done
    t_note "as the upstream saw them: $(upstream_names preserving "mixedcaseprobe-[0-9]-$$.example.test" | tr '\n' ' ')"
    expect_eq "all 5 upstream queries were in mixed case (the client asked in lower case)" "$mixed" 5
    out=$(dig_client "@$DECOY4" "WwW.ExAmPlE-$$.test" A)
    expect_eq "WwW.ExAmPlE: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "WwW.ExAmPlE: question echoed in the client's case" "$out" "^;WwW\.ExAmPlE-$$\.test\.[[:space:]]"
    expect_match "WwW.ExAmPlE: answer owner in the client's case" "$out" "^WwW\.ExAmPlE-$$\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$CORRECT"
    t_note "upstream saw: $(upstream_names preserving "WwW.ExAmPlE-$$.test")"
    out=$(dig_client "@$DECOY4" "wWw.eXaMpLe-$$.TEST" A)
    expect_match "from the cache, another spelling: echoed as asked" "$out" "^wWw\.eXaMpLe-$$\.TEST\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A"
    expect_eq "the upstream was asked once for both spellings" "$(upstream_lines preserving udp "WwW.ExAmPlE-$$.test" | wc -l)" 1

    echo "# 2. our ID, the wrong case, poison: rejected, asked again over TCP"
    local mark
    mark=$(lab_daemon_log_lines)
    out=$(dig_client "@$DECOY4" "forge-$$.example.test" A)
    expect_eq "forge: the right answer, not the poison" "$(dig_answers "$out" A)" "$CORRECT"
    expect_eq "forge: asked again over TCP" "$(upstream_lines preserving tcp "forge-$$.example.test" | wc -l)" 1
    expect_match "forge: the daemon logged the mismatch" "$(lab_daemon_log_since "$mark")" "upstream reply in another letter case"
    expect_eq "forge: counted" "$(upstream_json 's["answers"].get("caseMismatches")')" 1

    echo "# 3. a burst of forged replies on one socket: retired, the query goes over TCP"
    local start elapsed flooded_port
    mark=$(lab_daemon_log_lines)
    start=$(date +%s.%N)
    out=$(dig_client "@$DECOY4" "flood-$$.example.test" A)
    elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    expect_eq "flood: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    expect_le "flood: at once, not after the 2 s timeout (took $elapsed s)" "$elapsed" 1
    expect_eq "flood: asked again over TCP" "$(upstream_lines preserving tcp "flood-$$.example.test" | wc -l)" 1
    expect_match "flood: socket retired (log)" \
        "$(lab_daemon_log_since "$mark" | grep 'forged replies flood an upstream socket')" "upstream.address=$PRESERVING:53"
    expect_eq "flood: sockets retired for forgery" "$(upstream_json 's["transport"].get("upstreamSocketsRetiredForForgery")')" 1
    grep -q "$POISON" "$LAB_RUN/client.out" && t_fail "no client ever saw $POISON" || t_pass "no client ever saw $POISON"
    flooded_port=$(upstream_lines preserving udp "flood-$$.example.test" | sed 's/.*#//')
    for i in $(seq 1 20); do dig_client "@$DECOY4" "after-flood-$i-$$.example.test" A >/dev/null; done
    expect_eq "the flooded port ($flooded_port) is not used again (20 queries over every pooled socket)" \
        "$(upstream_lines preserving udp "after-flood-[0-9]*-$$.example.test" | grep -c "#$flooded_port\$")" 0
    expect_match "cache stats shows it" "$(cli cache stats)" "sockets retired \(forged\) +1"
    lab_stop_daemon 2>/dev/null

    echo "# 4. an upstream that lower-cases questions: detected, 0x20 off for it, still answered"
    LAB_DAEMON_UPSTREAMS=$LOWERING
    check "daemon starts with the lower-casing upstream" lab_start_daemon --timeout 2 --log-level debug || finish
    mark=$(lab_daemon_log_lines)
    for i in 1 2 3 4; do
        out=$(dig_client "@$DECOY4" "lowering-$i-$$.example.test" A)
        expect_eq "lowering $i: the right answer" "$(dig_answers "$out" A)" "$CORRECT"
    done
    expect_eq "one log line turns 0x20 off, naming the upstream" \
        "$(lab_daemon_log_since "$mark" | grep 'DNS 0x20 off for it' | grep -c "upstream.address=$LOWERING:53")" 1
    expect_eq "stats: 0x20 off for it" "$(upstream_json 's["upstreams"][0].get("caseRandomization")')" False
    expect_eq "the first 3 went over TCP after a wrong-case UDP reply" \
        "$(upstream_lines lowering tcp "lowering-[123]-$$.example.test" | wc -l)" 3
    expect_eq "the 4th: UDP only, in the client's spelling" \
        "$(upstream_lines lowering tcp "lowering-4-$$.example.test" | wc -l) $(upstream_names lowering "lowering-4-$$.example.test")" \
        "0 lowering-4-$$.example.test"
    out=$(dig_client "@$DECOY4" "Lowering-Mixed-$$.example.test" A)
    expect_eq "a mixed-case client after that: answered over UDP" "$(dig_answers "$out" A)" "$CORRECT"
    expect_match "... in its own case" "$out" "^;Lowering-Mixed-$$\.example\.test\.[[:space:]]"
    expect_eq "... and without TCP" "$(upstream_lines lowering tcp "Lowering-Mixed-$$.example.test" | wc -l)" 0

    echo "# 5. --no-case-randomization: the client's spelling goes upstream"
    lab_stop_daemon 2>/dev/null
    LAB_DAEMON_UPSTREAMS=$PRESERVING
    check "daemon starts with --no-case-randomization" lab_start_daemon --no-case-randomization || finish
    dig_client "@$DECOY4" "plainspelling-$$.example.test" A >/dev/null
    expect_eq "sent as asked" "$(upstream_names preserving "plainspelling-$$.example.test")" "plainspelling-$$.example.test"
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    lab_spawn_stop preserving
    lab_spawn_stop lowering
    finish
}

lab_main main
