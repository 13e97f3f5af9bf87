#!/usr/bin/env bash
# bench_prepare: `m3fs cluster prepare -a` on the lab (scripts/lab.sh), with
# real docker-loadable images (generated: 8 MiB of random data + zeros per
# layer; files on this machine are sparse, the nodes really store them).
#
#  1. Peak RSS of prepare -a for a 2 GiB bundle (1 GiB 3fs + 512 MiB fdb +
#     512 MiB clickhouse) to 1 node.  Budget 64 MiB; prints the ratio and
#     exits 1 when over.
#  2. prepare -a of a smaller bundle (BENCH_RATIO_MIB, default 192) to 1 node
#     and to BENCH_NODES (default 8), the deploying machine's link and each
#     node's shaped to the same BENCH_RATE (default 200mbit) by the lab
#     (issue 19): prints time(8 nodes) / time(1 node) (goal <= 1.3: the
#     relay; direct pushes would be ~8) and each time over the physical limit
#     (bundle size / link rate).
#
# Needs root, dockerd, python3; about 6 GiB of free disk under /var/tmp (the
# nodes' copies and loaded layers).  Takes a few minutes; waits for another
# lab that is up.  Usage: bench_prepare.sh [M3FS_BIN]   (BENCH_SKIP_RSS=1,
# BENCH_SKIP_RATIO=1 skip a part)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. tests/bench/lib.sh
. tests/integration/prepare-lib.sh
bench_init bench_prepare "${1:-}"
RATE=${BENCH_RATE:-200mbit}
RATIO_MIB=${BENCH_RATIO_MIB:-192}
NODES=${BENCH_NODES:-8}

rc=0
if [ -z "${BENCH_SKIP_RSS:-}" ]; then
    mkdir -p "$W/big"
    prep_gen_bundle "$W/big/bundle.tar" 1024 512 512
    bench_lab_up 1
    prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c1.yml" 1
    read -r secs kib _ < <(bench_cluster_prepare "$W/c1.yml" "$W/big/bundle.tar")
    bench_lab_down
    rm -rf "$W/big"
    echo "bench_prepare: 2.0 GiB bundle to 1 node in ${secs}s (verify, send, node sha256, docker load)"
    awk -v k="$kib" 'BEGIN { printf "bench_prepare: peak RSS %.1f MiB, budget 64 MiB, ratio %.3f\n", k / 1024, k / 1024 / 64 }'
    [ "$kib" -lt 65536 ] || rc=1
fi
# Bytes per second of a tc rate (kbit, mbit, gbit).
rate_bps() {
    case $1 in
    *gbit) echo $((${1%gbit} * 125000000)) ;;
    *mbit) echo $((${1%mbit} * 125000)) ;;
    *kbit) echo $((${1%kbit} * 125)) ;;
    *) return 1 ;;
    esac
}
# prepare_on N: a fresh N-node lab, deployer and node links shaped to RATE;
# prints "SECONDS PEAK_RSS_KIB" of `prepare -a` of the small bundle.
prepare_on() {
    local t k c
    bench_lab_up "$1" --bandwidth "$RATE" --deployer-bandwidth "$RATE"
    prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c$1.yml" "$1"
    bench_cpu_snap "$W/cpu$1.a"
    read -r t k c < <(BENCH_PREP_LOG=$W/p$1.log bench_cluster_prepare "$W/c$1.yml" "$W/small/bundle.tar")
    bench_cpu_snap "$W/cpu$1.b"
    bench_cpu_split "$W/cpu$1.a" "$W/cpu$1.b" "$t" "$c" >"$W/cpu$1.txt"
    bench_lab_down
    echo "$t $k"
}
# Where the time of the run on N nodes went: the relay step and the images
# step (sha256 and docker load on the nodes, direct pushes).
steps_of() {
    sed -n 's/.*\] \(relay\): relaying images node to node: done (\(.*\))/\1 \2/p
        s/.*\] \(images\): sending and loading images: done (\(.*\))/\1 \2/p' "$W/p$1.log" |
        tr '\n' ' '
}
if [ -z "${BENCH_SKIP_RATIO:-}" ]; then
    mkdir -p "$W/small"
    third=$((RATIO_MIB / 3))
    prep_gen_bundle "$W/small/bundle.tar" "$third" "$third" "$third"
    bytes=$(stat -c %s "$W/small/bundle.tar")
    bps=$(rate_bps "$RATE") || { echo "bench_prepare: BENCH_RATE '$RATE': use kbit, mbit or gbit" >&2; exit 2; }
    read -r t1 _ < <(prepare_on 1)
    read -r tn kn < <(prepare_on "$NODES")
    echo "bench_prepare: $((third * 3)) MiB bundle, the deploying machine's link and every node's shaped to $RATE: 1 node ${t1}s, $NODES nodes ${tn}s (peak RSS $((kn / 1024)) MiB)"
    awk -v a="$t1" -v b="$tn" -v n="$NODES" 'BEGIN { printf "bench_prepare: time ratio %d nodes / 1 node = %.2f (goal <= 1.30; direct pushes through one link would be ~%d)\n", n, b / a, n }'
    awk -v a="$t1" -v b="$tn" -v n="$NODES" -v by="$bytes" -v r="$bps" 'BEGIN { l = by / r; printf "bench_prepare: physical limit (bundle %.0f MiB / %.1f MB/s) %.1fs; ratio to it: 1 node %.2f, %d nodes %.2f\n", by / 1048576, r / 1e6, l, a / l, n, b / l }'
    echo "bench_prepare: steps on 1 node: $(steps_of 1); on $NODES nodes: $(steps_of "$NODES")"
    # The lab runs the deploying machine and every node on this machine's
    # CPUs: per-node work (each hop's ssh, sha256, docker load) adds up here,
    # where real nodes each have their own CPUs.
    for n in 1 "$NODES"; do
        echo "bench_prepare: CPU on $n node(s): $(head -1 "$W/cpu$n.txt")"
        tail -n +2 "$W/cpu$n.txt"
    done
    cn=$(bench_cpu_sum "$W/cpu$NODES.a" "$W/cpu$NODES.b")
    awk -v a="$t1" -v c="$cn" -v n="$NODES" -v p="$(nproc)" 'BEGIN { printf "bench_prepare: the %d-node run'"'"'s CPU work alone needs >= %.1fs on %d CPUs = %.2f x the 1-node time: the least ratio this machine allows for it\n", n, c / p, p, c / p / a }'
    # The nodes' share of the 1-node run (receive, sha256, docker load: what
    # every node does whatever the relay costs), times N: the least ratio
    # here even for a relay that cost nothing.
    w=$(bench_cpu_sum "$W/cpu1.a" "$W/cpu1.b" lab)
    awk -v a="$t1" -v w="$w" -v n="$NODES" -v p="$(nproc)" 'BEGIN { printf "bench_prepare: each node'"'"'s own work (its lab processes in the 1-node run) %.1f CPU-s; x %d nodes on %d CPUs >= %.1fs = %.2f x the 1-node time, even if relaying cost nothing\n", w, n, p, w * n / p, w * n / p / a }'
fi
exit $rc
