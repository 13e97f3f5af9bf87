# Install the RDMA userspace packages (templates/net-packages.sh, run by
# `m3fs cluster prepare`).  Prints "unchanged" or "installed <packages>".
set -u
APT_PKGS="rdma-core ibverbs-providers ibverbs-utils libibverbs1 librdmacm1 libibumad3 rdmacm-utils perftest iproute2"
RPM_PKGS="rdma-core libibverbs libibverbs-utils librdmacm librdmacm-utils libibumad perftest iproute"
LOG=$(mktemp /tmp/m3fs-packages.XXXXXX) || exit 1
trap 'rm -f "$LOG"' EXIT
fail() {
    tail -n 15 "$LOG" >&2
    echo "m3fs: $*" >&2
    exit 1
}

apt_missing() {
    for p in $APT_PKGS; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            printf ' %s' "$p"
    done
}

apt_install() {
    missing=$(apt_missing)
    if [ -z "$missing" ]; then echo unchanged; return; fi
    export DEBIAN_FRONTEND=noninteractive
    updated=
    lists=$(find /var/lib/apt/lists/ -maxdepth 1 -name '*_Packages*' 2>/dev/null)
    if [ -z "$lists" ]; then
        apt-get update -q >>"$LOG" 2>&1 || fail "apt-get update failed"
        updated=1
    fi
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $missing >>"$LOG" 2>&1; then
        [ -z "$updated" ] || fail "apt-get install$missing failed"
        apt-get update -q >>"$LOG" 2>&1 || fail "apt-get update failed"
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing >>"$LOG" 2>&1 ||
            fail "apt-get install$missing failed (after updating the package lists)"
    fi
    echo "installed$missing"
}

rpm_install() {
    missing=
    for p in $RPM_PKGS; do rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -z "$missing" ]; then echo unchanged; return; fi
    # shellcheck disable=SC2086
    "$1" install -y $missing >>"$LOG" 2>&1 || fail "$1 install$missing failed"
    echo "installed$missing"
}

if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    apt_install
elif command -v dnf >/dev/null 2>&1; then
    rpm_install dnf
elif command -v yum >/dev/null 2>&1; then
    rpm_install yum
else
    echo "m3fs: no apt-get, dnf or yum here; install by hand: $APT_PKGS (or the rpm names: $RPM_PKGS)" >&2
    exit 2
fi
