#!/usr/bin/env bash
# The Debian package, built and installed as an operator would: scripts/package.sh builds
# dist/tproxy-dns_VERSION_ARCH.deb; its contents, control fields, size and lintian verdict
# are checked; then apt installs it into a minimal Debian bookworm (debootstrap, no Swift
# there) where --version, --help, `rules --lan-interface x`, the man page (man -l) and the
# bash completion must work.
#
#   sudo Tests/Package/package_test.sh     (PACKAGE_DEB=FILE tests that .deb instead of building)
#
# The pristine chroot is cached in /var/cache/tproxy-dns-test/bookworm (made once, from
# http://deb.debian.org/debian; delete it to start over) and downloaded .debs in
# /var/cache/tproxy-dns-test/apt-archives; each run installs into a copy that it removes.
# Ends with "lab: N passed, M failed" (Tests/Lab/lib.sh's counters; scripts/test.sh reads it).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=Tests/Lab/lib.sh
source "$here/../Lab/lib.sh"
# shellcheck source=scripts/lib/debian_packages.sh
source "$repo/scripts/lib/debian_packages.sh"

CACHE=/var/cache/tproxy-dns-test
PRISTINE=$CACHE/bookworm
MIRROR=http://deb.debian.org/debian
MAX_BINARY_BYTES=$((20 * 1024 * 1024))
work= mounted=()

cleanup() {
    local m
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done
    [[ -n $work && -d $work ]] && rm -rf "$work"
}
trap cleanup EXIT

done_() {
    cleanup
    t_summary
    exit $?
}

in_chroot() { chroot "$work/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

make_pristine_chroot() {
    [[ -x $PRISTINE/usr/bin/apt-get ]] && return 0
    echo "(first run: debootstrap bookworm into $PRISTINE, a few minutes)"
    rm -rf "$PRISTINE.tmp"
    debootstrap --variant=minbase --include=man-db,bash-completion bookworm "$PRISTINE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 &&
        mv "$PRISTINE.tmp" "$PRISTINE"
}

check_contents() {
    local listing
    listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
    for path in ./usr/sbin/tproxy-dns ./usr/lib/systemd/system/tproxy-dns.service ./etc/tproxy-dns/tproxy-dns.toml \
        ./usr/share/man/man8/tproxy-dns.8.gz ./usr/share/bash-completion/completions/tproxy-dns \
        ./usr/share/zsh/vendor-completions/_tproxy-dns ./usr/share/fish/vendor_completions.d/tproxy-dns.fish \
        ./usr/share/doc/tproxy-dns/copyright ./usr/share/doc/tproxy-dns/changelog.gz; do
        expect_match "contains $path" "$listing" "^${path//./\\.}\$"
    done
    for sub in serve cache top zones rules doctor; do
        expect_match "a man page for $sub" "$listing" "^\./usr/share/man/man8/tproxy-dns\.$sub\.8\.gz$"
    done
    expect_eq "no hidden bench commands in the man pages" "$(grep -cE 'bench|limit-responder' <<<"$listing")" 0
}

check_control() {
    local version arch depends
    version=$(sed -nE 's/^let tproxyDNSVersion = "([^"]+)"$/\1/p' "$repo/Package.swift")
    arch=$(dpkg --print-architecture)
    expect_eq "file name is tproxy-dns_VERSION_ARCH.deb" "$(basename "$deb")" "tproxy-dns_${version}_${arch}.deb"
    expect_eq "Package" "$(dpkg-deb -f "$deb" Package)" tproxy-dns
    expect_eq "Version (Package.swift)" "$(dpkg-deb -f "$deb" Version)" "$version"
    expect_eq "Architecture" "$(dpkg-deb -f "$deb" Architecture)" "$arch"
    depends=$(dpkg-deb -f "$deb" Depends)
    t_note "Depends: $depends"
    expect_match "Depends (dpkg-shlibdeps) has libldns3 with a version" "$depends" 'libldns3 \(>= [^)]+\)'
    expect_match "Depends has libc6" "$depends" 'libc6 \(>= '
    expect_match "Depends has adduser (postinst)" "$depends" 'adduser'
    expect_eq "Depends names no Swift library" "$(grep -ciE 'swift|dispatch|foundation' <<<"$depends")" 0
    expect_eq "conffiles" "$(dpkg-deb -I "$deb" conffiles)" /etc/tproxy-dns/tproxy-dns.toml
    expect_match "postinst makes the system user" "$(dpkg-deb -I "$deb" postinst)" '^ +adduser --system --group '
}

check_unpacked() {
    local unit binary size
    dpkg-deb -x "$deb" "$work/x"
    unit=$(cat "$work/x/usr/lib/systemd/system/tproxy-dns.service")
    for line in '^ExecStart=/usr/sbin/tproxy-dns serve ' '^User=tproxy-dns$' '^StateDirectory=tproxy-dns$' \
        '^RuntimeDirectory=tproxy-dns$' '^AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW$' \
        '^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW$'; do
        expect_match "unit: $line" "$unit" "$line"
    done
    binary=$work/x/usr/sbin/tproxy-dns
    size=$(stat -c %s "$binary")
    t_note "binary: $size bytes ($((size / 1024 / 1024)) MiB), .deb: $(stat -c %s "$deb") bytes"
    expect_le "stripped binary at most 20 MiB" "$size" "$MAX_BINARY_BYTES"
    check "binary is stripped" bash -c "file '$binary' | grep -q ', stripped'"
    expect_eq "ldd: nothing from the Swift toolchain" "$(ldd "$binary" | grep -c '/opt/swift\|libswift')" 0
}

install_in_chroot() {
    work=$(mktemp -d "$CACHE/run.XXXXXX")
    mkdir -p "$CACHE/apt-archives/partial" "$work/x"
    check "copy of the cached chroot" cp -a "$PRISTINE" "$work/root" || return 1
    cp /etc/resolv.conf "$work/root/etc/resolv.conf"
    for fs in proc dev; do
        mount --bind "/$fs" "$work/root/$fs" && mounted+=("$work/root/$fs")
    done
    mount --bind "$CACHE/apt-archives" "$work/root/var/cache/apt/archives" && mounted+=("$work/root/var/cache/apt/archives")
    cp "$deb" "$work/root/tmp/"
    check "apt-get update in the chroot" in_chroot apt-get update -q || return 1
    check "apt installs the .deb (no Swift in the chroot)" \
        in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$(basename "$deb")"
}

check_installed() {
    local out
    out=$(in_chroot tproxy-dns --version 2>&1)
    t_note "tproxy-dns --version: $out"
    expect_match "--version: version and 12-digit revision" "$out" '^[0-9]+\.[0-9]+\.[0-9]+ \(revision [0-9a-f]{12}(-dirty)?\)$'
    expect_match "--help: usage and the subcommands" "$(in_chroot tproxy-dns --help 2>&1)" '^ +top +'
    out=$(in_chroot tproxy-dns rules --lan-interface x 2>&1)
    expect_match "rules --lan-interface x: the nftables table" "$out" 'table inet tproxy_dns'
    expect_match "rules: only what arrives on x" "$out" 'iifname != \{ "x" \} return'
    expect_eq "ldd in the chroot: every library found" "$(in_chroot ldd /usr/sbin/tproxy-dns | grep -c 'not found')" 0
    out=$(in_chroot env MANWIDTH=80 man -P cat -l /usr/share/man/man8/tproxy-dns.8.gz 2>&1)
    expect_match "man -l tproxy-dns.8: NAME section" "$out" '^NAME'
    expect_match "man -l tproxy-dns.8: names the command" "$out" 'tproxy-dns'
    out=$(in_chroot env MANWIDTH=80 man -P cat -l /usr/share/man/man8/tproxy-dns.top.8.gz 2>&1)
    expect_match "man -l tproxy-dns.top.8: --once documented" "$out" '--once'
    out=$(in_chroot bash -c 'source /usr/share/bash-completion/completions/tproxy-dns && complete -p tproxy-dns' 2>&1)
    expect_match "bash completion sources and registers" "$out" '^complete .* tproxy-dns$'
    expect_match "system user made by postinst" "$(in_chroot getent passwd tproxy-dns)" '^tproxy-dns:x:[0-9]+:[0-9]+:.*:/var/lib/tproxy-dns:/usr/sbin/nologin$'
    expect_eq "config: root:tproxy-dns 640" "$(in_chroot stat -c '%U:%G %a' /etc/tproxy-dns/tproxy-dns.toml)" "root:tproxy-dns 640"
    expect_eq "dpkg: installed" "$(in_chroot dpkg-query -W -f='${Status}' tproxy-dns)" "install ok installed"
    start=$(date +%s%N)
    for _ in 1 2 3 4 5 6 7 8 9 10; do in_chroot tproxy-dns --version >/dev/null; done
    t_note "start-up: --version in the chroot, mean of 10: $((($(date +%s%N) - start) / 10000000)) ms (chroot + env included)"
    check "apt purges it again" in_chroot env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q tproxy-dns
}

main() {
    ((EUID == 0)) || { echo "package_test.sh: needs root (debootstrap, chroot, apt)" >&2; exit 1; }
    ensure_debian_packages debootstrap lintian dpkg-dev file man-db >/dev/null || exit 1
    mkdir -p "$CACHE"
    echo "# the chroot (cached in $PRISTINE)"
    check "bookworm minbase chroot" make_pristine_chroot || done_

    echo "# the .deb"
    deb=${PACKAGE_DEB:-}
    if [[ -z $deb ]]; then
        check "scripts/package.sh builds the .deb" bash -c "'$repo/scripts/package.sh' >'$CACHE/package.out' 2>'$CACHE/package.err'" || {
            tail -n 30 "$CACHE/package.err"
            done_
        }
        deb=$repo/$(tail -n 1 "$CACHE/package.out")
    fi
    check "the .deb exists" test -f "$deb" || done_
    check_contents
    check_control
    out=$(lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1)
    status=$?
    t_note "lintian: $( [[ -z $out ]] && echo clean || printf '%s\n' "$out")"
    expect_eq "lintian: no errors" "$status" 0

    echo "# installed in a minimal Debian"
    install_in_chroot || done_
    check_unpacked
    check_installed
    done_
}

main "$@"
