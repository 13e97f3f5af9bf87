# m3fs-node - run by m3fs (sh -c SCRIPT m3fs-node ...) for what destroy
# removes from a node as a whole (src/services/node.c, storage.c).
#
#   purge WORKDIR IMAGE...
#       remove each IMAGE that is present, then rm -rf WORKDIR.
#   rmdir-empty BIN WORKDIR
#       remove BIN, then WORKDIR, each only if empty but for WORKDIR's
#       marker (never fails).
#   rmdir-done BIN WORKDIR
#       exit 0 when rmdir-empty has nothing to do (BIN gone and WORKDIR gone
#       or holding more than its marker).
#   tool-once TOOL ARG...
#       when TOOL is still there (a previous run may have finished): run
#       TOOL ARG..., then remove TOOL.
#   mark WORKDIR NAME
#       create WORKDIR and its ownership marker WORKDIR/.m3fs-cluster
#       holding NAME; fails when WORKDIR resolves to a system directory, or
#       the marker names another cluster whose service directories are
#       still there (a destroyed one's marker is taken over).
#   marked WORKDIR NAME
#       exit 0 when the marker holds NAME.
#   owned WORKDIR NAME
#       before destroy deletes anything: exit 0 when WORKDIR does not exist,
#       or resolves (realpath) to no system directory and holds the marker
#       with NAME; else say why and exit 1.
marker=.m3fs-cluster

# The system directories m3fs never takes as a workDir (src/services/node.c
# has the same list, checked before the path is resolved here).
denied() {
    case $1 in
    / | /bin | /boot | /dev | /etc | /home | /lib | /lib32 | /lib64 | /media | /mnt | /opt | \
        /proc | /root | /run | /sbin | /srv | /sys | /tmp | /usr | /usr/bin | /usr/lib | \
        /usr/local | /usr/sbin | /usr/share | /var | /var/lib | /var/log | /var/tmp | \
        /var/cache | /var/run | /var/lib/docker)
        echo "m3fs: workDir $2 is the system directory $1 on this node; m3fs deletes under its workDir, so it must be a directory of its own" >&2
        return 0 ;;
    esac
    return 1
}

case $1 in
mark)
    wd=$2 name=$3
    mkdir -p "$wd" || exit 1
    real=$(realpath "$wd") || exit 1
    denied "$real" "$wd" && exit 1
    if [ -e "$real/$marker" ]; then
        have=$(cat "$real/$marker")
        [ "$have" = "$name" ] && exit 0
        # a destroyed cluster leaves its marker with prepare's images: taken
        # over only when none of a cluster's service directories is there
        for d in fdb clickhouse monitor mgmtd meta storage client; do
            if [ -e "$real/$d" ]; then
                echo "m3fs: workDir $wd belongs to cluster '$have' ($real/$marker, $real/$d), not '$name'" >&2
                exit 1
            fi
        done
        echo "note: workDir $wd held the marker of the destroyed cluster '$have'; now '$name'" >&2
    fi
    printf '%s\n' "$name" >"$real/$marker.tmp" && mv -f "$real/$marker.tmp" "$real/$marker"
    ;;
marked) [ "$(cat "$2/$marker" 2>/dev/null)" = "$3" ] ;;
owned)
    wd=$2 name=$3
    [ -e "$wd" ] || exit 0
    real=$(realpath "$wd") || exit 1
    denied "$real" "$wd" && exit 1
    have=$(cat "$real/$marker" 2>/dev/null)
    [ "$have" = "$name" ] && exit 0
    if [ -n "$have" ]; then
        echo "m3fs: workDir $wd belongs to cluster '$have' ($real/$marker), not '$name'; nothing was deleted" >&2
    else
        echo "m3fs: workDir $wd ($real) has no $marker naming cluster '$name' (m3fs writes it at create), so it may not be this cluster's; nothing was deleted. If it is, run on this node: echo '$name' > '$real/$marker'" >&2
    fi
    exit 1
    ;;
purge)
    wd=$2
    shift 2
    for img; do
        if docker image inspect "$img" >/dev/null 2>&1; then
            docker rmi "$img" >/dev/null || exit 1
        fi
    done
    rm -rf "$wd"
    ;;
rmdir-empty)
    rmdir "$2" 2>/dev/null
    [ "$(ls -A "$3" 2>/dev/null)" = "$marker" ] && rm -f "$3/$marker"
    rmdir "$3" 2>/dev/null
    exit 0
    ;;
rmdir-done)
    [ ! -d "$2" ] && { [ ! -d "$3" ] || { [ -n "$(ls -A "$3")" ] && [ "$(ls -A "$3")" != "$marker" ]; }; }
    ;;
tool-once)
    tool=$2
    shift
    [ -x "$tool" ] || exit 0
    "$@" && rm -f "$tool"
    ;;
*)
    echo "m3fs-node: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
