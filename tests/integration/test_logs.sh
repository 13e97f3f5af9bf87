#!/bin/bash
# Integration test of `m3fs cluster logs` on a 3-node lab (scripts/lab.sh:
# fdb, clickhouse, monitor on lab-n1; mgmtd and meta on lab-n1 and lab-n2;
# storage on all three; the FUSE client on lab-n3) running the stand-in
# images, created with a ClickHouse password and a node password of its own:
#   * the archive opens, index.json lists every part of every node (each
#     container's logs and inspect, the 3FS log files and configs, kernel
#     messages, admin_cli's lists, fdb status json, cluster.yml, the state
#     file) and each listed entry is in it with its size;
#   * no configured secret is anywhere in it (ClickHouse password raw and
#     as TOML writes it, the node password, the admin token of the state
#     file and of the nodes' token.txt);
#   * --node, --role, --since (an old log file left out) filter;
#   * a node whose sshd is stopped is recorded unreachable, not fatal;
#   * an existing archive is kept without --force; SIGINT leaves no file.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=tail
it_init
"$M" cluster logs --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster logs'"
it_workdir logs
it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml
CH_PW='Ch-s3cret"&x'
NODE_PW='Node-pw-9q7'
python3 - "$CFG" "$CH_PW" "$NODE_PW" <<'PY' || { echo "FAIL: cannot edit cluster.yml"; exit 1; }
import sys
path, ch, node = sys.argv[1:]
lines, out, where = open(path).read().splitlines(), [], None
for line in lines:
    out.append(line)
    if line.strip() == "- name: lab-n2":
        where = "n2"
    elif where == "n2" and line.strip() == "username: root":
        out.append("    password: '%s'" % node.replace("'", "''"))
        where = None
    elif line.strip() == "clickhouse:":
        out.append("    password: '%s'" % ch.replace("'", "''"))
open(path, "w").write("\n".join(out) + "\n")
PY

cr_images_loaded "$CFG"
mx cluster create -c "$CFG" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }
STATE=$M3FS_LAB_DIR/.m3fs/lab.state.json
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$STATE")
NODE_TOKEN=$(on 1 'cat /opt/3fs/mgmtd/config.d/token.txt')
[ -n "$TOKEN" ] && [ -n "$NODE_TOKEN" ] || { echo "FAIL: no admin token found"; exit 1; }
on 1 'touch -d "3 hours ago" /opt/3fs/meta/log/old-rotated.log' ||
    { echo "FAIL: cannot make an old log file"; exit 1; }

# logs ARCHIVE [OPTIONS]: run cluster logs into $W/ARCHIVE.tar.gz, output
# in $W/out, exit status in rc; extract it to $W/ARCHIVE/.
logs() {
    local name=$1
    shift
    rm -rf "${W:?}/$name"
    mx cluster logs -c "$CFG" -o "$W/$name.tar.gz" "$@" >"$W/out" 2>&1
    rc=$?
    mkdir -p "$W/$name"
    [ -f "$W/$name.tar.gz" ] && tar -xzf "$W/$name.tar.gz" -C "$W/$name"
}

# check ARCHIVE SCRIPT: run python SCRIPT with the archive's index as `ix`,
# its top dir as `top`; it asserts.
check() {
    python3 - "$W/$1/$1" "$2" <<'PY' >>"$W/out" 2>&1
import json, os, sys
top, script = sys.argv[1], sys.argv[2]
ix = json.load(open(os.path.join(top, "index.json")))
part = {p["path"]: p for p in ix["parts"] if p["path"]}
for p in ix["parts"]:
    if p["path"]:
        f = os.path.join(top, p["path"])
        assert os.path.getsize(f) == p["size"], (p["path"], "size differs from the index")
def nodes_in_archive():
    d = os.path.join(top, "nodes")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []
exec(script)
PY
}

# --- everything --------------------------------------------------------------------
t0=$(date +%s)
logs all
dt=$(($(date +%s) - t0))
if [ "$rc" -eq 0 ] && has "wrote $W/all.tar.gz: " && has "lab-n2: " && check all '
want = {"lab-n1": ["3fs-fdb", "3fs-clickhouse", "3fs-monitor", "3fs-mgmtd", "3fs-meta", "3fs-storage"],
        "lab-n2": ["3fs-mgmtd", "3fs-meta", "3fs-storage"], "lab-n3": ["3fs-storage", "3fs-client"]}
assert [n["status"] for n in ix["nodes"]] == ["ok"] * 3, ix["nodes"]
assert nodes_in_archive() == sorted(want)
for node, ctrs in want.items():
    for c in ctrs:
        for suffix in (".log", ".inspect.json"):
            p = part["nodes/%s/docker/%s%s" % (node, c, suffix)]
            assert p["status"] == "ok" and p["node"] == node, p
    ks = [p for p in ix["parts"] if p["node"] == node and p["what"].startswith("kernel")]
    assert len(ks) == 1, ks  # collected, or refused with the reason
    assert ks[0]["status"] == "ok" or ks[0]["error"], ks
for node, svc in [("lab-n1", "mgmtd"), ("lab-n1", "meta"), ("lab-n2", "meta"), ("lab-n3", "client"),
                  ("lab-n1", "storage"), ("lab-n3", "storage")]:
    logs_ = [k for k in part if k.startswith("nodes/%s/workdir/%s/log/" % (node, svc))]
    assert logs_ and all(part[k]["what"] == "log file" for k in logs_), (node, svc, logs_)
    assert "nodes/%s/workdir/%s/config.d/%s_main.toml" % (node, svc, "hf3fs_fuse" if svc == "client" else svc) in part
assert "nodes/lab-n1/workdir/meta/log/old-rotated.log" in part
assert "nodes/lab-n1/workdir/clickhouse/clickhouse.env" in part
assert "nodes/lab-n1/workdir/monitor/etc/monitor_collector_main.toml" in part
assert "nodes/lab-n1/workdir/fdb/logs" in " ".join(part)
for k in ("cluster/admin_cli-list-nodes.txt", "cluster/admin_cli-list-targets.txt",
          "cluster/admin_cli-list-chains.txt", "cluster/fdb-status.json", "local/cluster.yml",
          "local/state.json"):
    assert part[k]["status"] == "ok", part[k]
assert "HEARTBEAT_CONNECTED" in open(os.path.join(top, "cluster/admin_cli-list-nodes.txt")).read()
json.load(open(os.path.join(top, "cluster/fdb-status.json")))
tok = [p for p in ix["parts"] if p["source"].endswith("token.txt")]
assert tok and all(p["status"] == "skipped" and not p["path"] for p in tok), tok
env = open(os.path.join(top, "nodes/lab-n1/workdir/clickhouse/clickhouse.env")).read()
assert "CLICKHOUSE_PASSWORD=******" in env, env
' && [ -z "$(find "$W/all" -name token.txt)" ]; then
    ok "the archive holds every part of every node and index.json lists them ($dt s)"
else bad "the whole archive (rc=$rc)"; fi

# Every configured secret, in every form it is written in, nowhere.
leaks=
for s in "$CH_PW" 'Ch-s3cret\"&x' 'Ch-s3cret&quot;&amp;x' "$NODE_PW" "$TOKEN" "$NODE_TOKEN"; do
    grep -rqaF -- "$s" "$W/all" && leaks+=" [$s]"
    zcat "$W/all.tar.gz" | grep -qaF -- "$s" && leaks+=" [$s in the tar]"
done
if [ -z "$leaks" ] && grep -rqF '******' "$W/all"; then
    ok "no configured secret in the archive (ClickHouse and node passwords, admin token)"
else bad "secrets in the archive:$leaks"; fi

# --- filters -------------------------------------------------------------------------
logs n2 --node lab-n2
if [ "$rc" -eq 0 ] && check n2 '
assert nodes_in_archive() == ["lab-n2"] and [n["name"] for n in ix["nodes"]] == ["lab-n2"]
assert {p["node"] for p in ix["parts"] if p["path"] and p["path"].startswith("nodes/")} == {"lab-n2"}
assert "cluster/admin_cli-list-nodes.txt" in part
'; then ok "--node: only that node (and the cluster parts)"
else bad "--node (rc=$rc)"; fi

logs st --role storage
if [ "$rc" -eq 0 ] && check st '
assert nodes_in_archive() == ["lab-n1", "lab-n2", "lab-n3"]
docker = sorted(k.split("/")[-1] for k in part if "/docker/" in k)
assert docker == sorted(["3fs-storage.log", "3fs-storage.inspect.json"] * 3), docker
wd = [k for k in part if "/workdir/" in k]
assert wd and all(k.split("/")[3] == "storage" for k in wd), wd
'; then ok "--role storage: the storage nodes, only storage parts"
else bad "--role (rc=$rc)"; fi

logs since --node lab-n1 --since 30m
if [ "$rc" -eq 0 ] && check since '
assert "nodes/lab-n1/workdir/meta/log/old-rotated.log" not in part
assert any(k.startswith("nodes/lab-n1/workdir/meta/log/") for k in part)
assert "--since 1800s" in part["nodes/lab-n1/docker/3fs-meta.log"]["source"]
assert "nodes/lab-n1/workdir/meta/config.d/meta_main.toml" in part  # configs whatever their age
assert ix["since_seconds"] == 1800
'; then ok "--since 30m: container logs --since, old log files left out, configs kept"
else bad "--since (rc=$rc)"; fi

# --- an existing archive, --force ----------------------------------------------------------
sum0=$(sha256sum "$W/n2.tar.gz")
mx cluster logs -c "$CFG" --node lab-n2 -o "$W/n2.tar.gz" >"$W/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && has "exists; use --force" && [ "$(sha256sum "$W/n2.tar.gz")" = "$sum0" ]; then
    ok "an existing archive is not overwritten without --force"
else bad "overwrite refused (rc=$rc)"; fi
mx cluster logs -c "$CFG" --node lab-n3 -o "$W/n2.tar.gz" --force >"$W/out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && tar -tzf "$W/n2.tar.gz" | grep -q '^n2/nodes/lab-n3/'; then
    ok "--force replaces it"
else bad "--force (rc=$rc)"; fi
(cd "$W" && mx cluster logs -c "$CFG" --node lab-n3 --role client >"$W/out" 2>&1)
rc=$?
def=$(cd "$W" && ls m3fs-logs-lab-*.tar.gz 2>/dev/null)
if [ "$rc" -eq 0 ] && [[ "$def" =~ ^m3fs-logs-lab-[0-9]{8}T[0-9]{6}Z\.tar\.gz$ ]]; then
    ok "default name $def"
else bad "default name (rc=$rc, '$def')"; fi

# --- a node whose sshd is stopped --------------------------------------------------------
# SIGSTOP: the kernel accepts the connection, nobody answers (the slow case).
sshd=$(sed -n 's/^sshd=//p' "$M3FS_LAB_DIR/nodes/n3/pids")
kill -STOP "$sshd"
t0=$(date +%s)
export M3FS_CONNECT_TIMEOUT=3
logs un
dt=$(($(date +%s) - t0))
if [ "$rc" -eq 0 ] && has "lab-n3: unreachable" && has "1 node unreachable" && check un '
assert [n["status"] for n in ix["nodes"]] == ["ok", "ok", "unreachable"], ix["nodes"]
assert ix["nodes"][2]["error"]
assert nodes_in_archive() == ["lab-n1", "lab-n2"]
assert part["cluster/admin_cli-list-nodes.txt"]["status"] == "ok"
'; then ok "an unreachable node is recorded in index.json, the rest collected ($dt s)"
else bad "unreachable node (rc=$rc)"; fi
mx cluster logs -c "$CFG" --node lab-n3 -o "$W/none.tar.gz" >"$W/out" 2>&1
rc=$?
unset M3FS_CONNECT_TIMEOUT
kill -CONT "$sshd"
if [ "$rc" -eq 1 ] && [ -f "$W/none.tar.gz" ] && has "no selected node could be reached"; then
    ok "nothing reachable: exit 1, the archive says why"
else bad "nothing reachable (rc=$rc)"; fi

# --- SIGINT while a node hangs: no archive, no partial file --------------------------------
kill -STOP "$sshd"
M3FS_CONNECT_TIMEOUT=60 "$M" --known-hosts "$KH" cluster logs -c "$CFG" -o "$W/int.tar.gz" >"$W/out" 2>&1 &
pid=$!
it_wait_out $pid "lab-n2: " 300
kill -INT $pid
wait $pid
rc=$?
kill -CONT "$sshd"
if [ "$rc" -eq 130 ] && [ ! -e "$W/int.tar.gz" ] && [ -z "$(ls "$W" | grep partial)" ]; then
    ok "SIGINT: no archive and no partial file left"
else bad "SIGINT (rc=$rc): $(ls "$W")"; fi

it_done test_logs
