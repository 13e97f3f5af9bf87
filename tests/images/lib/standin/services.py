"""mgmtd_main, meta_main, storage_main and hf3fs_fuse_main stand-ins."""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from .common import (RELEASE, Fail, die, dig, load_toml, load_toml_text, local_ip_towards, log,
                     ok, parse_flag_value, serve,
                     set_dotted, setup_log)
from .kv import KV, Mgmtd
from .mgmtd import MgmtdService
from .namespace import Namespace
from .schema import check_app, check_launcher, check_main, listen_ports

PROGS = {"MGMTD": "mgmtd_main", "META": "meta_main", "STORAGE": "storage_main",
         "FUSE": "hf3fs_fuse_main"}
VALUE_FLAGS = {"launcher_cfg", "launcher-cfg", "app_cfg", "app-cfg", "cfg"}
BOOL_FLAGS = {"use_local_cfg", "dump_cfg"}
OVERRIDES = ("launcher_config.", "app_config.", "config.")


def parse_args(argv, prog):
    """gflags-like: --flag value / --flag=value / -flag; unknown flags fail."""
    opts, over = {}, {p: [] for p in OVERRIDES}
    i = 0
    while i < len(argv):
        arg = argv[i].lstrip("-")
        if not argv[i].startswith("-"):
            raise Fail(f"unexpected argument '{argv[i]}'", 3, "StatusCode::InvalidArg")
        name, eq, val = arg.partition("=")
        prefix = next((p for p in OVERRIDES if name.startswith(p)), None)
        if name in BOOL_FLAGS:
            opts[name] = val != "false"
            i += 1
            continue
        if name not in VALUE_FLAGS and prefix is None:
            raise Fail(f"ERROR: unknown command line flag '{name}'", 3, "StatusCode::InvalidArg")
        if not eq:
            if i + 1 >= len(argv):
                raise Fail(f"flag '{name}' is missing its value", 3, "StatusCode::InvalidArg")
            val, i = argv[i + 1], i + 1
        i += 1
        if prefix:
            over[prefix].append((name[len(prefix):], parse_flag_value(val)))
        else:
            opts[name.replace("-", "_")] = val
    return opts, over


class Ctx:
    """What every service reads before it starts: launcher, app, overrides."""

    def __init__(self, kind, argv):
        self.kind, self.prog = kind, PROGS[kind]
        self.opts, self.over = parse_args(argv, self.prog)
        self.launcher_path = self.opts.get("launcher_cfg")
        if not self.launcher_path:
            raise Fail("--launcher_cfg is required")
        self.launcher = self.load(self.launcher_path, "launcher config", "launcher_config.")
        self.cluster_id = check_launcher(kind, self.launcher, self.launcher_path)
        self.node_id = None
        if kind != "FUSE":
            app_path = self.opts.get("app_cfg")
            if not app_path:
                raise Fail("--app_cfg is required")
            self.node_id = check_app(kind, self.load(app_path, "app config", "app_config."),
                                     app_path)
        elif self.opts.get("app_cfg"):
            check_app(kind, self.load(self.opts["app_cfg"], "app config", "app_config."),
                      self.opts["app_cfg"])
        self.hostname = socket.gethostname()

    def load(self, path, what, prefix):
        data = load_toml(path, what)
        for key, val in self.over[prefix]:
            set_dotted(data, key, val)
        return data

    def main_config(self, fetch):
        """(data, version): local --cfg file, or the version stored in the cluster."""
        if self.opts.get("cfg"):
            data, version, origin = self.load(self.opts["cfg"], "main config", "config."), 0, \
                self.opts["cfg"]
        else:
            cfg = fetch()
            version = cfg["version"]
            origin = f"{self.prog}.toml (version {version} from the cluster state)"
            data = load_toml_text(cfg["content"], origin)
            for key, val in self.over["config."]:
                set_dotted(data, key, val)
        check_main(self.kind, data, origin)
        return data, version, origin


def fetch_from_mgmtd(mgmtd, ctx, wait=15.0):
    """Get the service type's main config from mgmtd (retrying while it is down)."""
    deadline = time.time() + wait
    while True:
        try:
            return mgmtd.call("get_config", type=ctx.kind, cluster_id=ctx.cluster_id)
        except Fail as e:
            if e.code != 6004 or time.time() >= deadline:
                raise
            log.info("waiting for mgmtd: %s", e.msg)
            time.sleep(1)


class Member:
    """Registration + heartbeat of a node with mgmtd."""

    def __init__(self, ctx, mgmtd, tcp_port, version):
        self.ctx, self.mgmtd, self.version = ctx, mgmtd, version
        self.rec = {"node_id": ctx.node_id, "type": ctx.kind, "hostname": ctx.hostname,
                    "pid": os.getpid(), "tcp_port": tcp_port, "release": RELEASE,
                    "host": local_ip_towards(mgmtd.addrs[0]), "cluster_id": ctx.cluster_id}

    def register(self):
        self.mgmtd.call("register", config_version=self.version, **self.rec)
        log.info("registered node %s (%s) with mgmtd", self.ctx.node_id, self.ctx.kind)

    def beat(self):
        try:
            reply = self.mgmtd.call("heartbeat", node_id=self.ctx.node_id, type=self.ctx.kind,
                                    cluster_id=self.ctx.cluster_id, config_version=self.version)
        except Fail as e:
            if e.code == 5004:
                self.register()
                return
            raise
        if reply.get("config_version", 0) > self.version and not self.ctx.opts.get("cfg"):
            self.reload()

    def reload(self):
        try:
            _, self.version, origin = self.ctx.main_config(
                lambda: fetch_from_mgmtd(self.mgmtd, self.ctx))
            log.info("applied new main config %s", origin)
        except Fail as e:
            log.error("new main config rejected: %s", e.msg)

    def run(self, stop):
        self.register()
        while not stop.wait(1.0):
            try:
                self.beat()
            except Fail as e:
                log.warning("heartbeat failed: %s", e.msg)


def stop_event():
    ev = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: ev.set())
    return ev


def listen_all(ports, dispatch, what):
    servers = [serve(p, dispatch, what) for p in ports]
    return servers[-1].server_address[1]  # the TCP ("Core") group is the last one


def no_requests(req, peer):
    if req.get("op") == "ping":
        return ok()
    raise Fail(f"unsupported request {req.get('op')!r}", 3, "StatusCode::InvalidArg")


# ------------------------------------------------------------------ mgmtd
def run_mgmtd(ctx):
    path = dig(ctx.launcher, "fdb.clusterFile") or dig(ctx.launcher, "kv_engine.fdb.clusterFile")
    kv = KV(path, ctx.launcher_path, wait=15.0)
    stored = kv.get("cluster/id")
    if stored is None:
        raise Fail("the cluster state in FoundationDB was never initialised: run "
                   "`admin_cli init-cluster --mgmtd <mgmtd_main.toml> ...` first")
    if stored != ctx.cluster_id:
        raise Fail(f"{ctx.launcher_path}: cluster_id '{ctx.cluster_id}' differs from the "
                   f"cluster initialised in FoundationDB ('{stored}')")

    def fetch():
        cfg = kv.get("config/MGMTD")
        if cfg is None:
            raise Fail("no MGMTD main config in the cluster state: run `admin_cli init-cluster "
                       "--mgmtd <mgmtd_main.toml> ...` first")
        return cfg

    data, version, _ = ctx.main_config(fetch)
    svc = MgmtdService(ctx.node_id, ctx.cluster_id, kv)
    port = listen_all(listen_ports(data, "MGMTD", "mgmtd"), svc.dispatch, "mgmtd_main")
    rec = {"node_id": ctx.node_id, "type": "MGMTD", "hostname": ctx.hostname, "pid": os.getpid(),
           "tcp_port": port, "host": local_ip_towards(kv.coords[0])}
    kv.put(f"nodes/{ctx.node_id}", rec)
    stop = stop_event()

    def tick():
        kv.lease("lease/mgmtd", ctx.node_id, 5.0)
        kv.put(f"hb/{ctx.node_id}", {"ts": time.time(), "config_version": version})

    tick()
    log.info("mgmtd %s serving cluster '%s'", ctx.node_id, ctx.cluster_id)
    while not stop.wait(1.0):
        try:
            tick()
        except Fail as e:
            log.warning("cannot renew mgmtd lease: %s", e.msg)


# ------------------------------------------------------------------ meta
def run_meta(ctx):
    mg = Mgmtd(dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"), ctx.launcher_path)
    data, version, origin = ctx.main_config(lambda: fetch_from_mgmtd(mg, ctx))
    addrs = dig(data, "server.mgmtd_client.mgmtd_server_addresses")
    if addrs is None:
        raise Fail(f"{origin}: required key 'server.mgmtd_client.mgmtd_server_addresses' "
                   f"is missing")
    cluster_file = dig(data, "server.fdb.clusterFile")
    if not cluster_file:
        raise Fail(f"{origin}: required key 'server.fdb.clusterFile' is missing")
    kv = KV(cluster_file, origin, wait=15.0)
    if kv.get("cluster/id") != ctx.cluster_id:
        raise Fail(f"FoundationDB {cluster_file} holds no cluster '{ctx.cluster_id}'")
    mg = Mgmtd(addrs, origin)
    ns = Namespace(kv, mg, ctx.cluster_id)
    port = listen_all(listen_ports(data, "META", origin), ns.dispatch, "meta_main")
    Member(ctx, mg, port, version).run(stop_event())


# ------------------------------------------------------------------ storage
class Storage:
    def __init__(self, paths):
        self.paths, self.lock = paths, threading.Lock()
        self.targets = {}
        for disk, p in enumerate(paths):
            for name in os.listdir(p):
                meta = os.path.join(p, name, "target.json")
                if os.path.isfile(meta):
                    with open(meta, encoding="utf-8") as f:
                        self.targets[int(name)] = json.load(f)
        log.info("storage has %d targets on %d paths", len(self.targets), len(paths))

    def dispatch(self, req, peer):
        op = req.get("op")
        if op == "ping":
            return ok()
        if op in ("write_chunk", "read_chunk", "trunc_chunk"):
            return getattr(self, op)(self.chunk_path(req["target_id"], req["chunk"]), req)
        if op != "create_target":
            return no_requests(req, peer)
        with self.lock:
            return self.create_target(req["target_id"], req["disk_index"], req["chain_id"])

    # A chunk is a file <target dir>/chunks/<inode>.<index>; data travels base64.
    def chunk_path(self, tid, chunk):
        meta = self.targets.get(tid)
        if meta is None:
            raise Fail(f"target {tid} is not on this storage node", 8005,
                       "Storage::TargetNotFound")
        ino, _, idx = chunk.partition(".")
        if not (ino.isdigit() and idx.isdigit()):
            raise Fail(f"malformed chunk id {chunk!r}", 3, "StatusCode::InvalidArg")
        return os.path.join(self.paths[meta["disk_index"]], str(tid), "chunks", chunk)

    @staticmethod
    def write_chunk(path, req):
        data = base64.b64decode(req["data"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data, req["offset"])
        finally:
            os.close(fd)
        return ok()

    @staticmethod
    def read_chunk(path, req):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return ok(data="")
        try:
            data = os.pread(fd, req["length"], req["offset"])
        finally:
            os.close(fd)
        return ok(data=base64.b64encode(data).decode())

    @staticmethod
    def trunc_chunk(path, req):
        if req["length"] == 0:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        elif os.path.exists(path):
            os.truncate(path, req["length"])
        return ok()

    def create_target(self, tid, disk, cid):
        if not 0 <= disk < len(self.paths):
            raise Fail(f"disk index {disk} is out of range: this node has {len(self.paths)} "
                       f"target_paths", 3, "StatusCode::InvalidArg")
        if tid in self.targets:
            raise Fail(f"target {tid} already exists on this node", 8003, "Storage::TargetExisted")
        same = [t for t, m in self.targets.items() if m["chain_id"] == cid]
        if same:
            raise Fail(f"chain {cid} already has target {same[0]} on this node; a storage node "
                       f"holds at most one target per chain", 8004, "Storage::ChainConflict")
        tdir = os.path.join(self.paths[disk], str(tid))
        os.makedirs(tdir, exist_ok=True)
        meta = {"target_id": tid, "disk_index": disk, "chain_id": cid}
        with open(os.path.join(tdir, "target.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f)
        self.targets[tid] = meta
        log.info("created target %d on disk %d for chain %d", tid, disk, cid)
        return ok()


def check_target_paths(data, origin):
    paths = dig(data, "server.targets.target_paths")
    if not paths:
        raise Fail(f"{origin}: 'server.targets.target_paths' is empty: storage needs at least "
                   f"one target path")
    for p in paths:
        if not os.path.exists(p):
            raise Fail(f"{origin}: target path {p} does not exist (stat failed)")
        if not os.path.isdir(p):
            raise Fail(f"{origin}: target path {p} is not a directory")
    return paths


def run_storage(ctx):
    mg = Mgmtd(dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"), ctx.launcher_path)
    data, version, origin = ctx.main_config(lambda: fetch_from_mgmtd(mg, ctx))
    addrs = dig(data, "server.mgmtd.mgmtd_server_addresses")
    if addrs is None:
        raise Fail(f"{origin}: required key 'server.mgmtd.mgmtd_server_addresses' is missing")
    store = Storage(check_target_paths(data, origin))
    port = listen_all(listen_ports(data, "STORAGE", origin), store.dispatch, "storage_main")
    Member(ctx, Mgmtd(addrs, origin), port, version).run(stop_event())


# ------------------------------------------------------------------ fuse
def read_token(ctx):
    tok = os.environ.get("HF3FS_FUSE_TOKEN", "").strip()
    if tok:
        return tok
    path = ctx.launcher.get("token_file")
    if not path:
        raise Fail(f"{ctx.launcher_path}: no token: set token_file or HF3FS_FUSE_TOKEN")
    try:
        with open(path, encoding="utf-8") as f:
            tok = f.read().strip()
    except OSError as e:
        raise Fail(f"cannot read token file {path}: {e.strerror}")
    if not tok:
        raise Fail(f"token file {path} is empty")
    return tok


def check_chain_table(mg, ctx):
    routing = mg.call("routing", cluster_id=ctx.cluster_id)
    if not routing["tables"]:
        raise Fail("no chain table was uploaded (admin_cli upload-chain-table); "
                   "the file system cannot place data", 5008, "Mgmtd::ChainTableNotFound")


def run_fuse(ctx):
    mg = Mgmtd(dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"), ctx.launcher_path)
    tok = read_token(ctx)
    data, version, origin = ctx.main_config(lambda: fetch_from_mgmtd(mg, ctx))
    mg.call("check_token", token=tok, cluster_id=ctx.cluster_id)
    check_chain_table(mg, ctx)
    mnt = ctx.launcher["mountpoint"]
    fs = Mount(mnt, ctx.cluster_id, ctx.launcher.get("allow_other", True),
               {"mgmtd": dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"),
                "cluster_id": ctx.cluster_id, "token": tok})
    fs.mount()
    stop = stop_event()
    try:
        while not stop.wait(2.0):
            if fs.proc.poll() is not None:
                raise Fail(f"the FUSE process serving {mnt} exited "
                           f"(status {fs.proc.returncode}); the mount is gone")
            try:
                mg.call("routing", cluster_id=ctx.cluster_id)
            except Fail as e:
                log.warning("mgmtd unreachable: %s", e.msg)
    finally:
        fs.unmount()


class Mount:
    """The stand-in 3FS FUSE file system (standin.fusefs, subtype hf3fs) at mnt."""

    def __init__(self, mnt, cluster_id, allow_other, settings):
        self.mnt, self.name, self.allow_other = mnt, f"hf3fs.{cluster_id}", allow_other
        self.settings = settings
        self.proc = None

    def mounted(self):
        """True when the topmost mount at the mountpoint is our FUSE file system
        (docker's own bind mount of the host directory sits below it)."""
        with open("/proc/self/mounts", encoding="utf-8") as f:
            types = [ln.split()[2] for ln in f if ln.split()[1] == self.mnt]
        return bool(types) and types[-1] == "fuse.hf3fs"

    def mount(self):
        if not os.path.isdir(self.mnt):
            raise Fail(f"mountpoint {self.mnt} does not exist or is not a directory")
        if not os.path.exists("/dev/fuse"):
            raise Fail("/dev/fuse is missing: the FUSE client needs the host's /dev "
                       "(docker run --privileged --volume /dev:/dev)")
        opts = (f"subtype=hf3fs,fsname={self.name},big_writes,max_write=1048576"
                + (",allow_other" if self.allow_other else ""))
        env = dict(os.environ, HF3FS_STANDIN_FS=json.dumps(self.settings))
        self.proc = subprocess.Popen([sys.executable, "-m", "standin.fusefs", self.mnt, "-f",
                                      "-o", opts], stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(100):
            if self.mounted():
                threading.Thread(target=self.relay_errors, daemon=True).start()
                log.info("mounted %s at %s (type fuse.hf3fs)", self.name, self.mnt)
                return
            if self.proc.poll() is not None:
                raise Fail(f"the FUSE file system did not mount: {self.proc.stderr.read().strip()}")
            time.sleep(0.1)
        self.proc.kill()
        raise Fail(f"the FUSE file system did not mount {self.mnt} within 10 s")

    def relay_errors(self):
        for line in self.proc.stderr:
            log.error("%s", line.rstrip())

    def unmount(self):
        subprocess.run(["fusermount", "-u", self.mnt], capture_output=True)
        if self.proc:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        log.info("unmounted %s", self.mnt)


RUNNERS = {"MGMTD": run_mgmtd, "META": run_meta, "STORAGE": run_storage, "FUSE": run_fuse}


def main(kind):
    setup_log(PROGS[kind])
    try:
        ctx = Ctx(kind, sys.argv[1:])
        RUNNERS[kind](ctx)
    except Fail as e:
        die(PROGS[kind], e)
    except OSError as e:
        die(PROGS[kind], Fail(str(e)))
