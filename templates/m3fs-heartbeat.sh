# m3fs-heartbeat - run by m3fs (sh -c SCRIPT m3fs-heartbeat ...) in the wait
# until every meta and storage node is HEARTBEAT_CONNECTED.
#
#   check MGMTD_CONTAINER "ID ..." [WHO LOGDIR MAIN]...
#       list-nodes in the mgmtd container: exit 0 when every ID shows
#       HEARTBEAT_CONNECTED; otherwise name the others, print the evidence
#       below for each WHO, and exit 1.
#   watch [WHO LOGDIR MAIN]...
#       only the evidence.
#
# Evidence: mgmtd refuses the heartbeat of a node id it does not know with
# "<id> not registered" unless allow_heartbeat_from_unregistered is true
# (upstream src/mgmtd/ops/HeartbeatOperation.cc); mgmtd logs it, and the
# refused service logs "MgmtdClient: Heartbeat failed: ..." with it at level
# ERR (src/client/mgmtd/MgmtdClient.cc).  m3fs's log config
# (templates/log.toml.part) sends every level to LOGDIR/MAIN.log and only
# FATAL to the container's stderr, so the files alone hold such lines (no
# `docker logs`: a docker CLI call per container per check, on every node).
# The last of them follow a '{{ suspect }}' line (old lines can linger: m3fs
# acts on it only when it lasts).
evidence() {
    lines=$(for f in "$2/$3"*.log; do [ -f "$f" ] && tail -n 50 "$f"; done |
        grep -F 'not registered' | tail -n 3)
    [ -n "$lines" ] || return 0
    printf '%s%s: mgmtd refuses heartbeats from node ids it does not know ("not registered"); the last lines saying so:\n' '{{ suspect }}' "$1"
    printf '%s\n' "$lines" | sed 's/^/    /'
}
mode=$1
shift
if [ "$mode" = check ]; then
    ctr=$1 ids=$2
    shift 2
    docker exec "$ctr" {{ admin_cli }} list-nodes | awk -v ids="$ids" '
        BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) want[a[i]] }
        { print }
        /HEARTBEAT_CONNECTED/ { delete want[$1] }
        END { m = 0; for (k in want) { m++; printf "node %s: not HEARTBEAT_CONNECTED yet\n", k }
              exit (m > 0) }' && exit 0
fi
while [ $# -ge 3 ]; do
    evidence "$1" "$2" "$3"
    shift 3
done
exit 1
