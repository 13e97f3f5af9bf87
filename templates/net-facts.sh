# Host facts for `m3fs cluster prepare`'s preflight (templates/net-facts.sh).
echo "kernel=$(uname -r)"
echo "machine=$(uname -m)"
(
    # shellcheck source=/dev/null # the node's file, not ours
    [ -r /etc/os-release ] && . /etc/os-release
    echo "os_id=${ID:-}"
    echo "os_like=${ID_LIKE:-}"
    echo "os_name=${PRETTY_NAME:-${NAME:-unknown}}"
)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo "avx512f=1"; else echo "avx512f=0"; fi
for t in apt-get dnf yum; do
    if command -v "$t" >/dev/null 2>&1; then echo "pkg=$t"; break; fi
done
exit 0
