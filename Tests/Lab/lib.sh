# shellcheck shell=bash
# Sourced by Tests/Lab/*_test.sh: a small check counter and dig output readers.
#
#   check NAME CMD...             passes when CMD exits 0 (its output is shown on failure);
#                                 runs in this shell, so CMD may start background jobs
#   expect_eq NAME ACTUAL WANT    passes when the strings are equal
#   expect_match NAME TEXT ERE    passes when a line of TEXT matches the extended regex
#   expect_le NAME ACTUAL LIMIT   passes when the number ACTUAL <= LIMIT (decimals allowed)
#   t_pass NAME / t_fail NAME [DETAIL...]
#   t_summary                     prints "lab: N passed, M failed"; returns 1 if M > 0
#   finish                        the usual end of a lab test: the daemon log's tail if
#                                 anything failed, lab_down, the summary, exit (tests that
#                                 need more define their own after sourcing this file)
#   t_note TEXT                   prints TEXT indented under the check lines
#
#   dig_status OUT                NOERROR, NXDOMAIN, ... from dig's header line
#   dig_answers OUT TYPE          RDATA of the answer section's TYPE records, one a line
#   dig_server OUT                what follows ";; SERVER: ", e.g. 203.0.113.53#53(...) (UDP)
#   dig_flags OUT                 the header flags, e.g. "qr rd ra"
#   dig_ttl OUT SECTION TYPE      TTL of the first TYPE record in SECTION (ANSWER, AUTHORITY)
#   dig_msg_size OUT              the number after ";; MSG SIZE  rcvd:"
#
#   expect_between NAME ACTUAL LOW HIGH   passes when LOW <= ACTUAL <= HIGH (numbers)
#   wait_until SECONDS CMD...     runs CMD every 0.2 s until it succeeds; fails after SECONDS
#
# Against the lab's running daemon (BIN: its binary; LAB_CONTROL, LAB_RUN from lab.sh):
#   cli ARGS...                   tproxy-dns ARGS on the gw, at the daemon's control socket
#   stats_field PATH              a field of `cache stats --json`, e.g. cache.hits (a list
#                                 prints space-separated)
#   destination_count ADDRESS     queries the stats count for that original destination
#   reload_daemon                 SIGHUP, then wait (3 s at most) for the reload's log line

T_PASSED=0
T_FAILED=0

t_pass() {
    T_PASSED=$((T_PASSED + 1))
    printf 'ok   %s\n' "$1"
}

t_fail() {
    T_FAILED=$((T_FAILED + 1))
    printf 'FAIL %s\n' "$1"
    shift
    local detail
    for detail in "$@"; do
        printf '%s\n' "$detail" | sed 's/^/       | /'
    done
}

check() {
    local name=$1 out rc=0
    shift
    out=$(mktemp)
    "$@" >"$out" 2>&1 || rc=$?
    if ((rc == 0)); then
        t_pass "$name"
    else
        t_fail "$name" "command: $* (exit $rc)" "$(cat "$out")"
    fi
    rm -f "$out"
    return "$rc"
}

expect_eq() {
    if [[ $2 == "$3" ]]; then
        t_pass "$1"
    else
        t_fail "$1" "got:  ${2:-<empty>}" "want: $3"
        return 1
    fi
}

expect_match() {
    if grep -Eq -- "$3" <<<"$2"; then
        t_pass "$1"
    else
        t_fail "$1" "no line matches: $3" "in: ${2:-<empty>}"
        return 1
    fi
}

expect_le() {
    if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
        t_pass "$1"
    else
        t_fail "$1" "got $2, limit $3"
        return 1
    fi
}

expect_between() {
    if awk -v a="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(a != "" && a + 0 >= lo + 0 && a + 0 <= hi + 0) }'; then
        t_pass "$1"
    else
        t_fail "$1" "got ${2:-<empty>}, want $3..$4"
        return 1
    fi
}

wait_until() {
    local deadline
    deadline=$(awk -v now="$(date +%s.%N)" -v t="$1" 'BEGIN { printf "%.3f", now + t }')
    shift
    while :; do
        "$@" && return 0
        awk -v now="$(date +%s.%N)" -v end="$deadline" 'BEGIN { exit !(now < end) }' || return 1
        sleep 0.2
    done
}

t_note() {
    local line
    while IFS= read -r line; do printf '     %s\n' "$line"; done <<<"$1"
}

t_summary() {
    echo "lab: $T_PASSED passed, $T_FAILED failed"
    ((T_FAILED == 0))
}

dig_status() {
    sed -n 's/^;; ->>HEADER<<- .* status: \([A-Z0-9]*\),.*/\1/p' <<<"$1" | head -n 1
}

dig_answers() {
    awk -v type="$2" '
        /^;; ANSWER SECTION:/ { in_answer = 1; next }
        in_answer && /^$/     { in_answer = 0 }
        in_answer && $4 == type {
            rdata = $5
            for (i = 6; i <= NF; i++) rdata = rdata " " $i
            print rdata
        }' <<<"$1"
}

dig_server() {
    sed -n 's/^;; SERVER: //p' <<<"$1" | head -n 1
}

dig_flags() {
    sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1" | head -n 1
}

dig_ttl() {
    awk -v section="$2" -v type="$3" '
        $0 ~ "^;; " section " SECTION:" { inside = 1; next }
        inside && /^$/                  { inside = 0 }
        inside && $4 == type            { print $2; exit }' <<<"$1"
}

dig_msg_size() {
    sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\).*/\1/p' <<<"$1" | head -n 1
}

finish() {
    if ((T_FAILED > 0)) && [[ -n $LAB_RUN && -s $LAB_RUN/daemon.log ]]; then
        echo "--- daemon log (last 40 lines)"
        tail -n 40 "$LAB_RUN/daemon.log"
    fi
    lab_down
    t_summary
    exit $?
}

cli() { lab_exec gw "$BIN" "$@" --control "$LAB_CONTROL" 2>&1; }

stats_field() {
    cli cache stats --json | python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v, list) else v[k]
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1"
}

destination_count() {
    cli cache stats --json | python3 -c 'import json,sys
rows={d["address"]: d["queries"] for d in json.load(sys.stdin)["originalDestinations"]}
print(rows.get(sys.argv[1], 0))' "$1"
}

reloads_logged_beyond() { (($(grep -c 'configuration reload' "$LAB_RUN/daemon.log") > $1)); }

reload_daemon() {
    local before
    before=$(grep -c 'configuration reload' "$LAB_RUN/daemon.log")
    lab_exec gw kill -HUP "$(cat "$LAB_RUN/daemon.pid")"
    wait_until 3 reloads_logged_beyond "$before"
}
