#!/bin/bash
# Integration test of `m3fs cluster status` and `cluster doctor` on a 3-node
# lab (scripts/lab.sh: fdb, clickhouse, monitor on lab-n1; mgmtd and meta on
# lab-n1 and lab-n2; storage on all three; the FUSE client on lab-n3)
# running the stand-in images.  A healthy cluster reads healthy (exit 0,
# also as JSON and under --watch); then each fault is made for real on the
# one cluster, status and doctor must name it, and the fault is undone
# until status reads healthy again:
#   a storage container stopped; a meta container crash-looping (a refused
#   launcher config); a target path's disk unmounted; the FUSE daemon
#   killed (a stale mount); a node's sshd stopped (unreachable); fdb stopped.
# lab-n2's data0 is a bind mount made before create, standing for a disk
# (the lab's storage uses diskType dir: the "mount point" check itself only
# applies to diskType nvme, but a missing target path applies to both).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=tail
it_init
"$M" cluster status --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster status'"
it_workdir status
it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml
DATA0=/opt/3fs/storage/3fsdata/data0
AIO=$(cat /proc/sys/fs/aio-max-nr)
trap 'echo "$AIO" >/proc/sys/fs/aio-max-nr 2>/dev/null; it_cleanup' EXIT

cr_images_loaded "$CFG"
on 2 "mkdir -p /opt/lab-disk0 $DATA0 && mount --bind /opt/lab-disk0 $DATA0" ||
    { echo "FAIL: could not bind-mount lab-n2's data0"; exit 1; }
mx cluster create -c "$CFG" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }

# status into $W/out; its exit status in rc and its run time (s) in dt.
st() {
    local t0
    t0=$(date +%s.%N)
    mx cluster status -c "$CFG" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}
doc() {
    mx cluster doctor -c "$CFG" >"$W/out" 2>"$W/err"
    rc=$?
}
# Poll status until its output has TEXT (at most $2 s, default 60).
until_has() {
    local end=$(($(date +%s) + ${2:-60}))
    while :; do
        st
        has "$1" && return 0
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 1
    done
}
healthy_again() {
    if until_has "cluster lab: healthy" "${2:-120}" && [ "$rc" -eq 0 ]; then
        ok "$1: status reads healthy again"
    else bad "$1: not healthy again (rc=$rc)"; fi
}

# --- healthy ---------------------------------------------------------------------
st
if [ "$rc" -eq 0 ] && has "cluster lab: healthy" &&
    has_re '^lab-n2 +storage +3fs-storage +running +0 ' && has_re '10002 HEARTBEAT_CONNECTED' &&
    has_re '^chains: +[0-9]+: [0-9]+ SERVING$' && has "fuse:        lab-n3 /mnt/3fs: mounted, answers" &&
    has_re '^fdb: +available \(on lab-n1\), redundancy single' && ! has "problems:"; then
    ok "a healthy cluster reads healthy (exit 0, $dt s)"
else bad "healthy status (rc=$rc)"; fi
st --json
if [ "$rc" -eq 0 ] && python3 - "$W/out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "m3fs.status/1" and j["health"] == "healthy" and j["problems"] == []
assert [n["name"] for n in j["nodes"]] == ["lab-n1", "lab-n2", "lab-n3"]
assert all(c["state"] == "running" for n in j["nodes"] for c in n["containers"])
assert j["mgmtd"]["chains"]["by_status"] == {"SERVING": j["mgmtd"]["chains"]["total"]}
assert j["fdb"]["available"] is True and j["clickhouse"]["reachable"] is True
assert j["nodes"][2]["fuse"][0]["answer"] == "ok"
PY
then ok "--json: schema m3fs.status/1, healthy"
else bad "--json (rc=$rc)"; fi

# --watch, not on a terminal: one view after another, ended by SIGINT (m3fs
# itself in the background, not a subshell: that would ignore SIGINT)
"$M" --known-hosts "$KH" cluster status -c "$CFG" --watch 1 >"$W/out" 2>&1 &
pid=$!
for _ in $(seq 150); do [ "$(grep -c '^cluster lab: ' "$W/out")" -ge 2 ] && break; sleep 0.1; done
kill -INT $pid
t0=$(date +%s)
wait $pid
rc=$?
if [ "$rc" -eq 0 ] && [ "$(grep -c '^cluster lab: healthy' "$W/out")" -ge 2 ] &&
    [ $(($(date +%s) - t0)) -le 10 ] && ! grep -q $'\033' "$W/out"; then
    ok "--watch repeats the view and ends cleanly on SIGINT"
else bad "--watch (rc=$rc)"; fi

# doctor on a healthy lab: only what this machine lacks.  fs.aio-max-nr is
# the host's (raised below); the lab's docker shim caps a container's
# open-files limit at the node's hard limit (docs/lab.md).
words() { sort | tr '\n' ' ' | sed 's/ $//'; }
doc_fails() { sed -n 's/^FAIL  //p' "$W/out" | words; }
lacks() {
    [ "$(cat /proc/sys/fs/aio-max-nr)" -lt 67108864 ] && echo aio-max-nr
    [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 1000000 ] && echo limits
}
doc
want=$(lacks | words)
[ "$(doc_fails)" = "$want" ] && { [ -n "$want" ] || [ "$rc" -eq 0 ]; } &&
    ok "doctor on a healthy lab finds only what this machine lacks: ${want:-nothing}" ||
    bad "doctor on a healthy lab: '$(doc_fails)', expected '$want' (rc=$rc)"
if echo 67108864 >/proc/sys/fs/aio-max-nr 2>/dev/null; then
    doc
    want=$(lacks | words)
    if [ -z "$want" ]; then
        [ "$rc" -eq 0 ] && has "no problems found" && ! has "FAIL" &&
            ok "doctor: no problems found (exit 0)" || bad "doctor with nothing lacking (rc=$rc)"
    else
        [ "$rc" -eq 1 ] && [ "$(doc_fails)" = "$want" ] && ! has "aio-max-nr on" &&
            ok "doctor after fs.aio-max-nr is raised: only '$want' left" ||
            bad "doctor with fs.aio-max-nr raised: '$(doc_fails)' (rc=$rc)"
    fi
else echo "note: cannot raise fs.aio-max-nr here"; fi

# --- a storage container stopped ------------------------------------------------
on 2 'docker stop -t 30 3fs-storage' >/dev/null
st
if [ "$rc" -eq 1 ] && has "cluster lab: degraded (storage container 3fs-storage on lab-n2 is exited" &&
    has_re '^lab-n2 +storage +3fs-storage +exited '; then
    ok "stopped storage container named ($dt s)"
else bad "stopped storage container (rc=$rc)"; fi
doc
has "FAIL  container-running" && has "degraded: storage container 3fs-storage on lab-n2 is exited" &&
    has "cause: the container was stopped" && ok "doctor: stopped storage container, cause and fix" ||
    bad "doctor: stopped storage container (rc=$rc)"
on 2 'docker start 3fs-storage' >/dev/null
healthy_again "storage started"

# --- a meta container in a crash loop --------------------------------------------
L=/opt/3fs/meta/config.d/meta_main_launcher.toml
on 2 "cp $L $L.good && printf 'misspelt_key = 1\n' >>$L && docker restart 3fs-meta" >/dev/null
if until_has "meta container 3fs-meta on lab-n2 keeps restarting" 60 && [ "$rc" -eq 1 ] &&
    has "problems:"; then
    ok "crash-looping meta container named"
else bad "crash-looping meta (rc=$rc)"; fi
doc
has "FAIL  container-crash-loop" && has "docker logs --tail 50 3fs-meta" &&
    ok "doctor: crash loop, with where to read why" || bad "doctor: crash loop (rc=$rc)"
on 2 "mv $L.good $L && docker restart 3fs-meta" >/dev/null
healthy_again "meta config restored" 150

# --- a target path's disk unmounted ---------------------------------------------------
on 2 "umount $DATA0"
st
if [ "$rc" -eq 1 ] && has "target path $DATA0/3fs on lab-n2 is missing" &&
    has "storage:     lab-n2 $DATA0/3fs: MISSING"; then
    ok "unmounted target path named"
else bad "unmounted target path (rc=$rc)"; fi
doc
has "FAIL  target-path" && has "cause: the disk of a storage target path is not mounted" &&
    ok "doctor: unmounted target path" || bad "doctor: target path (rc=$rc)"
on 2 "mount --bind /opt/lab-disk0 $DATA0"
healthy_again "disk mounted again"

# --- the FUSE daemon killed: a stale mount ---------------------------------------------
on 3 'kill -9 $(docker inspect -f "{{.State.Pid}}" 3fs-client)'
if until_has "the FUSE mount at /mnt/3fs on lab-n3 is stale" 30 && [ "$rc" -eq 1 ] &&
    has "fuse:        lab-n3 /mnt/3fs: STALE"; then
    ok "stale FUSE mount named"
else bad "stale FUSE mount (rc=$rc)"; fi
doc
has "FAIL  fuse-mount" && has "umount -l MOUNTPOINT" && ok "doctor: stale mount and its fix" ||
    bad "doctor: stale mount (rc=$rc)"
on 3 'umount -l /mnt/3fs; docker restart 3fs-client' >/dev/null
healthy_again "FUSE remounted"

# --- a node's sshd stopped: unreachable ---------------------------------------------
# SIGSTOP: connections are accepted by the kernel but never answered, the
# slow case (a refused connection fails at once).
sshd=$(sed -n 's/^sshd=//p' "$M3FS_LAB_DIR/nodes/n2/pids")
kill -STOP "$sshd"
st
kill -CONT "$sshd"
if [ "$rc" -eq 1 ] && has "lab-n2 is unreachable" && has_re '^lab-n2 +storage +3fs-storage +unreachable' &&
    has_re '^lab-n1 +mgmtd +3fs-mgmtd +running' && awk -v d="$dt" 'BEGIN { exit !(d < 15) }'; then
    ok "node with sshd stopped reported unreachable; the others still shown ($dt s)"
else bad "unreachable node (rc=$rc, $dt s)"; fi
healthy_again "sshd continued"

# --- fdb stopped ---------------------------------------------------------------------
on 1 'docker stop 3fs-fdb' >/dev/null
st
if [ "$rc" -eq 1 ] && has "cluster lab: down (" && has "fdb container 3fs-fdb on lab-n1 is exited" &&
    has_re '^  down +fdb: FoundationDB does not answer'; then
    ok "stopped fdb: down, named"
else bad "stopped fdb (rc=$rc)"; fi
doc
has "FAIL  fdb" && has "cause: FoundationDB is down" && ok "doctor: fdb" || bad "doctor: fdb (rc=$rc)"
on 1 'docker start 3fs-fdb' >/dev/null
healthy_again "fdb started" 150

it_done test_status
