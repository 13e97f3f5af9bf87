#!/bin/bash
# Integration test of `m3fs cluster create` / `destroy` against a real 3-node
# lab (scripts/lab.sh) running the stand-in 3FS/FDB/ClickHouse images
# (tests/images/build.sh): --dry-run touches nothing; a create interrupted by
# SIGINT is finished by running it again; list-nodes shows every node
# HEARTBEAT_CONNECTED; every target is SERVING-UPTODATE; fuse.hf3fs is
# mounted on the client node; secrets stay out of argv and are 0600; a second
# create changes nothing; destroy asks first, removes everything, and is safe
# to run twice and on a half-created cluster.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
M=${M3FS_BIN:-$ROOT/build/m3fs}
. tests/integration/lib.sh
IT_SHOW_END=tail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (the lab creates namespaces and daemons)"
[ -x scripts/lab.sh ] || skip "scripts/lab.sh is missing"
[ -x "$M" ] || skip "m3fs binary not found at $M (set M3FS_BIN)"
"$M" cluster create --help >/dev/null 2>&1 || skip "this m3fs has no 'cluster create'"

W=$(mktemp -d /var/tmp/m3fs-test-create.XXXXXX)
export M3FS_LAB_DIR=$W/lab
pass=0 fail=0
cleanup() {
    scripts/lab.sh down >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT

bash tests/images/build.sh "$W/img" >"$W/img.log" 2>&1 ||
    { tail -20 "$W/img.log"; echo "FAIL: could not build the stand-in images"; exit 1; }
scripts/lab.sh up 3 --wait "${M3FS_LAB_WAIT:-900}" >"$W/lab.log" 2>&1 || { cat "$W/lab.log"; echo "FAIL: lab up"; exit 1; }
KH=$M3FS_LAB_DIR/known_hosts
CFG=$M3FS_LAB_DIR/cluster.yml

# The user's path to loaded images: serve the artifacts over HTTP, download
# them into a bundle, and let `cluster prepare` distribute and load them.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$W/img" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
"$M" artifact download -c "$CFG" --base-url "http://127.0.0.1:$port" -t "$W/cache" \
    -o "$W/bundle.tar" >"$W/dl.log" 2>&1 || { cat "$W/dl.log"; echo "FAIL: artifact download"; exit 1; }
"$M" --known-hosts "$KH" cluster prepare -c "$CFG" -a "$W/bundle.tar" >"$W/prep.log" 2>&1 ||
    { cat "$W/prep.log"; echo "FAIL: cluster prepare"; exit 1; }

STATE=$M3FS_LAB_DIR/.m3fs/lab.state.json
containers() { for i in 1 2 3; do on "$i" 'docker ps -aq --no-trunc | sort'; done; }

# --- dry-run ------------------------------------------------------------------
mx cluster create -c "$CFG" --dry-run >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "[1] node: mark the workDir" && has "[2] fdb: start containers" &&
    has "init-cluster --mgmtd" &&
    has "| passwd = ******" && has "| CLICKHOUSE_PASSWORD=******" && has "| [server.monitor_collector.reporter.clickhouse]" &&
    ! has "content not shown" && has "create 48 storage targets" &&
    [ ! -e "$STATE" ] && [ -z "$(containers)" ]; then
    ok "dry-run prints the plan, secret files with their secrets masked, and touches nothing"
else bad "dry-run (rc=$rc)"; fi

# --- create, interrupted by SIGINT, then resumed ---------------------------------
"$M" --known-hosts "$KH" cluster create -c "$CFG" >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid 'mgmtd: start containers'
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 1 ] && has "interrupted; run the same command again to resume" &&
    ! has "users: create the root user"; then
    ok "SIGINT stops the run (exit 1, resume hint)"
else bad "SIGINT (rc=$rc)"; fi

t0=$(date +%s)
mx cluster create -c "$CFG" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3FS cluster 'lab' is ready" && has "already done (state file)" &&
    has "3FS is mounted at /mnt/3fs on: lab-n3"; then
    ok "create resumes and finishes ($(($(date +%s) - t0)) s)"
else bad "create after SIGINT (rc=$rc)"; fi
# create ends with the quick fio benchmark on the client node: a table, and
# the fio JSON saved beside cluster.yml and parsed.
json=$(ls "$M3FS_LAB_DIR"/.m3fs/lab.bench-*/lab-n3-rand-read-4k.json 2>/dev/null | head -1)
if has "fio benchmark (quick profile" && has "1 MiB sequential write" &&
    has "4 KiB random read" && [ -n "$json" ] &&
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["jobs"][0]["read"]["iops"] > 0' "$json"; then
    ok "benchmark table printed and fio JSON saved ($json)"
else bad "benchmark at the end of create"; fi

on 1 /opt/3fs/admin_cli.sh list-nodes >"$W/out" 2>&1
n=$(grep -cE '^(100|101|10001|10002|10003) .*HEARTBEAT_CONNECTED' "$W/out")
[ "$n" -eq 5 ] && grep -q PRIMARY_MGMTD "$W/out" && ok "list-nodes: meta and storage HEARTBEAT_CONNECTED" ||
    bad "list-nodes ($n of 5 connected)"
on 1 /opt/3fs/admin_cli.sh list-targets >"$W/out" 2>&1
n=$(awk '$4 == "SERVING" && $5 == "UPTODATE"' "$W/out" | wc -l)
[ "$n" -eq 48 ] && ok "all 48 targets SERVING-UPTODATE" || bad "targets serving: $n of 48"
on 3 'awk '\''$2 == "/mnt/3fs" && $3 == "fuse.hf3fs"'\'' /proc/mounts' >"$W/out" 2>&1
has "fuse.hf3fs" && ok "fuse.hf3fs mounted at /mnt/3fs on lab-n3" || bad "no fuse.hf3fs mount"
on 3 'echo hello-3fs >/mnt/3fs/t && cat /mnt/3fs/t' >"$W/out" 2>&1
has hello-3fs && ok "write and read through the mount" || bad "I/O through the mount"

# --- secrets -------------------------------------------------------------------
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$STATE" 2>/dev/null)
modes=$(stat -c %a "$STATE"; on 3 'stat -c %a /opt/3fs/client/config.d/token.txt';
    on 1 'stat -c %a /opt/3fs/mgmtd/config.d/token.txt /opt/3fs/clickhouse/clickhouse.env /opt/3fs/monitor/etc/monitor_collector_main.toml')
if [ -n "$tok" ] && [ "$(echo $modes)" = "600 600 600 600 600" ] &&
    ! grep -qF -- "$tok" "$M3FS_LAB_DIR"/nodes/n*/docker-argv.log &&
    ! grep -qF -- "CLICKHOUSE_PASSWORD" "$M3FS_LAB_DIR"/nodes/n*/docker-argv.log &&
    grep -qF -- "--env-file" "$M3FS_LAB_DIR"/nodes/n1/docker-argv.log &&
    ! grep -rqF -- "$tok" "$W"/*.log; then
    ok "token and passwords: files 0600, never in a docker command line"
else bad "secrets (modes: $(echo $modes))"; fi

# --- a second create changes nothing ---------------------------------------------
before=$(containers)
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
after=$(containers)
if [ $rc -eq 0 ] && has "(0 actions ran," && has "every step's check passed: nothing to do" &&
    [ "$before" = "$after" ] && [ -n "$before" ]; then
    ok "second create changes nothing (one pass of every check)"
else bad "second create (rc=$rc)"; fi
# The nothing-to-do pass is no rubber stamp: a config file changed on a node
# and a stopped container are found, and the plan puts them right.
on 2 'echo "# changed by hand" >>/opt/3fs/meta/config.d/meta_main.toml && docker stop 3fs-storage' \
    >/dev/null 2>&1
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "running the plan: step" && has "is not in place" &&
    ! has "every step's check passed" && has_re "meta: write config files: [1-9][0-9]* changed" &&
    has_re "storage: start containers: [1-9][0-9]* changed" &&
    ! on 2 'grep -q "changed by hand" /opt/3fs/meta/config.d/meta_main.toml'; then
    ok "a changed file and a stopped container are found and put right"
else bad "create after a hand change (rc=$rc)"; fi

# --- a crash loop on a storage node stops the heartbeat wait at once -------------
# Its main config, replaced by one with a misspelt key: set-config stores it
# unchecked, and storage refuses it only when it starts (contract B5).
main=/opt/3fs/mgmtd/config.d/main
cli="docker exec 3fs-mgmtd /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml"
if on 1 "sed 's/^target_paths =/target_pathz =/' $main/storage_main.toml >$main/bad_storage.toml &&
        $cli 'set-config --type STORAGE --file /opt/3fs/etc/main/bad_storage.toml'" >"$W/out" 2>&1 &&
    on 3 'docker restart -t 5 3fs-storage' >>"$W/out" 2>&1; then
    ok "set-config stores a storage config with a misspelt key (unchecked)"
else bad "set-config of a bad storage config"; fi
# until mgmtd no longer counts lab-n3's storage (10003) as connected: its
# heartbeat_fail_interval (60 s) checked every check_status_interval (10 s)
for _ in $(seq 100); do
    on 1 /opt/3fs/admin_cli.sh list-nodes 2>/dev/null | grep -qE '^10003 .*HEARTBEAT_CONNECTED' || break
    sleep 1
done
t0=$(date +%s)
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$? dt=$(($(date +%s) - t0))
if [ $rc -eq 1 ] && has "HEARTBEAT_CONNECTED in list-nodes' failed" &&
    has "container 3fs-storage keeps restarting" && has "target_pathz" &&
    has "hint: a 3FS service keeps failing at start" && [ $dt -lt 90 ]; then
    ok "a storage crash loop on another node stops the heartbeat wait at once, with its log ($dt s)"
else bad "storage crash loop (rc=$rc, $dt s)"; fi
# m3fs's own config back: storage recovers at its next restart, create finishes
on 1 "$cli 'set-config --type STORAGE --file /opt/3fs/etc/main/storage_main.toml' && rm -f $main/bad_storage.toml" >"$W/out" 2>&1 &&
    on 3 'docker restart -t 5 3fs-storage' >>"$W/out" 2>&1
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
after=$(containers)
[ $rc -eq 0 ] && has "3FS cluster 'lab' is ready" && ok "create after the config is fixed" ||
    bad "create after the storage config was fixed (rc=$rc)"

# --- destroy ---------------------------------------------------------------------
echo no | mx cluster destroy -c "$CFG" >"$W/out" 2>&1
rc=$?
[ $rc -eq 1 ] && has "ALL DATA" && [ "$(containers)" = "$after" ] &&
    ok "destroy asks and does nothing without the cluster name" || bad "destroy prompt (rc=$rc)"
# What the cluster left on the nodes.  Without --all, destroy keeps what
# `cluster prepare` installed: the loaded images and their markers in
# /opt/3fs/images.
left() {
    for i in 1 2 3; do
        on "$i" 'docker ps -aq; ls -A /opt/3fs 2>/dev/null | grep -vx -e images -e .m3fs-cluster; grep fuse.hf3fs /proc/mounts'
    done
}
# ... and with --all, nothing at all: no images, no workDir.
left_all() {
    for i in 1 2 3; do
        on "$i" 'docker ps -aq; docker images -q; ls -d /opt/3fs 2>/dev/null; grep fuse.hf3fs /proc/mounts'
    done
}
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ -z "$(left)" ] && [ ! -e "$STATE" ] && ok "destroy leaves nothing behind" ||
    bad "destroy (rc=$rc): left: $(left | head -5)"
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
[ $rc -eq 0 ] && has "(0 actions ran," && ok "destroy is safe to run twice" || bad "second destroy (rc=$rc)"

# --- mgmtd without allow_heartbeat_from_unregistered (contract B1) ---------------
# A create stopped once mgmtd runs; then mgmtd is given a config with the
# setting false (set-config, hot-updated), its default, as a cluster made
# before m3fs wrote it has.  (A hot update keeps the value of a key its text
# leaves out: upstream ConfigBase::update walks the text's keys only.)  meta
# and storage have never sent a heartbeat, so they are not registered: the
# next create fails at the heartbeat wait and names the cause.
"$M" --known-hosts "$KH" cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid 'mgmtd: start containers'
kill -INT $pid 2>/dev/null
wait $pid
cli="docker exec 3fs-mgmtd /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml"
for _ in $(seq 60); do
    on 1 "$cli list-nodes" 2>/dev/null | grep -q PRIMARY_MGMTD && break
    sleep 1
done
nf=/opt/3fs/mgmtd/config.d/noflag.toml
if on 1 "sed 's/^allow_heartbeat_from_unregistered = true$/allow_heartbeat_from_unregistered = false/' \
            /opt/3fs/mgmtd/config.d/mgmtd_main.toml >$nf &&
        grep -q '^allow_heartbeat_from_unregistered = false$' $nf &&
        $cli 'set-config --type MGMTD --file /opt/3fs/etc/noflag.toml'" >"$W/out" 2>&1; then
    ok "mgmtd given a config with allow_heartbeat_from_unregistered = false"
else bad "set-config --type MGMTD with the setting false"; fi
t0=$(date +%s)
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$? dt=$(($(date +%s) - t0))
if [ $rc -eq 1 ] && has "set-config --type MGMTD): already done (state file)" &&
    has "HEARTBEAT_CONNECTED in list-nodes' failed" && has "not registered" &&
    has "hint: mgmtd refuses heartbeats from node ids that are not registered" &&
    has "allow_heartbeat_from_unregistered = true" && ! has "keeps restarting" && [ $dt -lt 150 ]; then
    ok "without the setting the heartbeat wait stops with the refusals and names the cause ($dt s)"
else bad "create with mgmtd refusing unregistered nodes (rc=$rc, $dt s)"; fi
# The same running mgmtd takes the setting from create (a hot update) once the
# state file does not say m3fs uploaded its mgmtd_main.toml (as with a state
# file from an m3fs that never did): meta and storage then connect, unrestarted.
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); del j["done"]["set-config MGMTD"]
json.dump(j, open(sys.argv[1], "w"))' "$STATE"
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "upload the mgmtd main config (set-config --type MGMTD): 1 changed" &&
    has "HEARTBEAT_CONNECTED in list-nodes: ready" && has "3FS cluster 'lab' is ready"; then
    ok "create uploads mgmtd_main.toml again (set-config --type MGMTD) and the cluster comes up"
else bad "set-config --type MGMTD on a running mgmtd (rc=$rc)"; fi
on 1 "rm -f $nf"
cp -p "$STATE" "$W/state.kept"
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1 || bad "destroy after the B1 test"

# --- the nodes' data gone without m3fs (as destroy leaves them), the state file kept:
# fdb says "Database created", so create forgets the one-time records after it.
cp -p "$W/state.kept" "$STATE"
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has '"Database created": what it made is new' &&
    ! has "init-cluster): already done (state file)" &&
    has "(init-cluster): 1 changed" && has "3FS cluster 'lab' is ready"; then
    ok "a stale state file on a new database: init-cluster and set-config run again"
else bad "create with a stale state file on a new database (rc=$rc)"; fi
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1 || bad "destroy after the stale state test"

# --- destroy a half-created cluster ------------------------------------------------
"$M" --known-hosts "$KH" cluster create -c "$CFG" >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid 'mgmtd: start containers'
kill -INT $pid 2>/dev/null
wait $pid
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ -z "$(left)" ] && ok "destroy of a half-created cluster" || bad "half destroy (rc=$rc)"

# --- destroy --all: the nodes as they were before prepare -------------------------
mx cluster destroy -c "$CFG" --all --yes >"$W/out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ -z "$(left_all)" ] && ok "destroy --all removes images and the workDir" ||
    bad "destroy --all (rc=$rc): left: $(left_all | head -5)"

echo "test_create: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
