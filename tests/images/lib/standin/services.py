"""mgmtd_main, meta_main, storage_main and hf3fs_fuse_main stand-ins."""
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time

from . import logconf
from .chainstate import ONLINE
from .common import (RELEASE, STOP, Fail, block_interrupt_signals, check_fuse_mount_name, die, dig,
                     dig_duration, load_toml, load_toml_text, local_ip_towards, log, ok,
                     parse_flag_value, run_every, serve, set_dotted, start_serving)
from .kv import KV, Mgmtd
from .mgmtd import MgmtdService
from .namespace import Namespace
from .netif import listen_groups, start_ib_manager
from .replication import Replication
from .schema import check_app, check_launcher, check_main

PROGS = {"MGMTD": "mgmtd_main", "META": "meta_main", "STORAGE": "storage_main",
         "FUSE": "hf3fs_fuse_main"}
# Server::kName (MgmtdServer.h, MetaServer.h, StorageServer.h, FuseApplication.h):
# what a log handler with an empty file_path is named after (LogConfig.cc)
SERVER_NAMES = {"MGMTD": "Mgmtd", "META": "Meta", "STORAGE": "Storage", "FUSE": "Fuse"}
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
        # ServerLauncher::init / FuseApplication: the IB manager starts right
        # after the launcher and app configs are read (src/core/app/ServerLauncher.h).
        start_ib_manager(self.launcher.get("ib_devices"))

    def load(self, path, what, prefix):
        data = load_toml(path, what)
        for key, val in self.over[prefix]:
            set_dotted(data, key, val)
        return data

    def main_config(self, fetch):
        """(data, version, origin): the local --cfg file, or the version stored
        in the cluster. Nothing stored is version 0 with an empty text: the
        built-in defaults (MgmtdConfigFetcher.cc, MgmtdClientFetcher.cc). The
        text is checked only here, when a process loads it; a bad one fails
        with "Init config failed" (initConfig, src/common/app/Utils.cc)."""
        if self.opts.get("cfg"):
            path = self.opts["cfg"]
            try:
                with open(path, encoding="utf-8") as f:
                    text, version, origin = f.read(), 0, path
            except OSError:
                raise Fail(f"Load config from {path} failed: IOError(69) Error opening file: "
                           f"{path}", 69, "IOError")
        else:
            cfg = fetch()
            text, version = cfg["content"], cfg["version"]
            origin = f"{self.prog}.toml (version {version} from the cluster state)"
        try:
            data = load_toml_text(text, origin)
            for key, val in self.over["config."]:
                set_dotted(data, key, val)
            check_main(self.kind, data, origin)
        except Fail as e:
            raise Fail(f"Init config failed: {e.msg}", e.code, e.name)
        return data, version, origin

    @staticmethod
    def inited(data):
        """TwoPhaseApplication::initApplication (FuseApplication's alike) once
        the main config is loaded: "Server config inited", then
        initCommonComponents sets logging up from its [common.log]
        (src/common/app/Utils.cc initLogging; logconf)."""
        log.info("Server config inited")
        logconf.init(dig(data, "common.log"))


EMPTY_CONFIG = {"version": 0, "content": "", "desc": ""}


def fetch_from_mgmtd(mgmtd, ctx, wait=15.0):
    """Get the service type's main config from mgmtd (retrying while it is down,
    as loadConfigFromLauncher retries for about 15 s)."""
    deadline = time.time() + wait
    while True:
        try:
            return mgmtd.call("get_config", type=ctx.kind, cluster_id=ctx.cluster_id)
        except Fail as e:
            if e.code != 6004 or time.time() >= deadline:
                raise Fail(f"Load config from launcher failed, stop retrying: {e.name}({e.code}) "
                           f"{e.msg}", e.code, e.name)
            log.info("waiting for mgmtd: %s", e.msg)
            time.sleep(1)


# The hot-updated items of a server's mgmtd client (MgmtdClient::Config,
# src/client/mgmtd/MgmtdClient.h; MgmtdClientForServer.h turns auto refresh
# and heartbeat on) the stand-ins follow, with their defaults, and the
# section holding them in each main config.
CLIENT_ITEMS = {"enable_auto_heartbeat": True, "auto_heartbeat_interval": 10.0,
                "enable_auto_refresh": True, "auto_refresh_interval": 10.0}
CLIENT_SECTIONS = {"META": "server.mgmtd_client", "STORAGE": "server.mgmtd", "FUSE": "mgmtd"}


def client_config(kind, data, current=None):
    """The CLIENT_ITEMS of a loaded main config; a key that is absent takes
    the default at start (current None) and keeps its value in a hot update."""
    cur = current or CLIENT_ITEMS
    section = CLIENT_SECTIONS[kind]
    out = {}
    for key, val in cur.items():
        if isinstance(CLIENT_ITEMS[key], bool):
            out[key] = bool(dig(data, f"{section}.{key}", val))
        else:
            out[key] = dig_duration(data, f"{section}.{key}", val)
    return out


class Member:
    """Heartbeats of a node to mgmtd, as its MgmtdClient sends them
    (src/client/mgmtd/MgmtdClient.cc): AutoHeartbeat every
    auto_heartbeat_interval, AutoRefresh of the routing info every
    auto_refresh_interval (each started only when enabled at start, and
    skipped while disabled), both hot-updated. A node never registers
    itself: mgmtd accepts the first heartbeat of an unknown node id only
    when it allows unregistered nodes (otherwise `admin_cli register-node`
    makes it known); a refused heartbeat is logged and retried, the service
    keeps running. on_config(data) applies the hot-updated items of a new
    main config."""

    def __init__(self, ctx, mgmtd, addr, version, data, on_config=None, report=None,
                 refresh=None):
        """report() adds to each heartbeat (a storage node's targets; a
        change to their local states sends one within a second, as storage's
        CheckWorker triggers it); refresh() fetches and applies the routing
        info (a storage node)."""
        self.ctx, self.mgmtd, self.version, self.on_config = ctx, mgmtd, version, on_config
        self.report, self.refresh = report, refresh
        self.client = client_config(ctx.kind, data)
        self.lock = threading.Lock()  # one heartbeat at a time (MgmtdClient's work queue)
        self.rejected = None
        self.sent = None  # the local states of the last heartbeat sent
        self.rec = {"node_id": ctx.node_id, "type": ctx.kind, "hostname": ctx.hostname,
                    "pid": os.getpid(), "host": addr[0], "tcp_port": addr[1],
                    "release": RELEASE, "cluster_id": ctx.cluster_id}

    @staticmethod
    def states(extra):
        return {tid: v["local"] for tid, v in extra.get("targets", {}).items()}

    def beat(self):
        with self.lock:
            extra = self.report() if self.report else {}
            self.sent = self.states(extra)
            reply = self.mgmtd.call("heartbeat", config_version=self.version, **self.rec, **extra)
        latest = reply.get("config_version", 0)
        if latest > self.version and latest != self.rejected and not self.ctx.opts.get("cfg"):
            self.reload(latest)

    def reload(self, latest):
        try:
            data, self.version, origin = self.ctx.main_config(
                lambda: fetch_from_mgmtd(self.mgmtd, self.ctx))
            self.client = client_config(self.ctx.kind, data, self.client)
            if self.on_config:
                self.on_config(data)
            logconf.hot_update(dig(data, "common.log"))
            log.info("applied new main config %s", origin)
        except Fail as e:
            self.rejected = latest
            log.error("new main config rejected: %s", e.msg)

    def send(self):
        try:
            self.beat()
        except Fail as e:  # at ERR (src/client/mgmtd/MgmtdClient.cc)
            log.error("MgmtdClient: Heartbeat failed: %s(%s) %s", e.name, e.code, e.msg)

    def auto_heartbeat(self):
        if self.client["enable_auto_heartbeat"]:
            self.send()

    def auto_refresh(self):
        if self.client["enable_auto_refresh"]:
            self.refresh()

    def trigger(self):
        """CheckWorker's round (src/storage/worker/CheckWorker.cc): its
        target checks (report()), then a heartbeat when the payload changed
        since the last one (Components::updateHeartbeatPayload,
        triggerHeartbeatIfNeed)."""
        if self.sent is None or self.states(self.report()) != self.sent:
            self.send()

    def send_offline_state(self):
        """A storage node that stops (gracefully) sends a last heartbeat with
        every target OFFLINE ("Send offline state", Components::stopAndJoin,
        src/storage/service/Components.cc), so mgmtd does not wait for the
        heartbeat fail interval."""
        with self.lock:
            extra = self.report()
            for v in extra.get("targets", {}).values():
                v.update(local="OFFLINE", used=0)
            log.info("Send offline state")
            try:
                self.mgmtd.call("heartbeat", config_version=self.version, **self.rec, **extra)
            except Fail as e:
                log.error("MgmtdClient: Heartbeat failed: %s(%s) %s", e.name, e.code, e.msg)

    def start(self, stop):
        """MgmtdClient::start: its background tasks AutoHeartbeat and
        AutoRefresh (storage starts it in Components::waitRoutingInfo)."""
        if self.client["enable_auto_heartbeat"]:
            run_every("AutoHeartbeat", self.auto_heartbeat,
                      lambda: self.client["auto_heartbeat_interval"], stop)
        if self.refresh and self.client["enable_auto_refresh"]:
            run_every("AutoRefresh", self.auto_refresh,
                      lambda: self.client["auto_refresh_interval"], stop)

    def start_check_worker(self, stop):
        """storage's CheckWorker, started after waitRoutingInfo (Components::start)."""
        if self.report:
            run_every("CheckWorker", self.trigger, lambda: 1.0, stop)

    def run(self, stop):
        self.start(stop)
        self.start_check_worker(stop)
        stop.wait()


def stop_event():
    """Set by SIGTERM or SIGINT since the start (block_interrupt_signals)."""
    return STOP


def serve_on(ip, port, dispatch, what):
    return serve(port, dispatch, what, host=ip)


def listen_all(data, kind, dispatch, what, towards, held=None):
    """Bind the listeners of [[server.base.groups]] (netif.listen_groups) and
    return the (ip, port) peers use: the last (TCP "Core") group's address on
    the NIC that reaches `towards` (mgmtd or FDB), else its first address.
    With a list `held`, the servers are appended to it and accept nothing
    until start_serving (storage: after Components::start)."""
    def bind(ip, port, dispatch, what):
        srv = serve(port, dispatch, what, host=ip, start=held is None)
        if held is not None:
            held.append(srv)
        return srv
    bound = listen_groups(dig(data, "server.base.groups"), kind, bind, dispatch, what)
    group = next((g for g in reversed(bound) if g), [])
    local = local_ip_towards(towards)
    return next(((ip, p) for ip, p in group if ip == local), group[0] if group else (local, 0))


def no_requests(req, peer):
    if req.get("op") == "ping":
        return ok()
    raise Fail(f"unsupported request {req.get('op')!r}", 3, "InvalidArg")


# ------------------------------------------------------------------ mgmtd
# mgmtd's background tasks as MgmtdBackgroundRunner::start starts them: the
# method of MgmtdService and the interval (a TIMINGS item) it runs at.
MGMTD_TASKS = (("extendLease", "extend_lease", "extend_lease_interval"),
               ("checkNewBornChains", "check_new_born_chains", "check_status_interval"),
               ("checkHeartbeat", "check_heartbeats", "check_status_interval"),
               ("sendHeartbeat", "send_heartbeat_once", "send_heartbeat_interval"),
               ("updateChains", "update_chains", "update_chains_interval"))
# the checks that run only on the primary (doAsPrimary)
PRIMARY_ONLY = ("check_new_born_chains", "check_heartbeats", "update_chains")


def mgmtd_task(svc, method):
    fn = getattr(svc, method)

    def task():
        try:
            if method in PRIMARY_ONLY:
                svc.as_primary(fn)
            else:
                fn()
        except Fail as e:  # e.g. FDB unreachable: the lease is not extended
            log.warning("%s failed: %s", method, e.msg)
    return task


def mgmtd_tick(svc):
    """Every background task of mgmtd once, now, in order (the tests and
    the bench drive mgmtd so; run_mgmtd runs each at its own interval):
    take or extend the lease (the holder loads the cluster state when the
    lease is new to it, mgmtd.py), a standby's heartbeat, the primary's
    checks."""
    for _, method, _ in MGMTD_TASKS:
        mgmtd_task(svc, method)()


def run_mgmtd(ctx):
    path = dig(ctx.launcher, "fdb.clusterFile") or dig(ctx.launcher, "kv_engine.fdb.clusterFile")
    kv = KV(path, ctx.launcher_path, wait=15.0)
    # No stored MGMTD config: an empty template, i.e. the built-in defaults; FDB
    # holds no cluster id, so an empty (wiped) FDB is just an empty cluster.
    data, version, _ = ctx.main_config(lambda: kv.get("config/MGMTD") or EMPTY_CONFIG)
    ctx.inited(data)
    svc = MgmtdService(ctx.node_id, ctx.cluster_id, kv, data, version)
    host, port = listen_all(data, "MGMTD", svc.dispatch, "mgmtd_main", kv.coords[0])
    svc.rec = {"node_id": ctx.node_id, "type": "MGMTD", "hostname": ctx.hostname,
               "pid": os.getpid(), "host": host, "tcp_port": port, "release": RELEASE}
    stop = stop_event()
    log.info("mgmtd %s serving cluster '%s'", ctx.node_id, ctx.cluster_id)
    start_mgmtd_tasks(svc, stop)
    stop.wait()


def start_mgmtd_tasks(svc, stop):
    """MgmtdBackgroundRunner::start: each task in its thread at its
    interval, read from svc's config after each round (hot-updated)."""
    for name, method, interval in MGMTD_TASKS:
        run_every(name, mgmtd_task(svc, method), svc.interval(interval), stop)


# ------------------------------------------------------------------ meta
def run_meta(ctx):
    mg = Mgmtd(dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"), ctx.launcher_path)
    data, version, origin = ctx.main_config(lambda: fetch_from_mgmtd(mg, ctx))
    ctx.inited(data)
    addrs = dig(data, "server.mgmtd_client.mgmtd_server_addresses")
    if addrs is None:
        raise Fail(f"{origin}: required key 'server.mgmtd_client.mgmtd_server_addresses' "
                   f"is missing")
    cluster_file = dig(data, "server.fdb.clusterFile")
    if not cluster_file:
        raise Fail(f"{origin}: required key 'server.fdb.clusterFile' is missing")
    kv = KV(cluster_file, origin, wait=15.0)
    mg = Mgmtd(addrs, origin)
    ns = Namespace(kv, mg, ctx.cluster_id)
    ns.configure(data)
    addr = listen_all(data, "META", ns.dispatch, "meta_main", mg.addrs[0])
    Member(ctx, mg, addr, version, data, ns.configure).run(stop_event())


# ------------------------------------------------------------------ storage
def _shell(cmd):
    """stdout of `sh -c cmd` like popen(3) (SysResource::exec): a command that
    fails or is missing gives what it printed, nothing else."""
    try:
        return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True).stdout
    except OSError:
        return ""


def _scan_uuids():
    """SysResource::scanDiskInfo: `blkid -s UUID` (device -> UUID), the devices
    of /proc/self/mountinfo that have one, and `lsblk -o MOUNTPOINT,MODEL
    --json` (whose output must parse). {st_dev: uuid}."""
    dev_uuid = {}
    for line in _shell("blkid -s UUID").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] and len(parts[1]) >= 7:
            dev_uuid[parts[0][:-1]] = parts[1][6:-1]
    found = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if "-" not in fields[5:]:
                continue
            rest = fields[fields.index("-", 5) + 1:]
            if len(rest) >= 2 and rest[1] in dev_uuid:
                major, _, minor = fields[2].partition(":")
                found[os.makedev(int(major), int(minor))] = dev_uuid[rest[1]]
    try:
        json.loads(_shell("lsblk -o MOUNTPOINT,MODEL --json"))
    except ValueError as e:
        raise Fail(f"lsblk -o MOUNTPOINT,MODEL --json: not JSON: {e}", 50, "SerdeInvalidJson")
    return found


_UUIDS = []  # [the scan's result or its Fail], made once per process


def device_uuid(path):
    """getDeviceUUID (src/storage/store/StorageTarget.cc): the UUID of the
    file system holding path, found by its st_dev in the scan above."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise Fail(f"stat {path} failed: {e.errno}", 4016, "Storage::StorageStatFailed")
    if not _UUIDS:
        try:
            _UUIDS.append(_scan_uuids())
        except (Fail, OSError) as e:
            _UUIDS.append(e if isinstance(e, Fail) else Fail(str(e), 999, "Unknown"))
    if isinstance(_UUIDS[0], Fail):
        raise _UUIDS[0]
    if st.st_dev not in _UUIDS[0]:
        raise Fail(f"Not found UUID for path {path} device {st.st_dev}", 4017,
                   "Storage::StorageUUIDMismatch")
    return _UUIDS[0][st.st_dev]


def storage_error(msg):
    return Fail(msg, 4018, "Storage::StorageInitFailed")


class Storage(Replication):
    def __init__(self, paths, mgmtd=None, cluster_id=""):
        self.paths, self.lock = paths, threading.Lock()
        self.allow_disk_without_uuid = False
        self.targets = {}
        for disk, p in enumerate(paths):
            for name in os.listdir(p):
                meta = os.path.join(p, name, "target.json")
                if os.path.isfile(meta):
                    with open(meta, encoding="utf-8") as f:
                        self.targets[int(name)] = self.load_target(os.path.join(p, name),
                                                                   json.load(f))
        log.info("storage has %d targets on %d paths", len(self.targets), len(paths))
        self.init_replication(mgmtd, cluster_id)

    def configure(self, data):
        """Hot-updated: server.targets.allow_disk_without_uuid (StorageTargets.h)."""
        self.allow_disk_without_uuid = dig(data, "server.targets.allow_disk_without_uuid", False)

    @staticmethod
    def load_target(tdir, meta):
        """StorageTarget::load: the UUID recorded at creation must still match."""
        try:
            uuid = device_uuid(tdir)
        except Fail:
            if not meta.get("allow_disk_without_uuid", True):
                raise
            uuid = ""
        if meta.get("block_device_uuid", "") != uuid:
            raise Fail(f"UUID mismatch config {meta.get('block_device_uuid', '')} != real {uuid}",
                       4017, "Storage::StorageUUIDMismatch")
        return meta

    def dispatch(self, req, peer):
        op = req.get("op")
        if op == "ping":
            return ok()
        if op in ("write_chunk", "read_chunk", "trunc_chunk"):
            return self.chunk_io(op, req)
        if op in ("sync_start", "sync_write", "sync_remove", "sync_done"):
            return self.sync_op(op, req)
        if op not in ("create_target", "offline_target", "remove_target"):
            return no_requests(req, peer)
        with self.lock:
            if op == "offline_target":
                return self.offline_target(req["target_id"], req.get("force", False))
            if op == "remove_target":
                return self.remove_target(req["target_id"], req.get("force", False))
            return self.create_target(req["target_id"], req["disk_index"], req["chain_id"])

    # A chunk is a file <target dir>/chunks/<inode>.<index>; data travels base64.
    def chunk_path(self, tid, chunk):
        meta = self.targets.get(tid)
        if meta is None:
            raise Fail(f"target {tid} is not on this storage node", 4031,
                       "Storage::TargetNotFound")
        ino, _, idx = chunk.partition(".")
        if not (ino.isdigit() and idx.isdigit()):
            raise Fail(f"malformed chunk id {chunk!r}", 3, "InvalidArg")
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
        """StorageTargets::create(CreateTargetReq) and StorageTarget::create
        (src/storage/store/StorageTargets.cc, StorageTarget.cc), in their order
        and words. The target id is checked on this node only."""
        if disk >= len(self.paths):
            raise storage_error(f"disk index exceed {disk} >= {len(self.paths)}")
        if cid == 0:
            raise storage_error(f"target TargetId({tid}) without chain id")
        same = [t for t, m in self.targets.items() if m["chain_id"] == cid]
        if same and same[0] != tid:
            raise storage_error(f"target TargetId({same[0]}) is existing with same chain id "
                                f"ChainId({cid}), req target TargetId({tid})")
        if tid in self.targets:
            # CreateTargetReq.allowExistingTarget defaults to true
            # (src/fbs/storage/Common.h) and admin_cli create-target does not
            # set it (CreateTarget.cc; only create-targets has
            # --allow-existing-target): the same target again succeeds while
            # its directory is there
            if not os.path.isdir(os.path.join(self.paths[self.targets[tid]["disk_index"]], str(tid))):
                raise storage_error(f"target {tid} is existing in memory, but not found in disk")
            log.info("target %d is already existing, return succ", tid)
            return ok()
        tdir = os.path.join(self.paths[disk], str(tid))
        os.makedirs(tdir, exist_ok=True)
        try:
            uuid = device_uuid(tdir)
        except Fail:
            if not self.allow_disk_without_uuid:
                raise
            uuid = ""
        meta = {"target_id": tid, "disk_index": disk, "chain_id": cid,
                "block_device_uuid": uuid, "allow_disk_without_uuid": self.allow_disk_without_uuid}
        with open(os.path.join(tdir, "target.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f)
        self.targets[tid] = meta
        self.local[tid] = ONLINE  # TargetMap::addStorageTarget
        log.info("Create storage target %d at %s", tid, tdir)
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
    ctx.inited(data)
    addrs = dig(data, "server.mgmtd.mgmtd_server_addresses")
    if addrs is None:
        raise Fail(f"{origin}: required key 'server.mgmtd.mgmtd_server_addresses' is missing")
    mg = Mgmtd(addrs, origin)
    store = Storage(check_target_paths(data, origin), mg, ctx.cluster_id)
    store.configure(data)
    # Server::setup binds the listeners; Server::start runs beforeStart
    # (Components::start, whose waitRoutingInfo heartbeats with every target
    # OFFLINE and waits until mgmtd shows none of them SERVING, SYNCING or
    # WAITING) and only then starts the service groups, which accept
    # (src/common/net/Server.cc, src/storage/service/StorageServer.cc,
    # Components.cc). Meanwhile a request (admin_cli create-target,
    # offline-target, a client's I/O) waits in the backlog unanswered. SIGTERM
    # is handled only once the start is over (ApplicationBase::mainLoop), so
    # a stop during the wait takes effect when it ends.
    held = []
    addr = listen_all(data, "STORAGE", store.dispatch, "storage_main", mg.addrs[0], held)
    member = Member(ctx, mg, addr, version, data, store.configure, store.report, store.refresh)
    stop = stop_event()
    store.wait_routing_info(member, stop)
    member.start_check_worker(stop)  # resyncWorker, checkWorker, storageOperator
    for srv in held:
        start_serving(srv)
    log.info("storage %s serving", ctx.node_id)
    stop.wait()
    member.send_offline_state()


# ------------------------------------------------------------------ fuse
def read_token(ctx):
    """FuseClients::init (src/fuse/FuseClients.cc): HF3FS_FUSE_TOKEN when it is
    set (taken as it is), else the content of token_file with surrounding
    whitespace trimmed. The token is not checked here: meta checks it only
    when its authenticate is true."""
    env = os.environ.get("HF3FS_FUSE_TOKEN")
    if env is not None:
        log.info("Use token from env var")
        return env
    log.info("Use token from config")
    path = ctx.launcher.get("token_file", "")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        raise Fail(f"Init fuse clients failed: IOError(69) Error opening file: {path}", 69,
                   "IOError")


def run_fuse(ctx):
    mg = Mgmtd(dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"), ctx.launcher_path)
    data, version, origin = ctx.main_config(lambda: fetch_from_mgmtd(mg, ctx))
    ctx.inited(data)
    check_fuse_mount_name(ctx.cluster_id)
    tok = read_token(ctx)
    mnt = ctx.launcher.get("mountpoint", "")
    # the client's routing refresh (its mgmtd client's AutoRefresh; None: only
    # the forced refreshes after a refused request), read at start
    client = client_config("FUSE", data)
    refresh = client["auto_refresh_interval"] if client["enable_auto_refresh"] else None
    fs = Mount(mnt, ctx.cluster_id, ctx.launcher.get("allow_other", True),
               {"mgmtd": dig(ctx.launcher, "mgmtd_client.mgmtd_server_addresses"),
                "cluster_id": ctx.cluster_id, "token": tok, "refresh": refresh,
                "retry": {k: fuse_retry(data, k) for k in ("read", "write")}})
    fs.mount()
    stop = stop_event()
    version = 0  # the routing info version held: mgmtd answers null while it is current
    try:
        while not stop.wait(2.0):
            if fs.proc.poll() is not None:
                raise Fail(f"the FUSE process serving {mnt} exited "
                           f"(status {fs.proc.returncode}); the mount is gone")
            try:
                version = mg.call("routing", cluster_id=ctx.cluster_id,
                                  version=version).get("version", 0)
            except Fail as e:
                log.warning("mgmtd unreachable: %s", e.msg)
    finally:
        fs.unmount()


# The storage client's retry (StorageClient::RetryConfig and the per-I/O
# RetryOptions, src/client/storage/StorageClient.h): init_wait_time,
# max_wait_time, max_retry_time of storage.retry (10 s, 30 s, 1 min), each
# replaced by storage_io.<read|write>.retry's when that is not zero.
FUSE_RETRY = (("init_wait_time", 10.0), ("max_wait_time", 30.0), ("max_retry_time", 60.0))


def fuse_retry(data, kind):
    """[init, max_wait, total] seconds of the FUSE client's kind of I/O,
    read at mount."""
    out = []
    for key, default in FUSE_RETRY:
        val = dig_duration(data, f"storage_io.{kind}.retry.{key}", 0.0)
        out.append(val or dig_duration(data, f"storage.retry.{key}", default))
    return out


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
    block_interrupt_signals()
    logconf.start(PROGS[kind], SERVER_NAMES[kind])
    try:
        ctx = Ctx(kind, sys.argv[1:])
        RUNNERS[kind](ctx)
    except Fail as e:
        die(PROGS[kind], e)
    except OSError as e:
        die(PROGS[kind], Fail(str(e)))
