#!/bin/bash
# Tests of the stand-in 3FS/FoundationDB/ClickHouse images (tests/images,
# docs/stand-ins.md) on a two-node lab (scripts/lab.sh): hand-written good
# configs start and register across nodes; each kind of bad config fails with
# a clear message. Needs root; exits 77 (skip) otherwise.
set -uo pipefail

cd "${M3FS_SOURCE_DIR:-$(dirname "$0")/../..}" || exit 1
. tests/integration/lib.sh
it_init_lab
GOOD=$ROOT/tests/images/testdata/good
for t in debootstrap ssh dockerd; do
    command -v "$t" >/dev/null || { echo "FAIL: $t missing; run scripts/install-deps.sh"; exit 1; }
done

# W (it_workdir) is shared with the lab nodes (their /tmp, /opt, /mnt are
# private); n1/ and n2/ in it are the nodes' service directories.
it_workdir images
WORK=$W
images_cleanup() { # the FUSE mounts under n*/mnt go after the lab, before W
    scripts/lab.sh down >/dev/null 2>&1
    umount "$WORK"/n*/mnt 2>/dev/null
    it_cleanup
}
trap images_cleanup EXIT
IP1=198.18.0.11
IP2=198.18.0.12
I3FS=open3fs/3fs:20250410
IFDB=open3fs/foundationdb:7.3.63
ICH=open3fs/clickhouse:25.1-jammy
CLUSTER=stage
CH_PW='ch pw'

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

it_lab_up 2
T0=$SECONDS
t0=$SECONDS
onq 1 docker load -i "$WORK/artifacts/foundationdb_7.3.63_amd64.docker" >/dev/null &&
    onq 1 docker load -i "$WORK/artifacts/clickhouse_25.1-jammy_amd64.docker" >/dev/null &&
    onq 1 docker load -i "$WORK/artifacts/3fs_20250410_amd64.docker" >/dev/null &&
    onq 2 docker load -i "$WORK/artifacts/3fs_20250410_amd64.docker" >/dev/null ||
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
    nd=$WORK/n$n
    render "$GOOD" "$nd/etc" "1000$n"
    mkdir -p "$nd/log" "$nd/data/data0/3fs" "$nd/data/data1/3fs" "$nd/fdb/data" "$nd/fdb/logs" \
        "$nd/ch/data" "$nd/ch/log" "$nd/ch/config.d" "$nd/ch/sql" "$nd/mnt"
    cp "$nd/etc/clickhouse-config.xml" "$nd/ch/config.d/config.xml"
    cp "$nd/etc/3fs-monitor.sql" "$nd/ch/sql/"
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
    onq "$n" docker run -d --name "$name" $(svc_args "$n" "$etc") "$I3FS" "/opt/3fs/bin/$bin" "$@" \
        >/dev/null
}
start_main() { # start_main NODE NAME ETC SVC_MAIN
    start_svc "$1" "$2" "$3" "$4" --launcher_cfg "/opt/3fs/etc/$4_launcher.toml" \
        --app_cfg "/opt/3fs/etc/$4_app.toml"
}
admin() { # admin NODE CMD...: admin_cli in a throw-away container
    admin_in "$1" "$WORK/n$1/etc" "${@:2}"
}
admin_in() { # admin_in NODE ETC-DIR CMD...: admin_cli with ETC-DIR as /opt/3fs/etc
    # shellcheck disable=SC2046
    onq "$1" docker run --rm $(svc_args "$1" "$2") "$I3FS" /opt/3fs/bin/admin_cli \
        -cfg /opt/3fs/etc/admin_cli.toml "${@:3}"
}
admin_stdin() { # admin_stdin NODE [ARGS...] <COMMANDS: admin_cli reading its commands from stdin
    # shellcheck disable=SC2046
    onq "$1" docker run --rm -i $(svc_args "$1" "$WORK/n$1/etc") "$I3FS" /opt/3fs/bin/admin_cli \
        -cfg /opt/3fs/etc/admin_cli.toml "${@:2}"
}
port_open() { # port_open NODE IP PORT: something listens on IP:PORT (seen from NODE)
    onq "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}
config_version() { # config_version OUTPUT-OF-SET-CONFIG
    awk '$1 == "ConfigVersion" { print $2 }' <<<"$1"
}
# expect_fail DESC PATTERN NODE DOCKER-RUN-ARGS...: a foreground container must
# exit non-zero with PATTERN in its output.
expect_fail() {
    local what=$1 pat=$2 n=$3 out rc
    shift 3
    out=$(onq "$n" timeout 60 docker run --name t-bad "$@" 2>&1)
    rc=$?
    onq "$n" docker rm -f t-bad >/dev/null 2>&1
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
onq 1 docker run -d --name t-fdb --network host -e "FDB_CLUSTER_FILE_CONTENTS=$(cat "$W1/etc/fdb.cluster")" \
    -v "$W1/fdb/data:/var/fdb/data" -v "$W1/fdb/logs:/var/fdb/logs" "$IFDB" >/dev/null
fdbcli() { onq 1 docker exec t-fdb fdbcli --exec "$1"; }
wait_for 20 onq 1 docker exec t-fdb bash -c 'exec 3<>/dev/tcp/127.0.0.1/4500' 2>/dev/null
expect_out "fdb: status before configure is unavailable" "The database is unavailable" "$(fdbcli 'status minimal')"
out=$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")
expect_out "init-cluster fails while FDB is not configured" "FDB::Unavailable" "$out"
expect_out "fdb: configure new single ssd" "Database created" "$(fdbcli 'configure new single ssd')"
expect_out "fdb: repeat says Database already exists" "Database already exists" \
    "$(fdbcli 'configure new single ssd')"
expect_out "fdb: status minimal is available" "The database is available." "$(fdbcli 'status minimal')"

# --- ClickHouse + monitor -----------------------------------------------------
onq 1 docker run -d --name t-ch --network host -e CLICKHOUSE_USER=default -e "CLICKHOUSE_PASSWORD=$CH_PW" \
    -v "$W1/ch/data:/var/lib/clickhouse" -v "$W1/ch/log:/var/log/clickhouse-server" \
    -v "$W1/ch/config.d:/etc/clickhouse-server/config.d" -v "$W1/ch/sql:/tmp/sql" "$ICH" >/dev/null
wait_for 20 onq 1 docker exec t-ch bash -c 'exec 3<>/dev/tcp/127.0.0.1/8999' 2>/dev/null
onq 1 docker exec t-ch bash -c "clickhouse-client --port 8999 -n < /tmp/sql/3fs-monitor.sql" &&
    ok "clickhouse: monitor schema loads" || bad "clickhouse: monitor schema"
out=$(onq 1 docker exec t-ch clickhouse-client --port 8999 -q "SHOW TABLES FROM 3fs")
[ "$out" = $'counters\ndistributions' ] && ok "clickhouse: 3fs.counters and 3fs.distributions exist" ||
    bad "clickhouse tables: $out"
out=$(onq 1 docker exec t-ch bash -c "echo 'CREATE TABLE 3fs.bad (a Int64) ENGINE = MergeTree ORDER BY b' |
    clickhouse-client --port 8999" 2>&1)
expect_out "clickhouse: SQL naming an unknown column is rejected" "UNKNOWN_IDENTIFIER" "$out"
out=$(onq 1 docker exec t-ch bash -c "echo 'CREATE TABLE 3fs.bad (a Int64) ENGIN = MergeTree' |
    clickhouse-client --port 8999" 2>&1)
expect_out "clickhouse: SQL syntax error is rejected" "SYNTAX_ERROR" "$out"
out=$(onq 1 docker exec t-ch bash -c "CLICKHOUSE_PASSWORD=wrong clickhouse-client --port 8999 -q 'SELECT 1'" 2>&1)
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
# B4: the lab has no RDMA device; common.ib_devices.allow_no_usable_devices = false ends the collector.
d=$(variant mon-ib 1 "s/^allow_no_usable_devices = true/allow_no_usable_devices = false/" \
    monitor_collector_main.toml)
expect_fail "B4: monitor_collector_main exits without a usable RDMA device" \
    "Failed to start IBManager: RPC::IBInitFailed(2015) No usable RDMA devices." 1 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/monitor_collector_main --cfg /opt/3fs/etc/monitor_collector_main.toml
# B3: listeners bind the addresses of en*/eth*/bond*/xgbe* NICs only, never 0.0.0.0 (lo).
port_open 1 "$IP1" 10000 && ! port_open 1 127.0.0.1 10000 &&
    ok "B3: monitor listens on eth0's address, not on lo" || bad "B3: monitor listeners on node 1"

# --- B6, B8, B4, B2: mgmtd on an empty FDB -------------------------------------
# FDB holds no cluster id and no MGMTD config yet (as after a wipe): mgmtd comes
# up with its built-in defaults (listeners 8000, 9000) instead of failing. Its
# cluster_id may have any length; only the FUSE client refuses 32 or more.
LONG=$(printf 'c%.0s' {1..40})
start_svc 1 t-mgmtd0 "$W1/etc" mgmtd_main --launcher_cfg /opt/3fs/etc/mgmtd_main_launcher.toml \
    --app_cfg /opt/3fs/etc/mgmtd_main_app.toml "--launcher_config.cluster_id=$LONG"
primary0() { admin 1 "--config.cluster_id=$LONG" list-nodes | grep -q '^1 .*PRIMARY_MGMTD'; }
wait_for 15 primary0 &&
    ok "B6: mgmtd on an empty FDB is PRIMARY_MGMTD with its defaults (cluster_id of 40 characters)" ||
    bad "B6: mgmtd on an empty FDB: $(onq 1 docker logs t-mgmtd0 2>&1 | tail -3)
$(onq 1 docker exec t-mgmtd0 tail -3 /Mgmtd.log 2>&1)" # no [common.log]: <ServerName>.log in its working directory
expect_fail "B8: the FUSE client refuses a cluster_id of 32 or more characters" \
    "FUSE only support mount name shorter than 32 characters" 2 --rm --network host \
    -v "$W2/etc:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main \
    --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml "--launcher_config.cluster_id=$LONG"
# B4: admin_cli starts its IB manager only for a command that needs a connection.
noib=(--config.ib_devices.allow_no_usable_devices=false "--config.cluster_id=$LONG")
out=$(admin 1 "${noib[@]}" help 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q "^list-nodes " <<<"$out" &&
    ok "B4: admin_cli help needs no connection, so no RDMA device" || bad "B4: admin_cli help (exit $rc): $out"
out=$(admin 1 "${noib[@]}" list-nodes 2>&1)
rc=$?
[ $rc -ne 0 ] && grep -qF "Failed to start IBManager: RPC::IBInitFailed(2015) No usable RDMA devices." <<<"$out" &&
    ok "B4: admin_cli list-nodes exits without a usable RDMA device" || bad "B4: admin_cli list-nodes (exit $rc): $out"
# B2: addresses are IPv4; the scheme is case-insensitive and optional (TCP).
for a in "rdma://$IP1:8000" "$IP1:9000"; do
    admin 1 "--config.cluster_id=$LONG" "--config.mgmtd_client.mgmtd_server_addresses=[\"$a\"]" list-nodes |
        grep -q PRIMARY_MGMTD && ok "B2: mgmtd address $a is valid" || bad "B2: mgmtd address $a refused"
done
a="RDMA://[fd00::1]:8000"
# the config does not load: FATAL on stderr before any command (admin_cli.cc)
expect_out "B2: mgmtd address $a (IPv6) is invalid" "invalid address: $a" \
    "$(admin 1 "--config.cluster_id=$LONG" "--config.mgmtd_client.mgmtd_server_addresses=[\"$a\"]" list-nodes 2>&1)"
onq 1 docker rm -f t-mgmtd0 >/dev/null

# --- init-cluster, mgmtd ------------------------------------------------------
expect_out "init-cluster: chunk size must be a power of two" "chunksize should be power of 2." \
    "$(admin 1 "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1000000 2")"
# B5: init-cluster stores main configs unchecked; a bad one shows when its service starts.
d=$(variant mgmtd-syntax 1 "s/^level = 'INFO'/level = 'INFO/" mgmtd_main.toml)
expect_out "B5: init-cluster stores a mgmtd_main.toml with a TOML syntax error" "Init config for MGMTD version 1" \
    "$(admin_in 1 "$d" "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")"
expect_fail "B5: mgmtd with that stored config exits" "Init config failed" 1 --rm --network host \
    -v "$W1/etc:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/mgmtd_main --launcher_cfg /opt/3fs/etc/mgmtd_main_launcher.toml \
    --app_cfg /opt/3fs/etc/mgmtd_main_app.toml
# B1: mgmtd starts without allow_heartbeat_from_unregistered (code default false).
NOFLAG=$(variant mgmtd-noflag 1 "/^allow_heartbeat_from_unregistered/d" mgmtd_main.toml)
expect_out "init-cluster re-run fails without --allow-config-existed" "Config for MGMTD existed, version 1" \
    "$(admin_in 1 "$NOFLAG" "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml 1 1048576 2")"
expect_out "init-cluster --allow-config-existed stores the next version" "Init config for MGMTD version 2" \
    "$(admin_in 1 "$NOFLAG" "init-cluster --mgmtd /opt/3fs/etc/mgmtd_main.toml --allow-config-existed 1 1048576 2")"
expect_out "list-nodes fails while mgmtd is down" "RoutingInfoNotReady" "$(admin 1 list-nodes)"
start_main 1 t-mgmtd "$W1/etc" mgmtd_main
nodes() { admin 1 list-nodes; }
primary() { nodes | grep -q PRIMARY_MGMTD; }
wait_for 15 primary &&
    ok "mgmtd is PRIMARY_MGMTD" || bad "mgmtd: $(nodes)"
# B9: ';'-joined commands: only the last one's failure sets the exit status.
admin 1 "list-nodes; no-such-cmd" >/dev/null
rc1=$?
out=$(admin 1 "no-such-cmd; list-nodes")
rc2=$?
out3=$(admin 1 --config.break_multi_line_command_on_failure=true "no-such-cmd; list-nodes")
rc3=$?
[ $rc1 -eq 1 ] && [ $rc2 -eq 0 ] && grep -q "Unknown method name: no-such-cmd" <<<"$out" &&
    grep -q PRIMARY_MGMTD <<<"$out" && [ $rc3 -eq 0 ] && ! grep -q PRIMARY_MGMTD <<<"$out3" &&
    ok "B9: 'a; b' exits 1 only when b fails; a break on failure exits 0" ||
    bad "B9: exit statuses $rc1 $rc2 $rc3: $out / $out3"

# --- meta, storage (two nodes) ---------------------------------------------------
# bad configs on node 2 (storage), each run in the foreground
badst() { # badst DESC PATTERN SED FILE
    local d
    d=$(variant "$(tr -c 'a-z0-9\n' - <<<"$1")" 2 "$3" "$4")
    # shellcheck disable=SC2046
    expect_fail "$1" "$2" 2 --rm $(svc_args 2 "$d") "$I3FS" /opt/3fs/bin/storage_main \
        --launcher_cfg /opt/3fs/etc/storage_main_launcher.toml --app_cfg /opt/3fs/etc/storage_main_app.toml
}
# B5: set-config stores any text; a storage node starting with it exits.
d=$(variant st-syntax 1 "s/^enable_io_uring = false/enable_io_uring = fals/" storage_main.toml)
expect_out "B5: set-config stores a storage_main.toml with a TOML syntax error" "ConfigVersion  1" \
    "$(admin_in 1 "$d" "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml")"
badst "B5: storage starting with it exits" "Init config failed" 's/x/x/' storage_main_app.toml
d=$(variant st-typo 1 "s/^enable_io_uring = false/enable_io_urin = false/" storage_main.toml)
expect_out "B5: set-config stores a storage_main.toml with a misspelt key" "ConfigVersion  2" \
    "$(admin_in 1 "$d" "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml")"
badst "B5: storage starting with it exits" "Invalid key: server.aio_read_worker.enable_io_urin" 's/x/x/' \
    storage_main_app.toml
for t in META:meta_main STORAGE:storage_main FUSE:hf3fs_fuse_main; do
    expect_out "set-config --type ${t%%:*}" "ConfigVersion" \
        "$(admin 1 "set-config --type ${t%%:*} --file /opt/3fs/etc/${t#*:}.toml")"
done
# B3: two more NICs on node 2 before its storage starts: ethx1 (eligible), p1p1 (not);
# a veth pair (this kernel may lack the dummy driver).
onq 2 bash -c 'ip link add ethx1 type veth peer name p1p1 && ip addr add 10.98.0.2/24 dev ethx1 &&
    ip addr add 10.99.0.2/24 dev p1p1 && ip link set ethx1 up && ip link set p1p1 up' ||
    bad "B3: cannot add NICs on node 2"
start_main 1 t-meta "$W1/etc" meta_main
start_main 1 t-storage "$W1/etc" storage_main
start_main 2 t-storage "$W2/etc" storage_main
connected() { nodes | grep -E "^$1 .*HEARTBEAT_CONNECTED" >/dev/null; }
listed() { nodes | grep -qE "^$1 "; }
# B1: without the flag, mgmtd refuses heartbeats of node ids nobody registered.
if wait_for 15 grep -qs "10002 not registered" "$W2/log/storage_main.log"; then
    out=$(nodes)
    grep -qE '^(100|10001|10002) ' <<<"$out" && bad "B1: unregistered nodes accepted: $out" ||
        ok "B1: mgmtd refuses heartbeats of unregistered nodes ('10002 not registered')"
else
    bad "B1: no 'not registered' refusal in node 2's storage_main.log: $(nodes)"
fi
out=$(admin 1 "register-node 100 META; register-node 10001 STORAGE; register-node 10001 STORAGE")
expect_out "B1: register-node refuses a known node id" "Node id 10001 duplicated" "$out"
for id in 100 10001; do
    wait_for 15 connected $id &&
        ok "B1: node $id is HEARTBEAT_CONNECTED after register-node" || bad "node $id not connected: $(nodes)"
done
listed 10002 && bad "B1: node 10002 accepted without registration: $(nodes)" ||
    ok "B1: node 10002, not registered, is still refused"
started=$(onq 1 docker inspect -f '{{.State.StartedAt}}' t-mgmtd)
expect_out "B1: set-config MGMTD with allow_heartbeat_from_unregistered = true" "ConfigVersion  3" \
    "$(admin 1 "set-config --type MGMTD --file /opt/3fs/etc/mgmtd_main.toml")"
wait_for 15 connected 10002 && [ "$(onq 1 docker inspect -f '{{.State.StartedAt}}' t-mgmtd)" = "$started" ] &&
    ok "B1: the flag takes effect without a mgmtd restart: node 10002 registered by its heartbeat" ||
    bad "B1: node 10002 after set-config: $(nodes)"
nodes
# B3: node 2's storage (empty filter_list) listens on eth0 and ethx1, never on p1p1 or lo.
port_open 2 "$IP2" 9002 && port_open 2 10.98.0.2 9002 && ! port_open 2 10.99.0.2 9002 &&
    ! port_open 2 127.0.0.1 9002 && ok "B3: storage listens on eth0 and ethx1, not on p1p1 or lo" ||
    bad "B3: storage listeners on node 2"

badst "storage: missing cluster_id (the default '' differs from mgmtd's)" "Cluster id mismatch" '/^cluster_id/d' storage_main_launcher.toml
badst "storage: TOML syntax error in launcher" "TOML syntax error" "s/^cluster_id = 'stage'/cluster_id = 'stage/" \
    storage_main_launcher.toml
badst "B8: storage takes a cluster_id of 32 characters (then differs from mgmtd's)" "Cluster id mismatch" \
    "s/^cluster_id = .*/cluster_id = '$(printf 'c%.0s' {1..32})'/" storage_main_launcher.toml
badst "storage: cluster_id differs from mgmtd's" "Cluster id mismatch" \
    "s/^cluster_id = .*/cluster_id = 'other'/" storage_main_launcher.toml
badst "storage: wrong mgmtd address scheme" "invalid address: HTTP://" "s#RDMA://#HTTP://#" \
    storage_main_launcher.toml
badst "B2: storage: DNS name as mgmtd address" "invalid address: RDMA://lab-n1:8000" "s#RDMA://$IP1:8000#RDMA://lab-n1:8000#" \
    storage_main_launcher.toml
badst "storage: node_id of the wrong type" "'node_id' must be an integer" 's/^node_id = .*/node_id = "x"/' \
    storage_main_app.toml
badst "storage: missing node_id" "required key 'node_id' is missing" '/^node_id/d' storage_main_app.toml
# B4: no RDMA device in the lab: without allow_no_usable_devices (default false) every service exits.
badst "B4: storage_main exits without a usable RDMA device" \
    "Failed to start IBManager: RPC::IBInitFailed(2015) No usable RDMA devices." '/^allow_no_usable_devices/d' \
    storage_main_launcher.toml
# (mgmtd_main and meta_main start the IB manager in the same code as storage_main.)
d=$(variant ib-fuse 2 "s/^allow_no_usable_devices = true/allow_no_usable_devices = false/" \
    hf3fs_fuse_main_launcher.toml)
expect_fail "B4: hf3fs_fuse_main exits without a usable RDMA device" \
    "Failed to start IBManager: RPC::IBInitFailed(2015) No usable RDMA devices." 2 --rm --network host \
    -v "$d:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml
# A node id mgmtd knows as META: the heartbeats of a storage node using it are refused (it keeps running).
onq 2 docker stop t-storage >/dev/null # free its ports
d=$(variant st-id100 2 's/^node_id = .*/node_id = 100/' storage_main_app.toml)
# shellcheck disable=SC2046
onq 2 docker run -d --name t-bad $(svc_args 2 "$d") "$I3FS" /opt/3fs/bin/storage_main \
    --launcher_cfg /opt/3fs/etc/storage_main_launcher.toml --app_cfg /opt/3fs/etc/storage_main_app.toml >/dev/null
# (logged at ERR once logging is set up: in the file its [common.log] names, not on stderr)
typemismatch() { grep -qs "100 type mismatch: registered META got STORAGE" "$W2/log/storage_main.log"; }
wait_for 10 typemismatch && ok "storage: node id already used by meta: heartbeat refused (type mismatch)" ||
    bad "storage with meta's node id: $(onq 2 docker logs t-bad 2>&1 | tail -3; tail -3 "$W2/log/storage_main.log")"
onq 2 docker rm -f t-bad >/dev/null
onq 2 docker start t-storage >/dev/null
d=$(variant st-path 1 "s#data1/3fs#data9/3fs#" storage_main.toml)
admin 1 "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml" >/dev/null
admin_in 2 "$d" "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml" >/dev/null
badst "storage: target path does not exist" "/mnt/3fsdata/data9/3fs does not exist" 's/x/x/' storage_main_app.toml
# B10: with allow_disk_without_uuid = false a target needs its disk's UUID (a lab path has none).
uptodate() { [ "$(nodes | grep -cE "^1000[12] .* $1\(UPTODATE\)")" -eq 2 ]; }
d=$(variant st-uuid 1 "s/^allow_disk_without_uuid = true/allow_disk_without_uuid = false/" storage_main.toml)
v=$(config_version "$(admin_in 1 "$d" "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml")")
wait_for 15 uptodate "$v" || bad "B10: storage nodes did not apply STORAGE config $v: $(nodes)"
expect_out "B10: allow_disk_without_uuid = false refuses a target on a disk without UUID" \
    "Not found UUID for path /mnt/3fsdata/data0/3fs/101000100109 device" \
    "$(admin 1 "create-target --node-id 10001 --disk-index 0 --target-id 101000100109 --chain-id 900900001")"
v=$(config_version "$(admin 1 "set-config --type STORAGE --file /opt/3fs/etc/storage_main.toml")")
wait_for 15 uptodate "$v" && ok "set-config restores the good STORAGE config (applied by both nodes)" ||
    bad "storage nodes did not apply STORAGE config $v: $(nodes)"

# --- user, targets, chains ---------------------------------------------------------
out=$(admin 1 "user-add --root --admin 0 root")
expect_out "user-add prints a Token line" "Token" "$out"
TOKEN=$(awk '$1 == "Token" { sub(/\(.*/, "", $2); print $2 }' <<<"$out")
printf '%s \n' "$TOKEN" >"$W2/etc/token.txt" # FUSE trims the token file
expect_out "second user-add needs an admin token" "AuthenticationFail" "$(admin 1 "user-add 1 bob")"
cat >"$W1/etc/targets.txt" <<EOF
create-target --node-id 10001 --disk-index 0 --target-id 101000100101 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 0 --target-id 101000200101 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 1 --target-id 101000100201 --chain-id 900200001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 1 --target-id 101000200201 --chain-id 900200001  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 0 --target-id 101000100103 --chain-id 900300001
create-target --node-id 10001 --disk-index 1 --target-id 101000100203 --chain-id 900400001
create-target --node-id 10001 --disk-index 0 --target-id 101000100102 --chain-id 900100001  --use-new-chunk-engine
create-target --node-id 10099 --disk-index 0 --target-id 101009900101 --chain-id 900100003  --use-new-chunk-engine
create-target --node-id 100 --disk-index 0 --target-id 101000010001 --chain-id 900100003  --use-new-chunk-engine
create-target --node-id 10001 --disk-index 2 --target-id 101000100301 --chain-id 900300001  --use-new-chunk-engine
create-target --node-id 10002 --disk-index 0 --target-id 101000200101 --chain-id 900100004  --use-new-chunk-engine
EOF
out=$(admin_stdin 1 --config.user_info.token "$TOKEN" <"$W1/etc/targets.txt")
rc=$?
echo "$out"
# 6 new targets, and 101000200101 again (below)
[ "$(grep -c '^Create target .* succeeded' <<<"$out")" -eq 7 ] && ok "6 good targets created" ||
    bad "create-target: $out"
expect_out "create-target names the disk" "Create target 101000100203 on disk 1 of 10001 succeeded" "$out"
expect_out "storage refuses a second target of one chain on a node" \
    "target TargetId(101000100101) is existing with same chain id ChainId(900100001), req target TargetId(101000100102)" "$out"
[ "$(grep -c '7004(StorageClient::RoutingError)' <<<"$out")" -eq 2 ] &&
    ok "targets on an unknown node and on a meta node: StorageClient::RoutingError" || bad "create-target routing: $out"
expect_out "disk index beyond target_paths is refused" "disk index exceed 2 >= 2" "$out"
# CreateTargetReq.allowExistingTarget defaults to true (src/fbs/storage/Common.h)
# and create-target does not set it: the node answers success and changes
# nothing, even for another chain id (StorageTargets::create)
[ "$(grep -c '^Create target 101000200101 on disk 0 of 10002 succeeded' <<<"$out")" -eq 2 ] &&
    ! grep -q "already existing" <<<"$out" &&
    ok "a target id the node already has: success, nothing changed (allowExistingTarget)" ||
    bad "create-target of an existing target: $out"
[ $rc -eq 0 ] && ok "B9: admin_cli reading commands from stdin exits 0 although some failed" ||
    bad "B9: admin_cli with commands on stdin exited $rc"
# mgmtd lists a created target from its node's next heartbeat (about a second)
orphan_101() { admin 1 "list-targets --orphan" | grep -qF "101000100101  ONLINE"; }
wait_for 10 orphan_101
expect_out "targets are orphans before upload-chains" "101000100101  ONLINE" "$(admin 1 "list-targets --orphan")"
E=$W1/etc
printf 'ChainId,TargetId,TargetId\n900100001,101000100101,101000200101\n900200001,101000100201,101000200201\n' \
    >"$E/chains.csv"
printf 'ChainId,TargetId,TargetId\n900300001,101000100103,101000100203\n' >"$E/onenode.csv"
printf 'ChainId,TargetId,TargetId\n' >"$E/empty.csv"
printf 'ChainId,TargetId,TargetId\n0,101000100103,101000100203\n' >"$E/zero.csv"
printf 'ChainId,TargetId,TargetId\n900500001,101000100101,101000200201\n' >"$E/dup.csv"
printf 'ChainId,TargetId,TargetId\n900100001,101000100101,101000200201\n' >"$E/changed.csv"
printf 'ChainId\n900100001\n' >"$E/table1.csv"
printf 'ChainId\n900100001\n900200001\n' >"$E/table.csv"
printf 'ChainId\n900999999\n' >"$E/nochain.csv"
expect_out "upload-chains" "Upload 2 chains succeeded" "$(admin 1 "upload-chains /opt/3fs/etc/chains.csv")"
expect_out "upload-chains again is idempotent" "Upload 2 chains succeeded" \
    "$(admin 1 "upload-chains /opt/3fs/etc/chains.csv")"
expect_out "B7: upload-chains takes a chain with both replicas on node 10001 (one created for another chain)" \
    "Upload 1 chains succeeded" "$(admin 1 "upload-chains /opt/3fs/etc/onenode.csv")"
out=$(printf 'upload-chains /opt/3fs/etc/%s.csv\n' empty zero dup changed | admin_stdin 1)
expect_out "B7: upload-chains refuses a file without chains" "empty rows" "$out"
expect_out "B7: upload-chains refuses chain id 0" "Empty chain id" "$out"
expect_out "B7: upload-chains refuses a new chain with a target of another chain" \
    "TargetId(101000100101) duplicated. chain id: 900500001" "$out"
expect_out "B7: upload-chains refuses a changed chain" "Target mismatch of ChainId(900100001)" "$out"
expect_out "B7: upload-chain-table refuses an unknown chain" "ChainId(900999999) not found" \
    "$(admin 1 "upload-chain-table 1 /opt/3fs/etc/nochain.csv")"
expect_out "B7: upload-chain-table takes fewer chains than the stripe (checked when a file is created)" \
    "Upload ChainTableId(1) of ChainTableVersion(1) succeeded" \
    "$(admin 1 "upload-chain-table --desc stage 1 /opt/3fs/etc/table1.csv")"
serving() { [ "$(admin 1 list-chains | grep -c ' SERVING  ')" -eq 3 ]; }
wait_for 10 serving &&
    ok "three chains SERVING" || bad "chains: $(admin 1 list-chains)"
admin 1 list-chains
# UPTODATE once the storage node refreshed its routing and beat again
tail_uptodate() { admin 1 list-targets | grep -qF "101000200101  900100001  TAIL  SERVING      UPTODATE"; }
wait_for 10 tail_uptodate
expect_out "list-targets shows SERVING-UPTODATE roles" "101000200101  900100001  TAIL  SERVING      UPTODATE" \
    "$(admin 1 list-targets)"

# --- state survives restarts; a stopped storage node shows ------------------------
onq 1 docker restart t-mgmtd >/dev/null
onq 2 docker restart t-storage >/dev/null
wait_for 15 serving &&
    ok "chains SERVING again after restarting mgmtd and a storage node" || bad "after restart: $(admin 1 list-chains)"
# B1 with the flag in the config mgmtd started with; B3: a filter_list naming ethx1.
sed -e 's/^listen_port = 8002/listen_port = 8102\nfilter_list = ["ethx1"]/' \
    -e 's/^listen_port = 9002/listen_port = 9102\nfilter_list = ["ethx1"]/' "$W2/etc/storage_main.toml" >"$W2/etc/st3.toml"
sed -e 's/"ethx1"/"p1p1"/' "$W2/etc/st3.toml" >"$W2/etc/st4.toml"
start_main_as() { # start_main_as NAME NODE-ID MAIN-CFG: a second storage on node 2
    start_svc 2 "$1" "$W2/etc" storage_main --launcher_cfg /opt/3fs/etc/storage_main_launcher.toml \
        --app_cfg /opt/3fs/etc/storage_main_app.toml --cfg "/opt/3fs/etc/$3" "--app_config.node_id=$2"
}
start_main_as t-st3 10003 st3.toml
wait_for 15 connected 10003 &&
    ok "B1: with the flag in the config mgmtd started with, a new node registers by heartbeating" ||
    bad "B1: node 10003: $(nodes)"
port_open 2 10.98.0.2 9102 && ! port_open 2 "$IP2" 9102 &&
    ok "B3: filter_list = ['ethx1'] listens on ethx1 only" || bad "B3: filter_list ethx1"
onq 2 docker rm -f t-st3 >/dev/null
# shellcheck disable=SC2046
expect_fail "B3: a listener whose filter_list leaves no eligible NIC fails the start" \
    "No available address for listener with network type: RDMA, filter list: p1p1" 2 --rm $(svc_args 2 "$W2/etc") \
    "$I3FS" /opt/3fs/bin/storage_main --launcher_cfg /opt/3fs/etc/storage_main_launcher.toml \
    --app_cfg /opt/3fs/etc/storage_main_app.toml --cfg /opt/3fs/etc/st4.toml --app_config.node_id=10004
onq 2 docker stop t-storage >/dev/null
half() { admin 1 list-chains | grep -q 'SERVING(1/2)'; }
wait_for 15 half &&
    ok "chains lose a replica when storage 10002 stops" || bad "after stop: $(admin 1 list-chains)"
onq 2 docker start t-storage >/dev/null
wait_for 15 serving || bad "chains not SERVING after storage 10002 started again: $(admin 1 list-chains)"

# --- FUSE client on node 2 --------------------------------------------------------
NOTOKEN=$(variant fuse-notoken 2 's#/opt/3fs/etc/token.txt#/opt/3fs/etc/missing.txt#' hf3fs_fuse_main_launcher.toml)
expect_fail "fuse without its token file" "Error opening file: /opt/3fs/etc/missing.txt" 2 --rm --network host \
    -v "$NOTOKEN:/opt/3fs/etc" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main \
    --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml
onq 2 mkdir -p /mnt/3fs-it
onq 2 docker run -d --name t-fuse --network host --privileged --device /dev/fuse -v /mnt/3fs-it:/mnt/3fs:rshared \
    -v "$W2/etc:/opt/3fs/etc" -v "$W2/log:/var/log/3fs" "$I3FS" /opt/3fs/bin/hf3fs_fuse_main \
    --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml --app_cfg /opt/3fs/etc/hf3fs_fuse_main_app.toml \
    >/dev/null
mounted() { onq 2 grep -q ' /mnt/3fs-it ' /proc/mounts; }
if wait_for 15 mounted; then
    line=$(onq 2 grep ' /mnt/3fs-it ' /proc/mounts)
    echo "node 2 mount: $line"
    if grep -q "^hf3fs.$CLUSTER /mnt/3fs-it fuse.hf3fs " <<<"$line"; then
        ok "fuse: mounted as hf3fs.$CLUSTER type fuse.hf3fs on the node"
    else
        echo "NOTE: $(grep WARNING "$W2/log/hf3fs_fuse_main.log")"
        bad "fuse: expected hf3fs.$CLUSTER of type fuse.hf3fs"
    fi
    # B7: the chain table (version 1) has 1 chain for stripe 2: meta refuses to create files.
    onq 2 mkdir /mnt/3fs-it/d0 && ok "B7: mkdir works with too few chains" || bad "B7: mkdir"
    if out=$(onq 2 touch /mnt/3fs-it/x 2>&1); then
        bad "B7: a file was created with 1 chain for stripe 2"
    elif grep -q "Input/output error" <<<"$out" &&
        grep -qF "try to allocate 2 chains from ChainTableId(1), found 1" "$W1/log/hf3fs_meta_main.log"; then
        ok "B7: creating a file fails (EIO, meta: try to allocate 2 chains from ChainTableId(1), found 1)"
    else
        bad "B7: touch with too few chains: $out"
    fi
    onq 2 rmdir /mnt/3fs-it/d0
    expect_out "upload-chain-table with enough chains" "Upload ChainTableId(1) of ChainTableVersion(2) succeeded" \
        "$(admin 1 "upload-chain-table 1 /opt/3fs/etc/table.csv")"
    onq 2 bash -c 'echo hello > /mnt/3fs-it/f && cat /mnt/3fs-it/f' | grep -qx hello &&
        ok "fuse: a file written on the node reads back" || bad "fuse: write/read"
    sum=$(onq 2 bash -c 'head -c 3000000 /dev/urandom | tee /mnt/3fs-it/big | md5sum')
    [ "$(onq 2 bash -c 'md5sum </mnt/3fs-it/big')" = "$sum" ] &&
        [ "$(onq 2 stat -c %s /mnt/3fs-it/big)" = 3000000 ] &&
        ok "fuse: a 3 MB file (several chunks) reads back intact" || bad "fuse: 3 MB file"
    # The data lives on the storage targets (both replicas of a chain), not on the client.
    c1=$(find "$W1/data" -path '*/chunks/*' -type f | wc -l)
    c2=$(find "$W2/data" -path '*/chunks/*' -type f | wc -l)
    [ "$c1" -gt 0 ] && [ "$c1" -eq "$c2" ] &&
        ok "fuse: file data is stored as chunks on both storage nodes ($c1 each)" ||
        bad "fuse: chunks on the storage nodes: $c1 and $c2"
    onq 2 bash -c 'mkdir /mnt/3fs-it/d && mv /mnt/3fs-it/f /mnt/3fs-it/d/g && rm /mnt/3fs-it/big && ls -R /mnt/3fs-it' >"$WORK/ls.out"
    [ "$(tr '\n' ' ' <"$WORK/ls.out")" = "/mnt/3fs-it: d  /mnt/3fs-it/d: g " ] &&
        [ "$(find "$W1/data" -path '*/chunks/*' -type f | wc -l)" -eq 1 ] &&
        ok "fuse: mkdir, rename and unlink (its chunks are removed)" ||
        bad "fuse: namespace ops: $(cat "$WORK/ls.out")"
    # B8: meta checks tokens only when authenticate = true (hot-updated); the client
    # takes HF3FS_FUSE_TOKEN as it is and checks nothing itself.
    onq 2 mkdir -p /mnt/3fs-it2
    onq 2 docker run -d --name t-fuse2 --network host --privileged --device /dev/fuse \
        -e HF3FS_FUSE_TOKEN=AAAAbadtokenAAAA -v /mnt/3fs-it2:/mnt/3fs:rshared -v "$NOTOKEN:/opt/3fs/etc" \
        "$I3FS" /opt/3fs/bin/hf3fs_fuse_main --launcher_cfg /opt/3fs/etc/hf3fs_fuse_main_launcher.toml >/dev/null
    mounted2() { onq 2 grep -q ' /mnt/3fs-it2 ' /proc/mounts; }
    wait_for 15 mounted2 && onq 2 ls /mnt/3fs-it2/d >/dev/null &&
        ok "B8: with authenticate = false a client with an unknown token (HF3FS_FUSE_TOKEN) works" ||
        bad "B8: client with an unknown token: $(onq 2 docker logs t-fuse2 2>&1 | tail -3)
$(onq 2 docker exec t-fuse2 tail -3 /var/log/3fs/hf3fs_fuse_main.log 2>&1)"
    d=$(variant meta-auth 1 "s/^authenticate = false/authenticate = true/" meta_main.toml)
    v=$(config_version "$(admin_in 1 "$d" "set-config --type META --file /opt/3fs/etc/meta_main.toml")")
    metaup() { nodes | grep -qE "^100 .* $v\(UPTODATE\)"; }
    wait_for 15 metaup || bad "B8: meta did not apply META config $v: $(nodes)"
    if out=$(onq 2 ls /mnt/3fs-it2/d 2>&1); then
        bad "B8: an unknown token works with authenticate = true"
    else
        expect_out "B8: with authenticate = true meta refuses an unknown token" "Operation not permitted" "$out"
    fi
    onq 2 ls /mnt/3fs-it/d | grep -qx g && ok "B8: with authenticate = true the minted token works" ||
        bad "B8: minted token with authenticate = true"
    onq 2 docker stop t-fuse2 >/dev/null
    onq 2 docker rm t-fuse2 >/dev/null
    # A chain keeps serving on its remaining replica while a storage node is down.
    onq 2 docker stop t-storage >/dev/null
    if wait_for 15 half; then
        sleep 2.5 # the client's routing info is at most 2 s old
        onq 2 bash -c 'echo degraded > /mnt/3fs-it/h && cat /mnt/3fs-it/h' | grep -qx degraded &&
            ok "fuse: write and read while storage 10002 is down (one replica left)" ||
            bad "fuse: I/O with one replica down"
    else
        bad "fuse: chains did not lose a replica when storage 10002 stopped"
    fi
    onq 2 docker start t-storage >/dev/null
else
    bad "fuse: nothing mounted at /mnt/3fs-it: $(onq 2 docker logs t-fuse 2>&1 | tail -3; tail -3 "$W2/log/hf3fs_fuse_main.log")"
fi
onq 2 docker stop t-fuse >/dev/null
mounted && bad "fuse: mount left behind after stop" || ok "fuse: unmounted on stop"
out=$(onq 1 docker run --rm "$I3FS" /opt/3fs/bin/fio --version)
expect_out "fio in the 3fs image is Debian's fio" "fio-3" "$out"
[ -s "$W1/log/mgmtd_main.log" ] && [ -s "$W2/log/storage_main.log" ] &&
    ok "services log to /var/log/3fs" || bad "no logs in /var/log/3fs"

echo "test_images: $((SECONDS - T0)) s after the lab was up"
it_done test_images
