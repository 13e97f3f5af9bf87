#!/usr/bin/env bash
# tests/vm/image.sh: build (once) the Debian bookworm VM image used by
# tests/vm/run.sh and print the directory holding it:
#   DIR/disk.img   raw ext4 root filesystem (VMs boot copy-on-write overlays)
#   DIR/vmlinuz    the Debian kernel (linux-image-amd64) for qemu -kernel
#   DIR/initrd.img its initramfs
# DIR is $M3FS_VM_CACHE/<hash of this recipe> (default
# /var/cache/m3fs-test/vm), so an unchanged recipe reuses the image and any
# change to this file builds a new one.
#
# The image has systemd, sshd, docker.io, iproute2 and kmod, and NO RDMA
# userspace packages: `m3fs cluster prepare` must install those.  It carries
# no ssh host keys and no authorized keys; m3fs-vm-init (below) reads them
# from the kernel command line at boot:
#   m3fs.host=NAME          hostname
#   m3fs.l2=ADDR/PREFIX     static address of the second NIC (ens4)
#   m3fs.key=TYPE,BASE64    root's authorized key
# generates the VM's own (ed25519) host key on first boot and prints the ed25519 one
# on the serial console as "M3FS-HOSTKEY <type> <base64>".
set -euo pipefail
{ # read as one compound command, so editing this file cannot disturb a run
MIRROR=${M3FS_VM_MIRROR:-http://deb.debian.org/debian}
CACHE=${M3FS_VM_CACHE:-/var/cache/m3fs-test/vm}
SELF=$(readlink -f "$0")
HASH=$( { cat "$SELF"; echo "$MIRROR"; } | sha256sum | cut -c1-16)
DIR=$CACHE/$HASH

if [ -s "$DIR/disk.img" ] && [ -s "$DIR/vmlinuz" ] && [ -s "$DIR/initrd.img" ]; then
    echo "$DIR"
    exit 0
fi

for t in debootstrap mkfs.ext4; do
    command -v "$t" >/dev/null || { echo "image.sh: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
ROOT=$WORK/root

echo "image.sh: debootstrap bookworm into $ROOT (a few minutes)" >&2
debootstrap --variant=minbase \
    --include=systemd-sysv,udev,openssh-server,docker.io,iproute2,kmod,procps,linux-image-amd64,initramfs-tools,xfsprogs \
    bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -30 "$WORK/debootstrap.log" >&2
    echo "image.sh: debootstrap failed (log above)" >&2
    exit 1
}

# --- configuration inside the image -----------------------------------------
echo "m3fs-vm" >"$ROOT/etc/hostname"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$ROOT/etc/fstab"
echo "nameserver 10.0.2.3" >"$ROOT/etc/resolv.conf"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$MIRROR" "$MIRROR" \
    >"$ROOT/etc/apt/sources.list"
rm -f "$ROOT"/etc/ssh/ssh_host_*
echo "HostKey /etc/ssh/ssh_host_ed25519_key" >"$ROOT/etc/ssh/sshd_config.d/m3fs-vm.conf"

# First NIC (slirp: outbound NAT to Debian's archive, sshd forwarded from the host).
cat >"$ROOT/etc/systemd/network/10-nat.network" <<'EOF'
[Match]
Name=ens3

[Network]
DHCP=ipv4
EOF

cat >"$ROOT/usr/local/sbin/m3fs-vm-init" <<'EOF'
#!/bin/sh
# Per-VM settings from the kernel command line (see tests/vm/image.sh).
set -e
for w in $(cat /proc/cmdline); do
    case $w in
    m3fs.host=*) host=${w#*=} ;;
    m3fs.l2=*) l2=${w#*=} ;;
    m3fs.key=*) key=$(echo "${w#*=}" | tr , ' ') ;;
    esac
done
if [ -n "$host" ]; then
    echo "$host" >/etc/hostname
    hostname "$host"
fi
mkdir -p /run/systemd/network
if [ -n "$l2" ]; then
    printf '[Match]\nName=ens4\n\n[Network]\nAddress=%s\n' "$l2" >/run/systemd/network/20-l2.network
fi
if [ -n "$key" ]; then
    install -d -m 0700 /root/.ssh
    echo "$key" >/root/.ssh/authorized_keys
    chmod 0600 /root/.ssh/authorized_keys
fi
# ed25519 only: RSA key generation takes minutes under TCG.
k=/etc/ssh/ssh_host_ed25519_key
[ -s "$k" ] || ssh-keygen -q -t ed25519 -N '' -f "$k"
echo "M3FS-HOSTKEY $(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" >/dev/ttyS0
EOF
chmod 0755 "$ROOT/usr/local/sbin/m3fs-vm-init"

cat >"$ROOT/etc/systemd/system/m3fs-vm-init.service" <<'EOF'
[Unit]
Description=m3fs test VM: hostname, addresses, keys from the kernel command line
DefaultDependencies=no
After=local-fs.target
Before=systemd-networkd.service ssh.service network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/m3fs-vm-init

[Install]
WantedBy=sysinit.target
EOF

chroot "$ROOT" systemctl enable m3fs-vm-init.service systemd-networkd.service >/dev/null 2>&1
# Nothing may hold the dpkg lock while prepare installs packages.
chroot "$ROOT" systemctl mask apt-daily.timer apt-daily-upgrade.timer \
    apt-daily.service apt-daily-upgrade.service >/dev/null 2>&1
# No getty on the serial console (the console log is only read for the host key).
chroot "$ROOT" systemctl mask serial-getty@ttyS0.service getty-static.service >/dev/null 2>&1
# No package lists either: like a fresh cloud node, prepare must update them.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin
find "$ROOT/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete

KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
ls "$ROOT/lib/modules/$KVER/kernel/drivers/infiniband/sw/rxe/"rdma_rxe.ko* >/dev/null 2>&1 ||
    { echo "image.sh: kernel $KVER has no rdma_rxe module" >&2; exit 1; }
cp "$ROOT/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$WORK/initrd.img"

echo "image.sh: mkfs.ext4 -d (kernel $KVER)" >&2
mkfs.ext4 -q -F -L m3fs-vm -d "$ROOT" "$WORK/disk.img" 4G
mkdir -p "$DIR"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$DIR/"
mv "$WORK/disk.img" "$DIR/disk.img"
# Images of older recipes are of no use any more.
for d in "$CACHE"/*; do
    case ${d##*/} in "$HASH") ;; [0-9a-f][0-9a-f][0-9a-f][0-9a-f]????????????) rm -rf "$d" ;; esac
done
echo "$DIR"
}
