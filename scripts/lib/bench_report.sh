# shellcheck shell=bash
# Sourced by scripts/bench.sh: the Markdown report, the machine and versions first, then the
# result table and the notes after it, then the Zipf section (report_zipf, bench_zipf.sh).

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
