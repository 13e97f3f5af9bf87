# m3fs-node - run by m3fs (sh -c SCRIPT m3fs-node ...) for what destroy
# removes from a node as a whole (src/services/node.c, storage.c).
#
#   purge WORKDIR IMAGE...
#       remove each IMAGE that is present, then rm -rf WORKDIR.
#   rmdir-empty BIN WORKDIR
#       remove BIN, then WORKDIR, each only if empty (never fails).
#   rmdir-done BIN WORKDIR
#       exit 0 when rmdir-empty has nothing to do (BIN gone and WORKDIR gone
#       or not empty).
#   tool-once TOOL ARG...
#       when TOOL is still there (a previous run may have finished): run
#       TOOL ARG..., then remove TOOL.
case $1 in
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
    rmdir "$3" 2>/dev/null
    exit 0
    ;;
rmdir-done)
    [ ! -d "$2" ] && { [ ! -d "$3" ] || [ -n "$(ls -A "$3")" ]; }
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
