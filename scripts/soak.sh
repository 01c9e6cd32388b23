#!/usr/bin/env bash
# Soak test, as root: the release daemon under steady dnsperf load in the namespace lab for
# MINUTES, while the upstream is restarted, stopped for a while and the cache is flushed.
# Watches the daemon's memory and descriptors; reports losses, crashes and growth.
#
#   sudo scripts/soak.sh [MINUTES]      (default 10)
#
# Settings (environment):
#   SOAK_QPS=20000           dnsperf -Q: the rate it offers (a ceiling, not a promise)
#   SOAK_ROUND=30            seconds per dnsperf run (-l); one disturbance per round
#   SOAK_OUTSTANDING=2000    dnsperf -q: queries in flight at most (its default, 100, caps the
#                            rate at 100 / latency: about 10k QPS at this lab's 9 ms misses)
#   SOAK_TIMEOUT=5           dnsperf -t: longer than the daemon's worst case (two upstreams
#                            times its 2 s timeout, then SERVFAIL), so "lost" means unanswered
#   SOAK_CACHE_SIZE=20000    the daemon's --cache-size
#   SOAK_UNIQUE=200000       unique *.wild.example.test names in the query file, so the cache
#                            fills and evicts (the rest of the file: names from the zone)
#   SOAK_SAMPLE=5            seconds between RSS / fd / cache samples
#   SOAK_DAEMON_ARGS=        more `serve` flags, split on spaces (e.g. "--workers 2")
#   SOAK_OUT=DIR             where results are kept (default .build-soak/results-DATE)
#   SWIFT_SCRATCH_PATH=DIR   release build dir (default .build-soak)
#   LAB_ID                   namespace prefix (default soak$$), KEEP_LAB=1 as for the lab tests
#
# Disturbances, in turn, each halfway through a round: restart knotd; stop knotd for 5 s;
# flush the cache (tproxy-dns cache flush); nothing. Everything is started by this script and
# stopped by PID; only documentation addresses are used; the namespaces go at exit.
#
# Exit status: 0 when the daemon stayed up and exited 0 on SIGTERM, 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
minutes=${1:-10}
[[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 ]] || { echo "usage: $0 [MINUTES]" >&2; exit 2; }
qps=${SOAK_QPS:-20000}
round_seconds=${SOAK_ROUND:-30}
outstanding=${SOAK_OUTSTANDING:-2000}
query_timeout=${SOAK_TIMEOUT:-5}
cache_size=${SOAK_CACHE_SIZE:-20000}
unique=${SOAK_UNIQUE:-200000}
sample_every=${SOAK_SAMPLE:-5}
scratch=${SWIFT_SCRATCH_PATH:-.build-soak}
out=${SOAK_OUT:-$repo/.build-soak/results-$(date +%Y%m%d-%H%M%S)}
export LAB_ID=${LAB_ID:-soak$$}

# shellcheck source=scripts/lib/debian_packages.sh
source scripts/lib/debian_packages.sh
# shellcheck source=scripts/lib/lab.sh
source scripts/lib/lab.sh

if ((EUID != 0)); then
    echo "soak.sh: needs root (network namespaces, nftables)" >&2
    exit 2
fi
ensure_debian_packages dnsperf knot knot-dnsutils dnsutils nftables iproute2 python3 util-linux libldns-dev libssl-dev pkg-config
if ! why=$(lab_check_kernel); then
    echo "soak.sh: the lab cannot run here: $why" >&2
    exit 2
fi

echo "== swift build -c release --scratch-path $scratch"
swift build -c release --scratch-path "$scratch"
TPROXY_DNS_BIN="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/tproxy-dns"
export TPROXY_DNS_BIN
mkdir -p "$out"

# The query file: per 10 lines, 3 names from zones/example.test.zone (cache hits after the
# first round) and 7 never asked before (wildcard answers, each a new cache entry).
make_query_file() {
    python3 - "$unique" >"$out/queries.txt" <<'EOF'
import sys
unique = int(sys.argv[1])
known = ["example.test A", "example.test AAAA", "example.test MX", "example.test NS", "example.test SOA",
         "www.example.test A", "www.example.test AAAA", "mail.example.test A", "txt.example.test TXT",
         "v4only.example.test AAAA", "medium.example.test TXT", "big.example.test TXT",
         "nothing.example.test A", "ns1.example.test AAAA"]
k = 0
for i in range(unique):
    print(f"u{i}.wild.example.test A")
    if i % 7 in (0, 3, 5):
        print(known[k % len(known)])
        k += 1
EOF
}

sampler_pid=
stop_sampler() {
    if [[ -n $sampler_pid ]] && kill -0 "$sampler_pid" 2>/dev/null; then
        kill "$sampler_pid" 2>/dev/null || true
        wait "$sampler_pid" 2>/dev/null || true
    fi
    sampler_pid=
}

# One line every SOAK_SAMPLE seconds: elapsed, VmRSS kB, open fds, cache entries, alive.
sample_loop() {
    local pid=$1 start=$2 rss fds entries alive
    while :; do
        alive=1 rss=- fds=-
        if [[ -r /proc/$pid/status ]]; then
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo -)
            fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        else
            alive=0
        fi
        entries=$(timeout 5 "$TPROXY_DNS_BIN" cache stats --json --control "$LAB_CONTROL" 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["cache"]["entries"])' 2>/dev/null || echo -)
        printf '%s\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - start))" "${rss:--}" "$fds" "$entries" "$alive"
        sleep "$sample_every"
    done
}

# disturb ROUND: the round's disturbance; prints what it did.
disturb() {
    case $(($1 % 4)) in
        0)
            lab_stop_upstream >/dev/null 2>&1 && lab_start_upstream >/dev/null 2>&1
            echo "restart knotd"
            ;;
        1)
            lab_stop_upstream >/dev/null 2>&1
            sleep 5
            lab_start_upstream >/dev/null 2>&1
            echo "knotd down 5 s"
            ;;
        2)
            local flushed
            flushed=$("$TPROXY_DNS_BIN" cache flush --control "$LAB_CONTROL" 2>&1 || true)
            echo "cache flush ($flushed)"
            ;;
        3) echo "-" ;;
    esac
}

# udp_counter NODE FIELD: IPv4 + IPv6 UDP FIELD (RcvbufErrors, NoPorts) from the node's
# /proc/net/snmp{,6}: where datagrams were dropped, to tell whose losses dnsperf counted.
udp_counter() {
    lab_exec "$1" cat /proc/net/snmp /proc/net/snmp6 2>/dev/null | awk -v f="$2" '
        $1 == "Udp:" && !names { for (i = 2; i <= NF; i++) col[$i] = i; names = 1; next }
        $1 == "Udp:" && names { n += $(col[f]) }
        $1 == "Udp6" f { n += $2 }
        END { print n + 0 }'
}

# dnsperf_field LOG LABEL: the number after "LABEL:" in dnsperf's statistics.
dnsperf_field() { sed -nE "s/^ *$2: *([0-9.]+).*/\1/p" "$1" | head -n 1; }

main() {
    lab_up
    lab_start_upstream
    # shellcheck disable=SC2086 # SOAK_DAEMON_ARGS is a list of flags
    lab_start_daemon --control "$LAB_RUN/control.sock" --cache-size "$cache_size" ${SOAK_DAEMON_ARGS:-}
    local daemon_pid start rounds round log sent completed lost servfail rate latency event status
    daemon_pid=$(cat "$LAB_RUN/daemon.pid")
    make_query_file
    echo "soak: $minutes min, dnsperf -Q $qps -q $outstanding -t $query_timeout in ${round_seconds}s rounds, cache $cache_size entries," \
        "$(wc -l <"$out/queries.txt") query lines, daemon pid $daemon_pid, results in $out"

    start=$(date +%s)
    sample_loop "$daemon_pid" "$start" >"$out/samples.tsv" &
    sampler_pid=$!

    rounds=$(((minutes * 60 + round_seconds - 1) / round_seconds))
    printf 'round\tstart_s\tsent\tcompleted\tlost\tservfail\tqps\tavg_latency_ms\tdisturbance\n' >"$out/rounds.tsv"
    for ((round = 0; round < rounds; round++)); do
        log=$out/dnsperf-$round.log
        local t0=$(($(date +%s) - start))
        # -c 4 sockets; the file is looped until -l ends the round.
        lab_exec client timeout $((round_seconds + 30)) dnsperf -s "$LAB_DECOY_V4" -d "$out/queries.txt" \
            -l "$round_seconds" -Q "$qps" -q "$outstanding" -c 4 -t "$query_timeout" >"$log" 2>&1 &
        local perf=$!
        sleep $((round_seconds / 2))
        event=$(disturb "$round")
        status=0
        wait "$perf" || status=$?
        sent=$(dnsperf_field "$log" "Queries sent")
        completed=$(dnsperf_field "$log" "Queries completed")
        lost=$(dnsperf_field "$log" "Queries lost")
        rate=$(dnsperf_field "$log" "Queries per second")
        servfail=$(sed -nE 's/.*SERVFAIL ([0-9]+).*/\1/p' "$log" | head -n 1)
        latency=$(sed -nE 's/^ *Average Latency \(s\): *([0-9.]+).*/\1/p' "$log" | awk '{ printf "%.2f", $1 * 1000 }')
        ((status == 0)) || event="$event; dnsperf exit $status"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$t0" "${sent:-?}" "${completed:-?}" "${lost:-?}" \
            "${servfail:-0}" "${rate:-?}" "${latency:-?}" "$event" >>"$out/rounds.tsv"
        echo "round $round: sent ${sent:-?} completed ${completed:-?} lost ${lost:-?} (${rate:-?} qps); $event"
        lab_daemon_alive || { echo "soak: the daemon died in round $round"; break; }
    done
    sleep "$sample_every" # one more sample at rest
    stop_sampler

    local drops
    drops="UDP receive-buffer drops: client (dnsperf) $(udp_counter client RcvbufErrors), gw (daemon) $(udp_counter gw RcvbufErrors), up (knotd) $(udp_counter up RcvbufErrors); to a closed port on up (knotd down): $(udp_counter up NoPorts)"
    local alive_at_end=no
    lab_daemon_alive && alive_at_end=yes
    cp "$LAB_RUN/daemon.log" "$out/daemon.log" 2>/dev/null || true
    lab_stop_daemon
    local exit_status=$LAB_DAEMON_EXIT_STATUS
    cp "$LAB_RUN/daemon.log" "$out/daemon.log" 2>/dev/null || true

    echo
    echo "== rounds"
    column -t -s $'\t' "$out/rounds.tsv"
    echo
    echo "== samples (every ${sample_every}s)"
    { printf 't_s\trss_kb\tfds\tcache_entries\talive\n'; cat "$out/samples.tsv"; } | column -t -s $'\t'
    echo
    echo "== summary"
    awk -F'\t' 'NR > 1 { s += $3; c += $4; l += $5; f += $6 }
        END { printf "queries: sent %d, answered %d (SERVFAIL %d), lost %d (%.3f%%)\n", s, c, f, l, (s ? 100 * l / s : 0) }' "$out/rounds.tsv"
    # RSS from the first sample where the cache held (nearly) its capacity onwards.
    awk -F'\t' -v cap="$cache_size" '
        $2 != "-" && $3 != "-" { if (fmin == "" || $3 < fmin) fmin = $3; if ($3 > fmax) fmax = $3 }
        $4 != "-" && $4 >= cap * 0.99 && !full { full = 1; first = $2; t = $1 }
        full && $2 != "-" { last = $2; if ($2 > max) max = $2 }
        END {
            if (full) printf "RSS after the cache first filled (t=%ss): first %d kB, last %d kB, max %d kB (%+d kB first to last)\n", t, first, last, max, last - first
            else print "RSS: the cache never filled (raise SOAK_UNIQUE or the minutes)"
            printf "open fds: min %s, max %s\n", fmin, fmax
        }' "$out/samples.tsv"
    echo "$drops"
    local crashed=0 deaths
    deaths=$(awk -F'\t' '$5 == 0' "$out/samples.tsv" | wc -l)
    echo "daemon: alive at the end: $alive_at_end; samples with it gone: $deaths; exit status on SIGTERM: $exit_status"
    if [[ $alive_at_end != yes || $exit_status != 0 ]]; then crashed=1; fi
    echo "results kept in $out"
    return "$crashed"
}

cleanup() {
    stop_sampler
    lab_down
}

# lab_main runs this in a subshell that owns the lab; the EXIT trap here replaces its
# lab_down with one that also stops the sampler.
soak_main() {
    trap cleanup EXIT
    main
}

lab_main soak_main
