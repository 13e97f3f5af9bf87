"""The stand-in 3FS FUSE file system (run by hf3fs_fuse_main as
`python3 -m standin.fusefs MOUNTPOINT -f -o OPTIONS`).

Like the real client, it keeps no data itself: names and attributes come
from the meta stand-ins (standin.namespace), file contents are chunks on the
storage targets of the chain table, found through mgmtd's routing info.
Chunk i of a file lives on chain (ino + i mod stripe) of the root layout's
table, in the table version meta gave the file when it created it (meta
refuses to create a file when that table has fewer chains than the stripe),
and is written to the chain's SERVING and SYNCING targets in chain order (as
CRAQ passes a write from the head to every successor, a syncing one included:
src/storage/service/ReliableForwarding.cc); reads use the first SERVING target
that answers. Each request names the chain version the client knows; a
storage node with another one refuses it and the client reads the routing
again and retries. Every client therefore sees what any client wrote
(close-to-open: a size becomes visible when the writer flushes or closes).

Settings come in the environment (never argv): HF3FS_STANDIN_FS is JSON
{"mgmtd": [addresses], "cluster_id": id, "token": token, "refresh": seconds,
"retry": {"read"|"write": [init, max_wait, total] seconds}}.
The routing info is read again when it is older than "refresh" (the
client's mgmtd.auto_refresh_interval, 10 s by default; null when
mgmtd.enable_auto_refresh is false: never, but for the forced refreshes
after a refused request), as upstream's MgmtdClient refreshes it every
auto_refresh_interval in the background (src/client/mgmtd/MgmtdClient.cc).
"""
import base64
import errno
import json
import os
import stat
import sys
import threading
import time

import fuse

from .chainstate import io_targets
from .common import Fail, RpcError, rpc
from .kv import Mgmtd

fuse.fuse_python_api = (0, 2)
ROUTING_TTL = 10.0  # MgmtdClient::Config auto_refresh_interval's default
# A chunk request that does not get through (connection refused or cut, no
# answer) is retried as upstream's storage client does (sendOpsWithRetry in
# src/client/storage/StorageClientImpl.cc with ExponentialBackoffRetry,
# src/common/utils/ExponentialBackoffRetry.h; defaults of RetryConfig in
# src/client/storage/StorageClient.h, at ee9a5ce): each attempt gets a wait
# time, 10 s doubling up to 30 s, and the next starts when it has passed;
# no attempt starts once 10 s more would pass 60 s in all.  Each attempt
# reads the routing again, so a target taken out of its chain meanwhile is
# left out. The three come from the client's config (settings "retry":
# storage.retry.{init_wait_time,max_wait_time,max_retry_time}, or
# storage_io.read/write.retry's where not zero; services.fuse_retry).
RETRY_INIT_S, RETRY_MAX_WAIT_S, RETRY_MAX_S = 10.0, 30.0, 60.0
RETRY_DEFAULT = [RETRY_INIT_S, RETRY_MAX_WAIT_S, RETRY_MAX_S]


def oserr(err):
    return OSError(err, os.strerror(err))


class Unreachable(OSError):
    """A storage request that did not get through (retried)."""


class Stale(Unreachable):
    """The storage node's chain version or target state differs from the
    client's routing info (StorageClient::RoutingVersionMismatch,
    Storage::TargetOffline): retried at once with fresh routing info."""


RETRY_STALE = (7014, 4030)
# A meta request that no meta node answers is retried as upstream's
# MetaClient retries it (src/client/meta/MetaClient.h retry_default at
# ee9a5ce: retry_init_wait 500 ms doubling up to retry_max_wait 5 s, for
# retry_total_time 1 min; failover to the next server after each failure).
META_RETRY_INIT_S, META_RETRY_MAX_WAIT_S, META_RETRY_TOTAL_S = 0.5, 5.0, 60.0


class Client:
    """Routing, meta requests and chunk I/O of one mounted file system."""

    def __init__(self, settings):
        self.mgmtd = Mgmtd(settings["mgmtd"], "HF3FS_STANDIN_FS")
        self.cluster_id, self.token = settings["cluster_id"], settings["token"]
        self.lock, self.routing, self.fetched = threading.Lock(), None, 0.0
        self.meta_list = []  # [(node id, (host, port))]: ServerList
        self.ttl = settings.get("refresh", ROUTING_TTL)
        self.retry = settings.get("retry") or {}
        self.starting = True
        layout = self.meta("layout")["layout"]
        self.chunk, self.stripe, self.table = layout["chunk"], layout["stripe"], layout["table_id"]
        self.starting = False  # like the real client: no chain table needed to mount

    def failed(self, e):
        """A Fail ends start-up with its message; once mounted it is EIO, logged."""
        if self.starting:
            return e
        print(f"standin.fusefs: {e.msg}", file=sys.stderr, flush=True)
        return oserr(errno.EIO)

    def route(self, fresh=False):
        with self.lock:
            if fresh or self.routing is None or \
                    self.ttl is not None and time.time() - self.fetched > self.ttl:
                try:
                    have = self.routing.get("version", 0) if self.routing and not fresh else 0
                    r = self.mgmtd.call("routing", cluster_id=self.cluster_id, version=have)
                    if r.get("routing", True) is not None:  # null: unchanged
                        self.routing = r
                except Fail as e:
                    # Like upstream's MgmtdClient, a failed refresh keeps the
                    # routing info it had (I/O reads the last one loaded:
                    # getRoutingInfo; autoRefresh only logs the error,
                    # src/client/mgmtd/MgmtdClient.cc at ee9a5ce).
                    if self.routing is None:
                        raise self.failed(e)
                    print(f"standin.fusefs: routing refresh: {e.msg}", file=sys.stderr,
                          flush=True)
                self.fetched = time.time()
            return self.routing

    def chains(self, version):
        """The chains of the root layout's table in the version a file keeps
        (None: the latest)."""
        for fresh in (False, True):
            versions = self.route(fresh)["tables"].get(str(self.table)) or []
            found = [v for v in versions if version in (None, v["version"])]
            if found:
                return max(found, key=lambda v: v["version"])["chains"]
        raise self.failed(Fail(f"ChainTable with ChainTableId({self.table}) and "
                               f"ChainTableVersion({version or 0}) not found", 3013,
                               "Meta::InvalidFileLayout"))

    def meta_servers(self, fresh=False):
        """The meta nodes to ask, as upstream's meta::ServerList::update keeps
        them (src/client/meta/ServerSelectionStrategy.cc): the active ones
        (selectActiveNode: HEARTBEAT_CONNECTED) of the latest routing info,
        except that a routing info with none active is ignored while the list
        is not empty (after a mgmtd takeover every node is CONNECTING until
        its next heartbeat)."""
        active = sorted((n["node_id"], (n["host"], n["tcp_port"]))
                        for n in self.route(fresh)["nodes"].values()
                        if n["type"] == "META" and n["live"])
        with self.lock:
            if active or not self.meta_list:
                self.meta_list = active
            return list(self.meta_list)

    def meta(self, op, **args):
        """One request to the first meta node that answers, retried while none
        does (META_RETRY_*; at mount: one round, as before the mount is up);
        errno errors raise OSError."""
        wait, end = META_RETRY_INIT_S, time.monotonic() + META_RETRY_TOTAL_S
        fresh = False
        while True:
            for _, addr in self.meta_servers(fresh):
                try:
                    reply = rpc(addr, dict(args, op=op, token=self.token,
                                           cluster_id=self.cluster_id), 10.0)
                except RpcError:
                    continue
                if reply.get("ok"):
                    return reply
                if "errno" in reply:
                    raise oserr(reply["errno"])
                raise self.failed(Fail(reply.get("msg", "meta error"), reply.get("code", 1),
                                       reply.get("name", "StatusCode::Unknown")))
            if self.starting or time.monotonic() + wait > end:
                raise self.failed(Fail("no meta node answers (none is HEARTBEAT_CONNECTED and "
                                       "reachable)", 6004, "MgmtdClient::RoutingInfoNotReady"))
            time.sleep(wait)
            wait, fresh = min(wait * 2, META_RETRY_MAX_WAIT_S), True

    def targets(self, ino, idx, tv, write=False):
        """[(target id, (host, port), chain version)] of the chain holding
        chunk idx of ino (table version tv): its SERVING targets, for a write
        also its SYNCING ones, in chain order (mgmtd takes a target whose node
        stopped heartbeating out of service); none is EIO."""
        chains = self.chains(tv)
        r = self.route()
        cid = chains[(ino + idx % self.stripe) % len(chains)]
        try:
            out = io_targets(r, cid, write)
        except KeyError as e:
            raise self.failed(Fail(f"chain {cid}: {e} has no node in the routing info"))
        if out is None:
            raise self.failed(Fail(f"chain {cid} is missing from the routing info"))
        if not out:
            raise self.failed(Fail(f"chain {cid} has no serving target", 7003,
                                   "StorageClient::RoutingError"))
        return out

    def storage(self, addr, req):
        try:
            reply = rpc(addr, req, 30.0)
        except RpcError:
            raise Unreachable(errno.EIO, os.strerror(errno.EIO))
        if not reply.get("ok"):
            if reply.get("code") in RETRY_STALE:
                raise Stale(errno.EIO, os.strerror(errno.EIO))
            print(f"standin.fusefs: storage: {reply.get('name')} {reply.get('msg')}",
                  file=sys.stderr, flush=True)
            raise oserr(errno.EIO)
        return reply

    def retrying(self, attempt, kind):
        """attempt() again while it raises Unreachable (the retry times of
        kind, "read" or "write"; a Stale one at once, with fresh routing
        info); then EIO."""
        init, max_wait, total = self.retry.get(kind, RETRY_DEFAULT)
        start, nxt = time.monotonic(), init
        while True:
            elapsed = time.monotonic() - start
            if elapsed + init > total:
                raise oserr(errno.EIO)
            t0 = time.monotonic()
            try:
                return attempt()
            except Stale:
                self.route(fresh=True)
                time.sleep(0.3)
                continue
            except Unreachable:
                pass
            wait, nxt = min(nxt, total - elapsed), min(nxt * 2, max_wait)
            time.sleep(max(0.0, wait - (time.monotonic() - t0)))

    def write_chunk(self, ino, tv, idx, off, enc):
        for tid, addr, cv in self.targets(ino, idx, tv, write=True):
            self.storage(addr, {"op": "write_chunk", "target_id": tid, "chain_version": cv,
                                "chunk": f"{ino}.{idx}", "offset": off, "data": enc})

    def write(self, ino, tv, data, offset):
        done = 0
        while done < len(data):
            idx, off = divmod(offset + done, self.chunk)
            piece = data[done:done + self.chunk - off]
            enc = base64.b64encode(piece).decode()
            self.retrying(lambda: self.write_chunk(ino, tv, idx, off, enc), "write")
            done += len(piece)
        return len(data)

    def read_chunk(self, ino, tv, idx, off, want):
        """From the first target that answers; Unreachable when none did."""
        unreachable = False
        for tid, addr, cv in self.targets(ino, idx, tv):
            try:
                return base64.b64decode(self.storage(addr, {
                    "op": "read_chunk", "target_id": tid, "chunk": f"{ino}.{idx}",
                    "chain_version": cv, "offset": off, "length": want})["data"])
            except Stale:
                raise
            except Unreachable:
                unreachable = True
            except OSError:
                continue
        if unreachable:
            raise Unreachable(errno.EIO, os.strerror(errno.EIO))
        raise oserr(errno.EIO)

    def read(self, ino, tv, length, offset):
        out = bytearray()
        while len(out) < length:
            idx, off = divmod(offset + len(out), self.chunk)
            want = min(length - len(out), self.chunk - off)
            data = self.retrying(lambda: self.read_chunk(ino, tv, idx, off, want), "read")
            out += data + bytes(want - len(data))  # a hole or a short chunk reads as zeros
        return bytes(out)

    def drop(self, e, size, old_size):
        """Cut the chunks of file entry e from size on (old_size: where its data
        ended)."""
        ino, tv = e["ino"], e.get("table_version")
        for idx in range(size // self.chunk, (old_size + self.chunk - 1) // self.chunk):
            keep = max(0, size - idx * self.chunk)
            self.retrying(lambda: self.trunc_chunk(ino, tv, idx, keep), "write")

    def trunc_chunk(self, ino, tv, idx, keep):
        for tid, addr, cv in self.targets(ino, idx, tv, write=True):
            self.storage(addr, {"op": "trunc_chunk", "target_id": tid, "chain_version": cv,
                                "chunk": f"{ino}.{idx}", "length": keep})


def to_stat(e):
    kind = stat.S_IFDIR if e["kind"] == "dir" else stat.S_IFREG
    t = int(e["mtime"])
    return fuse.Stat(st_mode=kind | (e["mode"] & 0o7777), st_ino=e["ino"] & (2 ** 63 - 1),
                     st_nlink=2 if e["kind"] == "dir" else 1, st_size=e["size"],
                     st_atime=t, st_mtime=t, st_ctime=t)


class FS(fuse.Fuse):
    """Sizes: meta holds a file's size; a handle that wrote past it publishes
    the end of its own writes on flush/fsync/close. Until then this client
    sees that end (open_ends, by inode); other clients see it after the close
    (close-to-open, as real 3FS)."""

    def __init__(self, client, *a, **kw):
        super().__init__(*a, **kw)
        self.client = client
        # (not "lock": python-fuse would take an attribute of that name for
        # the file-locking operation, which hf3fs_fuse does not implement,
        # src/fuse/FuseOps.cc hf3fs_oper, so the kernel locks locally)
        self.mu = threading.Lock()
        self.open_ends = {}  # ino -> [open handles, end of this client's writes]
        self.handles = set()  # open File objects (their paths follow renames)
        self.file_class = make_file_class(self)

    def entry(self, path):
        e = self.client.meta("stat", path=path)["entry"]
        with self.mu:
            live = self.open_ends.get(e["ino"])
            if live:
                e["size"] = max(e["size"], live[1])
        return e

    def getattr(self, path):
        return to_stat(self.entry(path))

    def readdir(self, path, offset):
        names = self.client.meta("list", path=path)["entries"]
        for n in [".", ".."] + sorted(names):
            yield fuse.Direntry(n)

    def mkdir(self, path, mode):
        self.client.meta("create", path=path, kind="dir", mode=mode & 0o7777)

    def mknod(self, path, mode, dev):
        if not stat.S_ISREG(mode):
            raise oserr(errno.EPERM)
        self.client.meta("create", path=path, kind="file", mode=mode & 0o7777)

    def rmdir(self, path):
        self.client.meta("remove", path=path, kind="dir")

    def unlink(self, path):
        e = self.client.meta("remove", path=path, kind="file")["entry"]
        self.client.drop(e, 0, e["size"])

    def rename(self, old, new):
        gone = self.client.meta("rename", old=old, new=new)["replaced"]
        with self.mu:
            for h in self.handles:
                if h.path == old or h.path.startswith(old + "/"):
                    h.path = new + h.path[len(old):]
        if gone and gone["kind"] == "file":
            self.client.drop(gone, 0, gone["size"])

    def truncate(self, path, size):
        e = self.entry(path)
        self.client.drop(e, size, e["size"])
        self.client.meta("setattr", path=path, size=size, mtime=time.time())
        with self.mu:
            live = self.open_ends.get(e["ino"])
            if live:
                live[1] = min(live[1], size)
            for h in self.handles:
                if h.ino == e["ino"]:
                    h.size = size

    def chmod(self, path, mode):
        self.client.meta("setattr", path=path, mode=mode & 0o7777)

    def chown(self, path, uid, gid):
        return 0

    def utimens(self, path, ts_acc, ts_mod):
        self.client.meta("setattr", path=path, mtime=ts_mod.tv_sec)

    def statfs(self):
        return fuse.StatVfs(f_bsize=self.client.chunk, f_frsize=4096, f_blocks=1 << 28,
                            f_bfree=1 << 28, f_bavail=1 << 28, f_files=1 << 24,
                            f_ffree=1 << 24, f_namemax=255)

    def opened(self, h):
        with self.mu:
            self.open_ends.setdefault(h.ino, [0, 0])[0] += 1
            self.handles.add(h)

    def written(self, h, end):
        with self.mu:
            h.size, h.dirty = max(h.size, end), True
            live = self.open_ends[h.ino]
            live[1] = max(live[1], end)

    def publish(self, h, closing):
        """A handle that wrote stores the end of its writes with meta if the
        file grew (flush/fsync/close)."""
        with self.mu:
            end = self.open_ends[h.ino][1] if h.dirty else 0
            path = h.path
            if closing:
                self.handles.discard(h)
                live = self.open_ends[h.ino]
                live[0] -= 1
                if live[0] == 0:
                    del self.open_ends[h.ino]
        if end and end > self.client.meta("stat", path=path)["entry"]["size"]:
            self.client.meta("setattr", path=path, size=end, mtime=time.time())


def make_file_class(fs):
    class File:
        def __init__(self, path, flags, *mode):
            if flags & os.O_CREAT:
                try:
                    fs.client.meta("create", path=path, kind="file",
                                   mode=(mode[0] if mode else 0o644) & 0o7777)
                except OSError as e:
                    if e.errno != errno.EEXIST or flags & os.O_EXCL:
                        raise
            e = fs.entry(path)
            if e["kind"] == "dir":
                raise oserr(errno.EISDIR)
            self.path, self.ino, self.size, self.dirty = path, e["ino"], e["size"], False
            self.tv = e.get("table_version")
            if flags & os.O_TRUNC and e["size"]:
                fs.truncate(path, 0)
                self.size = 0
            fs.opened(self)

        def read(self, length, offset):
            with fs.mu:  # this handle's size, or further if this client wrote further
                size = max(self.size, fs.open_ends[self.ino][1])
            if offset >= size:
                return b""
            return fs.client.read(self.ino, self.tv, min(length, size - offset), offset)

        def write(self, buf, offset):
            n = fs.client.write(self.ino, self.tv, buf, offset)
            fs.written(self, offset + n)
            return n

        def flush(self):
            fs.publish(self, False)

        def fsync(self, isfsyncfile):
            fs.publish(self, False)

        def release(self, flags):
            fs.publish(self, True)

        def fgetattr(self):
            return to_stat(fs.entry(self.path))

        def ftruncate(self, size):
            fs.truncate(self.path, size)

    return File


def main():
    try:
        settings = json.loads(os.environ.pop("HF3FS_STANDIN_FS"))
        client = Client(settings)
    except (KeyError, ValueError) as e:
        print(f"standin.fusefs: bad HF3FS_STANDIN_FS: {e}", file=sys.stderr)
        sys.exit(2)
    except Fail as e:
        print(f"standin.fusefs: {e.msg}", file=sys.stderr)
        sys.exit(1)
    server = FS(client, usage="standin.fusefs MOUNTPOINT [-f] [-o opts]", dash_s_do="setsingle")
    server.multithreaded = True
    server.parse(errex=2)
    server.main()


if __name__ == "__main__":
    main()
