#!/usr/bin/env bash
# bench_status: wall time of `m3fs cluster status` on a 20-node lab cluster
# (scripts/lab.sh) running the stand-in images: fdb on 3 nodes, clickhouse
# + monitor on lab-n1, mgmtd and meta on 2, storage on every node (1 dir
# disk, RF 2, 8 targets per disk), clients on 2 (the shape of
# bench_create.sh).  The cluster is created first (not timed); then status
# runs BENCH_RUNS times (default 5).  Prints each time, the median, and
# the median's ratio to the goal (20 nodes <= 2 s; <= 1.00 meets it).
#
# Needs root; takes a few minutes; waits for another lab that is up.
# Usage: bench_status.sh [M3FS_BIN]   (BENCH_NODES=20, BENCH_RUNS=5)
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

times=()
for i in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    mx cluster status -c "$cfg" >"$W/status.out" 2>"$W/status.err"
    rc=$?
    t1=$(date +%s.%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    times+=("$t")
    printf 'status %d on %d nodes: %6.3f s (exit %d: %s)\n' "$i" "$N" "$t" "$rc" "$(head -1 "$W/status.out")"
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$N" -v g="$GOAL_S" '
    { t[NR] = $1 }
    END {
        m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "median: %.3f s on %s nodes\n", m, n
        printf "goal: %s nodes <= %s s; ratio to goal %.2f (%s)\n", n, g, m / g, m <= g ? "met" : "NOT met"
    }'
