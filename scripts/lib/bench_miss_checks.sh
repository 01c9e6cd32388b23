# shellcheck shell=bash
# Sourced by scripts/bench.sh after bench_rows.sh: two measurements the miss targets of
# issue 20 are judged by.
#
#   miss_at_share_of_peak LABEL PID SERVER
#       after a row's miss line (results[-1], whose peak column is the unthrottled miss
#       peak): one fixed-load run of names never asked before at BENCH_MISS_PEAK_SHARE
#       percent (80) of that peak, its own table line "miss at 80% of peak", whose notes say
#       sent / answered / lost in queries ("no queries lost at 80% of peak" is lost = 0), and
#       how many queries knotd's full socket buffer dropped meanwhile (the upstream namespace's
#       UDP RcvbufErrors): what a daemon that does not retransmit loses
#   upstream_reference
#       knotd asked directly: dnsperf from the gw namespace (where the daemons' upstream
#       queries come from) to 198.51.100.53, unique names at BENCH_MISS_QPS, -v; a table line
#       "knotd directly (from gw)" whose CPU column is knotd's, and upstream_p99_ms set, so the
#       report can say what 2× the upstream's own p99 is
#
# Both use fixed_run, run_dir and dnsperf_value from scripts/bench.sh.

BENCH_MISS_PEAK_SHARE=${BENCH_MISS_PEAK_SHARE:-80}
upstream_p99_ms=

# unique_names FILE PREFIX COUNT: COUNT names PREFIX<i>.wild.example.test, dnsperf input.
unique_names() {
    awk -v p="$2" -v n="$3" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d.wild.example.test A\n", p, i }' >"$1"
}

# upstream_rcvbuf_errors: datagrams dropped for a full socket buffer in the upstream
# namespace so far (v4 and v6 counters of /proc/net/snmp and snmp6 there).
upstream_rcvbuf_errors() {
    lab_exec up cat /proc/net/snmp /proc/net/snmp6 2>/dev/null | awk '
        $1 == "Udp:" && $2 !~ /^[0-9]/ { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") column = i; next }
        $1 == "Udp:" && column { dropped += $column }
        $1 == "Udp6RcvbufErrors" { dropped += $2 }
        END { print dropped + 0 }'
}

# sent_answered_lost LABEL WORKLOAD: "sent N, answered N, lost N" from that fixed run.
sent_answered_lost() {
    local out
    out=$(run_dir "$1" "$2")/fixed.txt
    echo "sent $(dnsperf_value "$out" "Queries sent" 1), answered $(dnsperf_value "$out" "Queries completed" 1), lost $(dnsperf_value "$out" "Queries lost" 1)"
}

miss_at_share_of_peak() {
    local label=$1 pid=$2 server=$3 peak rate workload file
    peak=$(cut -f3 <<<"${results[-1]}")
    workload="miss at ${BENCH_MISS_PEAK_SHARE}% of peak"
    if ! [[ $peak =~ ^[0-9.]+$ ]]; then
        results+=("$label	$workload	-	-	-	-	-	-	-	-	-	-	no miss peak measured")
        return 1
    fi
    rate=$(awk -v p="$peak" -v s="$BENCH_MISS_PEAK_SHARE" 'BEGIN { printf "%d", p * s / 100 }')
    ((rate > 0)) || { results+=("$label	$workload	$peak	-	-	-	-	-	-	-	-	-	miss peak 0"); return 1; }
    # A new prefix per row: these names were never asked in this daemon's life either.
    file=$LAB_RUN/queries/miss-share-${label//[^a-zA-Z0-9]/_}.txt
    unique_names "$file" "ms${#results[@]}-" $((rate * RUN_SECONDS * 12 / 10))
    local dropped_before
    dropped_before=$(upstream_rcvbuf_errors)
    fixed_run "$label" "$pid" "$workload" "$server" "$file" "$rate" 1 "$peak" "" || return 1
    add_note "$(sent_answered_lost "$label" "$workload"); knotd's full socket buffer dropped $(($(upstream_rcvbuf_errors) - dropped_before))"
}

upstream_reference() {
    local label="knotd directly (from gw)" workload="miss (upstream's own)" file pid p99
    file=$LAB_RUN/queries/miss-upstream.txt
    pid=$(cat "$LAB_RUN/knotd.pid" 2>/dev/null)
    unique_names "$file" mu $((MISS_QPS * RUN_SECONDS * 12 / 10))
    say "== $label"
    DNSPERF_NODE=gw fixed_run "$label" "$pid" "$workload" "$LAB_UPSTREAM_V4" "$file" "$MISS_QPS" 1 - \
        "reference for the miss rows: knotd's CPU, no daemon in between" || return 1
    add_note "$(sent_answered_lost "$label" "$workload")"
    p99=$(cut -f8 <<<"${results[-1]}")
    [[ $p99 =~ ^[0-9.]+$ ]] && upstream_p99_ms=$p99
    notes_after+=("Upstream's own miss latency (knotd asked directly from the gw at ${MISS_QPS} QPS, unique names): p99 ${upstream_p99_ms:--} ms$([[ -n $upstream_p99_ms ]] && awk -v p="$upstream_p99_ms" 'BEGIN { printf "; the issue-20 bound \"miss p99 ≤ 2× the upstream'"'"'s own\" is %.3f ms", p * 2 }').")
}
