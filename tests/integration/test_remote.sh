#!/bin/bash
# Integration test of the remote layer (issue 3) against a real 3-node lab
# (scripts/lab.sh: namespaces with their own sshd): parallel exec with
# exit codes, 1 GiB upload with bounded client memory, login errors listing
# the methods tried, host key checks, per-command timeout, sudo for a
# non-root user, a local node without SSH, and unreachable nodes.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
it_init
command -v sudo >/dev/null || it_skip "sudo is not installed (scripts/install-deps.sh)"
it_workdir remote
IT_SHOW_LINES=30
# The log masks every registered secret; the lab config's default ClickHouse
# password is the word "password" itself, so that word may show as ******.
PWRE='(password|\*\*\*\*\*\*)'

it_lab_up 3
CFG=$M3FS_LAB_DIR/cluster.yml
# A clean client identity: no agent, no default keys in ~/.ssh.
mkdir -p "$W/home"
export HOME=$W/home
unset SSH_AUTH_SOCK
secs() { echo $(($(date +%s%N) / 1000000)); }

# --- exec on 3 nodes in parallel: outputs and exit codes ---------------------
mx cluster exec -c "$CFG" -- 'hostname; echo "e-$(hostname)" >&2; h=$(hostname); exit ${h#lab-n}' >"$W/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && has "== lab-n1 (198.18.0.11) exit 1" && has "== lab-n2 (198.18.0.12) exit 2" &&
    has "== lab-n3 (198.18.0.13) exit 3" && has "e-lab-n2" && has "3 nodes: 0 ok, 3 failed"; then
    ok "exec: per-node output and exit codes"
else bad "exec: per-node output and exit codes (rc=$rc)"; fi
[ "$(grep -A1 '^== lab-n3' "$W/out" | tail -1)" = lab-n3 ] && ok "exec: stdout under its node" ||
    bad "exec: stdout under its node"

t0=$(secs)
mx cluster exec -c "$CFG" --parallel 3 -- sleep 2 >"$W/out" 2>&1
rc=$? t=$(($(secs) - t0))
[ $rc -eq 0 ] && [ $t -lt 5000 ] && has "3 nodes: 3 ok" && ok "exec: 3 nodes in parallel (${t} ms)" ||
    bad "exec: parallel (rc=$rc, ${t} ms)"
t0=$(secs)
mx cluster exec -c "$CFG" --parallel 1 -- sleep 1 >"$W/out" 2>&1
t=$(($(secs) - t0))
[ $t -ge 3000 ] && ok "exec: --parallel 1 is serial (${t} ms)" || bad "exec: --parallel 1 (${t} ms)"

mx cluster exec -c "$CFG" --role client -- printf '%s|' 'a b' "it's" '$(id)' >"$W/out" 2>&1
if [ $? -eq 0 ] && has "a b|it's|\$(id)|" && has "1 node: 1 ok" && ! has lab-n1; then
    ok "exec: --role selection and argv quoting"
else bad "exec: --role / quoting"; fi
mx cluster exec -c "$CFG" --node nosuch -- true >"$W/out" 2>&1
[ $? -eq 2 ] && has "no node named 'nosuch'" && ok "exec: unknown node is a usage error" ||
    bad "exec: unknown node"

# --- 1 GiB upload to 3 nodes: sha256 equal, client RSS bounded ---------------
head -c 1G /dev/urandom >"$W/big.bin"
want=$(sha256sum "$W/big.bin" | cut -d' ' -f1)
/usr/bin/time -f 'maxrss_kb=%M' -o "$W/time" "$M" --known-hosts "$KH" cluster copy -c "$CFG" \
    "$W/big.bin" /opt/big.bin >"$W/out" 2>&1
rc=$?
rss=$(sed -n 's/^maxrss_kb=//p' "$W/time")
cat "$W/out"
if [ $rc -eq 0 ] && [ -n "$rss" ] && [ "$rss" -lt 65536 ]; then
    ok "upload 1 GiB to 3 nodes, client max RSS ${rss} KiB"
else bad "upload 1 GiB (rc=$rc, max RSS ${rss:-?} KiB)"; fi
rm -f "$W/big.bin"
mx cluster exec -c "$CFG" -- 'sha256sum /opt/big.bin; stat -c %a /opt/big.bin; ls -a /opt; rm -f /opt/big.bin' >"$W/out" 2>&1
n=$(grep -c "^$want  /opt/big.bin" "$W/out")
[ "$n" -eq 3 ] && [ "$(grep -cx 644 "$W/out")" -eq 3 ] && ! has ".m3fs-tmp" &&
    ok "sha256 equal on all 3 nodes, mode 0644, no temporary left" || bad "sha256 on nodes ($n of 3)"

# --- login failures list the methods tried -----------------------------------
sed -e "s#identityFile: .*#identityFile: $W/missing_key\n    password: wrong-password#" "$CFG" >"$W/badauth.yml"
mx cluster exec -c "$W/badauth.yml" --node lab-n1 -- true >"$W/out" 2>&1
if [ $? -eq 1 ] && has "cannot log in to lab-n1" && has "ssh-agent (not running)" &&
    has "default keys (none in" && has "identityFile $W/missing_key (cannot read: No such file" &&
    has_re "$PWRE \(refused\)" && ! has "wrong-"; then
    ok "missing key + wrong password: error lists every method tried"
else bad "login failure message"; fi

# --- host keys: unknown refused, accepted with the flag, changed refused -----
: >"$W/kh"
"$M" --known-hosts "$W/kh" cluster exec -c "$CFG" -- true >"$W/out" 2>&1
[ $? -eq 1 ] && has "unknown host key for 198.18.0.11" && has "SHA256:" &&
    has "accept-new-host-keys" && [ ! -s "$W/kh" ] && ok "unknown host key refused" ||
    bad "unknown host key refused"
"$M" --known-hosts "$W/kh" --accept-new-host-keys cluster exec -c "$CFG" -- true >"$W/out" 2>&1
[ $? -eq 0 ] && [ "$(wc -l <"$W/kh")" -eq 3 ] && ok "new host keys accepted and recorded" ||
    bad "accept new host keys"
M3FS_KNOWN_HOSTS=$W/kh "$M" cluster exec -c "$CFG" -- true >"$W/out" 2>&1
[ $? -eq 0 ] && ok "recorded keys verify (M3FS_KNOWN_HOSTS)" || bad "recorded keys verify"
ssh-keygen -q -t ed25519 -N '' -f "$W/other" && other=$(cut -d' ' -f1,2 "$W/other.pub")
grep -v '^198.18.0.11 ' "$W/kh" >"$W/kh2"
echo "198.18.0.11 $other" >>"$W/kh2"
cp "$W/kh2" "$W/kh2.orig"
"$M" --known-hosts "$W/kh2" --accept-new-host-keys cluster exec -c "$CFG" -- true >"$W/out" 2>&1
[ $? -eq 1 ] && has "HOST KEY CHANGED for 198.18.0.11" && has "== lab-n2 (198.18.0.12) exit 0" &&
    cmp -s "$W/kh2" "$W/kh2.orig" && ok "changed host key refused even with --accept-new-host-keys" ||
    bad "changed host key refused"

# --- the command timeout really ends the command -----------------------------
t0=$(secs)
mx cluster exec -c "$CFG" --node lab-n1 --timeout 2s -- 'echo started; sleep 599.25' >"$W/out" 2>&1
rc=$? t=$(($(secs) - t0))
# the node's `timeout -s KILL` ends it; give its reaping up to 5 s
if [ $rc -eq 1 ] && has "timed out after 2s" && has started && [ $t -lt 7000 ] &&
    wait_until 50 eval "! pgrep -f 'sleep 599.25' >/dev/null"; then
    ok "timeout ends 'sleep' after ${t} ms and the process is gone"
else bad "timeout (rc=$rc, ${t} ms, left: $(pgrep -f 'sleep 599.25'))"; fi

# --- non-root user with a sudo password --------------------------------------
PW=$(cat "$M3FS_LAB_DIR/m3fslab.password")
sed -e "s#username: root#username: m3fslab#" \
    -e "s#identityFile: .*#passwordFile: $M3FS_LAB_DIR/m3fslab.password#" "$CFG" >"$W/user.yml"
mx --debug cluster exec -c "$W/user.yml" --node lab-n2 -- 'id -un' >"$W/out" 2>&1
[ $? -eq 0 ] && grep -qx m3fslab "$W/out" && ok "password login as non-root user" || bad "non-root login"
mx --debug cluster exec -c "$W/user.yml" --sudo -- 'id -u; cat' >"$W/out" 2>&1
if [ $? -eq 0 ] && [ "$(grep -cx 0 "$W/out")" -eq 3 ] && has "sudo -k -S -p '[m3fs: sudo password]'" &&
    ! has "$PW" && ! grep -qx "m3fs-sudo-granted" "$W/out" && ! has "******" &&
    [ "$(grep -cF '[m3fs: sudo password]' "$W/out")" -eq 3 ]; then
    ok "sudo with password on stdin on 3 nodes, only at sudo's prompt (not echoed, not in --debug, not cat's input)"
else bad "sudo with password"; fi
printf 'top-secret\n' >"$W/secret"
mx cluster copy -c "$W/user.yml" --node lab-n2 --sudo --mode 0600 "$W/secret" /root/secret.txt >"$W/out" 2>&1 &&
    mx cluster exec -c "$CFG" --node lab-n2 -- 'stat -c "%U %a %s" /root/secret.txt' >"$W/out" 2>&1 &&
    has "root 600 11" && ok "sudo upload as root with mode 0600" || bad "sudo upload"
sed -e "s#passwordFile: .*#password: not-the-password#" "$W/user.yml" >"$W/userbad.yml"
mx cluster exec -c "$W/userbad.yml" --node lab-n1 -- true >"$W/out" 2>&1
[ $? -eq 1 ] && has_re "$PWRE \(refused\)" && ! has "not-the-" &&
    ok "wrong password refused with methods listed" || bad "wrong password"

# --- a node that is this machine runs locally without SSH --------------------
cat >"$W/local.yml" <<EOF
name: local
nodes:
  - name: here
    host: 198.18.0.1
    port: 22
    username: root
services:
  fdb: {nodes: [here]}
  clickhouse: {nodes: [here]}
  monitor: {nodes: [here]}
  mgmtd: {nodes: [here]}
  meta: {nodes: [here]}
  storage: {nodes: [here], replicationFactor: 1, diskType: dir}
  client: {nodes: [here], hostMountpoint: /mnt/3fs}
EOF
mx cluster exec -c "$W/local.yml" -- 'cat /proc/sys/kernel/hostname' >"$W/out" 2>&1
[ $? -eq 0 ] && has "== here (198.18.0.1, local) exit 0" && has "$(cat /proc/sys/kernel/hostname)" &&
    ok "local node runs without SSH" || bad "local node"
M3FS_LOCAL_EXEC=0 mx cluster exec -c "$W/local.yml" -- true >"$W/out" 2>&1
[ $? -eq 1 ] && has "unreachable" && ok "M3FS_LOCAL_EXEC=0 forces SSH" || bad "M3FS_LOCAL_EXEC=0"

# --- unreachable nodes: bounded connect timeout, others still complete -------
ip netns exec m3fs-lab-n2 iptables -I INPUT -p tcp --dport 22 -j DROP 2>/dev/null
blackholed=$?
t0=$(secs)
M3FS_CONNECT_TIMEOUT=3 mx cluster exec -c "$CFG" -- hostname >"$W/out" 2>&1
rc=$? t=$(($(secs) - t0))
if [ $blackholed -ne 0 ]; then
    echo "note: iptables in the node namespace failed; silent-drop check skipped"
elif [ $rc -eq 1 ] && has "cannot connect to lab-n2" && has "within 3s" && [ $t -lt 8000 ] &&
    has "== lab-n1 (198.18.0.11) exit 0" && has "== lab-n3 (198.18.0.13) exit 0"; then
    ok "silently dropped node fails within the connect timeout (${t} ms), others complete"
else bad "dropped node (rc=$rc, ${t} ms)"; fi
[ $blackholed -eq 0 ] && ip netns exec m3fs-lab-n2 iptables -D INPUT -p tcp --dport 22 -j DROP

sshd_stop 3
t0=$(secs)
mx cluster exec -c "$CFG" -- hostname >"$W/out" 2>&1
rc=$? t=$(($(secs) - t0))
if [ $rc -eq 1 ] && has "== lab-n3 (198.18.0.13) unreachable" && has "Connection refused" &&
    has "== lab-n1 (198.18.0.11) exit 0" && has "== lab-n2 (198.18.0.12) exit 0" &&
    has "3 nodes: 2 ok, 0 failed, 1 unreachable" && [ $t -lt 10000 ]; then
    ok "node with sshd stopped reported (${t} ms), others complete"
else bad "sshd stopped (rc=$rc, ${t} ms)"; fi

it_done test_remote
