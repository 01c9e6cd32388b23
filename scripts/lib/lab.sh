# shellcheck shell=bash disable=SC2120 # lab_start_daemon takes optional daemon flags
# Sourced. A four-namespace lab for tproxy-dns; nothing in it touches the root namespace's
# links, routes or rules, and all addresses come from the documentation ranges.
#
#   client 192.0.2.10      2001:db8:1::10  --+
#                                            | gw-client  192.0.2.1      2001:db8:1::1
#   up     198.51.100.53   2001:db8:2::53  --+ gw-up      198.51.100.1   2001:db8:2::1   gw
#          (knotd, zones/)                   |
#   decoy  203.0.113.53    2001:db8:3::53  --+ gw-decoy   203.0.113.1    2001:db8:3::1
#          (no DNS server: only owns the address clients query)
#
# On gw, nftables TPROXY hands every UDP/TCP port-53 packet arriving from the client to
# the daemon's socket on DAEMON_PORT (default 5353), whatever its destination.
#
# Functions (each returns non-zero and says why on stderr when it fails):
#   lab_up                      create namespaces, links, addresses, routes, nft rules
#                               (the gw's TPROXY rules unless LAB_NO_TPROXY=1)
#   lab_down                    stop what the lab started (by PID), delete the namespaces,
#                               remove the run dir unless KEEP_LAB=1; idempotent
#   lab_cleanup_on_exit         trap: lab_down on EXIT, and on INT/TERM
#   lab_main CMD...             run CMD (a script's main function) so that Ctrl-C stops it
#                               at once and the lab is always taken down
#   lab_exec NODE CMD...        run CMD in a node's namespace (client|gw|up|decoy)
#   lab_start_upstream          knotd on up, serving zones/*.zone; waits until it answers
#   lab_stop_upstream           SIGTERM knotd; waits until it is gone
#   lab_silence_upstream        drop port-53 packets on up: knotd runs but never answers
#   lab_unsilence_upstream      undo lab_silence_upstream
#   lab_start_daemon ARGS...    $TPROXY_DNS_BIN serve ... ARGS in gw, log in the run dir;
#                               waits until it listens on DAEMON_PORT
#   lab_stop_daemon             SIGTERM the daemon; its exit status in LAB_DAEMON_EXIT_STATUS
#   lab_daemon_alive            true while the daemon process runs
#   lab_daemon_bin              prints the daemon binary's path
#   lab_check_kernel            can this machine run the lab? (root, netns, nft TPROXY, IPv6)
#                               prints the reason and returns 1 if not
#   lab_decoy_dns_packets       port-53 packets the decoy itself has received
#   lab_gw_tproxy_packets       port-53 packets from the client the gw rule has seen
#
# For tests with more than one upstream:
#   lab_add_upstream_address ADDR   one more address on up's eth0 (IPv4 /24 or IPv6 /64)
#   lab_start_knotd NAME ADDR...    another knotd on up, serving zones/*.zone on ADDR port 53;
#                               run dir $LAB_RUN/knot-NAME, log knotd-NAME.log; waits until
#                               it answers on every ADDR
#   lab_stop_knotd NAME         SIGTERM that knotd; waits until it is gone
#   lab_spawn NODE NAME CMD...  CMD in the background in NODE's namespace, output in
#                               $LAB_RUN/NAME.log, PID in $LAB_RUN/spawn-NAME.pid
#   lab_spawn_stop NAME         stop what lab_spawn NAME started; status in lab_spawn_status
#   lab_spawn_alive NAME        true while it runs
#   lab_silence_address ADDR    drop port-53 packets to ADDR only, on up
#   lab_unsilence_address ADDR  undo lab_silence_address ADDR
#   lab_count_upstream_queries  from now on count port-53 packets reaching up from the gw
#                               (calling it again resets the counts)
#   lab_upstream_udp_queries    UDP port-53 datagrams up received since then
#   lab_upstream_tcp_connections  TCP connections (SYNs) to port 53 up received since then
#   lab_daemon_log_since MARK   daemon.log lines after the line count MARK
#                               (MARK=$(lab_daemon_log_lines))
#
# Settings (environment): LAB_ID (namespace prefix, default tpd$$), DAEMON_PORT (5353),
# LAB_NO_TPROXY=1 (lab_up installs no TPROXY nft table, ip rules or routes on gw: for tests
# of `tproxy-dns rules`),
# TPROXY_DNS_BIN, SWIFT_SCRATCH_PATH (for the default binary path), KEEP_LAB=1,
# LAB_DAEMON_UPSTREAMS (the daemon's --upstream values, space-separated; default
# "198.51.100.53 [2001:db8:2::53]:53").
# Set after lab_up: LAB_RUN (run dir: knot.conf, *.pid, knotd.log, daemon.log).
# Set by lab_start_daemon: LAB_CONTROL (the daemon's control socket, in the run dir).

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_ID=${LAB_ID:-tpd$$}
DAEMON_PORT=${DAEMON_PORT:-5353}
LAB_RUN=${LAB_RUN:-}
LAB_DAEMON_EXIT_STATUS=
LAB_NODES=(client gw up decoy)
LAB_KERNEL_CHECK_NODE=kcheck # a throwaway namespace; lab_down deletes it too

LAB_CLIENT_V4=192.0.2.10
LAB_CLIENT_V6=2001:db8:1::10
LAB_UPSTREAM_V4=198.51.100.53
LAB_UPSTREAM_V6=2001:db8:2::53
LAB_DECOY_V4=203.0.113.53
LAB_DECOY_V6=2001:db8:3::53

lab__say() { echo "lab.sh: $*" >&2; }

lab_ns() {
    case ${1-} in
        client | gw | up | decoy | "$LAB_KERNEL_CHECK_NODE") printf '%s-%s\n' "$LAB_ID" "$1" ;;
        *) lab__say "unknown node '${1-}' (client|gw|up|decoy)"; return 1 ;;
    esac
}

lab_exec() {
    local ns
    ns=$(lab_ns "${1-}") || return 1
    shift
    ip netns exec "$ns" "$@"
}

# Runs each stdin line as a command, stopping at the first that fails. lab_up is written as
# such a list because `set -e` is unreliable inside functions (ignored under `if`, `||`).
lab__run_lines() {
    local line
    while IFS= read -r line; do
        [[ -z ${line//[[:space:]]/} || $line =~ ^[[:space:]]*# ]] && continue
        eval "$line" </dev/null || { lab__say "failed: $line"; return 1; }
    done
}

# A process we started has exited once /proc says so or shows it as a zombie (an unreaped
# child still answers `kill -0`).
lab__pid_alive() {
    local stat
    [[ -n ${1-} ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Only processes inside this lab's namespaces are ever signalled: a recycled PID elsewhere
# is left alone.
lab__pid_in_lab() {
    local ns
    ns=$(ip netns identify "$1" 2>/dev/null) || return 1
    [[ $ns == "$LAB_ID"-* ]]
}

# lab__stop_pid PID NAME: SIGTERM, up to 10 s, then SIGKILL. Sets lab__stopped_status to the
# exit status when PID is our child, else to "unknown".
lab__stop_pid() {
    local pid=$1 name=$2 i
    lab__stopped_status=unknown
    if lab__pid_alive "$pid" && lab__pid_in_lab "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            lab__pid_alive "$pid" || break
            sleep 0.1
        done
        if lab__pid_alive "$pid"; then
            lab__say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # `wait` knows the status of our own children, even already reaped ones; 127 = not ours.
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    ((status != 127)) && lab__stopped_status=$status
    return 0
}

lab__require_root() {
    if ((EUID != 0)); then
        lab__say "needs root (network namespaces, nftables)"
        return 1
    fi
}

lab_check_kernel() {
    if ((EUID != 0)); then
        echo "not running as root (network namespaces and nftables need it)"
        return 1
    fi
    local tool
    for tool in ip nft knotd dig python3 setpriv ss; do
        if ! command -v "$tool" >/dev/null; then
            echo "$tool is not installed"
            return 1
        fi
    done
    local ns err reason=
    ns=$(lab_ns "$LAB_KERNEL_CHECK_NODE")
    if ! err=$(ip netns add "$ns" 2>&1); then
        echo "cannot create a network namespace: $err"
        return 1
    fi
    if ! err=$(ip netns exec "$ns" nft -f - 2>&1 <<'EOF'
table inet tproxy_dns_kernel_check {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        udp dport 53 tproxy to :5353 meta mark set 1 accept
    }
}
EOF
    ); then
        reason="nftables cannot load a tproxy rule (kernel without nft_tproxy/nf_tproxy?): $err"
    elif ! err=$({ ip -n "$ns" link set lo up && ip -n "$ns" -6 route add local ::/0 dev lo table 100; } 2>&1); then
        reason="no IPv6 policy routing in a namespace: $err"
    fi
    ip netns del "$ns" 2>/dev/null
    [[ -z $reason ]] || { echo "$reason"; return 1; }
}

lab_up() {
    lab__require_root || return 1
    if [[ $DAEMON_PORT == 53 ]]; then
        lab__say "DAEMON_PORT must not be 53: TPROXY needs the daemon on another port"
        return 1
    fi
    local n
    for n in "${LAB_NODES[@]}"; do
        if [[ -e /run/netns/$(lab_ns "$n") ]]; then
            lab__say "namespace $(lab_ns "$n") already exists: pick another LAB_ID"
            return 1
        fi
    done
    LAB_RUN=$(mktemp -d "${TMPDIR:-/tmp}/tproxy-dns-lab.XXXXXX") || return 1
    echo "$LAB_ID" >"$LAB_RUN/lab-id"

    local C G U D
    C=$(lab_ns client) G=$(lab_ns gw) U=$(lab_ns up) D=$(lab_ns decoy)
    # Namespaces inherit the host's IPv4 sysctls, so every value the lab relies on is set:
    # src_valid_mark=1 silently breaks IPv4 TPROXY; rp_filter would drop spoofed-looking
    # replies; DAD keeps fresh IPv6 addresses unbindable for ~2 s.
    local sysctls=(net.ipv4.conf.all.src_valid_mark=0 net.ipv4.conf.all.rp_filter=0
        net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0)
    local common_sysctls=${sysctls[*]}

    cat >"$LAB_RUN/gw.nft" <<EOF
table inet tproxy_dns_lab {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        iifname "gw-client" udp dport 53 counter tproxy to :$DAEMON_PORT meta mark set 1 accept
        iifname "gw-client" tcp dport 53 counter tproxy to :$DAEMON_PORT meta mark set 1 accept
    }
}
EOF
    # Counts what reaches the decoy itself: zero while the daemon intercepts.
    cat >"$LAB_RUN/decoy.nft" <<'EOF'
table inet lab_decoy {
    counter dns_queries { }
    chain input {
        type filter hook input priority filter; policy accept;
        meta l4proto { udp, tcp } th dport 53 counter name "dns_queries"
    }
}
EOF

    # TPROXY marks the packet; the mark routes it to a local table so the gw keeps it.
    local gw_tproxy_lines="# LAB_NO_TPROXY=1: no TPROXY rules, ip rules or routes on gw"
    if [[ ${LAB_NO_TPROXY:-0} != 1 ]]; then
        gw_tproxy_lines="ip -n $G rule add fwmark 1 lookup 100
ip -n $G route add local 0.0.0.0/0 dev lo table 100
ip -n $G -6 rule add fwmark 1 lookup 100
ip -n $G -6 route add local ::/0 dev lo table 100
ip netns exec $G nft -f $LAB_RUN/gw.nft"
    fi

    lab__run_lines <<EOF || { lab__say "lab_up failed (run dir $LAB_RUN)"; return 1; }
ip netns add $C
ip netns add $G
ip netns add $U
ip netns add $D
ip netns exec $C sysctl -q -w $common_sysctls
ip netns exec $G sysctl -q -w $common_sysctls net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip netns exec $U sysctl -q -w $common_sysctls
ip netns exec $D sysctl -q -w $common_sysctls

# Each veth is created inside its two namespaces, never in the root one.
ip -n $G link add gw-client type veth peer name eth0 netns $C
ip -n $G link add gw-up type veth peer name eth0 netns $U
ip -n $G link add gw-decoy type veth peer name eth0 netns $D
ip netns exec $C sysctl -q -w net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
ip netns exec $G sysctl -q -w net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.gw-client.rp_filter=0 net.ipv4.conf.gw-up.rp_filter=0 net.ipv4.conf.gw-decoy.rp_filter=0
ip netns exec $U sysctl -q -w net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
ip netns exec $D sysctl -q -w net.ipv4.conf.lo.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0

ip -n $G addr add 192.0.2.1/24 dev gw-client
ip -n $G addr add 2001:db8:1::1/64 dev gw-client nodad
ip -n $G addr add 198.51.100.1/24 dev gw-up
ip -n $G addr add 2001:db8:2::1/64 dev gw-up nodad
ip -n $G addr add 203.0.113.1/24 dev gw-decoy
ip -n $G addr add 2001:db8:3::1/64 dev gw-decoy nodad
ip -n $C addr add $LAB_CLIENT_V4/24 dev eth0
ip -n $C addr add $LAB_CLIENT_V6/64 dev eth0 nodad
ip -n $U addr add $LAB_UPSTREAM_V4/24 dev eth0
ip -n $U addr add $LAB_UPSTREAM_V6/64 dev eth0 nodad
ip -n $D addr add $LAB_DECOY_V4/24 dev eth0
ip -n $D addr add $LAB_DECOY_V6/64 dev eth0 nodad
ip -n $C link set lo up
ip -n $G link set lo up
ip -n $U link set lo up
ip -n $D link set lo up
ip -n $C link set eth0 up
ip -n $G link set gw-client up
ip -n $G link set gw-up up
ip -n $G link set gw-decoy up
ip -n $U link set eth0 up
ip -n $D link set eth0 up

ip -n $C route add default via 192.0.2.1
ip -n $C -6 route add default via 2001:db8:1::1
ip -n $U route add default via 198.51.100.1
ip -n $U -6 route add default via 2001:db8:2::1
ip -n $D route add default via 203.0.113.1
ip -n $D -6 route add default via 2001:db8:3::1

$gw_tproxy_lines
ip netns exec $D nft -f $LAB_RUN/decoy.nft
EOF
    lab__wait_ipv6_links || return 1
    lab__say "up: namespaces $LAB_ID-{client,gw,up,decoy}, run dir $LAB_RUN"
}

# A veth's carrier reaches IPv6 addrconf through linkwatch, which batches events up to a second
# apart; until then the link has no link-local address, cannot send neighbour solicitations,
# and the first IPv6 packet over it waits ~1 s for a retransmission. Measured here: the first
# query right after lab_up took 1.0 s; after this wait, under 5 ms.
lab__wait_ipv6_links() {
    local links=(client:eth0 gw:gw-client gw:gw-up gw:gw-decoy up:eth0 decoy:eth0) link addrs i
    for link in "${links[@]}"; do
        for ((i = 0; i < 100; i++)); do
            addrs=$(lab_exec "${link%%:*}" ip -6 -o addr show dev "${link#*:}" scope link 2>/dev/null)
            [[ $addrs == *fe80:* && $addrs != *tentative* ]] && break
            sleep 0.05
        done
        if ((i == 100)); then
            lab__say "no usable IPv6 link-local address on ${link#*:} in $(lab_ns "${link%%:*}") after 5 s"
            return 1
        fi
    done
}

lab_down() {
    lab_stop_daemon >/dev/null 2>&1 || true
    lab_stop_upstream >/dev/null 2>&1 || true
    local pidfile
    if [[ -n $LAB_RUN && -d $LAB_RUN ]]; then
        for pidfile in "$LAB_RUN"/spawn-*.pid; do
            [[ -f $pidfile ]] || continue
            lab__stop_pid "$(cat "$pidfile")" "${pidfile##*/}" || true
            rm -f "$pidfile"
        done
    fi
    local n ns pid
    for n in "${LAB_NODES[@]}" "$LAB_KERNEL_CHECK_NODE"; do
        ns=$(lab_ns "$n")
        [[ -e /run/netns/$ns ]] || continue
        # Anything still running inside our namespaces was started by this lab.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            lab__stop_pid "$pid" "process in $ns" || true
        done
        ip netns del "$ns" 2>/dev/null || lab__say "could not delete namespace $ns"
    done
    if [[ -n $LAB_RUN && -d $LAB_RUN ]]; then
        if [[ ${KEEP_LAB:-0} == 1 ]]; then
            lab__say "down; run dir kept: $LAB_RUN"
        else
            rm -rf -- "$LAB_RUN"
        fi
    fi
    LAB_RUN=
    return 0
}

lab_cleanup_on_exit() {
    trap 'lab_down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# lab_main CMD...: runs CMD in a background subshell that owns the lab (lab_down when it exits,
# however it exits) and waits for it. On Ctrl-C or SIGTERM the subshell gets SIGTERM, so a run
# stops after the command in progress. Without this, Ctrl-C during `dig` does not stop a
# script: dig catches SIGINT and exits normally, and bash then skips its own INT trap
# ("wait and cooperative exit") and carries on with the next test.
lab_main() {
    (
        lab_cleanup_on_exit
        "$@"
    ) &
    local body=$! status=0
    # shellcheck disable=SC2064 # $body is fixed now
    trap "kill -TERM $body 2>/dev/null" INT TERM
    while :; do
        status=0
        wait "$body" || status=$?
        # A trapped signal makes `wait` return early (> 128) while the body is still cleaning up.
        lab__pid_alive "$body" || break
    done
    trap - INT TERM
    return "$status"
}

# lab__knot_conf [DIR ADDR...]: the configuration for knotd with its state in DIR, listening
# on ADDR port 53 (default: $LAB_RUN/knot on the upstream's two addresses).
lab__knot_conf() {
    local zone dir=${1:-$LAB_RUN/knot} listen addr
    local addrs=("${@:2}")
    ((${#addrs[@]})) || addrs=("$LAB_UPSTREAM_V4" "$LAB_UPSTREAM_V6")
    listen=
    for addr in "${addrs[@]}"; do listen+="${listen:+, }\"$addr@53\""; done
    cat <<EOF
# Generated by scripts/lib/lab.sh. knotd runs as the invoking user (root); zone files are
# read from the repo and never written back.
server:
    rundir: "$dir"
    listen: [ $listen ]
    identity: ""
    version: ""

database:
    storage: "$dir"

control:
    listen: "$dir/knot.sock"

log:
  - target: stderr
    any: info

template:
  - id: default
    file: "$LAB_REPO/zones/%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: on

zone:
EOF
    for zone in "$LAB_REPO"/zones/*.zone; do
        zone=${zone##*/}
        printf '  - domain: %s\n' "${zone%.zone}"
    done
}

lab_start_upstream() {
    [[ -n $LAB_RUN ]] || { lab__say "lab_start_upstream: lab is not up"; return 1; }
    if lab__pid_alive "$(cat "$LAB_RUN/knotd.pid" 2>/dev/null)"; then
        lab__say "knotd already running"
        return 0
    fi
    local zones=("$LAB_REPO"/zones/*.zone) first pid i
    first=${zones[0]##*/}
    first=${first%.zone}
    mkdir -p "$LAB_RUN/knot"
    lab__knot_conf >"$LAB_RUN/knot.conf"
    echo "--- knotd start $(date +%T)" >>"$LAB_RUN/knotd.log"
    ip netns exec "$(lab_ns up)" knotd -c "$LAB_RUN/knot.conf" >>"$LAB_RUN/knotd.log" 2>&1 &
    pid=$!
    echo "$pid" >"$LAB_RUN/knotd.pid"
    for ((i = 0; i < 100; i++)); do
        if ! lab__pid_alive "$pid"; then
            lab__say "knotd exited during startup; log:"
            sed 's/^/  knotd| /' "$LAB_RUN/knotd.log" >&2
            return 1
        fi
        if lab_exec up dig +short +tries=1 +time=1 "@$LAB_UPSTREAM_V4" "$first" SOA 2>/dev/null | grep -q . &&
            lab_exec up dig +short +tries=1 +time=1 "@$LAB_UPSTREAM_V6" "$first" SOA 2>/dev/null | grep -q .; then
            lab__say "knotd (pid $pid) answers for $first on $LAB_UPSTREAM_V4 and $LAB_UPSTREAM_V6"
            return 0
        fi
        sleep 0.1
    done
    lab__say "knotd did not answer within 10 s; log:"
    sed 's/^/  knotd| /' "$LAB_RUN/knotd.log" >&2
    return 1
}

lab_stop_upstream() {
    [[ -n $LAB_RUN && -f $LAB_RUN/knotd.pid ]] || return 0
    local pid
    pid=$(cat "$LAB_RUN/knotd.pid")
    lab__stop_pid "$pid" knotd
    rm -f "$LAB_RUN/knotd.pid"
    lab__say "knotd (pid $pid) stopped"
}

# Stopping knotd is not a timeout test: the upstream's kernel answers ICMP port unreachable,
# and a connected upstream socket fails at once with ECONNREFUSED. Dropping is silence.
lab_silence_upstream() {
    lab_exec up nft -f - <<'EOF'
table inet lab_silence {
    chain input {
        type filter hook input priority filter; policy accept;
        meta l4proto { udp, tcp } th dport 53 drop
    }
}
EOF
}

lab_unsilence_upstream() { lab_exec up nft delete table inet lab_silence; }

lab_daemon_bin() {
    if [[ -z ${TPROXY_DNS_BIN:-} ]]; then
        local dir
        dir=$(cd "$LAB_REPO" && swift build -c release ${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"} --show-bin-path) || return 1
        TPROXY_DNS_BIN=$dir/tproxy-dns
    fi
    printf '%s\n' "$TPROXY_DNS_BIN"
}

lab_daemon_alive() {
    [[ -n $LAB_RUN ]] && lab__pid_alive "$(cat "$LAB_RUN/daemon.pid" 2>/dev/null)"
}

lab_start_daemon() {
    [[ -n $LAB_RUN ]] || { lab__say "lab_start_daemon: lab is not up"; return 1; }
    local bin pid i
    bin=$(lab_daemon_bin) || return 1
    if [[ ! -x $bin ]]; then
        lab__say "daemon binary not found: $bin (run 'swift build -c release' or set TPROXY_DNS_BIN)"
        return 1
    fi
    local upstream list upstreams=()
    read -r -a list <<<"${LAB_DAEMON_UPSTREAMS:-$LAB_UPSTREAM_V4 [$LAB_UPSTREAM_V6]:53}"
    for upstream in "${list[@]}"; do upstreams+=(--upstream "$upstream"); done
    # Each lab's daemon gets its own control socket, so labs can run side by side.
    local control=(--control "$LAB_RUN/control.sock") arg
    # The lab's client lives in documentation ranges, outside the daemon's default --allow.
    local allow=(--allow 192.0.2.0/24 --allow 2001:db8:1::/64)
    for arg in "$@"; do
        [[ $arg == --control || $arg == --no-control ]] && control=()
        [[ $arg == --allow || $arg == --config || $arg == --install-rules ]] && allow=()
    done
    LAB_CONTROL=$LAB_RUN/control.sock
    local cmd=("$bin" serve --port "$DAEMON_PORT" "${upstreams[@]}" "${control[@]}" "${allow[@]}" "$@")
    echo "--- $(date +%T) ${cmd[*]}" >>"$LAB_RUN/daemon.log"
    ip netns exec "$(lab_ns gw)" "${cmd[@]}" >>"$LAB_RUN/daemon.log" 2>&1 &
    pid=$!
    echo "$pid" >"$LAB_RUN/daemon.pid"
    LAB_DAEMON_EXIT_STATUS=
    for ((i = 0; i < 100; i++)); do
        if ! lab__pid_alive "$pid"; then
            local status=0
            wait "$pid" 2>/dev/null || status=$?
            LAB_DAEMON_EXIT_STATUS=$status
            lab__say "daemon exited during startup with status $status; log:"
            sed 's/^/  daemon| /' "$LAB_RUN/daemon.log" >&2
            return 1
        fi
        if [[ -n $(lab_exec gw ss -Hlun "sport = :$DAEMON_PORT" 2>/dev/null) ]]; then
            lab__say "daemon (pid $pid) listens on udp port $DAEMON_PORT in $(lab_ns gw)"
            return 0
        fi
        sleep 0.1
    done
    lab__say "daemon does not listen on udp port $DAEMON_PORT after 10 s; log:"
    sed 's/^/  daemon| /' "$LAB_RUN/daemon.log" >&2
    return 1
}

lab_stop_daemon() {
    [[ -n $LAB_RUN && -f $LAB_RUN/daemon.pid ]] || return 0
    local pid
    pid=$(cat "$LAB_RUN/daemon.pid")
    lab__stop_pid "$pid" daemon
    LAB_DAEMON_EXIT_STATUS=$lab__stopped_status
    rm -f "$LAB_RUN/daemon.pid"
    lab__say "daemon (pid $pid) stopped, exit status $LAB_DAEMON_EXIT_STATUS"
}

lab__counter_packets() { # NODE NFT-LIST-ARGS...
    local node=$1 out
    shift
    out=$(lab_exec "$node" nft list "$@" 2>/dev/null) || { echo 0; return 1; }
    grep -o 'packets [0-9]*' <<<"$out" | awk '{ n += $2 } END { print n + 0 }'
}

lab_decoy_dns_packets() { lab__counter_packets decoy counter inet lab_decoy dns_queries; }
lab_gw_tproxy_packets() { lab__counter_packets gw chain inet tproxy_dns_lab prerouting; }

# --- More than one upstream -------------------------------------------------------------

lab_add_upstream_address() {
    local addr=${1-}
    case $addr in
        198.51.100.*) lab_exec up ip addr add "$addr/24" dev eth0 ;;
        2001:db8:2:*) lab_exec up ip addr add "$addr/64" dev eth0 nodad ;;
        *) lab__say "lab_add_upstream_address: $addr is not in 198.51.100.0/24 or 2001:db8:2::/64"; return 1 ;;
    esac
}

# lab_spawn NODE NAME CMD...: the process is ours (a child of this shell), so lab_spawn_stop
# and lab_down can stop it by PID and `wait` can give its exit status.
lab_spawn() {
    [[ -n $LAB_RUN ]] || { lab__say "lab_spawn: lab is not up"; return 1; }
    local node=$1 name=$2 ns pid
    shift 2
    ns=$(lab_ns "$node") || return 1
    echo "--- $(date +%T) $*" >>"$LAB_RUN/$name.log"
    ip netns exec "$ns" "$@" >>"$LAB_RUN/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$LAB_RUN/spawn-$name.pid"
}

lab_spawn_alive() {
    [[ -n $LAB_RUN ]] && lab__pid_alive "$(cat "$LAB_RUN/spawn-$1.pid" 2>/dev/null)"
}

lab_spawn_stop() {
    lab_spawn_status=
    [[ -n $LAB_RUN && -f $LAB_RUN/spawn-$1.pid ]] || return 0
    lab__stop_pid "$(cat "$LAB_RUN/spawn-$1.pid")" "$1"
    # shellcheck disable=SC2034 # for the caller
    lab_spawn_status=$lab__stopped_status
    rm -f "$LAB_RUN/spawn-$1.pid"
}

lab_start_knotd() {
    local name=${1-} addrs=("${@:2}") dir addr i ok first zones=("$LAB_REPO"/zones/*.zone)
    [[ -n $name && ${#addrs[@]} -gt 0 ]] || { lab__say "usage: lab_start_knotd NAME ADDR..."; return 1; }
    dir=$LAB_RUN/knot-$name
    mkdir -p "$dir"
    lab__knot_conf "$dir" "${addrs[@]}" >"$dir.conf"
    first=${zones[0]##*/}
    first=${first%.zone}
    lab_spawn up "knotd-$name" knotd -c "$dir.conf" || return 1
    for ((i = 0; i < 100; i++)); do
        if ! lab_spawn_alive "knotd-$name"; then
            lab__say "knotd $name exited during startup; log:"
            sed 's/^/  knotd| /' "$LAB_RUN/knotd-$name.log" >&2
            return 1
        fi
        ok=1
        for addr in "${addrs[@]}"; do
            lab_exec up dig +short +tries=1 +time=1 "@$addr" "$first" SOA 2>/dev/null | grep -q . || { ok=0; break; }
        done
        if ((ok)); then
            lab__say "knotd $name (pid $(cat "$LAB_RUN/spawn-knotd-$name.pid")) answers on ${addrs[*]}"
            return 0
        fi
        sleep 0.1
    done
    lab__say "knotd $name did not answer within 10 s; log:"
    sed 's/^/  knotd| /' "$LAB_RUN/knotd-$name.log" >&2
    return 1
}

lab_stop_knotd() { lab_spawn_stop "knotd-$1"; }

lab__silence_table() { printf 'lab_silence_%s\n' "$(tr -c '0-9a-zA-Z\n' _ <<<"$1")"; }

lab_silence_address() {
    local addr=${1-} family=ip
    [[ $addr == *:* ]] && family=ip6
    lab_exec up nft -f - <<EOF
table inet $(lab__silence_table "$addr") {
    chain input {
        type filter hook input priority filter; policy accept;
        $family daddr $addr meta l4proto { udp, tcp } th dport 53 drop
    }
}
EOF
}

lab_unsilence_address() { lab_exec up nft delete table inet "$(lab__silence_table "$1")"; }

# Counted in prerouting, before lab_silence_* drops anything (a silenced upstream still
# counts the queries it ignores), and only from eth0: knotd's own readiness digs run inside
# up and arrive on lo.
lab_count_upstream_queries() {
    lab_exec up nft delete table inet lab_upstream_count 2>/dev/null
    lab_exec up nft -f - <<'EOF'
table inet lab_upstream_count {
    counter udp_queries { }
    counter tcp_connections { }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        iifname "eth0" udp dport 53 counter name "udp_queries"
        iifname "eth0" tcp dport 53 tcp flags & (syn | ack) == syn counter name "tcp_connections"
    }
}
EOF
}

lab_upstream_udp_queries() { lab__counter_packets up counter inet lab_upstream_count udp_queries; }
lab_upstream_tcp_connections() { lab__counter_packets up counter inet lab_upstream_count tcp_connections; }

lab_daemon_log_lines() { wc -l <"$LAB_RUN/daemon.log" 2>/dev/null || echo 0; }
lab_daemon_log_since() { tail -n "+$((${1:-0} + 1))" "$LAB_RUN/daemon.log" 2>/dev/null; }
