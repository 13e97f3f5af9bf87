"""The mgmtd stand-in's request handlers. All cluster state lives in the fdb
stand-in (KV), so any mgmtd instance can answer and state survives restarts."""
import threading

from .common import Fail, RpcError, load_toml_text, now, ok, rpc
from .schema import check_main
from . import token as tokens

HB_FRESH = 5.0  # seconds: a node is HEARTBEAT_CONNECTED if it beat more recently
CONFIG_TYPES = ("MGMTD", "META", "STORAGE", "FUSE", "CLIENT", "CLIENT_AGENT")
NODE_TYPES = ("MGMTD", "META", "STORAGE")
UINT32 = 0xFFFFFFFF
# Requests that may run at the same time as others: create_target claims its
# target id atomically in the KV (put_new), like real 3FS creating targets
# on many storage nodes at once.
UNLOCKED_OPS = ("create_target",)


def bad_chain_table(msg):
    return Fail(msg, 5007, "Mgmtd::InvalidChainTable")


class MgmtdService:
    def __init__(self, node_id, cluster_id, kv):
        self.node_id, self.cluster_id, self.kv = node_id, cluster_id, kv
        self.lock = threading.Lock()

    def dispatch(self, req, peer):
        op = req.get("op")
        handler = getattr(self, "op_" + str(op), None)
        if handler is None:
            raise Fail(f"unknown mgmtd request {op!r}", 3, "StatusCode::InvalidArg")
        if req.get("cluster_id") != self.cluster_id:
            raise Fail(f"cluster_id mismatch: request has '{req.get('cluster_id')}', "
                       f"mgmtd {self.node_id} serves cluster '{self.cluster_id}'",
                       5010, "Mgmtd::ClusterIdMismatch")
        if op in UNLOCKED_OPS:
            return handler(req, peer)
        with self.lock:
            return handler(req, peer)

    # ---------------------------------------------------------- nodes
    def op_register(self, req, peer):
        nid, ntype = req["node_id"], req["type"]
        old = self.kv.get(f"nodes/{nid}")
        if old and old["type"] != ntype:
            raise Fail(f"node id {nid} is already registered as {old['type']}; "
                       f"{ntype} cannot use it", 5003, "Mgmtd::RegisterFail")
        hb = self.kv.get(f"hb/{nid}")
        if old and hb and now() - hb["ts"] < HB_FRESH and old["host"] != req["host"]:
            raise Fail(f"node id {nid} is in use by a live node on {old['host']}",
                       5003, "Mgmtd::RegisterFail")
        rec = {k: req[k] for k in ("node_id", "type", "hostname", "pid", "host", "tcp_port")}
        self.kv.put(f"nodes/{nid}", rec)
        self.kv.put(f"hb/{nid}", {"ts": now(), "config_version": req.get("config_version", 0)})
        return ok()

    def op_heartbeat(self, req, peer):
        nid = req["node_id"]
        if not self.kv.get(f"nodes/{nid}"):
            raise Fail(f"node {nid} is not registered", 5004, "Mgmtd::HeartbeatFail")
        self.kv.put(f"hb/{nid}", {"ts": now(), "config_version": req.get("config_version", 0)})
        cfg = self.kv.get(f"config/{req['type']}")
        return ok(config_version=cfg["version"] if cfg else 0)

    # ---------------------------------------------------------- configs
    def op_get_config(self, req, peer):
        ctype = req["type"]
        cfg = self.kv.get(f"config/{ctype}")
        if cfg is None:
            raise Fail(f"no {ctype} config was ever uploaded to the cluster: run "
                       f"`admin_cli set-config --type {ctype} --file <file>` (or init-cluster "
                       f"--{ctype.lower()}) first", 5011, "Mgmtd::ConfigNotFound")
        return ok(**cfg)

    def op_set_config(self, req, peer):
        ctype = req["type"]
        if ctype not in CONFIG_TYPES:
            raise Fail(f"invalid config type '{ctype}'", 3, "StatusCode::InvalidArg")
        origin = req.get("origin", "config")
        check_main(ctype, load_toml_text(req["content"], origin), origin)
        cur = self.kv.get(f"config/{ctype}")
        version = (cur["version"] if cur else 0) + 1
        self.kv.put(f"config/{ctype}", {"version": version, "content": req["content"],
                                        "desc": req.get("desc", "")})
        return ok(version=version)

    # ---------------------------------------------------------- users
    def op_check_token(self, req, peer):
        uid = tokens.decode_uid(req.get("token", ""))
        user = self.kv.get(f"users/{uid}") if uid is not None else None
        if user is None or user["token"] != req.get("token"):
            raise Fail("token validation failed: unknown or malformed token", 25,
                       "StatusCode::AuthenticationFail")
        return ok(uid=uid, admin=user["admin"])

    # ---------------------------------------------------------- routing
    def routing(self):
        nodes = self.kv.list("nodes/")
        hbs = self.kv.list("hb/")
        primary = (self.kv.get("lease/mgmtd") or {}).get("owner")
        configs = {t: (self.kv.get(f"config/{t}") or {}).get("version", 0) for t in NODE_TYPES}
        out = {}
        for rec in nodes.values():
            hb = hbs.get(f"hb/{rec['node_id']}")
            live = hb is not None and now() - hb["ts"] < HB_FRESH
            if rec["type"] == "MGMTD" and live and rec["node_id"] == primary:
                status = "PRIMARY_MGMTD"
            else:
                status = "HEARTBEAT_CONNECTED" if live else "HEARTBEAT_FAILED"
            out[str(rec["node_id"])] = dict(rec, status=status, live=live,
                                            last_hb=hb["ts"] if hb else None,
                                            config_version=hb["config_version"] if hb else 0,
                                            latest_config=configs.get(rec["type"], 0))
        return out

    def target_states(self, nodes, targets, chains):
        in_chain = {t for c in chains.values() for t in c["targets"]}
        states = {}
        for tid, t in targets.items():
            live = nodes.get(str(t["node_id"]), {}).get("live", False)
            if int(tid) in in_chain:
                states[tid] = ("SERVING", "UPTODATE") if live else ("OFFLINE", "OFFLINE")
            else:
                states[tid] = ("INVALID", "ONLINE" if live else "OFFLINE")
        return states

    def op_routing(self, req, peer):
        nodes = self.routing()
        targets = {k[8:]: v for k, v in self.kv.list("targets/").items()}
        chains = {k[7:]: v for k, v in self.kv.list("chains/").items()}
        tables = {k[7:]: v for k, v in self.kv.list("tables/").items()}
        return ok(nodes=nodes, targets=targets, chains=chains, tables=tables,
                  states=self.target_states(nodes, targets, chains))

    # ---------------------------------------------------------- targets
    def op_create_target(self, req, peer):
        nid, tid, disk, cid = (req["node_id"], req["target_id"], req["disk_index"],
                               req["chain_id"])
        node = self.kv.get(f"nodes/{nid}")
        hb = self.kv.get(f"hb/{nid}") if node else None
        if node is None:
            raise Fail(f"node {nid} not found in routing info", 6005,
                       "MgmtdClient::NodeNotFound")
        if node["type"] != "STORAGE":
            raise Fail(f"node {nid} is a {node['type']} node, not a storage node", 3,
                       "StatusCode::InvalidArg")
        if hb is None or now() - hb["ts"] >= HB_FRESH:
            raise Fail(f"storage node {nid} is not connected (no recent heartbeat)",
                       7003, "StorageClient::RoutingError")
        if tid <= 0 or not 0 < cid <= UINT32:
            raise Fail(f"invalid target id {tid} or chain id {cid}", 3, "StatusCode::InvalidArg")
        if not self.kv.put_new(f"targets/{tid}",
                               {"node_id": nid, "disk_index": disk, "chain_id": cid}):
            raise Fail(f"target {tid} already exists", 8003, "Storage::TargetExisted")
        try:
            self.forward_to_storage(node, req)
        except Fail:
            self.kv.delete(f"targets/{tid}")
            raise
        return ok()

    def forward_to_storage(self, node, req):
        fwd = {k: req[k] for k in ("target_id", "disk_index", "chain_id")}
        fwd["op"] = "create_target"
        try:
            reply = rpc((node["host"], node["tcp_port"]), fwd, timeout=10.0)
        except RpcError as e:
            raise Fail(f"cannot reach storage node {node['node_id']}: {e}", 7003,
                       "StorageClient::RoutingError")
        if not reply.get("ok"):
            raise Fail(reply.get("msg"), reply.get("code", 1), reply.get("name", "Storage::Error"))

    # ---------------------------------------------------------- chains
    def op_set_chains(self, req, peer):
        rows = req["chains"]
        targets = {int(k[8:]): v for k, v in self.kv.list("targets/").items()}
        chains = {int(k[7:]): v for k, v in self.kv.list("chains/").items()}
        owner = {t: c for c, v in chains.items() for t in v["targets"]}
        seen = set()
        for cid, tids in rows:
            self.check_chain_row(cid, tids, targets, chains, owner, seen)
        for cid, tids in rows:
            if cid not in chains:
                self.kv.put(f"chains/{cid}", {"targets": tids, "version": 1})
        return ok(count=len(rows))

    def check_chain_row(self, cid, tids, targets, chains, owner, seen):
        if not 0 < cid <= UINT32:
            raise bad_chain_table(f"invalid chain id {cid}")
        if not tids or any(t <= 0 for t in tids):
            raise bad_chain_table(f"chain {cid}: target ids must be > 0")
        if len(set(tids)) != len(tids) or seen & set(tids):
            raise bad_chain_table(f"chain {cid}: a target appears more than once")
        seen.update(tids)
        if cid in chains:
            if set(chains[cid]["targets"]) != set(tids):
                raise bad_chain_table(f"chain {cid}: Target mismatch with the existing chain "
                                      f"({chains[cid]['targets']} vs {tids})")
            return
        for t in tids:
            if t in owner:
                raise bad_chain_table(f"chain {cid}: target {t} already belongs to chain {owner[t]}")
            if t in targets and targets[t]["chain_id"] != cid:
                raise bad_chain_table(f"chain {cid}: target {t} was created for chain "
                                      f"{targets[t]['chain_id']}")
        nodes = [targets[t]["node_id"] for t in tids if t in targets]
        if len(set(nodes)) != len(nodes):
            raise bad_chain_table(f"chain {cid}: two targets on the same node "
                                  f"(nodes {sorted(nodes)}); replicas need distinct nodes")

    def op_set_chain_table(self, req, peer):
        tid, cids, desc = req["table_id"], req["chains"], req.get("desc", "")
        if not 0 < tid <= UINT32:
            raise bad_chain_table(f"invalid chain table id {tid}")
        if not cids:
            raise bad_chain_table("chain table is empty")
        if len(set(cids)) != len(cids):
            raise bad_chain_table("a chain appears twice in the chain table")
        sizes = set()
        for c in cids:
            ch = self.kv.get(f"chains/{c}")
            if ch is None:
                raise bad_chain_table(f"chain {c} not found (upload-chains first)")
            sizes.add(len(ch["targets"]))
        if len(sizes) > 1:
            raise bad_chain_table(f"chains of one table must have the same number of replicas, "
                                  f"got {sorted(sizes)}")
        layout = self.kv.get("layout")
        if layout and layout["table_id"] == tid and len(cids) < layout["stripe"]:
            raise Fail(f"chain table {tid} has {len(cids)} chains but the root layout stripes "
                       f"files over {layout['stripe']}: try to allocate {layout['stripe']} chains "
                       f"from table {tid}, found {len(cids)}", 3, "StatusCode::InvalidArg")
        versions = self.kv.get(f"tables/{tid}") or []
        if versions and versions[-1]["chains"] == cids:
            return ok(version=versions[-1]["version"], changed=False)
        versions.append({"version": len(versions) + 1, "chains": cids, "desc": desc})
        self.kv.put(f"tables/{tid}", versions)
        return ok(version=len(versions), changed=True)

