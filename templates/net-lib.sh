# --- m3fs network helpers (templates/net-lib.sh, from `m3fs cluster prepare`) ---
# shellcheck disable=SC2317 # a library: not every script that includes it calls every function
# The node's rdmaAddresses from cluster.yml (netdev names or IPv4 addresses);
# none means every candidate netdev.
m3fs_filter_words() {
    set -- {{ filter }}
    for w in "$@"; do echo "$w"; done
}

m3fs_ipv4_of() {
    ip -4 -o addr show dev "$1" 2>/dev/null | awk '{ split($4, a, "/"); print a[1] }'
}

# Netdevs that could carry RDMA: Ethernet (ARPHRD 1; IPoIB 32 for IB), backed by a device (or a bond),
# with an IPv4 address; never loopback, bridges or container plumbing.
m3fs_candidates() {
    for p in /sys/class/net/*; do
        d=${p##*/}
        [ "$d" = lo ] && continue
        [ -d "$p/bridge" ] && continue
        t=$(cat "$p/type" 2>/dev/null)
        types=" {{ link_types }} "
        case $types in *" ${t:-none} "*) ;; *) continue ;; esac
        case $d in docker*|veth*|br-*|virbr*|cni*|flannel*|cali*|vxlan*|tun*|tap*) continue ;; esac
        [ -e "$p/device" ] || [ -d "$p/bonding" ] || continue
        [ -n "$(m3fs_ipv4_of "$d")" ] || continue
        echo "$d"
    done
}

# 0 when netdev $1 matches a filter word (its name or one of its addresses).
m3fs_matches() {
    addrs=$(m3fs_ipv4_of "$1")
    for w in $(m3fs_filter_words); do
        [ "$w" = "$1" ] && return 0
        for a in $addrs; do [ "$w" = "$a" ] && return 0; done
    done
    return 1
}

m3fs_selected() {
    if [ -z "$(m3fs_filter_words)" ]; then
        m3fs_candidates
        return
    fi
    for d in $(m3fs_candidates); do
        m3fs_matches "$d" && echo "$d"
    done
}

# Filter words that match no candidate netdev.
m3fs_unmatched() {
    for w in $(m3fs_filter_words); do
        hit=
        for d in $(m3fs_candidates); do
            [ "$w" = "$d" ] && hit=1
            for a in $(m3fs_ipv4_of "$d"); do [ "$w" = "$a" ] && hit=1; done
        done
        [ -n "$hit" ] || echo "$w"
    done
}

# One line per RDMA port: "<ibdev> <port> <state> <netdev or ->".
m3fs_links() {
    rdma link show 2>/dev/null | awk '$1 == "link" {
        split($2, a, "/"); st = "-"; nd = "-"
        for (i = 3; i < NF; i++) { if ($i == "state") st = $(i + 1); if ($i == "netdev") nd = $(i + 1) }
        print a[1], a[2], st, nd }'
}

m3fs_has_link() {
    m3fs_links | awk -v d="$1" '$4 == d { f = 1 } END { exit !f }'
}
# --- end of helpers ---
