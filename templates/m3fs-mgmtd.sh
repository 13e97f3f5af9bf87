# m3fs-mgmtd - run by m3fs (sh -c SCRIPT m3fs-mgmtd ...) on the first mgmtd
# node (src/services/mgmtd.c).
#
#   primary CONTAINER
#       print admin_cli list-nodes in CONTAINER; exit 0 when it shows a
#       PRIMARY_MGMTD.
case $1 in
primary)
    docker exec "$2" {{ admin_cli }} list-nodes | awk '/PRIMARY_MGMTD/ {f = 1} {print} END {exit !f}'
    ;;
*)
    echo "m3fs-mgmtd: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
