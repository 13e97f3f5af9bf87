# m3fs-net - the network changes `m3fs cluster prepare` makes on a node and
# `cluster destroy --all` undoes (src/network/gen.c, src/prepare/network.c):
# sh -c SCRIPT m3fs-net COMMAND ARG...  Each prints what it changed.
#
#   put PATH MODE RECORD
#       stdin becomes PATH with MODE (octal) unless PATH has that content and
#       mode already; PATH is listed once in RECORD.  Prints written or
#       unchanged.
#   docker-args PATH RECORD SHIM_VOLUME [erdma]
#       put (0644) the `docker run` arguments of 3FS containers, one per line:
#       SHIM_VOLUME, and for erdma the userspace provider found on the node.
#   aio MIN
#       raise fs.aio-max-nr to MIN when it is lower; prints set when it did.
#   unit SCRIPT UNIT RELOAD
#       enable and restart the boot unit UNIT (systemctl daemon-reload first
#       when RELOAD is 1); prints "enabled UNIT" and every line of `SCRIPT
#       state` that is new afterwards.
#   destroy RECORD UNIT_PATH BIN_DIR UNIT FILE...
#       stop and disable UNIT when RECORD lists UNIT_PATH; remove each file
#       RECORD lists that is UNIT_PATH, under BIN_DIR, one of FILE..., or the
#       docker-args beside RECORD; then RECORD and its directory.
put() {
    p=$1 m=$2 r=$3
    t="$p.m3fs-new"
    mkdir -p "$(dirname "$p")" "$(dirname "$r")" || exit 1
    cat >"$t" || {
        rm -f "$t"
        exit 1
    }
    grep -qxF "$p" "$r" 2>/dev/null || echo "$p" >>"$r" || exit 1
    if cmp -s "$t" "$p" && [ "$(stat -c %a "$p")" = "$m" ]; then
        rm -f "$t"
        echo unchanged
    else
        chmod "$m" "$t" && mv -f "$t" "$p" && echo written
    fi
}

docker_args() {
    printf '%s\n' "$1"
    [ "${2:-}" = erdma ] || return 0
    drv=/etc/libibverbs.d/erdma.driver
    lib=
    for f in /usr/lib/*/libibverbs/liberdma-rdmav*.so /usr/lib64/libibverbs/liberdma-rdmav*.so; do
        if [ -e "$f" ]; then
            lib=$f
            break
        fi
    done
    if [ ! -e "$drv" ] || [ -z "$lib" ]; then
        echo "the eRDMA userspace provider ($drv, libibverbs/liberdma-rdmav*.so) is missing; install Alibaba Cloud's eRDMA userspace packages" >&2
        return 1
    fi
    echo "--volume=$drv:$drv:ro"
    echo "--volume=$(readlink -f "$lib"):$lib:ro"
}

aio() {
    cur=$(cat /proc/sys/fs/aio-max-nr) || exit 1
    if [ "$cur" -lt "$1" ]; then sysctl -q -w "fs.aio-max-nr=$1" && echo set; fi
}

unit() {
    s=$1 u=$2
    if [ ! -d /run/systemd/system ]; then
        echo "systemd is not running here; the boot unit $u needs it" >&2
        exit 1
    fi
    if [ "$3" = 1 ]; then systemctl daemon-reload || exit 1; fi
    if ! systemctl is-enabled -q "$u" 2>/dev/null; then
        systemctl enable -q "$u" || exit 1
        echo "enabled $u"
    fi
    b=$("$s" state)
    if ! systemctl restart "$u"; then
        systemctl status --no-pager -l "$u" 2>&1 | tail -n 15 >&2
        exit 1
    fi
    if ! systemctl is-active -q "$u"; then
        echo "$u is not active after running it" >&2
        exit 1
    fi
    "$s" state | while IFS= read -r l; do
        printf '%s\n' "$b" | grep -qxF "$l" || echo "$l"
    done
}

ours() { # ours FILE UNIT_PATH BIN_DIR DOCKER_ARGS FILE...: FILE is one m3fs writes
    f=$1 u=$2 b=$3 d=$4
    shift 4
    case $f in "$u" | "$b"* | "$d") return 0 ;; esac
    for k in "$@"; do [ "$f" = "$k" ] && return 0; done
    return 1
}

destroy() {
    r=$1 u=$2 b=$3 n=$4
    shift 4
    [ -f "$r" ] || exit 0
    if grep -qxF "$u" "$r" && [ -d /run/systemd/system ]; then
        systemctl stop "$n" >/dev/null 2>&1
        systemctl disable "$n" >/dev/null 2>&1
    fi
    while IFS= read -r f; do
        if ours "$f" "$u" "$b" "${r%/*}/docker-args" "$@"; then
            rm -f -- "$f" && echo "removed $f"
        else
            echo "not removing $f (not a file m3fs writes)" >&2
        fi
    done <"$r"
    rm -f "$r"
    rmdir "${r%/*}" 2>/dev/null
    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
    true
}

cmd=$1
shift
case $cmd in
put) put "$@" ;;
docker-args)
    p=$1 r=$2
    shift 2
    c=$(docker_args "$@") || exit 1
    printf '%s\n' "$c" | put "$p" 644 "$r"
    ;;
aio) aio "$@" ;;
unit) unit "$@" ;;
destroy) destroy "$@" ;;
*)
    echo "m3fs-net: unknown command ${cmd:-(none)}" >&2
    exit 2
    ;;
esac
