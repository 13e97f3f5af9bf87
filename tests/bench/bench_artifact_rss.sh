#!/usr/bin/env bash
# bench_artifact_rss: peak RSS of a real `m3fs artifact download` that builds a
# 2 GiB bundle from a local HTTP server (tests/integration/artifact/server.py).
# Budget: 64 MiB.  Prints the peak and its ratio to the budget; exits 1 when
# over.  Needs ~6 GiB of free disk under $TMPDIR (sparse sources, real cache
# and bundle).  Usage: bench_artifact_rss.sh [M3FS_BIN]   (BENCH_GZIP=1 adds -z)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(realpath -m "${1:-${M3FS_BIN:-$ROOT/build/m3fs}}")
BUDGET_MIB=64
[ -x "$BIN" ] || { echo "bench_artifact_rss: build m3fs first ($BIN)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/m3fs-bench-artifact.XXXXXX")
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$W"' EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

mkdir -p "$W/srv/3fs"
cd "$W/srv/3fs"
# 1 GiB + 512 MiB + 512 MiB; a random head so the data is not all zeros
for spec in "3fs_20250410_amd64.docker 1024" "foundationdb_7.3.63_amd64.docker 512" \
            "clickhouse_25.1-jammy_amd64.docker 512"; do
    read -r f mib <<<"$spec"
    head -c $((8 << 20)) /dev/urandom >"$f"
    truncate -s "$((mib << 20))" "$f"
    sha256sum "$f" >"$f.sha256sum"
done
cd "$W"
python3 "$ROOT/tests/integration/artifact/server.py" --root "$W/srv" --port-file "$W/port" \
    2>/dev/null &
SPID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
"$BIN" config create -f "$W/cluster.yml" >/dev/null
args=(artifact download -c "$W/cluster.yml" -t "$W/cache" -o "$W/bundle.tar"
      --base-url "http://127.0.0.1:$(cat "$W/port")/3fs")
[ -n "${BENCH_GZIP:-}" ] && args+=(--gzip)

python3 - "$BIN" "${args[@]}" <<'PY'
import resource, subprocess, sys, time
t0 = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                   env={"NO_COLOR": "1", "M3FS_ARTIFACT_PROGRESS_INTERVAL_MS": "600000",
                        "PATH": "/usr/bin:/bin"})
secs = time.monotonic() - t0
if r.returncode:
    sys.exit("download failed:\n" + r.stderr)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"bench_artifact_rss: 2.0 GiB bundle in {secs:.1f}s "
      f"({2048 / secs:.0f} MiB/s incl. download, verify and bundling)")
print(f"bench_artifact_rss: peak RSS {peak_kib / 1024:.1f} MiB, budget 64 MiB, "
      f"ratio {peak_kib / 1024 / 64:.3f}")
sys.exit(0 if peak_kib < 64 * 1024 else 1)
PY
size=$(stat -c %s "$W/bundle.tar")
echo "bench_artifact_rss: bundle size $((size >> 20)) MiB"
"$BIN" artifact verify -a "$W/bundle.tar" >/dev/null
echo "bench_artifact_rss: bundle verified"
