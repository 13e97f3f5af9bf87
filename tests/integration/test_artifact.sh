#!/usr/bin/env bash
# test_artifact: `m3fs artifact download` and `m3fs artifact verify` against a
# real HTTP server on 127.0.0.1 (tests/integration/artifact/server.py) that
# serves real `docker save` archives with .sha256sum files and injects faults:
# happy path, cache reuse, --force, resume after a dropped connection, a
# server that ignores ranges, a stalled transfer, 500 then success, 500 for
# ever, wrong checksum, 404, proxy from the environment, progress output on
# and off a terminal, and damaged/foreign bundles.  Bundles are checked both
# with `m3fs artifact verify` (libarchive) and independently with Python.
set -euo pipefail
ROOT=${M3FS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${M3FS_BIN:-$ROOT/build/m3fs}
HERE=$ROOT/tests/integration/artifact
[ -x "$BIN" ] || { echo "skip: m3fs binary $BIN not built"; exit 77; }
for c in python3 curl sha256sum; do
    command -v "$c" >/dev/null || { echo "skip: $c not installed"; exit 77; }
done

W=$(mktemp -d /tmp/m3fs-test-artifact.XXXXXX)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export NO_COLOR=1 M3FS_ARTIFACT_RETRY_DELAY_MS=50
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
die() { echo "FAIL: $*" >&2; [ -f "$W/err" ] && sed 's/^/  stderr: /' "$W/err" >&2; exit 1; }

F3=3fs_20250410_amd64.docker
FDB=foundationdb_7.3.63_amd64.docker
FCH=clickhouse_25.1-jammy_amd64.docker

# ---- fixtures: images, a bad-sum copy, the server, a config ----
bash "$HERE/make-images.sh" "$W/srv/3fs"
mkdir -p "$W/srv/bad"
cp "$W/srv/3fs/"*.docker "$W/srv/3fs/"*.sha256sum "$W/srv/bad/"
BADSUM=0000000000000000000000000000000000000000000000000000000000000bad
echo "$BADSUM  $F3" >"$W/srv/bad/$F3.sha256sum"
python3 "$HERE/server.py" --root "$W/srv" --port-file "$W/port" 2>"$W/server.log" &
SPID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
PORT=$(cat "$W/port")
URL=http://127.0.0.1:$PORT/3fs
"$BIN" config create -f "$W/cluster.yml" >/dev/null

ctl() { curl -fsS "http://127.0.0.1:$PORT/_ctl/$1" >/dev/null; }
# count requests in the server's log: count PATH_SUFFIX [STATUS] [RANGE_PREFIX]
count() {
    curl -fsS "http://127.0.0.1:$PORT/_ctl/stats" | python3 -c '
import json, sys
want, status, rng = sys.argv[1], sys.argv[2], sys.argv[3]
n = sum(1 for r in json.load(sys.stdin) if r["path"].endswith(want)
        and (not status or str(r["status"]) == status)
        and (not rng or (r["range"] or "").startswith(rng)))
print(n)' "$1" "${2:-}" "${3:-}"
}
dl() { # dl CACHE OUT [args...]: run download, stderr to $W/err, return its status
    local cache=$1 out=$2
    shift 2
    "$BIN" artifact download -c "$W/cluster.yml" -t "$W/$cache" -o "$W/$out" --base-url "$URL" \
        "$@" >"$W/out" 2>"$W/err"
}
expect_fail() { # expect_fail RC NEEDLE... : last command's rc and stderr content
    local rc=$1
    shift
    for n in "$@"; do grep -qF -- "$n" "$W/err" || die "stderr lacks '$n'"; done
    [ "$rc" -eq 1 ] || die "expected exit 1, got $rc"
    ! grep -q Sanitizer "$W/err" || die "sanitizer report"
}
# Independent check of a bundle with Python's tarfile: manifest first, sums and
# sizes match the served files, nothing else inside.
pycheck() {
    python3 - "$1" "$W/srv/3fs" "$2" <<'PY'
import hashlib, json, os, sys, tarfile
path, srv, want = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
with tarfile.open(path) as t:
    members = t.getmembers()
    assert members[0].name == "manifest.json", members[0].name
    man = json.load(t.extractfile(members[0]))
    assert man["format"] == 1
    files = [i["file"] for i in man["images"]]
    assert files == want, (files, want)
    assert [m.name for m in members[1:]] == files
    for img, m in zip(man["images"], members[1:]):
        data = t.extractfile(m).read()
        h = hashlib.sha256(data).hexdigest()
        served = open(os.path.join(srv, img["file"]), "rb").read()
        assert h == img["sha256"] == hashlib.sha256(served).hexdigest(), img["file"]
        assert len(data) == img["size"] == len(served)
        assert img["arch"] == "amd64" and img["repo"].startswith("open3fs/")
print("pycheck ok")
PY
}

# ---- happy path (gzip), verify, independent check ----
dl c1 b1.tar.gz --gzip || die "happy path failed"
[ -f "$W/c1/$F3" ] && [ ! -e "$W/c1/$F3.part" ] || die "cache not filled"
grep -q "wrote $W/b1.tar.gz" "$W/out" || die "no summary"
gzip -t "$W/b1.tar.gz" || die "--gzip did not gzip"
pycheck "$W/b1.tar.gz" "$F3,$FDB,$FCH" >/dev/null || die "bundle content wrong"
"$BIN" artifact verify -a "$W/b1.tar.gz" >"$W/out" 2>"$W/err" || die "verify failed"
[ "$(grep -c ' ok$' "$W/out")" -eq 3 ] && grep -q "all 3 images match" "$W/out" || die "verify output"
ok "download (gzip) of 3 real docker-save images; bundle verified by m3fs and Python"

# ---- cache reuse ----
ctl reset
dl c1 b2.tar || die "cached run failed"
[ "$(count "$F3" 200)" -eq 0 ] && [ "$(count "$F3.sha256sum" 200)" -eq 1 ] || die "re-downloaded"
grep -q "cached copy matches" "$W/err" || die "no cache message"
pycheck "$W/b2.tar" "$F3,$FDB,$FCH" >/dev/null || die "bundle from cache wrong"
ok "files already in the cache with the right sum are not downloaded again"

# ---- refuse to overwrite ----
set +e; dl c1 b2.tar; rc=$?; set -e
[ "$rc" -eq 1 ] || die "overwrite rc $rc"
expect_fail "$rc" "already exists; use --force"
dl c1 b2.tar --force --images fdb || die "--force failed"
pycheck "$W/b2.tar" "$FDB" >/dev/null || die "forced bundle wrong"
ok "existing output refused without --force, replaced with it"

# ---- resume after a dropped connection; a stalled transfer ----
# (the stall's run fetches only the stalled image: its 1 s stall timeout,
# applied to a big image too, could fire on a CPU stall of a loaded machine
# and add a range request the counts do not expect)
ctl reset
ctl "fault?path=/3fs/$F3&kind=drop&after=700000"
dl c2 b3.tar || die "resume run failed"
[ "$(count "$F3" 206 "bytes=700000-")" -eq 1 ] || die "no range request for $F3"
[ "$(count "$F3")" -eq 2 ] || die "$F3 fetched $(count "$F3") times"
grep -q "resuming at byte 700000" "$W/err" || die "no resume message"
pycheck "$W/b3.tar" "$F3,$FDB,$FCH" >/dev/null || die "resumed bundle wrong"
ctl reset
ctl "fault?path=/3fs/$FCH&kind=stall&after=500"
M3FS_ARTIFACT_STALL_TIMEOUT=1 dl c2s b3s.tar --images clickhouse || die "stall run failed"
[ "$(count "$FCH" 206 "bytes=500-")" -eq 1 ] || die "no range request after stall"
pycheck "$W/b3s.tar" "$FCH" >/dev/null || die "bundle after the stall wrong"
ok "dropped and stalled transfers resume with HTTP ranges"

# ---- a server that ignores the range starts over ----
ctl reset
ctl "fault?path=/3fs/$F3&kind=drop&after=500000"
ctl "fault?path=/3fs/$F3&kind=norange"
dl c3 b4.tar --images 3fs || die "norange run failed"
grep -q "did not resume at byte 500000; downloading it from the start" "$W/err" || die "no restart"
pycheck "$W/b4.tar" "$F3" >/dev/null || die "restarted bundle wrong"
ok "a server that ignores Range is handled by starting the file over"

# ---- 500 then success; 500 for ever ----
ctl reset
ctl "fault?path=/3fs/$FDB&kind=status&code=500&count=2"
dl c4 b5.tar --images fdb || die "500-then-ok failed"
[ "$(count "$FDB" 500)" -eq 2 ] && [ "$(count "$FDB" 200)" -eq 1 ] || die "retry count"
grep -q "HTTP 500; retrying in" "$W/err" || die "no retry message"
ctl reset
ctl "fault?path=/3fs/$FCH&kind=status&code=503&count=-1"
set +e; M3FS_ARTIFACT_RETRIES=2 dl c4 b6.tar --images clickhouse; rc=$?; set -e
expect_fail "$rc" "giving up on $URL/$FCH after 3 attempts: HTTP 503"
[ "$(count "$FCH" 503)" -eq 3 ] && [ ! -e "$W/b6.tar" ] || die "503 retries"
ok "5xx retried with backoff: success after two 500s, gives up after the retry budget"

# ---- wrong checksum ----
set +e
"$BIN" artifact download -c "$W/cluster.yml" -t "$W/c5" -o "$W/b7.tar" --images 3fs \
    --base-url "http://127.0.0.1:$PORT/bad" >/dev/null 2>"$W/err"
rc=$?; set -e
expect_fail "$rc" "sha256 mismatch: published $BADSUM, downloaded $(cut -d' ' -f1 "$W/srv/3fs/$F3.sha256sum")"
[ ! -e "$W/c5/$F3" ] && [ ! -e "$W/c5/$F3.part" ] && [ ! -e "$W/b7.tar" ] || die "left files"
ok "checksum mismatch fails with both sums and deletes the file"

# ---- 404 fails at once with the URL ----
ctl reset
set +e; dl c6 b8.tar --images 3fs,grafana; rc=$?; set -e
expect_fail "$rc" "$URL/grafana_12.0.0_amd64.docker.sha256sum: HTTP 404 (not retried)"
[ "$(count grafana_12.0.0_amd64.docker.sha256sum)" -eq 1 ] || die "404 was retried"
ctl "fault?path=/3fs/$FDB&kind=status&code=403"
set +e; dl c6 b8.tar --images fdb; rc=$?; set -e
expect_fail "$rc" "$URL/$FDB: HTTP 403 (not retried)"
ok "4xx fails at once naming the URL"

# ---- proxy from the environment ----
ctl reset
http_proxy=http://127.0.0.1:$PORT "$BIN" artifact download -c "$W/cluster.yml" -t "$W/c7" \
    -o "$W/b9.tar" --images fdb --base-url http://artifacts.m3fs-test.invalid/3fs \
    >/dev/null 2>"$W/err" || die "proxied download failed"
curl -fsS "http://127.0.0.1:$PORT/_ctl/stats" | grep -q '"proxied": true' || die "proxy unused"
ok "http_proxy from the environment is used"

# ---- progress: log lines off a terminal, redrawn lines on one ----
ctl reset
ctl "fault?path=/3fs/$F3&kind=throttle&bps=2000000"
M3FS_ARTIFACT_PROGRESS_INTERVAL_MS=200 dl c8 b10.tar --images 3fs || die "throttled run failed"
grep -Eq "downloading $F3: [0-9.]+ [KM]iB / 2\.0 MiB +[0-9]+%  [0-9.]+ [KM]iB/s  ETA 0:0[0-9]" \
    "$W/err" || die "no periodic progress lines"
if command -v script >/dev/null; then
    ctl "fault?path=/3fs/$F3&kind=throttle&bps=2000000"
    script -qec "'$BIN' artifact download -c '$W/cluster.yml' -t '$W/c9' -o '$W/b11.tar' \
        --images 3fs --base-url '$URL'" /dev/null >"$W/tty" 2>&1 || die "tty run failed"
    grep -q $'\033\\[K' "$W/tty" && grep -q "ETA" "$W/tty" && grep -q "sha256 verified" "$W/tty" ||
        die "no terminal progress"
fi
ok "progress: periodic log lines off a terminal, live lines on a terminal"

# ---- SIGINT, SIGTERM, SIGHUP: the .part is kept, the message says how to resume ----
for sig in INT TERM HUP; do
    ctl reset
    ctl "fault?path=/3fs/$F3&kind=throttle&bps=300000"
    "$BIN" artifact download -c "$W/cluster.yml" -t "$W/s$sig" -o "$W/s$sig.tar" --images 3fs \
        --base-url "$URL" >"$W/out" 2>"$W/err" &
    dpid=$!
    for _ in $(seq 200); do
        [ "$(stat -c %s "$W/s$sig/$F3.part" 2>/dev/null || echo 0)" -gt 100000 ] && break
        sleep 0.05
    done
    kill -"$sig" "$dpid"
    set +e; wait "$dpid"; rc=$?; set -e
    part=$(stat -c %s "$W/s$sig/$F3.part" 2>/dev/null || echo 0)
    expect_fail "$rc" "interrupted by SIG$sig; kept to resume: $W/s$sig/$F3.part ($part bytes)" \
        "run the same command again to resume from there"
    [ "$part" -gt 100000 ] && [ ! -e "$W/s$sig.tar" ] || die "SIG$sig: .part $part bytes, bundle written?"
    ctl reset
    dl "s$sig" "s$sig.tar" --images 3fs || die "SIG$sig: the rerun failed"
    grep -q "resuming at byte $part" "$W/err" || die "SIG$sig: the rerun did not resume at $part"
done
ok "SIGINT, SIGTERM and SIGHUP stop a download keeping the .part, saying so; the rerun resumes there"

# ---- verify rejects damaged and foreign bundles ----
cp "$W/b3.tar" "$W/bad.tar"
python3 - "$W/bad.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmembers()[1]
off = m.offset_data + m.size // 2
with open(sys.argv[1], "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
PY
set +e; "$BIN" artifact verify -a "$W/bad.tar" >"$W/out" 2>"$W/err"; rc=$?; set -e
expect_fail "$rc" "$F3 sha256 mismatch: manifest"
tar -C "$W/srv/3fs" -cf "$W/go.tar" "$F3"
set +e; "$BIN" artifact verify -a "$W/go.tar" >/dev/null 2>"$W/err"; rc=$?; set -e
expect_fail "$rc" "does not start with manifest.json"
set +e; dl c1 b12.tar --images nosuch; rc=$?; set -e
[ "$rc" -eq 2 ] && grep -q "unknown image 'nosuch'" "$W/err" || die "bad --images rc $rc"
ok "verify rejects a damaged and a manifest-less bundle; unknown --images is a usage error"

echo "test_artifact: all $N checks passed"
