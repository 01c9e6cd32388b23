# shellcheck shell=bash
# Sourced. ensure_debian_packages PKG...: installs the packages dpkg does not list as
# installed, with one `apt-get update` first. CI starts on a fresh machine, so every script
# installs what it uses instead of trusting what a developer's machine happens to have.

ensure_debian_packages() {
    local pkg missing=()
    for pkg in "$@"; do
        # `dpkg -s` also succeeds for removed-but-configured packages; the status word does not.
        if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    # unbound, knot and dnsdist ship services that would start on the host's port 53 at
    # install; the tests and the benchmark run their own copies in lab namespaces, so no
    # service may start (policy-rc.d 101), and the host stays as it was.
    local policy=/usr/sbin/policy-rc.d ours=0 status=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# scripts/lib/debian_packages.sh: no service starts during its apt-get install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        ours=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || status=$?
    ((ours)) && rm -f "$policy"
    return "$status"
}
