# Set-up shared by the `cluster create` topology test and the create
# benchmark (sourced from the repository root after tests/integration/lib.sh
# and it_workdir/it_lab_up, so W, M, KH and M3FS_LAB_DIR are set).
#
# cr_cluster_yml OUT NAME N [EXTRA_HOST]
#                     write the head of a cluster.yml (name, workDir /opt/3fs,
#                     TCP) and nodes lab-n1..lab-nN of the lab; with
#                     EXTRA_HOST also a node lab-x at that address.  The
#                     caller appends the `services:` section.
# cr_yml_list A B     "[lab-nA, ..., lab-nB]"
# cr_images_loaded CFG
#                     the user's path to loaded images: build the stand-in
#                     images (tests/images/build.sh, cached), serve them over
#                     HTTP, `artifact download` them into a bundle and
#                     `cluster prepare -a` it onto CFG's nodes.  On failure
#                     print the log and exit 1.
# cr_dockerd_stop I   stop lab node I's dockerd (remembering its command line)
# cr_dockerd_start I  start it again as before and wait until it answers.

cr_yml_list() {
    local i out=
    for i in $(seq "$1" "$2"); do out+="${out:+, }lab-n$i"; done
    echo "[$out]"
}

cr_cluster_yml() {
    local out=$1 name=$2 n=$3 extra=${4:-} i
    {
        printf 'name: %s\nworkDir: /opt/3fs\nnetworkType: TCP\nlogLevel: INFO\nnodes:\n' "$name"
        for i in $(seq 1 "$n"); do
            printf '  - {name: lab-n%s, host: 198.18.0.%s, username: root, identityFile: %s}\n' \
                "$i" $((10 + i)) "$M3FS_LAB_DIR/id_ed25519"
        done
        [ -z "$extra" ] ||
            printf '  - {name: lab-x, host: %s, username: root, identityFile: %s}\n' \
                "$extra" "$M3FS_LAB_DIR/id_ed25519"
    } >"$out"
}

cr_images_loaded() {
    local cfg=$1 port server rc=0
    bash tests/images/build.sh "$W/img" >"$W/img.log" 2>&1 ||
        { tail -20 "$W/img.log"; echo "FAIL: could not build the stand-in images"; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 --directory "$W/img" "$port" >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
    "$M" artifact download -c "$cfg" --base-url "http://127.0.0.1:$port" -t "$W/cache" \
        -o "$W/bundle.tar" >"$W/dl.log" 2>&1 || rc=1
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    [ $rc -eq 0 ] || { cat "$W/dl.log"; echo "FAIL: artifact download"; exit 1; }
    "$M" --known-hosts "$KH" cluster prepare -c "$cfg" -a "$W/bundle.tar" >"$W/prep.log" 2>&1 ||
        { cat "$W/prep.log"; echo "FAIL: cluster prepare"; exit 1; }
    rm -rf "$W/cache" "$W/bundle.tar"
}

# The lab starts dockerd with a pid file in the node's private /run
# (scripts/lab/node.sh); its command line is kept to start it the same way.
cr_dockerd_stop() {
    local i=$1
    on "$i" 'cat /proc/$(cat /run/docker.pid)/cmdline' >"$W/dockerd-n$i.argv" || return 1
    on "$i" 'p=$(cat /run/docker.pid); kill $p; for _ in $(seq 300); do kill -0 $p 2>/dev/null || exit 0; sleep 0.1; done; exit 1'
}

cr_dockerd_start() {
    local i=$1 args=() cmd=
    mapfile -d '' args <"$W/dockerd-n$i.argv"
    [ ${#args[@]} -gt 0 ] || return 1
    cmd=$(printf '%q ' "${args[@]}")
    on "$i" "setsid $cmd </dev/null >>/run/m3fs-lab/dockerd.log 2>&1 & 
        for _ in \$(seq 300); do /run/m3fs-lab-bin/docker.real info >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"
}

# cr_short_timings: mgmtd, storage and meta of a created cluster given
# timings shorter than upstream's defaults, as a user could set them
# (admin_cli set-config, hot-updated; the whole text, m3fs's own files left
# alone): a node failed 5 s after its last heartbeat, checked every second
# (default 60 s, every 10 s); new chains, and every chain after a mgmtd
# takes the lease, frozen 5 s (default 2 min); heartbeats and routing
# refreshes every second (default 10 s).  For tests of the stand-ins'
# chain rules, not of m3fs's waits, which must hold with the defaults.
cr_short_timings() {
    on 1 'bash -s' <<'SH'
set -e
d=/opt/3fs/mgmtd/config.d
cli() { docker exec 3fs-mgmtd /opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml "$1"; }
sed '/^\[server.service\]$/a heartbeat_fail_interval = "5s"\ncheck_status_interval = "1s"\nnew_chain_bootstrap_interval = "5s"' \
    $d/mgmtd_main.toml >$d/short_mgmtd.toml
sed '/^\[server.mgmtd\]$/a auto_heartbeat_interval = "1s"\nauto_refresh_interval = "1s"' \
    $d/main/storage_main.toml >$d/main/short_storage.toml
sed '/^\[server.mgmtd_client\]$/a auto_heartbeat_interval = "1s"\nauto_refresh_interval = "1s"' \
    $d/main/meta_main.toml >$d/main/short_meta.toml
for f in $d/short_mgmtd.toml $d/main/short_storage.toml $d/main/short_meta.toml; do
    [ "$(grep -c '_interval = ' "$f")" -ge 2 ] || { echo "no section to add to in $f"; exit 1; }
done
cli 'set-config --type MGMTD --file /opt/3fs/etc/short_mgmtd.toml'
cli 'set-config --type STORAGE --file /opt/3fs/etc/main/short_storage.toml'
cli 'set-config --type META --file /opt/3fs/etc/main/short_meta.toml'
SH
}
