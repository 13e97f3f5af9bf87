#!/bin/sh
# m3fs-logs - run by `m3fs cluster logs` on a node, as root, one part of the
# support archive at a time:  sh -c SCRIPT m3fs-logs OP ARG...
# Each op prints the part on stdout, cut to its last MAX+1 bytes (m3fs reads
# a part longer than MAX as truncated), and says why it failed on stderr
# with a non-zero exit.  Nothing on the node is changed.
#
#   tokens WD               the admin token files under WD (m3fs masks these
#                           values; the files are never archived)
#   list WD MINUTES DIR...  regular files under WD/DIR (a file DIR is listed
#                           itself), paths relative to WD, one a line, in
#                           name order; MINUTES > 0: only those modified in
#                           the last MINUTES minutes; event-trace dirs
#                           (binary Parquet) are left out
#   file WD REL MAX         the end of WD/REL
#   logs CTR SECONDS MAX    docker logs --timestamps of container CTR (stdout
#                           and stderr merged), the last SECONDS only (0: all)
#   inspect CTR MAX         docker inspect of container CTR
#   kernel MAX              kernel messages about RDMA, FUSE and NVMe (dmesg
#                           may be refused: kernel.dmesg_restrict, containers)
#   admin WD CMD MAX        WD/admin_cli.sh CMD (list-nodes, ...)
#   fdb CTR MAX             fdbcli `status json` in container CTR
set -u
op=$1
shift

# bounded MAX CMD...: run CMD with its stdout cut to the last MAX+1 bytes;
# return CMD's own exit status (a pipeline would return tail's).
bounded() {
    n=$(($1 + 1))
    shift
    exec 4>&1
    st=$({ { "$@" </dev/null 3>&- 4>&-; echo $? >&3; } | tail -c "$n" >&4; } 3>&1)
    exec 4>&-
    return "${st:-1}"
}

# docker logs merges the container's stderr with its own: a missing
# container is told apart first.
need_ctr() {
    docker inspect --type container "$1" >/dev/null 2>&1 ||
        { echo "no container $1 on this node" >&2; exit 1; }
}

ctr_logs() { # ctr_logs CTR SECONDS
    if [ "$2" -gt 0 ]; then
        docker logs --timestamps --since "${2}s" "$1" 2>&1
    else
        docker logs --timestamps "$1" 2>&1
    fi
}

list_files() { # list_files MINUTES DIR...
    min=$1
    shift
    for d in "$@"; do
        [ -e "$d" ] || continue
        if [ "$min" -gt 0 ]; then
            find "$d" -name event-trace -prune -o -type f -mmin "-$min" -print
        else
            find "$d" -name event-trace -prune -o -type f -print
        fi
    done | LC_ALL=C sort
}

kernel() { # kernel MAX
    out=$(dmesg -T 2>&1) || out=$(dmesg 2>&1) ||
        { printf 'dmesg refused: %s\n' "$out" >&2; exit 1; }
    printf '%s\n' "$out" | grep -iE 'rdma|rxe|siw|erdma|mlx|infiniband|ib_|ibverbs|fuse|nvme' |
        tail -c "$(($1 + 1))"
    exit 0
}

case $op in
tokens)
    for f in "$1"/*/config.d/*token.txt; do
        [ -f "$f" ] && { cat "$f"; echo; }
    done
    exit 0 ;;
list)
    wd=$1 min=$2
    shift 2
    cd "$wd" 2>/dev/null || { echo "no directory $wd on this node" >&2; exit 1; }
    list_files "$min" "$@" ;;
file)
    [ -f "$1/$2" ] || { echo "no file $1/$2" >&2; exit 1; }
    tail -c "$(($3 + 1))" "$1/$2" ;;
logs)
    need_ctr "$1"
    bounded "$3" ctr_logs "$1" "$2" ;;
inspect)
    bounded "$2" docker inspect --type container "$1" ;;
kernel)
    kernel "$1" ;;
admin)
    [ -x "$1/admin_cli.sh" ] ||
        { echo "no $1/admin_cli.sh on this node (the cluster is not created, or this is no mgmtd node)" >&2; exit 1; }
    bounded "$3" "$1/admin_cli.sh" "$2" ;;
fdb)
    bounded "$2" docker exec "$1" fdbcli --timeout 20 --exec 'status json' ;;
*)
    echo "m3fs-logs: unknown op $op" >&2
    exit 2 ;;
esac
