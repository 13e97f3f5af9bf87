# m3fs-clickhouse - run by m3fs (sh -c SCRIPT m3fs-clickhouse ...) on the
# ClickHouse node (src/services/clickhouse.c); clickhouse-client runs in
# CONTAINER against PORT.
#
#   has-tables CONTAINER PORT DB
#       exit 0 when table DB.distributions exists (the monitor tables).
#   create-tables CONTAINER PORT
#       run /tmp/sql/3fs-monitor.sql in CONTAINER.
case $1 in
has-tables)
    docker exec "$2" clickhouse-client --port "$3" --query "EXISTS TABLE \`$4\`.\`distributions\`" | grep -qx 1
    ;;
create-tables)
    docker exec "$2" sh -c 'clickhouse-client --port "$1" --multiquery </tmp/sql/3fs-monitor.sql' sh "$3"
    ;;
*)
    echo "m3fs-clickhouse: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
