#!/bin/bash
# Integration test of issue 20's fault matrix (docs/faults.md) on a 3-node lab
# (scripts/lab.sh) with the stand-in images: each fault, then a rerun that
# finishes with nothing lost.
#   download  SIGINT during `artifact download` (a throttled server): the
#             rerun resumes the .part with an HTTP range.
#   upload    lab-n3's sshd (and its connections) killed mid-upload of a
#             77 MB image (its link slowed to 160 Mbit/s so the transfer
#             lasts seconds): lab-n3 is named, the others finish; with sshd
#             back the rerun sends it again, it loads, no temp file is left.
#   prepare   SIGINT during `cluster prepare`'s upload: stops, says how to
#             resume; the rerun finishes.
#   partition lab-n3's link cut mid-upload (data in flight): lab-n3 named
#             after the socket's user timeout (~90 s); healed, the rerun
#             sends the image again.
#   disk full a 16 MB tmpfs over lab-n2's images dir (transfer) and over
#             Docker's tmp dir (docker load): lab-n2 and "full" named with a
#             hint; with the space freed the rerun finishes.
#   run-once  SIGINT and SIGTERM while init-cluster, user-add and
#             upload-chain-table run: the state file records the step
#             (started or done), the rerun finishes it.
#   partition lab-n3's link cut while create runs the client step on it:
#             create fails naming lab-n3 within its timeouts; healed, the
#             rerun finishes.
#   reboot    lab-n2 loses power while meta starts on it (every process of
#             the node killed at once, its namespace gone) and is
#             started again as lab.sh starts a node: create fails at once
#             naming lab-n2; the reruns finish and every container of n2 runs.
# Two creates at once are test_trust.sh's.
set -u
{ # read as one compound command, so editing this file cannot disturb a run
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/prepare-lib.sh
it_init
"$M" cluster create --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster create'"
it_workdir faults
F3=3fs_20250410_amd64.docker
T0=$SECONDS

# --- helpers (and lib.sh's wait_until, nd, in_node, sshd_stop, sshd_start) ----
# finish PID SECONDS: wait for PID at most SECONDS (then kill it: a hang);
# sets rc and took (seconds).
finish() {
    local pid=$1 max=$2 t=$SECONDS
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t)) -lt "$max" ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { echo "note: pid $pid still running after ${max}s: killed"; kill -9 "$pid"; }
    wait "$pid"
    rc=$?
    took=$((SECONDS - t))
}
# A node losing power: every process of the node killed at once (SIGKILL):
# those in its mount namespace (holder, sshd with every connection, dockerd,
# containerd, the shims) and those in its containers' cgroups
# (--cgroup-parent m3fs-lab-n<i>). Its mount namespace (/run, /tmp, mounts)
# is then gone; its disk (the state dir, Docker's data root) stays. A
# graceful dockerd stop is not a power loss, and it could outlast any
# timeout: a container started while dockerd shut down held it up for more
# than 30 s. node_boot starts the node again as `scripts/lab.sh up` does
# (scripts/lab/node.sh: fresh namespaces, sshd, dockerd).
node_pids() { # node_pids I: every process of node I
    local ino
    ino=$(stat -L -c %i "/proc/$(cat "$(nd "$1")/holder.pid")/ns/mnt" 2>/dev/null) || ino=none
    stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null |
        awk -v ino="$ino" '$1 == ino { split($2, p, "/"); print p[3] }'
    find /sys/fs/cgroup -maxdepth 8 -type d -name "m3fs-lab-n$1" -prune 2>/dev/null |
        while read -r d; do find "$d" -name cgroup.procs -exec cat {} +; done
}
node_down() {
    local i=$1 t pids
    for ((t = 0; t < 100; t++)); do
        pids=$(node_pids "$i" | sort -u | tr '\n' ' ')
        [ -n "${pids// /}" ] || return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    echo "    | still alive 10 s after SIGKILL:"
    # shellcheck disable=SC2086
    ps -o pid,ppid,stat,wchan:24,etime,args -p "${pids// /,}" | cut -c1-200 | sed 's/^/    | /'
    return 1
}
node_boot() {
    local i=$1 drv
    drv=$(docker_driver)
    rm -f "$(nd "$i")/ready" "$(nd "$i")/failed"
    setsid nsenter --net="/run/netns/m3fs-lab-n$i" unshare --mount --uts --propagation private \
        /bin/bash scripts/lab/node.sh "$M3FS_LAB_DIR" "$i" "$drv" </dev/null >"$(nd "$i")/node.log" 2>&1 &
    wait_until 600 test -e "$(nd "$i")/ready" && wait_until 100 on "$i" true
}
# The storage driver the lab's dockerd runs with (lab.sh probes it at up).
docker_driver() { tr '\0' '\n' </proc/"$(sed -n 's/^dockerd=//p' "$(nd 1)/pids")"/cmdline | sed -n '/^--storage-driver$/{n;p}'; }
slow_link() { tc -n m3fs-lab-br qdisc replace dev "n$1" root tbf rate "$2" burst 64kb latency 100ms; }
fast_link() { tc -n m3fs-lab-br qdisc del dev "n$1" root 2>/dev/null || true; }
# temp_size I: bytes of the biggest upload temp file in node I's images dir
temp_size() {
    on "$1" 'ls -l /opt/3fs/images/.m3fs-tmp.* 2>/dev/null' | awk '$5 > m {m = $5} END {print m + 0}'
}
# shown: what the user saw (the error lines of $W/out), for docs/faults.md
shown() { grep -A1 -E "failed on|^error" "$W/out" | head -3 | cut -c1-400 | sed 's/^/    > /'; }
temp_over() { [ "$(temp_size "$1")" -gt "$2" ]; }
leftovers() { on "$1" 'ls -A /opt/3fs/images | grep -v "\.sha256$"; ls -A /var/tmp | grep "^\.m3fs-upload"'; }
marker_ok() { [ "$(on "$1" "cat /opt/3fs/images/$F3.sha256")" = "$SUM_3FS" ]; }
img_id() { on "$1" "docker image inspect -f '{{.Id}}' open3fs/3fs:20250410" 2>/dev/null; }
state_has() { # state_has KEY STEP: the state file's KEY ("done"/"started") holds STEP
    python3 -c 'import json,sys; sys.exit(sys.argv[3] not in json.load(open(sys.argv[1])).get(sys.argv[2], {}))' \
        "$STATE" "$1" "$2" 2>/dev/null
}

# --- SIGINT during `artifact download`; the rerun resumes the .part ---------
bash tests/images/build.sh "$W/srv/img" >"$W/img.log" 2>&1 ||
    { tail -20 "$W/img.log"; echo "FAIL: could not build the stand-in images"; exit 1; }
SUM_3FS=$(sha256sum "$W/srv/img/$F3" | cut -d' ' -f1)
python3 tests/integration/artifact/server.py --root "$W/srv" --port-file "$W/port" 2>"$W/server.log" &
server=$!
wait_until 100 test -s "$W/port"
URL=http://127.0.0.1:$(cat "$W/port")
curl -fs "$URL/_ctl/fault?path=/img/$F3&kind=throttle&bps=4000000" >/dev/null
# (the background runs start m3fs itself, not a function: a function would
# run in a subshell, and the signal would reach the subshell.)
DL=("$M" artifact download -c "$W/dl.yml" --base-url "$URL/img" -t "$W/cache" -o "$W/bundle.tar")
printf 'name: dl\nnodes:\n  - {name: a, host: 198.18.0.11, username: root}\nservices:\n' >"$W/dl.yml"
for s in fdb clickhouse monitor mgmtd meta client; do printf '  %s: {nodes: [a]}\n' $s >>"$W/dl.yml"; done
printf '  storage: {nodes: [a], replicationFactor: 1}\n' >>"$W/dl.yml"
"${DL[@]}" >"$W/out" 2>&1 &
pid=$!
wait_until 300 eval "[ \$(stat -c %s '$W/cache/$F3.part' 2>/dev/null || echo 0) -gt 8000000 ]"
kill -INT $pid 2>/dev/null
finish $pid 20
part=$(stat -c %s "$W/cache/$F3.part" 2>/dev/null || echo 0)
if [ $rc -ne 0 ] && [ $took -le 5 ] && [ "$part" -gt 8000000 ] && [ ! -e "$W/bundle.tar" ]; then
    ok "download: SIGINT stops it at once (rc=$rc), $part bytes kept in $F3.part, no bundle"
else bad "download SIGINT (rc=$rc, ${took}s, part $part)"; fi
curl -fs "$URL/_ctl/reset" >/dev/null
"${DL[@]}" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "resuming at byte" && [ ! -e "$W/cache/$F3.part" ] &&
    curl -fs "$URL/_ctl/stats" | grep -qE "\"path\": \"/img/$F3\", \"range\": \"bytes=[1-9][0-9]*-\"" &&
    "$M" artifact verify -a "$W/bundle.tar" >"$W/out" 2>&1; then
    ok "download: the rerun resumes $F3 with a range request; the bundle verifies"
else bad "download rerun (rc=$rc)"; fi
kill $server 2>/dev/null
wait $server 2>/dev/null
rm -rf "$W/cache" "$W/srv"

echo "note: download part took $((SECONDS - T0))s"
it_lab_up 3
T_LAB=$SECONDS
# The lab's cluster.yml with a 40 s checkstatustimeout (default 5m), so a
# wait on a partitioned node gives up soon enough for a test.
CFG=$M3FS_LAB_DIR/faults.yml
{ cat "$M3FS_LAB_DIR/cluster.yml"; echo 'checkstatustimeout: 40s'; } >"$CFG"
STATE=$M3FS_LAB_DIR/.m3fs/lab.state.json
# Direct pushes (--no-relay): the faults here are of the SFTP upload;
# the relay's are test_relay.sh's.
PREP=("$M" --known-hosts "$KH" cluster prepare -c "$CFG" -a "$W/bundle.tar" --no-relay)
CREATE=("$M" --known-hosts "$KH" cluster create -c "$CFG" --skip-bench)
prepare() { "${PREP[@]}" >"$W/out" 2>&1; }

# --- sshd killed mid-upload ---------------------------------------------------
slow_link 3 160mbit
"${PREP[@]}" >"$W/out" 2>&1 &
pid=$!
wait_until 600 temp_over 3 16000000
sshd_stop 3
finish $pid 120
if [ $rc -eq 1 ] && has "failed on 1 of 3 nodes" && has_re "lab-n3: .*$F3" && [ $took -le 60 ] &&
    marker_ok 1 && marker_ok 2 && [ -n "$(img_id 1)" ]; then
    ok "upload: sshd of lab-n3 killed mid-transfer: lab-n3 named, n1 and n2 finished (${took}s after)"
    shown
else bad "upload: sshd killed (rc=$rc, ${took}s)"; fi
sshd_start 3 || bad "sshd of lab-n3 did not start again"
fast_link 3
prepare
rc=$?
if [ $rc -eq 0 ] && has "lab-n3: sending $F3" && marker_ok 3 && [ "$(img_id 3)" = "$(img_id 1)" ] &&
    [ -z "$(leftovers 3)" ]; then
    ok "upload: the rerun sends $F3 to lab-n3 again, sha256 checked, loaded, no temp file left"
else bad "upload rerun (rc=$rc; left on n3: $(leftovers 3 | tr '\n' ' '))"; fi

# --- SIGINT during prepare's upload -----------------------------------------
on 3 "rm -f /opt/3fs/images/$F3.sha256"
slow_link 3 160mbit
"${PREP[@]}" >"$W/out" 2>&1 &
pid=$!
wait_until 600 temp_over 3 16000000
kill -INT $pid 2>/dev/null
finish $pid 60
if [ $rc -eq 1 ] && has "interrupted; run the same command again" && [ $took -le 10 ] &&
    [ -z "$(leftovers 3)" ]; then
    ok "prepare: SIGINT mid-upload stops within ${took}s, says how to resume, no temp file left"
    shown
else bad "prepare SIGINT (rc=$rc, ${took}s; left: $(leftovers 3 | tr '\n' ' '))"; fi
fast_link 3
prepare
rc=$?
[ $rc -eq 0 ] && has "lab-n3: sending $F3" && marker_ok 3 && [ -z "$(leftovers 3)" ] &&
    ok "prepare: the rerun after SIGINT finishes" || bad "prepare rerun after SIGINT (rc=$rc)"

# --- link cut mid-upload: a write left unacknowledged ------------------------
# TCP keepalive never probes while sent data waits for its ACK; only the
# socket's user timeout (docs/remote.md "Timeouts") ends such a connection.
# Without it the upload waited for TCP's retransmissions (about 15 minutes).
on 3 "rm -f /opt/3fs/images/$F3.sha256"
slow_link 3 160mbit
"${PREP[@]}" >"$W/out" 2>&1 &
pid=$!
wait_until 600 temp_over 3 16000000
ip -n m3fs-lab-br link set n3 down
finish $pid 300
if [ $rc -eq 1 ] && has_re "lab-n3: .*$F3" && [ $took -le 150 ]; then
    ok "partition mid-upload: lab-n3 named within ${took}s (the socket's user timeout)"
    shown
else bad "partition mid-upload (rc=$rc, ${took}s)"; fi
ip -n m3fs-lab-br link set n3 up
fast_link 3
wait_until 100 on 3 true
prepare
rc=$?
[ $rc -eq 0 ] && has "lab-n3: sending $F3" && marker_ok 3 && [ -z "$(leftovers 3)" ] &&
    ok "partition mid-upload: healed, the rerun sends $F3 again, no temp file left" ||
    bad "prepare rerun after the partition (rc=$rc; left: $(leftovers 3 | tr '\n' ' '))"

# --- disk full during the transfer and during docker load --------------------
on 2 "rm -f /opt/3fs/images/$F3.sha256; mount -t tmpfs -o size=16m m3fs-full /opt/3fs/images"
prepare
rc=$?
if [ $rc -eq 1 ] && has "failed on 1 of 1 node" && has_re "lab-n2: .*no space left" &&
    has "/opt/3fs/images" && has "free space" && [ -z "$(leftovers 2)" ]; then
    ok "disk full during the transfer: lab-n2, the full filesystem and a hint named; temp file removed"
    shown
else bad "disk full during the transfer (rc=$rc)"; fi
on 2 "umount /opt/3fs/images"
droot=$(on 2 "docker info -f '{{.DockerRootDir}}'")
on 2 "mkdir -p $droot/tmp && mount -t tmpfs -o size=16m m3fs-full $droot/tmp"
prepare
rc=$?
if [ $rc -eq 1 ] && has "failed on 1 of 1 node" && has_re "lab-n2 .*docker load" &&
    has "no space left" && has "Docker" && [ -z "$(leftovers 2)" ]; then
    ok "disk full during docker load: lab-n2, docker load and a hint named; the copy removed"
    shown
else bad "disk full during docker load (rc=$rc)"; fi
on 2 "umount $droot/tmp"
prepare
rc=$?
[ $rc -eq 0 ] && has "lab-n2: sending $F3" && marker_ok 2 && [ "$(img_id 2)" = "$(img_id 1)" ] &&
    ok "disk full: with the space freed the rerun loads $F3 on lab-n2" || bad "rerun after disk full (rc=$rc)"

# --- SIGINT/SIGTERM while each run-once step runs ----------------------------
# create_sig SIG STEP TITLE: a create signalled when the step starts; checks
# that it stops like Ctrl-C and the state file records the step.
create_sig() {
    local sig=$1 step=$2 title=$3
    "${CREATE[@]}" >"$W/out" 2>&1 &
    pid=$!
    it_wait_out_re $pid "\] $title\$" 2400 && kill -"$sig" $pid
    finish $pid 300
    if [ $rc -eq 1 ] && has "interrupted; run the same command again to resume" &&
        { state_has done "$step" || state_has started "$step"; }; then
        ok "SIG$sig while $step runs: stopped (${took}s), the state file records $step"
    else bad "SIG$sig while $step runs (rc=$rc)"; fi
}
create_ok() { # create_ok WHAT: a create that finishes with every run-once step done
    mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && has "3FS cluster 'lab' is ready" && state_has done init-cluster &&
        state_has done user-add && state_has done upload-chain-table &&
        python3 -c 'import json,sys; sys.exit(bool(json.load(open(sys.argv[1])).get("started")))' "$STATE"; then
        ok "$1: the rerun finishes the create"
    else bad "$1 (rc=$rc)"; fi
}
t_create=$SECONDS
echo "note: prepare part took $((SECONDS - T_LAB))s"
create_sig INT init-cluster 'mgmtd: initialise the cluster \(init-cluster\)'
create_sig TERM user-add 'users: create the root user with the minted admin token \(user-add\)'
create_sig INT upload-chain-table '3fs: upload chain table 1 \(upload-chain-table\)'

# --- a node partitioned with commands in flight ------------------------------
"${CREATE[@]}" >"$W/out" 2>&1 &
pid=$!
# (when the client's start begins: by its mount wait the mount may be done)
it_wait_out_re $pid '\] client: start containers$' 2400 &&
    ip -n m3fs-lab-br link set n3 down
finish $pid 400
if [ $rc -eq 1 ] && has_re "lab-n3: " && has "failed on 1 of 1 node" && [ $took -le 200 ]; then
    ok "partition: create fails within its timeouts (${took}s), naming lab-n3"
    shown
else bad "partition (rc=$rc, ${took}s)"; fi
ip -n m3fs-lab-br link set n3 up
wait_until 100 on 3 true
create_ok "partition healed"

# --- the other signal; a node rebooted mid-create -----------------------------
# The reboot: lab-n2's dockerd (its containers die) and sshd (with every
# connection) stopped while meta starts on it, then started again as
# scripts/lab/node.sh does at boot.
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1 || bad "destroy between the rounds"
create_sig TERM init-cluster 'mgmtd: initialise the cluster \(init-cluster\)'
# (the users' steps run while meta and storage start: before the reboot)
create_sig INT user-add 'users: create the root user with the minted admin token \(user-add\)'
"${CREATE[@]}" >"$W/out" 2>&1 &
pid=$!
if it_wait_out_re $pid '\] meta: start containers$' 2400; then
    node_down 2 || bad "reboot: could not stop lab-n2's daemons"
fi
finish $pid 300
if [ $rc -eq 1 ] && has_re "lab-n2: " && [ $took -le 200 ]; then
    ok "reboot: create fails within its timeouts (${took}s), naming lab-n2"
    shown
else bad "reboot: the run lab-n2 went away in (rc=$rc, ${took}s)"; fi
node_boot 2 || bad "reboot: could not start lab-n2's daemons"
create_sig TERM upload-chain-table '3fs: upload chain table 1 \(upload-chain-table\)'
create_ok "SIGTERM during upload-chain-table, after lab-n2's reboot"
n2=$(on 2 "docker ps --format '{{.Names}}'" | sort | tr '\n' ' ')
all=$(on 2 "docker ps -a --format '{{.Names}}'" | sort | tr '\n' ' ')
[ -n "$n2" ] && [ "$n2" = "$all" ] && ok "reboot: every container of lab-n2 runs again ($n2)" ||
    bad "reboot: n2 running '$n2', all '$all'"
echo "note: create part took $((SECONDS - t_create))s; from lab up $((SECONDS - T_LAB))s"

it_done test_faults
exit
}
