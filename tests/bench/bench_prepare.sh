#!/usr/bin/env bash
# bench_prepare: `m3fs cluster prepare -a` on the lab (scripts/lab.sh), with
# real docker-loadable images (generated: 8 MiB of random data + zeros per
# layer; files on this machine are sparse, the nodes really store them).
#
#  1. Peak RSS of prepare -a for a 2 GiB bundle (1 GiB 3fs + 512 MiB fdb +
#     512 MiB clickhouse) to 1 node.  Budget 64 MiB; prints the ratio and
#     exits 1 when over.
#  2. prepare -a of a smaller bundle (BENCH_RATIO_MIB, default 192) to 1 node
#     and to 4 nodes, each link shaped to BENCH_RATE (default 200mbit) by the
#     lab; prints time(4 nodes) / time(1 node) (1.0 = perfect fan-out).
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

# make_bundle OUT MIB_3FS MIB_FDB MIB_CH: docker-save archives + bundle, sparse.
make_bundle() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys, tarfile
out, sizes = sys.argv[1], [int(x) << 20 for x in sys.argv[2:5]]
MB = 1 << 20
def chunks_of(path):
    with open(path, "rb") as f:
        while True:
            b = f.read(MB)
            if not b: return
            yield b
def write_entry(f, name, size, chunks, h=None):
    ti = tarfile.TarInfo(name); ti.size = size; ti.mode = 0o644; ti.mtime = 0
    f.write(ti.tobuf(format=tarfile.PAX_FORMAT))
    for b in chunks:
        if h: h.update(b)
        if b.count(0) == len(b): f.seek(len(b), 1)   # keep zeros sparse
        else: f.write(b)
    pad = -size % 512
    if pad: f.write(b"\0" * pad)
def finish(f):
    f.write(b"\0" * 1024); f.truncate(f.tell())
def payload(size, seed):
    yield hashlib.sha256(seed.encode()).digest() * (4 * MB // 32)   # 4 MiB, not zeros
    yield os.urandom(4 * MB)
    left = size - 8 * MB
    while left > 0:
        n = min(MB, left); left -= n; yield b"\0" * n
def image(path, repo, tag, size):
    layer = path + ".layer"
    lh = hashlib.sha256()
    with open(layer, "wb") as f:
        write_entry(f, "payload.bin", size, payload(size, repo))
        finish(f)
    for b in chunks_of(layer): lh.update(b)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["/payload.bin"]},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh.hexdigest()]}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    man = json.dumps([{"Config": cid + ".json", "RepoTags": [f"{repo}:{tag}"],
                       "Layers": [lh.hexdigest() + "/layer.tar"]}]).encode()
    with open(path, "wb") as f:
        lsize = os.path.getsize(layer)
        write_entry(f, lh.hexdigest() + "/layer.tar", lsize, chunks_of(layer))
        write_entry(f, cid + ".json", len(cfg), [cfg])
        write_entry(f, "manifest.json", len(man), [man])
        finish(f)
    os.unlink(layer)
d = os.path.dirname(out)
specs = [("3fs", "open3fs/3fs", "20250410", "3fs"), ("fdb", "open3fs/foundationdb", "7.3.63", "foundationdb"),
         ("clickhouse", "open3fs/clickhouse", "25.1-jammy", "clickhouse")]
imgs = []
for (name, repo, tag, stem), size in zip(specs, sizes):
    file = f"{stem}_{tag}_amd64.docker"
    p = os.path.join(d, file)
    image(p, repo, tag, size)
    h = hashlib.sha256()
    for b in chunks_of(p): h.update(b)
    imgs.append({"name": name, "repo": repo, "tag": tag, "arch": "amd64", "file": file,
                 "size": os.path.getsize(p), "sha256": h.hexdigest()})
m = json.dumps({"format": 1, "images": imgs}).encode()
with open(out, "wb") as f:
    write_entry(f, "manifest.json", len(m), [m])
    for i in imgs:
        p = os.path.join(d, i["file"])
        write_entry(f, i["file"], i["size"], chunks_of(p))
        os.unlink(p)
    finish(f)
PY
}

rc=0
if [ -z "${BENCH_SKIP_RSS:-}" ]; then
    mkdir -p "$W/big"
    make_bundle "$W/big/bundle.tar" 1024 512 512
    bench_lab_up 1
    prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c1.yml" 1
    read -r secs kib < <(bench_cluster_prepare "$W/c1.yml" "$W/big/bundle.tar")
    bench_lab_down
    rm -rf "$W/big"
    echo "bench_prepare: 2.0 GiB bundle to 1 node in ${secs}s (verify, send, node sha256, docker load)"
    awk -v k="$kib" 'BEGIN { printf "bench_prepare: peak RSS %.1f MiB, budget 64 MiB, ratio %.3f\n", k / 1024, k / 1024 / 64 }'
    [ "$kib" -lt 65536 ] || rc=1
fi
if [ -z "${BENCH_SKIP_RATIO:-}" ]; then
    mkdir -p "$W/small"
    third=$((RATIO_MIB / 3))
    make_bundle "$W/small/bundle.tar" "$third" "$third" "$third"
    bench_lab_up 1 --bandwidth "$RATE"
    prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c1.yml" 1
    read -r t1 _ < <(bench_cluster_prepare "$W/c1.yml" "$W/small/bundle.tar")
    bench_lab_down
    bench_lab_up 4 --bandwidth "$RATE"
    prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c4.yml" 4
    read -r t4 _ < <(bench_cluster_prepare "$W/c4.yml" "$W/small/bundle.tar")
    bench_lab_down
    echo "bench_prepare: $((third * 3)) MiB bundle, links shaped to $RATE: 1 node ${t1}s, 4 nodes ${t4}s"
    awk -v a="$t1" -v b="$t4" 'BEGIN { printf "bench_prepare: time ratio 4 nodes / 1 node = %.2f (1.00 = perfect fan-out)\n", b / a }'
fi
exit $rc
