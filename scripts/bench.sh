#!/usr/bin/env bash
# Side-by-side benchmark, as root, in the lab's namespaces (scripts/lib/lab.sh): dnsperf on
# the client queries the decoy address (where no DNS server runs), the gateway intercepts
# and answers from cache or via knotd on the upstream. Each row is one daemon on the gw,
# started fresh with the same cache size and the same upstream:
#
#   limit            tproxy-dns bench-limit: TPROXY receive + raw reply, no DNS work (ceiling)
#   tproxy-dns       tproxy-dns serve, TPROXY to :5353 (the lab default), raw replies
#   unbound-tproxy   Unbound, TPROXY to :53, ip-transparent + interface-automatic
#   unbound-dnat     Unbound on 192.0.2.1:53, nft DNAT of client dport 53
#   dnsdist-dnat     dnsdist (packet cache on) on 192.0.2.1:53, DNAT
#   dnsmasq-dnat     dnsmasq on 192.0.2.1:53, DNAT
#   tproxy-dns-dot   tproxy-dns serve with a DNS-over-TLS upstream (misses only; scripts/lib/bench_dot.sh)
#   unbound-dot      Unbound (DNAT) forwarding over TLS to the same DoT server (misses only)
#
# Workloads: hit (1,000 names, cache warmed), miss (unique names under *.wild.example.test,
# never repeated in a run), mixed (4 hits : 1 unique miss). For each: peak QPS (dnsperf
# unthrottled) and, at a fixed offered load (dnsperf -Q), the daemon's CPU time per answered
# query (utime+stime from /proc/PID/stat), average and p99 latency, lost queries, RSS.
# The tproxy-dns and dnsdist rows add a fixed-load run of unique-name misses at 80% of their
# measured miss peak ("no queries lost at 80% of peak"), and a reference line asks knotd
# directly at the miss rate (its own p99: the miss rows' "≤ 2× the upstream's" bound); see
# scripts/lib/bench_miss_checks.sh.
# Then `serve --reply-via raw|socket-per-source` with queries spread over 1, 100 and 1,000
# targeted server addresses (IPv6, see bench_client_spread in scripts/lib/bench_rows.sh).
# Then the Zipf section, a day-like workload: a seeded Zipf stream over 1,000,000 names with
# ~20% first-time names in the measured window, 4,000 QPS, the upstream delayed 20 ms; each
# row but limit (tproxy-dns twice: --no-prefetch and --prefetch); hit ratio, latency, CPU,
# RSS in a table of its own (scripts/lib/bench_zipf.sh).
#
#   sudo scripts/bench.sh [--quick] [--seconds N] [--rows a,b,...] [--no-reply-via]
#                         [--zipf-only | --no-zipf] [--output FILE]
#
#   --quick         2-second runs (a smoke run of ~2-3 minutes); default 10 s (~10 minutes);
#                   the Zipf section adds ~1-1.5 minutes per row either way (its warm-up of
#                   ~305,000 names through the 20 ms relay), ~8 minutes for all rows
#   --seconds N     each dnsperf run's duration
#   --rows LIST     only these rows (comma-separated, names above)
#   --no-reply-via  skip the --reply-via section
#   --zipf-only     only the Zipf section (for the rows asked for), e.g.
#                   scripts/bench.sh --rows tproxy-dns,dnsdist-dnat --zipf-only
#   --no-zipf       skip the Zipf section
#   --output FILE   where the Markdown goes (default bench/results-YYYY-MM-DD[-quick].md);
#                   the same Markdown is printed to stdout, progress goes to stderr
#
# Environment: TPROXY_DNS_BIN (else builds with swift build -c release, SWIFT_SCRATCH_PATH),
# BENCH_HIT_QPS (40000), BENCH_MISS_QPS (10000), BENCH_MIXED_QPS (20000) for the fixed loads,
# BENCH_DOT_MISS_QPS (2000) for the DoT rows' misses,
# BENCH_CACHE_ENTRIES (100000), BENCH_UNBOUND_THREADS (1), LAB_ID, KEEP_LAB=1,
# BENCH_MISS_PEAK_SHARE (80: the percent of the miss peak of the no-loss run),
# BENCH_ZIPF_QPS (4000), BENCH_UPSTREAM_DELAY_MS (20), BENCH_ZIPF_UNIVERSE (1000000) and the
# other BENCH_ZIPF_* settings in scripts/lib/bench_zipf.sh,
# BENCH_LIMIT_WORKERS (1; with N > 1 the limit row runs `bench-limit --workers N`: N threads,
# each with its own SO_REUSEPORT TPROXY socket, and its notes give each worker's share of the
# answers, peak and fixed-load runs together, and its exit status if not 0),
# BENCH_WORKERS (1; with N > 1 the tproxy-dns row runs `serve --workers N`, and its notes
# give each event loop's share of the queries over the whole row, from the control socket),
# BENCH_PROFILE=DIR (perf record -g on each fixed-load run, a flat profile per row and
# workload in DIR; perf's sampling costs the daemon a little CPU, so such a run's numbers
# are for finding hot spots, not for the table).
# Exit status: 0 when every row ran and no daemon died, 1 otherwise.
set -u

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source=scripts/lib/debian_packages.sh
source scripts/lib/debian_packages.sh
# shellcheck source=scripts/lib/lab.sh
source scripts/lib/lab.sh
# shellcheck source=scripts/lib/bench_measure.sh
source scripts/lib/bench_measure.sh
# shellcheck source=scripts/lib/bench_queries.sh
source scripts/lib/bench_queries.sh
# shellcheck source=scripts/lib/bench_report.sh
source scripts/lib/bench_report.sh
# shellcheck source=scripts/lib/bench_rows.sh
source scripts/lib/bench_rows.sh
# shellcheck source=scripts/lib/bench_miss_checks.sh
source scripts/lib/bench_miss_checks.sh
# shellcheck source=scripts/lib/bench_zipf.sh
source scripts/lib/bench_zipf.sh
# shellcheck source=scripts/lib/dot_server.sh
source scripts/lib/dot_server.sh
# shellcheck source=scripts/lib/bench_dot.sh
source scripts/lib/bench_dot.sh

ALL_ROWS=(limit tproxy-dns tproxy-dns-blocklist unbound-tproxy unbound-dnat dnsdist-dnat dnsmasq-dnat tproxy-dns-dot unbound-dot)
quick=0 seconds='' rows_arg='' reply_via=1 output='' zipf=1 main_rows=1
while (($#)); do
    case $1 in
        --quick) quick=1 ;;
        --seconds) seconds=${2:?--seconds N}; shift ;;
        --rows) rows_arg=${2:?--rows LIST}; shift ;;
        --no-reply-via) reply_via=0 ;;
        --zipf-only) main_rows=0 reply_via=0 ;;
        --no-zipf) zipf=0 ;;
        --output) output=${2:?--output FILE}; shift ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
RUN_SECONDS=${seconds:-$((quick ? 2 : 10))}
HIT_QPS=${BENCH_HIT_QPS:-40000}
MISS_QPS=${BENCH_MISS_QPS:-10000}
MIXED_QPS=${BENCH_MIXED_QPS:-20000}
# Unique-name files for unthrottled runs are sized for this rate; a daemon that outruns it
# ends its run early (noted), it never sees a name twice.
PEAK_SIZING_QPS=150000
DNSPERF_LOAD=(-c 8 -q 500 -t 1)
SPREADS=(1 100 1000)
if [[ -n $rows_arg ]]; then
    IFS=, read -r -a ROWS <<<"$rows_arg"
else
    ROWS=("${ALL_ROWS[@]}")
fi
for row in "${ROWS[@]}"; do
    [[ " ${ALL_ROWS[*]} " == *" $row "* ]] || { echo "bench.sh: unknown row '$row' (${ALL_ROWS[*]})" >&2; exit 2; }
done
[[ $RUN_SECONDS =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --seconds wants a positive integer" >&2; exit 2; }
if [[ -z $output ]]; then
    output=bench/results-$(date +%F)$( ((quick)) && echo -quick).md
fi

say() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
has_row() { [[ " ${ROWS[*]} " == *" $1 "* ]]; }

install_packages() {
    local pkgs=(nftables knot dnsutils iproute2 python3 util-linux dnsperf)
    has_row unbound-tproxy || has_row unbound-dnat && pkgs+=(unbound)
    has_row tproxy-dns-dot || has_row unbound-dot && pkgs+=(unbound openssl knot-dnsutils)
    has_row dnsdist-dnat && pkgs+=(dnsdist)
    has_row dnsmasq-dnat && pkgs+=(dnsmasq-base) # the binary only: no service on the host
    [[ -n ${BENCH_PROFILE:-} ]] && pkgs+=(linux-perf)
    # ensure_debian_packages keeps their services from starting on the host.
    ensure_debian_packages "${pkgs[@]}"
}

# --- rows -----------------------------------------------------------------------------

# A hosts-format block list of 1,000,000 made-up names (ad1.block-bench.test ...), made once per run.
million_name_block_list() {
    local file=$LAB_RUN/million.hosts
    [[ -s $file ]] || python3 -c 'import sys
sys.stdout.write("".join(f"0.0.0.0 ad{i}.tracker{i % 997}.block-bench.test\n" for i in range(1000000)))' >"$file"
    echo "$file"
}

row_label() {
    case $1 in
        limit) echo "limit (bench-limit, TPROXY :5353, raw$( ((BENCH_LIMIT_WORKERS > 1)) && echo ", $BENCH_LIMIT_WORKERS workers"))" ;;
        tproxy-dns) echo "tproxy-dns (TPROXY :5353, raw$( ((BENCH_WORKERS > 1)) && echo ", $BENCH_WORKERS workers"))" ;;
        tproxy-dns-blocklist) echo "tproxy-dns + 1,000,000-name --block-list (TPROXY :5353, raw)" ;;
        unbound-tproxy) echo "Unbound (TPROXY :53)" ;;
        unbound-dnat) echo "Unbound (DNAT)" ;;
        dnsdist-dnat) echo "dnsdist (DNAT, packet cache)" ;;
        dnsmasq-dnat) echo "dnsmasq (DNAT)" ;;
        tproxy-dns-dot) echo "tproxy-dns, DoT upstream (TPROXY :5353, raw)" ;;
        unbound-dot) echo "Unbound, DoT upstream (DNAT)" ;;
    esac
}

row_gw_rules() { # ROW: the gw's nft rules that row's daemon needs
    case $1 in
        limit | tproxy-dns | tproxy-dns-blocklist | tproxy-dns-dot) bench_gw_tproxy "$DAEMON_PORT" ;;
        unbound-tproxy) bench_gw_tproxy 53 ;;
        *-dnat | unbound-dot) bench_gw_dnat "$BENCH_GW_ADDR" 53 ;;
    esac
}

run_row() {
    local row=$1 label pid server=$LAB_DECOY_V4 q=$LAB_RUN/queries
    label=$(row_label "$row")
    say "== $label"
    row_gw_rules "$row" || { results+=("$label	-	-	-	-	-	-	-	-	-	-	-	gw rules failed"); return 1; }
    if [[ $row == tproxy-dns || $row == tproxy-dns-blocklist ]]; then
        # The block-list row: every hit also looks its name up in a million blocked names
        # (none of which it is), so the row's CPU beside tproxy-dns's is the list's cost.
        local policy=()
        [[ $row == tproxy-dns-blocklist ]] && policy=(--block-list "$(million_name_block_list)")
        # With workers the control socket stays on: it tells each loop's share.
        LAB_DAEMON_UPSTREAMS=$LAB_UPSTREAM_V4 lab_start_daemon --cache-size "$BENCH_CACHE_ENTRIES" \
            --max-in-flight "$BENCH_MAX_IN_FLIGHT" --workers "$BENCH_WORKERS" $( ((BENCH_WORKERS > 1)) || echo --no-control) "${policy[@]}" ||
            { results+=("$label	-	-	-	-	-	-	-	-	-	-	-	did not start"); return 1; }
        pid=$(cat "$LAB_RUN/daemon.pid")
    elif [[ $row == tproxy-dns-dot ]]; then
        bench_dot_start_tproxy_dns || { results+=("$label	-	-	-	-	-	-	-	-	-	-	-	did not start"); return 1; }
        pid=$(cat "$LAB_RUN/daemon.pid")
    else
        bench_start "$row" || { results+=("$label	-	-	-	-	-	-	-	-	-	-	-	did not start"); bench_stop "$row"; return 1; }
        pid=$(bench_pid "$row")
    fi
    local status=0
    extra_note=
    if [[ $row == limit ]]; then
        # No DNS work, so every workload is the same to it: one line.
        measure "$label" "$pid" "any (echo)" "$server" "$q/hit.txt" "$q/hit.txt" "$HIT_QPS" 0 || status=1
    elif ! warm "$server"; then
        results+=("$label	-	-	-	-	-	-	-	-	-	-	-	warm-up answer wrong")
        status=1
    elif [[ $row == *-dot ]]; then
        # Hits never leave the gateway: only misses show what the TLS upstream costs.
        measure "$label" "$pid" miss "$server" "$q/miss-peak.txt" "$q/miss-fixed.txt" "$BENCH_DOT_MISS_QPS" 1 || status=1
    else
        measure "$label" "$pid" hit "$server" "$q/hit.txt" "$q/hit.txt" "$HIT_QPS" 0 &&
            measure "$label" "$pid" mixed "$server" "$q/mixed-peak.txt" "$q/mixed-fixed.txt" "$MIXED_QPS" 1 &&
            measure "$label" "$pid" miss "$server" "$q/miss-peak.txt" "$q/miss-fixed.txt" "$MISS_QPS" 1 &&
            { [[ $row != tproxy-dns && $row != dnsdist-dnat ]] || miss_at_share_of_peak "$label" "$pid" "$server"; } ||
            status=1
    fi
    extra_note=
    lab__pid_alive "$pid" || { crashes=$((crashes + 1)); say "$label died; log: $LAB_RUN"; }
    if [[ $row == tproxy-dns || $row == tproxy-dns-blocklist || $row == tproxy-dns-dot ]]; then
        [[ $row == tproxy-dns-blocklist ]] && add_note "daemon RSS with the list: $(($(awk '/VmRSS/ { print $2 }' "/proc/$pid/status") / 1024)) MiB"
        ((BENCH_WORKERS > 1)) && [[ $row != tproxy-dns-dot ]] && add_note "queries per event loop over the row: $(tproxy_dns_worker_split)"
        lab_stop_daemon >/dev/null 2>&1
        [[ $LAB_DAEMON_EXIT_STATUS == 0 ]] || say "$label exit status $LAB_DAEMON_EXIT_STATUS"
    else
        bench_stop "$row"
        [[ $lab_spawn_status == 0 ]] || say "$label exit status $lab_spawn_status"
    fi
    if [[ $row == limit ]] && ((BENCH_LIMIT_WORKERS > 1)); then
        add_note "answered per worker: $(bench_limit_worker_split)"
        [[ $lab_spawn_status == 0 ]] || { add_note "exit status $lab_spawn_status"; status=1; }
    fi
    return "$status"
}

tproxy_dns_worker_split() {
    lab_exec gw "$(lab_daemon_bin)" cache stats --json --control "$LAB_CONTROL" 2>/dev/null |
        python3 -c 'import json,sys; print(" / ".join(map(str, json.load(sys.stdin).get("queriesByWorker") or [])))'
}

add_note() { # TEXT: appended to the last result line's notes
    local line=${results[-1]}
    if [[ -z ${line##*	} ]]; then results[-1]+=$1; else results[-1]+="; $1"; fi
}

# --reply-via raw|socket-per-source at 1, 100 and 1,000 targeted addresses, hits over IPv6.
run_reply_via() {
    local via n label pid status=0
    extra_note=
    bench_gw_tproxy "$DAEMON_PORT" || return 1
    for via in raw socket-per-source; do
        for n in "${SPREADS[@]}"; do
            label="tproxy-dns --reply-via $via"
            say "== $label, $n addresses"
            bench_client_spread "$n" || { results+=("$label	hit, $n dst	-	-	-	-	-	-	-	-	-	-	client rewrite failed"); status=1; continue; }
            if ! LAB_DAEMON_UPSTREAMS=$LAB_UPSTREAM_V4 lab_start_daemon --cache-size "$BENCH_CACHE_ENTRIES" \
                --max-in-flight "$BENCH_MAX_IN_FLIGHT" --no-control --reply-via "$via"; then
                results+=("$label	hit, $n dst	-	-	-	-	-	-	-	-	-	-	did not start")
                status=1
                continue
            fi
            pid=$(cat "$LAB_RUN/daemon.pid")
            bench_gw_seen_start
            if warm "$LAB_DECOY_V6"; then
                extra_note="${extra_note:+$extra_note; }targets seen in warm-up: $(bench_gw_seen_count)"
                measure "$label" "$pid" "hit, $n dst (v6)" "$LAB_DECOY_V6" "$LAB_RUN/queries/hit.txt" \
                    "$LAB_RUN/queries/hit.txt" "$HIT_QPS" 0 || status=1
                [[ $via == socket-per-source ]] &&
                    results[-1]+="; daemon UDP sockets after the runs: $(lab_exec gw ss -Hanu | grep -c '2001:db8:3:')"
            else
                results+=("$label	hit, $n dst	-	-	-	-	-	-	-	-	-	-	warm-up answer wrong")
                status=1
            fi
            extra_note=
            lab__pid_alive "$pid" || crashes=$((crashes + 1))
            lab_stop_daemon >/dev/null 2>&1
        done
    done
    bench_client_spread 0
    return "$status"
}

# --- main -----------------------------------------------------------------------------

notes_after=()
main() {
    local load_start
    if ((EUID != 0)); then echo "bench.sh: needs root (network namespaces, nftables)" >&2; return 1; fi
    BENCH_SHELL_PIDS="$$ $BASHPID"
    install_packages || { echo "bench.sh: installing packages failed" >&2; return 1; }
    local why
    why=$(lab_check_kernel) || { echo "bench.sh: the lab cannot run here: $why" >&2; return 1; }
    local bin=
    if has_row limit || has_row tproxy-dns || has_row tproxy-dns-dot || ((reply_via)); then
        bin=$(lab_daemon_bin) || { echo "bench.sh: building tproxy-dns failed" >&2; return 1; }
        if has_row limit && ! "$bin" bench-limit --help >/dev/null 2>&1; then
            echo "bench.sh: $bin has no bench-limit subcommand (rebuild?)" >&2
            return 1
        fi
    fi
    load_start=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load_start" 'BEGIN { exit !(l > 1) }'; then
        say "load average is $load_start (> 1): other work is running, numbers will be rough"
    fi
    lab_up || return 1
    lab_start_upstream || return 1
    local row
    if ((main_rows)); then
        say "query files (${RUN_SECONDS} s runs)"
        make_query_files
        upstream_reference || failed_rows=$((failed_rows + 1))
        for row in "${ROWS[@]}"; do
            run_row "$row" || failed_rows=$((failed_rows + 1))
        done
    fi
    if ((reply_via)); then
        if "$bin" serve --help 2>&1 | grep -q -- '--reply-via'; then
            run_reply_via || failed_rows=$((failed_rows + 1))
        else
            notes_after+=("--reply-via section skipped: this tproxy-dns has no \`serve --reply-via\` option yet.")
            say "skipping the --reply-via section: serve has no --reply-via option"
        fi
    fi
    if ((zipf)); then
        run_zipf_section || failed_rows=$((failed_rows + 1))
    fi
    mkdir -p "$(dirname "$output")"
    report "$load_start" | tee "$output"
    say "written to $output"
    ((crashes == 0 && failed_rows == 0))
}

lab_main main
