# m3fs-client - run by m3fs (sh -c SCRIPT m3fs-client ...) on every client
# node (src/services/client.c).  MP is the host mountpoint, MARKER the file
# that records that m3fs bind-mounted MP onto itself.
#
#   mounted MP              exit 0 when a fuse.hf3fs mount is at MP.
#   shared MP               exit 0 when MP is on a shared mount.
#   share MP MARKER         make MP a shared mount (bind-mounted onto itself
#                           when the mount holding it is private).
#   drop-stale MP CONTAINER a fuse.hf3fs mount at MP left by a container
#                           that is gone is stale: remove CONTAINER, unmount.
#   unmount MP MARKER       unmount 3FS and undo share (after the container
#                           is removed); rmdir MP when empty.
#   unmounted MP MARKER     exit 0 when unmount has nothing left to do.
#   probe MP CONTAINER CLUSTER DIR
#                           what add-client / delete-client read first: one
#                           line "probe" and the words that hold: container
#                           (CONTAINER exists, labelled m3fs.cluster=CLUSTER)
#                           and running; foreign (CONTAINER exists without
#                           that label); mounted (fuse.hf3fs at MP); files
#                           (DIR, the client's config dir, exists).
mounted() {
    awk -v mp="$1" '$2 == mp && $3 == "fuse.hf3fs" {f = 1} END {exit !f}' /proc/mounts
}
shared() {
    findmnt -n -o PROPAGATION --target "$1" | grep -q shared
}
case $1 in
mounted) mounted "$2" ;;
shared) shared "$2" ;;
share)
    mkdir -p "$2" || exit 1
    shared "$2" && exit 0
    mkdir -p "$(dirname "$3")" && mount --bind "$2" "$2" && mount --make-rshared "$2" && touch "$3"
    ;;
drop-stale)
    if mounted "$2"; then
        docker rm -f "$3" >/dev/null 2>&1
        umount -l "$2"
    fi
    ;;
unmount)
    while mounted "$2"; do umount -l "$2" || exit 1; done
    if [ -e "$3" ]; then
        if mountpoint -q "$2"; then umount -l "$2"; fi && rm -f "$3"
    fi
    rmdir "$2" 2>/dev/null
    exit 0
    ;;
unmounted) ! mounted "$2" && ! [ -e "$3" ] ;;
probe)
    out=probe
    if v=$(docker container inspect -f '{{index .Config.Labels "m3fs.cluster"}}/{{.State.Running}}' "$3" 2>/dev/null); then
        case $v in
        "$4/true") out="$out container running" ;;
        "$4/"*) out="$out container" ;;
        *) out="$out foreign" ;;
        esac
    fi
    if mounted "$2"; then out="$out mounted"; fi
    if [ -d "$5" ]; then out="$out files"; fi
    echo "$out"
    ;;
*)
    echo "m3fs-client: unknown command ${1:-(none)}" >&2
    exit 2
    ;;
esac
