#!/bin/bash
# Lab test of `cluster add-storage-nodes` and `remove-storage-nodes`
# (docs/scale.md) against the stand-ins: a cluster of storage on lab-n1..n3
# (RF 2) with files written through FUSE (checksums);
#  * a remove that would leave fewer nodes than the RF is refused and
#    changes nothing; without a terminal and without --yes nothing starts;
#    with lab-n4's target path on a 64 KiB tmpfs the add is refused for
#    want of room (also --dry-run), nothing starts;
#  * add-storage-nodes for lab-n4, lab-n5: lab-n4's dockerd stopped (its
#    storage container with it) when the first move starts: the run fails
#    within a bound naming lab-n4, no chain is left without a serving
#    replica; with that dockerd started again the rerun resumes, is
#    interrupted (SIGINT) after a move, and run again it finishes: the new
#    nodes hold targets with data, every target is SERVING-UPTODATE, every
#    node holds as many targets, every file reads back with its checksum;
#  * remove-storage-nodes --node lab-n2: no target left on it, its storage
#    container gone, every file reads back with its checksum;
#  * cluster create on the scaled cluster (docs/scale.md "cluster create
#    after add- or remove-storage-nodes"): refused while the add plan is
#    unfinished; after add (all five nodes) and after remove (lab-n2 still
#    listed) it keeps the cluster's table: exit 0, no target, chain or
#    orphan changed, lab-n2's storage not started again; with the 3-node
#    cluster.yml it is refused, naming a node that holds targets;
#  * with lab-n2 drained and still listed (docs/lifecycle.md "After add- or
#    remove-storage-nodes"): `cluster restart --role storage` exits 0, every
#    target SERVING-UPTODATE, lab-n2's containers untouched and no storage
#    there; `--role storage --node lab-n2` is refused saying it was drained;
#    `upgrade --dry-run` finds nothing to upgrade (no unit for lab-n2);
#  * `remove-storage-nodes --node lab-n2 --clear-disks` on that finished
#    drain: without --yes it lists what goes and a wrong answer changes
#    nothing; --dry-run shows the steps; with --yes lab-n2's
#    <workDir>/storage is deleted, its mgmtd/meta containers and files stay,
#    no target moves, every file reads back; run again it is a no-op.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=${IT_SHOW_END:-tail}
it_init
it_workdir scale
it_lab_up 5
mkdir -p "$W/c"
CFG5=$W/c/all.yml CFG3=$W/c/lab.yml
# 4 targets per disk (6 chains on 3 nodes, 10 on 5): few moves; stripes over 4 chains
sed -e 's/targetNumPerDisk: .*/targetNumPerDisk: 4/' \
    -e '/^  mgmtd:/,/^  [a-z]*:$/s/^\(    nodes: .*\)/\1\n    stripeSize: 4/' \
    -e '/^  client:/,/^  [a-z]/s/nodes: .*/nodes: [lab-n3]/' "$M3FS_LAB_DIR/cluster.yml" >"$CFG5"
sed -e '/^  storage:/,/^  [a-z]*:$/s/nodes: .*/nodes: [lab-n1, lab-n2, lab-n3]/' "$CFG5" >"$CFG3"
grep -A1 '^  storage:' "$CFG3" | grep -q 'lab-n1, lab-n2, lab-n3\]' || { echo "FAIL: cluster.yml"; exit 1; }

cr_images_loaded "$CFG5"
mx cluster create -c "$CFG3" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }

targets() { on 1 /opt/3fs/admin_cli.sh list-targets 2>/dev/null; }
nodes_with_targets() { targets | awk 'NR > 1 {print $6}' | sort -u | tr '\n' ' '; }
for i in 1 2 3 4 5 6; do
    on 3 "head -c $((i * 300000)) /dev/urandom >/mnt/3fs/f$i.bin" ||
        { echo "FAIL: could not write through FUSE"; exit 1; }
done
on 3 'cd /mnt/3fs && sha256sum f*.bin' >"$W/sums" || { echo "FAIL: sha256sum"; exit 1; }
# until list-targets counts the bytes (2 replicas of 6.3 MB): storage reports
# UsedSize in its heartbeats, every 10 s (upstream auto_heartbeat_interval)
used_all() { targets | awk 'NR > 1 {s += $NF} END {print s + 0}'; }
for _ in $(seq 40); do [ "$(used_all)" -ge 12600000 ] && break; sleep 1; done
[ "$(used_all)" -ge 12600000 ] || echo "FAIL: list-targets counts $(used_all) bytes of the 12600000 written"
files_ok() {
    on 3 'cd /mnt/3fs && sha256sum -c' <"$W/sums" >"$W/out" 2>&1 &&
        ok "every file reads back with its checksum ($1)" || { cat "$W/out"; bad "files differ ($1)"; }
}
state_file=$W/c/.m3fs/lab.state.json
# target id, chain id, node id of each target of a list-targets listing
tcn() { awk 'NR > 1 {print $1, $2, $6}' "$1" | sort; }
# a listing without UsedSize (its last column), which heartbeats update as
# written data lands: what a refusal must leave as it was
layout() { awk 'NR > 1 {NF = 7; print}' "$1" | sort; }
orphans() { on 1 /opt/3fs/admin_cli.sh "'list-targets --orphan'" 2>/dev/null | awk 'NR > 1' | wc -l; }
# chain id, the tables naming it, its targets in order, of a list-chains
# listing (without the version and states, which heartbeats may change)
chains_of() {
    awk 'NR > 1 {l = $1 " " $2; for (i = 6; i <= NF; i++) {t = $i; sub(/\(.*/, "", t); l = l " " t}; print l}' "$1"
}
# create on the scaled cluster keeps its table: exit 0, targets and chains as
# they were, no orphan target made ($1: cluster.yml, $2: what for)
create_keeps() {
    targets >"$W/tk0"
    on 1 /opt/3fs/admin_cli.sh list-chains >"$W/ck0" 2>&1
    mx cluster create -c "$1" --skip-bench >"$W/out" 2>&1
    local rc=$?
    targets >"$W/tk1"
    on 1 /opt/3fs/admin_cli.sh list-chains >"$W/ck1" 2>&1
    if [ $rc -eq 0 ] && has "create keeps it" && [ "$(tcn "$W/tk0")" = "$(tcn "$W/tk1")" ] &&
        [ "$(chains_of "$W/ck0")" = "$(chains_of "$W/ck1")" ] && [ "$(orphans)" -eq 0 ]; then
        ok "cluster create $2 keeps the cluster's chain table"
        has "nothing to do" || echo "note: create $2 ran steps ($(grep -m1 'running the plan' "$W/out"))"
    else
        bad "cluster create $2 (exit $rc)"
        diff "$W/tk0" "$W/tk1" | head -20
        diff "$W/ck0" "$W/ck1" | head -20
    fi
    cp "$W/out" "$W/create-$3.log"
}

# --- refusals: nothing changes ---------------------------------------------------
targets >"$W/t0"
mx cluster remove-storage-nodes -c "$CFG3" --node lab-n1,lab-n2 --yes >"$W/out" 2>&1
rc=$?
targets >"$W/t1"
[ $rc -ne 0 ] && has "replication factor" && [ "$(layout "$W/t0")" = "$(layout "$W/t1")" ] &&
    ! grep -q scale-plan "$state_file" &&
    ok "remove of 2 of 3 nodes at RF 2 refused, nothing changed" ||
    { cat "$W/out"; diff "$W/t0" "$W/t1"; bad "RF refusal"; }
mx cluster add-storage-nodes -c "$CFG5" </dev/null >"$W/out" 2>&1
rc=$?
[ $rc -ne 0 ] && has "--yes" && ! grep -q scale-plan "$state_file" &&
    ! on 4 'docker ps -a --format "{{.Names}}"' | grep -q storage &&
    ok "add without a terminal or --yes refused, nothing started" || { cat "$W/out"; bad "no-tty refusal"; }
# lab-n4's target path 0 on a 64 KiB tmpfs (its own mount namespace): the
# bytes moving there do not fit, so the add is refused before anything starts
small=/opt/3fs/storage/3fsdata/data0
if on 4 "mkdir -p $small && mount -t tmpfs -o size=64k m3fs-small $small"; then
    mx cluster add-storage-nodes -c "$CFG5" --dry-run >"$W/out" 2>&1
    rc=$?
    n4_bytes=$(grep -E -- "-> target [0-9]+ on lab-n4 " "$W/out" | awk '{s += $(NF - 1)} END {print s + 0}')
    [ "$n4_bytes" -gt 65536 ] || bad "setup: only $n4_bytes bytes move to lab-n4 (the room case needs more than 64 KiB)"
    [ $rc -eq 1 ] && has "NOT ENOUGH ROOM" && has "storage node lab-n4 (node 10004), target path(s) $small/3fs" &&
        has "add storage nodes or disks" && ! has "Steps (" &&
        ok "--dry-run with lab-n4's target path on a 64 KiB filesystem: refused, naming it" ||
        { tail -20 "$W/out"; bad "room refusal (--dry-run)"; }
    mx cluster add-storage-nodes -c "$CFG5" --yes >"$W/out" 2>&1
    rc=$?
    [ $rc -eq 1 ] && has "refused: not enough room" && ! grep -q scale-plan "$state_file" &&
        ! on 4 'docker ps -a --format "{{.Names}}"' | grep -q storage &&
        ok "add with --yes refused for want of room, nothing started" ||
        { tail -20 "$W/out"; bad "room refusal (--yes)"; }
    on 4 "umount $small" || bad "could not unmount the small tmpfs on lab-n4"
else
    bad "could not mount a small tmpfs on lab-n4"
fi
mx cluster add-storage-nodes -c "$CFG5" --dry-run >"$W/dry" 2>&1 && grep -q "replica move" "$W/dry" &&
    grep -q "update-chain" "$W/dry" && grep -q "Room on the receiving nodes" "$W/dry" &&
    grep -qE "lab-n4 \(node 10004\) .*: ok$" "$W/dry" &&
    ok "--dry-run prints the moves, the room and the steps" ||
    { tail -20 "$W/dry"; bad "--dry-run"; }

# --- add two storage nodes; lab-n4's dockerd stopped mid-migration ---------------
# lab-n4 only receives replicas: a chain moving to it has its other replica
# serving elsewhere, so losing lab-n4 costs no chain more than one replica.
# Its dockerd stops (graceful, as systemctl stop docker) when the first move
# starts, so each move to it finds it down at create-target.
t_dockerd=$SECONDS
setsid timeout -k 10 300 "$M" --known-hosts "$KH" cluster add-storage-nodes -c "$CFG5" --yes \
    >"$W/out" 2>&1 &
pid=$!
# (the moves run in lanes: wait for a move to lab-n4 itself, not the first;
# its step's line, not the plan's listing printed first)
if it_wait_out_re $pid "\] scale: move a replica of chain .* -> target [0-9]+ on lab-n4 " 3000; then
    cr_dockerd_stop 4 || {
        on 4 'tail -n 15 /opt/3fs/storage/log/storage_main.log; tail -n 8 /run/m3fs-lab/dockerd.log' 2>&1 |
            cut -c1-300 | sed 's/^/    | /'
        bad "could not stop lab-n4's dockerd"
    }
    t_stop=$SECONDS
    wait $pid
    rc=$? took=$((SECONDS - t_stop))
    # the reason names lab-n4 (admin_cli runs on lab-n1, the first mgmtd node)
    if [ $rc -eq 1 ] && has "(for lab-n4, storage node 10004)" && has "run the same command again to resume"; then
        ok "lab-n4's dockerd stopped mid-migration: the run fails ${took}s after, naming lab-n4"
        grep -A2 "failed on" "$W/out" | cut -c1-300 | sed 's/^/    > /'
    else
        tail -20 "$W/out"
        bad "dockerd of lab-n4 stopped: exit $rc after ${took}s (124: no end within 300 s)"
    fi
else
    wait $pid
    tail -30 "$W/out"
    bad "no move to lab-n4 started"
fi
cp "$W/out" "$W/add0.log"
# once mgmtd shows lab-n4's targets OFFLINE, every chain still has a serving
# replica (lab-n4 may hold none yet: its dockerd may stop before the first
# create-target reaches it)
n4_off() { targets | awk 'NR > 1 && $6 == 10004 && $5 != "OFFLINE" {n++} END {exit n > 0}'; }
for _ in $(seq 100); do n4_off && break; sleep 0.3; done
on 1 /opt/3fs/admin_cli.sh list-chains >"$W/out" 2>&1
n4_off && awk 'NR > 1 {c++; if ($0 !~ /\(SERVING-/) bad = 1} END {exit bad || c < 6}' "$W/out" &&
    ok "with lab-n4's targets OFFLINE every chain still has a serving replica" ||
    { targets; bad "a chain lost more than one replica"; }
cr_dockerd_start 4 || bad "could not start lab-n4's dockerd again"
# its storage container comes back by its restart policy (unless-stopped)
for _ in $(seq 100); do on 4 'docker ps --format "{{.Names}}"' | grep -q storage && break; sleep 0.3; done
echo "note: the dockerd case (the failed run, lab-n4 down and back) took $((SECONDS - t_dockerd))s"

# --- the rerun, interrupted (SIGINT) after a move, then run again ------------------
setsid "$M" --known-hosts "$KH" cluster add-storage-nodes -c "$CFG5" --yes >"$W/out" 2>&1 &
pid=$!
if it_wait_out $pid "migrate: " 3000; then
    kill -INT -- -"$pid" 2>/dev/null
    wait $pid
    rc=$?
    [ $rc -ne 0 ] && has "interrupted" && has "resumed from the state file" &&
        ok "the rerun resumes; SIGINT during the migration stops it (exit $rc)" ||
        { tail -20 "$W/out"; bad "SIGINT: exit $rc"; }
else
    wait $pid
    tail -30 "$W/out"
    bad "no move finished"
fi
cp "$W/out" "$W/add1.log"
grep -q scale-plan "$state_file" && ok "the plan is kept in the state file" || bad "no plan in the state file"
# create while the plan is unfinished: refused before anything changes
cp "$state_file" "$W/state_mid"
targets >"$W/tm0"
mx cluster create -c "$CFG5" --skip-bench >"$W/out" 2>&1
rc=$?
targets >"$W/tm1"
[ $rc -eq 1 ] && has "unfinished add-storage-nodes" && has "Finish the plan first" &&
    cmp -s "$state_file" "$W/state_mid" && [ "$(tcn "$W/tm0")" = "$(tcn "$W/tm1")" ] &&
    ok "cluster create with the add plan unfinished: refused, nothing changed" ||
    { diff "$W/tm0" "$W/tm1" | head; bad "create during an unfinished plan (exit $rc)"; }
mx cluster add-storage-nodes -c "$CFG5" --yes >"$W/out" 2>&1 && has "resumed from the state file" &&
    has "add-storage-nodes finished" && ok "the rerun resumes the plan and finishes" ||
    { tail -40 "$W/out"; bad "add-storage-nodes rerun"; }
cp "$W/out" "$W/add2.log"
targets >"$W/t2"
n=$(nodes_with_targets)
[ "$n" = "10001 10002 10003 10004 10005 " ] && ok "targets on every node: $n" || bad "nodes: $n"
awk 'NR > 1 && ($6 == 10004 || $6 == 10005) && $8 > 0 {found = 1} END {exit !found}' "$W/t2" &&
    ok "the new nodes hold data" || { cat "$W/t2"; bad "no data on the new nodes"; }
awk 'NR > 1 && !($4 == "SERVING" && $5 == "UPTODATE") {bad = 1} END {exit bad}' "$W/t2" &&
    ok "every target SERVING-UPTODATE" || { cat "$W/t2"; bad "targets not serving"; }
[ "$(awk 'NR > 1 {c[$6]++} END {for (k in c) print c[k]}' "$W/t2" | sort -u | wc -l)" -eq 1 ] &&
    ok "every node holds as many targets" || { cat "$W/t2"; bad "unbalanced"; }
on 1 /opt/3fs/admin_cli.sh list-chains >"$W/out" 2>&1
awk 'NR > 1 && $0 !~ /SERVING-UPTODATE.*SERVING-UPTODATE/ {bad = 1} END {exit bad}' "$W/out" &&
    ok "every chain has 2 serving targets" || { cat "$W/out"; bad "chains"; }
files_ok "after adding"
grep -q '"storage-nodes"' "$state_file" && ok "the state file records the storage nodes" ||
    bad "no storage-nodes record"
create_keeps "$CFG5" "after add-storage-nodes" add
cp "$state_file" "$W/state_add"
mx cluster create -c "$CFG3" --skip-bench >"$W/out" 2>&1
rc=$?
[ $rc -eq 1 ] && has "holds targets" && has_re "storage node lab-n[45] \(id 1000[45]\)" &&
    cmp -s "$state_file" "$W/state_add" && [ "$(orphans)" -eq 0 ] &&
    ok "cluster create with the 3-node cluster.yml after add: refused, naming a new node" ||
    bad "create with the old cluster.yml (exit $rc)"

# --- remove one storage node -----------------------------------------------------
mx cluster remove-storage-nodes -c "$CFG5" --node lab-n2 --yes >"$W/out" 2>&1 &&
    has "remove-storage-nodes finished" && ok "remove-storage-nodes --node lab-n2" ||
    { tail -40 "$W/out"; targets; on 1 /opt/3fs/admin_cli.sh list-chains; bad "remove-storage-nodes"; }
cp "$W/out" "$W/remove.log"
n=$(nodes_with_targets)
[ "$n" = "10001 10003 10004 10005 " ] && ok "lab-n2 holds no target: $n" || bad "nodes: $n"
on 2 'docker ps -a --format "{{.Names}}"' | grep -q storage && bad "storage still on lab-n2" ||
    ok "the storage container of lab-n2 is gone"
files_ok "after removing lab-n2"
create_keeps "$CFG5" "after remove-storage-nodes (lab-n2 still listed)" remove
on 2 'docker ps -a --format "{{.Names}}"' | grep -q storage && bad "create started storage on lab-n2 again" ||
    ok "create left the drained lab-n2 alone"
n=$(nodes_with_targets)
[ "$n" = "10001 10003 10004 10005 " ] && ok "still no target on lab-n2: $n" || bad "nodes: $n"
files_ok "after create on the scaled cluster"

# --- stop/start/restart/upgrade with the drained lab-n2 still listed --------------
# (docs/lifecycle.md "After add- or remove-storage-nodes"): lab-n2 keeps mgmtd
# and meta; its containers must not be touched by a storage restart.
n2_ctrs() { on 2 'docker ps -aq | xargs -r docker inspect --format "{{.Name}} {{.State.StartedAt}}"' | sort; }
n2_ctrs >"$W/n2_0"
mx cluster restart -c "$CFG5" --role storage >"$W/out" 2>&1
rc=$?
n2_ctrs >"$W/n2_1"
targets >"$W/tr1"
[ $rc -eq 0 ] && has "restart leaves out storage on lab-n2: remove-storage-nodes drained it" &&
    [ -s "$W/n2_0" ] && cmp -s "$W/n2_0" "$W/n2_1" &&
    awk 'NR > 1 && !($4 == "SERVING" && $5 == "UPTODATE") {bad = 1} END {exit bad}' "$W/tr1" &&
    ok "restart --role storage with lab-n2 drained and listed: exit 0, lab-n2 untouched, every target SERVING-UPTODATE" ||
    { diff "$W/n2_0" "$W/n2_1"; cat "$W/tr1"; bad "restart --role storage after the remove (exit $rc)"; }
cp "$W/out" "$W/restart.log"
on 2 'docker ps -a --format "{{.Names}}"' | grep -q storage && bad "restart started storage on lab-n2 again" ||
    ok "restart left the drained lab-n2 without storage"
mx cluster restart -c "$CFG5" --role storage --node lab-n2 >"$W/out" 2>&1
rc=$?
n2_ctrs >"$W/n2_2"
[ $rc -eq 1 ] && has "nothing to restart" && has "remove-storage-nodes\` drained storage on lab-n2" &&
    cmp -s "$W/n2_0" "$W/n2_2" &&
    ok "restart --role storage --node lab-n2: refused, saying lab-n2 was drained" ||
    bad "restart --role storage --node lab-n2 (exit $rc)"
mx cluster upgrade -c "$CFG5" --dry-run >"$W/out" 2>&1 && has "nothing to upgrade" &&
    ok "upgrade --dry-run: nothing to upgrade (no unit for the drained lab-n2)" ||
    bad "upgrade --dry-run after the remove"
files_ok "after restarting storage on the scaled cluster"

# --- --clear-disks on a rerun of the finished drain of lab-n2 -----------------------
# (docs/scale.md "Clearing the drained nodes' disks"): destroy's storage steps
# on lab-n2 only; its mgmtd and meta untouched.
on 2 'test -d /opt/3fs/storage/3fsdata/data0' && ok "lab-n2's storage data dir is there after the drain" ||
    bad "no /opt/3fs/storage/3fsdata/data0 on lab-n2 before --clear-disks"
n2_ctrs >"$W/n2_c0"
echo lab-n3 | mx cluster remove-storage-nodes -c "$CFG5" --node lab-n2 --clear-disks >"$W/out" 2>&1
rc=$?
[ $rc -eq 1 ] && has "lab-n2:" && has "delete /opt/3fs/storage:" && has "Type the node names 'lab-n2'" &&
    has "nothing was changed" && on 2 'test -d /opt/3fs/storage/3fsdata/data0' &&
    ok "--clear-disks without --yes lists what goes on lab-n2; a wrong answer changes nothing" ||
    bad "--clear-disks with a wrong answer (exit $rc)"
mx cluster remove-storage-nodes -c "$CFG5" --node lab-n2 --clear-disks --dry-run >"$W/out" 2>&1 &&
    has "Steps of --clear-disks" && has "storage: remove the container and clear the data" &&
    on 2 'test -d /opt/3fs/storage/3fsdata/data0' &&
    ok "--clear-disks --dry-run shows the clear steps and changes nothing" || bad "--clear-disks --dry-run"
mx cluster remove-storage-nodes -c "$CFG5" --node lab-n2 --clear-disks --yes >"$W/out" 2>&1
rc=$?
cp "$W/out" "$W/clear.log"
n2_ctrs >"$W/n2_c1"
[ $rc -eq 0 ] && has "storage data of the drained nodes was cleared" &&
    on 2 '! test -e /opt/3fs/storage && test -d /opt/3fs/mgmtd && test -d /opt/3fs/meta' &&
    ok "--clear-disks --yes on the finished drain: lab-n2's <workDir>/storage deleted, mgmtd and meta files kept" ||
    { on 2 'ls -la /opt/3fs /opt/3fs/storage'; bad "--clear-disks --yes (exit $rc)"; }
[ -s "$W/n2_c0" ] && cmp -s "$W/n2_c0" "$W/n2_c1" && ok "lab-n2's other containers untouched" ||
    { diff "$W/n2_c0" "$W/n2_c1"; bad "lab-n2's containers changed"; }
for i in 1 3; do
    on "$i" 'test -d /opt/3fs/storage/3fsdata/data0' || bad "lab-n$i lost its storage data"
done
n=$(nodes_with_targets)
[ "$n" = "10001 10003 10004 10005 " ] && ok "the targets stay where they were: $n" || bad "nodes: $n"
mx cluster remove-storage-nodes -c "$CFG5" --node lab-n2 --clear-disks --yes >"$W/out" 2>&1 &&
    has "storage data of the drained nodes was cleared" &&
    ok "--clear-disks again: nothing left to do, exit 0" || bad "--clear-disks run twice"
files_ok "after --clear-disks on lab-n2"

it_done "test_scale"
