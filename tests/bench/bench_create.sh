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
cd "$ROOT" || exit 2
. tests/bench/lib.sh
bench_init bench_create "${1:-}"
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
    bench_lab_up "$n"
    cfg=$W/n$n/cluster.yml
    mkdir -p "$W/n$n"
    bench_cluster_yml "$cfg" bench "$n"
    bench_images_loaded "$cfg"
    bench_time "secs[$n]" bench_cluster_create "$cfg" "$W/create-$n.log" "$n"
    printf 'cluster create on %2d nodes: %6.2f s\n' "$n" "${secs[$n]}"
    echo "    slowest steps:"
    slowest_steps "$W/create-$n.log" | sed 's/^/      /'
    [ -z "${BENCH_LOG_DIR:-}" ] || cp "$W/create-$n.log" "$BENCH_LOG_DIR/create-$n.log"
    bench_lab_down
done

# shellcheck disable=SC2086 # BENCH_SIZES: a list, split on purpose
set -- $SIZES
if [ $# -eq 2 ]; then
    awk -v n1="$1" -v n2="$2" -v a="${secs[$1]}" -v b="${secs[$2]}" -v g="$GOAL_S" 'BEGIN {
        printf "ratio %s nodes / %s nodes: %.2f\n", n2, n1, b / a
        printf "goal: %s nodes <= %s s; ratio to goal %.2f (%s)\n", n2, g, b / g,
            b <= g ? "met" : "NOT met" }'
fi
