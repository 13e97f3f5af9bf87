#!/bin/bash
# Integration test of prepare's image relay (issue 19, docs/prepare.md
# "Relay") on a 6-node lab, every link shaped to 100 Mbit/s, every node
# needing all three images of a generated bundle (3fs 96 MiB):
#  - the pipeline: each image streamed once into lab-n1 and passed on
#    n1 -> n2 -> ... -> n6; every node's copy checked and loaded, markers
#    written; the report names each image's path; no key left anywhere;
#  - a corrupted relay: lab-n3 flips a byte of its copy (the test hook of
#    templates/m3fs-relay.sh, enabled by a file in lab-n3's /run): the sha256
#    check catches it, lab-n3 gets the image again directly, lab-n4 still got
#    it from lab-n3;
#  - lab-n3's sshd (and its connections) killed mid-stream: the other five
#    finish (n4..n6, left with short copies past the cut, are chained again),
#    lab-n3 is named; lab-n3 still holds the run's restricted key line, which the
#    rerun (sshd back) removes while it prepares lab-n3.
set -u
{ # read as one compound command, so editing this file cannot disturb a run
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/prepare-lib.sh
it_init
command -v dockerd >/dev/null || it_skip "dockerd is not installed (scripts/install-deps.sh)"
it_workdir relay
F3=3fs_20250410_amd64.docker
N=6
prep_gen_bundle "$W/bundle.tar" 96 8 8
SUM_3FS=$(tar -xOf "$W/bundle.tar" manifest.json |
    python3 -c 'import json,sys; print([i["sha256"] for i in json.load(sys.stdin)["images"] if i["name"] == "3fs"][0])')

it_lab_up "$N" --bandwidth 100mbit
prep_cluster_yml_all "$M3FS_LAB_DIR" "$W/c.yml" "$N"
PREP=("$M" --known-hosts "$KH" cluster prepare -c "$W/c.yml" -a "$W/bundle.tar")
RD=/opt/3fs/images/.m3fs-relay

# --- helpers (and lib.sh's wait_until, nd, in_node, sshd_stop, sshd_start) ----
marker_ok() { [ "$(on "$1" "cat /opt/3fs/images/$F3.sha256")" = "$SUM_3FS" ]; }
loaded() {
    on "$1" docker image inspect open3fs/3fs:20250410 open3fs/foundationdb:7.3.63 \
        open3fs/clickhouse:25.1-jammy >/dev/null 2>&1
}
# No authorized_keys line of a run, no key, no relayed copy left on node I.
clean() {
    ! on "$1" "grep -q ' m3fs-relay\$' /root/.ssh/authorized_keys" &&
        [ -z "$(on "$1" "ls -A $RD 2>/dev/null")" ]
}
# via I KIND: the path the report gives node I's image KIND (3fs, fdb, ...).
via() {
    awk -v n="== lab-n$1 " -v k="$2" 'index($0, n) == 1 { s = 1; next } /^== |^[0-9]+ node/ { s = 0 }
        s && $1 == k && match($0, /\[[^]]*\]/) { print substr($0, RSTART + 1, RLENGTH - 2) }' "$W/out"
}
forget() { # make every node take the images again (markers gone)
    local i
    for i in $(seq "$N"); do on "$i" 'rm -f /opt/3fs/images/*.sha256'; done
}
chain_ok() { # every image went n1 -> n2 -> ... -> nN
    local i k want
    for k in 3fs fdb clickhouse; do
        for i in $(seq "$N"); do
            want="relay: from lab-n$((i - 1))"
            [ "$i" -gt 1 ] || want="relay: head of a chain of $N"
            [ "$(via "$i" "$k")" = "$want" ] || { echo "note: lab-n$i $k: '$(via "$i" "$k")'"; return 1; }
        done
    done
}

# --- the pipeline ---------------------------------------------------------------
t0=$SECONDS
"${PREP[@]}" >"$W/out" 2>&1
rc=$?
took=$((SECONDS - t0))
good=1
for i in $(seq "$N"); do marker_ok "$i" && loaded "$i" && clean "$i" || { good=0; echo "note: lab-n$i not done or not clean"; }; done
if [ $rc -eq 0 ] && [ $good = 1 ] && chain_ok && has "relay: $F3 to 6 of 6 nodes in 1 chain"; then
    ok "pipeline to $N nodes in ${took}s: each image sent once, relayed n1..n$N, checked, loaded; no key left"
else bad "pipeline (rc=$rc)"; fi

# --- a corrupted relay ------------------------------------------------------------
forget
on 3 "echo 'corrupt $F3 at lab-n3' >/run/m3fs-test-corrupt-relay"
"${PREP[@]}" >"$W/out" 2>&1
rc=$?
on 3 'rm -f /run/m3fs-test-corrupt-relay'
good=1
for i in $(seq "$N"); do marker_ok "$i" && loaded "$i" && clean "$i" || good=0; done
if [ $rc -eq 0 ] && [ $good = 1 ] && has "TEST HOOK: lab-n3 corrupted its copy of $F3" &&
    has "lab-n3: the relayed copy of $F3 failed its check" &&
    [[ $(via 3 3fs) == "direct (the relayed copy failed its sha256 check, sent again)" ]] &&
    [ "$(via 4 3fs)" = "relay: from lab-n3" ] && [ "$(via 3 fdb)" = "relay: from lab-n2" ]; then
    ok "corrupted relay: lab-n3's bad copy caught by sha256, sent again directly; n4 still relayed"
else bad "corrupted relay (rc=$rc, n3: $(via 3 3fs))"; fi

# --- a node dropping out mid-stream -------------------------------------------------
forget
part_over() { [ "$(in_node 3 stat -c %s "$RD/$F3.part" 2>/dev/null || echo 0)" -gt "$1" ]; }
"${PREP[@]}" >"$W/out" 2>&1 &
pid=$!
wait_until 900 part_over 16000000 || echo "note: lab-n3's copy never passed 16 MB"
sshd_stop 3
t0=$SECONDS
while kill -0 $pid 2>/dev/null && [ $((SECONDS - t0)) -lt 240 ]; do sleep 0.2; done
kill -0 $pid 2>/dev/null && { echo "note: prepare still running after 240s: killed"; kill -9 $pid; }
wait $pid
rc=$?
good=1
for i in 1 2 4 5 6; do marker_ok "$i" && loaded "$i" || good=0; done
line=$(in_node 3 cat /root/.ssh/authorized_keys | grep ' m3fs-relay$')
if [ $rc -eq 1 ] && [ $good = 1 ] && has "failed on 1 of 6 nodes" && has_re "lab-n3" &&
    [ "$(via 2 3fs)" = "relay: from lab-n1" ] && has "relay: 3 nodes got a short copy of $F3" &&
    [ "$(via 4 3fs)" = "relay, second chain: head of a chain of 3" ] &&
    [ "$(via 6 3fs)" = "relay, second chain: from lab-n5" ] && clean 1 && clean 5; then
    ok "lab-n3 dropped out mid-stream: the other 5 finished (n4..n6 chained again), lab-n3 named"
else bad "node dropping out (rc=$rc; n4: $(via 4 3fs))"; fi
if [[ $line == "restrict,command=\"sh $RD/relay.sh hop $RD\",from=\"198.18.0.11,"*" m3fs-relay" ]] &&
    [ "$(in_node 3 stat -c %a "$RD/key")" = 600 ]; then
    ok "the run's key on lab-n3: restricted to the relay command and the nodes' addresses, key file 0600"
else bad "key line left on lab-n3: '$line'"; fi
sshd_start 3 || bad "sshd of lab-n3 did not start again"
"${PREP[@]}" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && marker_ok 3 && loaded 3 && clean 3 && [[ $(via 3 3fs) == direct* ]]; then
    ok "rerun: lab-n3 completes (directly: the only node left), the old key line removed"
else bad "rerun after the drop-out (rc=$rc)"; fi

it_done test_relay
}
