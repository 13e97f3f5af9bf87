#!/bin/bash
# Tests of the stand-in 3FS/FoundationDB/ClickHouse images (tests/images,
# docs/stand-ins.md) on a two-node lab (scripts/lab.sh): hand-written good
# configs start and register across nodes; each kind of bad config fails with
# a clear message. Needs root; exits 77 (skip) otherwise.
set -uo pipefail

ROOT=${M3FS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LAB=$ROOT/scripts/lab.sh
GOOD=$ROOT/tests/images/testdata/good

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: test_images needs root (debootstrap, network namespaces, dockerd)"
    exit 77
fi
[ -x "$LAB" ] || { echo "SKIP: scripts/lab.sh is missing"; exit 77; }
for t in debootstrap ssh dockerd; do
    command -v "$t" >/dev/null || { echo "FAIL: $t missing; run scripts/install-deps.sh"; exit 1; }
done

# Shared with the lab nodes (their /tmp, /opt, /mnt are private).
WORK=$(mktemp -d /var/tmp/m3fs-images-test.XXXXXX)
export M3FS_LAB_DIR
M3FS_LAB_DIR=$(mktemp -d /var/tmp/m3fs-images-lab.XXXXXX)
S=(ssh -F "$M3FS_LAB_DIR/ssh_config")
IP1=198.18.0.11
IP2=198.18.0.12
I3FS=open3fs/3fs:20250410
IFDB=open3fs/foundationdb:7.3.63
ICH=open3fs/clickhouse:25.1-jammy
CLUSTER=stage
CH_PW='ch pw'
failures=0
passes=0

ok() { echo "ok: $*"; passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
cleanup() {
    "$LAB" down >/dev/null 2>&1
    umount "$WORK"/n*/mnt 2>/dev/null
    rm -rf "$WORK" "$M3FS_LAB_DIR"
}
trap cleanup EXIT

on() { # on NODE CMD... (argv quoted for the remote shell)
    local n=$1
    shift
    "${S[@]}" "lab-n$n" "$(printf '%q ' "$@")"
}

# --- images ---------------------------------------------------------------
t0=$SECONDS
if ! "$ROOT/tests/images/build.sh" "$WORK/artifacts" >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log"
    echo "FAIL: tests/images/build.sh"
    exit 1
fi
echo "images built/cached in $((SECONDS - t0)) s"
for f in "$WORK"/artifacts/*.docker; do
    (cd "$WORK/artifacts" && sha256sum -c --quiet "$(basename "$f").sha256sum") &&
        ok "checksum file of $(basename "$f")" || bad "checksum of $(basename "$f")"
done

if ! out=$("$LAB" up 2 --wait 900 2>&1); then
    echo "$out"
    echo "FAIL: scripts/lab.sh up 2"
    exit 1
fi
T0=$SECONDS
t0=$SECONDS
on 1 docker load -i "$WORK/artifacts/foundationdb_7.3.63_amd64.docker" >/dev/null &&
    on 1 docker load -i "$WORK/artifacts/clickhouse_25.1-jammy_amd64.docker" >/dev/null &&
    on 1 docker load -i "$WORK/artifacts/3fs_20250410_amd64.docker" >/dev/null &&
    on 2 docker load -i "$WORK/artifacts/3fs_20250410_amd64.docker" >/dev/null ||
    { echo "FAIL: docker load"; exit 1; }
echo "images loaded in $((SECONDS - t0)) s"

# --- per-node work dirs with the rendered good configs ----------------------
render() { # render SRC-DIR DEST-DIR NODE-ID
    mkdir -p "$2"
    local f
    for f in "$1"/*; do
        sed -e "s/@CLUSTER@/$CLUSTER/g; s/@IP1@/$IP1/g; s/@NODE_ID@/$3/g; s/@CH_PASSWORD@/$CH_PW/g" \
            "$f" >"$2/$(basename "$f")"
    done
    echo "standin:t3st1d@$IP1:4500" >"$2/fdb.cluster"
}
for n in 1 2; do
    W=$WORK/n$n
    render "$GOOD" "$W/etc" "1000$n"
    mkdir -p "$W/log" "$W/data/data0/3fs" "$W/data/data1/3fs" "$W/fdb/data" "$W/fdb/logs" \
        "$W/ch/data" "$W/ch/log" "$W/ch/config.d" "$W/ch/sql" "$W/mnt"
    cp "$W/etc/clickhouse-config.xml" "$W/ch/config.d/config.xml"
    cp "$W/etc/3fs-monitor.sql" "$W/ch/sql/"
done

# docker run arguments of a 3FS container, as m3fs uses them
svc_args() { # svc_args NODE ETC-DIR
    echo --network host -v "$2:/opt/3fs/etc" -v "$WORK/n$1/log:/var/log/3fs" \
        -v "$WORK/n$1/data:/mnt/3fsdata"
}
start_svc() { # start_svc NODE NAME ETC BINARY [ARGS...]
    local n=$1 name=$2 etc=$3 bin=$4
    shift 4
    # shellcheck disable=SC2046
    on "$n" docker run -d --name "$name" $(svc_args "$n" "$etc") "$I3FS" "/opt/3fs/bin/$bin" "$@" \
        >/dev/null
}
start_main() { # start_main NODE NAME ETC SVC_MAIN
    start_svc "$1" "$2" "$3" "$4" --launcher_cfg "/opt/3fs/etc/$4_launcher.toml" \
        --app_cfg "/opt/3fs/etc/$4_app.toml"
}
admin() { # admin NODE CMD...: admin_cli in a throw-away container
    # shellcheck disable=SC2046
    on "$1" docker run --rm $(svc_args "$1" "$WORK/n$1/etc") "$I3FS" /opt/3fs/bin/admin_cli \
        -cfg /opt/3fs/etc/admin_cli.toml "${@:2}"
}
# expect_fail DESC PATTERN NODE DOCKER-RUN-ARGS...: a foreground container must
# exit non-zero with PATTERN in its output.
expect_fail() {
    local what=$1 pat=$2 n=$3 out rc
    shift 3
    out=$(on "$n" timeout 60 docker run --name t-bad "$@" 2>&1)
    rc=$?
    on "$n" docker rm -f t-bad >/dev/null 2>&1
    if [ "$rc" -ne 0 ] && grep -qF -- "$pat" <<<"$out"; then
        ok "$what: $(grep -F -- "$pat" <<<"$out" | head -1 | cut -c1-150)"
    else
        bad "$what (exit $rc, expected '$pat'): $out"
    fi
}
expect_out() { # expect_out DESC PATTERN OUTPUT
    if grep -qF -- "$2" <<<"$3"; then ok "$1"; else bad "$1 (expected '$2'): $3"; fi
}
wait_for() { # wait_for SECONDS CMD...: retry CMD until it succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 1
    done
}
variant() { # variant NAME NODE SED-SCRIPT FILE: a copy of node's etc with FILE edited
    local d=$WORK/bad/$1
    rm -rf "$d"
    mkdir -p "$d"
    cp "$WORK/n$2/etc"/* "$d/"
    sed -i -e "$3" "$d/$4"
    echo "$d"
}
W1=$WORK/n1
W2=$WORK/n2

# --- FoundationDB -------------------------------------------------------------
on 1 docker run -d --name t-fdb --network host -e "FDB_CLUSTER_FILE_CONTENTS=$(cat "$W1/etc/fdb.cluster")" \
    -v "$W1/fdb/data:/var/fdb/data" -v "$W1/fdb/logs:/var/fdb/logs" "$IFDB" >/dev/null
fdbcli() { on 1 docker exec t-fdb fdbcli --exec "$1"; }
wait_for 20 on 1 docker exec t-fdb bash -c 'exec 3<>/dev/tcp/127.0.0.1/4500' 2>/dev/null
expect_out "fdb: status before configure is unavailable" "The database is unavailable" "$(fdbcli 'status minimal')"
out=$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")
expect_out "init-cluster fails while FDB is not configured" "FDB::Unavailable" "$out"
expect_out "fdb: configure new single ssd" "Database created" "$(fdbcli 'configure new single ssd')"
expect_out "fdb: repeat says Database already exists" "Database already exists" \
    "$(fdbcli 'configure new single ssd')"
expect_out "fdb: status minimal is available" "The database is available." "$(fdbcli 'status minimal')"

# --- ClickHouse + monitor -----------------------------------------------------
on 1 docker run -d --name t-ch --network host -e CLICKHOUSE_USER=default -e "CLICKHOUSE_PASSWORD=$CH_PW" \
    -v "$W1/ch/data:/var/lib/clickhouse" -v "$W1/ch/log:/var/log/clickhouse-server" \
    -v "$W1/ch/config.d:/etc/clickhouse-server/config.d" -v "$W1/ch/sql:/tmp/sql" "$ICH" >/dev/null
wait_for 20 on 1 docker exec t-ch bash -c 'exec 3<>/dev/tcp/127.0.0.1/8999' 2>/dev/null
on 1 docker exec t-ch bash -c "clickhouse-client --port 8999 -n < /tmp/sql/3fs-monitor.sql" &&
    ok "clickhouse: monitor schema loads" || bad "clickhouse: monitor schema"
out=$(on 1 docker exec t-ch clickhouse-client --port 8999 -q "SHOW TABLES FROM 3fs")
[ "$out" = $'counters\ndistributions' ] && ok "clickhouse: 3fs.counters and 3fs.distributions exist" ||
    bad "clickhouse tables: $out"
out=$(on 1 docker exec t-ch bash -c "echo 'CREATE TABLE 3fs.bad (a Int64) ENGINE = MergeTree ORDER BY b' |
    clickhouse-client --port 8999" 2>&1)
expect_out "clickhouse: SQL naming an unknown column is rejected" "UNKNOWN_IDENTIFIER" "$out"
out=$(on 1 docker exec t-ch bash -c "echo 'CREATE TABLE 3fs.bad (a Int64) ENGIN = MergeTree' |
    clickhouse-client --port 8999" 2>&1)
expect_out "clickhouse: SQL syntax error is rejected" "SYNTAX_ERROR" "$out"
out=$(on 1 docker exec t-ch bash -c "CLICKHOUSE_PASSWORD=wrong clickhouse-client --port 8999 -q 'SELECT 1'" 2>&1)
expect_out "clickhouse: wrong password is refused" "AUTHENTICATION_FAILED" "$out"
start_svc 1 t-mon "$W1/etc" monitor_collector_main --cfg /opt/3fs/etc/monitor_collector_main.toml
wait_for 10 grep -qs "connected to ClickHouse" "$W1/log/monitor_collector_main.log" &&
    ok "monitor_collector_main connects to ClickHouse" || bad "monitor: $(cat "$W1/log/monitor_collector_main.log")"
d=$(variant mon-pw 1 "s/^passwd = .*/passwd = 'nope'/" monitor_collector_main.toml)
expect_fail "monitor: wrong ClickHouse password" "Authentication failed" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/monitor_collector_main --cfg /opt/3fs/etc/monitor_collector_main.toml
d=$(variant mon-type 1 "s/^port = '8999'/port = 8999/" monitor_collector_main.toml)
expect_fail "monitor: clickhouse port must be a string" "must be a string" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/monitor_collector_main --cfg /opt/3fs/etc/monitor_collector_main.toml

# --- init-cluster, mgmtd ------------------------------------------------------
expect_out "init-cluster: chunk size must be a power of two" "not a power of two" \
    "$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1000000 2")"
d=$(variant mgmtd-syntax 1 "s/^level = 'INFO'/level = 'INFO/" mgmtd_main.toml)
expect_fail "init-cluster: TOML syntax error in mgmtd_main.toml" "TOML syntax error" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml \
    "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2"
expect_fail "mgmtd before init-cluster" "never initialised" 1 --rm --network host -v "$W1/etc:/opt/3fs/etc" \
    "$I3FS" /opt/3fs/bin/mgmtd_main --launcher_cfg /opt/3fs/etc/mgmtd_main_launcher.toml \
    --app_cfg /opt/3fs/etc/mgmtd_main_app.toml
expect_out "init-cluster" "Init config for MGMTD version 1" \
    "$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")"
expect_out "init-cluster re-run fails without --allow-config-existed" "already exists" \
    "$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")"
expect_out "init-cluster re-run with --allow-config-existed" "keep it" \
    "$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml --allow-config-existed 1 1048576 2")"
expect_out "list-nodes fails while mgmtd is down" "RoutingInfoNotReady" "$(admin 1 list-nodes)"
start_main 1 t-mgmtd "$W1/etc" mgmtd_main
nodes() { admin 1 list-nodes; }
primary() { nodes | grep -q PRIMARY_MGMTD; }
wait_for 15 primary &&
    ok "mgmtd is PRIMARY_MGMTD" || bad "mgmtd: $(nodes)"

# --- meta, storage (two nodes) ---------------------------------------------------
expect_fail "meta before set-config" "no META config" 1 --rm --network host -v "$W1/etc:/opt/3fs/etc" \
    "$I3FS" /opt/3fs/bin/meta_main --launcher_cfg /opt/3fs/etc/meta_main_launcher.toml \
    --app_cfg /opt/3fs/etc/meta_main_app.toml
d=$(variant st-syntax 1 "s/^enable_io_uring = false/enable_io_uring = fals/" storage_main.toml)
expect_fail "set-config: TOML syntax error in storage_main.toml" "TOML syntax error" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml \
    "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml"
d=$(variant st-typo 1 "s/^enable_io_uring = false/enable_io_urin = false/" storage_main.toml)
expect_fail "set-config: a misspelt key in storage_main.toml" "Invalid key: server.aio_read_worker.enable_io_urin" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml \
    "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml"
d=$(variant st-remote 1 "s/^remote_ip = .*/remote_ip = '$IP1:10000,$IP2:10000'/" storage_main.toml)
expect_fail "set-config: two monitor addresses in remote_ip" "expected one ip:port" 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml \
    "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml"
for t in META:meta_main STORAGE:storage_main FUSE:hf3fs_fuse_main; do
    expect_out "set-config --type ${t%%:*}" "ConfigVersion" \
        "$(admin 1 "set-config --type ${t%%:*} --file /opt/3fs/etc/${t#*:}.toml")"
done
start_main 1 t-meta "$W1/etc" meta_main
start_main 1 t-storage "$W1/etc" storage_main
start_main 2 t-storage "$W2/etc" storage_main
connected() { nodes | grep -E "^$1 .*HEARTBEAT_CONNECTED" >/dev/null; }
for id in 100 10001 10002; do
    wait_for 15 connected $id &&
        ok "node $id is HEARTBEAT_CONNECTED" || bad "node $id not connected: $(nodes)"
done
nodes

# bad launcher/app configs on node 2 (storage), each run in the foreground
badst() { # badst DESC PATTERN SED FILE
    local d
    d=$(variant "$(tr -c 'a-z0-9\n' - <<<"$1")" 2 "$3" "$4")
    # shellcheck disable=SC2046
    expect_fail "$1" "$2" 2 --rm $(svc_args 2 "$d") "$I3FS" /opt/3fs/bin/storage_main \
        --launcher_cfg /opt/3fs/etc/storage_main_launcher.toml --app_cfg /opt/3fs/etc/storage_main_app.toml
}
badst "storage: missing cluster_id" "required key 'cluster_id' is missing" '/^cluster_id/d' storage_main_launcher.toml
badst "storage: TOML syntax error in launcher" "TOML syntax error" "s/^cluster_id = 'stage'/cluster_id = 'stage/" \
    storage_main_launcher.toml
badst "storage: cluster_id of 32 characters" "must be shorter than 32" \
    "s/^cluster_id = .*/cluster_id = '$(printf 'c%.0s' {1..32})'/" storage_main_launcher.toml
badst "storage: cluster_id differs from mgmtd's" "cluster_id mismatch" \
    "s/^cluster_id = .*/cluster_id = 'other'/" storage_main_launcher.toml
badst "storage: wrong mgmtd address scheme" "invalid mgmtd address 'HTTP://" "s#RDMA://#HTTP://#" \
    storage_main_launcher.toml
badst "storage: address without scheme" "invalid mgmtd address" "s#RDMA://##" storage_main_launcher.toml
badst "storage: node_id of the wrong type" "'node_id' must be an integer" 's/^node_id = .*/node_id = "x"/' \
    storage_main_app.toml
badst "storage: missing node_id" "required key 'node_id' is missing" '/^node_id/d' storage_main_app.toml
on 2 docker stop t-storage >/dev/null # free its ports: registration comes after listening
badst "storage: node id already used by meta" "already registered as META" 's/^node_id = .*/node_id = 100/' \
    storage_main_app.toml
on 2 docker start t-storage >/dev/null
d=$(variant st-path 1 "s#data1/3fs#data9/3fs#" storage_main.toml)
admin 1 "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml" >/dev/null
# shellcheck disable=SC2046
on 2 docker run --rm $(svc_args 2 "$d") "$I3FS" /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml \
    "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml" >/dev/null
badst "storage: target path does not exist" "/mnt/3fsdata/data9/3fs does not exist" 's/x/x/' storage_main_app.toml
expect_out "set-config restores the good STORAGE config" "ConfigVersion" \
    "$(admin 1 "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml")"

# --- user, targets, chains ---------------------------------------------------------
out=$(admin 1 "user-add --root --admin 0 root")
expect_out "user-add prints a Token line" "Token" "$out"
TOKEN=$(awk '$1 == "Token" { sub(/\(.*/, "", $2); print $2 }' <<<"$out")
echo "$TOKEN" >"$W2/etc/token.txt"
expect_out "second user-add needs an admin token" "AuthenticationFail" "$(admin 1 "user-add 1 bob")"
cat >"$W1/etc/targets.txt" <<EOF
create-target --node-id 10001 --disk-index 0 --target-id 101000100101 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 0 --target-id 101000200101 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 1 --target-id 101000100201 --chain-id 900200001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 1 --target-id 101000200201 --chain-id 900200001  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 0 --target-id 101000100102 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10099 --disk-index 0 --target-id 101009900101 --chain-id 900100003  --use-new-chunk-engine
create-target --node-id 100 --disk-index 0 --target-id 101000010001 --chain-id 900100003  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 2 --target-id 101000100301 --chain-id 900300001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 0 --target-id 101000200101 --chain-id 900100004  --use-new-chunk-engine
EOF
# shellcheck disable=SC2046
out=$(on 1 docker run --rm -i $(svc_args 1 "$W1/etc") "$I3FS" /opt/3fs/bin/admin_cli \
    -cfg /opt/3fs/etc/admin_cli.toml --config.user_info.token "$TOKEN" <"$W1/etc/targets.txt")
echo "$out"
[ "$(grep -c '^Create target .* succeeded' <<<"$out")" -eq 4 ] && ok "4 good targets created" ||
    bad "create-target: $out"
expect_out "two targets of one chain on one node are refused" "at most one target per chain" "$out"
expect_out "a target on an unknown node is refused" "node 10099 not found" "$out"
expect_out "a target on a meta node is refused" "not a storage node" "$out"
expect_out "disk index beyond target_paths is refused" "disk index 2 is out of range" "$out"
expect_out "a duplicate target id is refused" "target 101000200101 already exists" "$out"
expect_out "targets are orphans before upload-chains" "101000100101  ONLINE" "$(admin 1 "list-targets --orphan")"
printf 'ChainId,TargetId,TargetId\n900100001,101000100101,101000100201\n' >"$W1/etc/bad-chains.csv"
expect_out "upload-chains: a target created for another chain" "was created for chain 900200001" \
    "$(admin 1 "upload-chains /opt/3fs/etc/bad-chains.csv")"
printf 'ChainId,TargetId,TargetId\n900100001,101000100101,101000200101\n900200001,101000100201,101000200201\n' \
    >"$W1/etc/chains.csv"
printf 'ChainId\n900100001\n' >"$W1/etc/table1.csv"
printf 'ChainId\n900100001\n900200001\n' >"$W1/etc/table.csv"
expect_out "upload-chains" "Upload 2 chains succeeded" "$(admin 1 "upload-chains /opt/3fs/etc/chains.csv")"
expect_out "upload-chains again is idempotent" "Upload 2 chains succeeded" \
    "$(admin 1 "upload-chains /opt/3fs/etc/chains.csv")"
expect_out "upload-chain-table with fewer chains than the stripe" "try to allocate 2 chains" \
    "$(admin 1 "upload-chain-table --desc stage 1 /opt/3fs/etc/table1.csv")"
expect_fail "fuse before a chain table exists" "no chain table" 2 --rm --network host --device /dev/fuse \
    --cap-add SYS_ADMIN -v "$W2/etc:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main \
    --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml --app_cfg /opt/3fs/etc/hf3fs_fuse_main_app.toml
expect_out "upload-chain-table" "version 1 succeeded" \
    "$(admin 1 "upload-chain-table --desc stage 1 /opt/3fs/etc/table.csv")"
serving() { [ "$(admin 1 list-chains | grep -c ' SERVING  ')" -eq 2 ]; }
wait_for 10 serving &&
    ok "both chains SERVING" || bad "chains: $(admin 1 list-chains)"
admin 1 list-chains
expect_out "list-targets shows SERVING-UPTODATE roles" "101000200101  900100001  TAIL  SERVING      UPTODATE" \
    "$(admin 1 list-targets)"

# --- state survives restarts; a stopped storage node shows ------------------------
on 1 docker restart t-mgmtd >/dev/null
on 2 docker restart t-storage >/dev/null
wait_for 15 serving &&
    ok "chains SERVING again after restarting mgmtd and a storage node" || bad "after restart: $(admin 1 list-chains)"
on 2 docker stop t-storage >/dev/null
half() { admin 1 list-chains | grep -q 'SERVING(1/2)'; }
wait_for 15 half &&
    ok "chains lose a replica when storage 10002 stops" || bad "after stop: $(admin 1 list-chains)"
on 2 docker start t-storage >/dev/null
wait_for 15 serving || bad "chains not SERVING after storage 10002 started again: $(admin 1 list-chains)"

# --- FUSE client on node 2 --------------------------------------------------------
d=$(variant fuse-notoken 2 's#/opt/3fs/etc/token.txt#/opt/3fs/etc/missing.txt#' hf3fs_fuse_main_launcher.toml)
expect_fail "fuse without a token" "cannot read token file" 2 --rm --network host -v "$d:/opt/3fs/etc" \
    "$I3FS" /opt/3fs/bin/hf3fs_fuse_main --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml
d=$(variant fuse-badtoken 2 's/.*/AAAAbadtokenAAAA/' token.txt)
expect_fail "fuse with an unknown token" "token validation failed" 2 --rm --network host -v "$d:/opt/3fs/etc" \
    "$I3FS" /opt/3fs/bin/hf3fs_fuse_main --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml
on 2 mkdir -p /mnt/3fs-it
on 2 docker run -d --name t-fuse --network host --privileged --device /dev/fuse -v /mnt/3fs-it:/mnt/3fs:rshared \
    -v "$W2/etc:/opt/3fs/etc" -v "$W2/log:/var/log/3fs" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main \
    --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml --app_cfg /opt/3fs/etc/hf3fs_fuse_main_app.toml \
    >/dev/null
mounted() { on 2 grep -q ' /mnt/3fs-it ' /proc/mounts; }
if wait_for 15 mounted; then
    line=$(on 2 grep ' /mnt/3fs-it ' /proc/mounts)
    echo "node 2 mount: $line"
    if grep -q "^hf3fs.$CLUSTER /mnt/3fs-it fuse.hf3fs " <<<"$line"; then
        ok "fuse: mounted as hf3fs.$CLUSTER type fuse.hf3fs on the node"
    else
        echo "NOTE: $(on 2 docker logs t-fuse 2>&1 | grep WARNING)"
        bad "fuse: expected hf3fs.$CLUSTER of type fuse.hf3fs"
    fi
    on 2 bash -c 'echo hello > /mnt/3fs-it/f && cat /mnt/3fs-it/f' | grep -qx hello &&
        ok "fuse: a file written on the node reads back" || bad "fuse: write/read"
    sum=$(on 2 bash -c 'head -c 3000000 /dev/urandom | tee /mnt/3fs-it/big | md5sum')
    [ "$(on 2 bash -c 'md5sum </mnt/3fs-it/big')" = "$sum" ] &&
        [ "$(on 2 stat -c %s /mnt/3fs-it/big)" = 3000000 ] &&
        ok "fuse: a 3 MB file (several chunks) reads back intact" || bad "fuse: 3 MB file"
    # The data lives on the storage targets (both replicas of a chain), not on the client.
    c1=$(find "$W1/data" -path '*/chunks/*' -type f | wc -l)
    c2=$(find "$W2/data" -path '*/chunks/*' -type f | wc -l)
    [ "$c1" -gt 0 ] && [ "$c1" -eq "$c2" ] &&
        ok "fuse: file data is stored as chunks on both storage nodes ($c1 each)" ||
        bad "fuse: chunks on the storage nodes: $c1 and $c2"
    on 2 bash -c 'mkdir /mnt/3fs-it/d && mv /mnt/3fs-it/f /mnt/3fs-it/d/g && rm /mnt/3fs-it/big && ls -R /mnt/3fs-it' >"$WORK/ls.out"
    [ "$(tr '\n' ' ' <"$WORK/ls.out")" = "/mnt/3fs-it: d  /mnt/3fs-it/d: g " ] &&
        [ "$(find "$W1/data" -path '*/chunks/*' -type f | wc -l)" -eq 1 ] &&
        ok "fuse: mkdir, rename and unlink (its chunks are removed)" ||
        bad "fuse: namespace ops: $(cat "$WORK/ls.out")"
    # A chain keeps serving on its remaining replica while a storage node is down.
    on 2 docker stop t-storage >/dev/null
    if wait_for 15 half; then
        sleep 2.5 # the client's routing info is at most 2 s old
        on 2 bash -c 'echo degraded > /mnt/3fs-it/h && cat /mnt/3fs-it/h' | grep -qx degraded &&
            ok "fuse: write and read while storage 10002 is down (one replica left)" ||
            bad "fuse: I/O with one replica down"
    else
        bad "fuse: chains did not lose a replica when storage 10002 stopped"
    fi
    on 2 docker start t-storage >/dev/null
else
    bad "fuse: nothing mounted at /mnt/3fs-it: $(on 2 docker logs t-fuse 2>&1 | tail -3)"
fi
on 2 docker stop t-fuse >/dev/null
mounted && bad "fuse: mount left behind after stop" || ok "fuse: unmounted on stop"
out=$(on 1 docker run --rm "$I3FS" /opt/3fs/bin/fio --version)
expect_out "fio in the 3fs image is Debian's fio" "fio-3" "$out"
[ -s "$W1/log/mgmtd_main.log" ] && [ -s "$W2/log/storage_main.log" ] &&
    ok "services log to /var/log/3fs" || bad "no logs in /var/log/3fs"

echo "test_images: $passes passed, $failures failed ($((SECONDS - T0)) s after the lab was up)"
[ "$failures" -eq 0 ]
