#!/bin/sh
# ibdev2netdev for 3FS containers, written by `m3fs cluster prepare`.
# Prints one line per RDMA port, like Mellanox's tool:
#   <ibdev> port <port> ==> <netdev> (Up|Down)
# It reads the links each time it runs (from `rdma link`, or from sysfs when
# the `rdma` tool is missing, e.g. inside a container), so it never goes stale.
SYS=${IBDEV2NETDEV_SYSFS:-/sys}
if [ "$SYS" = /sys ] && command -v rdma >/dev/null 2>&1; then
    rdma link show 2>/dev/null | awk '$1 == "link" {
        split($2, a, "/"); st = "-"; nd = "NONE"
        for (i = 3; i < NF; i++) { if ($i == "state") st = $(i + 1); if ($i == "netdev") nd = $(i + 1) }
        printf "%s port %s ==> %s (%s)\n", a[1], a[2], nd, st == "ACTIVE" ? "Up" : "Down" }'
    exit 0
fi
for p in "$SYS"/class/infiniband/*/ports/*; do
    [ -d "$p" ] || continue
    port=${p##*/}
    dev=${p%/ports/*}
    dev=${dev##*/}
    nd=$(cat "$p/gid_attrs/ndevs/0" 2>/dev/null)
    [ -n "$nd" ] || nd=$(cat "$SYS/class/infiniband/$dev/parent" 2>/dev/null)
    # shellcheck disable=SC2012 # netdev names are plain words
    [ -n "$nd" ] || nd=$(ls "$SYS/class/infiniband/$dev/device/net" 2>/dev/null | head -n 1)
    case $(cat "$p/state" 2>/dev/null) in
    *ACTIVE*) st=Up ;;
    *) st=Down ;;
    esac
    echo "$dev port $port ==> ${nd:-NONE} ($st)"
done
exit 0
