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
