# shellcheck shell=bash
# Helpers for the `cluster prepare` test and benchmarks (sourced).
#
# prep_bundle DIR BUNDLE: write BUNDLE (tar, manifest.json first) from the
#   *.docker files in DIR named like the open3fs artifacts
#   (3fs_<tag>_amd64.docker, foundationdb_..., clickhouse_...).
# prep_cluster_yml LABDIR OUT [REGISTRY]: a cluster.yml for a 3-node lab
#   where every node needs different images:
#     lab-n1: fdb, monitor, mgmtd, meta  -> 3fs + fdb
#     lab-n2: clickhouse                 -> clickhouse
#     lab-n3: storage, client            -> 3fs
# prep_cluster_yml_all LABDIR OUT N: every one of N nodes needs all 3 images.

prep_bundle() {
    local dir=$1 out=$2 f name rest tag repo sep=
    {
        printf '{"format": 1, "images": ['
        for f in "$dir"/*.docker; do
            f=${f##*/}
            name=${f%%_*} rest=${f#*_} tag=${rest%_amd64.docker}
            case $name in
                3fs) repo=open3fs/3fs ;;
                foundationdb) repo=open3fs/foundationdb name=fdb ;;
                clickhouse) repo=open3fs/clickhouse ;;
                *) continue ;;
            esac
            printf '%s\n {"name": "%s", "repo": "%s", "tag": "%s", "arch": "amd64", "file": "%s", "size": %s, "sha256": "%s"}' \
                "$sep" "$name" "$repo" "$tag" "$f" "$(stat -c %s "$dir/$f")" \
                "$(sha256sum "$dir/$f" | cut -d' ' -f1)"
            sep=,
        done
        printf ']}\n'
    } >"$dir/manifest.json"
    (cd "$dir" && tar --format=pax -cf "$out" manifest.json ./*.docker)
}

prep_node() { # prep_node LABDIR I
    printf '  - {name: lab-n%s, host: 198.18.0.%s, username: root, identityFile: %s/id_ed25519}\n' \
        "$2" "$((10 + $2))" "$1"
}

prep_cluster_yml() {
    local lab=$1 out=$2 reg=${3:-}
    {
        printf 'name: preptest\nworkDir: /opt/3fs\nnetworkType: TCP\nnodes:\n'
        prep_node "$lab" 1
        prep_node "$lab" 2
        prep_node "$lab" 3
        cat <<'EOF'
services:
  fdb: {nodes: [lab-n1]}
  clickhouse: {nodes: [lab-n2]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: [lab-n1]}
  meta: {nodes: [lab-n1]}
  storage: {nodes: [lab-n3], diskType: dir, replicationFactor: 1, diskNumPerNode: 1}
  client: {nodes: [lab-n3], hostMountpoint: /mnt/3fs}
EOF
        [ -z "$reg" ] || printf 'images:\n  registry: "%s"\n' "$reg"
    } >"$out"
}

prep_cluster_yml_all() {
    local lab=$1 out=$2 n=$3 i list=
    {
        printf 'name: prepbench\nworkDir: /opt/3fs\nnetworkType: TCP\nnodes:\n'
        for i in $(seq "$n"); do
            prep_node "$lab" "$i"
            list="$list${list:+, }lab-n$i"
        done
        cat <<EOF
services:
  fdb: {nodes: [$list]}
  clickhouse: {nodes: [$list]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: [lab-n1]}
  meta: {nodes: [lab-n1]}
  storage: {nodes: [$list], diskType: dir, replicationFactor: 1, diskNumPerNode: 1}
  client: {nodes: [lab-n1], hostMountpoint: /mnt/3fs}
EOF
    } >"$out"
}

# prep_gen_bundle OUT MIB_3FS MIB_FDB MIB_CH: a bundle of generated
#   docker-loadable images (8 MiB of data + zeros per layer, each >= 8 MiB;
#   sparse on this machine, the nodes really store them).
prep_gen_bundle() {
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
