"""The mgmtd stand-in's request handlers.

State, as real mgmtd keeps it (deepseek-ai/3FS ee9a5ce src/mgmtd/service/MgmtdState.h
`data_`, MgmtdData.h / RoutingInfo.h): the mgmtd holding the lease (the
primary) keeps nodes, targets, chains, chain tables and configs in memory.
It loads them from the fdb stand-in (KV) each time it takes the lease
(onNewLease in src/mgmtd/background/MgmtdLeaseExtender.cc) and writes every
change through to the KV before answering, so the next primary loads it.
Heartbeat times and the targets' local states are memory only (upstream
persists neither): a new primary starts with none, its nodes are
HEARTBEAT_CONNECTING and their chain targets OFFLINE until they beat again,
and every node and target gets a fresh timestamp and every chain the newborn
time from the takeover (RoutingInfo::reset, loadAllChains). Users are read
from the KV when a request needs one (upstream's UserStoreEx reads FDB too,
through a cache: exist_ttl 5 min, inexist_ttl 10 s,
src/core/user/UserCache.h; the stand-in has no cache, so a new user counts
at once).

A mgmtd that does not hold the lease answers every request with
Mgmtd::NotPrimary(5000), the message naming the primary's node id when it
knows it, as upstream does (doAsPrimary / ensureSelfIsPrimary,
src/mgmtd/service/helpers.{h,cc}); upstream's client then goes to that
primary or probes the other addresses (src/client/mgmtd/MgmtdClient.cc
trySwitchProbeTarget); the stand-ins' client (kv.Mgmtd) tries the next
address of its list, which reaches the primary as every mgmtd is listed. A
standby heartbeats to the primary like any node (MgmtdHeartbeater.cc; the
primary's address from its nodes/ record). When the primary dies, the next
mgmtd takes the lease once it has expired, at its next attempt, then loads
the state: until then every mgmtd answers NotPrimary, heartbeats fail and
are retried, and clients see MgmtdClient::RoutingInfoNotReady(6004)
(kv.Mgmtd) and retry.

Timing follows mgmtd's hot-updated config items (MgmtdConfig.h, keys
server.service.* of mgmtd_main.toml; TIMINGS below, with the code defaults
when a key is absent; a set-config of the MGMTD config changes them at
once). The background tasks run as MgmtdBackgroundRunner.cc starts them
(services.run_mgmtd, each at its interval): the lease (every
extend_lease_interval, lease_length long, MgmtdLeaseExtender.cc and
MgmtdStore::extendLease; a lease is trusted while it has more than
suspicious_lease_interval left, MgmtdState::currentLease), the heartbeat
checker and the newborn chains checker (every check_status_interval), a
standby's heartbeat (every send_heartbeat_interval) and the chains updater
(every update_chains_interval).

The routing info has a version (RoutingInfo::routingInfoVersion), bumped
once per request or tick that changed what it shows (nodes and their
liveness and config versions, targets, their local states, chains, chain
tables, config versions) and stored in the KV (routing_version), so a new
primary starts above any version a client saw. A request naming the current
version gets `routing: null` (GetRoutingInfoOperation.cc,
MgmtdData::getRoutingInfo); an older one gets the answer built once for this
version; none (or 0, a forced refresh) gets one built now, with the latest
heartbeat times and used sizes (upstream does not bump the version for
those either). Liveness changes with time only in the heartbeat checker,
which bumps the version when it changes a status or a local state.

Upstream (deepseek-ai/3FS ee9a5ce), whose checks and words these follow:
src/mgmtd/ops/{Heartbeat,RegisterNode,SetConfig,SetChains,SetChainTable}Operation.cc,
src/mgmtd/service/MgmtdState.cc (validateClusterId, validateAdmin),
src/mgmtd/service/MgmtdConfig.h (hot-updated items), src/client/storage/StorageClientImpl.cc;
for chain migration src/mgmtd/ops/UpdateChainOperation.cc, src/mgmtd/service/updateChain.cc
(chainstate.py), src/mgmtd/background/MgmtdHeartbeatChecker.cc.
"""
import threading

from . import logconf
from .common import (Fail, RpcError, RpcTimeout, dig, dig_duration, load_toml_text, log, now,
                     ok, rpc)
from .schema import check_main
from . import token as tokens
from .chainstate import OFFLINE, SERVING, generate_new_chain

# The hot-updated durations of MgmtdConfig (src/mgmtd/service/MgmtdConfig.h)
# the stand-in follows, keys server.service.<name>, with their code defaults
# in seconds, and where upstream uses them.
TIMINGS = {
    "lease_length": 60.0,  # MgmtdLeaseExtender.cc -> MgmtdStore::extendLease
    "extend_lease_interval": 10.0,  # MgmtdBackgroundRunner.cc "extendLease"
    "suspicious_lease_interval": 20.0,  # MgmtdState::currentLease
    "check_status_interval": 10.0,  # "checkHeartbeat", "checkNewBornChains"
    "heartbeat_fail_interval": 60.0,  # MgmtdHeartbeatChecker.cc
    "new_chain_bootstrap_interval": 120.0,  # MgmtdNewBornChainsChecker.cc
    "send_heartbeat_interval": 10.0,  # "sendHeartbeat" (MgmtdHeartbeater.cc)
    "update_chains_interval": 1.0,  # "updateChains" (MgmtdChainsUpdater.cc)
}
CONNECTED, CONNECTING, FAILED = "HEARTBEAT_CONNECTED", "HEARTBEAT_CONNECTING", "HEARTBEAT_FAILED"
# set-config --type (src/client/cli/admin/SetConfig.cc): CLIENT_AGENT is CLIENT.
CONFIG_TYPES = {"MGMTD": "MGMTD", "META": "META", "STORAGE": "STORAGE", "CLIENT": "CLIENT",
                "CLIENT_AGENT": "CLIENT", "FUSE": "FUSE"}
NODE_TYPES = ("MGMTD", "META", "STORAGE", "CLIENT", "FUSE")  # flat::NodeType
UINT32 = 0xFFFFFFFF
NODE_KEEP = ("node_id", "type", "hostname", "pid", "host", "tcp_port", "release")
# Requests that may run at the same time as others: create_target is only
# passed on to the storage node, which serialises its own targets.
UNLOCKED_OPS = ("create_target", "offline_target", "remove_target")
# Requests passed to the storage node named in them, and what they carry.
STORAGE_OPS = {"create_target": ("target_id", "disk_index", "chain_id"),
               "offline_target": ("target_id", "force"),
               "remove_target": ("target_id", "force")}


def mgmtd_error(name, code, msg):
    return Fail(msg, code, "Mgmtd::" + name)


def bad_chain_table(msg):
    return mgmtd_error("InvalidChainTable", 5007, msg)


class MgmtdService:
    def __init__(self, node_id, cluster_id, kv, data, version, rec=None):
        """rec: this mgmtd's own node record (its address), which the
        primary puts in the routing info and a standby heartbeats with."""
        self.node_id, self.cluster_id, self.kv, self.rec = node_id, cluster_id, kv, rec
        self.lock = threading.Lock()
        self.timing = dict(TIMINGS)
        self.apply_config(data, version)
        self.lease = None  # the lease as last seen: {"owner", "start", "end"}
        self.bootstrapping = False  # LeaseInfo::bootstrapping: the state is (re)loading
        self.drop_state()

    # ---------------------------------------------------------- lease, state
    def drop_state(self):
        """A standby holds no cluster state."""
        self.loaded = False
        self.nodes, self.targets, self.chains, self.tables, self.configs = {}, {}, {}, {}, {}
        self.status, self.node_ts, self.hb, self.tstate, self.orphans = {}, {}, {}, {}, {}
        self.tlocal, self.newborn = {}, {}
        self.version, self.dirty, self.cache = 0, False, None

    def load_state(self):
        """onNewLease: everything persisted, from the KV, and this mgmtd's
        own node record (persistNewVersionAndSelfInfo); the next routing
        info version. Memory starts over (RoutingInfo::reset): every node
        HEARTBEAT_CONNECTING and every chain target locally OFFLINE
        (makeTargetInfo), all stamped now, and every chain newborn now."""
        kv = self.kv
        self.nodes = {k[6:]: v for k, v in kv.list("nodes/").items()}
        self.targets = {k[8:]: v for k, v in kv.list("targets/").items()}
        self.chains = {k[7:]: v for k, v in kv.list("chains/").items()}
        self.tables = {k[7:]: v for k, v in kv.list("tables/").items()}
        self.configs = {k[7:]: v for k, v in kv.list("config/").items()}
        self.hb, self.tstate, self.orphans = {}, {}, {}
        self.version = (kv.get("routing_version") or 0) + 1
        kv.put("routing_version", self.version)
        self.dirty, self.cache = False, None
        t = now()
        self.status = {nid: CONNECTING for nid in self.nodes}
        self.node_ts = {nid: t for nid in self.nodes}
        self.tlocal = {str(tid): {"local": OFFLINE, "ts": t}
                       for c in self.chains.values() for tid in c["targets"]}
        self.newborn = {cid: t for cid in self.chains}
        if self.rec:
            self.put_node({k: self.rec[k] for k in NODE_KEEP if k in self.rec})
        self.loaded = True
        log.info("mgmtd %s is primary: loaded %d nodes, %d targets, %d chains, %d chain tables",
                 self.node_id, len(self.nodes), len(self.targets), len(self.chains),
                 len(self.tables))
        cfg = self.configs.get("MGMTD")
        if cfg and cfg["version"] > self.config_version:
            self.hot_update(cfg)  # updateSelfConfig in onNewLease

    def extend_lease(self):
        """The lease extender's round (MgmtdLeaseExtender.cc): take or
        extend the lease in the KV for lease_length, then on_lease."""
        lease = self.kv.lease("lease/mgmtd", self.node_id, self.timing["lease_length"])
        self.on_lease(lease["owner"], lease["end"], lease["start"])

    def on_lease(self, owner, end, start=0.0):
        """The lease after this mgmtd's attempt to take or extend it: owner,
        its end and start (seconds of the clock). A lease new to this mgmtd
        (none before, another primary, another start, or a load that has not
        finished) loads the state again, as onNewLease; a failed load is
        retried at the next round. A standby drops its state."""
        with self.lock:
            old = self.lease
            renewed = old is not None and old["owner"] == owner and old["start"] == start \
                and not self.bootstrapping
            self.lease = {"owner": owner, "start": start, "end": end}
            if owner != self.node_id:
                if self.loaded:
                    log.info("mgmtd %s lost the lease to %s", self.node_id, owner)
                self.bootstrapping = False
                self.drop_state()
                return
            if renewed and self.loaded:
                return
            self.bootstrapping = True
            log.info("mgmtd %s got the lease, loading ...", self.node_id)
            self.load_state()
            self.bootstrapping = False

    def trusted_lease(self):
        """MgmtdState::currentLease: the lease, unless it is loading or has
        no more than suspicious_lease_interval left (then None)."""
        lease = self.lease
        if lease is None or self.bootstrapping or \
                now() + self.timing["suspicious_lease_interval"] >= lease["end"]:
            return None
        return lease

    def is_primary(self):
        lease = self.trusted_lease()
        return self.loaded and lease is not None and lease["owner"] == self.node_id

    def ensure_primary(self):
        """ensureSelfIsPrimary (helpers.cc): NotPrimary, naming the primary
        when this mgmtd trusts a lease of another one."""
        if not self.is_primary():
            lease = self.trusted_lease()
            other = lease["owner"] if lease and lease["owner"] != self.node_id else None
            raise mgmtd_error("NotPrimary", 5000, "" if other is None else str(other))

    def changed(self):
        self.dirty = True

    def commit(self):
        """A new routing info version when a change was made (once per
        request or tick), stored so a later primary starts above it."""
        if self.dirty:
            self.dirty = False
            self.version += 1
            self.cache = None
            self.kv.put("routing_version", self.version)

    # ---------------------------------------------------------- own config
    def apply_config(self, data, version, hot=False):
        """The hot-updated items the stand-in uses (MgmtdConfig.h): the
        TIMINGS durations, allow_heartbeat_from_unregistered, authenticate,
        send_heartbeat. At start a key that is absent takes the code default;
        in a hot update it keeps the value in force (ConfigBase::update)."""
        cur = self.timing if hot else TIMINGS
        self.timing = {k: dig_duration(data, "server.service." + k, cur[k]) for k in TIMINGS}

        def flag(key, default):
            return bool(dig(data, "server.service." + key,
                            getattr(self, key) if hot else default))
        self.allow_heartbeat_from_unregistered = flag("allow_heartbeat_from_unregistered", False)
        self.authenticate = flag("authenticate", False)
        self.send_heartbeat = flag("send_heartbeat", True)
        self.config_version = version

    def hot_update(self, cfg):
        """A new MGMTD config is applied at once (SetConfigOperation calls the
        config updater, a hot update); one that does not load is stored anyway
        but not applied."""
        origin = f"mgmtd_main.toml (version {cfg['version']})"
        try:
            data = load_toml_text(cfg["content"], origin)
            check_main("MGMTD", data, origin)
        except Fail as e:
            self.config_version = cfg["version"]
            log.error("hot update of the MGMTD config failed: %s", e.msg)
            return
        self.apply_config(data, cfg["version"], hot=True)
        logconf.hot_update(dig(data, "common.log"))  # in a mgmtd_main process
        log.info("applied MGMTD config version %d", cfg["version"])

    def interval(self, name):
        """An interval getter for services.run_mgmtd (read each round)."""
        return lambda: self.timing[name]

    def dispatch(self, req, peer):
        op = req.get("op")
        handler = getattr(self, "op_" + str(op), None)
        if handler is None:
            raise Fail(f"unknown mgmtd request {op!r}", 3, "InvalidArg")
        if req.get("cluster_id") != self.cluster_id:
            raise mgmtd_error("ClusterIdMismatch", 5003, "Cluster id mismatch")
        if op in UNLOCKED_OPS:
            self.ensure_primary()
            return handler(req, peer)
        with self.lock:
            self.ensure_primary()
            try:
                return handler(req, peer)
            finally:
                self.commit()

    def validate_admin(self, req):
        """validateAdmin: only when authenticate is true, the caller's token
        must be an admin user's."""
        if not self.authenticate:
            return
        tok = req.get("token", "")
        uid = tokens.decode_uid(tok)
        user = self.kv.get(f"users/{uid}") if uid is not None else None
        if user is None or user["token"] != tok:
            raise Fail("Token validate failed", 25, "AuthenticationFail")
        if not user["admin"]:
            raise mgmtd_error("NotAdmin", 5016, "")

    # ---------------------------------------------------------- nodes
    def accept_heartbeat(self, rec):
        """prepareNewNodeInfo (HeartbeatOperation.cc): an unknown node id is
        accepted only when allow_heartbeat_from_unregistered is true; a known
        one must keep its type."""
        nid = rec["node_id"]
        if nid == self.node_id and rec["type"] != "MGMTD":  # another mgmtd: by type below
            raise mgmtd_error("HeartbeatFail", 5002, f"Node id {nid} duplicated")
        if nid == 0:
            raise mgmtd_error("HeartbeatFail", 5002, "Node id is 0")
        old = self.nodes.get(str(nid))
        if old is None and not self.allow_heartbeat_from_unregistered:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} not registered")
        if old is not None and old["type"] != rec["type"]:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} type mismatch: registered "
                                                     f"{old['type']} got {rec['type']}")
        if old is None:
            log.info("auto register %s node %s", rec["type"], nid)
        self.put_node({k: rec[k] for k in NODE_KEEP if k in rec})
        nid, t = str(nid), now()
        hb = {"ts": t, "config_version": rec.get("config_version", 0)}
        old_hb = self.hb.get(nid)
        if self.status.get(nid) != CONNECTED or old_hb is None or \
                old_hb["config_version"] != hb["config_version"]:
            self.changed()  # CONNECTING/FAILED -> CONNECTED, or a new config version
        # memory only, as upstream: the status, the node's timestamp (its
        # NodeInfoWrapper's, which the heartbeat checker compares)
        self.hb[nid], self.status[nid], self.node_ts[nid] = hb, CONNECTED, t

    def put_node(self, rec):
        """Write-through of a node record that changed."""
        nid = str(rec["node_id"])
        if self.nodes.get(nid) != rec:
            self.kv.put(f"nodes/{nid}", rec)
            self.nodes[nid] = rec
            self.changed()

    def learn_targets(self, nid, reported):
        """A storage heartbeat lists the node's targets with their local
        state (HeartbeatOperation.cc): mgmtd learns each target's node from
        it; a target of this node it no longer reports and no chain holds is
        forgotten (it was removed)."""
        known = self.targets
        for tid, t in reported.items():
            rec = {"node_id": nid, "disk_index": t["disk_index"], "chain_id": t["chain_id"]}
            if known.get(tid) != rec:
                self.kv.put(f"targets/{tid}", rec)
                known[tid] = rec
                self.changed()
        gone = [tid for tid, t in known.items() if t["node_id"] == nid and tid not in reported]
        if gone:
            in_chain = {t for c in self.chains.values() for t in c["targets"]}
            for tid in gone:
                if int(tid) not in in_chain:
                    self.kv.delete(f"targets/{tid}")
                    del known[tid]
                    self.changed()

    def note_orphans(self, nid, reported):
        """RoutingInfo::localUpdateTargets: a node's orphans are replaced at
        each of its heartbeats by the reported targets that are in no chain
        (not in RoutingInfo's targets), with what it reported of them. So a
        target created on a node is an orphan from that node's next
        heartbeat, and one update-chain took out of its chain is listed
        nowhere until then (UpdateChainOperation.cc clears its target
        info); the orphans are memory only."""
        in_chain = {t for c in self.chains.values() for t in c["targets"]}
        mine = {tid: v for tid, v in reported.items() if int(tid) not in in_chain}
        if self.orphans.get(nid) != mine:
            self.orphans[nid] = mine
            self.changed()

    def drop_orphans(self, tids):
        """RoutingInfo::eraseOrphanTarget: a target a chain takes in
        (insertNewChain, insertNewTarget) is no orphan any more."""
        for mine in self.orphans.values():
            for t in tids:
                mine.pop(str(t), None)

    def op_list_orphan_targets(self, req, peer):
        """ListOrphanTargetsOperation.cc: every node's orphans."""
        return ok(targets=[dict(v, target_id=int(tid), node_id=int(nid))
                           for nid, mine in self.orphans.items() for tid, v in mine.items()])

    def op_heartbeat(self, req, peer):
        """A storage node's report sets the local state and timestamp of
        each reported target that is in a chain (localUpdateTargets); the
        chains updater then recomputes their chains (at its next round)."""
        self.accept_heartbeat(req)
        new = req.get("targets")
        if req["type"] == "STORAGE" and new is not None:
            # memory only (upstream keeps local states in memory)
            old = self.tstate.get(str(req["node_id"]))
            self.tstate[str(req["node_id"])] = new
            t = now()
            for tid, v in new.items():
                if tid in self.tlocal:
                    if self.tlocal[tid]["local"] != v["local"]:
                        self.changed()
                    self.tlocal[tid] = {"local": v["local"], "ts": t}
            # every time: another node may have claimed these target ids meanwhile
            self.learn_targets(req["node_id"], new)
            self.note_orphans(str(req["node_id"]), new)
            if old is None or {k: v["local"] for k, v in old.items()} != \
                    {k: v["local"] for k, v in new.items()}:
                self.changed()
        cfg = self.configs.get(req["type"])
        return ok(config_version=cfg["version"] if cfg else 0)

    def send_heartbeat_once(self):
        """MgmtdHeartbeater::send, every send_heartbeat_interval: a standby
        heartbeats to the primary of the lease it trusts like any node (and
        may be refused the same way); the primary does not (it is in the
        routing info as itself, PRIMARY_MGMTD, from load_state). A newer
        MGMTD config named in the answer is applied (updateSelfConfig; the
        stand-in reads it from the KV)."""
        with self.lock:
            lease = self.trusted_lease()
            config_version = self.config_version
        if not self.send_heartbeat or self.rec is None:
            return
        if lease is None or lease["owner"] == self.node_id:
            return  # primary not found, or self is primary: skip
        primary = lease["owner"]
        node = self.kv.get(f"nodes/{primary}")
        if not node or not node.get("tcp_port"):
            log.warning("heartbeat failed: primary mgmtd %s has no address yet", primary)
            return
        req = dict(self.rec, op="heartbeat", cluster_id=self.cluster_id,
                   config_version=config_version)
        try:
            reply = rpc((node["host"], node["tcp_port"]), req, timeout=5.0)
        except RpcError as e:
            log.warning("heartbeat failed: cannot reach primary mgmtd %s: %s", primary, e)
            return
        if not reply.get("ok"):
            log.warning("heartbeat failed: %s(%s) %s", reply.get("name"), reply.get("code"),
                        reply.get("msg"))
            return
        if reply.get("config_version", 0) > config_version:
            cfg = self.kv.get("config/MGMTD")
            with self.lock:
                if cfg and cfg["version"] > self.config_version:
                    self.hot_update(cfg)

    def op_register_node(self, req, peer):
        """RegisterNodeOperation.cc: admin only (when authenticating), node id
        not 0 and not known yet; the node shows HEARTBEAT_CONNECTING until it
        heartbeats."""
        self.validate_admin(req)
        nid, ntype = req["node_id"], req["type"]
        if nid == 0:
            raise mgmtd_error("RegisterFail", 5004, "Node id is 0")
        if ntype not in NODE_TYPES:
            raise Fail(f"invalid type: {ntype}", 3, "InvalidArg")
        if nid == self.node_id or str(nid) in self.nodes:
            raise mgmtd_error("RegisterFail", 5004, f"Node id {nid} duplicated")
        self.put_node({"node_id": nid, "type": ntype, "hostname": "", "pid": 0, "host": "",
                       "tcp_port": 0, "release": ""})
        # memory only: HEARTBEAT_CONNECTING, stamped now (a new NodeInfoWrapper)
        self.status[str(nid)], self.node_ts[str(nid)] = CONNECTING, now()
        return ok()

    # ---------------------------------------------------------- configs
    def op_get_config(self, req, peer):
        """Every type has a version 0 with no content until one is stored
        (onNewLease in MgmtdLeaseExtender.cc); a process loading it starts
        with its built-in defaults."""
        cfg = self.configs.get(CONFIG_TYPES.get(req["type"], req["type"]))
        return ok(**(cfg or {"version": 0, "content": "", "desc": ""}))

    def op_set_config(self, req, peer):
        """SetConfigOperation.cc: the content is stored as the next version
        unchecked; an MGMTD config is applied at once."""
        self.validate_admin(req)
        ctype = CONFIG_TYPES.get(req["type"])
        if ctype is None:
            raise Fail(f"invalid type: {req['type']}", 3, "InvalidArg")
        cur = self.configs.get(ctype)
        cfg = {"version": (cur["version"] if cur else 0) + 1, "content": req["content"],
               "desc": req.get("desc", "")}
        self.kv.put(f"config/{ctype}", cfg)
        self.configs[ctype] = cfg
        self.changed()  # every node's latest_config
        if ctype == "MGMTD":
            self.hot_update(cfg)
        return ok(version=cfg["version"])

    # ---------------------------------------------------------- users
    def op_check_token(self, req, peer):
        uid = tokens.decode_uid(req.get("token", ""))
        user = self.kv.get(f"users/{uid}") if uid is not None else None
        if user is None or user["token"] != req.get("token"):
            raise Fail("token validation failed: unknown or malformed token", 25,
                       "AuthenticationFail")
        return ok(uid=uid, admin=user["admin"])

    # ---------------------------------------------------------- routing
    def routing(self):
        """{node id: node with its status} as of now: the status the
        heartbeats and the heartbeat checker set (the primary itself:
        PRIMARY_MGMTD); live is selectActiveNode (NodeInfo.h): CONNECTED or
        PRIMARY_MGMTD."""
        primary = self.is_primary()
        out = {}
        for rec in self.nodes.values():
            nid = str(rec["node_id"])
            me = primary and rec["node_id"] == self.node_id
            hb = None if me else self.hb.get(nid)
            status = "PRIMARY_MGMTD" if me else self.status.get(nid, CONNECTING)
            cfg = self.configs.get(rec["type"])
            out[nid] = dict(rec, status=status, live=status in (CONNECTED, "PRIMARY_MGMTD"),
                            last_hb=hb["ts"] if hb else None,
                            local_targets=self.tstate.get(nid) or {},
                            config_version=self.config_version if me else
                            hb["config_version"] if hb else 0,
                            latest_config=cfg["version"] if cfg else 0)
        return out

    def local_state(self, tid):
        """A chain target's local state in mgmtd's memory: what its node
        last reported, OFFLINE from the load or the chain's creation until
        then, and OFFLINE once the heartbeat checker found it stale. A
        target in no chain: what its node last reported (an orphan)."""
        tid = str(tid)
        if tid in self.tlocal:
            return self.tlocal[tid]["local"]
        t = self.targets.get(tid)
        if t is None:
            return OFFLINE
        return (self.tstate.get(str(t["node_id"])) or {}).get(tid, {}).get("local", OFFLINE)

    def target_states(self):
        """{target id: (public, local)}; a target in no chain is public INVALID."""
        states = {}
        for c in self.chains.values():
            pub = c.get("public", {})
            for t in c["targets"]:
                states[str(t)] = (pub.get(str(t), SERVING), self.local_state(t))
        for tid in self.targets:
            if tid not in states:
                states[tid] = ("INVALID", self.local_state(tid))
        return states

    def update_chains(self):
        """generateNewChain for every chain but the newborn ones from its
        targets' local states (MgmtdData::appendChangedChains): a chain
        whose list changed is stored with the next chain version, and its
        targets are stamped now (RoutingInfo::applyChainTargetChanges)."""
        t = now()
        for cid, c in list(self.chains.items()):
            if cid in self.newborn:
                continue
            pub = c.get("public", {})
            old = [(tid, pub.get(str(tid), SERVING), self.local_state(tid))
                   for tid in c["targets"]]
            new = generate_new_chain(old)
            if new != old:
                self.put_chain(cid, dict(c, targets=[tid for tid, _, _ in new],
                                         version=c["version"] + 1,
                                         public={str(tid): ps for tid, ps, _ in new}))
                for tid, _, _ in new:
                    if str(tid) in self.tlocal:
                        self.tlocal[str(tid)]["ts"] = t

    def put_chain(self, cid, rec):
        """Write-through; a stored record is replaced, never changed in place
        (a routing answer built earlier may still be on its way)."""
        self.kv.put(f"chains/{cid}", rec)
        self.chains[str(cid)] = rec
        self.changed()

    def check_heartbeats(self):
        """MgmtdHeartbeatChecker.cc, every check_status_interval: a node
        whose status is not DISABLED, HEARTBEAT_FAILED or PRIMARY_MGMTD and
        whose timestamp (its last heartbeat, registration or the load) is
        more than heartbeat_fail_interval old becomes HEARTBEAT_FAILED; a
        chain target not locally OFFLINE whose timestamp (its node's last
        report of it, its chain's last change, the load, the end of its
        chain's newborn time) is that old becomes OFFLINE."""
        t, fail = now(), self.timing["heartbeat_fail_interval"]
        for nid in self.nodes:
            if nid == str(self.node_id):
                continue  # PRIMARY_MGMTD
            if self.status.get(nid, CONNECTING) not in (FAILED, "DISABLED") and \
                    self.node_ts.get(nid, t) + fail < t:
                log.info("node %s: %s -> HEARTBEAT_FAILED", nid, self.status.get(nid, CONNECTING))
                self.status[nid] = FAILED
                self.changed()
        for tid, ti in self.tlocal.items():
            if ti["local"] != OFFLINE and ti["ts"] + fail < t:
                self.tlocal[tid] = {"local": OFFLINE, "ts": t}
                self.changed()

    def check_new_born_chains(self):
        """MgmtdNewBornChainsChecker.cc, every check_status_interval: a
        chain created (upload-chains) or loaded new_chain_bootstrap_interval
        ago or more is no longer newborn; its targets are stamped now."""
        t, grace = now(), self.timing["new_chain_bootstrap_interval"]
        for cid, born in list(self.newborn.items()):
            if born + grace <= t:
                del self.newborn[cid]
                for tid in self.chains[cid]["targets"] if cid in self.chains else ():
                    if str(tid) in self.tlocal:
                        self.tlocal[str(tid)]["ts"] = t

    def as_primary(self, task):
        """doAsPrimary: a background task runs only on the primary."""
        with self.lock:
            if not self.is_primary():
                return
            task()
            self.commit()

    def tick(self):
        """The primary's checks once, now (the tests drive them so;
        services.run_mgmtd runs each at its own interval): the heartbeat
        checker, the newborn chains checker, the chains updater."""
        self.as_primary(self.check_heartbeats)
        self.as_primary(self.check_new_born_chains)
        self.as_primary(self.update_chains)

    def build_routing(self):
        nodes = self.routing()
        targets = {}
        for tid, t in self.targets.items():
            node = nodes.get(str(t["node_id"]), {})
            targets[tid] = dict(t, used=node.get("local_targets", {}).get(tid, {}).get("used", 0))
        return ok(version=self.version, nodes=nodes, targets=targets, chains=dict(self.chains),
                  tables=dict(self.tables), states=self.target_states())

    def op_routing(self, req, peer):
        """GetRoutingInfoOperation.cc: the client's version current: no info
        (routing: null); another one: the answer built once for this version;
        none or 0 (a forced refresh): one built now."""
        have = req.get("version") or 0
        if req.get("chains") is not None:
            # Only these chains: what admin_cli create-target reads of its
            # forced refresh (CreateTarget.cc). Real admin_cli fetches all
            # of it each time, which real mgmtd serialises from memory in a
            # fraction of a millisecond; the stand-in's JSON of a 50-node
            # lab's routing info (2450 targets, ~470 KiB) costs ~10 ms a
            # time on each side, and create-target would look slow.
            return ok(version=self.version, chains={str(c): self.chains[str(c)]
                                                    for c in req["chains"]
                                                    if str(c) in self.chains})
        if have == self.version:
            return ok(version=self.version, routing=None)
        if have == 0:
            return self.build_routing()
        if self.cache is None:
            self.cache = self.build_routing()
        return self.cache

    # ---------------------------------------------------------- targets
    def storage_node(self, nid):
        """The storage client's routing (StorageClientImpl.cc): a node id that
        is unknown or not STORAGE is StorageClient::RoutingError (no message)."""
        with self.lock:
            node = self.nodes.get(str(nid))
        if node is None or node["type"] != "STORAGE" or not node.get("tcp_port"):
            raise Fail("", 7004, "StorageClient::RoutingError")
        return node

    def op_create_target(self, req, peer):
        """admin_cli create-target talks to the storage node itself through the
        storage client (CreateTarget.cc, StorageClientImpl::createTarget);
        everything but the node is the storage node's to check. mgmtd learns
        of the target from the node's next heartbeat only (real storage sends
        one within about a second of a change: Components::
        updateHeartbeatPayload, CheckWorker.cc), so until then no listing
        shows it; creating it again succeeds (allowExistingTarget, true by
        default: src/fbs/storage/Common.h, StorageTargets::create)."""
        self.forward_to_storage(self.storage_node(req["node_id"]), "create_target", req)
        return ok()

    def op_offline_target(self, req, peer):
        """offline-target / remove-target go to the storage node
        (OfflineTarget.cc, RemoveTarget.cc; StorageOperator.cc checks)."""
        self.forward_to_storage(self.storage_node(req["node_id"]), "offline_target", req)
        return ok()

    def op_remove_target(self, req, peer):
        self.forward_to_storage(self.storage_node(req["node_id"]), "remove_target", req)
        return ok()

    def forward_to_storage(self, node, op, req):
        """The request admin_cli's storage client sends the node
        (StorageClientImpl::createTarget, offlineTarget, removeTarget): one
        try, answered within the admin_cli's storage_client.retry.
        max_wait_time (its requestTimeout; `storage_timeout` in the request,
        30 s by default), else RPC::Timeout(2005) without a message
        (src/common/net/Waiter.h), as for a storage node that is still
        starting (its listener accepts only after waitRoutingInfo)."""
        fwd = {k: req[k] for k in STORAGE_OPS[op] if k in req}
        fwd["op"] = op
        try:
            reply = rpc((node["host"], node["tcp_port"]), fwd,
                        timeout=req.get("storage_timeout") or 30.0)
        except RpcTimeout:
            raise Fail("", 2005, "RPC::Timeout")
        except RpcError as e:
            raise Fail(f"cannot reach storage node {node['node_id']}: {e}", 2007,
                       "RPC::SendFailed")
        if not reply.get("ok"):
            raise Fail(reply.get("msg"), reply.get("code", 1), reply.get("name", "Storage::Error"))

    # ---------------------------------------------------------- update-chain
    def op_update_chain(self, req, peer):
        """UpdateChainOperation.cc, its checks in its order and words. add: the
        target must not be in the routing info's targets (a target of any
        chain; an orphan is fine, as is a target never created, and its node
        is not checked); it is appended as OFFLINE. remove: the target must be
        in the chain and public OFFLINE; it leaves the chain and the routing
        info. Either way the chain version is bumped and the preferred order
        follows."""
        self.validate_admin(req)
        cid, tid, mode = req["chain_id"], req["target_id"], req["mode"]
        if cid == 0:
            raise Fail("Empty chain id", 3, "StatusCode::InvalidArg")
        if tid == 0:
            raise Fail("Empty target id", 3, "StatusCode::InvalidArg")
        if mode not in ("ADD", "REMOVE"):
            raise Fail(f"Unsupported mode: {mode}", 3, "StatusCode::InvalidArg")
        chains = {int(k): v for k, v in self.chains.items()}
        if cid not in chains:
            raise mgmtd_error("ChainNotFound", 5012, f"chain: {cid}")
        ch = dict(chains[cid])
        pub = dict(ch.get("public") or {str(t): SERVING for t in ch["targets"]})
        pref = list(ch.get("preferred", []))
        if mode == "ADD":
            if any(tid in c["targets"] for c in chains.values()):
                raise mgmtd_error("TargetExisted", 5018, f"target: {tid}")
            tids = ch["targets"] + [tid]
            pub[str(tid)] = OFFLINE
            # insertNewTarget: locally OFFLINE until its node reports it, stamped now
            self.tlocal[str(tid)] = {"local": OFFLINE, "ts": now()}
            self.drop_orphans([tid])
            if len(pref) == len(tids) - 1:
                pref.append(tid)
        else:
            if tid not in ch["targets"]:
                raise mgmtd_error("TargetNotFound", 5017,
                                  f"target {tid} is not found in chain {cid}")
            if pub.get(str(tid)) != OFFLINE:
                raise Fail(f"Do not allow to remove target {tid} from chain {cid}: state is "
                           f"{pub.get(str(tid))}", 3, "StatusCode::InvalidArg")
            tids = [t for t in ch["targets"] if t != tid]
            pub.pop(str(tid))
            self.tlocal.pop(str(tid), None)  # RoutingInfo::removeTarget
            pref = [t for t in pref if t != tid]
            # clearTargetInfo: real mgmtd forgets the target until its node's
            # next heartbeat reports it as an orphan; the stand-in keeps its
            # node record (learn_targets drops it once the node stops
            # reporting it)
        ch.update(targets=tids, version=ch["version"] + 1, public=pub, preferred=pref)
        self.put_chain(cid, ch)
        return ok(chain_id=cid, version=ch["version"],
                  targets=[[t, pub[str(t)]] for t in tids], preferred=pref)

    # ---------------------------------------------------------- chains
    def op_set_chains(self, req, peer):
        """SetChainsOperation.cc (checkChains): chains not empty, chain id not 0,
        a chain has targets; an existing chain must be unchanged (same target
        set); a new chain's targets must not be in any chain yet nor twice in
        this upload. Whether targets exist, where they are and what chain they
        were created for is not checked."""
        self.validate_admin(req)
        rows = req["chains"]
        if not rows:
            raise bad_chain_table("Empty chains")
        chains = {int(k): v for k, v in self.chains.items()}
        known = {t for v in chains.values() for t in v["targets"]}
        new, new_targets = [], set()
        for cid, tids in rows:
            if cid == 0:
                raise bad_chain_table("Empty chain id")
            if not tids:
                raise bad_chain_table(f"Chain contains no targets. chain id: {cid}.")
            if cid in chains:
                self.ensure_chain_not_changed(cid, chains[cid]["targets"], tids)
                continue
            for t in tids:
                if t in known or t in new_targets:
                    raise bad_chain_table(f"TargetId({t}) duplicated. chain id: {cid}")
                new_targets.add(t)
            new.append((cid, tids))
        t = now()
        for cid, tids in new:
            # chainSettingToInfo: every target of a new chain starts SERVING;
            # insertNewChain: locally OFFLINE (until its node reports it),
            # stamped now, and the chain newborn now
            self.put_chain(cid, {"targets": tids, "version": 1,
                                 "public": {str(tid): SERVING for tid in tids},
                                 "preferred": []})
            self.tlocal.update({str(tid): {"local": OFFLINE, "ts": t} for tid in tids})
            self.newborn[str(cid)] = t
            self.drop_orphans(tids)
        return ok(count=len(rows))

    @staticmethod
    def ensure_chain_not_changed(cid, old, new):
        if len(old) != len(new):
            raise bad_chain_table(f"Target count of ChainId({cid}) mismatch. old: {len(old)}. "
                                  f"new: {len(new)}")
        if sorted(old) != sorted(new):
            raise bad_chain_table(
                f"Target mismatch of ChainId({cid}). old: [{','.join(f'TargetId({t})' for t in sorted(old))}]. "
                f"new: [{','.join(f'TargetId({t})' for t in sorted(new))}]")

    def op_set_chain_table(self, req, peer):
        """SetChainTableOperation.cc: chains not empty, each one known, all with
        the first one's target count. Nothing else (a chain listed twice, too
        few chains for a layout's stripe: meta refuses that when it creates a
        file). A new version only when the chain list changes; a same list with
        another description rewrites version 1 (as upstream does)."""
        self.validate_admin(req)
        tid, cids, desc = req["table_id"], req["chains"], req.get("desc", "")
        if not cids:
            raise bad_chain_table("Empty chains")
        expected = 0
        for c in cids:
            ch = self.chains.get(str(c))
            if ch is None:
                raise mgmtd_error("ChainNotFound", 5012, f"ChainId({c}) not found")
            if expected == 0:
                expected = len(ch["targets"])
            elif len(ch["targets"]) != expected:
                raise bad_chain_table(
                    f"Target count mismatch with first chain. chain id: {c}. targets: "
                    f"{len(ch['targets'])}. targets of first chain: {expected}.")
        versions = self.tables.get(str(tid)) or []
        new = {"version": 1, "chains": cids, "desc": desc}
        if versions:
            current = max(versions, key=lambda v: v["version"])
            if cids != current["chains"]:
                new["version"] = current["version"] + 1
            new["desc"] = desc or current["desc"]
            if new == current:
                return ok(version=current["version"])
        versions = [v for v in versions if v["version"] != new["version"]] + [new]
        versions = sorted(versions, key=lambda v: v["version"])
        self.kv.put(f"tables/{tid}", versions)
        self.tables[str(tid)] = versions
        self.changed()
        return ok(version=new["version"])
