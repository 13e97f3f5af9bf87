#!/usr/bin/env bash
# make-images.sh OUTDIR: write small test images as real `docker save` archives
# (a private dockerd: `docker import` of a generated rootfs, then `docker save`)
# named like the open3fs artifacts, each with a .sha256sum file.
# Falls back to docker-save-shaped tars built by hand when dockerd is missing
# or does not start, and says so.  Leaves no daemon behind.
set -euo pipefail
OUT=$1
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/m3fs-art-img.XXXXXX)
DPID=
cleanup() {
    if [ -n "$DPID" ]; then
        kill "$DPID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# name repo tag kib
IMAGES=("3fs open3fs/3fs 20250410 2048"
        "foundationdb open3fs/foundationdb 7.3.63 600"
        "clickhouse open3fs/clickhouse 25.1-jammy 1024")

start_dockerd() {
    command -v dockerd >/dev/null && command -v docker >/dev/null || return 1
    dockerd --data-root "$WORK/data" --exec-root "$WORK/exec" --pidfile "$WORK/pid" \
        -H "unix://$WORK/sock" --bridge=none --iptables=false --ip6tables=false \
        >"$WORK/dockerd.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do
        docker -H "unix://$WORK/sock" info >/dev/null 2>&1 && return 0
        kill -0 "$DPID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

rootfs() { # dir kib
    mkdir -p "$1/etc" "$1/opt"
    echo "m3fs test image" >"$1/etc/motd"
    head -c "$(($2 * 1024))" /dev/urandom >"$1/opt/payload.bin"
}

if start_dockerd; then
    for spec in "${IMAGES[@]}"; do
        read -r name repo tag kib <<<"$spec"
        rootfs "$WORK/$name" "$kib"
        tar -C "$WORK/$name" -cf "$WORK/$name.tar" .
        docker -H "unix://$WORK/sock" import "$WORK/$name.tar" "$repo:$tag" >/dev/null
        docker -H "unix://$WORK/sock" save -o "$OUT/${name}_${tag}_amd64.docker" "$repo:$tag"
    done
    echo "make-images: real docker save output from a private dockerd"
else
    echo "make-images: NOTE: dockerd unavailable; writing docker-save-shaped tars by hand"
    for spec in "${IMAGES[@]}"; do
        read -r name repo tag kib <<<"$spec"
        d="$WORK/save-$name"
        rootfs "$WORK/$name" "$kib"
        mkdir -p "$d/layer"
        tar -C "$WORK/$name" -cf "$d/layer/layer.tar" .
        printf '[{"Config":"config.json","RepoTags":["%s:%s"],"Layers":["layer/layer.tar"]}]' \
            "$repo" "$tag" >"$d/manifest.json"
        echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}' >"$d/config.json"
        tar -C "$d" -cf "$OUT/${name}_${tag}_amd64.docker" manifest.json config.json layer
    done
fi
cd "$OUT"
for f in *.docker; do sha256sum "$f" >"$f.sha256sum"; done
