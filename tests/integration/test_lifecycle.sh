#!/bin/bash
# Integration test of `m3fs cluster stop`, `start` and `restart` on a 3-node
# lab (scripts/lab.sh: fdb, clickhouse, monitor on lab-n1; mgmtd and meta on
# lab-n1 and lab-n2; storage on all three; the FUSE client on lab-n3) with
# the stand-in images, loaded the user's way:
#  * --dry-run prints the order and changes nothing; a bad --role / --node is
#    a usage error naming what exists;
#  * stop: every container stopped (none removed), 3FS unmounted, the data
#    kept; a second stop does nothing;
#  * start: `cluster status` exit 0 and a file written through FUSE before
#    the stop reads back the same;
#  * stop/start --role storage: only storage stops; back healthy;
#  * restart --node lab-n2: every container there restarted, none elsewhere;
#  * a node "rebooted" (lab-n3's dockerd stopped, its mounts dropped, dockerd
#    started again: containers come back by their restart policy, 3FS not
#    mounted): start mounts 3FS again and the file reads back;
#  * upgrade (tags made from the stand-in image on every node, with the
#    image label m3fs.shuffle-method of contract B15): --dry-run names the
#    primary mgmtd and moves the standby first, B15 "unknown" (the pinned
#    image has no label), no fdb; the upgrade to 20990101 while lab-n3
#    writes and reads back files through FUSE in a loop (no I/O error before
#    its own client's remount, every file intact by checksum) and the chains
#    are sampled every second (never below RF-1 SERVING targets): every 3FS
#    container on the new tag, healthy; cluster.yml naming what runs:
#    nothing to upgrade; a tag with another shuffle method: refused without
#    --force; a tag (from cluster.yml, no --image-tag) whose storage_main
#    exits at once: the upgrade stops at the first storage node and moves it
#    back to the image it ran, healthy.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=tail
it_init
"$M" cluster stop --help >/dev/null 2>&1 || it_skip "this m3fs has no 'cluster stop'"
it_workdir lifecycle
it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml
NODES="1 2 3"

cr_images_loaded "$CFG"
mx cluster create -c "$CFG" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }
on 3 'head -c 3000000 /dev/urandom >/mnt/3fs/life.bin && sync /mnt/3fs/life.bin' ||
    { echo "FAIL: could not write through FUSE"; exit 1; }
SUM=$(on 3 'sha256sum </mnt/3fs/life.bin')

running() { local i; for i in $NODES; do on "$i" 'docker ps -q | wc -l'; done | paste -sd' '; }
all_ctrs() { local i; for i in $NODES; do on "$i" 'docker ps -aq | wc -l'; done | paste -sd' '; }
mounted() { on 3 'grep -c " /mnt/3fs fuse.hf3fs " /proc/mounts'; }
started_at() { on "$1" 'docker ps --format "{{.Names}}" | sort | xargs docker inspect -f "{{.Name}} {{.State.StartedAt}}"'; }
healthy() { mx cluster status -c "$CFG" >"$W/status" 2>&1; }
intact() { [ "$(on 3 'sha256sum </mnt/3fs/life.bin' 2>&1)" = "$SUM" ]; }
BEFORE=$(running)
TOTAL=$(all_ctrs)

# --- dry-run and usage errors -------------------------------------------------
mx cluster stop -c "$CFG" --dry-run >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "[1] client: stop containers and unmount 3FS" &&
    has "[2] storage: stop containers (SIGTERM, up to 300 s to finish)" &&
    has "[7] fdb: stop containers" && [ "$(running)" = "$BEFORE" ]; then
    ok "stop --dry-run prints clients first, storage with its flush time, fdb last; nothing stopped"
else bad "stop --dry-run (rc=$rc)"; fi

mx cluster start -c "$CFG" --node lab-n9 >"$W/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && has "no node named 'lab-n9'" && has "lab-n1, lab-n2, lab-n3"; then
    ok "an unknown --node is a usage error naming the nodes"
else bad "--node lab-n9 (rc=$rc)"; fi
mx cluster stop -c "$CFG" --role store >"$W/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && has "unknown service 'store'" && [ "$(running)" = "$BEFORE" ]; then
    ok "an unknown --role is a usage error naming the services"
else bad "--role store (rc=$rc)"; fi

# --- stop all, start all --------------------------------------------------------
t0=$(date +%s)
mx cluster stop -c "$CFG" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3FS cluster 'lab' stopped" && [ "$(running)" = "0 0 0" ] &&
    [ "$(all_ctrs)" = "$TOTAL" ] && [ "$(mounted)" = 0 ] &&
    on 2 'test -d /opt/3fs/storage/3fsdata/data0' && on 1 'test -d /opt/3fs/fdb/data'; then
    ok "stop: every container stopped, none removed, 3FS unmounted, data kept ($(($(date +%s) - t0)) s)"
else bad "stop (rc=$rc; running $(running), all $(all_ctrs) of $TOTAL, mounted $(mounted))"; fi

mx cluster stop -c "$CFG" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "(0 actions ran"; then ok "a second stop does nothing"
else bad "second stop (rc=$rc)"; fi

t0=$(date +%s)
mx cluster start -c "$CFG" >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3FS cluster 'lab' started" && [ "$(running)" = "$BEFORE" ] &&
    [ "$(mounted)" = 1 ] && healthy && intact; then
    ok "start: every container back, status healthy, the file intact ($(($(date +%s) - t0)) s)"
else bad "start (rc=$rc; running $(running) want $BEFORE; mounted $(mounted))"; cat "$W/status"; fi

# --- one role ------------------------------------------------------------------
mx cluster stop -c "$CFG" --role storage >"$W/out" 2>&1
rc=$?
st_running=$(for i in $NODES; do on "$i" 'docker ps -q --filter name=^3fs-storage$ | wc -l'; done | paste -sd' ')
meta_running=$(on 2 'docker ps -q --filter name=^3fs-meta$ | wc -l')
if [ $rc -eq 0 ] && [ "$st_running" = "0 0 0" ] && [ "$meta_running" = 1 ] &&
    [ "$(mounted)" = 1 ] && ! has "meta: stop"; then
    ok "stop --role storage stops storage only"
else bad "stop --role storage (rc=$rc; storage running: $st_running, meta: $meta_running)"; fi

mx cluster start -c "$CFG" --role storage >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "3fs: wait until every target is SERVING-UPTODATE" &&
    [ "$(running)" = "$BEFORE" ] && healthy && intact; then
    ok "start --role storage: targets SERVING-UPTODATE, healthy, the file intact"
else bad "start --role storage (rc=$rc)"; cat "$W/status"; fi

# --- restart one node ----------------------------------------------------------------
b1=$(started_at 1) b2=$(started_at 2) b3=$(started_at 3)
mx cluster restart -c "$CFG" --node lab-n2 >"$W/out" 2>&1
rc=$?
a2=$(started_at 2)
same2=$(comm -12 <(echo "$b2") <(echo "$a2") | wc -l)
if [ $rc -eq 0 ] && has "3FS cluster 'lab' restarted (lab-n2)" && [ "$same2" = 0 ] &&
    [ "$(echo "$a2" | wc -l)" = "$(echo "$b2" | wc -l)" ] &&
    [ "$(started_at 1)" = "$b1" ] && [ "$(started_at 3)" = "$b3" ] && healthy && intact; then
    ok "restart --node lab-n2: its $(echo "$a2" | wc -l) containers restarted, no other; healthy; the file intact"
else bad "restart --node lab-n2 (rc=$rc; unchanged on n2: $same2)"; cat "$W/status"; fi

# --- a node rebooted --------------------------------------------------------------
# dockerd stops its containers when it ends; the node's mounts go as at a
# reboot (the FUSE mount and m3fs's shared bind mount of /mnt/3fs); dockerd
# starts the containers again by their restart policy (unless-stopped).
if cr_dockerd_stop 3 &&
    on 3 'while grep -q " /mnt/3fs " /proc/mounts; do umount -l /mnt/3fs || exit 1; done' &&
    cr_dockerd_start 3; then
    mx cluster start -c "$CFG" >"$W/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ "$(mounted)" = 1 ] && [ "$(running)" = "$BEFORE" ] && healthy && intact; then
        ok "after lab-n3 'rebooted', start mounts 3FS again; healthy; the file intact"
    else bad "start after a reboot (rc=$rc; mounted $(mounted); running $(running))"; cat "$W/status"; fi
else
    bad "could not restart lab-n3's dockerd"
fi

# --- upgrade ---------------------------------------------------------------------
# The new tags are commits of a created (never run) container of the stand-in
# image, so they keep its CMD and add one label: m3fs.shuffle-method, m3fs's
# convention for contract B15 (docs/lifecycle.md; the pinned image, like the
# real 20250410, has none).  20990101: g++11; 20990202: g++11 and a
# storage_main that exits at once; 20990303: stdshuffle.
OLD=open3fs/3fs:20250410
images3fs() { local i; for i in $NODES; do on "$i" 'for c in $(docker ps --format "{{.Names}}" | grep -E "^3fs-(monitor|mgmtd|meta|storage|client)$"); do docker inspect -f "{{.Name}} {{.Config.Image}}" "$c"; done'; done; }
mx cluster upgrade -c "$CFG" --image-tag 20990101 --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "is not on the node" && ! images3fs | grep -q 20990101; then
    ok "upgrade to a tag no node has: refused before any container changed"
else bad "upgrade without the image (rc=$rc)"; fi
mk='docker commit --change "LABEL m3fs.shuffle-method=$2" m3fs-mk "$1" >/dev/null && docker rm m3fs-mk >/dev/null'
for i in $NODES; do on "$i" "set -e; mk() { $mk; }; docker rm -f m3fs-mk >/dev/null 2>&1 || true
docker create --name m3fs-mk $OLD >/dev/null; mk open3fs/3fs:20990101 g++11
docker create --name m3fs-mk $OLD >/dev/null; mk open3fs/3fs:20990303 stdshuffle
docker run --name m3fs-mk $OLD /bin/sh -c 'rm -f /opt/3fs/bin/storage_main && printf \"#!/bin/sh\\necho broken >&2\\nexit 1\\n\" >/opt/3fs/bin/storage_main && chmod 755 /opt/3fs/bin/storage_main'
docker commit --change 'CMD [\"/bin/bash\"]' --change 'LABEL m3fs.shuffle-method=g++11' m3fs-mk open3fs/3fs:20990202 >/dev/null && docker rm m3fs-mk >/dev/null" ||
    bad "could not make the upgrade tags on lab-n$i"; done
mx cluster upgrade -c "$CFG" --image-tag 20990101 --dry-run >"$W/out" 2>&1
rc=$?
prim=$(sed -n 's/.*the primary (\(lab-n[0-9]\), from list-nodes) last.*/\1/p' "$W/out")
standby=lab-n1; [ "$prim" = lab-n1 ] && standby=lab-n2
at() { grep -n -F -- "$1" "$W/out" | head -1 | cut -d: -f1; }
if [ $rc -eq 0 ] && has "9 units" && has "storage: move lab-n2 to open3fs/3fs:20990101" &&
    has "chain-shuffle build method (contract B15, image label m3fs.shuffle-method): unknown" &&
    [ -n "$prim" ] && [ "$(at "mgmtd: move $standby")" -lt "$(at "mgmtd: move $prim")" ] &&
    ! has "fdb: move" && ! images3fs | grep -q 20990101; then
    ok "upgrade --dry-run: the order (standby mgmtd $standby before the primary $prim), B15 unknown, no fdb; nothing changed"
else bad "upgrade --dry-run (rc=$rc; primary '$prim')"; fi

# During the upgrade: lab-n3 writes, reads back and checks files through FUSE
# in a loop (it ends at its own client's remount, the one documented break:
# an error counts as that when lab-n3's client container is replaced within
# 8 s; a storage node's move is followed by at least its 10 s settle wait);
# the chains are sampled every second (RF 2: never below 1 SERVING target).
# stderr goes to /dev/null before the FUSE file is opened: a failed open is
# reported by the shell itself, and would count as an error of its own.
IO='d=/mnt/3fs/upg; mkdir -p $d; rm -f /tmp/m3fs-io.stop; : >/tmp/m3fs-io.sums
c0=$(docker inspect -f "{{.State.Running}} {{.State.StartedAt}}" 3fs-client); i=0
fail() { t=$(date +%s); k=0; while [ $k -lt 16 ]; do
    c=$(docker inspect -f "{{.State.Running}} {{.State.StartedAt}}" 3fs-client 2>/dev/null)
    [ "$c" = "$c0" ] || { echo "remount $1 at $t"; exit 0; }; k=$((k + 1)); sleep 0.5; done
  echo "ioerror $1 at $t"; exit 0; }
while [ ! -e /tmp/m3fs-io.stop ]; do
  i=$((i + 1))
  head -c 262144 /dev/urandom >/tmp/m3fs-io.buf
  sum=$(sha256sum </tmp/m3fs-io.buf | cut -c1-64)
  cp /tmp/m3fs-io.buf $d/f$i 2>/dev/null && sync $d/f$i 2>/dev/null || fail "write f$i"
  echo "f$i $sum" >>/tmp/m3fs-io.sums; echo "ok f$i"
  j=$(( (i + 1) / 2 )); want=$(grep "^f$j " /tmp/m3fs-io.sums | cut -d" " -f2)
  sha256sum 2>/dev/null <$d/f$j >/tmp/m3fs-io.got || fail "read f$j"
  [ "$(cut -c1-64 /tmp/m3fs-io.got)" = "$want" ] || echo "corrupt f$j"
  sleep 0.2
done'
on 3 "$IO" >"$W/io.log" 2>&1 &
io_pid=$!
: >"$W/chains.log"
(while [ ! -e "$W/sample.stop" ]; do
    for n in 1 2; do
        on "$n" '/opt/3fs/admin_cli.sh list-chains' 2>/dev/null |
            awk '/^ChainId/ {h = 1; next} h && NF {s = 0; for (f = 6; f <= NF; f++) if ($f ~ /\(SERVING-/) s++; if (min == "" || s < min) min = s} END {if (min != "") {print "min", min; exit 0} exit 1}' \
            >>"$W/chains.log" && break
    done
    sleep 1
done) &
sampler=$!
t0=$(date +%s)
# each line of the upgrade's log with the time it came (to name the unit an
# I/O error fell in)
mx cluster upgrade -c "$CFG" --image-tag 20990101 --yes 2>&1 |
    while IFS= read -r l; do printf '%s %s\n' "$(date +%s)" "$l"; done >"$W/out.t"
rc=${PIPESTATUS[0]}
cut -d' ' -f2- "$W/out.t" >"$W/out"
touch "$W/sample.stop"; on 3 'touch /tmp/m3fs-io.stop'
wait "$sampler"; wait "$io_pid"
imgs=$(images3fs)
if [ $rc -eq 0 ] && [ "$(echo "$imgs" | grep -c 20990101)" = 9 ] && ! echo "$imgs" | grep -q 20250410 &&
    [ "$(at "mgmtd: move $standby")" -lt "$(at "mgmtd: move $prim")" ] && healthy && intact; then
    ok "upgrade: all 9 3FS containers on the new tag, the standby mgmtd first, healthy, the file intact ($(($(date +%s) - t0)) s)"
else bad "upgrade (rc=$rc): $imgs"; tail -30 "$W/out"; cat "$W/status"; fi
n_ok=$(grep -c '^ok ' "$W/io.log")
bad_io=$(grep -vE '^(ok|remount) ' "$W/io.log")
files_bad=$(on 3 'while read -r f s; do [ "$(sha256sum </mnt/3fs/upg/$f | cut -c1-64)" = "$s" ] || echo "$f"; done </tmp/m3fs-io.sums' 2>&1)
if [ "$n_ok" -ge 10 ] && [ -z "$bad_io" ] && grep -q '^remount ' "$W/io.log" && [ -z "$files_bad" ]; then
    ok "a client wrote and read $n_ok files during the upgrade: no I/O error before its remount, every file intact"
else
    t_err=$(sed -n 's/.* at \([0-9]*\)$/\1/p' "$W/io.log" | head -1)
    unit=$(awk -v t="${t_err:-0}" '$1 <= t && / move lab-/ {u = $0} END {print u}' "$W/out.t")
    bad "I/O during the upgrade: $n_ok files; $(tail -3 "$W/io.log" | paste -sd';'); bad files: $files_bad; last move before it: $unit"
fi
n_samples=$(grep -c '^min ' "$W/chains.log")
lowest=$(awk '$1 == "min" {print $2}' "$W/chains.log" | sort -n | head -1)
if [ "$n_samples" -ge 10 ] && [ "$lowest" -ge 1 ]; then
    ok "chains sampled $n_samples times during the upgrade: never below RF-1 = 1 SERVING target (lowest $lowest)"
else bad "chain samples: $n_samples, lowest '${lowest}'"; fi

# cluster.yml names 20250410; make it name 20990101, as the upgrade told us
# to: the images then come from cluster.yml alone.
grep -q '^images:' "$CFG" || printf 'images:\n  3fs: {repo: open3fs/3fs, tag: "20990101"}\n' >>"$CFG"
mx cluster upgrade -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "nothing to upgrade"; then ok "upgrade with cluster.yml's images, all on them already: nothing to upgrade"
else bad "upgrade to what runs (rc=$rc)"; fi
mx cluster upgrade -c "$CFG" --image-tag 20990303 --dry-run >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "changes from g++11 to stdshuffle" && has "refused without --force"; then
    ok "B15: a tag with another chain-shuffle method is refused without --force (dry-run shows it)"
else bad "B15 refusal (rc=$rc)"; fi
mx cluster upgrade -c "$CFG" --image-tag 20990303 --dry-run --force >"$W/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && has "changes from g++11 to stdshuffle"; then ok "B15: --force lets it plan"
else bad "B15 --force (rc=$rc)"; fi
sed -i 's/tag: "20990101"/tag: "20990202"/' "$CFG"
mx cluster upgrade -c "$CFG" --yes >"$W/out" 2>&1
rc=$?
imgs=$(images3fs)
if [ $rc -eq 1 ] && has "moving storage on lab-n1 back to open3fs/3fs:20990101" &&
    has "which is back on open3fs/3fs:20990101" && ! echo "$imgs" | grep -q "3fs-storage open3fs/3fs:20990202" &&
    ! has "storage: move lab-n2" && healthy && intact; then
    ok "a tag (from cluster.yml) whose storage never comes up: the upgrade stops at the first storage node, moves it back; healthy"
else bad "failing upgrade (rc=$rc): $imgs"; tail -20 "$W/out"; cat "$W/status"; fi

it_done "lifecycle"
