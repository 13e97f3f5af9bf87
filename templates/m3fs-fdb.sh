# m3fs-fdb - run by m3fs (sh -c SCRIPT m3fs-fdb ...) on the first
# FoundationDB node (src/services/fdb.c).
#
#   configure CONTAINER CONFIGURE_ARGS
#       fdbcli 'configure CONFIGURE_ARGS' in CONTAINER; a database that
#       already exists counts as configured.
#   available CONTAINER
#       exit 0 when fdbcli 'status minimal' says the database is available.
case $1 in
configure)
    out=$(docker exec "$2" fdbcli --exec "configure $3" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    [ "$rc" = 0 ] && exit 0
    printf '%s\n' "$out" | grep -q 'Database already exists'
    ;;
available)
    docker exec "$2" fdbcli --exec 'status minimal' | grep 'The database is available'
    ;;
*)
    echo "m3fs-fdb: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
