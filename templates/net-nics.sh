# The node's IPv4 addresses as 3FS sees them (templates/net-nics.sh): one
# line "nic <name> <address> <up>" per address, where <name> is the
# address's label (eth0, or eth0:1 for an alias: what getifaddrs() reports
# and 3FS compares with filter_list) and <up> is 1 when the NIC has IFF_UP
# (upstream src/common/net/IfAddrs.h); then one line "rdma <device>" per
# RDMA (verbs) device in /sys/class/infiniband.  Run with `sh -s`.
set -f
command -v ip >/dev/null 2>&1 || { echo "the ip command (iproute2) is missing" >&2; exit 3; }
links=$(ip -o link show) || exit 3
ip -o -4 addr show | while IFS= read -r line; do
    # "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\    valid_lft ..."
    # shellcheck disable=SC2086 # split the line into its words
    set -- ${line%%\\*}
    if [ "$#" -lt 4 ] || [ "$3" != inet ]; then continue; fi
    dev=${2%%@*}
    addr=${4%%/*}
    eval "label=\${$#}"
    case $label in "$dev" | "$dev":*) ;; *) label=$dev ;; esac
    up=0
    # "2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ..."
    flags=$(printf '%s\n' "$links" | while IFS= read -r l; do
        # shellcheck disable=SC2086 # split the line into its words
        set -- $l
        n=${2%:}
        [ "${n%%@*}" = "$dev" ] && { printf '%s\n' "$3"; break; }
    done)
    case $flags in *[\<,]UP[,\>]*) up=1 ;; esac
    printf 'nic %s %s %s\n' "$label" "$addr" "$up"
done
for d in /sys/class/infiniband/*; do
    [ -e "$d" ] && printf 'rdma %s\n' "${d##*/}"
done
exit 0
