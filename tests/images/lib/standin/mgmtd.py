"""The mgmtd stand-in's request handlers. All cluster state lives in the fdb
stand-in (KV), so any mgmtd instance can answer and state survives restarts.

Upstream (deepseek-ai/3FS ee9a5ce), whose checks and words these follow:
src/mgmtd/ops/{Heartbeat,RegisterNode,SetConfig,SetChains,SetChainTable}Operation.cc,
src/mgmtd/service/MgmtdState.cc (validateClusterId, validateAdmin),
src/mgmtd/service/MgmtdConfig.h (hot-updated items), src/client/storage/StorageClientImpl.cc;
for chain migration src/mgmtd/ops/UpdateChainOperation.cc, src/mgmtd/service/updateChain.cc
(chainstate.py), src/mgmtd/background/MgmtdHeartbeatChecker.cc.
"""
import threading

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
        log.info("applied MGMTD config version %d", cfg["version"])

    def refresh_config(self):
        """A version another mgmtd stored (all of them share the KV)."""
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
            return handler(req, peer)
        with self.lock:
            return handler(req, peer)

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
        old = self.kv.get(f"nodes/{nid}")
        if old is None and not self.allow_unregistered:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} not registered")
        if old is not None and old["type"] != rec["type"]:
            raise mgmtd_error("HeartbeatFail", 5002, f"{nid} type mismatch: registered "
                                                     f"{old['type']} got {rec['type']}")
        if old is None:
            log.info("auto register %s node %s", rec["type"], nid)
        keep = ("node_id", "type", "hostname", "pid", "host", "tcp_port", "release")
        self.kv.put(f"nodes/{nid}", {k: rec[k] for k in keep if k in rec})
        self.kv.put(f"hb/{nid}", {"ts": now(), "config_version": rec.get("config_version", 0)})

    def learn_targets(self, nid, reported):
        """A storage heartbeat lists the node's targets with their local
        state (HeartbeatOperation.cc): mgmtd learns each target's node from
        it; a target of this node it no longer reports and no chain holds is
        forgotten (it was removed)."""
        chains = self.kv.list("chains/").values()
        in_chain = {t for c in chains for t in c["targets"]}
        known = {k[8:]: v for k, v in self.kv.list("targets/").items()}
        for tid, t in reported.items():
            rec = {"node_id": nid, "disk_index": t["disk_index"], "chain_id": t["chain_id"]}
            if known.get(tid) != rec:
                self.kv.put(f"targets/{tid}", rec)
        for tid, t in known.items():
            if t["node_id"] == nid and tid not in reported and int(tid) not in in_chain:
                self.kv.delete(f"targets/{tid}")

    def op_heartbeat(self, req, peer):
        """A storage node's report that changed (targets, their local states)
        updates the chains at once; otherwise tick() does, every second."""
        self.accept_heartbeat(req)
        new = req.get("targets")
        if req["type"] == "STORAGE" and new is not None:
            # kept apart from hb/ and stored only when it changed
            old = self.kv.get(f"tstate/{req['node_id']}")
            if old != new:
                self.kv.put(f"tstate/{req['node_id']}", new)

            def shape(ts):
                return {t: (v["disk_index"], v["chain_id"]) for t, v in (ts or {}).items()}

            def states(ts):
                return {t: v["local"] for t, v in (ts or {}).items()}
            if old is None or shape(old) != shape(new):
                self.learn_targets(req["node_id"], new)
            if old is None or states(old) != states(new):
                self.update_chains()
        cfg = self.kv.get(f"config/{req['type']}")
        return ok(config_version=cfg["version"] if cfg else 0)

    def self_heartbeat(self, rec, primary):
        """The primary mgmtd is in the routing info as itself; another mgmtd
        heartbeats to it like any node (and may be refused the same way)."""
        rec = dict(rec, config_version=self.config_version)
        if primary:
            self.kv.put(f"nodes/{self.node_id}", rec)
            self.kv.put(f"hb/{self.node_id}", {"ts": now(), "config_version": self.config_version})
            return
        try:
            self.accept_heartbeat(rec)
        except Fail as e:
            log.warning("heartbeat failed: %s(%s) %s", e.name, e.code, e.msg)

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
        if nid == self.node_id or not self.kv.put_new(f"nodes/{nid}", {
                "node_id": nid, "type": ntype, "hostname": "", "pid": 0, "host": "",
                "tcp_port": 0, "release": ""}):
            raise mgmtd_error("RegisterFail", 5004, f"Node id {nid} duplicated")
        return ok()

    # ---------------------------------------------------------- configs
    def op_get_config(self, req, peer):
        """Every type has a version 0 with no content until one is stored
        (onNewLease in MgmtdLeaseExtender.cc); a process loading it starts
        with its built-in defaults."""
        cfg = self.kv.get(f"config/{CONFIG_TYPES.get(req['type'], req['type'])}")
        return ok(**(cfg or {"version": 0, "content": "", "desc": ""}))

    def op_set_config(self, req, peer):
        """SetConfigOperation.cc: the content is stored as the next version
        unchecked; an MGMTD config is applied at once."""
        self.validate_admin(req)
        ctype = CONFIG_TYPES.get(req["type"])
        if ctype is None:
            raise Fail(f"invalid type: {req['type']}", 3, "InvalidArg")
        cur = self.kv.get(f"config/{ctype}")
        cfg = {"version": (cur["version"] if cur else 0) + 1, "content": req["content"],
               "desc": req.get("desc", "")}
        self.kv.put(f"config/{ctype}", cfg)
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
        nodes = self.kv.list("nodes/")
        hbs = self.kv.list("hb/")
        tstates = self.kv.list("tstate/")
        primary = (self.kv.get("lease/mgmtd") or {}).get("owner")
        configs = {t: (self.kv.get(f"config/{t}") or {}).get("version", 0) for t in NODE_TYPES}
        out = {}
        for rec in nodes.values():
            hb = hbs.get(f"hb/{rec['node_id']}")
            live = hb is not None and now() - hb["ts"] < HB_FRESH
            if rec["type"] == "MGMTD" and live and rec["node_id"] == primary:
                status = "PRIMARY_MGMTD"
            elif hb is None:
                status = "HEARTBEAT_CONNECTING"  # registered, never heartbeated
            else:
                status = "HEARTBEAT_CONNECTED" if live else "HEARTBEAT_FAILED"
            out[str(rec["node_id"])] = dict(rec, status=status, live=live,
                                            last_hb=hb["ts"] if hb else None,
                                            local_targets=tstates.get(f"tstate/{rec['node_id']}")
                                            or {},
                                            config_version=hb["config_version"] if hb else 0,
                                            latest_config=configs.get(rec["type"], 0))
        return out

    def local_state(self, tid, nodes, targets):
        """A target's local state as its node last reported it; OFFLINE when
        the node does not report it or stopped heartbeating
        (MgmtdHeartbeatChecker.cc), counted from this mgmtd's start at the
        earliest (a new primary gives every node a fresh interval)."""
        t = targets.get(str(tid))
        node = nodes.get(str(t["node_id"])) if t else None
        if node is None or node["last_hb"] is None or \
                now() - max(node["last_hb"], self.started) >= HB_FRESH:
            return OFFLINE
        return node.get("local_targets", {}).get(str(tid), {}).get("local", OFFLINE)

    def target_states(self, nodes, targets, chains):
        """{target id: (public, local)}; a target in no chain is public INVALID."""
        states = {}
        for c in chains.values():
            pub = c.get("public", {})
            for t in c["targets"]:
                states[str(t)] = (pub.get(str(t), SERVING), self.local_state(t, nodes, targets))
        for tid in targets:
            if tid not in states:
                states[tid] = ("INVALID", self.local_state(tid, nodes, targets))
        return states

    def update_chains(self):
        """generateNewChain for every chain from its targets' local states
        (MgmtdData::appendChangedChains): a chain whose list changed is stored
        with the next chain version."""
        nodes = self.routing()
        targets = {k[8:]: v for k, v in self.kv.list("targets/").items()}
        for key, c in self.kv.list("chains/").items():
            if now() - max(c.get("born", 0), self.started) < self.new_chain_grace:
                continue
            pub = c.get("public", {})
            old = [(t, pub.get(str(t), SERVING), self.local_state(t, nodes, targets))
                   for t in c["targets"]]
            new = generate_new_chain(old)
            if new != old:
                self.kv.put(key, dict(c, targets=[t for t, _, _ in new], version=c["version"] + 1,
                                      public={str(t): ps for t, ps, _ in new}))

    def tick(self):
        """mgmtd's background chain updater (a node whose heartbeats stopped
        takes its targets' chains with it)."""
        with self.lock:
            self.update_chains()

    def op_routing(self, req, peer):
        nodes = self.routing()
        targets = {k[8:]: v for k, v in self.kv.list("targets/").items()}
        chains = {k[7:]: v for k, v in self.kv.list("chains/").items()}
        tables = {k[7:]: v for k, v in self.kv.list("tables/").items()}
        states = self.target_states(nodes, targets, chains)
        for tid, t in targets.items():
            node = nodes.get(str(t["node_id"]), {})
            t["used"] = node.get("local_targets", {}).get(tid, {}).get("used", 0)
        return ok(nodes=nodes, targets=targets, chains=chains, tables=tables, states=states)

    # ---------------------------------------------------------- targets
    def storage_node(self, nid):
        """The storage client's routing (StorageClientImpl.cc): a node id that
        is unknown or not STORAGE is StorageClient::RoutingError (no message)."""
        node = self.kv.get(f"nodes/{nid}")
        if node is None or node["type"] != "STORAGE" or not node.get("tcp_port"):
            raise Fail("", 7004, "StorageClient::RoutingError")
        return node

    def op_create_target(self, req, peer):
        """admin_cli create-target talks to the storage node itself through the
        storage client (CreateTarget.cc, StorageClientImpl::createTarget);
        everything but the node is the storage node's to check. The stand-in
        records the target's node from the answer at once (its next heartbeat
        reports it too, which is how real mgmtd learns it)."""
        nid = req["node_id"]
        self.forward_to_storage(self.storage_node(nid), "create_target", req)
        self.kv.put(f"targets/{req['target_id']}", {"node_id": nid,
                                                   "disk_index": req["disk_index"],
                                                   "chain_id": req["chain_id"]})
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
        chains = {int(k[7:]): v for k, v in self.kv.list("chains/").items()}
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
        self.kv.put(f"chains/{cid}", ch)
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
        chains = {int(k[7:]): v for k, v in self.kv.list("chains/").items()}
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
            self.kv.put(f"chains/{cid}", {"targets": tids, "version": 1,
                                          "public": {str(t): SERVING for t in tids},
                                          "preferred": [], "born": now()})
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
            ch = self.kv.get(f"chains/{c}")
            if ch is None:
                raise mgmtd_error("ChainNotFound", 5012, f"ChainId({c}) not found")
            if expected == 0:
                expected = len(ch["targets"])
            elif len(ch["targets"]) != expected:
                raise bad_chain_table(
                    f"Target count mismatch with first chain. chain id: {c}. targets: "
                    f"{len(ch['targets'])}. targets of first chain: {expected}.")
        versions = self.kv.get(f"tables/{tid}") or []
        new = {"version": 1, "chains": cids, "desc": desc}
        if versions:
            current = max(versions, key=lambda v: v["version"])
            if cids != current["chains"]:
                new["version"] = current["version"] + 1
            new["desc"] = desc or current["desc"]
            if new == current:
                return ok(version=current["version"])
        versions = [v for v in versions if v["version"] != new["version"]] + [new]
        self.kv.put(f"tables/{tid}", sorted(versions, key=lambda v: v["version"]))
        return ok(version=new["version"])
