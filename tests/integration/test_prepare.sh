#!/bin/bash
# Integration test of `m3fs cluster prepare` (issue 4, images part) on a real
# 3-node lab (scripts/lab.sh: own sshd + dockerd per node) with real
# `docker save` images in a bundle:
#  - each node gets exactly the images its roles use (docker images checked),
#    tagged with the registry prefix, no temporary file left, markers written;
#  - a second run sends nothing;
#  - a changed marker or a removed image on a node is detected and re-sent;
#  - a damaged bundle is refused before anything is sent;
#  - too little free space and a stopped dockerd fail the checks, naming the
#    node and the fix, before anything is copied;
#  - without -a a failing docker pull names the image and the node;
#  - where 3FS would listen (prepare's and create's preflight, B3): listenNics
#    naming a NIC the nodes lack, and a lab whose NIC is lan0 (a name 3FS
#    never listens on), are refused before anything changes.
set -u
{ # read as one compound command, so editing this file cannot disturb a run
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
it_init
command -v dockerd >/dev/null || it_skip "dockerd is not installed (scripts/install-deps.sh)"
it_workdir prepare
. tests/integration/prepare-lib.sh

# --- bundle of real docker save images (before the lab, to keep it short) -----
bash tests/integration/artifact/make-images.sh "$W/img" >"$W/img.log" 2>&1 ||
    { cat "$W/img.log"; echo "FAIL: make-images"; exit 1; }
grep -q 'real docker save' "$W/img.log" || echo "note: $(tail -1 "$W/img.log")"
prep_bundle "$W/img" "$W/bundle.tar"
SUM_3FS=$(sha256sum "$W/img/3fs_20250410_amd64.docker" | cut -d' ' -f1)

# --- a copy damaged on the node is caught and deleted (no lab needed) ----------
# A node whose host is this machine runs without SSH and inherits PATH, so
# a sha256sum that reports another digest plays a node whose copy went bad
# (docker is a stand-in here: the host's own dockerd is not ours to use).
F=$W/fake
mkdir -p "$F/bin" "$F/state"
cat >"$F/bin/docker" <<EOF
#!/bin/sh
echo "\$*" >>"$F/state/argv"
case "\$1" in
    info) echo "$F" ;;
    image) exit 1 ;;
    *) echo "unexpected docker \$*" >&2; exit 1 ;;
esac
EOF
printf '#!/bin/sh\necho %s  "$1"\n' "$(printf '1%.0s' $(seq 64))" >"$F/bin/sha256sum"
# 127.0.0.1 is on lo, where 3FS never listens: this ip puts it on eth0 so the
# NIC preflight passes and the image step is reached.
cat >"$F/bin/ip" <<'IP'
#!/bin/sh
case "$*" in
"-o link show") echo '1: eth0: <BROADCAST,UP,LOWER_UP> mtu 1500\    link/ether' ;;
"-o -4 addr show") echo '1: eth0    inet 127.0.0.1/8 scope host eth0\       valid_lft forever' ;;
*) exit 1 ;;
esac
IP
chmod +x "$F/bin/docker" "$F/bin/sha256sum" "$F/bin/ip"
cat >"$F/c.yml" <<EOF
workDir: $F/wd
nodes:
  - {name: me, host: 127.0.0.1, username: root}
services:
  fdb: {nodes: [me]}
  clickhouse: {nodes: [me]}
  monitor: {nodes: [me]}
  mgmtd: {nodes: [me]}
  meta: {nodes: [me]}
  storage: {nodes: [me], replicationFactor: 1}
  client: {nodes: [me]}
EOF
PATH=$F/bin:$PATH "$M" cluster prepare -c "$F/c.yml" -a "$W/bundle.tar" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "me: 3fs_20250410_amd64.docker arrived damaged: sha256 on the node 1111111111" &&
    has "in the bundle $SUM_3FS; the copy was deleted" && [ -z "$(ls -A "$F/wd/images")" ] &&
    ! grep -q '^load' "$F/state/argv"; then
    ok "copy damaged on the node: both sums shown, file deleted, not loaded"
else bad "damaged copy on the node (rc=$rc)"; fi

it_lab_up 3
REG=registry.test:5000
prep_cluster_yml "$M3FS_LAB_DIR" "$W/c.yml" "$REG"
images_on() { on "$1" "docker images --format '{{.Repository}}:{{.Tag}}'" | LC_ALL=C sort | tr '\n' ' '; }
prepare() { mx cluster prepare -c "$W/c.yml" "$@" >"$W/out" 2>&1; }

# --- --dry-run: every step, its nodes and what runs; nothing touched ----------
prepare -a "$W/bundle.tar" --dry-run
rc=$?
if [ $rc -eq 0 ] && has "Plan for preparing cluster" && has "[1] docker: checking docker" &&
    has "[7] relay: relaying images node to node" && has "[8] images: sending and loading images" && has "call: docker is installed" &&
    has "read the whole bundle and check every image" &&
    [ -z "$(images_on 1)$(images_on 2)$(on 1 'ls -A /opt/3fs 2>/dev/null')" ]; then
    ok "prepare --dry-run prints the plan and touches no node"
else bad "prepare --dry-run (rc=$rc)"; fi

# --- first run: exactly the right images on each node -------------------------
prepare -a "$W/bundle.tar"
rc=$?
[ $rc -eq 0 ] && has "3 nodes: 4 images sent, 0 skipped" && ok "first run sends 4 images" ||
    bad "first run (rc=$rc)"
want1="open3fs/3fs:20250410 open3fs/foundationdb:7.3.63 $REG/open3fs/3fs:20250410 $REG/open3fs/foundationdb:7.3.63 "
want2="open3fs/clickhouse:25.1-jammy $REG/open3fs/clickhouse:25.1-jammy "
want3="open3fs/3fs:20250410 $REG/open3fs/3fs:20250410 "
got1=$(images_on 1) got2=$(images_on 2) got3=$(images_on 3)
[ "$got1" = "$want1" ] && [ "$got2" = "$want2" ] && [ "$got3" = "$want3" ] &&
    ok "docker images: n1 3fs+fdb, n2 clickhouse, n3 3fs, each also under $REG/" ||
    bad "docker images: n1='$got1' n2='$got2' n3='$got3'"
has "lab-n1: 3FS listens TCP/RDMA on eth0 198.18.0.11" &&
    has "lab-n3: 3FS listens TCP/RDMA on eth0 198.18.0.13" && ! has "lab-n2: 3FS listens" &&
    ok "NIC preflight: 3FS listens on eth0 of the nodes that run it" || bad "NIC preflight"
on 3 "ls -a /opt/3fs/images; cat /opt/3fs/images/3fs_20250410_amd64.docker.sha256" >"$W/out" 2>&1
[ "$(grep -c part "$W/out")" -eq 0 ] && has "$SUM_3FS" && ! has clickhouse &&
    ok "n3: marker holds the bundle sha256, no .part file left, nothing else" || bad "n3 images dir"

# --- second run: nothing is sent ----------------------------------------------
prepare -a "$W/bundle.tar"
rc=$?
[ $rc -eq 0 ] && has "3 nodes: 0 images sent, 4 skipped" && ! grep -q "lab-n[0-9]: sending" "$W/out" &&
    has "already loaded: $REG/open3fs/foundationdb:7.3.63 present, marker sha256 matches" &&
    ok "second run copies nothing" || bad "second run (rc=$rc)"

# --- a changed marker and a removed image are detected and re-sent ------------
on 3 "echo 0000000000000000000000000000000000000000000000000000000000000000 >/opt/3fs/images/3fs_20250410_amd64.docker.sha256"
on 1 "docker rmi $REG/open3fs/foundationdb:7.3.63 open3fs/foundationdb:7.3.63 >/dev/null"
prepare -a "$W/bundle.tar"
rc=$?
if [ $rc -eq 0 ] && has "3 nodes: 2 images sent, 2 skipped" &&
    grep -q "^  3fs .*sent in .*marker sha256 000000000000... differs from the bundle's" "$W/out" &&
    grep -q "^  fdb .*sent in .*$REG/open3fs/foundationdb:7.3.63 is missing from docker" "$W/out" &&
    [ "$(images_on 1)" = "$want1" ] &&
    [ "$(on 3 cat /opt/3fs/images/3fs_20250410_amd64.docker.sha256)" = "$SUM_3FS" ]; then
    ok "changed marker (n3) and removed image (n1) detected and re-sent"
else bad "re-send after corruption (rc=$rc)"; fi

# --- listenNics naming a NIC the nodes lack: prepare and create refuse --------
cp "$W/c.yml" "$W/nics.yml"
echo 'listenNics: [eth1]' >>"$W/nics.yml"
no_listener="lab-n1: mgmtd, monitor would not listen on 198.18.0.11, the node's 3FS address: it is on NIC eth0, which listenNics (eth1) does not include; add eth0 to listenNics"
mx cluster prepare -c "$W/nics.yml" -a "$W/bundle.tar" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "$no_listener" && has "lab-n3: storage would find no NIC to listen on" &&
    has "'listen: checking the NICs 3FS listens on' failed on 2 of 2 nodes" && ! has "sending"; then
    ok "prepare: listenNics without the nodes' NIC refused at the listen step"
else bad "prepare with listenNics [eth1] (rc=$rc)"; fi
mx cluster create -c "$W/nics.yml" --skip-bench >"$W/out" 2>&1
rc=$?
# (.m3fs may hold the cluster's lock file, but no state was written)
if [ $rc -eq 1 ] && has "$no_listener" && has "nothing was changed" &&
    ! ls "$W"/.m3fs/*.state.json >/dev/null 2>&1 &&
    [ -z "$(on 1 'docker ps -aq; ls /opt/3fs | grep -v images')" ]; then
    ok "create: the same refusal in its preflight, nothing changed"
else bad "create with listenNics [eth1] (rc=$rc)"; fi

# --- a damaged bundle is refused before anything is sent ----------------------
# One byte in the middle of the first image's data is inverted, so it
# always differs (writing a fixed byte can hit the same value, or padding).
cp "$W/bundle.tar" "$W/bad.tar"
python3 - "$W/bad.tar" <<'PY'
import sys, tarfile
path = sys.argv[1]
with tarfile.open(path) as t:
    m = next(m for m in t.getmembers() if m.name.endswith(".docker"))
off = m.offset_data + m.size // 2
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xFF]))
PY
on 2 "rm -f /opt/3fs/images/*.sha256"
prepare -a "$W/bad.tar"
rc=$?
if [ $rc -eq 1 ] && has "sha256 mismatch" && has "nothing was sent to any node" &&
    [ -z "$(on 2 'ls -A /opt/3fs/images')" ]; then
    ok "damaged bundle refused before sending (n2 untouched)"
else bad "damaged bundle (rc=$rc)"; fi

# --- not enough space: checks fail before any copy ----------------------------
on 2 "mkdir -p /mnt/small && mount -t tmpfs -o size=1m tmpfs /mnt/small"
prepare -a "$W/bundle.tar" -w /mnt/small/3fs
rc=$?
if [ $rc -eq 1 ] && has "lab-n2: not enough free space for the images in workDir /mnt/small/3fs (filesystem /mnt/small)" &&
    has "set workDir to a larger filesystem" && has "prepare stopped there" &&
    [ -z "$(on 2 'ls -A /mnt/small'; on 1 'ls -A /mnt/small/3fs 2>/dev/null')" ]; then
    ok "too little space on n2 refused before any copy, naming node, path and fix"
else bad "space check (rc=$rc)"; fi

# --- without -a: a failing docker pull names image and node -------------------
mx cluster prepare -c "$W/c.yml" -r 127.0.0.1:9 >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "lab-n2: docker pull 127.0.0.1:9/open3fs/clickhouse:25.1-jammy failed" &&
    has "lab-n1: docker pull 127.0.0.1:9/open3fs/3fs:20250410 failed" &&
    has "prepare from a bundle with -a"; then
    ok "failing docker pull names image and node"
else bad "docker pull failure (rc=$rc)"; fi

# --- docker daemon down on one node: named, nothing copied anywhere ------------
on 1 "rm -f /opt/3fs/images/*.sha256"
dpid=$(sed -n 's/^dockerd=//p' "$M3FS_LAB_DIR/nodes/n3/pids")
kill "$dpid" && for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
prepare -a "$W/bundle.tar"
rc=$?
if [ $rc -eq 1 ] && has "lab-n3: docker is installed but its daemon does not answer" &&
    has "systemctl start docker" && has "'docker: checking docker' failed on 1 of 3 nodes" &&
    [ -z "$(on 1 'ls /opt/3fs/images/*.sha256 2>/dev/null')" ]; then
    ok "stopped dockerd on n3 reported before any copy"
else bad "docker down (rc=$rc)"; fi

# --- a lab whose NIC is lan0: 3FS would listen nowhere, both refuse ------------
scripts/lab.sh down >/dev/null 2>&1
it_lab_up 1 --nic lan0
{
    printf 'name: nictest\nworkDir: /opt/3fs\nnetworkType: TCP\nnodes:\n'
    prep_node "$M3FS_LAB_DIR" 1
    printf 'services:\n'
    for s in fdb clickhouse monitor mgmtd meta client; do printf '  %s: {nodes: [lab-n1]}\n' $s; done
    printf '  storage: {nodes: [lab-n1], diskType: dir, replicationFactor: 1}\n'
} >"$W/lan0.yml"
lan0="lab-n1: mgmtd, monitor would not listen on 198.18.0.11, the node's 3FS address: it is on NIC lan0, and 3FS's TCP and RDMA listeners take only NICs named en*, eth*, bond* or xgbe*"
mx cluster prepare -c "$W/lan0.yml" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "$lan0" && has "rename the NIC (a udev rule or a systemd .link file)" &&
    has "'listen: checking the NICs 3FS listens on' failed on 1 of 1 node" && ! has "pulling images"; then
    ok "prepare on a lab with NIC lan0 refused, naming the NIC rule and the fix"
else bad "prepare on lan0 (rc=$rc)"; fi
mx cluster create -c "$W/lan0.yml" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "$lan0" && has "nothing was changed" &&
    [ -z "$(on 1 'docker ps -aq')" ] && on 1 'test ! -e /opt/3fs'; then
    ok "create on a lab with NIC lan0 refused in its preflight, nothing changed"
else bad "create on lan0 (rc=$rc)"; fi

it_done prepare
exit
}
