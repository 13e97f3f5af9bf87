"""The file-system namespace the meta stand-in serves to FUSE clients.

Entries live in FoundationDB (the KV stand-in) under "ns/<path>", so every
meta instance serves the same tree, as real meta servers share FDB. An entry
is {"ino", "kind" ("dir"|"file"), "mode", "size", "mtime"}; "/" is implicit.
A request names its path and carries the user's token, which is checked
(by mgmtd; the answer is remembered) only when meta's server.meta.authenticate
is true (the AUTHENTICATE macro of src/meta/service/MetaOperator.cc; a
hot-updated item, default false). Errors carry an errno for the client
(StatusCode::toErrno, src/common/utils/StatusCode.cc).
"""
import errno
import random
import threading
import time

from .common import Fail, dig, log, ok

ROOT = {"ino": 1, "kind": "dir", "mode": 0o40755, "size": 0, "mtime": 0.0}


def fs_error(err, path):
    e = Fail(f"{path}: {errno.errorcode.get(err, err)}", 9000 + err, "Meta::" +
             errno.errorcode.get(err, "Error"))
    e.errno = err
    return e


def parent_of(path):
    return path.rsplit("/", 1)[0] or "/"


class Namespace:
    def __init__(self, kv, mgmtd, cluster_id):
        self.kv, self.mgmtd, self.cluster_id = kv, mgmtd, cluster_id
        self.tokens, self.lock = set(), threading.Lock()
        self.authenticate = False

    def configure(self, data):
        """Hot-updated items of meta's main config."""
        self.authenticate = bool(dig(data, "server.meta.authenticate", False))

    def dispatch(self, req, peer):
        op = req.get("op")
        if op == "ping":
            return ok()
        handler = getattr(self, "op_" + str(op), None)
        if handler is None:
            raise Fail(f"unsupported request {op!r}", 3, "InvalidArg")
        try:
            if self.authenticate:
                self.check_token(req.get("token", ""))
            return handler(req)
        except Fail as e:
            if not hasattr(e, "errno"):
                log.error("%s %s failed: %s(%s) %s", op, req.get("path", ""), e.name, e.code, e.msg)
            reply = e.to_dict()
            reply["errno"] = getattr(e, "errno", errno.EPERM if e.code == 25 else errno.EIO)
            return reply

    def check_token(self, token):
        if token in self.tokens:
            return
        self.mgmtd.call("check_token", token=token, cluster_id=self.cluster_id)
        self.tokens.add(token)

    # ---------------------------------------------------------- helpers
    def entry(self, path):
        if path == "/":
            return ROOT
        if not path.startswith("/") or path.endswith("/") or "//" in path:
            raise fs_error(errno.EINVAL, path)
        e = self.kv.get("ns" + path)
        if e is None:
            raise fs_error(errno.ENOENT, path)
        return e

    def children(self, path):
        pre = "ns" + (path if path != "/" else "") + "/"
        return {k[len(pre):]: v for k, v in self.kv.list(pre).items() if "/" not in k[len(pre):]}

    def new_ino(self):
        while True:
            ino = random.getrandbits(62) | 2
            if self.kv.put_new(f"ino/{ino}", True):
                return ino

    # ---------------------------------------------------------- requests
    def op_layout(self, req):
        layout = self.kv.get("layout")
        if layout is None:
            raise Fail("the file system was never initialised (admin_cli init-cluster)",
                       5008, "Mgmtd::ChainTableNotFound")
        return ok(layout=layout)

    def op_stat(self, req):
        return ok(entry=self.entry(req["path"]))

    def op_list(self, req):
        if self.entry(req["path"])["kind"] != "dir":
            raise fs_error(errno.ENOTDIR, req["path"])
        return ok(entries=self.children(req["path"]))

    def allocate_chains(self):
        """ChainAllocator::allocateChainsForLayout (src/meta/components/
        ChainAllocator.h) when a file is created: the root layout's chain table,
        latest version, must hold at least `stripe` chains; a failure is
        Meta::InvalidFileLayout, EIO for the client. Returns the table version
        the file's layout keeps."""
        layout = self.op_layout(None)["layout"]
        tid, stripe = layout["table_id"], layout["stripe"]
        versions = self.kv.get(f"tables/{tid}") or []
        if not versions:
            raise Fail(f"ChainTable with ChainTableId({tid}) and ChainTableVersion(0) not found",
                       3013, "Meta::InvalidFileLayout")
        table = max(versions, key=lambda v: v["version"])
        if len(table["chains"]) < stripe:
            raise Fail(f"try to allocate {stripe} chains from ChainTableId({tid}), found "
                       f"{len(table['chains'])}", 3013, "Meta::InvalidFileLayout")
        return table["version"]

    def op_create(self, req):
        path, kind = req["path"], req["kind"]
        with self.lock:
            if self.entry(parent_of(path))["kind"] != "dir":
                raise fs_error(errno.ENOTDIR, path)
            e = {"ino": self.new_ino(), "kind": kind, "mode": req["mode"], "size": 0,
                 "mtime": time.time()}
            if kind == "file":
                if self.kv.get("ns" + path) is not None:
                    raise fs_error(errno.EEXIST, path)
                e["table_version"] = self.allocate_chains()
            if not self.kv.put_new("ns" + path, e):
                raise fs_error(errno.EEXIST, path)
        return ok(entry=e)

    def op_remove(self, req):
        path, kind = req["path"], req["kind"]
        with self.lock:
            e = self.entry(path)
            if kind == "dir" and e["kind"] != "dir":
                raise fs_error(errno.ENOTDIR, path)
            if kind == "file" and e["kind"] == "dir":
                raise fs_error(errno.EISDIR, path)
            if e["kind"] == "dir" and self.children(path):
                raise fs_error(errno.ENOTEMPTY, path)
            self.kv.delete("ns" + path)
        return ok(entry=e)

    def op_rename(self, req):
        old, new = req["old"], req["new"]
        with self.lock:
            e = self.entry(old)
            if new == old:
                return ok(replaced=None)
            if new.startswith(old + "/"):
                raise fs_error(errno.EINVAL, new)
            self.entry(parent_of(new))
            replaced = self.kv.get("ns" + new)
            if replaced and replaced["kind"] == "dir" and self.children(new):
                raise fs_error(errno.ENOTEMPTY, new)
            moved = self.kv.list("ns" + old + "/") if e["kind"] == "dir" else {}
            self.kv.put("ns" + new, e)
            for k, v in moved.items():
                self.kv.put("ns" + new + k[len("ns" + old):], v)
                self.kv.delete(k)
            self.kv.delete("ns" + old)
        return ok(replaced=replaced)

    def op_setattr(self, req):
        path = req["path"]
        with self.lock:
            e = self.entry(path)
            if path == "/":
                return ok(entry=e)
            for k in ("size", "mode", "mtime"):
                if req.get(k) is not None:
                    e[k] = req[k]
            self.kv.put("ns" + path, e)
        return ok(entry=e)
