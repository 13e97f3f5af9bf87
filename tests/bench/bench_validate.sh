#!/usr/bin/env bash
# bench_validate: wall time of `m3fs config validate` on generated configs of
# N and 4N explicit nodes (every node a storage and a client node), the
# median of BENCH_RUNS runs each, and the ratio of the two: about 4 when
# loading and validating are linear in the nodes, about 16 when quadratic
# (issue 20: name, host and member checks and the key positions are hashed).
# No lab; the configs exceed the chain table's 1000 storage nodes, so the
# command reports that one error: the time is the whole load and validation.
# Usage: bench_validate.sh [M3FS_BIN]   (BENCH_NODES=2000, BENCH_RUNS=5)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/m3fs}
N=${BENCH_NODES:-2000}
RUNS=${BENCH_RUNS:-5}
W=$(mktemp -d /tmp/m3fs-bench-validate.XXXXXX)
trap 'rm -rf "$W"' EXIT

gen() { # gen N FILE
    python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("name: big\nworkDir: /opt/3fs\nnetworkType: TCP\nnodes:\n")
    for i in range(n):
        f.write(f"  - {{name: n{i}, host: 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}, username: root}}\n")
    names = ", ".join(f"n{i}" for i in range(n))
    f.write("services:\n")
    for s in ("fdb", "clickhouse", "monitor", "mgmtd", "meta"):
        f.write(f"  {s}: {{nodes: [n0]}}\n")
    f.write(f"  storage: {{nodes: [{names}], diskType: dir, replicationFactor: 3}}\n")
    f.write(f"  client: {{nodes: [{names}], hostMountpoint: /mnt/3fs}}\n")
PY
}

median() { # median FILE N: runs `config validate` N times, prints the median seconds
    local i t
    for i in $(seq "$2"); do
        /usr/bin/time -o "$W/t" -f %e "$BIN" config validate -c "$1" >/dev/null 2>&1
        tail -1 "$W/t"
    done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

gen "$N" "$W/small.yml"
gen $((4 * N)) "$W/large.yml"
a=$(median "$W/small.yml" "$RUNS")
b=$(median "$W/large.yml" "$RUNS")
echo "config validate: $N nodes ${a}s, $((4 * N)) nodes ${b}s (median of $RUNS)"
awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "ratio %.1f (linear ~4, quadratic ~16)\n", b / a;
                              else print "ratio: too fast to measure" }'
