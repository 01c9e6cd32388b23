# shellcheck shell=bash
# Sourced: a DNS-over-TLS server for lab tests and the benchmark.
#
# throwaway_ca DIR NAME [ADDR]: in DIR, a CA made with openssl for one test or
# benchmark (ca.pem, ca.key), a server certificate for NAME (and ADDR when given) signed by
# it (server.pem, server.key), a second CA that signed nothing (other-ca.pem), and 80 random
# bytes for Unbound's tls-session-ticket-keys (ticket.key). P-256 keys, valid two days.
throwaway_ca() {
    local dir=${1:?dir} name=${2:?name} addr=${3-} san
    san="DNS:$name${addr:+,IP:$addr}"
    mkdir -p "$dir" || return 1
    (
        cd "$dir" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=throwaway CA" \
            -keyout ca.key -out ca.pem 2>/dev/null &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=other CA" \
                -keyout other-ca.key -out other-ca.pem 2>/dev/null &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
                -keyout server.key -out server.csr 2>/dev/null &&
            printf 'subjectAltName=%s\n' "$san" >server.ext &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile server.ext -out server.pem 2>/dev/null &&
            head -c 80 /dev/urandom >ticket.key
    )
}

# spki_pin CERT: sha256/BASE64 of its SubjectPublicKeyInfo (RFC 7858 4.2).
spki_pin() {
    printf 'sha256/%s\n' "$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)"
}

# dot_server_conf DIR ADDR FORWARD IDLE_MS: Unbound serving DNS over TLS on ADDR:853 with
# DIR's server certificate and ticket key (throwaway_ca), forwarding everything to FORWARD
# without validation; idle TLS connections closed after IDLE_MS.
dot_server_conf() {
    local dir=${1:?dir} addr=${2:?addr} forward=${3:?forward} idle=${4:?idle ms}
    cat <<CONF
server:
    interface: $addr@853
    tls-port: 853
    tls-service-key: "$dir/server.key"
    tls-service-pem: "$dir/server.pem"
    tls-session-ticket-keys: "$dir/ticket.key"
    tcp-idle-timeout: $idle
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$dir"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    incoming-num-tcp: 256
    access-control: 0.0.0.0/0 allow
    module-config: "iterator"
    local-zone: "test." nodefault
    prefetch: no
    qname-minimisation: no
    do-not-query-localhost: no
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: $forward
CONF
}
