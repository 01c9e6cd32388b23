#!/usr/bin/env bash
# Where a cache miss's user-space work goes, as root: the release daemon under valgrind's
# callgrind in the lab (scripts/lib/lab.sh), RATE unique-name misses a second for SECONDS
# from the client, then instructions per miss by stage (scripts/lib/miss_stages.py).
# Instruction counts do not depend on what else the machine runs, so two binaries compare
# on a busy machine too. Then, without valgrind, the daemon's syscalls and context switches
# per miss at PERF_RATE (perf stat), the kernel side of a miss.
#
#   sudo scripts/profile_miss.sh [RATE] [SECONDS]     (default 300 10; PERF_RATE=5000)
#
# Environment: TPROXY_DNS_BIN (else swift build -c release), LAB_ID, KEEP_LAB=1,
# PROFILE_OUT=DIR (the callgrind file and the annotated tree are kept there),
# DAEMON_ARGS="..." (more serve options, e.g. --upstream-retransmits 0 to compare).
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source=scripts/lib/debian_packages.sh
source scripts/lib/debian_packages.sh
# shellcheck source=scripts/lib/lab.sh
source scripts/lib/lab.sh

RATE=${1:-300}
SECONDS_OF_LOAD=${2:-10}
PERF_RATE=${PERF_RATE:-5000}
OUT=${PROFILE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/profile-miss.XXXXXX")}
mkdir -p "$OUT"

say() { printf '%s profile_miss: %s\n' "$(date +%T)" "$*" >&2; }

# A copy without DWARF (valgrind 3.19 cannot read the toolchain's DWARF 5), symbols kept,
# and a wrapper that lab_start_daemon runs in place of the binary.
prepare_binary() {
    local bin
    bin=${TPROXY_DNS_BIN:-$(swift build -c release --show-bin-path)/tproxy-dns}
    [[ -x $bin ]] || { say "no binary at $bin"; return 1; }
    cp "$bin" "$OUT/tproxy-dns" && strip --strip-debug "$OUT/tproxy-dns" || return 1
    cat >"$OUT/under-callgrind" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$OUT/callgrind.out --dump-instr=no $OUT/tproxy-dns "\$@"
WRAP
    chmod +x "$OUT/under-callgrind"
}

names() { # PREFIX COUNT: unique names the lab's knotd answers by wildcard
    awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d.wild.example.test A\n", p, i }'
}

misses() { # FILE RATE SECONDS: dnsperf from the client at the decoy; prints completed queries
    lab_exec client timeout $(($3 + 60)) dnsperf -s "$LAB_DECOY_V4" -d "$1" -l "$3" -c 8 -q 500 -t 5 -Q "$2" \
        >"$OUT/dnsperf.txt" 2>&1
    awk '/Queries completed:/ { print $3 }' "$OUT/dnsperf.txt"
}

callgrind_section() {
    TPROXY_DNS_BIN=$OUT/under-callgrind lab_start_daemon --cache-size 100000 ${DAEMON_ARGS:-} >/dev/null 2>&1 || {
        say "daemon under valgrind did not start"; return 1; }
    # Lazy set-up (first query, first upstream socket) stays out of the counts.
    lab_exec client dig +short +tries=1 +time=5 "@$LAB_DECOY_V4" warm.wild.example.test >/dev/null
    local vg
    vg=$(cat "$LAB_RUN/daemon.pid")
    callgrind_control -z "$vg" >/dev/null || return 1
    names cg $((RATE * SECONDS_OF_LOAD)) >"$OUT/names.txt"
    local completed
    completed=$(misses "$OUT/names.txt" "$RATE" "$SECONDS_OF_LOAD")
    callgrind_control -d "$vg" >/dev/null || return 1
    lab_stop_daemon 2>/dev/null
    local dump
    dump=$(ls -t "$OUT"/callgrind.out.* 2>/dev/null | head -n 1)
    callgrind_annotate --tree=calling --inclusive=yes --threshold=100 "$dump" >"$OUT/tree.txt" 2>/dev/null
    echo "## User space: instructions per miss ($completed misses at $RATE/s, callgrind)"
    echo
    python3 scripts/lib/miss_stages.py "$OUT/tree.txt" "$completed"
}

perf_section() {
    lab_start_daemon --cache-size 100000 ${DAEMON_ARGS:-} >/dev/null 2>&1 || return 1
    local pid completed
    pid=$(cat "$LAB_RUN/daemon.pid")
    names pf $((PERF_RATE * 5)) >"$OUT/names-perf.txt"
    perf stat -e raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg \
        -p "$pid" -o "$OUT/perf.txt" &
    local perf=$!
    completed=$(misses "$OUT/names-perf.txt" "$PERF_RATE" 5)
    kill -INT "$perf"; wait "$perf"
    lab_stop_daemon 2>/dev/null
    echo
    echo "## Kernel side: per miss at $PERF_RATE/s ($completed misses, perf stat on the daemon)"
    echo
    echo "| event | per miss |"
    echo "|---|--:|"
    awk -v n="$completed" '$2 ~ /raw_syscalls|context-switches|sys_enter_/ {
        gsub(",", "", $1); sub(/^syscalls:sys_enter_/, "", $2); sub(/^raw_syscalls:sys_enter/, "all syscalls", $2)
        printf "| %s | %.2f |\n", $2, $1 / n }' "$OUT/perf.txt"
}

main() {
    ensure_debian_packages valgrind linux-perf dnsperf knot nftables iproute2 dnsutils || return 1
    prepare_binary || return 1
    lab_up >/dev/null || return 1
    lab_start_upstream >/dev/null || return 1
    callgrind_section || return 1
    perf_section || return 1
    say "kept in $OUT"
}

lab_main main
