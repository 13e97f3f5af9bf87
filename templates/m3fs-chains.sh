# m3fs-chains - run by m3fs (sh -c SCRIPT m3fs-chains ...) on the first
# mgmtd node to create the storage targets and check the chain table
# (src/services/chains.c).  admin_cli runs in CONTAINER with the root token
# read there (never in argv).  IDS_FILE holds one id a line (the first word
# of a listed row); a check prints the listing and exits 0 when every id
# shows, else prints how many do not.
#
#   create-targets CONTAINER IDS_FILE PART...
#       admin_cli < PART for every PART (a file inside CONTAINER) at the same
#       time (a failed line does not stop the others), then check targets.
#   targets CONTAINER IDS_FILE   every id in list-targets (or --orphan).
#   chains CONTAINER IDS_FILE    every id in list-chains.
#   serving CONTAINER IDS_FILE   every id SERVING and UPTODATE in list-targets.
cli() {
    docker exec "$ctr" sh -c 'exec {{ admin_cli }} --config.user_info.token "$(cat /opt/3fs/etc/token.txt)" "$@"' admin_cli "$@"
}

# Reads listings on stdin; SERVING=1 counts only SERVING and UPTODATE rows.
all_listed() {
    awk -v serving="$1" 'NR == FNR {want[$1]; next}
        {print}
        !serving || (/SERVING/ && /UPTODATE/) {delete want[$1]}
        END {n = 0; for (k in want) n++; if (n) print n " not there yet"; exit n > 0}' "$ids" -
}

what=$1 ctr=$2 ids=$3
shift 3
case $what in
create-targets)
    docker exec "$ctr" sh -c 'for f in "$@"; do {{ admin_cli }} --config.user_info.token "$(cat /opt/3fs/etc/token.txt)" <"$f" & done; wait' sh "$@"
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
