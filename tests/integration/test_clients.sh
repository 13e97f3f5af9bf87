#!/bin/bash
# Integration test of `m3fs cluster add-client` and `delete-client` on a
# 3-node lab (scripts/lab.sh: fdb, clickhouse, monitor on lab-n1; mgmtd and
# meta on lab-n1 and lab-n2; storage on all three) with the stand-in images,
# created with the FUSE client on lab-n1 and lab-n2 (two.yml); three.yml adds
# lab-n3, shrunk.yml then drops lab-n2 (all in one directory: one state
# file):
#  * add-client on a cluster.yml that was never created (no state file), and
#    with every mgmtd stopped: refused, nothing on lab-n3;
#  * add-client with listenNics naming a NIC the nodes lack: refused by
#    create's preflight (docs/network.md) naming lab-n3, nothing on lab-n3;
#  * add-client --dry-run: the plan names lab-n3 only, nothing changed;
#  * add-client --yes: lab-n3 mounts 3FS and reads a file written from
#    lab-n1 (checksum); the clients on lab-n1 and lab-n2 were not restarted;
#    a second run has nothing to add;
#  * delete-client without --yes and no terminal: refused, the question
#    names lab-n2 and the mount, nothing changed; --dry-run: nothing changed;
#    an unknown --node is a usage error;
#  * delete-client --yes: lab-n2 has no client container, no 3FS mount and
#    no <workDir>/client, its storage is untouched; lab-n1 and lab-n3 still
#    read the file; `cluster status` healthy; a second run has nothing to
#    delete.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=tail
it_init
"$M" cluster add-client --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster add-client'"
it_workdir clients
it_lab_up 3

mkdir -p "$W/cfg" "$W/other"
with_clients() { sed "/^  client:/,/^  [a-z]/ s/^    nodes: .*/    nodes: $1/" "$M3FS_LAB_DIR/cluster.yml"; }
with_clients '[lab-n1, lab-n2]' >"$W/cfg/two.yml"
with_clients '[lab-n1, lab-n2, lab-n3]' >"$W/cfg/three.yml"
with_clients '[lab-n1, lab-n3]' >"$W/cfg/shrunk.yml"
cp "$W/cfg/three.yml" "$W/other/three.yml"
TWO=$W/cfg/two.yml THREE=$W/cfg/three.yml SHRUNK=$W/cfg/shrunk.yml
clients_of() { grep -A1 '^  client:' "$1" | sed -n 's/^    nodes: //p'; }
if [ "$(clients_of "$TWO")" != '[lab-n1, lab-n2]' ] || [ "$(clients_of "$THREE")" != '[lab-n1, lab-n2, lab-n3]' ]; then
    echo "FAIL: could not write the client lists"; exit 1
fi

cr_images_loaded "$THREE" # the new client node is prepared as a user would
mx cluster create -c "$TWO" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }
on 1 'head -c 3000000 /dev/urandom >/mnt/3fs/clients.bin && sync /mnt/3fs/clients.bin' ||
    { echo "FAIL: could not write through FUSE on lab-n1"; exit 1; }
SUM=$(on 1 'sha256sum </mnt/3fs/clients.bin')

mounted() { on "$1" 'grep -c " /mnt/3fs fuse.hf3fs " /proc/mounts'; }
ctr() { on "$1" 'docker ps -aq --filter name=^3fs-client$ | wc -l'; }
reads() { [ "$(on "$1" 'sha256sum </mnt/3fs/clients.bin' 2>&1)" = "$SUM" ]; }
started() { on "$1" 'docker inspect -f "{{.State.StartedAt}}" 3fs-client'; }
if [ "$(mounted 2)" = 1 ] && reads 2 && [ "$(ctr 3)" = 0 ] && [ "$(mounted 3)" = 0 ]; then
    ok "created with clients on lab-n1 and lab-n2; lab-n2 reads the file lab-n1 wrote"
else bad "the cluster as created (n2 mounted $(mounted 2); n3 containers $(ctr 3))"; fi

# --- add-client: refusals ------------------------------------------------------
mx cluster add-client -c "$W/other/three.yml" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "was never created" && [ "$(ctr 3)" = 0 ]; then
    ok "add-client on a cluster.yml never created (no state file): refused, nothing on lab-n3"
else bad "add-client without a state file (rc=$rc)"; fi

if mx cluster stop -c "$TWO" --role mgmtd >"$W/out" 2>&1; then
    mx cluster add-client -c "$THREE" --yes >"$W/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && has "shows a primary" && has "nothing was changed" && [ "$(ctr 3)" = 0 ]; then
        ok "add-client with every mgmtd stopped: refused, nothing on lab-n3"
    else bad "add-client without mgmtd (rc=$rc)"; fi
    mx cluster start -c "$TWO" --role mgmtd >"$W/out" 2>&1 || bad "start --role mgmtd"
else bad "stop --role mgmtd"; fi

# create's NIC preflight, on the new client node, before anything changes
sed '$a listenNics: [eth1]' "$THREE" >"$W/cfg/nics.yml" # beside THREE: the same state file
mx cluster add-client -c "$W/cfg/nics.yml" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "nodes cannot be used; nothing was changed" &&
    grep -q "^  lab-n3: .*would find no NIC to listen on" "$W/out" &&
    [ "$(ctr 3)" = 0 ] && [ "$(mounted 3)" = 0 ] && on 3 'test ! -e /opt/3fs/client'; then
    ok "add-client with listenNics [eth1]: create's preflight refuses lab-n3, nothing on lab-n3"
else bad "add-client with listenNics [eth1] (rc=$rc)"; fi

# --- add-client ---------------------------------------------------------------------
mx cluster add-client -c "$THREE" --dry-run >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "Plan to add the FUSE client on lab-n3 (" && has "client: start containers" &&
    has "client: wait until 3FS is mounted" && has "  lab-n1: container, running, mounted, files" &&
    ! grep -A3 "client: start containers" "$W/out" | grep -q "lab-n[12] (" &&
    [ "$(ctr 3)" = 0 ] && [ "$(mounted 3)" = 0 ]; then
    ok "add-client --dry-run: the plan starts a client on lab-n3 only; nothing changed"
else bad "add-client --dry-run (rc=$rc)"; fi

s1=$(started 1) s2=$(started 2)
mx cluster add-client -c "$THREE" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3FS is mounted at /mnt/3fs on lab-n3" && [ "$(mounted 3)" = 1 ] && reads 3 &&
    [ "$(started 1)" = "$s1" ] && [ "$(started 2)" = "$s2" ] && reads 1 && reads 2; then
    ok "add-client: lab-n3 mounts 3FS and reads the file (checksum); lab-n1 and lab-n2 not restarted"
else bad "add-client (rc=$rc; n3 mounted $(mounted 3))"; fi

s3=$(started 3)
mx cluster add-client -c "$THREE" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "nothing to add" && [ "$(started 3)" = "$s3" ]; then
    ok "a second add-client has nothing to add"
else bad "second add-client (rc=$rc)"; fi

# --- delete-client: refusals and dry-run -----------------------------------------------
mx cluster delete-client -c "$SHRUNK" </dev/null >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "no terminal to ask on and no --yes" && has "unmounts 3FS at /mnt/3fs on lab-n2 " &&
    [ "$(ctr 2)" = 1 ] && [ "$(mounted 2)" = 1 ] && reads 2; then
    ok "delete-client without --yes and no terminal: refused, naming lab-n2 and /mnt/3fs; nothing changed"
else bad "delete-client without --yes (rc=$rc)"; fi

mx cluster delete-client -c "$SHRUNK" --dry-run >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "Plan to delete the FUSE client on lab-n2 (" &&
    has "client: remove the container and unmount 3FS" && ! has "lab-n1 (" && ! has "lab-n3 (" &&
    [ "$(ctr 2)" = 1 ] && [ "$(mounted 2)" = 1 ]; then
    ok "delete-client --dry-run: the plan acts on lab-n2 only; nothing changed"
else bad "delete-client --dry-run (rc=$rc)"; fi

mx cluster delete-client -c "$SHRUNK" --node lab-n9 --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && has "no node named 'lab-n9'" && [ "$(ctr 2)" = 1 ]; then
    ok "delete-client --node lab-n9: a usage error naming the nodes"
else bad "delete-client --node lab-n9 (rc=$rc)"; fi

# --- delete-client ----------------------------------------------------------------------
mx cluster delete-client -c "$SHRUNK" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "Removed the FUSE client from lab-n2" && [ "$(ctr 2)" = 0 ] &&
    [ "$(mounted 2)" = 0 ] && ! on 2 'grep -q " /mnt/3fs " /proc/mounts' &&
    ! on 2 'test -e /opt/3fs/client' && on 2 'test -d /opt/3fs/storage && test -e /opt/3fs/.m3fs-cluster' &&
    [ "$(on 2 'docker ps -q --filter name=^3fs-storage$ | wc -l')" = 1 ] &&
    reads 1 && reads 3 && [ "$(started 3)" = "$s3" ]; then
    ok "delete-client --yes: lab-n2's container, mount and client files gone, its storage kept; lab-n1 and lab-n3 read the file"
else bad "delete-client (rc=$rc; n2 containers $(ctr 2), mounted $(mounted 2))"; fi

mx cluster status -c "$SHRUNK" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "cluster status with shrunk.yml: healthy"
else bad "status after delete-client (rc=$rc)"; fi

mx cluster delete-client -c "$SHRUNK" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "nothing to delete"; then ok "a second delete-client has nothing to delete"
else bad "second delete-client (rc=$rc)"; fi

it_done test_clients
