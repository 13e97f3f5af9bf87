# m3fs-life - run by m3fs (sh -c SCRIPT m3fs-life ...) to stop or start the
# containers of a created cluster (`m3fs cluster stop|start|restart`,
# src/services/lifecycle.c and client.c).  Containers keep their data: it is
# on the node under workDir, bound into them.
#
#   stop NAME [STOP_S]      when NAME runs: docker stop (SIGTERM, then SIGKILL
#                           after STOP_S seconds; empty: the container's own
#                           --stop-timeout).  Nothing when it is stopped or
#                           absent.
#   stopped NAME            exit 0 when NAME is not running.
#   start DONE_MARK NAME    docker start NAME; prints DONE_MARK when it runs
#                           already; fails when NAME does not exist.
#   settled NAME SECS       exit 0 when NAME runs and last started at least
#                           SECS seconds ago (a container just started or
#                           replaced, before 3FS's view of it counts).  A
#                           restart by docker's policy starts the count
#                           again; one long ago (RestartCount) does not
#                           matter.
#   images LABEL IMAGE NAME...
#                           what `cluster upgrade` reads first: "image<TAB>V"
#                           when IMAGE is on the node (V: its LABEL, may be
#                           empty), then "ctr<TAB>NAME<TAB>ITS IMAGE<TAB>V"
#                           for each container NAME that exists (V: the
#                           LABEL of the container, which has its image's).
#   client-stop NAME MP     stop the FUSE client NAME, then unmount the
#                           fuse.hf3fs mount it leaves at MP (its process is
#                           gone: the mount only answers "Transport endpoint
#                           is not connected").
#   client-stopped NAME MP  exit 0 when NAME is not running and nothing is
#                           mounted from 3FS at MP.
#   client-start DONE_MARK NAME MP
#                           the client runs and 3FS is mounted at MP: prints
#                           DONE_MARK.  Otherwise a stale fuse.hf3fs mount at
#                           MP is unmounted and NAME started (restarted when
#                           it runs without the mount reaching MP, e.g. it
#                           came back at boot before MP was a shared mount).
running() {
    [ "$(docker container inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]
}
exists() {
    docker container inspect "$1" >/dev/null 2>&1
}
mounted() {
    awk -v mp="$1" '$2 == mp && $3 == "fuse.hf3fs" {f = 1} END {exit !f}' /proc/mounts
}
missing() {
    printf 'container %s does not exist on this node: the cluster was not created here (run m3fs cluster create)\n' "$1" >&2
    exit 1
}
stop() {
    running "$1" || return 0
    docker stop ${2:+-t "$2"} "$1" >/dev/null
}
unmount() {
    while mounted "$1"; do umount -l "$1" || return 1; done
}

case $1 in
stop) stop "$2" "${3:-}" ;;
stopped) ! running "$2" ;;
start)
    exists "$3" || missing "$3"
    if running "$3"; then
        echo "$2"
        exit 0
    fi
    docker start "$3" >/dev/null
    ;;
settled)
    docker container inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$2" 2>/dev/null | {
        read -r running started || exit 1
        [ "$running" = true ] && [ -n "$started" ] || exit 1
        t=$(date -d "$started" +%s) || exit 1
        [ $(($(date +%s) - t)) -ge "$3" ]
    }
    ;;
images)
    fmt="{{index .Config.Labels \"$2\"}}"
    if v=$(docker image inspect -f "$fmt" "$3" 2>/dev/null); then
        printf 'image\t%s\n' "$v"
    fi
    label=$2
    shift 3
    for c in "$@"; do
        v=$(docker container inspect -f "{{.Config.Image}}	{{index .Config.Labels \"$label\"}}" "$c" 2>/dev/null) &&
            printf 'ctr\t%s\t%s\n' "$c" "$v"
    done
    exit 0
    ;;
client-stop) stop "$2" && unmount "$3" ;;
client-stopped) ! running "$2" && ! mounted "$3" ;;
client-start)
    exists "$3" || missing "$3"
    if running "$3" && mounted "$4"; then
        echo "$2"
        exit 0
    fi
    unmount "$4" || exit 1
    if running "$3"; then
        docker restart "$3" >/dev/null
    else
        docker start "$3" >/dev/null
    fi
    ;;
*)
    echo "m3fs-life: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
