#!/bin/bash
# Integration test of `m3fs cluster create` / `destroy` on a 5-node lab
# (scripts/lab.sh) with the stand-in images, loaded the user's way (HTTP ->
# artifact download -> cluster prepare -a):
#  * preflight: a config with one node at an unused address fails before
#    anything is changed, naming that node;
#  * topology A, roles spread: fdb on 3 nodes (double redundancy), mgmtd on 2,
#    meta on 2, storage on 4 (RF 3, diskType dir, 2 disks per node), clients
#    on 2.  The first create loses one storage node's dockerd during the
#    storage step (from its first action) and fails naming that node; with dockerd back, the same
#    command finishes without redoing finished steps; then list-nodes, chains
#    and targets serving, fuse.hf3fs on every client with I/O, the benchmark
#    JSON, a second create that changes nothing, and destroy leaving nothing;
#  * topology B, co-located on 3 nodes with RF 3: create, checks, destroy.
# test_create.sh covers SIGINT + resume, secrets and destroy edge cases.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib-create.sh
it_init
"$M" cluster create --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster create'"
it_workdir create-topo
IT_SHOW_END=tail
it_lab_up 5

NODES="1 2 3 4 5"
# What a cluster left on the nodes.  destroy keeps what `cluster prepare`
# installed (the loaded images and their markers in /opt/3fs/images).
left() {
    local i
    for i in $NODES; do
        on "$i" 'docker ps -aq; ls -A /opt/3fs 2>/dev/null | grep -vx -e images -e .m3fs-cluster;
                 grep -E " (/mnt/3fs|/opt/3fs[^ ]*) " /proc/mounts' | sed "s/^/lab-n$i: /"
    done
}
containers() { local i; for i in $NODES; do on "$i" 'docker ps -q --no-trunc | sort'; done; }

# --- topology A's config -------------------------------------------------------
A=$W/a/cluster.yml
mkdir -p "$W/a" "$W/b" "$W/x"
cr_cluster_yml "$A" topo 5
cat >>"$A" <<'EOF'
services:
  fdb: {nodes: [lab-n1, lab-n2, lab-n3]}
  clickhouse: {nodes: [lab-n1]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: [lab-n1, lab-n2]}
  meta: {nodes: [lab-n2, lab-n3]}
  storage:
    nodes: [lab-n2, lab-n3, lab-n4, lab-n5]
    diskType: dir
    diskNumPerNode: 2
    replicationFactor: 3
    # 4 nodes x 2 disks x 6 targets / RF 3 = 16 chains = the stripe size
    targetNumPerDisk: 6
  client: {nodes: [lab-n1, lab-n4], hostMountpoint: /mnt/3fs}
EOF
cr_images_loaded "$A"
STATE=$W/a/.m3fs/topo.state.json

# --- preflight: one node unreachable ---------------------------------------------
# Topology A plus a client on lab-x at 198.18.0.99, where no node answers.
X=$W/x/cluster.yml
cr_cluster_yml "$X" topo 5 198.18.0.99
sed -n '/^services:/,$p' "$A" | sed 's/\[lab-n1, lab-n4\]/[lab-n1, lab-n4, lab-x]/' >>"$X"
t0=$(date +%s)
M3FS_CONNECT_TIMEOUT=3 mx cluster create -c "$X" --skip-bench >"$W/out" 2>&1
rc=$? dt=$(($(date +%s) - t0))
if [ $rc -eq 1 ] && has "1 of 6 nodes cannot be used; nothing was changed" &&
    has_re "lab-x: .*198\.18\.0\.99" && ! has "[1/" && [ -z "$(containers)" ] &&
    [ -z "$(left)" ] && ! ls "$W"/x/.m3fs/*.state.json >/dev/null 2>&1; then # (the lock may be there)
    ok "unreachable node: create fails before any step, naming it ($dt s)"
else bad "preflight with an unreachable node (rc=$rc)"; fi

# --- topology A: dockerd lost during the storage step, then resumed ---------------
mx cluster create -c "$A" --skip-bench >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid 'storage: write config files' 1800 && cr_dockerd_stop 5
wait $pid
rc=$?
if [ $rc -eq 1 ] && has_re "storage: start containers' failed on 1 of 4 nodes" &&
    has "  lab-n5: " && has "Is the docker daemon running" && has "run the same command again to resume" &&
    ! has "is ready"; then
    ok "create fails clearly when lab-n5's dockerd stops during the storage step"
else bad "create with lab-n5's dockerd stopped (rc=$rc)"; fi
# Steps run at the same time where 3FS allows it (meta with storage), so only
# what must have ended before storage started is compared: fdb and mgmtd.
before=$(for i in 1 2 3; do on "$i" 'docker ps -q --no-trunc --filter name=3fs-fdb --filter name=3fs-mgmtd | sort'; done)

cr_dockerd_start 5 || { echo "FAIL: could not restart dockerd on lab-n5"; exit 1; }
t0=$(date +%s)
mx cluster create -c "$A" >"$W/out" 2>&1
rc=$? dt=$(($(date +%s) - t0))
after=$(for i in 1 2 3; do on "$i" 'docker ps -q --no-trunc --filter name=3fs-fdb --filter name=3fs-mgmtd | sort'; done)
# Finished steps: one-time steps from the state file, the rest found done on
# the nodes (every fdb/mgmtd container kept as it was).
if [ $rc -eq 0 ] && has "3FS cluster 'topo' is ready" &&
    has "mgmtd: initialise the cluster (init-cluster): already done (state file)" &&
    has "fdb: start containers: 0 changed, 3 already done" &&
    has "mgmtd: start containers: 0 changed, 2 already done" &&
    [ -n "$before" ] && [ "$before" = "$after" ] &&
    has "3FS is mounted at /mnt/3fs on: lab-n1, lab-n4"; then
    ok "the same create, run again, finishes without redoing finished steps ($dt s, with the benchmark)"
else bad "create after dockerd came back (rc=$rc)"; fi
# The quick fio benchmark ran on both clients; its JSON is parsed.
njson=0
for c in lab-n1 lab-n4; do
    j=$(ls "$W"/a/.m3fs/topo.bench-*/"$c"-rand-read-4k.json 2>/dev/null | head -1)
    [ -n "$j" ] && python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["jobs"][0]["read"]["iops"] > 0' "$j" &&
        njson=$((njson + 1))
done
has "fio benchmark (quick profile" && [ $njson -eq 2 ] &&
    ok "benchmark JSON of both clients parsed" || bad "benchmark ($njson of 2 JSON files)"

# check_cluster LABEL MGMTD_NODE NODE_IDS TARGETS CHAINS CLIENT_NODES
check_cluster() {
    local label=$1 m=$2 ids=$3 targets=$4 chains=$5 clients=$6 id n c
    on "$m" /opt/3fs/admin_cli.sh list-nodes >"$W/out" 2>&1
    n=0
    for id in $ids; do
        awk -v id="$id" '$1 == id && ($3 == "HEARTBEAT_CONNECTED" || $3 == "PRIMARY_MGMTD")' \
            "$W/out" | grep -q . && n=$((n + 1))
    done
    [ "$n" -eq "$(echo $ids | wc -w)" ] && [ "$(grep -c PRIMARY_MGMTD "$W/out")" = 1 ] &&
        ok "$label: list-nodes: all $n mgmtd/meta/storage nodes connected" ||
        bad "$label: list-nodes ($n of $(echo $ids | wc -w) connected)"
    on "$m" /opt/3fs/admin_cli.sh list-chains >"$W/out" 2>&1
    n=$(awk '$4 == "SERVING"' "$W/out" | wc -l)
    [ "$n" -eq "$chains" ] && ok "$label: all $chains chains SERVING" ||
        bad "$label: chains serving: $n of $chains"
    on "$m" /opt/3fs/admin_cli.sh list-targets >"$W/out" 2>&1
    n=$(awk '$4 == "SERVING" && $5 == "UPTODATE"' "$W/out" | wc -l)
    [ "$n" -eq "$targets" ] && ok "$label: all $targets targets SERVING-UPTODATE" ||
        bad "$label: targets serving: $n of $targets"
    # Each client writes a file (1 MiB of random bytes + a line naming it);
    # every client then reads every client's file: data goes through meta
    # and the storage targets, never a client's own disk (docs/stand-ins.md).
    local c d n=0 want=0 sums=""
    for c in $clients; do
        on "$c" 'awk '\''$2 == "/mnt/3fs" && $3 == "fuse.hf3fs"'\'' /proc/mounts | grep -q . &&
                 { head -c 1048576 /dev/urandom; echo; echo "written on $(hostname)"; } >/mnt/3fs/probe-$(hostname) &&
                 md5sum </mnt/3fs/probe-$(hostname)' >"$W/out" 2>&1 &&
            sums="$sums $c:$(cut -c1-32 "$W/out")"
    done
    for c in $clients; do
        for d in $clients; do
            want=$((want + 1))
            on "$c" "tail -n 1 /mnt/3fs/probe-lab-n$d; md5sum </mnt/3fs/probe-lab-n$d" >"$W/out" 2>&1 &&
                grep -qx "written on lab-n$d" "$W/out" &&
                case " $sums " in *" $d:$(tail -n 1 "$W/out" | cut -c1-32) "*) true ;; *) false ;; esac &&
                n=$((n + 1))
        done
    done
    [ "$n" -eq "$want" ] &&
        ok "$label: fuse.hf3fs mounted on all clients; each client's 1 MiB file read intact on every client ($n reads)" ||
        bad "$label: cross-client I/O: $n of $want reads intact"
}
check_cluster "A" 1 "1 2 100 101 10001 10002 10003 10004" 48 16 "1 4"

before=$(containers)
mx cluster create -c "$A" --skip-bench >"$W/out" 2>&1
rc=$?
[ $rc -eq 0 ] && has "(0 actions ran," && [ "$before" = "$(containers)" ] &&
    ok "A: a second create changes nothing and says so" || bad "A: second create (rc=$rc)"

mx cluster destroy -c "$A" --yes >"$W/out" 2>&1
rc=$?
l=$(left)
[ $rc -eq 0 ] && [ -z "$l" ] && [ ! -e "$STATE" ] &&
    ok "A: destroy leaves no container, file or mount of ours" || bad "A: destroy (rc=$rc): left: $(echo "$l" | head -5)"

# --- topology B: every role co-located on 3 nodes, RF 3 -----------------------------
B=$W/b/cluster.yml
cr_cluster_yml "$B" colo 3
cat >>"$B" <<'EOF'
services:
  fdb: {nodes: [lab-n1, lab-n2, lab-n3]}
  clickhouse: {nodes: [lab-n1]}
  monitor: {nodes: [lab-n1]}
  mgmtd: {nodes: [lab-n1, lab-n2, lab-n3]}
  meta: {nodes: [lab-n1, lab-n2, lab-n3]}
  storage:
    nodes: [lab-n1, lab-n2, lab-n3]
    diskType: dir
    diskNumPerNode: 2
    replicationFactor: 3
    # 3 nodes x 2 disks x 8 targets / RF 3 = 16 chains
    targetNumPerDisk: 8
  client: {nodes: [lab-n1, lab-n2, lab-n3], hostMountpoint: /mnt/3fs}
EOF
t0=$(date +%s)
mx cluster create -c "$B" --skip-bench >"$W/out" 2>&1
rc=$? dt=$(($(date +%s) - t0))
[ $rc -eq 0 ] && has "3FS cluster 'colo' is ready" &&
    ok "B: create ($dt s)" || bad "B: create (rc=$rc)"
check_cluster "B" 2 "1 2 3 100 101 102 10001 10002 10003" 48 16 "1 2 3"
mx cluster destroy -c "$B" --yes >"$W/out" 2>&1
rc=$?
l=$(left)
[ $rc -eq 0 ] && [ -z "$l" ] && ok "B: destroy leaves nothing of ours" ||
    bad "B: destroy (rc=$rc): left: $(echo "$l" | head -5)"

it_done test_create_topologies
