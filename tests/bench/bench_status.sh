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
export M3FS_BIN=$(realpath -m "${1:-${M3FS_BIN:-$ROOT/build/m3fs}}")
. tests/integration/lib.sh
. tests/integration/lib-create.sh
it_init
[ -x "$M" ] || { echo "bench_status: build m3fs first ($M)" >&2; exit 2; }
it_workdir bench-status
GOAL_S=2
N=${BENCH_NODES:-20}
RUNS=${BENCH_RUNS:-5}

it_lab_up "$N"
cfg=$W/cluster.yml
cr_cluster_yml "$cfg" bench "$N"
cat >>"$cfg" <<EOF
services:
  fdb: {nodes: $(cr_yml_list 1 3)}
  clickhouse: {nodes: [lab-n1]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: $(cr_yml_list 1 2)}
  meta: {nodes: $(cr_yml_list 1 2)}
  storage:
    nodes: $(cr_yml_list 1 "$N")
    diskType: dir
    diskNumPerNode: 1
    replicationFactor: 2
    targetNumPerDisk: 8
  client: {nodes: $(cr_yml_list $((N - 1)) "$N"), hostMountpoint: /mnt/3fs}
EOF
cr_images_loaded "$cfg"
mx cluster create -c "$cfg" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "bench_status: create on $N nodes failed" >&2; exit 1; }

# "LABEL I: T s ..." for each of RUNS runs of m3fs ARGS; the times in $times.
timed_runs() {
    local label=$1 i t0 t1 t rc
    shift
    times=()
    for i in $(seq "$RUNS"); do
        t0=$(date +%s.%N)
        mx "$@" >"$W/run.out" 2>"$W/run.err"
        rc=$?
        t1=$(date +%s.%N)
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        times+=("$t")
        printf '%s %d on %d nodes: %6.3f s (exit %d: %s)\n' "$label" "$i" "$N" "$t" "$rc" \
            "$(grep -v '^ *hint:\|warning:' "$W/run.out" | head -1)"
    done
}
# The median of $times, and its spread.
median() {
    printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.3f %.3f %.3f\n", m, t[1], t[NR] }'
}

echo "machine: $(nproc) CPUs, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # BENCH_STATUS_ARGS: options, split on purpose
timed_runs status cluster status -c "$cfg" ${BENCH_STATUS_ARGS:-}
read -r m lo hi < <(median)
timed_runs "bare SSH round" cluster exec -c "$cfg" -- true
read -r fm flo fhi < <(median)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'bare SSH round (floor): median %.3f s (%.3f..%.3f)\n' "$fm" "$flo" "$fhi"
printf 'median: %.3f s on %s nodes (%.3f..%.3f)%s\n' "$m" "$N" "$lo" "$hi" \
    "${BENCH_STATUS_ARGS:+ with $BENCH_STATUS_ARGS}"
awk -v m="$m" -v g="$GOAL_S" -v n="$N" -v f="$fm" 'BEGIN {
    met = m <= g ? "met" : "NOT met"; x = f > 0 ? m / f : 0
    printf "goal: %s nodes <= %s s; ratio to goal %.2f (%s); %.1f x the bare SSH round\n",
        n, g, m / g, met, x }'
