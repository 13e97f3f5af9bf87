#!/bin/bash
# Lab check of the stand-ins' chain migration (docs/stand-ins.md "Chain
# states and migration"; upstream rules at deepseek-ai/3FS ee9a5ce), on a
# cluster made by `m3fs cluster create` (3 nodes, storage on all, RF 2, the
# FUSE client on lab-n3):
#  * files written through FUSE;
#  * update-chain --mode remove of a SERVING target and offline-target of a
#    chain's last serving target are refused, as upstream refuses them;
#  * one replica move, the command lines an executor runs: offline-target,
#    wait OFFLINE, update-chain --mode remove, remove-target, create-target
#    on the node that did not hold the chain, update-chain --mode add; the
#    new target goes SYNCING -> SERVING-UPTODATE and holds as many bytes as
#    the chain's other target;
#  * that other target offlined: the chain serves from the new target only,
#    and every file reads back through FUSE with its checksum.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh
. tests/integration/lib-create.sh
IT_SHOW_END=tail
it_init
it_workdir migrate
it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml

cr_images_loaded "$CFG"
mx cluster create -c "$CFG" --skip-bench >"$W/create.log" 2>&1 ||
    { tail -40 "$W/create.log"; echo "FAIL: cluster create"; exit 1; }
# short timings (lib-create.sh): the chains uploaded by create are frozen for
# upstream's 2 min otherwise; storage takes its new config at its next
# heartbeat (10 s), then refreshes its routing every second
cr_short_timings >"$W/out" 2>&1 || { cat "$W/out"; echo "FAIL: set-config of short timings"; exit 1; }
sleep 12

# admin WORD...: one admin_cli command, passed as one argument (admin_cli's
# own flags are parsed from its argv, as the real one's gflags are).
admin() { on 1 /opt/3fs/admin_cli.sh "$(printf '%q' "$*")" >"$W/out" 2>&1; }
targets() { on 1 /opt/3fs/admin_cli.sh list-targets 2>/dev/null; }
# state T: "PUBLIC LOCAL" of target T
state() { targets | awk -v t="$1" '$1 == t {print $4, $5}'; }
wait_state() { # wait_state T "PUBLIC LOCAL" SECONDS
    local i
    for ((i = 0; i < $3 * 2; i++)); do
        [ "$(state "$1")" = "$2" ] && return 0
        sleep 0.5
    done
    return 1
}
# fresh NODE: wait until storage node NODE has fetched the routing info since
# now. A storage node judges offline-target by its own routing info, so a
# refusal (or an acceptance) follows what mgmtd said only once the node has
# refreshed; it refreshes every second (cr_short_timings), so once a
# heartbeat stamped 2 s from now (LastHeartbeatTime has whole seconds) is
# listed, a refresh has begun after now.
fresh() {
    local i hb since=$(($(date +%s) + 2))
    for ((i = 0; i < 40; i++)); do
        hb=$(on 1 /opt/3fs/admin_cli.sh list-nodes 2>/dev/null | awk -v n="$1" '$1 == n {print $7, $8}')
        [ -n "$hb" ] && [ "$(TZ=UTC date -d "$hb" +%s 2>/dev/null || echo 0)" -ge "$since" ] && return 0
        sleep 0.5
    done
    echo "FAIL: storage node $1 has not heartbeated for 20 s"; return 1
}

for i in 1 2 3 4 5 6; do
    on 3 "head -c $((i * 700000)) /dev/urandom >/mnt/3fs/f$i.bin" ||
        { echo "FAIL: could not write through FUSE"; exit 1; }
done
on 3 'cd /mnt/3fs && sha256sum f*.bin' >"$W/sums" || { echo "FAIL: sha256sum"; exit 1; }

# The chain with the most data; A its head, O its other target, B the new
# target on the storage node the chain does not hold (same disk index).
targets >"$W/targets"
read -r C A NA DISK O < <(awk 'NR > 1 {c[$2] = c[$2] " " $1 ":" $6 ":" $7 ":" $8}
    END {for (k in c) print k, c[k]}' "$W/targets" |
    awk '{split($2, a, ":"); split($3, o, ":"); print a[4] + o[4], $1, a[1], a[2], a[3], o[1]}' |
    sort -rn | head -1 | cut -d' ' -f2-)
NB=$(awk 'NR > 1 {print $6}' "$W/targets" | sort -u | grep -vx -e "$NA" -e "$(awk -v t="$O" '$1 == t {print $6}' "$W/targets")" | head -1)
B=$(((1000000 + NB) * 100000 + (DISK + 1) * 100 + 99))
if [ -n "$C" ] && [ -n "$NB" ]; then
    ok "chain $C: move $A (node $NA) to $B (node $NB), keep $O"
else
    echo "FAIL: no chain to move in:"; cat "$W/targets"; exit 1
fi

admin update-chain "$C" "$A" --mode remove
has "Do not allow to remove target $A from chain $C: state is SERVING" &&
    ok "update-chain --mode remove refuses a SERVING target" || bad "remove SERVING"

# --- one replica move ---------------------------------------------------------
admin offline-target --node-id "$NA" --target-id "$A"
has "Offline target $A of $NA succeeded" && ok "offline-target" || bad "offline-target"
wait_state "$A" "OFFLINE OFFLINE" 15 && ok "$A is OFFLINE-OFFLINE" || bad "$A: $(state "$A")"
NO=$(awk -v t="$O" '$1 == t {print $6}' "$W/targets")
fresh "$NO"
admin offline-target --node-id "$NO" --target-id "$O"
has "target is the last online target!" &&
    ok "offline-target refuses the chain's last serving target" || bad "offline of the last one"
admin update-chain "$C" "$A" --mode remove
has "ChainVersion" && ! has "$A(" && ok "update-chain --mode remove" || bad "update-chain remove"
for _ in $(seq 20); do # once node NA has seen the new routing info
    admin remove-target --node-id "$NA" --target-id "$A"
    has "still in a chain" || break
    sleep 0.5
done
has "Remove target $A of $NA succeeded" && ok "remove-target" || bad "remove-target"
admin create-target --node-id "$NB" --disk-index "$DISK" --target-id "$B" --chain-id "$C" \
    --use-new-chunk-engine
has "Create target $B on disk $DISK of $NB succeeded" && ok "create-target" || bad "create-target"
admin update-chain "$C" "$B" --mode add
has "$B(OFFLINE)" && ok "update-chain --mode add appends $B OFFLINE" || bad "update-chain add"
wait_state "$B" "SERVING UPTODATE" 60 && ok "$B became SERVING-UPTODATE" || bad "$B: $(state "$B")"
targets >"$W/targets2"
used() { awk -v t="$1" '$1 == t {print $8}' "$W/targets2"; }
[ "$(used "$B")" -gt 0 ] && [ "$(used "$B")" = "$(used "$O")" ] &&
    ok "$B holds the chain's $(used "$B") bytes" || bad "used: $B $(used "$B"), $O $(used "$O")"
! grep -q "^$A " "$W/targets2" && ok "$A is gone from list-targets" || bad "$A still listed"

# --- reads served by the new target alone ---------------------------------------
fresh "$NO" # until then O's node may still see itself as the chain's only serving target
admin offline-target --target-id "$O"
wait_state "$O" "OFFLINE OFFLINE" 15 && ok "$O offlined: the chain serves from $B only" ||
    bad "$O: $(state "$O")"
on 1 /opt/3fs/admin_cli.sh list-chains >"$W/out" 2>&1
grep -q "^$C .*SERVING(1/2) .*$B(SERVING-UPTODATE)" "$W/out" && ok "list-chains: $C SERVING(1/2)" ||
    bad "list-chains"
sync
echo 3 >/proc/sys/vm/drop_caches
on 3 'cd /mnt/3fs && sha256sum -c' <"$W/sums" >"$W/out" 2>&1 &&
    ok "every file reads back with its checksum" || bad "files differ after the move"

it_done "test_migrate_standin"
