#!/usr/bin/env bash
# tests/vm/run.sh: the RXE smoke test of `m3fs cluster prepare` against two
# real Debian VMs (QEMU, TCG).  Exit 0 pass, 1 fail, 77 skip (with reason).
#
#   M3FS_BIN=build/m3fs tests/vm/run.sh
#
# Each VM: 2 NICs.  ens3 = QEMU user networking (outbound NAT to Debian's
# archive, sshd forwarded to 127.0.77.1<i>:10022 on this machine); ens4 =
# a point-to-point UDP "wire" between the two VMs (198.18.1.1<i>/24), where
# rxe is created (rdmaAddresses restricts prepare to it).  Each VM boots a
# copy-on-write overlay of the cached image (tests/vm/image.sh) and makes
# its own host key, which it prints on its serial console; that is where
# known_hosts comes from.  Every VM started here is shut down at exit.
#
# Phases (each timed): image, boot, nvme disks (vm1 has two emulated NVMe
# disks: the storage disk tool must list what it would format, refuse to
# format without consent to that disk, format and mount by label with it —
# a target path that resolves to the disk's filesystem UUID as 3FS storage
# resolves it — and clear only what it formatted), CPU
# preflight (must refuse a non-avx2
# tag on a CPU without AVX-512), prepare, checks, second prepare (nothing
# changes), create disk consent (create with diskType nvme lists every disk
# and stops without consent to exactly that list), reboot (the boot unit
# brings rxe back), container, ib_write_bw.
set -uo pipefail
{ # read as one compound command, so editing this file cannot disturb a run
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BIN=${M3FS_BIN:-$SRC/build/m3fs}
T_START=$(date +%s)
T_PHASE=$T_START
PHASES=()

skip() { echo "vm test: SKIP: $*"; exit 77; }
phase_done() {
    local now
    now=$(date +%s)
    PHASES+=("$(printf '%-22s %4ss' "$1" $((now - T_PHASE)))")
    echo "vm test: phase '$1' took $((now - T_PHASE))s"
    T_PHASE=$now
}
print_times() {
    echo "vm test: phase times:"
    for p in "${PHASES[@]}"; do echo "  $p"; done
    echo "vm test: total $(($(date +%s) - T_START))s"
}

for t in qemu-system-x86_64 qemu-img ssh ssh-keygen debootstrap mkfs.ext4 python3; do
    command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps.sh)"
done
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, image cache in /var/cache)"
[ -x "$BIN" ] || { echo "vm test: FAIL: no m3fs binary at $BIN (set M3FS_BIN)"; exit 1; }

WORK=$(mktemp -d /tmp/m3fs-vm.XXXXXX)
FAILED=0
cleanup() {
    local i pid
    for i in 1 2; do
        pid=$(cat "$WORK/vm$i.pid" 2>/dev/null) || continue
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    if [ "$FAILED" = 1 ]; then
        for i in 1 2; do
            [ -f "$WORK/vm$i.console" ] || continue
            echo "---- last console lines of vm$i ----"
            tail -n 25 "$WORK/vm$i.console" | tr -d '\r'
        done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "vm test: FAIL: $*"
    FAILED=1
    print_times
    exit 1
}

# ---- image (cached) ----------------------------------------------------------
IMG=$("$HERE/image.sh" | tail -n 1) || fail "building the VM image failed"
phase_done image

# ---- boot two VMs --------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C m3fs-vm-test -f "$WORK/id" || fail "ssh-keygen failed"
KEY=$(cut -d' ' -f1,2 "$WORK/id.pub" | tr ' ' ,)
UDP_BASE=$((20000 + $$ % 20000))
host_of() { echo "127.0.77.1$1"; }
l2_of() { echo "198.18.1.1$1"; }

# vm1 also gets two small NVMe disks: nvme0n1 blank, nvme1n1 holding ext4
# (a disk with user data on it), for the `diskType: nvme` phase.
nvme_args() { # nvme_args I: creates the disks, sets the array extra
    local j
    extra=()
    [ "$1" = 1 ] || return 0
    for j in 0 1; do
        truncate -s 320M "$WORK/nvme$j.img" || fail "cannot create $WORK/nvme$j.img"
        [ $j = 0 ] || mkfs.ext4 -q -F -L userdata "$WORK/nvme$j.img" || fail "mkfs.ext4 failed"
        extra+=(-drive "file=$WORK/nvme$j.img,if=none,id=nv$j,format=raw"
                -device "nvme,serial=m3fs-nvme$j,drive=nv$j,addr=0x$((6 + j))")
    done
}

# nvme_core timeouts of 600 s: under TCG on a loaded host a guest's NVMe
# command can wait past the default 30 s; the guest then resets the emulated
# controller and fails reads with "I/O Error (sct 0x3 / sc 0x71)" (a host
# path error made by the guest's own driver), as a CI run did.
boot_vm() { # boot_vm I
    local i=$1 other=$((3 - $1)) extra
    qemu-img create -q -f qcow2 -F raw -b "$IMG/disk.img" "$WORK/vm$i.qcow2" ||
        fail "qemu-img create failed"
    nvme_args "$i"
    qemu-system-x86_64 -accel tcg -m 1536 -smp 1 "${extra[@]}" \
        -display none -monitor none -serial "file:$WORK/vm$i.console" \
        -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
        -append "console=ttyS0 root=/dev/vda rw quiet nvme_core.io_timeout=600 nvme_core.admin_timeout=600 m3fs.host=vm$i m3fs.l2=$(l2_of "$i")/24 m3fs.key=$KEY" \
        -drive "file=$WORK/vm$i.qcow2,if=none,id=d0,format=qcow2" -device virtio-blk-pci,drive=d0,addr=0x5 \
        -netdev "user,id=n0,hostfwd=tcp:$(host_of "$i"):10022-:22" \
        -device "virtio-net-pci,netdev=n0,mac=52:54:00:aa:00:0$i,addr=0x3" \
        -netdev "socket,id=n1,udp=127.0.0.1:$((UDP_BASE + other)),localaddr=127.0.0.1:$((UDP_BASE + i))" \
        -device "virtio-net-pci,netdev=n1,mac=52:54:00:bb:00:0$i,addr=0x4" \
        -pidfile "$WORK/vm$i.pid" -daemonize 2>"$WORK/vm$i.qemu.err" ||
        fail "qemu for vm$i did not start: $(cat "$WORK/vm$i.qemu.err")"
}

# A long ConnectTimeout: under TCG sshd may take many seconds to answer, and
# impatient retries pile up sshd processes that slow the guest down further.
SSH_OPTS=(-o BatchMode=yes -o ConnectTimeout=90 -o UserKnownHostsFile="$WORK/known_hosts"
          -o StrictHostKeyChecking=yes -o LogLevel=ERROR -i "$WORK/id" -p 10022)
vm() { # vm I COMMAND...
    local i=$1
    shift
    ssh "${SSH_OPTS[@]}" "root@$(host_of "$i")" "$@"
}

wait_hostkey() { # wait_hostkey I: known_hosts entry from the console
    local i=$1 line
    for _ in $(seq 300); do
        line=$(tr -d '\r' <"$WORK/vm$i.console" 2>/dev/null | sed -n 's/^M3FS-HOSTKEY //p' | tail -n 1)
        if [ -n "$line" ]; then
            echo "[$(host_of "$i")]:10022 $line" >>"$WORK/known_hosts"
            return 0
        fi
        kill -0 "$(cat "$WORK/vm$i.pid" 2>/dev/null)" 2>/dev/null || return 1
        sleep 1
    done
    return 1
}

wait_ssh() { # wait_ssh I SECONDS: sshd answers and docker runs
    local i=$1 end=$(($(date +%s) + $2))
    while [ "$(date +%s)" -lt "$end" ]; do
        vm "$i" 'docker info >/dev/null 2>&1' 2>/dev/null && return 0
        sleep 5
    done
    return 1
}

boot_vm 1
boot_vm 2
: >"$WORK/known_hosts"
for i in 1 2; do wait_hostkey "$i" || fail "vm$i printed no host key on its console"; done
for i in 1 2; do wait_ssh "$i" 480 || fail "vm$i: no ssh login or running docker within 480s"; done
vm 1 "timeout 20 bash -c 'echo >/dev/tcp/$(l2_of 2)/22'" ||
    fail "vm1 cannot reach vm2's sshd over the L2 wire (ens4, $(l2_of 2))"
phase_done boot

# ---- diskType nvme: the disk tool m3fs puts on storage nodes, on real NVMe ----
# templates/m3fs-disks.sh has no template fields, so it is the file m3fs writes.
! grep -q '{{' "$SRC/templates/m3fs-disks.sh" ||
    fail "templates/m3fs-disks.sh has template fields now; render it for this test"
vm 1 'cat >/tmp/m3fs-disks && chmod 0755 /tmp/m3fs-disks' <"$SRC/templates/m3fs-disks.sh" ||
    fail "cannot copy m3fs-disks to vm1"
D="/tmp/m3fs-disks" B=/opt/m3fs/storage/3fsdata
vm 1 'lsblk -dn -o NAME | grep -c "^nvme"' | grep -qx 2 || fail "vm1 does not see its 2 NVMe disks"
untouched="blkid -p -o value -s LABEL /dev/nvme1n1 | grep -qx userdata"
# list (issue 20 F5): what prepare would format, with size and what it holds; changes nothing
out=$(vm 1 "$D list $B 1 nvme 4096" 2>&1) || fail "nvme list failed: $out"
grep -qx "format /dev/nvme0n1 3fs-data-0 320M -" <<<"$out" || fail "nvme list of the blank disk: $out"
out=$(vm 1 "$D list $B 1 nvme 4096 --disk /dev/nvme1n1" 2>&1) || fail "nvme list --disk failed: $out"
grep -qx "format /dev/nvme1n1 3fs-data-0 320M ext4" <<<"$out" || fail "nvme list of the ext4 disk: $out"
# without consent: refused, naming the disk and what it holds; nothing changes
out=$(vm 1 "$D prepare $B 1 nvme 4096" 2>&1) && fail "nvme prepare without consent succeeded"
grep -q "/dev/nvme0n1 would be formatted as 3fs-data-0 (it holds: nothing); no consent to format it" <<<"$out" ||
    fail "nvme refusal message: $out"
# consent to another disk is no consent to this one
out=$(vm 1 "$D prepare $B 1 nvme 4096 --consent /dev/nvme1n1" 2>&1) &&
    fail "nvme prepare formatted a disk it had no consent for"
grep -q "/dev/nvme0n1 would be formatted as 3fs-data-0 (it holds: nothing); no consent" <<<"$out" ||
    fail "nvme refusal with consent to another disk: $out"
vm 1 "! blkid -L 3fs-data-0 && ! grep -q 3fs-data /etc/fstab && $untouched" ||
    fail "a refused nvme prepare changed the disks or /etc/fstab"
# with consent: the blank disk becomes XFS 3fs-data-0, in fstab by label, mounted
vm 1 "$D prepare $B 1 nvme 4096 --consent /dev/nvme0n1" >"$WORK/nvme.out" 2>&1 ||
    fail "nvme prepare --consent /dev/nvme0n1: $(cat "$WORK/nvme.out")"
vm 1 "test \"\$(blkid -L 3fs-data-0)\" = /dev/nvme0n1 && blkid -o value -s TYPE /dev/nvme0n1 | grep -qx xfs &&
      grep -q '^LABEL=3fs-data-0 $B/data0 xfs ' /etc/fstab && mountpoint -q $B/data0 && test -d $B/data0/3fs &&
      $D check $B 1 nvme 4096 && $untouched" ||
    fail "nvme prepare did not leave an XFS disk mounted by label (or touched nvme1n1)"
out=$(vm 1 "$D list $B 1 nvme 4096" 2>&1) || fail "nvme list after prepare failed: $out"
[ "$out" = "reuse /dev/nvme0n1 3fs-data-0" ] || fail "nvme list of a prepared node: $out"
# allow_disk_without_uuid = false (m3fs's choice for nvme): storage must find
# the UUID of the filesystem under its target path, as the storage container
# sees it (BASE bound at /mnt/3fsdata, in a mount namespace of its own)
vm 1 'cat >/tmp/target-uuid && chmod 0755 /tmp/target-uuid' <"$SRC/tests/vm/target-uuid.sh" ||
    fail "cannot copy target-uuid.sh to vm1"
out=$(vm 1 "unshare -m sh -c 'mkdir -p /mnt/3fsdata && mount --rbind $B /mnt/3fsdata &&
        /tmp/target-uuid /mnt/3fsdata/data0/3fs' && blkid -o value -s UUID /dev/nvme0n1" 2>&1)
uuid=$(sed -n 1p <<<"$out")
[ "$(wc -l <<<"$out")" -eq 2 ] && [ -n "$uuid" ] && [ "$uuid" = "$(sed -n 2p <<<"$out")" ] ||
    fail "the target path of an nvme disk does not resolve to its filesystem UUID: $out"
echo "vm test: ok: the nvme target path resolves to the XFS UUID $uuid (allow_disk_without_uuid = false holds)"
vm 1 "$D prepare $B 1 nvme 4096" || fail "a second nvme prepare (no consent needed: the disk has its label) failed"
# a second disk holding ext4 is never taken, even with consent to it, unless
# nvmeDisks names it (issue 20 F5); the refusal names it and what it holds
out=$(vm 1 "$D prepare $B 2 nvme 4096 --consent /dev/nvme1n1" 2>&1) &&
    fail "nvme prepare formatted a disk holding ext4 that nvmeDisks does not name"
grep -q "no blank NVMe disk left for 3fs-data-1 (need 2); passed over because they hold data: /dev/nvme1n1 (holds: ext4)" <<<"$out" ||
    fail "nvme refusal for the ext4 disk: $out"
vm 1 "$untouched" || fail "a refused nvme prepare touched the ext4 disk"
# clear: unmounts, drops the fstab line, wipes only what it formatted
vm 1 "$D clear $B 1 nvme 4096" >"$WORK/nvme.out" 2>&1 || fail "nvme clear: $(cat "$WORK/nvme.out")"
vm 1 "! mountpoint -q $B/data0 && ! grep -q 3fs-data /etc/fstab &&
      test -z \"\$(blkid -p -o value -s TYPE /dev/nvme0n1)\" && $untouched" ||
    fail "nvme clear left a mount, an fstab line or the XFS label behind, or touched nvme1n1"
# nvmeDisks names the disk (here the ext4 one); it still needs consent; a named disk that is not there is refused
out=$(vm 1 "$D prepare $B 1 nvme 4096 --disk /dev/nvme1n1" 2>&1) &&
    fail "nvme prepare --disk formatted the named disk without consent"
grep -q "/dev/nvme1n1 would be formatted as 3fs-data-0 (it holds: ext4); no consent" <<<"$out" ||
    fail "nvme refusal for a named disk without consent: $out"
vm 1 "$untouched" || fail "a refused nvme prepare --disk touched the ext4 disk"
vm 1 "$D prepare $B 1 nvme 4096 --disk /dev/nvme1n1 --consent /dev/nvme1n1" >"$WORK/nvme.out" 2>&1 ||
    fail "nvme prepare --disk /dev/nvme1n1 --consent /dev/nvme1n1: $(cat "$WORK/nvme.out")"
grep -q "formatting /dev/nvme1n1 as XFS 3fs-data-0 (it held: ext4)" "$WORK/nvme.out" ||
    fail "nvme prepare --disk did not say what it formatted: $(cat "$WORK/nvme.out")"
vm 1 "blkid -p -o value -s LABEL /dev/nvme1n1 | grep -qx 3fs-data-0 && mountpoint -q $B/data0 &&
      test -z \"\$(blkid -p -o value -s TYPE /dev/nvme0n1)\"" ||
    fail "nvme prepare --disk formatted the wrong disk or did not mount it"
out=$(vm 1 "$D prepare $B 1 nvme 4096 --disk /dev/nvme0n1 --consent /dev/nvme0n1" 2>&1) &&
    fail "nvme prepare accepted nvmeDisks naming another disk than the one holding 3fs-data-0"
grep -q "3fs-data-0 is already on /dev/nvme1n1, not on the disk nvmeDisks names for it" <<<"$out" ||
    fail "nvme refusal for a label on another disk than named: $out"
out=$(vm 1 "$D prepare $B 2 nvme 4096 --disk /dev/nvme1n1 --disk /dev/nvme9n1" 2>&1) &&
    fail "nvme prepare accepted a named disk that does not exist"
grep -q "/dev/nvme9n1 (nvmeDisks, for 3fs-data-1) is not a block device" <<<"$out" ||
    fail "nvme refusal for a missing named disk: $out"
vm 1 "$D clear $B 1 nvme 4096 && ! mountpoint -q $B/data0 && test -z \"\$(blkid -p -o value -s TYPE /dev/nvme1n1)\"" ||
    fail "nvme clear after --disk did not unmount and wipe the disk it formatted"
echo "vm test: ok: diskType nvme: list shows each disk to format with its size and what it holds; refused without consent (blank disk) and with consent to another disk, an ext4 disk never taken unless named, XFS by label in fstab with consent, cleared back, the ext4 disk untouched; nvmeDisks: a named disk formatted only with consent, a missing one and a mismatched label refused"
phase_done 'nvme disks'

# ---- cluster.yml, stand-in 3fs image and bundle --------------------------------
write_config() { # write_config TAG
    {
        printf 'name: vmtest\nworkDir: /opt/m3fs\nnetworkType: RXE\nnodes:\n'
        # SSH reaches a VM through QEMU's port forward (host); 3FS uses its
        # address on the wire NIC ens4 (address), which the NIC preflight
        # checks 3FS would listen on.
        for i in 1 2; do
            printf '  - {name: vm%s, host: %s, address: %s, port: 10022, username: root, identityFile: %s, rdmaAddresses: [%s]}\n' \
                "$i" "$(host_of "$i")" "$(l2_of "$i")" "$WORK/id" "$(l2_of "$i")"
        done
        cat <<'EOF'
services:
  fdb: {nodes: [vm2]}
  clickhouse: {nodes: [vm2]}
  monitor: {nodes: [vm1]}
  mgmtd: {nodes: [vm1]}
  meta: {nodes: [vm1]}
  storage: {nodes: [vm1], diskType: dir, replicationFactor: 1, diskNumPerNode: 1}
  client: {nodes: [vm1], hostMountpoint: /mnt/3fs}
images:
  fdb: {repo: open3fs/foundationdb, tag: "7.3.63"}
  clickhouse: {repo: open3fs/clickhouse, tag: "25.1-jammy"}
EOF
        printf '  3fs: {repo: open3fs/3fs, tag: "%s"}\n' "$1"
    } >"$WORK/cluster.yml"
}

m3fs() {
    M3FS_LOCAL_EXEC=0 M3FS_CONNECT_TIMEOUT=60 "$BIN" --known-hosts "$WORK/known_hosts" "$@"
}

# A docker-save archive of a busybox rootfs, named like an open3fs image.
make_image() { # make_image NAME REPO TAG OUTDIR
    local name=$1 repo=$2 tag=$3 out=$4 d="$WORK/save-$1" rootfs diff cfgsum
    rootfs=$(bash -c ". '$SRC/scripts/lab/busybox-image.sh' && busybox_image_tar") ||
        fail "cannot build the busybox rootfs (busybox-static installed?)"
    mkdir -p "$d/layer" "$out"
    cp "$rootfs" "$d/layer/layer.tar"
    diff=$(sha256sum "$d/layer/layer.tar" | cut -d' ' -f1)
    printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$diff" >"$d/config.json"
    cfgsum=$(sha256sum "$d/config.json" | cut -d' ' -f1)
    mv "$d/config.json" "$d/$cfgsum.json"
    printf '[{"Config":"%s.json","RepoTags":["%s:%s"],"Layers":["layer/layer.tar"]}]' \
        "$cfgsum" "$repo" "$tag" >"$d/manifest.json"
    tar -C "$d" -cf "$out/${name}_${tag}_amd64.docker" manifest.json "$cfgsum.json" layer
}

# ---- preflight: no AVX-512 and a tag without -avx2 must be refused --------------
if vm 1 'grep -qw avx512f /proc/cpuinfo'; then
    echo "vm test: NOTE: the emulated CPU has AVX-512; the AVX2 preflight check is not exercised"
else
    write_config 20250410
    m3fs cluster prepare -c "$WORK/cluster.yml" >"$WORK/avx.out" 2>&1 &&
        fail "prepare accepted tag 20250410 on a CPU without AVX-512: $(cat "$WORK/avx.out")"
    grep -q "20250410-avx2" "$WORK/avx.out" ||
        fail "the AVX-512 refusal does not name the fix: $(cat "$WORK/avx.out")"
    vm 1 'test ! -e /opt/m3fs/bin/ibdev2netdev && ! dpkg -s rdma-core >/dev/null 2>&1' ||
        fail "prepare changed vm1 although its preflight failed"
    echo "vm test: ok: preflight refused a non-avx2 3fs tag and changed nothing"
fi
phase_done "cpu preflight"

# ---- prepare ----------------------------------------------------------------------
TAG=20250410-avx2
write_config "$TAG"
make_image 3fs open3fs/3fs "$TAG" "$WORK/images"
make_image foundationdb open3fs/foundationdb 7.3.63 "$WORK/images"
make_image clickhouse open3fs/clickhouse 25.1-jammy "$WORK/images"
bash -c ". '$SRC/tests/integration/prepare-lib.sh' && prep_bundle '$WORK/images' '$WORK/bundle.tar'" ||
    fail "cannot write the bundle"
m3fs cluster prepare -c "$WORK/cluster.yml" -a "$WORK/bundle.tar" >"$WORK/p1.out" 2>&1 ||
    fail "prepare failed:
$(cat "$WORK/p1.out")"
sed 's/^/  | /' "$WORK/p1.out"
phase_done prepare

# ---- checks on both VMs -------------------------------------------------------------
for i in 1 2; do
    vm "$i" 'dpkg -s rdma-core ibverbs-providers ibverbs-utils libibverbs1 librdmacm1 libibumad3 rdmacm-utils perftest iproute2 >/dev/null' ||
        fail "vm$i: RDMA packages not installed"
    vm "$i" 'rdma link show' >"$WORK/link$i" || fail "vm$i: rdma link failed"
    grep -q 'state ACTIVE .*netdev ens4' "$WORK/link$i" ||
        fail "vm$i: no ACTIVE rxe link on ens4: $(cat "$WORK/link$i")"
    grep -q 'netdev ens3' "$WORK/link$i" &&
        fail "vm$i: rxe was made on ens3 although rdmaAddresses selects ens4 only"
    vm "$i" 'test -c /dev/infiniband/uverbs0' || fail "vm$i: /dev/infiniband/uverbs0 missing"
    shim=$(vm "$i" /opt/m3fs/bin/ibdev2netdev) || fail "vm$i: the ibdev2netdev shim failed"
    [ "$shim" = "ens4_rxe0 port 1 ==> ens4 (Up)" ] || fail "vm$i: shim printed '$shim'"
    vm "$i" 'ibv_devinfo -d ens4_rxe0' >"$WORK/devinfo$i" 2>&1 ||
        fail "vm$i: ibv_devinfo: $(cat "$WORK/devinfo$i")"
    grep -q 'PORT_ACTIVE' "$WORK/devinfo$i" || fail "vm$i: ibv_devinfo: $(cat "$WORK/devinfo$i")"
    vm "$i" 'systemctl is-enabled -q m3fs-network.service && systemctl is-active -q m3fs-network.service' ||
        fail "vm$i: m3fs-network.service is not enabled and active"
done
[ "$(vm 1 'cat /proc/sys/fs/aio-max-nr')" = 67108864 ] || fail "vm1 (storage): fs.aio-max-nr not set"
vm 2 "test ! -e /etc/sysctl.d/60-m3fs-aio.conf" || fail "vm2 (no storage) got the aio sysctl file"
echo "vm test: ok: packages, ACTIVE rxe on ens4, uverbs0, shim, ibv_devinfo on both VMs; aio-max-nr on the storage VM"
phase_done checks

# ---- a second prepare changes nothing ---------------------------------------------------
m3fs cluster prepare -c "$WORK/cluster.yml" -a "$WORK/bundle.tar" >"$WORK/p2.out" 2>&1 ||
    fail "second prepare failed: $(cat "$WORK/p2.out")"
for i in 1 2; do
    grep -q "network vm$i: already set up, nothing changed" "$WORK/p2.out" &&
        grep -q "network vm$i: packages already installed" "$WORK/p2.out" ||
        fail "second prepare changed something on vm$i: $(cat "$WORK/p2.out")"
done
echo "vm test: ok: a second prepare changed nothing and said so"
phase_done "second prepare"

# ---- create with diskType nvme: every disk to format listed, consent to exactly it ----
# (issue 20 F5) vm1's two NVMe disks are blank now; create lists them all
# before anything changes and stops without consent, or with consent to
# another list, or with another number typed.
sed 's/diskType: dir/diskType: nvme/; s/diskNumPerNode: 1/diskNumPerNode: 2/' "$WORK/cluster.yml" >"$WORK/nvme.yml"
grep -q 'diskType: nvme' "$WORK/nvme.yml" || fail "cannot write the nvme cluster.yml"
m3fs cluster create -c "$WORK/nvme.yml" --skip-bench >"$WORK/c1.out" 2>&1 &&
    fail "create with diskType nvme and no consent succeeded: $(cat "$WORK/c1.out")"
grep -q "no consent to format disks; 2 NVMe disks would be formatted" "$WORK/c1.out" &&
    grep -qE "^  vm1  /dev/nvme0n1 +320M  as 3fs-[0-9a-f]{4}-0  blank$" "$WORK/c1.out" &&
    grep -qE "^  vm1  /dev/nvme1n1 +320M  as 3fs-[0-9a-f]{4}-1  blank$" "$WORK/c1.out" &&
    grep -qx "  --yes-format vm1:/dev/nvme0n1,vm1:/dev/nvme1n1" "$WORK/c1.out" ||
    fail "create's refusal does not list both disks and the consent to give: $(cat "$WORK/c1.out")"
m3fs cluster create -c "$WORK/nvme.yml" --skip-bench --yes-format vm1:/dev/nvme0n1 >"$WORK/c2.out" 2>&1 &&
    fail "create formatted with consent to one disk of two: $(cat "$WORK/c2.out")"
grep -q "not named but would be formatted: vm1:/dev/nvme1n1" "$WORK/c2.out" ||
    fail "create's refusal of a partial --yes-format: $(cat "$WORK/c2.out")"
echo 3 | m3fs cluster create -c "$WORK/nvme.yml" --skip-bench --format-disks >"$WORK/c3.out" 2>&1 &&
    fail "create formatted after the wrong number was typed: $(cat "$WORK/c3.out")"
grep -q "Type 2 (the number of disks) to format them" "$WORK/c3.out" &&
    grep -q "the answer was not 2; nothing was formatted or changed" "$WORK/c3.out" ||
    fail "create's question and refusal for --format-disks: $(cat "$WORK/c3.out")"
vm 1 "test -z \"\$(blkid -p -o value -s TYPE /dev/nvme0n1)\" && test -z \"\$(blkid -p -o value -s TYPE /dev/nvme1n1)\" &&
      ! grep -q '# m3fs' /etc/fstab && test ! -e /opt/m3fs/storage/3fsdata" ||
    fail "a create refused for lack of consent changed vm1's disks, fstab or workDir"
echo "vm test: ok: create with diskType nvme listed both disks with size and content and refused without consent, with a partial --yes-format and with the wrong number typed; nothing changed"
phase_done "create disk consent"

# ---- reboot: the boot unit recreates the link --------------------------------------------
vm 1 'systemctl reboot' >/dev/null 2>&1
sleep 5
wait_ssh 1 480 || fail "vm1 did not come back within 480s after reboot"
for _ in $(seq 30); do
    vm 1 'rdma link show' 2>/dev/null | grep -q 'state ACTIVE .*netdev ens4' && break
    sleep 2
done
vm 1 'rdma link show' | grep -q 'state ACTIVE .*netdev ens4' ||
    fail "vm1: no ACTIVE rxe link after reboot: $(vm 1 'rdma link show; systemctl status --no-pager m3fs-network.service' 2>&1)"
vm 1 'test -c /dev/infiniband/uverbs0' || fail "vm1: uverbs0 missing after reboot"
echo "vm test: ok: after a reboot the boot unit recreated the rxe link"
phase_done reboot

# ---- a container sees the device ------------------------------------------------------------
out=$(vm 1 "docker run --rm --privileged --ulimit memlock=-1 --device /dev/infiniband/uverbs0 \
    -v /opt/m3fs/bin/ibdev2netdev:/usr/sbin/ibdev2netdev:ro open3fs/3fs:$TAG \
    sh -c 'test -c /dev/infiniband/uverbs0 && echo DEVICE-OK; ulimit -l; /usr/sbin/ibdev2netdev'" 2>&1) ||
    fail "container on vm1 failed: $out"
echo "$out" | grep -q DEVICE-OK || fail "container does not see uverbs0: $out"
echo "$out" | grep -q unlimited || fail "container memlock is not unlimited: $out"
echo "$out" | grep -q "ens4_rxe0 port 1 ==> ens4 (Up)" ||
    fail "shim inside the container (sysfs path) printed: $out"
echo "vm test: ok: a container sees uverbs0, unlimited memlock and the shim's line"
phase_done container

# ---- optional: ib_write_bw between the VMs over rxe ------------------------------------------
vm 2 'timeout 120 ib_write_bw -d ens4_rxe0 -x 1 -s 65536 -n 200 </dev/null >/tmp/bw-server.log 2>&1 &' \
    >/dev/null 2>&1
sleep 3
if bw=$(vm 1 "timeout 120 ib_write_bw -d ens4_rxe0 -x 1 -s 65536 -n 200 $(l2_of 2)" 2>&1); then
    echo "vm test: ok: ib_write_bw over rxe: $(echo "$bw" | awk '$1 == 65536 { print $4 " MB/s average" }')"
else
    echo "vm test: NOTE: ib_write_bw between the VMs did not complete (optional): $(echo "$bw" | tail -n 3)"
fi
phase_done ib_write_bw

print_times
echo "vm test: PASS"
exit 0
}
