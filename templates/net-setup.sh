#!/bin/sh
# RDMA setup for 3FS (networkType {{ type }}), written by `m3fs cluster prepare`
# and run at every boot by {{ unit }} before docker starts.
# Safe to run again: it only adds what is missing and prints what it did.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

{{ lib }}
m3fs_fail() {
    echo "m3fs-network: $*" >&2
    exit 1
}

m3fs_rxe() {
    if [ ! -d /sys/module/rdma_rxe ]; then
        modprobe rdma_rxe 2>/dev/null || m3fs_fail "cannot load the kernel module rdma_rxe" \
            "(kernel $(uname -r)); install the package that has it (on Ubuntu:" \
            "linux-modules-extra-$(uname -r)) and run prepare again"
        echo "loaded kernel module rdma_rxe"
    fi
    command -v rdma >/dev/null || m3fs_fail "the 'rdma' tool (iproute2) is missing"
    rc=0
    for d in $(m3fs_selected); do
        m3fs_has_link "$d" && continue
        if rdma link add "${d}_rxe0" type rxe netdev "$d"; then
            echo "created rxe link ${d}_rxe0 on $d"
        else
            echo "m3fs-network: 'rdma link add ${d}_rxe0 type rxe netdev $d' failed" >&2
            rc=1
        fi
    done
    return $rc
}

m3fs_erdma() {
    mode=$(cat /sys/module/erdma/parameters/compat_mode 2>/dev/null)
    [ "$mode" = Y ] && return 0
    if [ -d /sys/module/erdma ]; then
        modprobe -r erdma || m3fs_fail "erdma is loaded without compat_mode=Y and cannot be" \
            "unloaded (in use?); stop what uses it, or reboot (modprobe.d has the option)"
    fi
    modprobe erdma compat_mode=Y || m3fs_fail "cannot load erdma with compat_mode=Y; install" \
        "Alibaba Cloud's eRDMA driver"
    [ "$(cat /sys/module/erdma/parameters/compat_mode 2>/dev/null)" = Y ] ||
        m3fs_fail "erdma was loaded but compat_mode is not Y"
    echo "loaded erdma with compat_mode=Y"
}

# What the setup changes, one fact per line (prepare compares before/after).
m3fs_state() {
    for m in rdma_rxe erdma; do
        [ -d "/sys/module/$m" ] && echo "kernel module $m loaded"
    done
    if [ -r /sys/module/erdma/parameters/compat_mode ]; then
        echo "erdma compat_mode=$(cat /sys/module/erdma/parameters/compat_mode)"
    fi
    m3fs_links | while read -r dev port _st nd; do echo "RDMA link $dev/$port on netdev $nd"; done
}

case ${1:-setup} in
setup) m3fs_{{ mode }} ;;
selected) m3fs_selected ;;
state) m3fs_state ;;
*) m3fs_fail "usage: $0 [setup|selected|state]" ;;
esac
