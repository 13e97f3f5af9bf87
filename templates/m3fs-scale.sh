# m3fs-scale - run by m3fs (sh -c SCRIPT m3fs-scale ...) on the first mgmtd
# node (observe) and on receiving storage nodes (space) for
# `cluster add-storage-nodes` / `remove-storage-nodes`
# (src/services/scale.c, docs/scale.md).  admin_cli runs in CONTAINER with
# the root token read there from admin_cli_root.toml (never in argv).
#
#   observe CONTAINER
#       list-targets, list-targets --orphan and list-chains -t 1, each
#       after a line "== targets ==", "== orphans ==", "== chains ==";
#       exits non-zero when one of them fails.
#   space BASE COUNT
#       run on a storage node that receives replicas: for each disk index
#       i < COUNT a line "== i ==" and `df -P -B1` of the target path
#       BASE/data<i>/3fs, or of the nearest directory above it that exists
#       (a new node's paths are made later); exits non-zero when df fails.
cli() {
    docker exec "$ctr" {{ admin_cli_root }} "$@"
}

what=${1-} ctr=${2-}
case $what in
observe)
    echo '== targets =='
    cli list-targets || exit 1
    echo '== orphans =='
    cli 'list-targets --orphan' || exit 1
    echo '== chains =='
    cli 'list-chains -t 1' || exit 1
    ;;
space)
    base=${2-} count=${3-}
    case $count in '' | *[!0-9]*)
        echo "m3fs-scale: space: bad disk count '$count'" >&2
        exit 2
        ;;
    esac
    i=0
    while [ "$i" -lt "$count" ]; do
        at=$base/data$i/3fs
        while [ ! -d "$at" ] && [ "$at" != / ] && [ "$at" != . ]; do
            at=$(dirname -- "$at")
        done
        echo "== $i =="
        df -P -B1 -- "$at" || exit 1
        i=$((i + 1))
    done
    ;;
*)
    echo "m3fs-scale: unknown command ${what:-(none)}" >&2
    exit 2
    ;;
esac
