#!/bin/sh
# m3fs-disks - written by m3fs: prepares, checks and clears the storage data
# directories of one node.
#
#   m3fs-disks prepare|check|clear BASE COUNT dir|nvme SECTOR [--format-disks]
#
# BASE/data<i>/3fs (i = 0..COUNT-1) are the 3FS target paths.
#   dir:  plain directories.
#   nvme: one whole NVMe disk per index, XFS labelled 3fs-data-<i>, mounted by
#         label through /etc/fstab (so it comes back after a reboot).  A disk
#         that already carries the label is reused as it is.  Any other disk
#         is formatted only with --format-disks, and never when it or one of
#         its partitions is mounted.  Disks formatted here are listed in
#         BASE.formatted; `clear` wipes only those and leaves others intact.
set -eu
op=$1 base=$2 count=$3 type=$4 sector=$5 consent=${6:-}
formatted="$base.formatted"
tag="# m3fs $base"

die() { echo "m3fs-disks: $*" >&2; exit 1; }

dir_prepare() {
    i=0
    while [ "$i" -lt "$count" ]; do mkdir -p "$base/data$i/3fs"; i=$((i + 1)); done
}

all_present() {
    i=0
    while [ "$i" -lt "$count" ]; do
        [ -d "$base/data$i/3fs" ] || return 1
        if [ "$type" = nvme ]; then
            mountpoint -q "$base/data$i" || return 1
        fi
        i=$((i + 1))
    done
}

# Whole NVMe disks with nothing of theirs mounted, in name order.
free_disks() {
    lsblk -dn -o NAME,TYPE | awk '$2 == "disk" && $1 ~ /^nvme/ {print $1}' | sort -V |
    while read -r d; do
        if lsblk -n -o MOUNTPOINT "/dev/$d" | grep -q .; then continue; fi
        if [ -n "$(blkid -o value -s LABEL "/dev/$d" 2>/dev/null)" ]; then
            case $(blkid -o value -s LABEL "/dev/$d") in 3fs-data-*) continue ;; esac
        fi
        echo "$d"
    done
}

fstab_add() { # fstab_add LABEL DIR
    grep -q "^LABEL=$1 " /etc/fstab 2>/dev/null ||
        echo "LABEL=$1 $2 xfs noatime,nodiratime,nofail 0 0 $tag" >>/etc/fstab
}

nvme_prepare() {
    i=0
    while [ "$i" -lt "$count" ]; do
        label=3fs-data-$i mnt=$base/data$i
        mkdir -p "$mnt"
        if ! blkid -L "$label" >/dev/null 2>&1; then
            d=$(free_disks | head -n 1)
            [ -n "$d" ] || die "no free NVMe disk left for $label (need $count)"
            sig=$(wipefs -i -O TYPE "/dev/$d" 2>/dev/null | sort -u | paste -sd ' ')
            parts=$(lsblk -nr -o NAME "/dev/$d" | sed 1d | paste -sd ' ')
            if [ "$consent" != --format-disks ]; then
                die "/dev/$d would be formatted as $label (it holds: ${sig:-nothing}${parts:+ partitions $parts}); run again with --format-disks to allow formatting NVMe disks"
            fi
            echo "m3fs-disks: formatting /dev/$d as XFS $label" >&2
            mkfs.xfs -f -L "$label" -s size="$sector" "/dev/$d" >/dev/null
            echo "/dev/$d $label" >>"$formatted"
            udevadm settle 2>/dev/null || true
        fi
        fstab_add "$label" "$mnt"
        mountpoint -q "$mnt" || mount -o noatime,nodiratime -L "$label" "$mnt"
        mkdir -p "$mnt/3fs"
        i=$((i + 1))
    done
}

nvme_clear() {
    i=0
    while [ "$i" -lt "$count" ]; do
        mnt=$base/data$i
        if mountpoint -q "$mnt"; then umount "$mnt"; fi
        i=$((i + 1))
    done
    if [ -f /etc/fstab ] && grep -qF "$tag" /etc/fstab; then
        grep -vF "$tag" /etc/fstab >/etc/fstab.m3fs.tmp && cat /etc/fstab.m3fs.tmp >/etc/fstab
        rm -f /etc/fstab.m3fs.tmp
    fi
    if [ -f "$formatted" ]; then
        while read -r dev label; do
            [ "$(blkid -o value -s LABEL "$dev" 2>/dev/null)" = "$label" ] || continue
            echo "m3fs-disks: wiping $dev ($label, formatted by m3fs)" >&2
            wipefs -a "$dev" >/dev/null
        done <"$formatted"
        rm -f "$formatted"
    fi
    i=0
    while [ "$i" -lt "$count" ]; do rmdir "$base/data$i" 2>/dev/null || true; i=$((i + 1)); done
    rmdir "$base" 2>/dev/null || true
}

case $op:$type in
prepare:dir) dir_prepare ;;
prepare:nvme) nvme_prepare ;;
check:*) all_present ;;
clear:dir) rm -rf "$base" ;;
clear:nvme) nvme_clear ;;
*) die "usage: m3fs-disks prepare|check|clear BASE COUNT dir|nvme SECTOR [--format-disks]" ;;
esac
