#!/usr/bin/env bash
# The one-box demo (README "run it"): on a fresh Debian/Ubuntu machine, as
# root, installs what is needed, builds m3fs, starts a local lab of 3 nodes
# (network namespaces with their own sshd and dockerd), builds the stand-in
# 3FS/FoundationDB/ClickHouse images, serves them over local HTTP as an
# artifact server, and walks the user's path with the real m3fs binary.
#
# The images are STAND-INS (test fixtures that enforce 3FS's contracts; see
# docs/stand-ins.md), not real 3FS, unless M3FS_ARTIFACT_DIR names a directory
# holding real artifact files (<name>_<tag>_<arch>.docker + .sha256sum).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${M3FS_DEMO_DIR:-/var/tmp/m3fs-demo}
export M3FS_LAB_DIR=${M3FS_LAB_DIR:-$DEMO/lab}
M3FS=$ROOT/build/m3fs

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (the lab needs namespaces)" >&2; exit 1; }

say "installing dependencies and building m3fs"
bash scripts/install-deps.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
mkdir -p "$DEMO"

say "starting a lab of 3 nodes"
if [ "$(cat /sys/class/net/m3fs-lab0/ifalias 2>/dev/null)" = "$M3FS_LAB_DIR" ] &&
    scripts/lab.sh status >/dev/null 2>&1; then
    echo "the demo's lab is already up; reusing it"
else
    # One lab at a time on a machine: wait for another one to go down.
    scripts/lab.sh up 3 --wait 900
fi
CFG=$M3FS_LAB_DIR/cluster.yml
KH=(--known-hosts "$M3FS_LAB_DIR/known_hosts")

ART=${M3FS_ARTIFACT_DIR:-}
if [ -z "$ART" ]; then
    say "building the stand-in images (cached after the first run)"
    ART=$DEMO/artifacts
    bash tests/images/build.sh "$ART"
    echo "NOTE: these are stand-in images for a demo, not real 3FS."
fi

say "serving the artifacts on 127.0.0.1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$ART" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done

say "the user's path"
run "$M3FS" config create --file "$DEMO/sample-cluster.yml" --force
echo "(the lab wrote a cluster.yml for its nodes: $CFG)"
run "$M3FS" config validate -c "$CFG"
run "$M3FS" cluster architecture -c "$CFG"
run "$M3FS" cluster exec -c "$CFG" "${KH[@]}" -- hostname
run "$M3FS" artifact download -c "$CFG" --base-url "http://127.0.0.1:$port" \
    -t "$DEMO/cache" -o "$DEMO/3fs-artifact.tar" --force
run "$M3FS" cluster prepare -c "$CFG" -a "$DEMO/3fs-artifact.tar" "${KH[@]}"
run "$M3FS" cluster create -c "$CFG" "${KH[@]}"

say "done"
cat <<EOF
3FS (stand-in images) is deployed on the lab. Try:
  $M3FS cluster exec -c $CFG ${KH[*]} --role client -- mount -t fuse.hf3fs
  $M3FS cluster bench -c $CFG ${KH[*]}
Tear it down:
  $M3FS cluster destroy -c $CFG ${KH[*]} --yes
  M3FS_LAB_DIR=$M3FS_LAB_DIR scripts/lab.sh down
EOF
