#!/bin/bash
# tests/images/build.sh OUTDIR
#
# Builds the stand-in images open3fs/3fs, open3fs/foundationdb and
# open3fs/clickhouse (test fixtures, docs/stand-ins.md) as `docker load`
# archives named like the real artifacts, each with a .sha256sum, so OUTDIR
# can be served as an artifact server. No Docker daemon is needed: the rootfs
# comes from debootstrap (Debian packages only) and mkarchive.py writes the
# archive format. Results are cached in $M3FS_IMAGE_CACHE (default
# /var/cache/m3fs-test/images), keyed by a hash of the recipe; the
# debootstrap runs once per package-list change. Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The key tree of every 3FS config file (tests/contract/README.md): the
# stand-ins refuse keys outside it, so it goes into the images and the hash.
SCHEMA=$(cd "$HERE/../contract/schema" 2>/dev/null && pwd) && [ -f "$SCHEMA/mgmtd_main.json" ] ||
    { echo "build.sh: error: tests/contract/schema/*.json is missing" >&2; exit 1; }
CACHE=${M3FS_IMAGE_CACHE:-/var/cache/m3fs-test/images}
MIRROR=${M3FS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PKGS=python3,procps,fio,python3-fuse,fuse,mount
TAG_3FS=${M3FS_TAG_3FS:-20250410}
TAG_FDB=${M3FS_TAG_FDB:-7.3.63}
TAG_CH=${M3FS_TAG_CH:-25.1-jammy}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

[ $# -eq 1 ] || { echo "usage: tests/images/build.sh OUTDIR" >&2; exit 2; }
OUT=$1
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap)"
mkdir -p "$OUT" "$CACHE"
OUT=$(cd "$OUT" && pwd)

base_key=$(printf '%s\n' "v2" "$SUITE" "$PKGS" | sha256sum | cut -c1-16)
recipe_key=$( (echo "$base_key $TAG_3FS $TAG_FDB $TAG_CH"
    cd "$HERE" && find build.sh mkarchive.py lib 3fs fdb clickhouse -type f ! -name '*.pyc' \
        -print0 | sort -z | xargs -0 sha256sum
    cd "$SCHEMA" && find . -type f -name '*.json' -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16)
BASE=$CACHE/base-$base_key.tar.gz
DONE=$CACHE/$recipe_key
NAMES=("3fs_${TAG_3FS}_amd64.docker" "foundationdb_${TAG_FDB}_amd64.docker"
       "clickhouse_${TAG_CH}_amd64.docker")

# --- base rootfs (shared by the three images) -------------------------------
build_base() {
    local tmp
    tmp=$(mktemp -d "$CACHE/base.XXXXXX")
    trap 'rm -rf "$tmp"' RETURN
    log "debootstrap $SUITE with $PKGS (once per package list)"
    debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$tmp/root" "$MIRROR" \
        >"$tmp/debootstrap.log" 2>&1 || { tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
    (cd "$tmp/root" && rm -rf var/lib/apt/lists/* var/cache/apt/* var/cache/debconf/*-old \
        usr/share/doc/* usr/share/man/* usr/share/locale/* usr/share/info/* var/log/*.log \
        var/log/apt/* dev/* proc/* sys/* run/* tmp/*)
    compile_python "$tmp/root"
    cp "$tmp/root/usr/bin/fio" "$CACHE/base-$base_key.fio"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/root" -cf - . |
        gzip -1 -n >"$BASE.tmp"
    mv "$BASE.tmp" "$BASE"
}

# The packed layers set every mtime to 0, which makes Debian's mtime-checked
# .pyc files stale: each fresh container would recompile the stdlib it imports
# (~0.15 CPU-s per process start). Hash-based, unchecked .pyc files do not
# depend on mtimes (the image is never edited in place).
compile_python() { # compile_python ROOT
    chroot "$1" /usr/bin/python3 -m compileall -q -f --invalidation-mode unchecked-hash \
        /usr/lib/python3.11 /usr/lib/python3/dist-packages >/dev/null ||
        log "compileall: some stdlib modules did not compile (they compile at run time)"
    local pyc=("$1"/usr/lib/python3.11/json/__pycache__/__init__.*.pyc)
    "$PY" -c 'import sys; sys.exit(open(sys.argv[1], "rb").read(8)[4] != 1)' "${pyc[0]}" ||
        die "compileall did not leave unchecked hash-based .pyc files in the base image"
}

# --- per-image layer ----------------------------------------------------------
stage_common() { # stage_common DIR
    install -d "$1/usr/lib/python3/dist-packages/standin/contract_schema"
    install -m 0644 "$HERE"/lib/standin/*.py "$1/usr/lib/python3/dist-packages/standin/"
    install -m 0644 "$SCHEMA"/*.json "$1/usr/lib/python3/dist-packages/standin/contract_schema/"
    "$PY" -m compileall -q --invalidation-mode unchecked-hash -d /usr/lib/python3/dist-packages/standin \
        "$1/usr/lib/python3/dist-packages/standin" >/dev/null
}

layer_tar() { # layer_tar DIR OUT.tar
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf "$2" .
}

runtime_config() { # runtime_config FILE ENTRYPOINT-JSON CMD-JSON ENV...
    local f=$1 ep=$2 cmd=$3
    shift 3
    "$PY" -c 'import json,sys; print(json.dumps({"Env": sys.argv[3:], "Entrypoint": json.loads(sys.argv[1]),
        "Cmd": json.loads(sys.argv[2]), "WorkingDir": "/"}))' "$ep" "$cmd" "$@" >"$f"
}

build_images() {
    local w
    w=$(mktemp -d "$CACHE/build.XXXXXX")
    trap 'rm -rf "$w"' RETURN
    local path=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

    # 3fs: /opt/3fs/bin with the services, admin_cli and Debian's fio
    stage_common "$w/3fs"
    install -d "$w/3fs/opt/3fs/bin" "$w/3fs/opt/3fs/etc" "$w/3fs/var/log/3fs"
    install -m 0755 "$HERE"/3fs/bin/* "$w/3fs/opt/3fs/bin/"
    install -m 0755 "$CACHE/base-$base_key.fio" "$w/3fs/opt/3fs/bin/fio"
    layer_tar "$w/3fs" "$w/3fs.tar"
    runtime_config "$w/3fs.json" null '["/bin/bash"]' "$path"
    "$PY" "$HERE/mkarchive.py" "$w/${NAMES[0]}" "open3fs/3fs:$TAG_3FS" "$w/3fs.json" "$BASE" "$w/3fs.tar"

    # foundationdb: fdbserver + fdbcli, started by /var/fdb/scripts/fdb.bash
    stage_common "$w/fdb"
    install -d "$w/fdb/usr/bin" "$w/fdb/var/fdb/scripts" "$w/fdb/var/fdb/data" "$w/fdb/var/fdb/logs"
    install -m 0755 "$HERE"/fdb/bin/* "$w/fdb/usr/bin/"
    install -m 0755 "$HERE/fdb/fdb.bash" "$w/fdb/var/fdb/scripts/fdb.bash"
    layer_tar "$w/fdb" "$w/fdb.tar"
    runtime_config "$w/fdb.json" null '["/var/fdb/scripts/fdb.bash"]' "$path" \
        FDB_PORT=4500 FDB_CLUSTER_FILE=/var/fdb/fdb.cluster FDB_NETWORKING_MODE=container
    "$PY" "$HERE/mkarchive.py" "$w/${NAMES[1]}" "open3fs/foundationdb:$TAG_FDB" "$w/fdb.json" "$BASE" "$w/fdb.tar"

    # clickhouse: clickhouse-server + clickhouse-client, started by /entrypoint.sh
    stage_common "$w/ch"
    install -d "$w/ch/usr/bin" "$w/ch/etc/clickhouse-server/config.d" "$w/ch/var/lib/clickhouse" \
        "$w/ch/var/log/clickhouse-server"
    install -m 0755 "$HERE"/clickhouse/bin/* "$w/ch/usr/bin/"
    install -m 0755 "$HERE/clickhouse/entrypoint.sh" "$w/ch/entrypoint.sh"
    layer_tar "$w/ch" "$w/ch.tar"
    runtime_config "$w/ch.json" '["/entrypoint.sh"]' null "$path"
    "$PY" "$HERE/mkarchive.py" "$w/${NAMES[2]}" "open3fs/clickhouse:$TAG_CH" "$w/ch.json" "$BASE" "$w/ch.tar"

    local n
    for n in "${NAMES[@]}"; do
        (cd "$w" && sha256sum "$n" >"$n.sha256sum")
    done
    mkdir -p "$DONE.tmp"
    mv "$w"/*.docker "$w"/*.sha256sum "$DONE.tmp/"
    rm -rf "$DONE"
    mv "$DONE.tmp" "$DONE"
}

exec 8>"$CACHE/.lock"
flock -w 900 8 || die "another build holds $CACHE/.lock"
[ -s "$BASE" ] && [ -s "$CACHE/base-$base_key.fio" ] || build_base
if [ ! -d "$DONE" ]; then
    log "building images (recipe $recipe_key)"
    build_images
    # drop the outputs of older recipes (hard links in earlier OUTDIRs stay valid)
    find "$CACHE" -mindepth 1 -maxdepth 1 ! -name "$recipe_key" ! -name "base-$base_key.*" \
        ! -name .lock -exec rm -rf {} +
else
    log "using cached images (recipe $recipe_key)"
fi
for n in "${NAMES[@]}"; do
    for f in "$n" "$n.sha256sum"; do
        rm -f "$OUT/$f"
        ln "$DONE/$f" "$OUT/$f" 2>/dev/null || cp "$DONE/$f" "$OUT/$f"
    done
    echo "$OUT/$n"
done
