#!/usr/bin/env bash
# bench_create: wall time of `m3fs cluster create --skip-bench` on a lab
# (scripts/lab.sh) of 5 and of 20 nodes running the stand-in images, which
# are loaded first with `cluster prepare -a` (not timed).  Same shape at both
# sizes: fdb on 3 nodes, clickhouse + monitor on lab-n1, mgmtd and meta on 2,
# storage on every node (1 dir disk, RF 2, 8 targets per disk), clients on 2.
# Prints both times, their ratio (20 / 5) and the ratio to the goal (20
# nodes <= 10 s; <= 1.00 meets it).
#
# Needs root; takes a few minutes; waits for another lab that is up.
# Usage: bench_create.sh [M3FS_BIN]   (BENCH_SIZES="5 20" to change sizes;
# BENCH_LOG_DIR=DIR keeps the create logs there)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export M3FS_BIN=$(realpath -m "${1:-${M3FS_BIN:-$ROOT/build/m3fs}}")
. tests/integration/lib.sh
. tests/integration/lib-create.sh
it_init
[ -x "$M" ] || { echo "bench_create: build m3fs first ($M)" >&2; exit 2; }
it_workdir bench-create
GOAL_S=10
SIZES=${BENCH_SIZES:-5 20}

# The 5 slowest steps of a create log: "[i/n] title: ready (D)" or
# "[i/n] title: N changed, M already done (D)" lines (steps run at the same
# time where the plan allows, so these do not add up to the wall time).
slowest_steps() {
    python3 - "$1" <<'PY'
import re, sys
steps = []
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"(\[\d+/\d+\] .*): (?:ready|\d+ changed, \d+ already done) \(((?:\d+(?:h|ms|m|s))+)\)$",
                  line.rstrip())
    if m:
        v = sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[u]
                for n, u in re.findall(r"(\d+)(h|ms|m|s)", m.group(2)))
        steps.append((v, m.group(1)))
for v, t in sorted(steps, reverse=True)[:5]:
    print(f"{v:6.2f} s  {t}")
PY
}

declare -A secs
for n in $SIZES; do
    it_lab_up "$n"
    cfg=$W/n$n/cluster.yml
    mkdir -p "$W/n$n"
    cr_cluster_yml "$cfg" bench "$n"
    cat >>"$cfg" <<EOF
services:
  fdb: {nodes: $(cr_yml_list 1 3)}
  clickhouse: {nodes: [lab-n1]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: $(cr_yml_list 1 2)}
  meta: {nodes: $(cr_yml_list 1 2)}
  storage:
    nodes: $(cr_yml_list 1 "$n")
    diskType: dir
    diskNumPerNode: 1
    replicationFactor: 2
    targetNumPerDisk: 8
  client: {nodes: $(cr_yml_list $((n - 1)) "$n"), hostMountpoint: /mnt/3fs}
EOF
    cr_images_loaded "$cfg"
    t0=$(date +%s.%N)
    mx cluster create -c "$cfg" --skip-bench >"$W/create-$n.log" 2>&1 ||
        { tail -40 "$W/create-$n.log"; echo "bench_create: create on $n nodes failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    secs[$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    printf 'cluster create on %2d nodes: %6.2f s\n' "$n" "${secs[$n]}"
    echo "    slowest steps:"
    slowest_steps "$W/create-$n.log" | sed 's/^/      /'
    [ -z "${BENCH_LOG_DIR:-}" ] || cp "$W/create-$n.log" "$BENCH_LOG_DIR/create-$n.log"
    scripts/lab.sh down >/dev/null 2>&1 || { echo "bench_create: lab down failed" >&2; exit 1; }
done

set -- $SIZES
if [ $# -eq 2 ]; then
    awk -v n1="$1" -v n2="$2" -v a="${secs[$1]}" -v b="${secs[$2]}" -v g="$GOAL_S" 'BEGIN {
        printf "ratio %s nodes / %s nodes: %.2f\n", n2, n1, b / a
        printf "goal: %s nodes <= %s s; ratio to goal %.2f (%s)\n", n2, g, b / g,
            b <= g ? "met" : "NOT met" }'
fi
