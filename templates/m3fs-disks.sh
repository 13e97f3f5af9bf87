#!/bin/sh
# m3fs-disks - written by m3fs: lists, prepares, checks and clears the
# storage data directories of one node.
#
#   m3fs-disks list|prepare|check|clear BASE COUNT dir|nvme SECTOR [--disk DEV]...
#              [--consent DEV]... [--label-prefix P]
#
# BASE/data<i>/3fs (i = 0..COUNT-1) are the 3FS target paths.
#   dir:  plain directories.
#   nvme: one whole NVMe disk per index, XFS labelled <P>-<i>, mounted by
#         label through /etc/fstab (so it comes back after a reboot).  m3fs
#         passes P = 3fs-<4 hex digits of the cluster name's sha256>, so two
#         clusters on one node never take each other's disks (default
#         3fs-data, the label before issue 20; a disk this BASE formatted
#         under it is still reused).  A disk that already carries the label
#         is reused as it is; one labelled 3fs-* (another cluster's) is never
#         taken.  With --disk (the node's nvmeDisks, COUNT of them) disk i is
#         the i-th one named, whatever it holds; otherwise only blank NVMe
#         disks (no signature that `wipefs -n` sees, no partition) are taken,
#         in name order.  A disk is never formatted when it or one of its
#         partitions is mounted.
#         `list` changes nothing and prints one line per disk that `prepare`
#         would format: "format DEV LABEL SIZE HOLDS" (HOLDS: the signatures
#         and partitions found, "-" for none), and "reuse DEV LABEL" per disk
#         that already carries its label.  m3fs runs it on every node,
#         shows the whole list and asks for consent to exactly that list
#         (issue 20 F5); `prepare` then formats a disk only when --consent
#         names it, and formats nothing on the node when one is not named.
#         Disks formatted here are listed in BASE.formatted; `clear` wipes
#         only those and leaves others intact.
set -eu
op=$1 base=$2 count=$3 type=$4 sector=$5 consent='' listed='' prefix=3fs-data
shift 5
while [ $# -gt 0 ]; do
    case $1 in
    --consent) [ $# -ge 2 ] || { echo "m3fs-disks: --consent needs a device" >&2; exit 1; }
        consent="$consent $(readlink -f "$2" || echo "$2") "; shift ;;
    --disk) [ $# -ge 2 ] || { echo "m3fs-disks: --disk needs a device" >&2; exit 1; }
        listed="$listed$2
"; shift ;;
    --label-prefix) [ $# -ge 2 ] || { echo "m3fs-disks: --label-prefix needs a value" >&2; exit 1; }
        prefix=$2; shift ;;
    *) echo "m3fs-disks: unknown argument $1" >&2; exit 1 ;;
    esac
    shift
done
case $prefix in
'' | *[!A-Za-z0-9-]*) echo "m3fs-disks: bad --label-prefix '$prefix'" >&2; exit 1 ;;
esac
# XFS labels hold 12 bytes: <prefix>-<i> with i < 1000
[ "${#prefix}" -le 8 ] || { echo "m3fs-disks: --label-prefix '$prefix' is longer than 8" >&2; exit 1; }
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

# What DEV holds: its signatures (filesystem, LVM, md, partition table, as
# `wipefs -n` sees them) and its partitions; empty when it is blank.
holds() { # holds DEV
    sig=$(wipefs -n -i -O TYPE "$1" 2>/dev/null | sort -u | paste -sd ' ' -)
    parts=$(lsblk -nr -o NAME "$1" | sed 1d | paste -sd ' ' -)
    echo "$sig${sig:+${parts:+ }}${parts:+partitions $parts}"
}

# Whole NVMe disks with nothing of theirs mounted and nothing on them, in
# name order (issue 20 F5: a disk that holds anything is formatted only when
# nvmeDisks names it).  With "held", the disks passed over for what they
# hold instead, one "DEV (holds: ...)" per line.
free_disks() { # free_disks [held]
    lsblk -dn -o NAME,TYPE | awk '$2 == "disk" && $1 ~ /^nvme/ {print $1}' | sort -V |
    while read -r d; do
        if lsblk -n -o MOUNTPOINT "/dev/$d" | grep -q .; then continue; fi
        if [ -n "$(blkid -o value -s LABEL "/dev/$d" 2>/dev/null)" ]; then
            case $(blkid -o value -s LABEL "/dev/$d") in 3fs-*) continue ;; esac
        fi
        h=$(holds "/dev/$d")
        if [ "${1:-}" = held ]; then
            [ -z "$h" ] || echo "/dev/$d (holds: $h)"
        elif [ -z "$h" ]; then
            echo "$d"
        fi
    done
}

# /etc/fstab is never rewritten in place (issue 20): the new text goes to a
# temporary file in the same directory, with the file's mode and owner, and
# is renamed over it; the previous one is kept as fstab.m3fs.bak.
# M3FS_FSTAB names another file (tests).
fstab=$(readlink -f "${M3FS_FSTAB:-/etc/fstab}" || echo "${M3FS_FSTAB:-/etc/fstab}")

fstab_replace() { # fstab_replace TMP: TMP (complete) becomes the fstab
    if [ -f "$fstab" ]; then
        if ! { chmod --reference="$fstab" "$1" && chown --reference="$fstab" "$1" &&
            cp -p "$fstab" "$fstab.m3fs.bak"; }; then
            rm -f "$1"
            die "cannot prepare the new $fstab"
        fi
    else
        chmod 0644 "$1"
    fi
    sync "$1" 2>/dev/null || true
    mv -f "$1" "$fstab" || { rm -f "$1"; die "cannot replace $fstab"; }
}

fstab_tmp() {
    mktemp "$(dirname "$fstab")/.fstab.m3fs.XXXXXX" || die "cannot create a temporary file beside $fstab"
}

fstab_add() { # fstab_add LABEL DIR
    ! grep -q "^LABEL=$1 " "$fstab" 2>/dev/null || return 0
    t=$(fstab_tmp)
    { if [ -f "$fstab" ]; then cat "$fstab"; fi
      echo "LABEL=$1 $2 xfs noatime,nodiratime,nofail 0 0 $tag"; } >"$t" ||
        { rm -f "$t"; die "cannot write $t"; }
    fstab_replace "$t"
}

fstab_drop() { # the lines tagged for this BASE
    [ -f "$fstab" ] && grep -qF "$tag" "$fstab" || return 0
    t=$(fstab_tmp)
    rc=0
    grep -vF "$tag" "$fstab" >"$t" || rc=$?
    [ "$rc" -le 1 ] || { rm -f "$t"; die "cannot filter $fstab"; }
    fstab_replace "$t"
}

# The disk nvmeDisks names for data index I (empty: none).
listed_disk() { printf '%s' "$listed" | sed -n "$(($1 + 1))p"; }

# The disk for data index i: the i-th listed one, else the first free one.
pick_disk() { # pick_disk I LABEL
    if [ -z "$listed" ]; then
        # the first blank disk not already chosen for a lower index
        d=$(free_disks | while read -r x; do
            case " $chosen " in *" $x "*) ;; *) echo "$x" ;; esac
        done | head -n 1)
        if [ -z "$d" ]; then
            held=$(free_disks held | paste -sd ';' - | sed 's/;/; /g')
            die "no blank NVMe disk left for $2 (need $count)${held:+; passed over because they hold data: $held}; m3fs formats a disk that holds anything only when the node's nvmeDisks names it"
        fi
        echo "/dev/$d"
        return
    fi
    d=$(listed_disk "$1")
    [ -n "$d" ] || die "nvmeDisks names no disk for $2 (need $count)"
    [ -b "$d" ] || die "$d (nvmeDisks, for $2) is not a block device on this node"
    have=$(blkid -p -o value -s LABEL "$d" 2>/dev/null || true)
    case $have in 3fs-*) die "$d (nvmeDisks, for $2) already holds 3FS data disk $have (this or another cluster's)" ;; esac
    echo "$d"
}

# True unless nvmeDisks names, for index I, a disk other than DEV.
named_is() { # named_is I DEV
    [ -n "$listed" ] || return 0
    want=$(listed_disk "$1")
    [ -n "$want" ] && [ "$(readlink -f "$want")" = "$(readlink -f "$2")" ]
}

# The label of data index I: <prefix>-<I>, or the pre-issue-20 3fs-data-<I>
# when this BASE formatted a disk under it (listed in BASE.formatted).
label_for() { # label_for I
    if [ "$prefix" != 3fs-data ] && ! blkid -L "$prefix-$1" >/dev/null 2>&1 &&
        [ -f "$formatted" ] && grep -q " 3fs-data-$1\$" "$formatted" &&
        blkid -L "3fs-data-$1" >/dev/null 2>&1; then
        echo "3fs-data-$1"
    else
        echo "$prefix-$1"
    fi
}

# Decide every index before touching anything (issue 20 F5): one line per
# index, "I LABEL DEV" (DEV "-": the labelled disk is reused).
nvme_plan() {
    i=0 chosen=''
    while [ "$i" -lt "$count" ]; do
        label=$(label_for "$i")
        if have=$(blkid -L "$label" 2>/dev/null); then
            named_is "$i" "$have" ||
                die "$label is already on $have, not on the disk nvmeDisks names for it; fix nvmeDisks (or clear the old disk)"
            echo "$i $label -"
        else
            dev=$(pick_disk "$i" "$label")
            mounts=$(lsblk -n -o MOUNTPOINT "$dev") || die "cannot list the mounts of $dev (lsblk failed)"
            [ -z "$mounts" ] || die "$dev (for $label) or one of its partitions is mounted; it is never formatted"
            chosen="$chosen ${dev#/dev/}"
            echo "$i $label $dev"
        fi
        i=$((i + 1))
    done
}

# `list`: "format DEV LABEL SIZE HOLDS" per disk the plan formats, and
# "reuse DEV LABEL" per disk that already has its label.
nvme_list() {
    todo=$(nvme_plan)
    while read -r i label dev; do
        case $dev in
        "") continue ;;
        -) echo "reuse $(blkid -L "$label") $label"; continue ;;
        esac
        size=$(lsblk -dn -o SIZE "$dev" 2>/dev/null | tr -d ' ')
        held=$(holds "$dev")
        echo "format $dev $label ${size:-?} ${held:--}"
    done <<EOF
$todo
EOF
}

# Every disk the plan formats must be named by --consent; otherwise nothing
# on this node is formatted.
nvme_consented() { # nvme_consented PLAN
    unconsented=''
    while read -r i label dev; do
        case $dev in "" | -) continue ;; esac
        r=$(readlink -f "$dev" || echo "$dev")
        case $consent in
        *" $r "*) ;;
        *) held=$(holds "$dev")
            unconsented="$unconsented${unconsented:+; }$dev would be formatted as $label (it holds: ${held:-nothing})" ;;
        esac
    done <<EOF
$1
EOF
    [ -z "$unconsented" ] ||
        die "$unconsented; no consent to format it: run m3fs cluster create again, which lists every disk it would format on every node and asks for consent to that list"
}

nvme_prepare() {
    todo=$(nvme_plan)
    nvme_consented "$todo"
    while read -r i label dev; do
        mnt=$base/data$i
        mkdir -p "$mnt"
        if [ "$dev" != - ]; then
            held=$(holds "$dev")
            echo "m3fs-disks: formatting $dev as XFS $label (it held: ${held:-nothing})" >&2
            mkfs.xfs -f -L "$label" -s size="$sector" "$dev" >/dev/null
            echo "$dev $label" >>"$formatted"
            udevadm settle 2>/dev/null || true
        fi
        fstab_add "$label" "$mnt"
        mountpoint -q "$mnt" || mount -o noatime,nodiratime -L "$label" "$mnt"
        mkdir -p "$mnt/3fs"
    done <<EOF
$todo
EOF
}

# formatted_line LINE: LINE is "DEV LABEL" as nvme_prepare writes it: DEV a
# /dev path of [A-Za-z0-9._/:+-] under 256 bytes, one space, LABEL a prefix
# of 1-8 of [A-Za-z0-9-], a - and 1-3 digits.
formatted_line() {
    fd=${1%% *} fl=${1#* }
    [ "$fd $fl" = "$1" ] && [ "${#fd}" -lt 256 ] || return 1
    case $fd in /dev/?*) ;; *) return 1 ;; esac
    case $fd in *[!A-Za-z0-9._/:+-]*) return 1 ;; esac
    case $fl in *-[0-9] | *-[0-9][0-9] | *-[0-9][0-9][0-9]) ;; *) return 1 ;; esac
    fp=${fl%-*}
    fn=${fl##*-}
    case $fn in *[!0-9]*) return 1 ;; esac
    [ -n "$fp" ] && [ "${#fp}" -le 8 ] || return 1
    case $fp in *[!A-Za-z0-9-]*) return 1 ;; esac
}

nvme_clear() {
    i=0
    while [ "$i" -lt "$count" ]; do
        mnt=$base/data$i
        if mountpoint -q "$mnt"; then umount "$mnt"; fi
        i=$((i + 1))
    done
    fstab_drop
    if [ -f "$formatted" ]; then
        # by label: device names can change across reboots.  Only lines as
        # nvme_prepare writes them ("DEV LABEL"), the ones m3fs listed when
        # it asked (src/scale/formatted.c reads them the same way).
        while IFS= read -r line; do
            formatted_line "$line" || continue
            dev=${line%% *} label=${line#* }
            cur=$(blkid -L "$label" 2>/dev/null) || continue
            echo "m3fs-disks: wiping $cur ($label, formatted by m3fs as $dev)" >&2
            wipefs -a "$cur" >/dev/null
        done <"$formatted"
        rm -f "$formatted"
    fi
    i=0
    while [ "$i" -lt "$count" ]; do rmdir "$base/data$i" 2>/dev/null || true; i=$((i + 1)); done
    rmdir "$base" 2>/dev/null || true
}

case $op:$type in
list:dir) ;;
list:nvme) nvme_list ;;
prepare:dir) dir_prepare ;;
prepare:nvme) nvme_prepare ;;
check:*) all_present ;;
clear:dir) rm -rf "$base" ;;
clear:nvme) nvme_clear ;;
*) die "usage: m3fs-disks list|prepare|check|clear BASE COUNT dir|nvme SECTOR [--disk DEV]... [--consent DEV]... [--label-prefix P]" ;;
esac
