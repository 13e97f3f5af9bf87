# m3fs-wait - run by m3fs (sh -c SCRIPT m3fs-wait ...) in the waits of
# `cluster create` (src/services/common.c, wait_guarded_n and guard_then).
#
#   guard GIVE_UP_MARK RESTARTS CONTAINER...
#       exit 1, printing GIVE_UP_MARK and the container's last log lines,
#       when a CONTAINER has restarted at least RESTARTS times and is not
#       running now (a crash loop: waiting longer cannot help); else exit 0.
#   check GIVE_UP_MARK RESTARTS K CONTAINER_1 ... CONTAINER_K COMMAND [ARG]...
#       exit 0 when COMMAND succeeds; otherwise the guard above for the K
#       containers, then exit 1 (not yet).
#   then GIVE_UP_MARK RESTARTS K CONTAINER_1 ... CONTAINER_K COMMAND [ARG]...
#       the guard above for the K containers, then COMMAND in its place (a
#       watch: crash loops there stop the wait, then what COMMAND finds).
guard() {
    mark=$1 max=$2
    shift 2
    [ $# -gt 0 ] || return 0
    # one inspect for every container (a missing one is left out)
    docker container inspect -f '{{.RestartCount}} {{.State.Status}} {{.Name}}' "$@" 2>/dev/null |
        while read -r n state ctr; do
            ctr=${ctr#/}
            if [ "$n" -ge "$max" ] 2>/dev/null && [ "$state" != running ]; then
                printf '%scontainer %s keeps restarting (%s restarts); its last log lines:\n' "$mark" "$ctr" "$n"
                docker logs --tail 20 "$ctr" 2>&1 | sed 's/^/    /'
                exit 1
            fi
        done || exit 1
}

case $1 in
guard)
    shift
    guard "$@"
    ;;
check | then)
    sub=$1 mark=$2 max=$3 k=$4
    shift 4
    ctrs=
    while [ "$k" -gt 0 ]; do
        ctrs="$ctrs $1"
        shift
        k=$((k - 1))
    done
    if [ "$sub" = "then" ]; then
        # shellcheck disable=SC2086 # container names are plain words
        guard "$mark" "$max" $ctrs
        exec "$@"
    fi
    if "$@"; then exit 0; fi
    # shellcheck disable=SC2086 # container names are plain words
    guard "$mark" "$max" $ctrs
    exit 1
    ;;
*)
    echo "m3fs-wait: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
