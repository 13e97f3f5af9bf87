#!/bin/bash
# A tiny container image for tests: a rootfs tar holding the static busybox
# from Debian's busybox-static package (/bin/busybox plus one symlink per
# applet). Cached outside the repository; rebuilt when /bin/busybox changes.
#
#   scripts/lab/busybox-image.sh             print the tar's path (builds it once)
#   scripts/lab/busybox-image.sh --import    also `docker import` it as
#                                            m3fs-test/busybox:lab on every
#                                            node of the lab that is up
#
# Or source it and call busybox_image_tar (prints the path).
# Cache dir: $M3FS_TEST_CACHE (default /var/cache/m3fs-test).

BUSYBOX_IMAGE_NAME=m3fs-test/busybox:lab

busybox_image_tar() {
    local cache=${M3FS_TEST_CACHE:-/var/cache/m3fs-test}
    local tar=$cache/busybox-rootfs.tar bb=/bin/busybox
    if [ ! -x "$bb" ] || ! "$bb" --list 2>/dev/null | grep -qx sh; then
        echo "busybox-image: $bb missing; apt-get install busybox-static" >&2
        return 1
    fi
    if [ -s "$tar" ] && [ "$tar" -nt "$bb" ]; then
        echo "$tar"
        return 0
    fi
    mkdir -p "$cache" || return 1
    local root applet
    root=$(mktemp -d "$cache/rootfs.XXXXXX") || return 1
    mkdir -p "$root"/{bin,tmp,etc,proc,sys,dev,mnt,root}
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    for applet in $("$bb" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    # Fixed owner and times: the same busybox always gives the same tar.
    if tar -C "$root" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name \
        -cf "$tar.tmp.$$" . && mv -f "$tar.tmp.$$" "$tar"; then
        rm -rf "$root"
        echo "$tar"
        return 0
    fi
    rm -rf "$root" "$tar.tmp.$$"
    return 1
}

# Import the image on every node of the lab that is up ($M3FS_LAB_DIR).
busybox_image_import() {
    local tar lab=${M3FS_LAB_DIR:-/var/tmp/m3fs-lab} host rc=0
    tar=$(busybox_image_tar) || return 1
    [ -s "$lab/ssh_config" ] || {
        echo "busybox-image: no lab at $lab (scripts/lab.sh up N first)" >&2
        return 1
    }
    for host in $(sed -n 's/^Host \(lab-n[0-9]*\)$/\1/p' "$lab/ssh_config"); do
        ssh -F "$lab/ssh_config" "$host" \
            "docker import -c 'CMD [\"/bin/sh\"]' - $BUSYBOX_IMAGE_NAME" <"$tar" >/dev/null ||
            { echo "busybox-image: import on $host failed" >&2; rc=1; }
    done
    [ "$rc" -eq 0 ] && echo "$BUSYBOX_IMAGE_NAME"
    return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    case ${1-} in
    "") busybox_image_tar ;;
    --import) busybox_image_import ;;
    *) echo "usage: $0 [--import]" >&2; exit 2 ;;
    esac
fi
