#!/usr/bin/env bash
# Routing policy, end to end, as root (issue 17). Three servers answer the same names
# differently, so every answer says where its query went:
#   knotd         198.51.100.53  the default --upstream (*.wild.example.test: 198.51.100.99)
#   fixed server  198.51.100.54  forward-zone corp.test and route 203.0.113.60 (198.51.100.154)
#   fixed server  203.0.113.53   on the decoy: the server a passthrough client targets (203.0.113.153)
# The daemon reads its policy from a config file with [[forward-zone]], [[route]] and [block]
# tables; SIGHUP re-reads it (block answer kinds, a changed block list, canaries on and off).
#
#   sudo Tests/Lab/policy_test.sh     (TPROXY_DNS_BIN=..., LAB_ID=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

SECOND=198.51.100.54
SECOND_ANSWER=198.51.100.154
PASSTHROUGH=$LAB_DECOY_V4 # 203.0.113.53
PASSTHROUGH_ANSWER=203.0.113.153
ROUTED=203.0.113.60
REFUSING=203.0.113.99
DEFAULT_TARGET=203.0.113.70
KNOT_WILDCARD=198.51.100.99

dig_to() { local server=$1; shift; lab_exec client dig +tries=1 +time=3 "@$server" "$@" 2>&1; }
answer_of() { dig_answers "$(dig_to "$@")" "${3:-A}"; }
status_of() { dig_status "$(dig_to "$@")"; }
# The fixed servers log names as received: in DNS 0x20's random case, so they are grepped with -i.
# The query log's last line for NAME: from=... rule=...
logged() { grep " name=$1\. " "$LAB_RUN/query.log" | tail -n 1 | grep -o 'from=[^ ]*\|rule=.*' | tr '\n' ' '; }

# write_config ANSWER CANARIES: the policy file the daemon (re)reads.
write_config() {
    cat >"$LAB_RUN/policy.toml" <<TOML
allow = ["192.0.2.0/24", "2001:db8:1::/64"]
query-log = "$LAB_RUN/query.log"

[[forward-zone]]
zone = "corp.test"
upstreams = ["$SECOND"]

[[route]]
destination = "$PASSTHROUGH/32"
action = "passthrough"

[[route]]
destination = "$ROUTED/32"
action = "upstream"
upstreams = ["$SECOND"]

[[route]]
destination = "$REFUSING/32"
action = "refuse"

# Only for a client that is not ours: our client's queries to it take the default.
[[route]]
destination = "$DEFAULT_TARGET/32"
action = "refuse"
clients = ["192.0.2.200/32"]

[block]
lists = ["$LAB_RUN/block.hosts"]
answer = "$1"
bypass-canaries = $2
TOML
}

connects_853() { lab_exec client timeout 2 bash -c "exec 3<>/dev/tcp/$PASSTHROUGH/853" 2>/dev/null; }
# dig +short prints its errors too: only an address counts.
answers_on() { lab_exec "$1" dig +short +tries=1 +time=1 "@$2" probe.test 2>/dev/null | grep -Eqx '[0-9.]+'; }

policy_decisions() {
    cli cache stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["decisions"].get(sys.argv[1], 0))' "$1"
}

main() {
    echo "# setup"
    BIN=$(lab_daemon_bin)
    check "lab up" lab_up || finish
    check "knotd (default upstream) answers on $LAB_UPSTREAM_V4" lab_start_upstream || finish
    check "second address on up" lab_add_upstream_address "$SECOND" || finish
    lab_spawn up second python3 "$here/fixed_upstream.py" "$SECOND" "$SECOND_ANSWER"
    lab_spawn decoy passthrough python3 "$here/fixed_upstream.py" "$PASSTHROUGH" "$PASSTHROUGH_ANSWER"
    check "second server answers on $SECOND" wait_until 10 answers_on up "$SECOND"
    check "passthrough server answers on $PASSTHROUGH" wait_until 10 answers_on decoy "$PASSTHROUGH"
    printf '# hosts-file block list\n0.0.0.0 ads.test\nthis line is broken\nTracker.Test\n' >"$LAB_RUN/block.hosts"
    write_config nxdomain true
    LAB_DAEMON_UPSTREAMS=$LAB_UPSTREAM_V4
    check "daemon starts with the policy file" lab_start_daemon --config "$LAB_RUN/policy.toml" || finish
    expect_match "a broken block-list line is reported as FILE:LINE" \
        "$(grep -c "block.hosts:3: expected" "$LAB_RUN/daemon.log")" '^[1-9]'

    echo "# forward zone"
    expect_eq "host.corp.test goes to the zone's upstream" "$(answer_of "$DEFAULT_TARGET" host.corp.test)" "$SECOND_ANSWER"
    expect_eq "query log names the zone rule" "$(logged host.corp.test)" "from=upstream:$SECOND:53 rule=zone:corp.test. "
    expect_eq "notcorp.test is not in the zone: knotd's REFUSED" "$(status_of "$DEFAULT_TARGET" www.notcorp.test)" REFUSED
    expect_eq "the zone's upstream never heard notcorp.test" "$(grep -ci "query www.notcorp.test" "$LAB_RUN/second.log")" 0

    echo "# routes by the targeted server, and cache isolation"
    local name=x.wild.example.test round
    for round in first second; do
        expect_eq "$round: default target $DEFAULT_TARGET: knotd's answer" "$(answer_of "$DEFAULT_TARGET" $name)" "$KNOT_WILDCARD"
        expect_eq "$round: target $ROUTED: the route's upstream" "$(answer_of "$ROUTED" $name)" "$SECOND_ANSWER"
        expect_eq "$round: target $PASSTHROUGH: passthrough to the server on it" "$(answer_of "$PASSTHROUGH" $name)" "$PASSTHROUGH_ANSWER"
    done
    expect_eq "the passthrough server heard one query (the second was a cache hit)" \
        "$(grep -ci "query $name from" "$LAB_RUN/passthrough.log")" 1
    expect_eq "second round from the cache, rule logged" "$(logged $name)" "from=cache rule=route:$PASSTHROUGH/32 "
    expect_eq "refuse route: REFUSED" "$(status_of "$REFUSING" www.example.test)" REFUSED

    echo "# block list, bypass canaries"
    expect_eq "ads.test: NXDOMAIN" "$(status_of "$DEFAULT_TARGET" ads.test)" NXDOMAIN
    expect_eq "sub.tracker.test (listed in capitals, subdomain): NXDOMAIN" "$(status_of "$DEFAULT_TARGET" sub.tracker.test)" NXDOMAIN
    expect_eq "canary use-application-dns.net: NXDOMAIN" "$(status_of "$DEFAULT_TARGET" use-application-dns.net)" NXDOMAIN
    expect_eq "canary mask.icloud.com: NXDOMAIN" "$(status_of "$PASSTHROUGH" mask.icloud.com)" NXDOMAIN
    expect_eq "canary answered by the daemon, not the passthrough server" "$(grep -ci "query mask.icloud.com" "$LAB_RUN/passthrough.log")" 0
    expect_eq "metrics: block-list rule counted" "$(policy_decisions block-list)" 2

    echo "# SIGHUP: answer null, a changed list, canaries off"
    printf 'ads.test\nnew.test\n' >"$LAB_RUN/block.hosts"
    write_config null false
    check "reloaded" reload_daemon
    expect_eq "null: ads.test A 0.0.0.0" "$(answer_of "$DEFAULT_TARGET" ads.test)" 0.0.0.0
    expect_eq "null: ads.test AAAA ::" "$(answer_of "$DEFAULT_TARGET" ads.test AAAA)" ::
    expect_eq "null: ads.test MX NODATA" "$(status_of "$DEFAULT_TARGET" ads.test MX)/$(answer_of "$DEFAULT_TARGET" ads.test MX)" "NOERROR/"
    expect_eq "reloaded list: new.test blocked" "$(answer_of "$DEFAULT_TARGET" new.test)" 0.0.0.0
    expect_eq "reloaded list: tracker.test no longer blocked (knotd's REFUSED)" "$(status_of "$DEFAULT_TARGET" tracker.test)" REFUSED
    dig_to "$PASSTHROUGH" use-application-dns.net >/dev/null
    expect_eq "canaries off: forwarded (passthrough server asked)" \
        "$(grep -ci "query use-application-dns.net" "$LAB_RUN/passthrough.log")" 1
    write_config refused true
    check "reloaded again" reload_daemon
    expect_eq "refused: ads.test REFUSED" "$(status_of "$DEFAULT_TARGET" ads.test)" REFUSED
    expect_eq "canaries on again: NXDOMAIN" "$(status_of "$DEFAULT_TARGET" mask-h2.icloud.com)" NXDOMAIN

    echo "# policy explain"
    local explained
    explained=$(lab_exec gw "$BIN" policy explain --config "$LAB_RUN/policy.toml" --upstream "$LAB_UPSTREAM_V4" \
        --client "$LAB_CLIENT_V4" --target "$PASSTHROUGH" $name 2>&1)
    expect_match "explain: passthrough route" "$explained" "rule: +route:$PASSTHROUGH/32"
    expect_match "explain: where it goes" "$explained" "passthrough to the targeted server $PASSTHROUGH port 53"
    explained=$(lab_exec gw "$BIN" policy explain --config "$LAB_RUN/policy.toml" --upstream "$LAB_UPSTREAM_V4" \
        --client "$LAB_CLIENT_V4" --target "$DEFAULT_TARGET" a.corp.test 2>&1)
    expect_match "explain: forward zone" "$explained" "upstreams $SECOND:53"

    echo "# rules --block-dot"
    lab_spawn decoy dot python3 -m http.server 853 --bind "$PASSTHROUGH"
    check "a TCP service on $PASSTHROUGH:853 (stands in for DoT)" wait_until 5 connects_853
    lab_exec gw "$BIN" rules --lan-interface gw-client --port "$DAEMON_PORT" --block-dot --apply >/dev/null 2>&1
    expect_match "the installed table rejects port 853" "$(lab_exec gw nft list table inet tproxy_dns 2>&1)" "tcp dport 853 counter packets [0-9]+ bytes [0-9]+ reject with tcp reset"
    local started elapsed
    started=$(date +%s.%N)
    if connects_853; then t_fail "DoT from the LAN rejected" "connected"; else t_pass "DoT from the LAN rejected"; fi
    elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    expect_le "rejected at once, not dropped (took $elapsed s)" "$elapsed" 1
    lab_exec gw "$BIN" rules --remove >/dev/null 2>&1
    check "after rules --remove, port 853 reachable again" connects_853
    lab_spawn_stop dot

    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0
    lab_spawn_stop second
    lab_spawn_stop passthrough
    finish
}

lab_main main
