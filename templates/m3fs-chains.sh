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

what=$1 ctr=$2 ids=${3-}
shift 2
case $what in
user-add)
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker exec "$ctr" sh -c 'echo "user-add --root --admin --token $(cat /opt/3fs/etc/token.txt) 0 root" | {{ admin_cli_root }}'
    cli 'user-stat 0'
    ;;
user-ok) cli 'user-stat 0' ;;
create-targets)
    shift
    docker exec "$ctr" sh -c 'for f in "$@"; do {{ admin_cli_root }} <"$f" & done; wait' sh "$@"
    { cli list-targets; cli 'list-targets --orphan'; } | all_listed 0
    ;;
targets) { cli list-targets; cli 'list-targets --orphan'; } | all_listed 0 ;;
chains) cli list-chains | all_listed 0 ;;
serving) cli list-targets | all_listed 1 ;;
*)
    echo "m3fs-chains: unknown command ${what:-(none)}" >&2
    exit 2
    ;;
esac
