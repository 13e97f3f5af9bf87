#!/usr/bin/env bash
# bench_status: wall time of `m3fs cluster status` on a 20-node lab cluster
# (scripts/lab.sh) running the stand-in images: fdb on 3 nodes, clickhouse
# + monitor on lab-n1, mgmtd and meta on 2, storage on every node (1 dir
# disk, RF 2, 8 targets per disk), clients on 2 (the shape of
# bench_create.sh).  The cluster is created first (not timed); then status
# runs BENCH_RUNS times (default 5), with BENCH_STATUS_ARGS (e.g.
# "--parallel 8").  Prints each time, the median, and the median's ratio
# to the goal (20 nodes <= 2 s; <= 1.00 meets it).  Then, as the floor of
# any one-round command on this lab, as many bare SSH rounds (`cluster exec
# -- true` on every node) and their median; and the machine (CPUs, load)
# before and after: every node of the lab shares this machine's CPUs.
#
# Needs root; takes a few minutes; waits for another lab that is up.
# Usage: bench_status.sh [M3FS_BIN]   (BENCH_NODES=20, BENCH_RUNS=5,
#        BENCH_STATUS_ARGS=)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/bench/lib.sh
bench_init bench_status "${1:-}"
GOAL_S=2
N=${BENCH_NODES:-20}
RUNS=${BENCH_RUNS:-5}
times=() # set by bench_runs

bench_lab_up "$N"
cfg=$W/cluster.yml
bench_cluster_yml "$cfg" bench "$N"
bench_images_loaded "$cfg"
bench_cluster_create "$cfg" "$W/create.log" "$N"

echo "machine: $(nproc) CPUs, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # BENCH_STATUS_ARGS: options, split on purpose
bench_runs status "$RUNS" "$N" cluster status -c "$cfg" ${BENCH_STATUS_ARGS:-}
read -r m lo hi < <(bench_median "${times[@]}")
bench_runs "bare SSH round" "$RUNS" "$N" cluster exec -c "$cfg" -- true
read -r fm flo fhi < <(bench_median "${times[@]}")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# One more status run, with this machine's CPU split (the lab's nodes run on
# this machine's CPUs; real nodes each have their own).
bench_cpu_snap "$W/cpu.a"
t=0
# shellcheck disable=SC2086 # as above
bench_time t mx cluster status -c "$cfg" ${BENCH_STATUS_ARGS:-} >"$W/run.out" 2>&1
bench_cpu_snap "$W/cpu.b"
echo "status once more, $t s: $(bench_cpu_split "$W/cpu.a" "$W/cpu.b" "$t")"
printf 'bare SSH round (floor): median %.3f s (%.3f..%.3f)\n' "$fm" "$flo" "$fhi"
printf 'median: %.3f s on %s nodes (%.3f..%.3f)%s\n' "$m" "$N" "$lo" "$hi" \
    "${BENCH_STATUS_ARGS:+ with $BENCH_STATUS_ARGS}"
awk -v m="$m" -v g="$GOAL_S" -v n="$N" -v f="$fm" 'BEGIN {
    met = m <= g ? "met" : "NOT met"; x = f > 0 ? m / f : 0
    printf "goal: %s nodes <= %s s; ratio to goal %.2f (%s); %.1f x the bare SSH round\n",
        n, g, m / g, met, x }'
