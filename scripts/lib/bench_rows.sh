# shellcheck shell=bash
# Sourced after scripts/lib/lab.sh by scripts/bench.sh: the rows of the benchmark. Each
# function leaves lab.sh's own behaviour alone; the gw ruleset is swapped per row and
# bench_gw_tproxy "$DAEMON_PORT" puts the lab's default back.
#
#   bench_gw_tproxy PORT        gw: client UDP/TCP dport 53 → TPROXY to :PORT (the lab's own
#                               table inet tproxy_dns_lab, so lab_gw_tproxy_packets still works);
#                               removes the DNAT table
#   bench_gw_dnat ADDR PORT     gw: no TPROXY; nat prerouting DNATs client dport 53 to
#                               ADDR:PORT, conntrack rewrites the replies' source back
#   bench_client_spread N       client: IPv6 queries to 2001:db8:3::53 leave for one of N
#                               addresses (2001:db8:3::1:0 + i, round robin) and their
#                               replies come back as from 2001:db8:3::53, statelessly, so
#                               dnsperf (one -s server) exercises N targeted servers.
#                               N <= 1 removes the rewrite.
#   bench_gw_seen_start        gw: from now on remember every address client queries go to
#   bench_gw_seen_count        how many distinct addresses since bench_gw_seen_start; stops
#                               remembering (the set costs per-packet work in the gw)
#   bench_start ROW             start ROW's daemon in gw (lab_spawn, PID in
#                               $LAB_RUN/spawn-ROW.pid) and wait until it listens (limit
#                               with BENCH_LIMIT_WORKERS > 1: until all its sockets do);
#                               rows: limit, unbound-tproxy, unbound-dnat, dnsdist-dnat,
#                               dnsmasq-dnat (tproxy-dns itself: lab_start_daemon)
#   bench_limit_worker_split    after bench_stop limit: each worker's answered count from
#                               its log, "w0 N, w1 N (P% : P%)"; empty with one worker
#   bench_stop ROW              stop it by PID; lab_spawn_status has its exit status
#   bench_pid ROW               its PID
#
# Settings: BENCH_UPSTREAM (the daemons' one upstream, an IPv4 address; default knotd's,
# $LAB_UPSTREAM_V4; tproxy-dns takes LAB_DAEMON_UPSTREAMS instead), BENCH_CACHE_ENTRIES
# (100000), BENCH_MAX_IN_FLIGHT (4096: tproxy-dns --max-in-flight, Unbound
# num-queries-per-thread), BENCH_UNBOUND_THREADS (1), BENCH_DNSMASQ_FORWARD_MAX (unset:
# dnsmasq's default of 150), BENCH_LIMIT_WORKERS (1: bench-limit --workers; above 1, that many
# threads on one SO_REUSEPORT group of TPROXY sockets), BENCH_WORKERS (1: tproxy-dns serve
# --workers, used by scripts/bench.sh).

BENCH_CACHE_ENTRIES=${BENCH_CACHE_ENTRIES:-100000}
BENCH_MAX_IN_FLIGHT=${BENCH_MAX_IN_FLIGHT:-4096}
BENCH_UNBOUND_THREADS=${BENCH_UNBOUND_THREADS:-1}
BENCH_LIMIT_WORKERS=${BENCH_LIMIT_WORKERS:-1}
BENCH_WORKERS=${BENCH_WORKERS:-1}
BENCH_GW_ADDR=192.0.2.1 # gw-client's address: where the DNAT rows' daemons listen
BENCH_SPREAD_BASE=2001:db8:3::1: # + hex index: the spread addresses, inside the decoy's /64

bench__say() { echo "bench_rows.sh: $*" >&2; }
bench_upstream() { echo "${BENCH_UPSTREAM:-$LAB_UPSTREAM_V4}"; }

bench_gw_tproxy() {
    local port=${1:?port}
    lab_exec gw nft delete table ip bench_dnat 2>/dev/null
    lab_exec gw nft delete table inet tproxy_dns_lab 2>/dev/null
    lab_exec gw nft -f - <<EOF
table inet tproxy_dns_lab {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        iifname "gw-client" udp dport 53 counter tproxy to :$port meta mark set 1 accept
        iifname "gw-client" tcp dport 53 counter tproxy to :$port meta mark set 1 accept
    }
}
EOF
}

bench_gw_dnat() {
    local addr=${1:?address} port=${2:?port}
    lab_exec gw nft delete table inet tproxy_dns_lab 2>/dev/null
    lab_exec gw nft delete table ip bench_dnat 2>/dev/null
    lab_exec gw nft -f - <<EOF
table ip bench_dnat {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "gw-client" udp dport 53 counter dnat to $addr:$port
        iifname "gw-client" tcp dport 53 counter dnat to $addr:$port
    }
}
EOF
}

bench_spread_address() { printf '%s%x\n' "$BENCH_SPREAD_BASE" "$1"; }

bench_client_spread() {
    local n=${1:?count} i elements=
    lab_exec client nft delete table ip6 bench_spread 2>/dev/null
    ((n > 1)) || return 0
    for ((i = 0; i < n; i++)); do
        elements+="${elements:+, }$i : $(bench_spread_address "$i")"
    done
    # A route-type output chain re-routes the packet after the rewrite. nft fixes the UDP
    # checksum itself: the addresses are part of its pseudo-header. No conntrack: every
    # datagram of one dnsperf socket goes to the next address.
    lab_exec client nft -f - <<EOF
table ip6 bench_spread {
    chain output {
        type route hook output priority mangle; policy accept;
        ip6 daddr $LAB_DECOY_V6 udp dport 53 ip6 daddr set numgen inc mod $n map { $elements }
    }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        ip6 saddr ${BENCH_SPREAD_BASE}0/112 udp sport 53 ip6 saddr set $LAB_DECOY_V6
    }
}
EOF
}

bench_gw_seen_start() {
    lab_exec gw nft delete table inet bench_seen 2>/dev/null
    lab_exec gw nft -f - <<'EOF'
table inet bench_seen {
    set v4 { type ipv4_addr; size 65536; flags dynamic; }
    set v6 { type ipv6_addr; size 65536; flags dynamic; }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        iifname "gw-client" meta nfproto ipv4 udp dport 53 add @v4 { ip daddr }
        iifname "gw-client" meta nfproto ipv6 udp dport 53 add @v6 { ip6 daddr }
    }
}
EOF
}

bench_gw_seen_count() {
    local json
    json=$(lab_exec gw nft -j list table inet bench_seen) || return 1
    lab_exec gw nft delete table inet bench_seen
    python3 -c 'import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))' <<<"$json"
}

bench_pid() { cat "$LAB_RUN/spawn-$1.pid" 2>/dev/null; }

# bench__wait_listening ROW PORT [ADDR [SOCKETS]]: until something in gw listens on udp PORT
# (on ADDR; with SOCKETS, until that many sockets do).
bench__wait_listening() {
    local row=$1 port=$2 addr=${3:-} sockets=${4:-1} i filter
    filter="sport = :$port"
    [[ -n $addr ]] && filter="src $addr and sport = :$port"
    for ((i = 0; i < 100; i++)); do
        if ! lab_spawn_alive "$row"; then
            bench__say "$row exited during startup; log:"
            sed "s/^/  $row| /" "$LAB_RUN/$row.log" >&2
            return 1
        fi
        (($(lab_exec gw ss -Hlun "$filter" 2>/dev/null | wc -l) >= sockets)) && return 0
        sleep 0.1
    done
    bench__say "$row does not listen on udp $addr:$port ($sockets sockets) after 10 s; log:"
    sed "s/^/  $row| /" "$LAB_RUN/$row.log" >&2
    return 1
}

# Unbound as a forwarder: no validator module, "test." (a default local zone, RFC 6761)
# forwarded like everything else, one thread unless BENCH_UNBOUND_THREADS says otherwise.
# The caches are bytes, not entries: 50 MB of messages and 100 MB of RRsets hold well over
# BENCH_CACHE_ENTRIES of the lab's ~100-byte answers.
bench__unbound_conf() {
    local mode=$1 dir=$2 listen
    if [[ $mode == tproxy ]]; then
        # TPROXY hands packets to a transparent socket; interface-automatic (IP_PKTINFO) makes
        # each reply leave from the address the query was sent to.
        listen="    interface-automatic: yes
    ip-transparent: yes"
    else
        listen="    interface: $BENCH_GW_ADDR"
    fi
    cat <<EOF
# Generated by scripts/lib/bench_rows.sh
server:
    verbosity: 0
    num-threads: $BENCH_UNBOUND_THREADS
$listen
    port: 53
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    access-control: 192.0.2.0/24 allow
    access-control: 2001:db8:1::/64 allow
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    use-syslog: no
    logfile: ""
    module-config: "iterator"
    local-zone: "test." nodefault
    do-not-query-localhost: no
    qname-minimisation: no
    msg-cache-size: 50m
    rrset-cache-size: 100m
    num-queries-per-thread: $BENCH_MAX_IN_FLIGHT
    outgoing-range: $((BENCH_MAX_IN_FLIGHT * 2))
    so-rcvbuf: 4m
    so-sndbuf: 4m
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: $(bench_upstream)
EOF
}

# dnsdist: one backend (health-checked with a name knotd serves), packet cache on, recvmmsg
# batches like tproxy-dns's, no security polling (it would resolve through the host).
bench__dnsdist_conf() {
    cat <<EOF
-- Generated by scripts/lib/bench_rows.sh
setSecurityPollSuffix("")
setLocal("$BENCH_GW_ADDR:53")
setACL({"192.0.2.0/24", "2001:db8:1::/64"})
setUDPMultipleMessagesVectorSize(32)
newServer({address="$(bench_upstream):53", name="knotd", checkName="example.test."})
pc = newPacketCache($BENCH_CACHE_ENTRIES, {maxTTL=86400, minTTL=0})
getPool(""):setCache(pc)
EOF
}

bench_start() {
    local row=${1:?row} bin dir
    [[ -n $LAB_RUN ]] || { bench__say "bench_start: lab is not up"; return 1; }
    dir=$LAB_RUN/$row
    mkdir -p "$dir"
    case $row in
        limit)
            bin=$(lab_daemon_bin) || return 1
            # --workers only when asked for, so a binary from before the option still runs the row.
            local workers=()
            ((BENCH_LIMIT_WORKERS > 1)) && workers=(--workers "$BENCH_LIMIT_WORKERS")
            lab_spawn gw "$row" "$bin" bench-limit --port "$DAEMON_PORT" "${workers[@]}" || return 1
            bench__wait_listening "$row" "$DAEMON_PORT" "" "$BENCH_LIMIT_WORKERS"
            ;;
        unbound-tproxy | unbound-dnat)
            bench__unbound_conf "${row#unbound-}" "$dir" >"$dir/unbound.conf"
            unbound-checkconf "$dir/unbound.conf" >&2 || return 1
            lab_spawn gw "$row" unbound -d -c "$dir/unbound.conf" || return 1
            bench__wait_listening "$row" 53
            ;;
        dnsdist-dnat)
            bench__dnsdist_conf >"$dir/dnsdist.conf"
            lab_spawn gw "$row" dnsdist --supervised --disable-syslog -C "$dir/dnsdist.conf" || return 1
            bench__wait_listening "$row" 53 "$BENCH_GW_ADDR"
            ;;
        unbound-dot)
            bench_dot_server_up || return 1
            bench_dot_unbound_conf "$dir" >"$dir/unbound.conf"
            unbound-checkconf "$dir/unbound.conf" >&2 || return 1
            lab_spawn gw "$row" unbound -d -c "$dir/unbound.conf" || return 1
            bench__wait_listening "$row" 53 "$BENCH_GW_ADDR"
            ;;
        dnsmasq-dnat)
            # --dns-forward-max stays at its default (150) unless BENCH_DNSMASQ_FORWARD_MAX says
            # otherwise: dnsmasq searches its forward records linearly, and with 4096 of them
            # the miss workload collapsed to ~20 answers/s (1000: ~4,000/s). At 150 it answers
            # REFUSED to queries beyond that many in flight, which the table's notes show.
            # Its misses also slow down sharply once the cache is full (it warns above 10,000
            # entries; measured: ~3,600 misses/s with 10,000, next to none with 100,000).
            local forward_max=()
            [[ -n ${BENCH_DNSMASQ_FORWARD_MAX:-} ]] && forward_max=(--dns-forward-max="$BENCH_DNSMASQ_FORWARD_MAX")
            lab_spawn gw "$row" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
                --server="$(bench_upstream)" --listen-address="$BENCH_GW_ADDR" --bind-interfaces --port=53 \
                --cache-size="$BENCH_CACHE_ENTRIES" "${forward_max[@]}" \
                --pid-file="$dir/dnsmasq.pid" --user=root --log-facility=- || return 1
            bench__wait_listening "$row" 53 "$BENCH_GW_ADDR"
            ;;
        *) bench__say "unknown row '$row'"; return 1 ;;
    esac
}

bench_stop() { lab_spawn_stop "${1:?row}"; }

bench_limit_worker_split() {
    # Log lines: "tproxy-dns bench-limit: worker 0: answered 123, too short ..."; the log
    # is appended to per start ("--- TIME CMD"), so only the last start's lines count.
    awk '/^--- / { n = 0; total = 0 }
        / bench-limit: worker [0-9]+: answered / { w[n] = $4; a[n] = $6 + 0; total += a[n]; n++ }
        END {
            if (n < 2) exit
            for (i = 0; i < n; i++) printf "%sw%s %d", i ? ", " : "", substr(w[i], 1, length(w[i]) - 1), a[i]
            printf " ("; for (i = 0; i < n; i++) printf "%s%.0f%%", i ? " : " : "", total ? a[i] * 100 / total : 0
            printf ")\n" }' "$LAB_RUN/limit.log"
}
