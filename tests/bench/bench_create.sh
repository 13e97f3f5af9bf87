#!/usr/bin/env bash
# bench_create: `m3fs cluster create --skip-bench` on labs (scripts/lab.sh)
# of 5, 20 and 50 nodes running the stand-in images, explained.  Same shape
# at every size: fdb on 3 nodes, clickhouse + monitor on lab-n1, mgmtd and
# meta on 2, storage on every node (1 dir disk, RF 2, 8 targets per disk),
# clients on 2.
#
# Each run, per size: a fresh lab, the images loaded with `cluster prepare
# -a` (not timed), then
#   cold   the first create                       (--trace FILE)
#   noop   the same create again: nothing to do
#   warm   destroy, then create again              (--trace FILE)
# BENCH_RUNS runs (default 3; a list, e.g. "3 3 1", gives each size its
# own, the last one standing for the sizes after it); for each kind the
# median and spread.  From
# the traces (docs/deploy.md "Where the time goes"): m3fs's CPU time, SSH
# round trips and bytes per node, and the critical path of the median cold
# run with each step's time split into remote commands, pauses between a
# wait's checks, and m3fs's own time.  Then the goals as ratios (<= 1.00
# meets one): cold create on 20 nodes <= 10 s, 50 / 20 nodes <= 1.5, noop on
# 20 nodes <= 2 s.
#
# Needs root; a full run (3 sizes x 3 runs) takes about half an hour and
# waits for another lab that is up.
# Usage: bench_create.sh [M3FS_BIN]   (BENCH_SIZES="5 20 50", BENCH_RUNS=3;
# BENCH_LOG_DIR=DIR keeps the logs and traces there, in DIR/n<size>/)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/bench/lib.sh
bench_init bench_create "${1:-}"
SIZES=${BENCH_SIZES:-5 20 50}
RUNS=${BENCH_RUNS:-3}
# runs_for I: the runs of the I-th size (from 1)
runs_for() {
    local -a r
    read -r -a r <<<"$RUNS"
    echo "${r[$(($1 <= ${#r[@]} ? $1 - 1 : ${#r[@]} - 1))]}"
}

# create_timed KIND: one create of $d (the caller's), its log, trace and
# time, and this machine's CPU split during it ($d/cpu-KIND-$r.txt).
create_timed() {
    local kind=$1 wall user sys TIMEFORMAT='%R %U %S'
    bench_cpu_snap "$d/cpu.a"
    { time mx cluster create -c "$d/cluster.yml" --skip-bench --trace "$d/$kind-$r.json" \
        >"$d/$kind-$r.log" 2>&1; } 2>"$d/time" || { tail -40 "$d/$kind-$r.log"; exit 1; }
    bench_cpu_snap "$d/cpu.b"
    read -r wall user sys <"$d/time"
    bench_cpu_split "$d/cpu.a" "$d/cpu.b" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" \
        >"$d/cpu-$kind-$r.txt"
    echo "$kind $wall $(bench_cpu_sum "$d/cpu.a" "$d/cpu.b")" >>"$d/times"
}

# One run on an N-node lab: files $W/n$N/{cold,noop,warm}-$R.{log,json},
# cpu-KIND-$R.txt, times appended to $W/n$N/times ("KIND SECONDS BUSY_CPU_S"
# lines: the wall time and this machine's busy CPU seconds during it).
one_run() {
    local n=$1 r=$2 d=$W/n$1
    bench_lab_up "$n"
    bench_cluster_yml "$d/cluster.yml" bench "$n"
    bench_images_loaded "$d/cluster.yml"
    create_timed cold
    create_timed noop
    mx cluster destroy -c "$d/cluster.yml" --yes >"$d/destroy-$r.log" 2>&1 ||
        { tail -40 "$d/destroy-$r.log"; exit 1; }
    create_timed warm
    bench_lab_down
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
i=0
for n in $SIZES; do
    i=$((i + 1))
    mkdir -p "$W/n$n"
    : >"$W/n$n/times"
    for r in $(seq "$(runs_for $i)"); do
        one_run "$n" "$r"
        printf '%2d nodes, run %d: %s\n' "$n" "$r" \
            "$(awk -v r="$r" '{ k[NR] = $1 " " $2 " s" } END { print k[NR - 2] ", " k[NR - 1] ", " k[NR] }' "$W/n$n/times")"
    done
    [ -z "${BENCH_LOG_DIR:-}" ] || { mkdir -p "$BENCH_LOG_DIR/n$n" &&
        cp "$W/n$n"/*.log "$W/n$n"/*.json "$W/n$n"/cpu-*.txt "$W/n$n/times" "$BENCH_LOG_DIR/n$n/"; }
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# shellcheck disable=SC2086 # SIZES: a list, split on purpose
python3 - "$W" $SIZES <<'PY'
import json, os, statistics, sys
w, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
floor = {}

def spread(v):
    return f"median {statistics.median(v):6.2f} s ({min(v):.2f}..{max(v):.2f})"

med = {}
for n in sizes:
    d = f"{w}/n{n}"
    times, busy = {}, {}
    for line in open(f"{d}/times"):
        k, t, b = line.split()
        times.setdefault(k, []).append(float(t))
        busy.setdefault(k, []).append(float(b))
    print(f"\n== {n} nodes ({len(times['cold'])} runs) ==")
    for k in ("cold", "warm", "noop"):
        print(f"  {k:5} create: {spread(times[k])}")
    med[n] = {k: statistics.median(v) for k, v in times.items()}
    # the least wall time the machine's CPUs allow for the work done (the
    # lab's nodes share them; real nodes each have their own)
    floor[n] = {k: statistics.median(v) / os.cpu_count() for k, v in busy.items()}
    for k in ("cold", "warm", "noop"):
        print(f"  {k:5} create: machine busy {statistics.median(busy[k]):6.1f} CPU-s (median): "
              f">= {floor[n][k]:.2f} s on {os.cpu_count()} CPUs")
    # the median cold run's trace
    cold = times["cold"]
    r = sorted(range(len(cold)), key=lambda i: cold[i])[len(cold) // 2] + 1
    tr = json.load(open(f"{d}/cold-{r}.json"))
    cpu = tr["cpu_user_s"] + tr["cpu_sys_s"]
    print(f"  median cold run (run {r}): {cold[r - 1]:.2f} s, of it the plan {tr['wall_ms'] / 1000:.2f} s; "
          f"m3fs CPU {cpu:.2f} s (user {tr['cpu_user_s']:.2f}, sys {tr['cpu_sys_s']:.2f})")
    nodes = [x for x in tr["nodes"] if x["connects"]]
    for key, label, scale, unit in (("round_trips", "SSH round trips", 1, ""),
                                    ("bytes_out", "bytes sent", 1024, " KiB"),
                                    ("bytes_in", "bytes received", 1024, " KiB")):
        v = [x[key] / scale for x in nodes]
        print(f"  per node, {label}: mean {statistics.mean(v):.1f}{unit}, max {max(v):.1f}{unit}")
    for k in ("cold", "noop"):
        lines = open(f"{d}/cpu-{k}-{r}.txt").read().splitlines()
        print(f"  {k} run {r}, {lines[0]}")
        for line in lines[1:]:
            print(f"  {line}")
    noop = json.load(open(f"{d}/noop-{r}.json"))
    v = [x["round_trips"] for x in noop["nodes"] if x["connects"]]
    print(f"  create with nothing to do (run {r}): {len(noop['steps'])} steps ran; the pass "
          f"{noop['wall_ms'] / 1000:.2f} s, round trips per node: mean {statistics.mean(v):.1f}, max {max(v)}")
    steps = {s["index"]: s for s in tr["steps"]}
    print("  critical path (s):   start   wall  remote  pauses  m3fs  gap  step")
    prev_end, tot = 0, {"wall": 0, "remote": 0, "pause": 0, "m3fs": 0, "gap": 0}
    for i in tr["critical_path"]:
        s = steps[i]
        gap = max(0, s["start_ms"] - prev_end)
        prev_end = s["end_ms"]
        for k, v in (("wall", s["wall_ms"]), ("remote", s["remote_ms"]), ("pause", s["pause_ms"]),
                     ("m3fs", s["m3fs_ms"]), ("gap", gap)):
            tot[k] += v
        print(f"  {'':18}{s['start_ms'] / 1000:7.2f} {s['wall_ms'] / 1000:6.2f} {s['remote_ms'] / 1000:7.2f}"
              f" {s['pause_ms'] / 1000:7.2f} {s['m3fs_ms'] / 1000:5.2f} {gap / 1000:4.2f}  "
              f"[{i}] {s['title']} (slowest: {s['slowest_node']})")
    print(f"  {'path total':18}{'':7} {tot['wall'] / 1000:6.2f} {tot['remote'] / 1000:7.2f}"
          f" {tot['pause'] / 1000:7.2f} {tot['m3fs'] / 1000:5.2f} {tot['gap'] / 1000:4.2f}")

print()
def goal(label, value, limit, least):
    print(f"goal: {label} <= {limit}; measured {value:.2f}; ratio to goal {value / limit:.2f} "
          f"({'met' if value <= limit else 'NOT met'}); the least this machine's CPUs allow "
          f"for the work measured: {least:.2f}")
if 20 in med:
    goal("cold create on 20 nodes (s)", med[20]["cold"], 10, floor[20]["cold"])
    goal("create with nothing to do on 20 nodes (s)", med[20]["noop"], 2, floor[20]["noop"])
if 20 in med and 50 in med:
    goal("cold create 50 nodes / 20 nodes", med[50]["cold"] / med[20]["cold"], 1.5,
         floor[50]["cold"] / med[20]["cold"])
PY
