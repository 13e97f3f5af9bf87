"""The storage stand-in's side of chains: its targets' local states, its
view of the routing info, offline-target / remove-target, and the resync
that fills a SYNCING target from its predecessor.

Upstream (deepseek-ai/3FS ee9a5ce), whose rules and words these follow:
* local states: TargetMap::addStorageTarget (a loaded or created target is
  ONLINE), TargetMap::updateRouting / updateLocalState (chainstate.py),
  TargetMap::syncReceiveDone (UPTODATE once a resync is done),
  TargetMap::offlineTarget (src/storage/service/TargetMap.cc);
* StorageOperator::offlineTarget, removeTarget, syncStart
  (src/storage/service/StorageOperator.cc);
* a write for another chain version than the node's is refused:
  TargetMap::getByChainId (StorageClient::RoutingVersionMismatch), a target
  offline locally refuses I/O (Storage::TargetOffline);
* the predecessor of a SYNCING target copies its chunks to it, removes what
  the target holds that it does not, then reports the sync done
  (src/storage/sync/ResyncWorker.cc). Real 3FS compares chunk versions and
  copies only what differs; the stand-in copies every chunk whole;
* the start: Components::waitRoutingInfo (src/storage/service/Components.cc)
  heartbeats with every target OFFLINE and waits until the routing info
  shows none of them SERVING, SYNCING or WAITING (wait_routing_info).

A chunk is a file <target dir>/chunks/<inode>.<index>; data travels base64.
"""
import base64
import itertools
import json
import os
import shutil
import threading
import time

from .chainstate import OFFLINE, ONLINE, SERVING, SYNCING, UPTODATE, WAITING, place_in_chain, \
    update_local_state
from .common import Fail, RpcError, log, ok, rpc


def routing_error(msg):
    return Fail(msg, 7004, "StorageClient::RoutingError")


def state_invalid(msg):
    return Fail(msg, 4032, "Storage::TargetStateInvalid")


class Replication:
    """Mixed into Storage, which provides self.targets ({id: meta}),
    self.paths and self.lock (held while targets are created or removed)."""

    def init_replication(self, mgmtd=None, cluster_id=""):
        self.mgmtd, self.cluster_id = mgmtd, cluster_id
        self.local = {tid: ONLINE for tid in self.targets}  # addStorageTarget
        self.user_offline = set()  # offlineUponUserRequest
        self.view = {}  # target id -> its place in its chain (apply_routing)
        self.tlocks = {}
        self.synced = set()  # (chain, version) resyncs this node finished or runs
        self.view_lock = threading.Lock()
        self.routing_info = None  # the last routing info from mgmtd (its version)
        # waitRoutingInfo under way: heartbeats say every target is OFFLINE
        # and routing info is fetched but not applied (no listener yet)
        self.starting = False

    def tlock(self, tid):
        with self.view_lock:
            return self.tlocks.setdefault(tid, threading.Lock())

    def target_dir(self, tid):
        return os.path.join(self.paths[self.targets[tid]["disk_index"]], str(tid))

    def chunk_dir(self, tid):
        return os.path.join(self.target_dir(tid), "chunks")

    def chunk_names(self, tid):
        try:
            names = os.listdir(self.chunk_dir(tid))
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.replace(".", "", 1).isdigit() and "." in n)

    def used_size(self, tid):
        d = self.chunk_dir(tid)
        return sum(os.path.getsize(os.path.join(d, n)) for n in self.chunk_names(tid))

    # ------------------------------------------------------------ heartbeat
    def report(self):
        """What the heartbeat tells mgmtd about each target. First a target
        that went OFFLINE other than by offline-target is loaded again, i.e.
        ONLINE (CheckWorker "reload offline targets",
        src/storage/worker/CheckWorker.cc). An OFFLINE target's used size is
        not reported, i.e. 0 (Components::updateHeartbeatPayload,
        src/storage/service/Components.cc), which mgmtd then shows. While
        the node starts (waitRoutingInfo) every target is reported OFFLINE
        (updateHeartbeatPayload(map, true)) and none is reloaded (the
        CheckWorker has not started)."""
        if self.starting:
            return {"targets": {str(tid): {"local": OFFLINE, "used": 0,
                                           "disk_index": meta["disk_index"],
                                           "chain_id": meta["chain_id"]}
                                for tid, meta in list(self.targets.items())}}
        out = {}
        for tid in list(self.targets):
            if self.local.get(tid) == OFFLINE and tid not in self.user_offline:
                log.info("reload target %d: OFFLINE -> ONLINE", tid)
                self.local[tid] = ONLINE
        for tid, meta in list(self.targets.items()):
            local = self.local.get(tid, ONLINE)
            try:
                used = self.used_size(tid) if local != OFFLINE else 0
            except OSError:
                used = 0
            out[str(tid)] = {"local": local, "used": used,
                             "disk_index": meta["disk_index"], "chain_id": meta["chain_id"]}
        return {"targets": out}

    def fetch_routing(self):
        """The mgmtd client's refreshRoutingInfo(false): the routing info,
        asked with the version held (unchanged: the one held). Raises Fail."""
        last = self.routing_info
        r = self.mgmtd.call("routing", cluster_id=self.cluster_id,
                            version=last["version"] if last else 0)
        if r.get("routing", True) is None:  # unchanged (GetRoutingInfoOperation.cc)
            return last
        self.routing_info = r
        return r

    def refresh(self):
        """Fetch the routing info from mgmtd and apply it (the routing info
        listener Components adds once waitRoutingInfo is over)."""
        if self.mgmtd is None:
            return
        try:
            r = self.fetch_routing()
        except Fail as e:
            log.warning("routing refresh failed: %s", e.msg)
            return
        if not self.starting:
            self.apply_routing(r)

    def public_states(self, r):
        """{target id: public state} of this node's targets in chains, as
        TargetMap::updateRouting gives them: for each chain the first of its
        targets that is on this node."""
        out = {}
        for c in r["chains"].values():
            tid = next((t for t in c["targets"] if t in self.targets), None)
            if tid is not None:
                out[tid] = c.get("public", {}).get(str(tid), SERVING)
        return out

    def wait_routing_info(self, member, stop, pause=1.0):
        """Components::waitRoutingInfo (src/storage/service/Components.cc),
        before the node serves: the heartbeat payload says every target is
        OFFLINE (updateHeartbeatPayload(map, true)), the mgmtd client starts
        (member.start: AutoHeartbeat, AutoRefresh), then each round a
        heartbeat and a routing refresh, until no target of this node is
        SERVING, SYNCING or WAITING in mgmtd's routing info; between rounds
        "Waiting for target offline in routing info..." (WARNING) and a
        second's sleep. mgmtd's chains updater moves a SERVING target that
        reports OFFLINE to LASTSRV or OFFLINE (generateNewChain; a newborn
        chain only after new_chain_bootstrap_interval), a SYNCING one to
        OFFLINE, a WAITING one to OFFLINE. Then the target map takes the
        routing info (its local states move: updateLocalState), the payload
        follows the local states again and a heartbeat reports them (ONLINE:
        mgmtd makes LASTSRV SERVING, OFFLINE SYNCING). A target in no chain
        holds nothing up. The wait does not look at `stop` (SIGTERM is
        handled after the start)."""
        self.starting = True
        member.start(stop)
        for n in itertools.count():
            if n:
                log.warning("Waiting for target offline in routing info...")
                time.sleep(pause)
            member.send()
            try:
                r = self.fetch_routing()
            except Fail as e:
                log.error("refresh routing info error %s(%s) %s", e.name, e.code, e.msg)
                continue
            if r is None:
                log.error("get and parse routing info error: routing info is empty")
                continue
            busy = [(tid, ps) for tid, ps in sorted(self.public_states(r).items())
                    if ps in (SERVING, SYNCING, WAITING)]
            if not busy:
                break
            tid, ps = busy[0]
            # upstream's words (it names the target id as the chain)
            log.warning("waiting for chain %d target %s", tid, json.dumps(
                {"targetId": tid, "chainId": self.targets[tid]["chain_id"],
                 "localState": "ONLINE", "publicState": ps}))
        self.starting = False  # targetMap.setUpdateCallback
        self.apply_routing(self.routing_info)  # refreshRoutingInfo()
        member.send()
        log.info("Initial target map: %s", json.dumps(
            {str(tid): {"localState": self.local.get(tid),
                        "publicState": self.view.get(tid, {}).get("public", "INVALID")}
             for tid in sorted(self.targets)}))

    def apply_routing(self, r):
        """TargetMap::updateRouting: for each chain the first of its targets
        that is on this node gets its public state, place and successor, and
        its local state moves (updateLocalState). Resyncs this node owes
        (its SERVING target's successor is SYNCING) are started."""
        view = {}
        with self.view_lock:
            for cid, c in r["chains"].items():
                pub = c.get("public", {})
                tid = next((t for t in c["targets"] if t in self.targets), None)
                if tid is None:
                    continue
                ps = pub.get(str(tid), SERVING)
                head, tail, succ = place_in_chain(c["targets"], pub, tid)
                self.local[tid] = update_local_state(self.local.get(tid, ONLINE), ps)
                view[tid] = {"chain": int(cid), "version": c["version"], "public": ps,
                             "head": head, "tail": tail, "succ": succ,
                             "succ_public": pub.get(str(succ)) if succ else None,
                             "succ_addr": self.node_addr(r, succ)}
            self.view = view
        for tid, v in view.items():
            if v["public"] == SERVING and v["succ_public"] == SYNCING and \
                    self.local.get(tid) == UPTODATE and v["succ_addr"]:
                self.start_resync(tid, v)

    @staticmethod
    def node_addr(r, tid):
        if tid is None:
            return None
        t = r["targets"].get(str(tid))
        node = r["nodes"].get(str(t["node_id"])) if t else None
        return (node["host"], node["tcp_port"]) if node and node.get("tcp_port") else None

    # ------------------------------------------------------------ admin ops
    def known(self, tid):
        if tid not in self.targets:
            raise routing_error(f"target {tid} not found")

    def describe(self, tid):
        v = self.view.get(tid, {})
        return (f"Target(targetId={tid}, chainId={self.targets[tid]['chain_id']}, "
                f"localState={self.local.get(tid)}, publicState={v.get('public', 'INVALID')})")

    def offline_target(self, tid, force):
        """StorageOperator::offlineTarget then TargetMap::offlineTarget."""
        self.known(tid)
        v = self.view.get(tid, {})
        if v.get("head") and v.get("tail") and not force:
            raise state_invalid(f"offline failed: target is the last online target! "
                                f"{self.describe(tid)}")
        if tid in self.user_offline:
            raise Fail(f"target is already offline, {self.describe(tid)}.", 4030,
                       "Storage::TargetOffline")
        self.user_offline.add(tid)
        self.local[tid] = OFFLINE
        log.info("target %d offlined upon user request", tid)
        return ok()

    def remove_target(self, tid, force):
        """StorageOperator::removeTarget: only a target offlined by the user,
        in no chain of this node's routing info unless --force; its directory
        goes."""
        self.known(tid)
        if tid not in self.user_offline:
            raise state_invalid(f"remove failed: target is not offline! {self.describe(tid)}")
        if tid in self.view and not force:
            raise state_invalid(f"remove failed: target is still in a chain! "
                                f"{self.describe(tid)}")
        with self.tlock(tid):
            shutil.rmtree(self.target_dir(tid), ignore_errors=True)
            del self.targets[tid]
            self.local.pop(tid, None)
            self.user_offline.discard(tid)
        log.info("removed target %d", tid)
        return ok()

    # ------------------------------------------------------------ chunk I/O
    def usable(self, tid):
        self.known(tid)
        if self.local.get(tid) == OFFLINE:
            raise Fail(f"chain {self.targets[tid]['chain_id']} target {tid} is offline", 4030,
                       "Storage::TargetOffline")

    def check_version(self, tid, req, allow_outdated):
        """getByChainId: the request's chain version must be the node's (a
        read may be older); a newer one makes the node refresh first."""
        want = req.get("chain_version")
        if want is None:
            return
        have = self.view.get(tid, {}).get("version")
        if have is not None and want > have:
            self.refresh()
            have = self.view.get(tid, {}).get("version")
        if have is None or (want != have and not (allow_outdated and want < have)):
            raise Fail(f"chain {self.targets[tid]['chain_id']} version mismatch request {want} "
                       f"!= local {have}", 7014, "StorageClient::RoutingVersionMismatch")

    def chunk_io(self, op, req):
        tid = req["target_id"]
        self.usable(tid)
        path = self.chunk_path(tid, req["chunk"])
        if op == "read_chunk":
            self.check_version(tid, req, True)
            return self.read_chunk(path, req)
        with self.tlock(tid):
            self.check_version(tid, req, False)
            return getattr(self, op)(path, req)

    # ------------------------------------------------------------ resync
    def start_resync(self, tid, v):
        key = (v["chain"], v["version"])
        with self.view_lock:
            if key in self.synced:
                return
            self.synced.add(key)
        threading.Thread(target=self.resync, args=(tid, v, key), daemon=True).start()

    def resync(self, tid, v, key):
        addr, succ = v["succ_addr"], v["succ"]
        base = {"target_id": succ, "chain_id": v["chain"], "chain_version": v["version"]}

        def call(op, **kw):
            reply = rpc(addr, dict(base, op=op, **kw), timeout=30.0)
            if not reply.get("ok"):
                raise Fail(reply.get("msg", ""), reply.get("code", 1), reply.get("name", ""))
            return reply
        try:
            theirs = set(call("sync_start")["chunks"])
            mine = self.chunk_names(tid)
            for name in mine:
                with self.tlock(tid):  # no client write to it meanwhile
                    try:
                        with open(os.path.join(self.chunk_dir(tid), name), "rb") as f:
                            data = f.read()
                    except FileNotFoundError:
                        continue
                    call("sync_write", chunk=name, data=base64.b64encode(data).decode())
            for name in sorted(theirs - set(mine)):
                call("sync_remove", chunk=name)
            call("sync_done")
            log.info("resync of chain %d: target %d copied %d chunks to target %d",
                     v["chain"], tid, len(mine), succ)
        except (Fail, RpcError, OSError) as e:
            log.warning("resync of chain %d to target %d failed (retried on the next routing "
                        "update): %s", v["chain"], succ, getattr(e, "msg", e))
            with self.view_lock:
                self.synced.discard(key)

    def sync_op(self, op, req):
        """The receiving side: syncStart (the target must be SYNCING in this
        node's routing info and locally ONLINE; answers the chunks it holds),
        whole-chunk writes and removals, and syncDone (UPTODATE)."""
        tid = req["target_id"]
        self.known(tid)
        if op == "sync_start":
            if self.view.get(tid, {}).get("version") != req["chain_version"]:
                self.refresh()
            v = self.view.get(tid, {})
            if v.get("public") != SYNCING or v.get("version") != req["chain_version"]:
                raise Fail(f"target {tid} check state failed: {v.get('public', 'INVALID')}",
                           4070, "Storage::SyncStartFailed")
            if self.local.get(tid) != ONLINE:
                raise Fail(f"target {tid} check state failed: {self.local.get(tid)}", 4070,
                           "Storage::SyncStartFailed")
            return ok(chunks=self.chunk_names(tid))
        if op == "sync_done":
            log.warning("chain %s target %d sync receive done %s -> UPTODATE", req["chain_id"],
                        tid, self.local.get(tid))
            self.local[tid] = UPTODATE
            return ok()
        path = self.chunk_path(tid, req["chunk"])
        with self.tlock(tid):
            if op == "sync_remove":
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                return ok()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".sync"
            with open(tmp, "wb") as f:
                f.write(base64.b64decode(req["data"]))
            os.replace(tmp, path)
        return ok()
