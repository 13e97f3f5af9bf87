# m3fs-ctr - run by m3fs (sh -c SCRIPT m3fs-ctr ...) to start or remove one
# long-running container, or run a throw-away one (src/services/common.c:
# ctr_add_run, admin_cli_once_cmd, ctr_remove_cmd).  STOP_S, when not empty,
# is the seconds docker stop gives SIGTERM before SIGKILL (docker stop -t,
# docker run --stop-timeout).  CLUSTER is the cluster's name: every
# container started here is labelled m3fs.cluster=CLUSTER, and a container
# NAME that exists without that label (another cluster's, or not m3fs's) is
# never replaced or removed: the command fails naming it (issue 20).
#
#   run DONE_MARK NAME CLUSTER DIGEST STOP_S NET_ARGS_FILE PRE NDIRS DIR...
#       OPTION... IMAGE [ARG]...
#       A container NAME labelled m3fs.digest=DIGEST and running is left
#       alone (prints DONE_MARK).  Otherwise the NDIRS directories DIR are
#       created, the shell command PRE runs (may be empty), an old container
#       NAME is stopped and removed, and a new
#       one is started with the lines of NET_ARGS_FILE (if it exists; written
#       by `m3fs cluster prepare`) and the OPTIONs before IMAGE.
#   running NAME DIGEST
#       exit 0 when container NAME is labelled m3fs.digest=DIGEST and runs
#       (what makes `run` print DONE_MARK; changes nothing).
#   once NAME CLUSTER NET_ARGS_FILE PRE NDIRS DIR... OPTION... IMAGE [ARG]...
#       A throw-away container NAME (admin_cli before mgmtd runs): the DIRs
#       are created, PRE runs, an old container NAME is removed, and a new one runs in the
#       foreground with --rm, the lines of NET_ARGS_FILE and the OPTIONs;
#       its exit status is the script's.
#   remove NAME CLUSTER STOP_S [PATH]
#       stop and remove container NAME if it exists, then rm -rf PATH.
#   absent NAME [PATH]
#       exit 0 when container NAME does not exist and PATH is gone.
# before PRE NDIRS DIR...: create the DIRs, then run PRE; the caller then
# shifts NDIRS + 2 arguments.
before() {
    pre=$1 n=$2
    shift 2
    while [ "$n" -gt 0 ]; do
        mkdir -p "$1" || exit 1
        shift
        n=$((n - 1))
    done
    if [ -n "$pre" ]; then sh -c "$pre" || exit 1; fi
}

# look NAME: one inspect of container NAME, setting exists (1 or empty),
# have (its m3fs.cluster label, the rest of the line: a name may hold '/')
# and cur ("DIGEST RUNNING", as `running` compares).
look() {
    exists='' have='' cur=''
    v=$(docker container inspect -f '{{.State.Running}}/{{index .Config.Labels "m3fs.digest"}}/{{index .Config.Labels "m3fs.cluster"}}' "$1" 2>/dev/null) ||
        return 0
    exists=1
    rest=${v#*/}
    cur="${rest%%/*} ${v%%/*}" have=${rest#*/}
    [ "$have" != "<no value>" ] || have=''
}

# ours NAME: true when no container NAME exists or it is this cluster's
# (after look NAME).
ours() {
    [ -z "$exists" ] && return 0
    [ "$have" = "$cluster" ] && return 0
    echo "m3fs-ctr: container $1 exists on this node but is not cluster $cluster's (label m3fs.cluster: ${have:-none}); m3fs neither replaces nor removes it. If it is another cluster's or not m3fs's, give this cluster other container names (containerName in cluster.yml); if it is an unused leftover (or this cluster's, made by an m3fs before labels), remove it yourself: docker rm -f $1" >&2
    return 1
}

stop_rm() {
    docker stop ${2:+-t "$2"} "$1" >/dev/null 2>&1
    docker rm -f "$1" >/dev/null
}

# running DIGEST: the container look found is labelled DIGEST and runs.
running() {
    [ -n "$exists" ] && [ "$cur" = "$1 true" ]
}

run() {
    done_mark=$1 name=$2 cluster=$3 digest=$4 stop=$5 net_args=$6
    shift 6
    look "$name"
    ours "$name" || exit 1
    if running "$digest"; then
        echo "$done_mark"
        exit 0
    fi
    before "$@"
    shift $(($2 + 2))
    if [ -n "$exists" ]; then
        printf 'note: replacing container %s: its configuration changed or it is not running\n' "$name" >&2
        stop_rm "$name" "$stop" || exit 1
    fi
    docker_run run "$name" "$digest" "$stop" "$net_args" "$@"
}

once() {
    name=$1 cluster=$2 net_args=$3
    shift 3
    look "$name"
    ours "$name" || exit 1
    before "$@"
    shift $(($2 + 2))
    docker rm -f "$name" >/dev/null 2>&1
    docker_run once "$name" '' '' "$net_args" "$@"
}

# docker_run MODE NAME DIGEST STOP_S NET_ARGS_FILE OPTION... IMAGE [ARG]...
docker_run() {
    mode=$1 name=$2 digest=$3 stop=$4 net_args=$5
    shift 5
    # The network's arguments go first: append each line, then rotate the
    # arguments given (OPTION... IMAGE [ARG]...) behind them.
    if [ -f "$net_args" ]; then
        n=$#
        while IFS= read -r a || [ -n "$a" ]; do
            if [ -n "$a" ]; then set -- "$@" "$a"; fi
        done <"$net_args"
        while [ "$n" -gt 0 ]; do
            set -- "$@" "$1"
            shift
            n=$((n - 1))
        done
    fi
    if [ "$mode" = once ]; then
        exec docker run --rm --name "$name" --label "m3fs.cluster=$cluster" "$@"
    fi
    exec docker run --detach --name "$name" --label "m3fs.cluster=$cluster" \
        --label "m3fs.digest=$digest" ${stop:+--stop-timeout "$stop"} "$@"
}

case $1 in
run)
    shift
    run "$@"
    ;;
once)
    shift
    once "$@"
    ;;
remove)
    cluster=$3
    look "$2"
    ours "$2" || exit 1
    if [ -n "$exists" ]; then stop_rm "$2" "$4" || exit 1; fi
    if [ -n "${5:-}" ]; then rm -rf "$5"; fi
    ;;
running)
    look "$2"
    running "$3"
    ;;
absent)
    if docker container inspect "$2" >/dev/null 2>&1; then exit 1; fi
    [ -z "$3" ] || ! [ -e "$3" ]
    ;;
*)
    echo "m3fs-ctr: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
