#!/bin/bash
# Integration test of issue 20's findings on a 3-node lab (scripts/lab.sh)
# with the stand-in images:
#   F2  the root admin token is in no process's argv on any node while
#       `cluster create` runs (every /proc/*/cmdline of this machine, which
#       holds the lab's nodes, read over and over).
#   F6  a second create, and a stop, while one runs are refused (the lock,
#       naming its pid, command and host);
#       SIGTERM right after init-cluster stops the run like Ctrl-C and the
#       rerun finishes; a run that lost init-cluster or user-add mid-way (the
#       state file's "started" mark without "done", as SIGKILL or an SSH
#       drop leaves it) is finished by the rerun.
#   F7  with no password in cluster.yml ClickHouse gets the state file's
#       random one (the monitor too); the default "password" is refused.
#   F3  destroy deletes nothing under a workDir without this cluster's
#       marker, nor under a system directory.
#   clients get a token of their own (a 3FS user that is not an admin), not
#       the admin token; every container carries m3fs.cluster=lab, and a
#       same-named container without it is neither replaced nor removed.
#   and m3fs's SSH connections carry a TCP keepalive timer.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib-create.sh
it_init
"$M" cluster create --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster create'"
it_workdir trust
it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml
STATE=$M3FS_LAB_DIR/.m3fs/lab.state.json
cr_images_loaded "$CFG"

# Reads every /proc/*/cmdline until the file STOP exists; once the state file
# holds the token, prints "hit <cmdline>" for each process whose argv holds
# it, and at the end "scans N admin_cli M" (M: scans that saw an admin_cli
# process, so the scan demonstrably saw the commands that need the token).
argv_watch() {
    python3 - "$STATE" "$1" <<'EOF'
import glob, json, os, sys, time
state, stop = sys.argv[1], sys.argv[2]
tok, scans, seen, hits = None, 0, 0, set()
while not os.path.exists(stop):
    if tok is None:
        try:
            tok = json.load(open(state))["token"].encode()
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
            continue
    scans += 1
    cli = False
    for f in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = open(f, "rb").read()
        except OSError:
            continue
        cli = cli or b"admin_cli" in argv
        if tok in argv:
            hits.add(argv.replace(b"\0", b" ").replace(tok, b"<TOKEN>").decode(errors="replace"))
    seen += cli
    time.sleep(0.02)
for h in sorted(hits):
    print("hit", h[:300])
print("scans", scans, "admin_cli", seen)
EOF
}

# --- F2 + F6: create watched for the token in argv; a second create; SIGTERM ---
argv_watch "$W/stop" >"$W/argv.log" 2>&1 &
watcher=$!
"$M" --known-hosts "$KH" cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid '[2/' 1200
mx cluster create -c "$CFG" --skip-bench >"$W/out2" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -qF "another m3fs (pid $pid) holds its lock $M3FS_LAB_DIR/.m3fs/lab.lock" "$W/out2"; then
    ok "F6: a second create on the cluster is refused, naming the lock and the holder's pid"
else bad "F6: second create at once (rc=$rc): $(cat "$W/out2")"; fi
mx cluster stop -c "$CFG" >"$W/out2" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -qF "another m3fs (pid $pid) holds its lock $M3FS_LAB_DIR/.m3fs/lab.lock (\`m3fs cluster create\` on host " "$W/out2" &&
    grep -qF "nothing was changed" "$W/out2"; then
    ok "F6: a stop while create runs is refused at once, naming the holder's pid, command and host"
else bad "F6: stop while create runs (rc=$rc): $(cat "$W/out2")"; fi
it_wait_out $pid 'initialise the cluster (init-cluster): 1 changed' 1800
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 1 ] && has "interrupted; run the same command again to resume" &&
    python3 -c 'import json,sys; assert "init-cluster" in json.load(open(sys.argv[1]))["done"]' "$STATE"; then
    ok "F6: SIGTERM after init-cluster stops the run like Ctrl-C, init-cluster recorded"
else bad "F6: SIGTERM (rc=$rc)"; fi
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
touch "$W/stop"
wait $watcher
[ $rc -eq 0 ] && has "3FS cluster 'lab' is ready" && ok "F6: the rerun after SIGTERM finishes" ||
    bad "F6: rerun after SIGTERM (rc=$rc)"
read -r _ scans _ seen < <(grep '^scans' "$W/argv.log")
if ! grep -q '^hit' "$W/argv.log" && [ "${seen:-0}" -gt 3 ]; then
    ok "F2: the admin token is in no argv during create ($scans scans, $seen saw admin_cli)"
else
    bad "F2: token in argv: $(head -5 "$W/argv.log")"
fi
on 1 'stat -c %a /opt/3fs/mgmtd/config.d/admin_cli_root.toml' >"$W/out" 2>&1
has 600 && ok "F2: admin_cli_root.toml is 0600" || bad "F2: admin_cli_root.toml mode"
on 1 /opt/3fs/admin_cli.sh list-nodes >"$W/out" 2>&1
has PRIMARY_MGMTD && ok "F2: admin_cli.sh works with the token from its file" || bad "F2: admin_cli.sh"

# --- F6: init-cluster and user-add lost mid-way -------------------------------------
# What SIGKILL or an SSH drop leaves: the step ran on the node, the state file
# says it started but not that it is done.
python3 - "$STATE" <<'EOF2'
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("init-cluster", "user-add"):
    s["done"].pop(k)
s.setdefault("started", {})["init-cluster"] = "2026-01-01T00:00:00Z"
json.dump(s, open(sys.argv[1], "w"))
EOF2
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3FS cluster 'lab' is ready" &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {"init-cluster","user-add"} <= set(d["done"]) and not d.get("started")' "$STATE"; then
    ok "F6: a rerun after init-cluster and user-add were lost mid-way finishes"
else bad "F6: rerun after lost run-once steps (rc=$rc)"; fi

# --- F7: ClickHouse's password ------------------------------------------------------
pw=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clickhouse_password"])' "$STATE" 2>/dev/null)
ch=$(on 1 "docker ps --format '{{.Names}}' | grep clickhouse" 2>/dev/null)
if [ ${#pw} -ge 16 ] && [ "$pw" != password ] &&
    on 1 "grep -qx 'CLICKHOUSE_PASSWORD=$pw' /opt/3fs/clickhouse/clickhouse.env &&
          grep -qF 'passwd = \"$pw\"' /opt/3fs/monitor/etc/monitor_collector_main.toml" &&
    on 1 "docker exec $ch clickhouse-client --port 8999 --password '$pw' --query 'SELECT 1'" >/dev/null 2>&1 &&
    on 1 "docker exec $ch clickhouse-client --port 8999 --password password --query 'SELECT 1'" 2>&1 |
    grep -q "Authentication failed"; then
    ok "F7: ClickHouse and the monitor use the state file's random password; 'password' is refused"
else bad "F7: ClickHouse password (${#pw} chars, container $ch)"; fi

# --- the FUSE client's token is not the admin token ---------------------------------
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$STATE" 2>/dev/null)
ctok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_token"])' "$STATE" 2>/dev/null)
if [ -n "$ctok" ] && [ "$ctok" != "$tok" ] &&
    on 3 "test \"\$(cat /opt/3fs/client/config.d/token.txt)\" = '$ctok' && stat -c %a /opt/3fs/client/config.d/token.txt | grep -qx 600" &&
    on 3 "! grep -rqF '$tok' /opt/3fs/client" &&
    on 3 'mountpoint -q /mnt/3fs && echo hi >/mnt/3fs/trust-client && cat /mnt/3fs/trust-client' >/dev/null 2>&1 &&
    on 1 "/opt/3fs/admin_cli.sh 'user-stat 100000'" >"$W/out" 2>&1 && grep -q 'IsAdmin.*false' "$W/out" &&
    grep -q 'Name.*m3fs-fuse' "$W/out"; then
    ok "the FUSE client has a token of its own (user 100000 m3fs-fuse, not admin), no admin token on the client node, and the mount works"
else bad "client token: $(cat "$W/out" 2>/dev/null | head -5)"; fi

# --- every container is labelled with the cluster ------------------------------------
labels=$(for i in 1 2 3; do on "$i" "docker ps -q | xargs -r docker inspect -f '{{.Name}} {{index .Config.Labels \"m3fs.cluster\"}}'"; done)
if [ -n "$labels" ] && ! grep -v ' lab$' <<<"$labels" | grep -q .; then
    ok "every container m3fs started carries m3fs.cluster=lab ($(wc -l <<<"$labels") containers)"
else bad "container labels: $labels"; fi

# --- SSH keepalive: m3fs's connection to a node carries a keepalive timer ----------
"$M" --known-hosts "$KH" cluster exec -c "$CFG" --node lab-n1 -- sleep 4 >/dev/null 2>&1 &
ep=$!
# m3fs's socket while the command runs (4 s), until it shows its timer
for _ in $(seq 40); do
    ss -tnpo state established '( dport = :22 )' 2>/dev/null | grep "pid=$ep," >"$W/out"
    has "keepalive" && break
    kill -0 $ep 2>/dev/null || break
    sleep 0.1
done
wait $ep
has "keepalive" && ok "SSH connections have TCP keepalive" || bad "no keepalive timer on m3fs's SSH socket"

# --- F3: destroy refuses a workDir that is not this cluster's -----------------------
containers() { for i in 1 2 3; do on "$i" 'docker ps -q | sort'; done; }
before=$(containers)
mx cluster destroy -c "$CFG" --all -w /var/lib --yes --dry-run >"$W/out" 2>&1
rc=$?
[ $rc -eq 1 ] && has "system directory" && ok "F3: destroy --all -w /var/lib is refused" ||
    bad "F3: -w /var/lib (rc=$rc)"
on 2 'mkdir -p /opt/other && echo keep >/opt/other/keep && mkdir -p /opt/other/fdb && echo keep >/opt/other/fdb/keep'
mx cluster destroy -c "$CFG" -w /opt/other --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "has no .m3fs-cluster naming cluster 'lab'" && has "nothing was deleted" &&
    on 2 'test -f /opt/other/keep && test -f /opt/other/fdb/keep' && [ "$(containers)" = "$before" ]; then
    ok "F3: destroy under a workDir without the marker is refused and deletes nothing"
else bad "F3: marker-less workDir (rc=$rc)"; fi
on 2 'rm -f /opt/3fs/.m3fs-cluster'
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "lab-n2" && [ "$(containers)" = "$before" ] && on 1 'test -d /opt/3fs/mgmtd'; then
    ok "F3: one node's workDir without the marker: nothing deleted on any node"
else bad "F3: one node without the marker (rc=$rc)"; fi
on 2 'echo lab >/opt/3fs/.m3fs-cluster'
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -z "$(containers)" ] && ! on 1 'test -e /opt/3fs/mgmtd' &&
    on 2 'test -f /opt/3fs/.m3fs-cluster'; then
    ok "F3: with the marker back destroy removes the cluster (the marker stays with prepare's images)"
else bad "F3: destroy with the marker (rc=$rc)"; fi

# --- a same-named container that is not this cluster's is left alone ----------------
img=$(on 1 "docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -m1 foundationdb")
on 1 "docker run -d --name 3fs-fdb --label m3fs.cluster=other --entrypoint sh $img -c 'sleep 900'" >/dev/null 2>&1
foreign=$(on 1 "docker inspect -f '{{.Id}}' 3fs-fdb" 2>/dev/null)
mx cluster create -c "$CFG" --skip-bench >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && [ -n "$foreign" ] && has "container 3fs-fdb exists on this node but is not cluster lab's" &&
    has "lab-n1" && has "docker rm -f 3fs-fdb" &&
    [ "$(on 1 "docker inspect -f '{{.Id}} {{.State.Running}}' 3fs-fdb")" = "$foreign true" ]; then
    ok "create refuses to replace another cluster's container of the same name, naming node, container and the fix"
else bad "foreign container (rc=$rc, image $img): $(tail -5 "$W/out")"; fi
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "container 3fs-fdb exists on this node but is not cluster lab's" &&
    [ "$(on 1 "docker inspect -f '{{.Id}}' 3fs-fdb")" = "$foreign" ]; then
    ok "destroy refuses to remove another cluster's container of the same name"
else bad "destroy with a foreign container (rc=$rc): $(tail -5 "$W/out")"; fi
on 1 'docker rm -f 3fs-fdb' >/dev/null 2>&1
mx cluster destroy -c "$CFG" --yes >"$W/out" 2>&1 || bad "cleanup destroy: $(tail -3 "$W/out")"

it_done test_trust
