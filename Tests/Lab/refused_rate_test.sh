#!/usr/bin/env bash
# REFUSED replies to clients outside --allow are capped, as root: ten client-side addresses
# left out of --allow (stand-ins for spoofed sources: the daemon cannot tell them apart)
# send 2,000 queries a second for 3 s. Each REFUSED reply is one a spoofer could aim at a
# victim; at most --refused-rate of them a second may leave (after a burst of one second's
# worth, the first second of a flood), the rest
# are dropped and counted, with or without --rate-limit. The client inside --allow is still
# answered meanwhile.
#
#   sudo Tests/Lab/refused_rate_test.sh     (TPROXY_DNS_BIN=..., KEEP_LAB=1 as for e2e_test.sh)
set -u

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/lib/lab.sh
source "$here/../../scripts/lib/lab.sh"

DECOY4=$LAB_DECOY_V4
RATE=2000
SECONDS_OF_FLOOD=3
OUTSIDERS=()
for i in $(seq 200 209); do OUTSIDERS+=("192.0.2.$i"); done

# flood CAP [MIN]: runs the flood against the running daemon and checks the replies against
# CAP; at least MIN (default CAP a second but the first) must still be sent.
flood() {
    local cap=$1 burst=$1 out first steady total minimum=${2:-$(($1 * (SECONDS_OF_FLOOD - 1)))}
    out=$(lab_exec client python3 "$here/refused_flood.py" "$DECOY4" "$RATE" "$SECONDS_OF_FLOOD" "${OUTSIDERS[@]}")
    t_note "$out"
    total=$(awk '{ print $4 }' <<<"$out")
    first=$(awk '{ print $6 }' <<<"$out")
    steady=$(awk '{ m = 0; for (i = 7; i < 6 + '"$SECONDS_OF_FLOOD"'; i++) if ($i > m) m = $i; print m }' <<<"$out")
    expect_le "--refused-rate $cap: first second at most $cap + burst $burst REFUSED replies ($first)" "$first" $((cap + burst))
    # The client's seconds are not the daemon's: a refill landing across the boundary shows
    # as one reply more in one second and one less in the next (per event loop).
    expect_le "--refused-rate $cap: then at most $cap a second (max $steady)" "$steady" $((cap + 2))
    expect_le "--refused-rate $cap: at most $((cap * SECONDS_OF_FLOOD + burst)) in the ${SECONDS_OF_FLOOD} s ($total)" \
        "$total" $((cap * SECONDS_OF_FLOOD + burst))
    expect_between "--refused-rate $cap: the cap is used, not silence ($total)" "$total" "$minimum" 999999
    local dropped
    dropped=$(stats_field admission.refusedDropped)
    expect_between "dropped replies counted ($dropped)" "$dropped" $((RATE * SECONDS_OF_FLOOD - cap * SECONDS_OF_FLOOD - burst - 200)) $((RATE * SECONDS_OF_FLOOD))
}

main() {
    echo "# setup"
    check "lab up" lab_up || finish
    check "knotd answers on the upstream" lab_start_upstream || finish
    BIN=$(lab_daemon_bin)
    local address
    for address in "${OUTSIDERS[@]}"; do
        lab_exec client ip addr add "$address/32" dev eth0 || t_fail "address $address on client"
    done
    local allow=(--allow "$LAB_CLIENT_V4/32" --allow 2001:db8:1::/64)

    echo "# 1. default cap (100/s), no --rate-limit"
    check "daemon starts, ${OUTSIDERS[0]}-${OUTSIDERS[9]##*.} outside --allow" lab_start_daemon "${allow[@]}" || finish
    local out
    out=$(lab_exec client dig +tries=1 +time=2 -b "${OUTSIDERS[0]}" "@$DECOY4" www.example.test A)
    expect_eq "an outsider is refused" "$(dig_status "$out")" REFUSED
    flood 100
    out=$(lab_exec client dig +tries=1 +time=2 "@$DECOY4" www.example.test A)
    expect_eq "the client inside --allow is answered" "$(dig_status "$out")" NOERROR
    expect_match "cache stats shows the drops" "$(cli cache stats)" "refusals over cap +[0-9]+"
    lab_stop_daemon 2>/dev/null

    echo "# 2. --refused-rate 20 with --rate-limit 50: the cap holds either way"
    check "daemon starts with --refused-rate 20 --rate-limit 50" \
        lab_start_daemon "${allow[@]}" --refused-rate 20 --rate-limit 50 || finish
    flood 20
    check "daemon still running" lab_daemon_alive
    lab_stop_daemon 2>/dev/null
    expect_eq "daemon exits with status 0 on SIGTERM" "$LAB_DAEMON_EXIT_STATUS" 0

    echo "# 3. --workers 2: each loop refuses half the cap, the daemon as a whole stays under it"
    check "daemon starts with --workers 2" lab_start_daemon "${allow[@]}" --workers 2 || finish
    # The kernel spreads the ten sources over the loops by hash: at least one loop's share is used.
    flood 100 100
    lab_stop_daemon 2>/dev/null
    finish
}

lab_main main
