# shellcheck shell=bash
# Shared by the lab benchmarks (tests/bench/bench_*.sh); sourced after the
# benchmark has set ROOT and gone there:
#   ROOT=$(cd "$(dirname "$0")/../.." && pwd); cd "$ROOT" || exit 2
#   . tests/bench/lib.sh
# It sources tests/integration/lib.sh (W, M, KH, mx, it_*) and
# tests/integration/lib-create.sh (cr_*), so a benchmark sets up its lab
# the way the integration tests do.
#
# bench_init NAME [BIN]  BENCH=NAME; M3FS_BIN (exported) and M: BIN, else
#                     $M3FS_BIN, else build/m3fs; exit 2 ("NAME: build m3fs
#                     first") when it is missing; then it_init (skip unless
#                     root) and it_workdir (bench_status: bench-status): W,
#                     removed on exit with the lab brought down.
# bench_lab_up N [ARGS]  it_lab_up (ARGS: more `lab.sh up` options, e.g.
#                     --bandwidth 200mbit), waiting up to M3FS_LAB_WAIT
#                     (default 1800 s here) for another lab to go down.
# bench_lab_down      bring this benchmark's lab down; exit 1 when that fails.
# bench_cluster_yml OUT NAME N
#                     the benchmark cluster.yml on an N-node lab (N >= 3):
#                     fdb on 3 nodes, clickhouse + monitor on lab-n1, mgmtd
#                     and meta on 2, storage on every node (1 dir disk, RF 2,
#                     8 targets per disk), clients on the last 2.
# bench_images_loaded CFG
#                     the stand-in images loaded on CFG's nodes (artifact
#                     download + cluster prepare -a; cr_images_loaded).
# bench_cluster_create CFG LOG N
#                     `cluster create --skip-bench` of CFG, output to LOG; on
#                     failure print LOG's last 40 lines and exit 1.
# bench_cluster_prepare CFG BUNDLE
#                     `cluster prepare -c CFG -a BUNDLE` with a bare
#                     environment (its output also to $BENCH_PREP_LOG when
#                     set); print "SECONDS PEAK_RSS_KIB"; unless it
#                     exits 0 reporting "0 failed", print its output to
#                     stderr and fail.
# bench_now           the time now in seconds (date +%s.%N).
# bench_elapsed T0 T1 T1 - T0 in seconds, 3 decimals.
# bench_time VAR CMD...  run CMD; VAR = its wall time (bench_elapsed); return
#                     CMD's exit status.
# bench_runs LABEL RUNS N ARGS...
#                     RUNS times m3fs ARGS (mx), each printed as "LABEL I on N
#                     nodes: T s (exit RC: first line of its output)"; the
#                     times in the array `times`.
# bench_median T...   "MEDIAN MIN MAX" of the times T (3 decimals).

. tests/integration/lib.sh
. tests/integration/lib-create.sh

bench_init() {
    BENCH=$1
    M3FS_BIN=$(realpath -m "${2:-${M3FS_BIN:-$PWD/build/m3fs}}")
    export M3FS_BIN
    [ -x "$M3FS_BIN" ] || { echo "$BENCH: build m3fs first ($M3FS_BIN)" >&2; exit 2; }
    it_init
    it_workdir "${BENCH/_/-}" # bench_status: /var/tmp/m3fs-test-bench-status.*
}

bench_lab_up() {
    M3FS_LAB_WAIT=${M3FS_LAB_WAIT:-1800} it_lab_up "$@"
}

bench_lab_down() {
    scripts/lab.sh down >/dev/null 2>&1 || { echo "$BENCH: lab down failed" >&2; exit 1; }
}

bench_cluster_yml() {
    local out=$1 name=$2 n=$3
    cr_cluster_yml "$out" "$name" "$n"
    cat >>"$out" <<EOF
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
}

bench_images_loaded() { cr_images_loaded "$1"; }

bench_cluster_create() {
    local cfg=$1 log=$2 n=$3
    mx cluster create -c "$cfg" --skip-bench >"$log" 2>&1 ||
        { tail -40 "$log"; echo "$BENCH: create on $n nodes failed" >&2; exit 1; }
}

bench_cluster_prepare() {
    python3 - "$M" --known-hosts "$KH" cluster prepare -c "$1" -a "$2" <<'PY'
import os, resource, subprocess, sys, time
t0 = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                   env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root"})
secs = time.monotonic() - t0
if os.environ.get("BENCH_PREP_LOG"):
    open(os.environ["BENCH_PREP_LOG"], "w").write(r.stdout)
if r.returncode or " 0 failed" not in r.stdout:
    sys.exit("prepare failed:\n" + r.stdout)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{secs:.2f} {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime:.2f}")
PY
}

# bench_cpu_snap FILE; bench_cpu_split A B [WALL_SECONDS]: this machine's CPU
# time between two snapshots, split by who used it (tests/bench/cpu_split.py);
# bench_cpu_sum A B [lab]: its busy CPU seconds (or the lab's) as one number.
bench_cpu_snap() { python3 "$ROOT/tests/bench/cpu_split.py" snap "$1"; }
bench_cpu_split() { python3 "$ROOT/tests/bench/cpu_split.py" diff "$@"; }
bench_cpu_sum() { python3 "$ROOT/tests/bench/cpu_split.py" sum "$@"; }

bench_now() { date +%s.%N; }

bench_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

bench_time() { # locals prefixed: VAR may be any name of the caller's
    local _bt_var=$1 _bt_t0 _bt_rc
    shift
    _bt_t0=$(bench_now)
    "$@"
    _bt_rc=$?
    printf -v "$_bt_var" '%s' "$(bench_elapsed "$_bt_t0" "$(bench_now)")"
    return $_bt_rc
}

bench_runs() {
    local label=$1 runs=$2 n=$3 i t rc
    shift 3
    times=()
    for i in $(seq "$runs"); do
        bench_time t mx "$@" >"$W/run.out" 2>"$W/run.err"
        rc=$?
        times+=("$t")
        printf '%s %d on %d nodes: %6.3f s (exit %d: %s)\n' "$label" "$i" "$n" "$t" "$rc" \
            "$(grep -v '^ *hint:\|warning:' "$W/run.out" | head -1)"
    done
}

bench_median() {
    printf '%s\n' "$@" | sort -n | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.3f %.3f %.3f\n", m, t[1], t[NR] }'
}
