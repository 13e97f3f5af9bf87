#!/bin/bash
# scripts/lab.sh: a local lab of real "nodes" for m3fs tests (docs/lab.md).
#
#   scripts/lab.sh up N [--bandwidth RATE] [--wait SECONDS] [--nic NAME]
#   scripts/lab.sh down
#   scripts/lab.sh status
#
# Each node is a network namespace plus private mount and UTS namespaces with
# its own hostname (lab-n<i>), sshd and dockerd, at 198.18.0.<10+i> on one
# bridge that lives in a namespace of its own (m3fs-lab-br). This machine's
# root namespace reaches the bridge at 198.18.0.1 through the veth m3fs-lab0.
# State (keys, cluster.yml, known_hosts, ssh_config, logs, docker data) is in
# $M3FS_LAB_DIR (default /var/tmp/m3fs-lab). One lab at a time per machine.
# Needs root.
set -euo pipefail

LAB_DIR=${M3FS_LAB_DIR:-/var/tmp/m3fs-lab}
LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/lab" && pwd)
BR_NS=m3fs-lab-br
NODE_NS_PREFIX=m3fs-lab-n
HOST_VETH=m3fs-lab0
SUBNET=198.18.0
HOST_IP=$SUBNET.1
MARKER=.m3fs-lab
MAX_NODES=64
NIC=eth0 # every node's NIC (--nic)

die() {
    echo "lab: error: $*" >&2
    exit 1
}
usage() {
    cat >&2 <<EOF
usage: scripts/lab.sh up N [--bandwidth RATE] [--deployer-bandwidth RATE] [--wait SECONDS] [--nic NAME]
       scripts/lab.sh down
       scripts/lab.sh status
  N        number of nodes, 1..$MAX_NODES
  RATE     tc rate for each node's link, e.g. 200mbit, 1gbit, 500kbit
           (--deployer-bandwidth: for this machine's link to the lab)
  SECONDS  wait up to this long for another lab to go down first
  NAME     name of every node's NIC (default eth0), e.g. lan0: one 3FS does
           not listen on
state dir: \$M3FS_LAB_DIR (now $LAB_DIR)
EOF
    exit 2
}
log() { echo "lab: $*" >&2; }

node_ip() { echo "$SUBNET.$((10 + $1))"; }
node_ns() { echo "$NODE_NS_PREFIX$1"; }

# --- lab detection ---------------------------------------------------------

lab_is_up() {
    [ -e "/run/netns/$BR_NS" ] || ip link show "$HOST_VETH" >/dev/null 2>&1
}
# The state dir of the lab that is up, from the host veth's alias ("" if none).
lab_owner() {
    cat "/sys/class/net/$HOST_VETH/ifalias" 2>/dev/null || true
}
# Serialise up/down between concurrent callers. The lock is on /run itself
# so that nothing is left behind; fd 9 must not leak into node processes.
take_lock() {
    exec 9</run
    flock -w 300 9 || die "another scripts/lab.sh up/down is still running"
}

# --- teardown --------------------------------------------------------------

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pids_val() { sed -n "s/^$2=//p" "$1/pids" 2>/dev/null || true; }

# Kill every process whose namespace of kind $1 (net|mnt) is $2 ("net:[N]")
# and wait (up to 5 s) until they are gone.
kill_ns_members() {
    local kind=$1 ino=${2//[^0-9]/} pids
    [ -n "$ino" ] || return 0
    pids=$(stat -L -c '%i %n' /proc/[0-9]*/ns/"$kind" 2>/dev/null |
        awk -v ino="$ino" '$1 == ino { split($2, p, "/"); print p[3] }' || true)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 50 $pids || log "processes still alive after SIGKILL: $pids"
}

wait_gone() { # wait_gone TENTHS PID...
    local t=$1 p alive
    shift
    while [ "$t" -gt 0 ]; do
        alive=0
        for p in "$@"; do pid_alive "$p" && alive=1; done
        [ "$alive" = 1 ] || return 0
        sleep 0.1
        t=$((t - 1))
    done
    return 1
}

# Stop one node's containers and daemons (recorded pids first, then any
# process still inside the node's namespaces).
stop_node() {
    local nd=$1 holder sshd dockerd containerd mntns netns ns
    holder=$(cat "$nd/holder.pid" 2>/dev/null || true)
    sshd=$(pids_val "$nd" sshd)
    dockerd=$(pids_val "$nd" dockerd)
    containerd=$(pids_val "$nd" containerd)
    mntns=$(cat "$nd/mntns" 2>/dev/null || true)
    ns=$(node_ns "${nd##*/n}")
    netns=
    [ -e "/run/netns/$ns" ] && netns=net:[$(stat -L -c %i "/run/netns/$ns")]
    # Guard against reused pids: the holder must still be in the node's mount ns.
    if pid_alive "$holder" && [ "$(readlink "/proc/$holder/ns/mnt")" = "$mntns" ] &&
        pid_alive "$dockerd"; then
        local ids
        ids=$(timeout 20 nsenter -t "$holder" -m -u -n \
            /run/m3fs-lab-bin/docker.real ps -aq 2>/dev/null || true)
        if [ -n "$ids" ]; then
            # shellcheck disable=SC2086
            timeout 60 nsenter -t "$holder" -m -u -n \
                /run/m3fs-lab-bin/docker.real rm -f $ids >/dev/null 2>&1 || true
        fi
    fi
    local p
    for p in $sshd $dockerd; do
        if pid_alive "$p" && [ "$(readlink "/proc/$p/ns/mnt")" = "$mntns" ]; then
            kill -TERM "$p" 2>/dev/null || true
        fi
    done
    # shellcheck disable=SC2086
    wait_gone 100 $sshd $dockerd $containerd || true
    kill_ns_members mnt "$mntns"
    kill_ns_members net "$netns"
    # The holder exits by itself once its daemons are gone; wait until it
    # has been reaped (a process that is exiting has left its namespaces).
    if [ -n "$holder" ] && ! wait_gone 50 "$holder"; then
        log "node ${nd##*/}: holder pid $holder still alive"
    fi
}

# Kill what is left in the containers' cgroups (--cgroup-parent m3fs-lab-n<i>)
# and remove those cgroups.
remove_cgroups() {
    local d p
    # cgroupfs puts a relative parent under the cgroup dockerd was started in.
    while read -r d; do
        [ -d "$d" ] || continue
        while read -r p; do
            [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
        done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
        find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done < <(find /sys/fs/cgroup -maxdepth 8 -type d -name "$NODE_NS_PREFIX*" \
        -prune 2>/dev/null)
}

remove_links() {
    local ns
    ip link del "$HOST_VETH" 2>/dev/null || true
    for ns in /run/netns/"$NODE_NS_PREFIX"* "/run/netns/$BR_NS"; do
        [ -e "$ns" ] || continue
        ip netns del "${ns##*/}" 2>/dev/null || log "could not delete netns ${ns##*/}"
    done
    # `ip netns add` turned /run/netns into a mount point; undo it when we
    # were the ones who did that and no namespace is left.
    if [ -e "$LAB_DIR/created-run-netns" ] && mountpoint -q /run/netns &&
        [ -z "$(ls -A /run/netns)" ]; then
        if umount /run/netns 2>/dev/null; then rmdir /run/netns 2>/dev/null || true; fi
    fi
}

remove_state_dir() {
    [ -d "$LAB_DIR" ] || return 0
    if [ -e "$LAB_DIR/$MARKER" ]; then
        rm -rf --one-file-system "$LAB_DIR"
    elif rmdir "$LAB_DIR" 2>/dev/null; then
        :
    else
        log "left $LAB_DIR alone: it is not a lab state dir (no $MARKER)"
    fi
}

# Tear down the lab whose state is in $LAB_DIR (also a half-built one).
teardown() {
    set +e # best effort: remove as much as possible whatever fails
    local nd
    for nd in "$LAB_DIR"/nodes/n*; do
        [ -d "$nd" ] && stop_node "$nd" &
    done
    wait
    # Nodes started without records (up failed early): kill what is in
    # their network namespaces.
    local ns
    for ns in /run/netns/"$NODE_NS_PREFIX"*; do
        [ -e "$ns" ] && kill_ns_members net "net:[$(stat -L -c %i "$ns")]"
    done
    remove_cgroups
    remove_links
    remove_state_dir
}

cmd_down() {
    [ "$#" -eq 0 ] || usage
    [ "$(id -u)" -eq 0 ] || die "the lab needs root"
    take_lock
    local owner
    owner=$(lab_owner)
    if [ -n "$owner" ] && [ "$owner" != "$LAB_DIR" ]; then
        # Not ours: leave it alone, but remove a stale state dir of ours.
        log "the lab that is up belongs to $owner (not touched; to remove it: M3FS_LAB_DIR=$owner $0 down)"
        if [ -e "$LAB_DIR/$MARKER" ]; then
            remove_state_dir
            log "removed the stale state dir $LAB_DIR"
        fi
        return 0
    fi
    if ! lab_is_up && [ ! -e "$LAB_DIR/$MARKER" ]; then
        log "no lab is up"
        return 0
    fi
    teardown
    set -e
    if lab_is_up || [ -e "$LAB_DIR/$MARKER" ]; then
        die "could not remove everything; see the messages above"
    fi
    log "lab down"
}

# --- up --------------------------------------------------------------------

# Bytes per second of a tc rate like 200mbit, 1gbit, 500kbit, 10mbps.
rate_bytes() {
    local r=$1 num unit
    [[ $r =~ ^([0-9]+)([a-z]*)$ ]] || return 1
    num=${BASH_REMATCH[1]}
    unit=${BASH_REMATCH[2]}
    case $unit in
    bit) echo $((num / 8)) ;;
    kbit) echo $((num * 1000 / 8)) ;;
    mbit) echo $((num * 1000000 / 8)) ;;
    gbit) echo $((num * 1000000000 / 8)) ;;
    bps) echo "$num" ;;
    kbps) echo $((num * 1000)) ;;
    mbps) echo $((num * 1000000)) ;;
    gbps) echo $((num * 1000000000)) ;;
    *) return 1 ;;
    esac
}

storage_driver() {
    local d=$LAB_DIR/overlay-probe
    mkdir -p "$d/l" "$d/u" "$d/w" "$d/m"
    if unshare --mount sh -c "mount -t overlay m3fs-lab-probe \
        -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m" 2>/dev/null; then
        echo overlay2
    else
        echo vfs
    fi
    rm -rf "$d"
}

make_network() {
    local n=$1 i ns
    if ! mountpoint -q /run/netns 2>/dev/null; then
        touch "$LAB_DIR/created-run-netns"
    fi
    ip netns add "$BR_NS"
    ip -n "$BR_NS" link set lo up
    ip -n "$BR_NS" link add br0 type bridge
    ip -n "$BR_NS" link set br0 up
    ip link add "$HOST_VETH" type veth peer name up0 netns "$BR_NS"
    ip link set "$HOST_VETH" alias "$LAB_DIR"
    ip -n "$BR_NS" link set up0 master br0 up
    ip addr add "$HOST_IP/24" dev "$HOST_VETH"
    ip link set "$HOST_VETH" up
    for i in $(seq 1 "$n"); do
        ns=$(node_ns "$i")
        ip netns add "$ns"
        ip -n "$BR_NS" link add "n$i" type veth peer name "$NIC" netns "$ns"
        ip -n "$BR_NS" link set "n$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(node_ip "$i")/24" dev "$NIC"
        ip -n "$ns" link set "$NIC" up
        ip -n "$ns" route add default via "$HOST_IP"
    done
}

tbf_burst() {
    local burst
    burst=$(($(rate_bytes "$1") / 100))
    [ "$burst" -ge 32768 ] || burst=32768
    echo "$burst"
}

# The deploying machine's link (m3fs-lab0 here, up0 in the bridge), both
# directions, as shape_links does for a node's.
shape_deployer_link() {
    local rate=$1 burst
    burst=$(tbf_burst "$rate")
    tc qdisc replace dev "$HOST_VETH" root tbf rate "$rate" burst "$burst" latency 50ms
    tc -n "$BR_NS" qdisc replace dev up0 root tbf rate "$rate" burst "$burst" latency 50ms
}

shape_links() {
    local n=$1 rate=$2 burst i
    burst=$(tbf_burst "$rate")
    for i in $(seq 1 "$n"); do
        tc -n "$BR_NS" qdisc replace dev "n$i" root tbf rate "$rate" \
            burst "$burst" latency 50ms
        tc -n "$(node_ns "$i")" qdisc replace dev "$NIC" root tbf rate "$rate" \
            burst "$burst" latency 50ms
    done
}

# Files shared by all nodes: lab key, sudo user password, docker shim.
make_lab_files() {
    ssh-keygen -q -t ed25519 -N '' -C m3fs-lab -f "$LAB_DIR/id_ed25519"
    (
        umask 077
        head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 20 >"$LAB_DIR/m3fslab.password"
    )
    [ -s "$LAB_DIR/m3fslab.password" ] || die "could not make a password"
    mkdir -p "$LAB_DIR/bin"
    install -m 0755 "$LIBDIR/docker-wrapper.sh" "$LAB_DIR/bin/docker-wrapper"
}

# The private /etc files of the nodes: passwd/shadow/group with the sudo
# user m3fslab added, hosts with every lab node, sudoers.d with its rule.
make_etc() {
    local n=$1 e=$LAB_DIR/etc uid hash i
    mkdir -p "$e"
    cp -p /etc/passwd /etc/group "$e/"
    (umask 077 && cp /etc/shadow "$e/shadow")
    [ -e /etc/gshadow ] && (umask 077 && cp /etc/gshadow "$e/gshadow")
    uid=2000
    while cut -d: -f3 "$e/passwd" | grep -qx "$uid" ||
        cut -d: -f3 "$e/group" | grep -qx "$uid"; do
        uid=$((uid + 1))
    done
    echo "$uid" >"$LAB_DIR/m3fslab.uid"
    hash=$(openssl passwd -6 -stdin <"$LAB_DIR/m3fslab.password")
    grep -v '^m3fslab:' "$e/passwd" >"$e/p.new" || true
    echo "m3fslab:x:$uid:$uid:m3fs lab sudo user:/home/m3fslab:/bin/bash" >>"$e/p.new"
    mv "$e/p.new" "$e/passwd"
    grep -v '^m3fslab:' "$e/group" >"$e/g.new" || true
    echo "m3fslab:x:$uid:" >>"$e/g.new"
    mv "$e/g.new" "$e/group"
    # sshd refuses every login to an account whose hash starts with "!".
    sed -i -e '/^m3fslab:/d' -e 's/^root:![^:]*:/root:*:/' "$e/shadow"
    echo "m3fslab:$hash:19000:0:99999:7:::" >>"$e/shadow"
    if [ -e "$e/gshadow" ]; then
        sed -i '/^m3fslab:/d' "$e/gshadow"
        echo "m3fslab:!::" >>"$e/gshadow"
    fi
    mkdir -p "$e/sudoers.d"
    [ -d /etc/sudoers.d ] && cp -a /etc/sudoers.d/. "$e/sudoers.d/"
    printf '%s\n' 'Defaults:m3fslab lecture=never' 'm3fslab ALL=(ALL:ALL) ALL' \
        >"$e/sudoers.d/m3fs-lab"
    chmod 0440 "$e/sudoers.d/m3fs-lab"
    {
        cat /etc/hosts
        echo "# m3fs lab"
        echo "$HOST_IP m3fs-lab-host"
        for i in $(seq 1 "$n"); do echo "$(node_ip "$i") lab-n$i"; done
    } >"$e/hosts"
}

make_node_dir() {
    local i=$1 nd uid
    nd=$LAB_DIR/nodes/n$i
    uid=$(cat "$LAB_DIR/m3fslab.uid")
    mkdir -p "$nd"/{opt,mnt,docker,root/.ssh,home/m3fslab/.ssh}
    cp -a "$LAB_DIR/etc" "$nd/etc"
    echo "lab-n$i" >"$nd/etc/hostname"
    chmod 0700 "$nd/root" "$nd/root/.ssh" "$nd/home/m3fslab" "$nd/home/m3fslab/.ssh"
    install -m 0600 "$LAB_DIR/id_ed25519.pub" "$nd/root/.ssh/authorized_keys"
    install -m 0600 -o "$uid" -g "$uid" "$LAB_DIR/id_ed25519.pub" \
        "$nd/home/m3fslab/.ssh/authorized_keys"
    chown "$uid:$uid" "$nd/home/m3fslab" "$nd/home/m3fslab/.ssh"
    ssh-keygen -q -t ed25519 -N '' -C "lab-n$i" -f "$nd/ssh_host_ed25519_key"
    cat >"$nd/sshd_config" <<EOF
# sshd of lab node lab-n$i (scripts/lab.sh)
ListenAddress $(node_ip "$i")
Port 22
HostKey /run/m3fs-lab/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxStartups 64:30:128
MaxSessions 64
PrintMotd no
X11Forwarding no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

start_node() {
    local i=$1 driver=$2 nd
    nd=$LAB_DIR/nodes/n$i
    setsid nsenter --net="/run/netns/$(node_ns "$i")" \
        unshare --mount --uts --propagation private \
        /bin/bash "$LIBDIR/node.sh" "$LAB_DIR" "$i" "$driver" \
        </dev/null >"$nd/node.log" 2>&1 9<&- &
}

wait_nodes() {
    local n=$1 i left t=0 nd
    while :; do
        left=0
        for i in $(seq 1 "$n"); do
            nd=$LAB_DIR/nodes/n$i
            if [ -e "$nd/failed" ]; then
                die "node lab-n$i: $(cat "$nd/failed")"
            fi
            [ -e "$nd/ready" ] || left=$((left + 1))
        done
        [ "$left" -gt 0 ] || return 0
        [ "$t" -lt 600 ] || die "$left node(s) not ready after 60 s; see $LAB_DIR/nodes/n*/*.log"
        sleep 0.1
        t=$((t + 1))
    done
}

write_client_files() {
    local n=$1 i ip key
    : >"$LAB_DIR/known_hosts"
    {
        echo "# ssh -F $LAB_DIR/ssh_config lab-n1"
        for i in $(seq 1 "$n"); do
            printf 'Host lab-n%s\n    HostName %s\n' "$i" "$(node_ip "$i")"
        done
        cat <<EOF
Host lab-n* $SUBNET.*
    User root
    IdentityFile $LAB_DIR/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $LAB_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 5
    LogLevel ERROR
EOF
    } >"$LAB_DIR/ssh_config"
    for i in $(seq 1 "$n"); do
        ip=$(node_ip "$i")
        key=$(cut -d' ' -f1,2 "$LAB_DIR/nodes/n$i/ssh_host_ed25519_key.pub")
        echo "$ip,lab-n$i $key" >>"$LAB_DIR/known_hosts"
    done
}

yaml_list() { # yaml_list FIRST LAST -> [lab-nFIRST, ..., lab-nLAST]
    local i out=
    for i in $(seq "$1" "$2"); do out+="${out:+, }lab-n$i"; done
    echo "[$out]"
}

write_cluster_yml() {
    local n=$1 i meta rf
    meta=$(yaml_list 1 1)
    [ "$n" -ge 3 ] && meta=$(yaml_list 1 2)
    rf=2
    [ "$n" -ge 2 ] || rf=1
    {
        echo "# m3fs lab cluster (scripts/lab.sh up $n); nodes are namespaces on this machine."
        echo "name: lab"
        echo "workDir: /opt/3fs"
        echo "networkType: TCP"
        echo "logLevel: INFO"
        echo "nodes:"
        for i in $(seq 1 "$n"); do
            cat <<EOF
  - name: lab-n$i
    host: $(node_ip "$i")
    port: 22
    username: root
    identityFile: $LAB_DIR/id_ed25519
EOF
        done
        cat <<EOF
services:
  fdb:
    nodes: $(yaml_list 1 1)
  clickhouse:
    nodes: $(yaml_list 1 1)
  monitor:
    nodes: $(yaml_list 1 1)
  mgmtd:
    nodes: $meta
  meta:
    nodes: $meta
  storage:
    nodes: $(yaml_list 1 "$n")
    diskType: dir
    diskNumPerNode: 1
    replicationFactor: $rf
    targetNumPerDisk: 16
  client:
    nodes: $(yaml_list "$n" "$n")
    hostMountpoint: /mnt/3fs
EOF
    } >"$LAB_DIR/cluster.yml"
}

# Log in to every node with the plain OpenSSH client, as a user would.
check_ssh() {
    local n=$1 i got pids=() rc=0
    for i in $(seq 1 "$n"); do
        ssh -F "$LAB_DIR/ssh_config" "lab-n$i" hostname >"$LAB_DIR/nodes/n$i/ssh-check" 2>&1 &
        pids+=($!)
    done
    for i in $(seq 1 "$n"); do
        wait "${pids[$((i - 1))]}" || rc=1
        got=$(cat "$LAB_DIR/nodes/n$i/ssh-check")
        rm -f "$LAB_DIR/nodes/n$i/ssh-check"
        [ "$got" = "lab-n$i" ] || die "ssh to lab-n$i answered '$got' (see $LAB_DIR/nodes/n$i/sshd.log)"
    done
    [ "$rc" -eq 0 ] || die "ssh check failed"
}

need_tools() {
    local t
    for t in ip nsenter unshare setsid flock tc ssh ssh-keygen openssl \
        /usr/sbin/sshd /usr/sbin/dockerd /usr/bin/docker containerd sudo; do
        command -v "$t" >/dev/null ||
            die "$t not found; run scripts/install-deps.sh (needs openssh-server docker.io iproute2 util-linux sudo)"
    done
}

UP_DONE=0
on_up_exit() {
    local rc=$?
    [ "$UP_DONE" = 1 ] && return 0
    log "up failed; tearing down what it made"
    local f
    for f in "$LAB_DIR"/nodes/n*/node.log; do
        [ -s "$f" ] && sed "s|^|  ${f#"$LAB_DIR"/}: |" "$f" | tail -5 >&2
    done
    teardown
    exit "$rc"
}

wait_for_other_lab() {
    local secs=$1 t=0
    while lab_is_up && [ "$t" -lt "$secs" ]; do
        [ "$t" -eq 0 ] && log "waiting up to ${secs}s for the lab of $(lab_owner) to go down"
        flock -u 9
        sleep 1
        flock -w 300 9 || die "lock timeout"
        t=$((t + 1))
    done
}

cmd_up() {
    local n='' rate='' drate='' wait=0
    while [ "$#" -gt 0 ]; do
        case $1 in
        --deployer-bandwidth) [ "$#" -ge 2 ] || usage; drate=$2; shift 2 ;;
        --deployer-bandwidth=*) drate=${1#*=}; shift ;;
        --bandwidth) [ "$#" -ge 2 ] || usage; rate=$2; shift 2 ;;
        --bandwidth=*) rate=${1#*=}; shift ;;
        --wait) [ "$#" -ge 2 ] || usage; wait=$2; shift 2 ;;
        --wait=*) wait=${1#*=}; shift ;;
        --nic) [ "$#" -ge 2 ] || usage; NIC=$2; shift 2 ;;
        --nic=*) NIC=${1#*=}; shift ;;
        -*) usage ;;
        *) [ -z "$n" ] || usage; n=$1; shift ;;
        esac
    done
    [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_NODES" ] ||
        { echo "lab: error: N must be a number from 1 to $MAX_NODES" >&2; usage; }
    [[ $wait =~ ^[0-9]+$ ]] || { echo "lab: error: --wait takes seconds" >&2; usage; }
    # a Linux interface name; not lo, which every node has already
    [[ $NIC =~ ^[A-Za-z0-9_.-]{1,15}$ ]] && [ "$NIC" != lo ] && [ "$NIC" != . ] && [ "$NIC" != .. ] ||
        { echo "lab: error: --nic takes a NIC name of 1 to 15 letters, digits, '_', '.' or '-' (not lo)" >&2; usage; }
    if [ -n "$rate" ] && ! rate_bytes "$rate" >/dev/null; then
        echo "lab: error: bad --bandwidth '$rate' (examples: 200mbit, 1gbit, 500kbit)" >&2
        usage
    fi
    if [ -n "$drate" ] && ! rate_bytes "$drate" >/dev/null; then
        echo "lab: error: bad --deployer-bandwidth '$drate' (examples: 200mbit, 1gbit)" >&2
        usage
    fi
    [ "$(id -u)" -eq 0 ] || die "the lab needs root (it creates namespaces, links and daemons)"
    [[ $LAB_DIR =~ ^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$ ]] ||
        die "M3FS_LAB_DIR must be an absolute path of letters, digits and . _ - / (not '$LAB_DIR')"
    need_tools
    if [ -d "$LAB_DIR" ] && [ -n "$(ls -A "$LAB_DIR")" ] && [ ! -e "$LAB_DIR/$MARKER" ]; then
        die "$LAB_DIR exists and is not a lab state dir; choose another M3FS_LAB_DIR or remove it"
    fi
    take_lock
    wait_for_other_lab "$wait"
    if lab_is_up; then
        die "a lab is already up (state dir: $(lab_owner)); run 'M3FS_LAB_DIR=$(lab_owner) $0 down' first"
    fi
    if [ -d "$LAB_DIR" ] && [ -n "$(ls -A "$LAB_DIR")" ]; then
        log "removing the stale state dir $LAB_DIR"
        rm -rf --one-file-system "$LAB_DIR"
    fi
    if ip -o addr show | grep -q " inet $SUBNET\."; then
        die "an address in $SUBNET.0/24 is already in use on this machine; the lab needs that range"
    fi

    local t0 i driver
    t0=${EPOCHREALTIME/./}
    trap on_up_exit EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$LAB_DIR"
    chmod 0755 "$LAB_DIR"
    touch "$LAB_DIR/$MARKER"
    make_network "$n"
    [ -z "$rate" ] || shape_links "$n" "$rate"
    [ -z "$drate" ] || shape_deployer_link "$drate"
    make_lab_files
    make_etc "$n"
    driver=$(storage_driver)
    for i in $(seq 1 "$n"); do
        make_node_dir "$i"
        start_node "$i" "$driver"
    done
    write_client_files "$n"
    write_cluster_yml "$n"
    wait_nodes "$n"
    check_ssh "$n"
    UP_DONE=1
    trap - EXIT INT TERM
    local ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
    log "$n node(s) up in $((ms / 1000)).$((ms % 1000 / 100))s (NIC $NIC, storage driver $driver${rate:+, links shaped to $rate}${drate:+, deployer link shaped to $drate})"
    echo "cluster.yml: $LAB_DIR/cluster.yml"
    echo "known_hosts: $LAB_DIR/known_hosts"
    echo "ssh_config: $LAB_DIR/ssh_config"
}

# --- status ----------------------------------------------------------------

cmd_status() {
    [ "$#" -eq 0 ] || usage
    if ! lab_is_up; then
        echo "no lab is up"
        return 1
    fi
    local owner nd i sshd dockerd s d bad=0
    owner=$(lab_owner)
    echo "lab up, state dir ${owner:-unknown}"
    [ -n "$owner" ] && [ -d "$owner/nodes" ] || { echo "(no node records)"; return 1; }
    printf '%-8s %-13s %-5s %-7s\n' NAME ADDRESS SSHD DOCKERD
    for i in $(ls "$owner/nodes" | sed -n 's/^n\([0-9]*\)$/\1/p' | sort -n); do
        nd=$owner/nodes/n$i
        sshd=$(pids_val "$nd" sshd)
        dockerd=$(pids_val "$nd" dockerd)
        s=down d=down
        pid_alive "$sshd" && s=up
        pid_alive "$dockerd" && d=up
        [ "$s" = up ] && [ "$d" = up ] || bad=1
        printf '%-8s %-13s %-5s %-7s\n' "lab-n$i" "$(node_ip "$i")" "$s" "$d"
    done
    [ "$bad" -eq 0 ]
}

main() {
    [ "$#" -ge 1 ] || usage
    local cmd=$1
    shift
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    *) usage ;;
    esac
}

# One line, so that bash has read it all before main runs (safe against
# this file being replaced while a lab command runs).
main "$@"; exit $?
