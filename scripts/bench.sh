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

# --- measurements ---------------------------------------------------------------------

cpu_ticks() { # PID: utime + stime, all threads
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo; return 1; }
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}
context_switches() { # PID: voluntary context switches (sleeps), all threads
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '$1 == "voluntary_ctxt_switches:" { n += $2 } END { print n + 0 }'
}
machine_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
mem_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status" 2>/dev/null; }
dnsperf_value() { # FILE LABEL FIELD: the FIELD-th word after "LABEL:"
    awk -v label="$2:" -v field="$3" 'i = index($0, label) {
        split(substr($0, i + length(label)), w, " "); gsub(/[()%,]/, "", w[field]); print w[field]; exit }' "$1"
}
p99_seconds() { # FILE: 99th percentile of the per-query latencies dnsperf -v printed
    awk '/^> / { print $NF }' "$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) { i = int(NR * 0.99); if (i < NR * 0.99) i++; print v[i] } }'
}

ms() { awk -v s="$1" 'BEGIN { if (s == "") print "-"; else printf "%.3f", s * 1000 }'; }

# Other work on the machine skews every figure, and the benchmark's own load makes the load
# average useless once it runs. So each measurement also estimates the CPU other work took:
# all busy time in /proc/stat minus that of the lab's processes, of this script's shells
# (with the children they reaped: dnsperf, through `timeout`) and of kernel threads (which
# do our packet work too). What is left is other processes', including ones that started
# and ended inside the window; the biggest of those still running are named.
# foreign_snapshot FILE writes "busy TICKS" and "KIND PID TICKS COMM" lines (KIND: ours,
# other); foreign_since FILE SECONDS prints "PERCENT NAMES" (PERCENT of all cores).
foreign_snapshot() {
    local n inodes=()
    for n in "${LAB_NODES[@]}"; do inodes+=("$(stat -L -c %i "/run/netns/$(lab_ns "$n")" 2>/dev/null)"); done
    {
        echo "busy $(machine_busy_ticks)"
        stat -L -c '%n %i' /proc/[0-9]*/ns/net 2>/dev/null | awk -v lab="${inodes[*]}" -v shells="${BENCH_SHELL_PIDS:-$$}" '
            BEGIN {
                n = split(lab, l, " "); for (i = 1; i <= n; i++) ours[l[i]] = 1
                n = split(shells, l, " "); for (i = 1; i <= n; i++) mine[l[i]] = 1
            }
            {
                split($1, p, "/"); pid = p[3]; file = "/proc/" pid "/stat"; line = ""
                if ((getline line < file) > 0) {
                    comm = line; sub(/^[^(]*\(/, "", comm); sub(/\) [^)]*$/, "", comm); gsub(/ /, "_", comm)
                    sub(/^.*\) /, "", line); split(line, w, " ")
                    # w[7] is the flags field: PF_KTHREAD is 0x200000
                    if (pid in mine) print "ours", pid, w[12] + w[13] + w[14] + w[15], comm
                    else if (($2 in ours) || int(w[7] / 2097152) % 2) print "ours", pid, w[12] + w[13], comm
                    else print "other", pid, w[12] + w[13], comm
                }
                close(file)
            }'
    } >"$1"
}
foreign_since() {
    local now
    now=$(mktemp)
    foreign_snapshot "$now"
    awk -v secs="$2" -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" '
        NR == FNR { if ($1 == "busy") busy0 = $2; else before[$2] = $3; next }
        $1 == "busy" { busy = $2 - busy0; next }
        { d = $3 - ($2 in before ? before[$2] : 0); if (d < 0) d = 0
          if ($1 == "ours") ours += d; else by[$4] += d }
        END {
            foreign = busy - ours; if (foreign < 0) foreign = 0
            names = ""
            for (k = 0; k < 3; k++) {
                best = ""; for (c in by) if (best == "" || by[c] > by[best]) best = c
                if (best == "" || by[best] * 100 / (hz * secs * cores) < 1) break
                names = names (names == "" ? "" : " ") best; delete by[best]
            }
            printf "%.0f %s\n", foreign * 100 / (hz * secs * cores), names
        }' "$1" "$now"
    rm -f "$now"
}
foreign_max=0
foreign_names=

# dnsperf_run OUT SERVER FILE ARGS...: one bounded dnsperf run from the client (or from
# $DNSPERF_NODE).
dnsperf_run() {
    local out=$1 server=$2 file=$3
    shift 3
    lab_exec "${DNSPERF_NODE:-client}" timeout $((RUN_SECONDS + 30)) \
        dnsperf -s "$server" -d "$file" -l "$RUN_SECONDS" "${DNSPERF_LOAD[@]}" "$@" >"$out" 2>&1
}

# profile_report PERF_PID DATA LABEL WORKLOAD: stops perf record and writes where the daemon's
# time went (self time by symbol, Swift names demangled) to $BENCH_PROFILE/.
profile_report() {
    local perf_pid=$1 data=$2 name
    kill -INT "$perf_pid" 2>/dev/null
    wait "$perf_pid" 2>/dev/null
    mkdir -p "$BENCH_PROFILE"
    name=$BENCH_PROFILE/$(tr -c 'a-zA-Z0-9\n' _ <<<"$3-$4" | tr -s _).txt
    {
        echo "## kernel vs user"
        perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep .
        echo "## self time by symbol"
        perf report -i "$data" --stdio --no-children --sort symbol --percent-limit 0.5 -g none 2>/dev/null |
            grep -v '^#' | grep . | sed 's/  *-  *-  *$//'
        echo "## user space only, self time by symbol"
        perf report -i "$data" --stdio --no-children --sort symbol --percent-limit 0.15 -g none 2>/dev/null |
            grep -v '^#' | grep -F '[.]' | sed 's/  *-  *-  *$//'
        echo "## inclusive time by symbol (system calls: __x64_sys_*)"
        perf report -i "$data" --stdio --children --sort symbol --percent-limit 2 -g none 2>/dev/null |
            grep -v '^#' | grep . | sed 's/  *-  *-  *$//'
    } | swift demangle --simplified >"$name"
    say "profile: $name"
}

results=() # TSV: label workload peak offered answered lost avg_ms p99_ms cpu_us all_cpu_us rss hwm notes
crashes=0
failed_rows=0

run_dir() { echo "$LAB_RUN/out/${1//[^a-zA-Z0-9]/_}-${2//[^a-zA-Z0-9]/_}"; } # LABEL WORKLOAD

# measure LABEL PID WORKLOAD SERVER PEAKFILE FIXEDFILE RATE ONCE: one table line, the
# unthrottled peak and then fixed_run at RATE; the other-work estimate covers both runs.
measure() {
    local label=$1 pid=$2 workload=$3 server=$4 peak_file=$5 fixed_file=$6 rate=$7 once=$8
    local dir notes=() once_args=()
    dir=$(run_dir "$label" "$workload")
    [[ -n ${extra_note:-} ]] && notes+=("$extra_note")
    mkdir -p "$dir"
    fixed_window_start=$(date +%s.%N)
    foreign_snapshot "$dir/foreign-before.txt"
    ((once)) && once_args=(-n 1)
    say "$label, $workload: peak (unthrottled, ${RUN_SECONDS} s)"
    dnsperf_run "$dir/peak.txt" "$server" "$peak_file" "${once_args[@]}"
    local peak peak_time
    peak=$(dnsperf_value "$dir/peak.txt" "Queries per second" 1)
    peak_time=$(dnsperf_value "$dir/peak.txt" "Run time (s)" 1)
    if [[ -n $peak_time ]] && awk -v t="$peak_time" -v d="$RUN_SECONDS" 'BEGIN { exit !(t < d * 0.9) }'; then
        notes+=("peak run used up its unique names after ${peak_time} s")
    fi
    if ! lab__pid_alive "$pid"; then
        results+=("$label	$workload	${peak:--}	-	-	-	-	-	-	-	-	-	DIED during the peak run")
        return 1
    fi
    local note_text
    note_text=$(IFS=';'; echo "${notes[*]}")
    fixed_run "$label" "$pid" "$workload" "$server" "$fixed_file" "$rate" "$once" "${peak:--}" "$note_text"
}

# fixed_run LABEL PID WORKLOAD SERVER FILE RATE ONCE PEAK NOTES: one table line from a
# fixed-load run (dnsperf -Q RATE -v from $DNSPERF_NODE), PEAK and NOTES (';'-separated)
# carried into it. Its dnsperf output is $(run_dir LABEL WORKLOAD)/fixed.txt.
fixed_run() {
    local label=$1 pid=$2 workload=$3 server=$4 fixed_file=$5 rate=$6 once=$7 peak=$8 notes=() once_args=()
    local dir window_start=${fixed_window_start:-} foreign
    fixed_window_start=
    dir=$(run_dir "$label" "$workload")
    mkdir -p "$dir"
    [[ -n $9 ]] && IFS=';' read -r -a notes <<<"$9"
    ((once)) && once_args=(-n 1)
    if [[ -z $window_start ]]; then
        window_start=$(date +%s.%N)
        foreign_snapshot "$dir/foreign-before.txt"
    fi
    say "$label, $workload: fixed load $rate QPS (${RUN_SECONDS} s)"
    local before after machine_before machine_after
    before=$(cpu_ticks "$pid")
    machine_before=$(machine_busy_ticks)
    local profiler= switches_before
    switches_before=$(context_switches "$pid")
    if [[ -n ${BENCH_PROFILE:-} ]]; then
        perf record -q -g -F 999 -p "$pid" -o "$dir/perf.data" >/dev/null 2>&1 &
        profiler=$!
    fi
    dnsperf_run "$dir/fixed.txt" "$server" "$fixed_file" -Q "$rate" -v "${once_args[@]}"
    after=$(cpu_ticks "$pid")
    [[ -n $profiler ]] && profile_report "$profiler" "$dir/perf.data" "$label" "$workload"
    local switches=$(($(context_switches "$pid") - switches_before))
    machine_after=$(machine_busy_ticks)
    foreign=$(foreign_since "$dir/foreign-before.txt" "$(awk -v s="$window_start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')")
    if ! lab__pid_alive "$pid" || [[ -z $after ]]; then
        results+=("$label	$workload	${peak:--}	$rate	-	-	-	-	-	-	-	-	DIED during the fixed-load run")
        return 1
    fi
    local completed qps lost avg p99 cpu all_cpu rss hwm rcodes
    completed=$(dnsperf_value "$dir/fixed.txt" "Queries completed" 1)
    qps=$(dnsperf_value "$dir/fixed.txt" "Queries per second" 1)
    lost=$(dnsperf_value "$dir/fixed.txt" "Queries lost" 2)
    avg=$(dnsperf_value "$dir/fixed.txt" "Average Latency (s)" 1)
    p99=$(p99_seconds "$dir/fixed.txt")
    rcodes=$(sed -n 's/^ *Response codes: *//p' "$dir/fixed.txt" | head -n 1)
    [[ -z $rcodes || $rcodes == "NOERROR "*"(100.00%)" ]] || notes+=("rcodes: $rcodes")
    # Below the offered rate the daemon was saturated: it then wakes less often per query, so
    # its CPU per query is lower than it would be at that load and not comparable.
    awk -v a="${qps:-0}" -v o="$rate" 'BEGIN { exit !(a < o * 0.97) }' && notes+=("saturated: answered < offered")
    local foreign_pct=${foreign%% *} foreign_top=${foreign#* } name
    if ((foreign_pct >= 5)); then
        notes+=("other work took ~${foreign_pct}% of the CPU${foreign_top:+ (${foreign_top})}")
        ((foreign_pct > foreign_max)) && foreign_max=$foreign_pct
        for name in $foreign_top; do
            [[ " $foreign_names " == *" $name "* ]] || foreign_names+="${foreign_names:+ }$name"
        done
    fi
    cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="${completed:-0}" \
        'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }')
    all_cpu=$(awk -v t=$((machine_after - machine_before)) -v hz="$(getconf CLK_TCK)" -v n="${completed:-0}" \
        'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
    rss=$(awk -v k="$(mem_kib "$pid" VmRSS)" 'BEGIN { printf "%.1f", k / 1024 }')
    hwm=$(awk -v k="$(mem_kib "$pid" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')
    local note_text
    note_text=$(IFS=';'; echo "${notes[*]}")
    note_text=${note_text#;}
    results+=("$label	$workload	${peak:--}	$rate	${qps:--}	${lost:--}	$(ms "$avg")	$(ms "$p99")	$cpu	$all_cpu	$rss	$hwm	${note_text//;/; }")
    say "$label, $workload: peak ${peak:-?} QPS; at $rate: answered ${qps:-?}/s, lost ${lost:-?}%, cpu ${cpu} µs/q, p99 $(ms "$p99") ms, $(awk -v s="$switches" -v n="${completed:-0}" 'BEGIN { if (n > 0) printf "%.2f", s / n; else print "-" }') voluntary context switches per answer"
}

# --- query files ----------------------------------------------------------------------

make_query_files() {
    local q=$LAB_RUN/queries fixed_lines
    mkdir -p "$q"
    awk 'BEGIN { for (i = 0; i < 1000; i++) printf "h%04d.wild.example.test A\n", i }' >"$q/hit.txt"
    # Unique names: a prefix per file, so no run repeats another run's names either.
    awk -v n=$((PEAK_SIZING_QPS * RUN_SECONDS)) 'BEGIN { for (i = 0; i < n; i++) printf "mp%d.wild.example.test A\n", i }' >"$q/miss-peak.txt"
    fixed_lines=$((MISS_QPS * RUN_SECONDS * 12 / 10))
    awk -v n="$fixed_lines" 'BEGIN { for (i = 0; i < n; i++) printf "mf%d.wild.example.test A\n", i }' >"$q/miss-fixed.txt"
    mixed() { # PREFIX LINES: four hits, then one unique miss
        awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) {
            if (i % 5 == 4) printf "%s%d.wild.example.test A\n", p, i
            else printf "h%04d.wild.example.test A\n", (i * 7) % 1000 } }'
    }
    mixed xp $((PEAK_SIZING_QPS * RUN_SECONDS)) >"$q/mixed-peak.txt"
    mixed xf $((MIXED_QPS * RUN_SECONDS * 12 / 10)) >"$q/mixed-fixed.txt"
}

# warm SERVER: every hit name once, until a pass answers all 1,000 with NOERROR (a burst of
# misses on a busy machine can time out upstream, and SERVFAIL is cached for a few seconds),
# then check one answer's name, address and replying server.
warm() {
    local server=$1 out pass complete=0
    for pass in 1 2 3; do
        ((pass > 1)) && sleep 6 # past tproxy-dns's --servfail-ttl (5 s)
        lab_exec client timeout 30 dnsperf -s "$server" -d "$LAB_RUN/queries/hit.txt" -n 1 -Q 5000 -c 8 -q 500 -t 2 >/dev/null 2>&1
        out=$(lab_exec client timeout 30 dnsperf -s "$server" -d "$LAB_RUN/queries/hit.txt" -n 1 -Q 5000 -c 8 -q 500 -t 2 2>&1)
        [[ $out == *"Response codes:       NOERROR 1000 (100.00%)"* ]] && { complete=1; break; }
        say "warm-up pass $pass against $server: not every hit name answered NOERROR: $(sed -n 's/^ *Response codes: *//p' <<<"$out")"
    done
    if ((!complete)); then
        extra_note="${extra_note:+$extra_note; }warm-up incomplete: some hit names not cached"
    elif ((pass > 1)); then
        extra_note="${extra_note:+$extra_note; }warm-up took $pass passes"
    fi
    out=$(lab_exec client dig +tries=2 +time=2 "@$server" h0001.wild.example.test A 2>&1)
    if [[ $(dig_answers "$out" A) != 198.51.100.99 || $(dig_server "$out") != "$server#53("* ]]; then
        say "warm-up check failed against $server:"
        echo "$out" >&2
        return 1
    fi
}
dig_answers() {
    awk -v type="$2" '/^;; ANSWER SECTION:/ { a = 1; next } a && /^$/ { a = 0 } a && $4 == type { print $5 }' <<<"$1"
}
dig_server() { sed -n 's/^;; SERVER: //p' <<<"$1" | head -n 1; }

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

# --- report ---------------------------------------------------------------------------

version_of() {
    case $1 in
        # The binary may be older than the tree (TPROXY_DNS_BIN): its build time says which.
        tproxy-dns) [[ -n $bin ]] && echo "tproxy-dns (binary built $(date -r "$bin" '+%F %T'); repo at $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(git -C "$repo" diff --quiet HEAD 2>/dev/null || echo '+local changes'))" ;;
        unbound) unbound -V 2>/dev/null | sed -n 's/^Version /Unbound /p' ;;
        dnsdist) dnsdist --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2 ;;
        dnsmasq) dnsmasq --version 2>/dev/null | head -n 1 | awk '{ print "dnsmasq " $3 }' ;;
        knotd) knotd --version 2>/dev/null | awk '{ print "knotd " $NF }' ;;
        dnsperf) dnsperf -h 2>&1 | awk '/^Version/ { print "dnsperf " $2 }' ;;
    esac
}

cpu_accounting_note() {
    local config
    config=$( (zcat /proc/config.gz || cat "/boot/config-$(uname -r)") 2>/dev/null)
    if grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' <<<"$config"; then
        echo "This kernel accounts softirq time separately: packet processing in softirq (TPROXY, NAT, veth delivery) is not in the daemon's figure."
    elif grep -q '^CONFIG_TICK_CPU_ACCOUNTING=y' <<<"$config"; then
        echo "This kernel samples per tick without IRQ time accounting: softirq work (TPROXY, NAT, veth delivery) is charged to whichever task was running, often the daemon for its own sends."
    else
        echo "(Kernel CPU accounting mode unknown: softirq work may or may not be in the daemon's figure.)"
    fi
}

report() {
    local load_start=$1 line versions=() v
    for v in tproxy-dns unbound dnsdist dnsmasq knotd dnsperf; do
        line=$(version_of "$v")
        [[ -n $line ]] && versions+=("$line")
    done
    local cpu_model
    cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "# tproxy-dns benchmark, $(date '+%F %H:%M %Z')"
    echo
    echo "- Machine: $(nproc) cores (${cpu_model:-unknown CPU}), Linux $(uname -r), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- Load average (1 min) before the first run: $load_start$(awk -v a="$load_start" 'BEGIN { if (a > 1) print " — **above 1: other work was running; treat the numbers as rough**" }')"
    if ((foreign_max >= 5)); then
        echo "- **Other work took up to ${foreign_max}% of the CPU during a measurement**${foreign_names:+ (${foreign_names})}: those rows say so in their notes; treat them as rough."
    else
        echo "- Other work (outside the lab's namespaces) took under 5% of the CPU during every measurement."
    fi
    local joined
    joined=$(IFS=';'; echo "${versions[*]}")
    echo "- Versions: ${joined//;/, }"
    echo "- Load: dnsperf ${DNSPERF_LOAD[*]} (its default -T 1: one sender and one receiver thread) from the client namespace at $LAB_DECOY_V4 (a decoy that runs no DNS server), IPv4 unless noted; each run ${RUN_SECONDS} s."
    echo "  *Peak QPS*: unthrottled. *Offered*: fixed load (dnsperf -Q); answered QPS, lost, latency, CPU and RSS are from that run."
    echo "- Daemon CPU µs/query: the daemon's utime+stime (/proc/PID/stat, all threads, CLK_TCK $(getconf CLK_TCK)) over the fixed-load run ÷ queries answered. $(cpu_accounting_note)"
    echo "  Machine CPU µs/query: all busy time in /proc/stat over the same run ÷ answered — dnsperf, knotd and the kernel's forwarding, TPROXY and conntrack included; only meaningful on an otherwise idle machine."
    echo "- Daemons that died: $crashes"
    ((main_rows)) || { report_zipf; return 0; }
    echo "- Workloads: hit = 1,000 names under *.wild.example.test, cache warmed; miss = unique names never repeated in the run (every query goes to knotd at 198.51.100.53); mixed = 4 hits : 1 unique miss; miss at ${BENCH_MISS_PEAK_SHARE}% of peak = unique names at that share of the row's miss peak, once (tproxy-dns and dnsdist); knotd directly = the miss workload sent by dnsperf in the gw straight to knotd (its CPU column is knotd's)."
    echo "- Every daemon: cache ${BENCH_CACHE_ENTRIES} entries (Unbound: msg-cache 50m, rrset-cache 100m), one upstream (knotd, 198.51.100.53), no DNSSEC validation; tproxy-dns --max-in-flight and Unbound num-queries-per-thread ${BENCH_MAX_IN_FLIGHT}."
    echo "  Unbound: num-threads ${BENCH_UNBOUND_THREADS}, module-config iterator, forward-zone \".\", local-zone \"test.\" nodefault; TPROXY row with ip-transparent + interface-automatic. dnsdist: one backend, packet cache, recvmmsg batches of 32. dnsmasq: --cache-size ${BENCH_CACHE_ENTRIES}, --dns-forward-max ${BENCH_DNSMASQ_FORWARD_MAX:-150 (its default; 4096 made its linear forward-record search collapse under misses, see scripts/lib/bench_rows.sh)}."
    echo "  DNAT rows: nft \`dnat to $BENCH_GW_ADDR:53\` of client dport 53 in the gw; conntrack rewrites the replies' source."
    echo "- --reply-via rows: IPv6, hits only; the client's nft rewrites each query's destination round-robin over N addresses in 2001:db8:3::/64 (and the replies' source back), so the daemon sees N targeted servers."
    echo
    echo "| daemon | workload | peak QPS | offered QPS | answered QPS | lost % | avg ms | p99 ms | daemon CPU µs/query | machine CPU µs/query | VmRSS MiB | VmHWM MiB | notes |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
    for line in "${results[@]}"; do
        awk -F'\t' '{
            for (i = 3; i <= 5; i++) if ($i ~ /^[0-9.]+$/) $i = sprintf("%.0f", $i)
            printf "|"; for (i = 1; i <= 13; i++) printf " %s |", $i; printf "\n" }' OFS='\t' <<<"$line"
    done
    ((${#notes_after[@]})) && printf '\n%s\n' "${notes_after[@]}"
    report_zipf
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
