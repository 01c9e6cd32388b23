# shellcheck shell=bash
# Sourced by scripts/bench.sh after scripts/lib/bench_rows.sh: the DNS-over-TLS upstream
# rows. Both forward misses over TLS to the same DoT server on up, Unbound from Debian
# serving 198.51.100.55:853 with a certificate from a throwaway CA made here with openssl,
# itself forwarding to the lab's knotd. Only the miss workload differs from the plain rows
# (hits never leave the gateway), at BENCH_DOT_MISS_QPS (2000; the DoT server shares the
# machine).
#
#   tproxy-dns-dot   tproxy-dns serve --upstream tls://198.51.100.55#dot.bench.test (TPROXY)
#   unbound-dot      Unbound on 192.0.2.1 (DNAT) with forward-tls-upstream to the same server
#
#   bench_dot_server_up         once per run: the address, the CA, the DoT server; waits
#                               until it answers over TLS
#   bench_dot_start_tproxy_dns  the tproxy-dns row's daemon (lab_start_daemon)
#   bench_dot_unbound_conf DIR  the unbound-dot row's configuration

BENCH_DOT_ADDR=198.51.100.55
BENCH_DOT_NAME=dot.bench.test
BENCH_DOT_MISS_QPS=${BENCH_DOT_MISS_QPS:-2000}

bench_dot_server_up() {
    local dir=$LAB_RUN/dot-server i
    lab_spawn_alive dot-server && return 0
    mkdir -p "$dir"
    lab_exec up ip addr show dev eth0 | grep -q "inet $BENCH_DOT_ADDR/" || lab_add_upstream_address "$BENCH_DOT_ADDR" || return 1
    throwaway_ca "$dir" "$BENCH_DOT_NAME" || { bench__say "openssl could not make the DoT server's certificate"; return 1; }
    dot_server_conf "$dir" "$BENCH_DOT_ADDR" "$LAB_UPSTREAM_V4" 30000 >"$dir/unbound.conf"
    lab_spawn up dot-server unbound -c "$dir/unbound.conf" || return 1
    for ((i = 0; i < 100; i++)); do
        [[ -n $(lab_exec up kdig +short +timeout=1 +retry=0 +tls-ca="$dir/ca.pem" +tls-hostname="$BENCH_DOT_NAME" \
            "@$BENCH_DOT_ADDR" example.test SOA 2>/dev/null) ]] && return 0
        sleep 0.1
    done
    bench__say "the DoT server does not answer on $BENCH_DOT_ADDR:853 after 10 s"
    return 1
}

bench_dot_start_tproxy_dns() {
    bench_dot_server_up || return 1
    LAB_DAEMON_UPSTREAMS="tls://$BENCH_DOT_ADDR#$BENCH_DOT_NAME" lab_start_daemon --cache-size "$BENCH_CACHE_ENTRIES" \
        --max-in-flight "$BENCH_MAX_IN_FLIGHT" --upstream-ca "$LAB_RUN/dot-server/ca.pem" --no-control
}

# The DNAT Unbound row's configuration with its forward zone over TLS instead.
bench_dot_unbound_conf() {
    bench__unbound_conf dnat "$1" | sed '/^forward-zone:/,$d'
    cat <<EOF
server:
    tls-cert-bundle: "$LAB_RUN/dot-server/ca.pem"
forward-zone:
    name: "."
    forward-tls-upstream: yes
    forward-addr: $BENCH_DOT_ADDR@853#$BENCH_DOT_NAME
EOF
}
