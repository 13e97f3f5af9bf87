#!/bin/bash
# Integration test of scripts/lab.sh (docs/lab.md): real namespaces, sshd,
# dockerd and the docker shim. Needs root; exits 77 (skip) otherwise.
set -uo pipefail

cd "${M3FS_SOURCE_DIR:-$(dirname "$0")/../..}" || exit 1
. tests/integration/lib.sh
it_init_lab
LAB=$ROOT/scripts/lab.sh # called directly: lab.sh itself is under test
for t in /usr/sbin/sshd /usr/sbin/dockerd /bin/busybox ssh tc; do
    command -v "$t" >/dev/null || { echo "FAIL: $t missing; run scripts/install-deps.sh"; exit 1; }
done

it_workdir lab # the lab's state dir is $W/lab (M3FS_LAB_DIR)
S=(ssh -F "$M3FS_LAB_DIR/ssh_config")
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# --- argument errors (no lab needed) ---------------------------------------
"$LAB" up 0 >/dev/null 2>&1
check "up 0 is a usage error" [ $? -eq 2 ]
"$LAB" up 2 --bandwidth fast >/dev/null 2>&1
check "bad --bandwidth is a usage error" [ $? -eq 2 ]
junk=$(mktemp -d)
touch "$junk/precious"
M3FS_LAB_DIR=$junk "$LAB" up 1 --wait 600 >/dev/null 2>&1
check "up refuses a non-empty dir that is not a lab dir" [ $? -eq 1 ]
check "... and leaves it alone" [ -e "$junk/precious" ]
rm -rf "$junk"

# --- up 3 ------------------------------------------------------------------
t0=${EPOCHREALTIME/./}
if ! out=$("$LAB" up 3 --wait 600 2>&1); then
    echo "$out"
    bad "up 3"
    exit 1
fi
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
echo "$out"
echo "up 3 took ${ms} ms"
check "up prints the cluster.yml path" grep -qx "cluster.yml: $M3FS_LAB_DIR/cluster.yml" <<<"$out"
check "up prints the known_hosts path" grep -qx "known_hosts: $M3FS_LAB_DIR/known_hosts" <<<"$out"
check "cluster.yml names 3 nodes with the lab key" \
    [ "$(grep -c "identityFile: $M3FS_LAB_DIR/id_ed25519" "$M3FS_LAB_DIR/cluster.yml")" -eq 3 ]
check "known_hosts has 3 distinct host keys" \
    [ "$(awk '{print $3}' "$M3FS_LAB_DIR/known_hosts" | sort -u | wc -l)" -eq 3 ]
check "the lab key and the sudo password are 0600" \
    [ "$(stat -c %a "$M3FS_LAB_DIR/id_ed25519" "$M3FS_LAB_DIR/m3fslab.password" | sort -u)" = 600 ]
check "status lists 3 nodes, all up" \
    [ "$("$LAB" status | grep -c '^lab-n[123] .* up  *up')" -eq 3 ]

for i in 1 2 3; do
    check "lab-n$i answers hostname over ssh" [ "$("${S[@]}" "lab-n$i" hostname)" = "lab-n$i" ]
    check "lab-n$i runs its own dockerd" \
        [ "$("${S[@]}" "lab-n$i" docker info --format '{{.Name}}')" = "lab-n$i" ]
done
check "host key verification is strict (a wrong key is refused)" \
    bash -c "! ssh -F '$M3FS_LAB_DIR/ssh_config' -o HostKeyAlias=lab-n2 lab-n1 true 2>/dev/null"
check "nodes have private /tmp" bash -c \
    "'${S[0]}' -F '$M3FS_LAB_DIR/ssh_config' lab-n1 'touch /tmp/only-n1' &&
     '${S[0]}' -F '$M3FS_LAB_DIR/ssh_config' lab-n2 '! test -e /tmp/only-n1' && ! test -e /tmp/only-n1"

# --- docker on the nodes ---------------------------------------------------
tar=$("$ROOT/scripts/lab/busybox-image.sh") || bad "busybox image tar"
check "busybox image tar is cached outside the repo" [ -s "$tar" ]
img=$("$ROOT/scripts/lab/busybox-image.sh" --import)
check "busybox image imported on every node" [ "$img" = m3fs-test/busybox:lab ]
run_out=$("${S[@]}" lab-n1 docker run --rm --privileged --ulimit memlock=-1 --network host \
    -v /mnt:/mnt:rshared "$img" sh -c "'mkdir -p /mnt/t && mount -t tmpfs lab /mnt/t &&
        echo from-container >/mnt/t/f && echo --privileged --ulimit memlock=-1'" 2>&1)
check "docker run --privileged --ulimit memlock=-1 --network host works" \
    [ "$run_out" = "--privileged --ulimit memlock=-1" ]
check "a mount made in a container shows on the node (/mnt is rshared)" \
    [ "$("${S[@]}" lab-n1 cat /mnt/t/f)" = from-container ]
check "the shim logged the original argv" \
    grep -q ' run --rm --privileged --ulimit memlock=-1 ' "$M3FS_LAB_DIR/nodes/n1/docker-argv.log"
check "the shim log is 0600" [ "$(stat -c %a "$M3FS_LAB_DIR/nodes/n1/docker-argv.log")" = 600 ]
check "the other nodes do not see lab-n1's containers' mounts" \
    bash -c "! '${S[0]}' -F '$M3FS_LAB_DIR/ssh_config' lab-n2 test -e /mnt/t/f"

# --- cross-node TCP --------------------------------------------------------
check "node -> node TCP (lab-n1 reads lab-n3's ssh banner)" \
    [ "$("${S[@]}" lab-n1 "timeout 5 bash -c 'exec 3<>/dev/tcp/198.18.0.13/22; head -c 7 <&3'")" = SSH-2.0 ]
"${S[@]}" lab-n3 docker run -d --name lsn --network host "$img" \
    sh -c "'echo hello-from-n3 | nc -l -p 7001'" >/dev/null
got=
for _ in $(seq 1 50); do
    got=$("${S[@]}" lab-n2 "timeout 3 bash -c 'exec 3<>/dev/tcp/198.18.0.13/7001 && head -1 <&3'" 2>/dev/null) && break
    sleep 0.1
done
check "node -> container on another node TCP" [ "$got" = hello-from-n3 ]

# --- sudo user -------------------------------------------------------------
check "m3fslab logs in and sudoes with its password" bash -c \
    "[ \"\$('${S[0]}' -F '$M3FS_LAB_DIR/ssh_config' -l m3fslab lab-n2 \
        'sudo -S -p \"\" id -u' <'$M3FS_LAB_DIR/m3fslab.password')\" = 0 ]"
check "m3fslab's sudo refuses a wrong password" bash -c \
    "! echo wrong | '${S[0]}' -F '$M3FS_LAB_DIR/ssh_config' -l m3fslab lab-n2 'sudo -S -p \"\" true' 2>/dev/null"
check "the host has no m3fslab user" bash -c "! getent passwd m3fslab"

# --- up twice --------------------------------------------------------------
err=$("$LAB" up 2 2>&1)
rc=$?
check "up with a lab up fails" [ "$rc" -eq 1 ]
check "... saying so" grep -q "already up" <<<"$err"

# --- down ------------------------------------------------------------------
# pid:start-time of every recorded process (pids get reused on a busy machine)
start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }
pids=
for p in $(sed -n 's/^[a-z]*=//p' "$M3FS_LAB_DIR"/nodes/n*/pids); do
    pids+=" $p:$(start_time "$p")"
done
down_t0=${EPOCHREALTIME/./}
check "down" "$LAB" down
echo "down took $(((${EPOCHREALTIME/./} - down_t0) / 1000)) ms"
nothing_left() {
    local p
    for p in $pids; do
        if [ "$(start_time "${p%:*}")" = "${p#*:}" ]; then echo "pid ${p%:*} alive"; return 1; fi
    done
    if [ -e "$M3FS_LAB_DIR" ]; then echo "state dir left"; return 1; fi
    if [ -e /sys/class/net/m3fs-lab0 ]; then
        echo "another lab is up now ($(cat /sys/class/net/m3fs-lab0/ifalias)); cannot check netns"
        return 0
    fi
    if ip netns list | grep -q '^m3fs-lab'; then echo "netns left"; return 1; fi
    if [ -n "$(find /sys/fs/cgroup -maxdepth 8 -type d -name 'm3fs-lab-n*' -print -quit 2>/dev/null)" ]; then
        echo "cgroup left"
        return 1
    fi
    if ip -o addr show | grep -q ' inet 198\.18\.0\.'; then echo "address left"; return 1; fi
}
check "down leaves no process, netns, link, cgroup, address or state dir" nothing_left
check "down twice is fine" "$LAB" down
check "status after down does not show this lab" \
    bash -c "! '$LAB' status 2>&1 | grep -q '$M3FS_LAB_DIR'"

# --- bandwidth -------------------------------------------------------------
if "$LAB" up 2 --bandwidth 20mbit --wait 600 >/dev/null; then
    check "tc shows the tbf qdisc on the bridge side" \
        bash -c "tc -n m3fs-lab-br qdisc show dev n1 | grep -q 'tbf.*rate 20Mbit'"
    check "tc shows the tbf qdisc inside the node" \
        bash -c "tc -n m3fs-lab-n2 qdisc show dev eth0 | grep -q 'tbf.*rate 20Mbit'"
    # 4 MiB at 20 Mbit/s takes about 1.7 s; unshaped it takes milliseconds.
    "${S[@]}" lab-n2 "timeout 20 busybox nc -l -p 7002 >/dev/null" &
    lp=$!
    # the listener up before the clock starts (else the send fails and the
    # wait for nc's timeout would pass for shaping)
    for _ in $(seq 100); do
        ip netns exec m3fs-lab-n2 ss -ltn 2>/dev/null | grep -q ':7002 ' && break
        sleep 0.1
    done
    st=${EPOCHREALTIME/./}
    "${S[@]}" lab-n1 "head -c 4194304 /dev/zero >/dev/tcp/198.18.0.12/7002"
    sent=$?
    wait "$lp"
    ms=$(((${EPOCHREALTIME/./} - st) / 1000))
    echo "4 MiB over a 20mbit link: ${ms} ms"
    check "the 4 MiB were sent" [ "$sent" -eq 0 ]
    check "shaping slows the link (>= 1000 ms, < 15000 ms)" eval '[ "$ms" -ge 1000 ] && [ "$ms" -lt 15000 ]'
    check "down after a shaped lab" "$LAB" down
else
    bad "up 2 --bandwidth 20mbit"
fi

it_done test_lab
