#!/bin/bash
# One lab node's holder process. scripts/lab.sh starts it inside the node's
# network namespace and fresh mount + UTS namespaces:
#   nsenter --net=/run/netns/m3fs-lab-n<i> unshare --mount --uts \
#       --propagation private node.sh STATE_DIR INDEX STORAGE_DRIVER
# It gives the node its hostname and private /run, /tmp, /opt, /mnt, /root,
# /home and /etc files, starts sshd and dockerd, records their pids in
# nodes/n<i>/pids, writes nodes/n<i>/ready (or nodes/n<i>/failed with the
# reason), then waits. Everything it needs was prepared by lab.sh in
# STATE_DIR/nodes/n<i>/.
set -u

state=$1
idx=$2
driver=$3
nd=$state/nodes/n$idx
name=lab-n$idx

echo "$$" >"$nd/holder.pid"
readlink /proc/self/ns/mnt >"$nd/mntns"

fail() {
    echo "$*" >"$nd/failed"
    echo "$name: $*" >&2
    local p
    for p in $(jobs -p); do kill "$p" 2>/dev/null; done
    exit 1
}

run() {
    "$@" || fail "failed: $*"
}

run hostname "$name"
run mount --make-rprivate /
run mount -t tmpfs -o mode=0755,size=256m m3fs-lab-run /run
run mkdir -p /run/sshd /run/m3fs-lab /run/m3fs-lab-bin /run/lock
run mount --bind "$nd" /run/m3fs-lab
n=/run/m3fs-lab

for d in opt mnt root home; do
    run mount --bind "$n/$d" "/$d"
done
# FUSE mounts made later inside containers (-v /mnt:/mnt:rshared) must show
# on the node.
run mount --make-rshared /mnt
for f in hosts hostname passwd shadow group gshadow; do
    if [ -e "/etc/$f" ] && [ -e "$n/etc/$f" ]; then
        run mount --bind "$n/etc/$f" "/etc/$f"
    fi
done
if [ -d /etc/sudoers.d ]; then
    run mount --bind "$n/etc/sudoers.d" /etc/sudoers.d
fi

# The docker shim (scripts/lab/docker-wrapper.sh) in front of every docker.
run touch /run/m3fs-lab-bin/docker.real
run mount --bind /usr/bin/docker /run/m3fs-lab-bin/docker.real
run mount --bind "$state/bin/docker-wrapper" /usr/bin/docker
if [ -f /usr/local/bin/docker ]; then
    run mount --bind "$state/bin/docker-wrapper" /usr/local/bin/docker
fi
# Last: this hides the state dir if it lives under /tmp.
run mount -t tmpfs -o mode=1777 m3fs-lab-tmp /tmp

/usr/sbin/sshd -D -f "$n/sshd_config" -E "$n/sshd.log" </dev/null &
sshd_pid=$!
/usr/sbin/dockerd --data-root "$n/docker" --storage-driver "$driver" \
    --bridge=none --iptables=false --ip-masq=false \
    --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "m3fs-lab-n$idx" \
    -H unix:///run/docker.sock --pidfile /run/docker.pid \
    </dev/null >"$n/dockerd.log" 2>&1 &
dockerd_pid=$!
printf 'holder=%s\nsshd=%s\ndockerd=%s\n' "$$" "$sshd_pid" "$dockerd_pid" >"$n/pids"

for _ in $(seq 1 300); do
    kill -0 "$sshd_pid" 2>/dev/null || fail "sshd exited; see $nd/sshd.log"
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited; see $nd/dockerd.log"
    if [ -S /run/docker.sock ] &&
        /run/m3fs-lab-bin/docker.real info >/dev/null 2>&1; then
        if [ -s /run/docker/containerd/containerd.pid ]; then
            printf 'containerd=%s\n' "$(cat /run/docker/containerd/containerd.pid)" >>"$n/pids"
        fi
        touch "$n/ready"
        wait
        exit 0
    fi
    sleep 0.1
done
fail "dockerd did not answer within 30 s; see $nd/dockerd.log"
