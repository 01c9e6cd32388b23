#!/usr/bin/env bash
# Builds the Debian package: dist/tproxy-dns_VERSION_ARCH.deb, its path printed last.
#
#   scripts/package.sh            (root, or the Debian packages below already installed)
#
# The binary is a release build with the Swift runtime linked in (--static-swift-stdlib),
# stripped, so the gateway needs only Debian's libraries (Depends comes from dpkg-shlibdeps).
# The version is Package.swift's `tproxyDNSVersion` (packaging/debian/changelog must start
# with it); the git revision goes in through TPROXY_DNS_REVISION (see Package.swift).
# Man pages come from swift-argument-parser's generate-manual plugin, completions from the
# binary's --generate-completion-script.
#
# Settings (environment): PACKAGE_SCRATCH_PATH (the static build's scratch directory,
# default .build-static), SWIFT_SCRATCH_PATH (the plugin's build, default .build),
# DIST_DIR (default dist).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/debian_packages.sh
source scripts/lib/debian_packages.sh
ensure_debian_packages dpkg-dev binutils libldns-dev pkg-config python3 >&2

scratch=${PACKAGE_SCRATCH_PATH:-.build-static}
plugin_flags=(${SWIFT_SCRATCH_PATH:+--scratch-path "$SWIFT_SCRATCH_PATH"})
dist=${DIST_DIR:-dist}
name=tproxy-dns

version=$(sed -nE 's/^let tproxyDNSVersion = "([^"]+)"$/\1/p' Package.swift)
[[ -n $version ]] || { echo "package.sh: no tproxyDNSVersion in Package.swift" >&2; exit 1; }
changelog_version=$(sed -nE '1s/^tproxy-dns \(([^)]+)\).*/\1/p' packaging/debian/changelog)
if [[ $changelog_version != "$version" ]]; then
    echo "package.sh: packaging/debian/changelog starts with $changelog_version, Package.swift says $version: add a changelog entry" >&2
    exit 1
fi
revision=unknown
if git rev-parse --git-dir >/dev/null 2>&1; then
    revision=$(git rev-parse --short=12 HEAD)
    git diff --quiet HEAD -- Package.swift Sources || revision+="-dirty"
fi
export TPROXY_DNS_REVISION=$revision
arch=$(dpkg --print-architecture)

echo "== swift build -c release --static-swift-stdlib (revision $revision)" >&2
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$name" >&2
binary="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/$name"

echo "== man pages (swift package generate-manual)" >&2
swift package "${plugin_flags[@]}" generate-manual --multi-page --section 8 \
    --authors "tproxy-dns maintainers<maintainers@tproxy-dns.invalid>" >&2
plugin_out="${SWIFT_SCRATCH_PATH:-.build}/plugins/GenerateManual/outputs/$name"
[[ -f $plugin_out/$name.8 ]] || { echo "package.sh: no $plugin_out/$name.8 from the plugin" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/usr/lib/systemd/system" "$root/etc/$name" \
    "$root/usr/share/man/man8" "$root/usr/share/doc/$name" "$root/usr/share/bash-completion/completions" \
    "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
# dh_strip's flags for an executable: symbols and the .comment/.note sections go.
strip --remove-section=.comment --remove-section=.note -o "$root/usr/sbin/$name" "$binary"
chmod 755 "$root/usr/sbin/$name"
install -m 644 packaging/debian/tproxy-dns.service "$root/usr/lib/systemd/system/$name.service"
install -m 644 contrib/tproxy-dns.example.toml "$root/etc/$name/$name.toml"
"$root/usr/sbin/$name" --experimental-dump-help >"$stage/dump-help.json"
python3 scripts/lib/man_pages.py "$stage/dump-help.json" "$plugin_out" "$root/usr/share/man/man8" >&2
# bash-completion sources the file: no #! line (lintian: bash-completion-with-hashbang).
"$root/usr/sbin/$name" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/usr/share/bash-completion/completions/$name"
"$root/usr/sbin/$name" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$name"
"$root/usr/sbin/$name" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$name.fish"
install -m 644 packaging/debian/copyright "$root/usr/share/doc/$name/copyright"
gzip -9n <packaging/debian/changelog >"$root/usr/share/doc/$name/changelog.gz"
find "$root/usr" "$root/etc" -type f ! -path "$root/usr/sbin/*" -exec chmod 644 {} +
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
echo "/etc/$name/$name.toml" >"$root/DEBIAN/conffiles"

# dpkg-shlibdeps reads debian/control from its working directory: a minimal one.
mkdir -p "$stage/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O -e "$root/usr/sbin/$name" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$root" && find usr etc -type f ! -path 'etc/*' -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
cat >"$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: $arch
Maintainer: tproxy-dns maintainers <maintainers@tproxy-dns.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $shlibs, adduser, init-system-helpers (>= 1.52)
Recommends: nftables, iproute2
Section: net
Priority: optional
Description: transparent DNS forwarder for Linux gateways (nftables TPROXY)
 tproxy-dns answers every port-53 query a LAN client sends to any server:
 nftables TPROXY hands it the query, it forwards it to the configured
 upstream resolvers (with a cache, local zones, per-client limits and
 DNS 0x20), and it replies from the address the client asked.
 .
 The package holds the daemon (Swift runtime linked in), a systemd unit
 running it as the tproxy-dns system user with CAP_NET_ADMIN and
 CAP_NET_RAW, man pages, and bash, zsh and fish completions.
CONTROL

mkdir -p "$dist"
deb="$dist/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
