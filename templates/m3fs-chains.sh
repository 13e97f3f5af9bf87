# m3fs-chains - run by m3fs (sh -c SCRIPT m3fs-chains ...) on the first
# mgmtd node to create the storage targets and check the chain table
# (src/services/chains.c).  admin_cli runs in CONTAINER with the root token
# read there from admin_cli_root.toml (never in argv).  IDS_FILE holds one id a line (the first word
# of a listed row); a check prints the listing and exits 0 when every id
# shows, else prints how many do not.
#
#   user-add CONTAINER
#       user-add of root (uid 0) with the token of token.txt, sent on
#       admin_cli's stdin (so in no argv), then user-stat 0 as that user:
#       exits 0 when the user exists with this token.
#   user-ok CONTAINER
#       only the user-stat 0 check (upstream AdminUserCtrl.cc: it succeeds
#       only for a token that validates as uid 0's or an admin's).
#   user-add-client CONTAINER TOKEN_FILE UID NAME
#       user-add of the FUSE clients' user: a 3FS root user (acts for any
#       uid), not an admin, with the token of TOKEN_FILE (this node's path;
#       /opt/3fs/etc/client_token.txt in CONTAINER) sent on admin_cli's
#       stdin, then the user-ok-client check.
#   user-ok-client CONTAINER TOKEN_FILE UID NAME
#       exits 0 when user-stat UID shows the token of TOKEN_FILE and
#       IsAdmin false (the token is compared here, never put in an argv).
#   create-targets CONTAINER IDS_FILE PART...
#       admin_cli < PART for every PART (a file inside CONTAINER) at the same
#       time (a failed line does not stop the others), then check targets.
#   targets CONTAINER IDS_FILE   every id in list-targets (or --orphan).
#   chains CONTAINER IDS_FILE    every id in list-chains.
#   serving CONTAINER IDS_FILE   every id SERVING and UPTODATE in list-targets.
cli() {
    docker exec "$ctr" {{ admin_cli_root }} "$@"
}

# Reads listings on stdin; SERVING=1 counts only SERVING and UPTODATE rows.
all_listed() {
    awk -v serving="$1" 'NR == FNR {want[$1]; next}
        {print}
        !serving || (/SERVING/ && /UPTODATE/) {delete want[$1]}
        END {n = 0; for (k in want) n++; if (n) print n " not there yet"; exit n > 0}' "$ids" -
}

# client_ok TOKEN_FILE UID: user UID has the token of TOKEN_FILE, not admin.
client_ok() {
    st=$(cli "user-stat $2") || return 1
    if printf '%s\n' "$st" | grep -qF -f "$1" && printf '%s\n' "$st" | grep -q 'IsAdmin.*false'; then
        return 0
    fi
    echo "user $2 is not the clients' user: another token, or an admin" >&2
    return 1
}

what=$1 ctr=$2 ids=${3-}
shift 2
case $what in
user-add)
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker exec "$ctr" sh -c 'echo "user-add --root --admin --token $(cat /opt/3fs/etc/token.txt) 0 root" | {{ admin_cli_root }}'
    cli 'user-stat 0'
    ;;
user-ok) cli 'user-stat 0' ;;
user-add-client)
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker exec "$ctr" sh -c 'echo "user-add --root --token $(cat /opt/3fs/etc/client_token.txt) $1 $2" | {{ admin_cli_root }}' sh "$2" "$3"
    client_ok "$ids" "$2"
    ;;
user-ok-client) client_ok "$ids" "$2" ;;
create-targets)
    shift
    docker exec "$ctr" sh -c 'for f in "$@"; do {{ admin_cli_root }} <"$f" & done; wait' sh "$@"
    # mgmtd lists a new target once its storage node's next heartbeat
    # reports it (triggered by the change, else every 10 s: upstream
    # src/storage/service/Components.cc triggerHeartbeatIfNeed,
    # configs/storage_main.toml auto_heartbeat_interval): look for about
    # 30 s, soon at first (0.2 s, 0.4 s, ...), then every second.
    i=0 pause=0.2
    until seen=$({ cli list-targets; cli 'list-targets --orphan'; } | all_listed 0); do
        i=$((i + 1))
        [ "$i" -lt 32 ] || { printf '%s\n' "$seen"; exit 1; }
        sleep "$pause"
        case $pause in 0.2) pause=0.4 ;; 0.4) pause=0.8 ;; *) pause=1 ;; esac
    done
    printf '%s\n' "$seen"
    ;;
targets) { cli list-targets; cli 'list-targets --orphan'; } | all_listed 0 ;;
chains) cli list-chains | all_listed 0 ;;
serving) cli list-targets | all_listed 1 ;;
*)
    echo "m3fs-chains: unknown command ${what:-(none)}" >&2
    exit 2
    ;;
esac
