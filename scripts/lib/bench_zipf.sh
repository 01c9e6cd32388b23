# shellcheck shell=bash
# Sourced by scripts/bench.sh after bench_rows.sh: the Zipf section, a day-like workload.
#
# A seeded Zipf stream (scripts/lib/zipf_queries.py) over BENCH_ZIPF_UNIVERSE names under
# *.wild.example.test (knotd answers them by wildcard): a warm-up of every name the stream
# drew before the measured window, then the window itself at BENCH_ZIPF_QPS, in which about
# BENCH_ZIPF_FIRST_TIME of the queries are names never asked before. The daemons' upstream is
# scripts/lib/delay_relay.py on an extra address of the up namespace, holding each query
# BENCH_UPSTREAM_DELAY_MS before it goes on to knotd (this kernel has no netem).
#
#   zipf_prepare              relay up, query files made (once per bench run)
#   zipf_reference            the upstream alone: unique names from the gw straight to the
#                             relay at the window's miss rate; a zipf_results line (its CPU
#                             column is the relay's), for "p99 ≤ 2× the upstream's own"
#   zipf_finish               relay stopped by PID (its counters into its log)
#   run_zipf_row ROW [FLAG]   one daemon, fresh: warm-up, measured window, one table line in
#                             zipf_results; FLAG is an extra tproxy-dns serve flag
#   report_zipf               the section's Markdown (nothing when no row ran)
#
# Settings: BENCH_ZIPF_QPS (4000), BENCH_ZIPF_UNIVERSE (1000000), BENCH_ZIPF_EXPONENT (0.9),
# BENCH_ZIPF_FIRST_TIME (0.20), BENCH_ZIPF_SEED (20), BENCH_ZIPF_CACHE_ENTRIES (the universe:
# every name fits, so a miss is a first-time name, whatever each daemon evicts),
# BENCH_ZIPF_CACHE_MEMORY (1G: tproxy-dns --cache-memory, whose default of 32M holds only
# ~200,000 of these answers; the entry count is then the limit, as in dnsdist),
# BENCH_ZIPF_WARMUP_QPS (8000: the relay is Python; faster warm-ups lose queries there),
# BENCH_UPSTREAM_DELAY_MS (20), BENCH_ZIPF_RELAY_ADDR (198.51.100.54),
# BENCH_ZIPF_HIT_MS (5: an answer faster than this counts as a cache hit), BENCH_ZIPF_TTL
# (unset: the zone's 3600 s; else the relay sets every answer's TTL to it, so names expire
# within the run, misses are then first-time names plus expired ones, and prefetch acts:
# with 3600 s it never does in a run of minutes, so the --prefetch row only shows its cost).

BENCH_ZIPF_QPS=${BENCH_ZIPF_QPS:-4000}
BENCH_ZIPF_UNIVERSE=${BENCH_ZIPF_UNIVERSE:-1000000}
BENCH_ZIPF_EXPONENT=${BENCH_ZIPF_EXPONENT:-0.9}
BENCH_ZIPF_FIRST_TIME=${BENCH_ZIPF_FIRST_TIME:-0.20}
BENCH_ZIPF_SEED=${BENCH_ZIPF_SEED:-20}
BENCH_ZIPF_CACHE_ENTRIES=${BENCH_ZIPF_CACHE_ENTRIES:-$BENCH_ZIPF_UNIVERSE}
BENCH_ZIPF_CACHE_MEMORY=${BENCH_ZIPF_CACHE_MEMORY:-1G}
BENCH_ZIPF_WARMUP_QPS=${BENCH_ZIPF_WARMUP_QPS:-8000}
BENCH_UPSTREAM_DELAY_MS=${BENCH_UPSTREAM_DELAY_MS:-20}
BENCH_ZIPF_RELAY_ADDR=${BENCH_ZIPF_RELAY_ADDR:-198.51.100.54}
BENCH_ZIPF_HIT_MS=${BENCH_ZIPF_HIT_MS:-5}
BENCH_ZIPF_TTL=${BENCH_ZIPF_TTL:-}

zipf_results=() # TSV: label offered answered lost% hit%(latency) hit%(daemon) avg p99 cpu rss hwm notes
zipf_facts=     # zipf_queries.py's line: history=... warmup=... window=... first_time=...

zipf_prepare() {
    local q=$LAB_RUN/queries i
    mkdir -p "$q"
    lab_add_upstream_address "$BENCH_ZIPF_RELAY_ADDR" || return 1
    lab_spawn up delay-relay python3 "$LAB_REPO/scripts/lib/delay_relay.py" "$BENCH_ZIPF_RELAY_ADDR" \
        "$LAB_UPSTREAM_V4" --delay-ms "$BENCH_UPSTREAM_DELAY_MS" ${BENCH_ZIPF_TTL:+--ttl "$BENCH_ZIPF_TTL"} || return 1
    for ((i = 0; i < 50; i++)); do
        lab_exec gw dig +short +tries=1 +time=1 "@$BENCH_ZIPF_RELAY_ADDR" relay-check.wild.example.test A 2>/dev/null |
            grep -q . && break
        lab_spawn_alive delay-relay || { say "delay relay exited: $(tail -n 5 "$LAB_RUN/delay-relay.log")"; return 1; }
        sleep 0.2
    done
    ((i < 50)) || { say "delay relay at $BENCH_ZIPF_RELAY_ADDR does not answer"; return 1; }
    say "Zipf query stream: ${BENCH_ZIPF_UNIVERSE} names, exponent ${BENCH_ZIPF_EXPONENT}, window $((BENCH_ZIPF_QPS * RUN_SECONDS)) queries"
    zipf_facts=$(python3 "$LAB_REPO/scripts/lib/zipf_queries.py" "$q/zipf-warmup.txt" "$q/zipf-window.txt" \
        --window $((BENCH_ZIPF_QPS * RUN_SECONDS)) --universe "$BENCH_ZIPF_UNIVERSE" \
        --exponent "$BENCH_ZIPF_EXPONENT" --first-time "$BENCH_ZIPF_FIRST_TIME" --seed "$BENCH_ZIPF_SEED") || return 1
    say "Zipf: $zipf_facts"
}

zipf_reference() {
    local label="upstream alone: relay + knotd (from gw)" rate file line
    rate=$(awk -v q="$BENCH_ZIPF_QPS" -v f="$(zipf_fact first_time)" 'BEGIN { r = int(q * f); print (r > 0 ? r : 1) }')
    file=$LAB_RUN/queries/zipf-reference.txt
    unique_names "$file" zr $((rate * RUN_SECONDS * 12 / 10))
    say "== Zipf: $label"
    DNSPERF_NODE=gw fixed_run "$label" "$(bench_pid delay-relay)" zipf "$BENCH_ZIPF_RELAY_ADDR" "$file" "$rate" 1 - \
        "unique names at the window's first-time rate, CPU the relay's" || return 1
    line=${results[-1]}
    unset 'results[-1]'
    zipf_results+=("$(awk -F'\t' 'BEGIN { OFS = "\t" } { print $1, $4, $5, $6, "-", "-", $7, $8, $9, $11, $12, $13 }' <<<"$line")")
}

zipf_finish() {
    lab_spawn_stop delay-relay
    [[ -f $LAB_RUN/delay-relay.log ]] && say "$(grep 'delay_relay: udp_' "$LAB_RUN/delay-relay.log" | tail -n 1)"
}

zipf_fact() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$zipf_facts"; } # NAME

zipf_label() { # ROW FLAG
    case $1 in
        tproxy-dns) echo "tproxy-dns${2:+ $2}" ;;
        *) row_label "$1" ;;
    esac
}

# zipf_tproxy_stats: the running tproxy-dns's "hits misses prefetches evictions" from its
# control socket.
zipf_tproxy_stats() {
    lab_exec gw "$(lab_daemon_bin)" cache stats --json --control "$LAB_CONTROL" 2>/dev/null |
        python3 -c 'import json, sys
c = json.load(sys.stdin)["cache"]
print(c["hits"], c["misses"], c.get("prefetches") or 0, c["evictions"])'
}

# zipf_latency_hits FILE: "HITS ANSWERED" from dnsperf -v's per-query latencies.
zipf_latency_hits() {
    awk -v limit="$BENCH_ZIPF_HIT_MS" '/^> / { n++; if ($NF * 1000 < limit) h++ } END { print h + 0, n + 0 }' "$1"
}

# zipf_warm SERVER: the warm-up file, paced, then up to three more passes (each after 6 s:
# past tproxy-dns's --servfail-ttl; each at half the rate before) for the names that got no
# NOERROR yet: a SERVFAIL or a timeout, e.g. when the relay falls behind, would leave that
# name uncached and add it to the window's misses. Prints "NAMES SECONDS RESENT NOERROR
# FIRST_RCODES" (RESENT: names sent again, over all passes; FIRST_RCODES: the first pass's
# dnsperf summary, empty when every answer was NOERROR).
zipf_warm() {
    local file=$LAB_RUN/queries/zipf-warmup.txt out=$LAB_RUN/out/zipf-warmup lines resent=0 rcodes
    lines=$(wc -l <"$file")
    mkdir -p "$LAB_RUN/out"
    ((lines > 0)) || { echo "0 0 0 0"; return 0; }
    zipf__warm_pass "$1" "$file" "$BENCH_ZIPF_WARMUP_QPS" >"$out-1.txt"
    rcodes=$(sed -n 's/^ *Response codes: *//p' "$out-1.txt" | head -n 1)
    [[ $rcodes == "NOERROR "*"(100.00%)" ]] && rcodes=
    local pass again rate=$BENCH_ZIPF_WARMUP_QPS
    for pass in 2 3 4; do
        zipf__not_noerror "$file" "$out"-[0-9].txt >"$out-again.txt"
        again=$(wc -l <"$out-again.txt")
        ((again > 0)) || break
        resent=$((resent + again)) rate=$((rate / 2))
        sleep 6
        zipf__warm_pass "$1" "$out-again.txt" "$((rate > 100 ? rate : 100))" >"$out-$pass.txt"
    done
    echo "$lines $(awk -v t="$(dnsperf_value "$out-1.txt" "Run time (s)" 1)" 'BEGIN { printf "%.1f", t }')" \
        "$resent $((lines - $(zipf__not_noerror "$file" "$out"-[0-9].txt | wc -l))) $rcodes"
}
zipf__warm_pass() { # SERVER FILE QPS: dnsperf -v's output
    local lines
    lines=$(wc -l <"$2")
    lab_exec client timeout $((lines / $3 + 60)) dnsperf -s "$1" -d "$2" -n 1 -Q "$3" -c 8 -q 2000 -t 2 -v 2>&1
}
zipf__not_noerror() { # NAMES_FILE DNSPERF_OUTPUT...: the names (dnsperf lines) no output answered NOERROR
    awk 'FILENAME != first { if ($1 == ">" && $2 == "NOERROR") ok[tolower($3)] = 1; next }
        { names[FNR] = $0; key[FNR] = tolower($1); n = FNR }
        END { for (i = 1; i <= n; i++) if (!(key[i] in ok)) print names[i] }' first="$1" "$@"
}

# zipf_start_daemon ROW FLAG: sets zipf_pid (not in a subshell: the daemon stays our child).
# tproxy-dns gets --max-in-flight-per-client = --max-in-flight: one dnsperf address stands for
# a whole LAN here, and with the default quarter (1,024) the warm-up, 8,000 misses/s through a
# 20 ms relay that lags under load, got SERVFAIL for 3-8% of its names (dnsdist has no such
# cap); in the window (~800 misses/s, ~16 in flight) neither cap is near.
zipf_start_daemon() {
    zipf_pid=
    if [[ $1 == tproxy-dns ]]; then
        LAB_DAEMON_UPSTREAMS=$BENCH_ZIPF_RELAY_ADDR lab_start_daemon --cache-size "$BENCH_ZIPF_CACHE_ENTRIES" \
            --cache-memory "$BENCH_ZIPF_CACHE_MEMORY" --max-in-flight "$BENCH_MAX_IN_FLIGHT" \
            --max-in-flight-per-client "$BENCH_MAX_IN_FLIGHT" --workers "$BENCH_WORKERS" ${2:+"$2"} || return 1
        zipf_pid=$(cat "$LAB_RUN/daemon.pid")
    else
        BENCH_UPSTREAM=$BENCH_ZIPF_RELAY_ADDR BENCH_CACHE_ENTRIES=$BENCH_ZIPF_CACHE_ENTRIES bench_start "$1" ||
            { bench_stop "$1"; return 1; }
        zipf_pid=$(bench_pid "$1")
    fi
}

run_zipf_row() {
    local row=$1 flag=${2:-} label pid server=$LAB_DECOY_V4 status=0
    label=$(zipf_label "$row" "$flag")
    say "== Zipf: $label"
    row_gw_rules "$row" || { zipf_results+=("$label	-	-	-	-	-	-	-	-	-	-	gw rules failed"); return 1; }
    zipf_start_daemon "$row" "$flag" || { zipf_results+=("$label	-	-	-	-	-	-	-	-	-	-	did not start"); return 1; }
    pid=$zipf_pid
    local warm stats_before= stats_after= notes
    say "Zipf $label: warm-up, $(wc -l <"$LAB_RUN/queries/zipf-warmup.txt") names at up to $BENCH_ZIPF_WARMUP_QPS QPS"
    warm=$(zipf_warm "$server")
    local names seconds resent noerror rcodes
    read -r names seconds resent noerror rcodes <<<"$warm"
    notes="warm-up: $names names in $seconds s, $noerror cached (NOERROR)"
    ((resent > 0)) && notes+=", $resent re-sent in later passes (first pass: ${rcodes:-some lost})"
    [[ $row == tproxy-dns ]] && stats_before=$(zipf_tproxy_stats)
    fixed_run "$label" "$pid" zipf "$server" "$LAB_RUN/queries/zipf-window.txt" "$BENCH_ZIPF_QPS" 1 - "$notes" || status=1
    [[ $row == tproxy-dns ]] && stats_after=$(zipf_tproxy_stats)
    zipf_record "$label" "$stats_before" "$stats_after"
    lab__pid_alive "$pid" || { crashes=$((crashes + 1)); say "$label died; log: $LAB_RUN"; status=1; }
    if [[ $row == tproxy-dns ]]; then
        lab_stop_daemon >/dev/null 2>&1
    else
        bench_stop "$row"
    fi
    return "$status"
}

# zipf_record LABEL STATS_BEFORE STATS_AFTER: moves fixed_run's line from results to
# zipf_results, with the hit ratios added.
zipf_record() {
    local label=$1 line latency daemon_hits=- prefetch_note=
    line=${results[-1]}
    unset 'results[-1]'
    latency=$(zipf_latency_hits "$(run_dir "$label" zipf)/fixed.txt")
    if [[ -n $2 && -n $3 ]]; then
        read -r daemon_hits prefetch_note < <(awk -v b="$2" -v a="$3" 'BEGIN {
            split(b, x, " "); split(a, y, " "); h = y[1] - x[1]; m = y[2] - x[2]
            printf "%s hits %d, misses %d, prefetches %d, evictions %d\n",
                (h + m > 0) ? sprintf("%.1f", h * 100 / (h + m)) : "-", h, m, y[3] - x[3], y[4] - x[4] }')
        prefetch_note="; daemon stats: $prefetch_note"
    fi
    awk -F'\t' -v lat="$latency" -v dh="$daemon_hits" -v extra="$prefetch_note" 'BEGIN { OFS = "\t" } {
        split(lat, l, " "); lh = l[2] > 0 ? sprintf("%.1f", l[1] * 100 / l[2]) : "-"
        print $1, $4, $5, $6, lh, dh, $7, $8, $9, $11, $12, $13 extra }' <<<"$line" >"$LAB_RUN/out/zipf-line.tsv"
    zipf_results+=("$(cat "$LAB_RUN/out/zipf-line.tsv")")
}

report_zipf() {
    ((${#zipf_results[@]})) || return 0
    local line
    echo
    echo "## Zipf workload: ${BENCH_ZIPF_UNIVERSE} names, exponent ${BENCH_ZIPF_EXPONENT}, upstream delayed ${BENCH_UPSTREAM_DELAY_MS} ms"
    echo
    echo "- Stream: seed ${BENCH_ZIPF_SEED}, names z<rank>.wild.example.test (rank 1 the most popular); $(zipf_fact history) queries of history before the window, sent as a warm-up of their $(zipf_fact warmup) distinct names (each once, in the order of its last query, at up to ${BENCH_ZIPF_WARMUP_QPS} QPS); then the measured window of $(zipf_fact window) queries at ${BENCH_ZIPF_QPS} QPS, **$(awk -v f="$(zipf_fact first_time)" 'BEGIN { printf "%.1f", f * 100 }')% of them first-time names** (asked neither in the history nor earlier in the window)."
    echo "- Upstream: knotd behind scripts/lib/delay_relay.py at ${BENCH_ZIPF_RELAY_ADDR} (up namespace), which holds every query ${BENCH_UPSTREAM_DELAY_MS} ms (no netem in this kernel)$([[ -n $BENCH_ZIPF_TTL ]] && echo " and sets every answer's TTL to ${BENCH_ZIPF_TTL} s (so misses are first-time names plus expired ones)" || echo "; answers keep the zone's TTL of 3600 s, so nothing expires and prefetch (a tenth of the TTL left) never acts within the run: the --prefetch row shows what it costs, not what it saves"). Cache ${BENCH_ZIPF_CACHE_ENTRIES} entries in every daemon (tproxy-dns: --cache-memory ${BENCH_ZIPF_CACHE_MEMORY}, so the entry count is its limit too, and --max-in-flight-per-client ${BENCH_MAX_IN_FLIGHT}: the one dnsperf address stands for a LAN)."
    echo "- *hit % (latency)*: answers faster than ${BENCH_ZIPF_HIT_MS} ms ÷ answers, the same rule for every daemon (a miss waits ≥ ${BENCH_UPSTREAM_DELAY_MS} ms). *hit % (daemon)*: tproxy-dns's own cache hits ÷ (hits + misses) over the window, from \`cache stats --json\`; other daemons: -. The best possible is 100 − first-time %."
    echo
    echo "| daemon | offered QPS | answered QPS | lost % | hit % (latency) | hit % (daemon) | avg ms | p99 ms | daemon CPU µs/query | VmRSS MiB | VmHWM MiB | notes |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
    for line in "${zipf_results[@]}"; do
        awk -F'\t' '{ if ($3 ~ /^[0-9.]+$/) $3 = sprintf("%.0f", $3)
            printf "|"; for (i = 1; i <= 12; i++) printf " %s |", $i; printf "\n" }' OFS='\t' <<<"$line"
    done
}

# run_zipf_section: every asked-for row but limit (no DNS work) and the DoT rows (their
# upstream is the DoT server, not the delayed relay); tproxy-dns twice, with prefetch off and on.
run_zipf_section() {
    local row failed=0
    zipf_prepare || { zipf_finish; return 1; }
    zipf_reference || failed=$((failed + 1))
    for row in "${ROWS[@]}"; do
        case $row in
            limit | tproxy-dns-blocklist | tproxy-dns-dot | unbound-dot) ;;
            tproxy-dns)
                run_zipf_row tproxy-dns --no-prefetch || failed=$((failed + 1))
                run_zipf_row tproxy-dns --prefetch || failed=$((failed + 1))
                ;;
            *) run_zipf_row "$row" || failed=$((failed + 1)) ;;
        esac
    done
    zipf_finish
    ((failed == 0))
}
