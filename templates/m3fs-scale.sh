# m3fs-scale - run by m3fs (sh -c SCRIPT m3fs-scale ...) on the first mgmtd
# node for `cluster add-storage-nodes` / `remove-storage-nodes`
# (src/services/scale.c, docs/scale.md).  admin_cli runs in CONTAINER with
# the root token read there from admin_cli_root.toml (never in argv).
#
#   observe CONTAINER
#       list-targets, list-targets --orphan and list-chains -t 1, each
#       after a line "== targets ==", "== orphans ==", "== chains ==";
#       exits non-zero when one of them fails.
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
*)
    echo "m3fs-scale: unknown command ${what:-(none)}" >&2
    exit 2
    ;;
esac
