# shellcheck shell=bash
# Sourced by scripts/bench.sh: measuring one daemon under dnsperf. CPU ticks, context
# switches, memory and the machine's other work (foreign_snapshot/foreign_since) around a run;
# measure (an unthrottled peak run) and fixed_run (a fixed-load run, one result line in
# `results`, TSV). Uses say, LAB_RUN, DNSPERF_LOAD and RUN_SECONDS from bench.sh.

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
