"""The mgmtd stand-in's request handlers.

State, as real mgmtd keeps it (deepseek-ai/3FS ee9a5ce src/mgmtd/service/MgmtdState.h
`data_`, MgmtdData.h / RoutingInfo.h): the mgmtd holding the lease (the
primary) keeps nodes, targets, chains, chain tables and configs in memory.
It loads them from the fdb stand-in (KV) each time it takes the lease
(onNewLease in src/mgmtd/background/MgmtdLeaseExtender.cc) and writes every
change through to the KV before answering, so the next primary loads it.
Heartbeat times and the targets' local states are memory only (upstream
persists neither): a new primary starts with none, its nodes are
HEARTBEAT_CONNECTING and their targets OFFLINE until they beat again, and
every node gets a fresh heartbeat interval and every chain the newborn grace
from the takeover (self.started). Users are read from the KV when a request
needs one (upstream's UserStoreEx reads FDB too, through a cache: exist_ttl
5 min, inexist_ttl 10 s, src/core/user/UserCache.h; the stand-in has no
cache, so a new user counts at once).

A mgmtd that does not hold the lease answers every request with
Mgmtd::NotPrimary(5000), the message naming the primary's node id when it
knows it, as upstream does (doAsPrimary / ensureSelfIsPrimary,
src/mgmtd/service/helpers.{h,cc}); upstream's client then goes to that
primary or probes the other addresses (src/client/mgmtd/MgmtdClient.cc
trySwitchProbeTarget); the stand-ins' client (kv.Mgmtd) tries the next
address of its list, which reaches the primary as every mgmtd is listed. A
standby heartbeats to the primary like any node (MgmtdHeartbeater.cc; the
primary's address from its nodes/ record). When the primary dies, the next
mgmtd takes the lease once it has expired (its TTL, 5 s, services.py
run_mgmtd), then loads the state: for those seconds every mgmtd answers
NotPrimary, heartbeats fail and are retried, and clients see
MgmtdClient::RoutingInfoNotReady(6004) (kv.Mgmtd) and retry.

The routing info has a version (RoutingInfo::routingInfoVersion), bumped
once per request or tick that changed what it shows (nodes and their
liveness and config versions, targets, their local states, chains, chain
tables, config versions) and stored in the KV (routing_version), so a new
primary starts above any version a client saw. A request naming the current
version gets `routing: null` (GetRoutingInfoOperation.cc,
MgmtdData::getRoutingInfo); an older one gets the answer built once for this
version; none (or 0, a forced refresh) gets one built now, with the latest
heartbeat times and used sizes (upstream does not bump the version for
those either). Liveness depends on the time: tick() (every second) bumps the
version when a node's liveness changes, so a cached status is at most a
second old.

Upstream (deepseek-ai/3FS ee9a5ce), whose checks and words these follow:
src/mgmtd/ops/{Heartbeat,RegisterNode,SetConfig,SetChains,SetChainTable}Operation.cc,
src/mgmtd/service/MgmtdState.cc (validateClusterId, validateAdmin),
src/mgmtd/service/MgmtdConfig.h (hot-updated items), src/client/storage/StorageClientImpl.cc;
for chain migration src/mgmtd/ops/UpdateChainOperation.cc, src/mgmtd/service/updateChain.cc
(chainstate.py), src/mgmtd/background/MgmtdHeartbeatChecker.cc.
"""
import threading

from . import logconf
from .common import Fail, RpcError, dig, load_toml_text, log, now, ok, rpc
from .schema import check_main
from . import token as tokens
from .chainstate import OFFLINE, SERVING, generate_new_chain

HB_FRESH = 5.0  # seconds: a node is HEARTBEAT_CONNECTED if it beat more recently
# new_chain_bootstrap_interval (MgmtdConfig.h, 2 min; shortened like the
# heartbeat interval): a chain created by upload-chains, and every chain when
# a mgmtd starts, keeps its states that long (RoutingInfo.cc newBornChains,
# MgmtdData::appendChangedChains, MgmtdNewBornChainsChecker.cc).
NEW_CHAIN_GRACE = 5.0
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
    def __init__(self, node_id, cluster_id, kv, data, version):
        self.node_id, self.cluster_id, self.kv = node_id, cluster_id, kv
        self.lock = threading.Lock()
        self.started = now()
        self.new_chain_grace = NEW_CHAIN_GRACE
        self.apply_config(data, version)
        self.primary_id = None  # the lease holder as last seen
        self.primary_until = 0.0  # this mgmtd is primary until then (0: standby)
        self.drop_state()

    # ---------------------------------------------------------- lease, state
    def drop_state(self):
        """A standby holds no cluster state."""
        self.loaded = False
        self.nodes, self.targets, self.chains, self.tables, self.configs = {}, {}, {}, {}, {}
        self.hb, self.tstate, self.seen, self.since, self.orphans = {}, {}, {}, {}, {}
        self.version, self.dirty, self.cache = 0, False, None

    def load_state(self):
        """onNewLease: everything persisted, from the KV; no heartbeats, no
        local states; the next routing info version."""
        kv = self.kv
        self.nodes = {k[6:]: v for k, v in kv.list("nodes/").items()}
        self.targets = {k[8:]: v for k, v in kv.list("targets/").items()}
        self.chains = {k[7:]: v for k, v in kv.list("chains/").items()}
        self.tables = {k[7:]: v for k, v in kv.list("tables/").items()}
        self.configs = {k[7:]: v for k, v in kv.list("config/").items()}
        self.hb, self.tstate, self.seen, self.since, self.orphans = {}, {}, {}, {}, {}
        self.version = (kv.get("routing_version") or 0) + 1
        kv.put("routing_version", self.version)
        self.dirty, self.cache = False, None
        self.started = now()
        self.loaded = True
        log.info("mgmtd %s is primary: loaded %d nodes, %d targets, %d chains, %d chain tables",
                 self.node_id, len(self.nodes), len(self.targets), len(self.chains),
                 len(self.tables))
        cfg = self.configs.get("MGMTD")
        if cfg and cfg["version"] > self.config_version:
            self.hot_update(cfg)  # updateSelfConfig in onNewLease

    def on_lease(self, owner, until):
        """The lease holder after this mgmtd's attempt to take or extend it,
        valid until `until` when it is this mgmtd. A new lease (none held,
        or the last one lapsed meanwhile) loads the state again."""
        with self.lock:
            self.primary_id = owner
            if owner != self.node_id:
                if self.loaded:
                    log.info("mgmtd %s lost the lease to %s", self.node_id, owner)
                self.primary_until = 0.0
                self.drop_state()
                return
            if not self.loaded or now() >= self.primary_until:
                self.load_state()
            self.primary_until = until

    def is_primary(self):
        return self.loaded and now() < self.primary_until

    def ensure_primary(self):
        """ensureSelfIsPrimary (helpers.cc): NotPrimary, naming the primary
        when this mgmtd knows it."""
        if not self.is_primary():
            other = self.primary_id if self.primary_id not in (None, self.node_id) else None
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
    def apply_config(self, data, version):
        """The hot-updated items the stand-in uses (MgmtdConfig.h); absent keys
        take the code defaults (both false)."""
        self.config_version = version
        self.allow_unregistered = bool(dig(data, "server.service.allow_heartbeat_from_unregistered",
                                           False))
        self.authenticate = bool(dig(data, "server.service.authenticate", False))

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
        self.apply_config(data, cfg["version"])
        logconf.hot_update(dig(data, "common.log"))  # in a mgmtd_main process
        log.info("applied MGMTD config version %d", cfg["version"])

    def refresh_config(self):
        """A standby's: a version the primary stored (the primary's own
        config is in memory)."""
        if self.is_primary():
            return
        cfg = self.kv.get("config/MGMTD")
        if cfg and cfg["version"] > self.config_version:
            self.hot_update(cfg)

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
        if old is None and not self.allow_unregistered:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} not registered")
        if old is not None and old["type"] != rec["type"]:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} type mismatch: registered "
                                                     f"{old['type']} got {rec['type']}")
        if old is None:
            log.info("auto register %s node %s", rec["type"], nid)
        self.put_node({k: rec[k] for k in NODE_KEEP if k in rec})
        hb = {"ts": now(), "config_version": rec.get("config_version", 0)}
        old_hb = self.hb.get(str(nid))
        if old_hb is None or old_hb["config_version"] != hb["config_version"]:
            self.changed()  # HEARTBEAT_CONNECTING -> CONNECTED, or a new config version
        self.hb[str(nid)] = hb  # memory only, as upstream

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
        """A storage node's report that changed (targets, their local states)
        updates the chains at once; otherwise tick() does, every second."""
        self.accept_heartbeat(req)
        new = req.get("targets")
        if req["type"] == "STORAGE" and new is not None:
            # memory only (upstream keeps local states in memory)
            old = self.tstate.get(str(req["node_id"]))
            self.tstate[str(req["node_id"])] = new

            def states(ts):
                return {t: v["local"] for t, v in (ts or {}).items()}
            # every time: another node may have claimed these target ids meanwhile
            self.learn_targets(req["node_id"], new)
            self.note_orphans(str(req["node_id"]), new)
            if old is None or states(old) != states(new):
                self.changed()
                self.update_chains()
        cfg = self.configs.get(req["type"])
        return ok(config_version=cfg["version"] if cfg else 0)

    def self_heartbeat(self, rec):
        """The primary mgmtd is in the routing info as itself; another mgmtd
        heartbeats to the primary like any node (and may be refused the same
        way; MgmtdHeartbeater.cc)."""
        with self.lock:
            if self.is_primary():
                self.put_node({k: rec[k] for k in NODE_KEEP if k in rec})
                old = self.hb.get(str(self.node_id))
                if old is None or old["config_version"] != self.config_version:
                    self.changed()
                self.hb[str(self.node_id)] = {"ts": now(), "config_version": self.config_version}
                self.commit()
                return
            primary = self.primary_id
        if primary is None or primary == self.node_id:
            return  # no primary (the lease lapsed): nothing to heartbeat to
        node = self.kv.get(f"nodes/{primary}")
        if not node or not node.get("tcp_port"):
            log.warning("heartbeat failed: primary mgmtd %s has no address yet", primary)
            return
        req = dict(rec, op="heartbeat", cluster_id=self.cluster_id,
                   config_version=self.config_version)
        try:
            reply = rpc((node["host"], node["tcp_port"]), req, timeout=5.0)
        except RpcError as e:
            log.warning("heartbeat failed: cannot reach primary mgmtd %s: %s", primary, e)
            return
        if not reply.get("ok"):
            log.warning("heartbeat failed: %s(%s) %s", reply.get("name"), reply.get("code"),
                        reply.get("msg"))

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
        self.since[str(nid)] = now()  # memory only (NodeInfoWrapper's timestamp)
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
        """{node id: node with its status} as of now."""
        t = now()
        primary = self.node_id if self.is_primary() else None
        out = {}
        for rec in self.nodes.values():
            nid = str(rec["node_id"])
            hb = self.hb.get(nid)
            live = hb is not None and t - hb["ts"] < HB_FRESH
            if rec["type"] == "MGMTD" and live and rec["node_id"] == primary:
                status = "PRIMARY_MGMTD"
            elif hb is None:  # registered, or loaded at the takeover, and no heartbeat yet
                status = "HEARTBEAT_CONNECTING" if self.waiting(nid, t) else "HEARTBEAT_FAILED"
            else:
                status = "HEARTBEAT_CONNECTED" if live else "HEARTBEAT_FAILED"
            cfg = self.configs.get(rec["type"])
            out[nid] = dict(rec, status=status, live=live,
                            last_hb=hb["ts"] if hb else None,
                            local_targets=self.tstate.get(nid) or {},
                            config_version=hb["config_version"] if hb else 0,
                            latest_config=cfg["version"] if cfg else 0)
        return out

    def waiting(self, nid, t):
        """A node without a heartbeat is HEARTBEAT_CONNECTING for the
        heartbeat fail interval from when this primary learnt of it
        (registered, or loaded at its takeover: the node entry's timestamp,
        RoutingInfo::reset), then HEARTBEAT_FAILED (MgmtdHeartbeatChecker.cc
        checks every status but DISABLED, HEARTBEAT_FAILED and
        PRIMARY_MGMTD)."""
        return t - self.since.get(nid, self.started) < HB_FRESH

    def node_fresh(self, nid, t=None):
        """The node's targets keep their reported local states: it beat
        within HB_FRESH, counted from this mgmtd's takeover at the earliest
        (a new primary gives every node a fresh interval)."""
        hb = self.hb.get(nid)
        return nid in self.nodes and hb is not None and \
            (t or now()) - max(hb["ts"], self.started) < HB_FRESH

    def local_state(self, tid):
        """A target's local state as its node last reported it; OFFLINE when
        the node does not report it or stopped heartbeating
        (MgmtdHeartbeatChecker.cc)."""
        t = self.targets.get(str(tid))
        if t is None or not self.node_fresh(str(t["node_id"])):
            return OFFLINE
        return (self.tstate.get(str(t["node_id"])) or {}).get(str(tid), {}).get("local", OFFLINE)

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
        """generateNewChain for every chain from its targets' local states
        (MgmtdData::appendChangedChains): a chain whose list changed is stored
        with the next chain version."""
        for cid, c in list(self.chains.items()):
            if now() - max(c.get("born", 0), self.started) < self.new_chain_grace:
                continue
            pub = c.get("public", {})
            old = [(t, pub.get(str(t), SERVING), self.local_state(t)) for t in c["targets"]]
            new = generate_new_chain(old)
            if new != old:
                self.put_chain(cid, dict(c, targets=[t for t, _, _ in new],
                                         version=c["version"] + 1,
                                         public={str(t): ps for t, ps, _ in new}))

    def put_chain(self, cid, rec):
        """Write-through; a stored record is replaced, never changed in place
        (a routing answer built earlier may still be on its way)."""
        self.kv.put(f"chains/{cid}", rec)
        self.chains[str(cid)] = rec
        self.changed()

    def check_liveness(self):
        """A node whose liveness changed since the last look changes the
        routing info (its status, its targets' local states)."""
        t = now()
        for nid, rec in self.nodes.items():
            hb = self.hb.get(nid)
            seen = (hb is not None and t - hb["ts"] < HB_FRESH, self.node_fresh(nid, t),
                    hb is None and self.waiting(nid, t))
            if self.seen.get(nid) != seen:
                self.seen[nid] = seen
                self.changed()

    def tick(self):
        """mgmtd's background work, every second while primary: liveness
        (MgmtdHeartbeatChecker.cc) and the chain updater (a node whose
        heartbeats stopped takes its targets' chains with it)."""
        with self.lock:
            if not self.is_primary():
                return
            self.check_liveness()
            self.update_chains()
            self.commit()

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
        self.check_liveness()
        self.commit()
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
        fwd = {k: req[k] for k in STORAGE_OPS[op] if k in req}
        fwd["op"] = op
        try:
            reply = rpc((node["host"], node["tcp_port"]), fwd, timeout=10.0)
        except RpcError as e:
            raise Fail(f"cannot reach storage node {node['node_id']}: {e}", 2000,
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
        for cid, tids in new:
            # chainSettingToInfo: every target of a new chain starts SERVING
            self.put_chain(cid, {"targets": tids, "version": 1,
                                 "public": {str(t): SERVING for t in tids},
                                 "preferred": [], "born": now()})
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
