#!/usr/bin/env python3
"""The mgmtd stand-in's state and lease (ctest standin_mgmtd; python3 only,
no docker, no root, a few seconds).

Runs the fdb stand-in (fdbserver) as a local process on 127.0.0.1 and two
mgmtd stand-ins (MgmtdService, mgmtd 1 and 2) in this process, each with its
own KV client and TCP listener; their lease seconds (services.mgmtd_tick,
with a 1 s lease) are driven by the test. Checks what real mgmtd does
(deepseek-ai/3FS ee9a5ce): the primary keeps the cluster state in memory,
loaded when it takes the lease (src/mgmtd/background/MgmtdLeaseExtender.cc
onNewLease) and written through to FDB; heartbeats are not persisted; a
standby answers Mgmtd::NotPrimary naming the primary (helpers.cc
ensureSelfIsPrimary) and the client goes on to the primary; the routing
info has a version and a client holding the current one gets none
(GetRoutingInfoOperation.cc, MgmtdData::getRoutingInfo).
"""
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "lib")
sys.path.insert(0, LIB)

from standin.common import Fail, rpc, serve  # noqa: E402
from standin.kv import KV, Mgmtd  # noqa: E402
from standin.mgmtd import MgmtdService  # noqa: E402
from standin.services import mgmtd_tick  # noqa: E402

CLUSTER = "mgmtdtest"
TTL = 1.0  # the lease (run_mgmtd's is 5 s)
CFG = {"server": {"service": {"allow_heartbeat_from_unregistered": False}}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingKV(KV):
    """A KV client that counts its requests by operation."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.ops = {}

    def call(self, op, **args):
        self.ops[op] = self.ops.get(op, 0) + 1
        return super().call(op, **args)

    def count(self):
        return sum(self.ops.values())


class Fdb:
    """The fdb stand-in as a process, configured (`configure new single ssd`)."""

    def __init__(self, tmp):
        self.port = free_port()
        self.cluster_file = os.path.join(tmp, "fdb.cluster")
        env = dict(os.environ, PYTHONPATH=LIB, FDB_CLUSTER_FILE=self.cluster_file,
                   FDB_CLUSTER_FILE_CONTENTS=f"test:test@127.0.0.1:{self.port}",
                   FDB_PORT=str(self.port), FDB_DATA_DIR=os.path.join(tmp, "data"),
                   FDB_LOG_DIR=os.path.join(tmp, "log"))
        self.proc = subprocess.Popen([sys.executable, "-c",
                                      "from standin.fdbserver import main; main()"],
                                     env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        addr = ("127.0.0.1", self.port)
        for _ in range(100):
            try:
                if rpc(addr, {"op": "ping"}, timeout=1.0).get("ok"):
                    break
            except Exception:
                pass
            time.sleep(0.05)
        reply = rpc(addr, {"op": "configure", "new": True, "redundancy": "single",
                           "engine": "ssd"})
        assert reply.get("ok"), reply

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Node:
    """One mgmtd: service, listener, KV client, its lease seconds."""

    def __init__(self, nid, cluster_file):
        self.kv = CountingKV(cluster_file, "test", wait=2.0)
        self.svc = MgmtdService(nid, CLUSTER, self.kv, CFG, 0)
        self.srv = serve(0, self.svc.dispatch, "mgmtd", host="127.0.0.1")
        self.port = self.srv.server_address[1]
        self.addr = f"TCP://127.0.0.1:{self.port}"
        self.rec = {"node_id": nid, "type": "MGMTD", "hostname": f"m{nid}", "pid": 1,
                    "host": "127.0.0.1", "tcp_port": self.port, "release": "t"}

    def tick(self):
        mgmtd_tick(self.kv, self.svc, self.rec, TTL)

    def client(self):
        return Mgmtd([self.addr], "test")

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def storage_beat(mg, nid, targets, port=1):
    """A storage node's heartbeat: its targets and their local states."""
    return mg.call("heartbeat", node_id=nid, type="STORAGE", hostname=f"s{nid}", pid=1,
                   host="127.0.0.1", tcp_port=port, release="t", cluster_id=CLUSTER,
                   config_version=0,
                   targets={str(t): {"local": st, "used": 0, "disk_index": 0, "chain_id": c}
                            for t, (c, st) in targets.items()})


class MgmtdState(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="standin-mgmtd-")
        self.fdb = Fdb(self.tmp)
        self.a = Node(1, self.fdb.cluster_file)
        self.b = Node(2, self.fdb.cluster_file)
        self.a.tick()  # 1 takes the lease
        self.b.tick()  # 2 is a standby
        self.assertTrue(self.a.svc.is_primary())
        self.assertFalse(self.b.svc.is_primary())
        self.mg = self.a.client()
        self.raw = KV(self.fdb.cluster_file, "test", wait=2.0)  # the test's own view of FDB
        self.targets = {101: (1, "UPTODATE"), 102: (2, "UPTODATE")}
        self.populate()

    def tearDown(self):
        for n in (self.a, self.b):
            n.close()
        self.fdb.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def call(self, op, mg=None, **kw):
        return (mg or self.mg).call(op, cluster_id=CLUSTER, **kw)

    def populate(self):
        """Nodes, a config, chains and a table through the primary."""
        for nid in (10001, 10002):
            self.call("register_node", node_id=nid, type="STORAGE")
        self.call("register_node", node_id=100, type="META")
        self.call("register_node", node_id=2, type="MGMTD")  # the standby's heartbeats
        self.call("set_config", type="STORAGE", content="# v1", desc="first")
        storage_beat(self.mg, 10001, {101: self.targets[101]})
        storage_beat(self.mg, 10002, {102: self.targets[102]})
        self.call("set_chains", chains=[[1, [101]], [2, [102]]])
        self.call("set_chain_table", table_id=1, chains=[1, 2], desc="t")

    def takeover(self):
        """1 stops (no more lease seconds, no listener); 2 takes the lease
        once it expired."""
        self.a.close()
        deadline = time.time() + 5 * TTL
        while not self.b.svc.is_primary():
            self.assertLess(time.time(), deadline, "2 never took the lease")
            time.sleep(0.1)
            self.b.tick()

    def test_state_survives_takeover(self):
        before = self.call("routing")
        cfg = self.call("get_config", type="STORAGE")
        self.takeover()
        mg = self.b.client()
        after = self.call("routing", mg)
        self.assertEqual(after["chains"], before["chains"])
        self.assertEqual(after["tables"], before["tables"])
        self.assertEqual(set(after["nodes"]), set(before["nodes"]) | {"2"})
        for nid in ("10001", "10002", "100"):
            for key in ("node_id", "type", "hostname", "host", "tcp_port", "release"):
                self.assertEqual(after["nodes"][nid][key], before["nodes"][nid][key])
        self.assertEqual({t: (v["node_id"], v["chain_id"]) for t, v in after["targets"].items()},
                         {t: (v["node_id"], v["chain_id"]) for t, v in before["targets"].items()})
        self.assertEqual(self.call("get_config", mg, type="STORAGE"), dict(cfg))
        self.assertGreater(after["version"], before["version"],
                           "a new primary starts above any version a client saw")
        # no heartbeat yet (none was persisted): CONNECTING and OFFLINE,
        # also the old primary; 2 is PRIMARY_MGMTD
        self.assertEqual(after["nodes"]["10001"]["status"], "HEARTBEAT_CONNECTING")
        self.assertEqual(after["nodes"]["1"]["status"], "HEARTBEAT_CONNECTING")
        self.assertEqual(after["states"]["101"], ["SERVING", "OFFLINE"])
        self.assertEqual(after["nodes"]["2"]["status"], "PRIMARY_MGMTD")
        storage_beat(mg, 10001, {101: self.targets[101]})
        r = self.call("routing", mg)
        self.assertEqual(r["nodes"]["10001"]["status"], "HEARTBEAT_CONNECTED")
        self.assertEqual(r["states"]["101"], ["SERVING", "UPTODATE"])

    def test_primary_serves_from_memory(self):
        """An unchanged heartbeat and a routing request cost the primary no
        KV request; the state it serves is its memory, not FDB's."""
        storage_beat(self.mg, 10001, {101: self.targets[101]})
        r = self.call("routing")
        n = self.a.kv.count()
        for _ in range(5):
            storage_beat(self.mg, 10001, {101: self.targets[101]})
            self.call("routing")
            self.call("routing", version=r["version"])
            self.call("get_config", type="STORAGE")
        self.assertEqual(self.a.kv.count(), n, self.a.kv.ops)
        self.raw.delete("chains/2")  # behind the primary's back
        self.assertIn("2", self.call("routing")["chains"])

    def test_heartbeats_not_in_kv(self):
        for _ in range(3):
            storage_beat(self.mg, 10001, {101: self.targets[101]})
            self.a.tick()
            self.b.tick()  # 2's heartbeat goes to 1
        self.assertEqual(self.raw.list("hb/"), {})
        self.assertEqual(self.raw.list("tstate/"), {})
        r = self.call("routing")
        self.assertEqual(r["nodes"]["2"]["status"], "HEARTBEAT_CONNECTED")
        self.assertEqual(r["nodes"]["1"]["status"], "PRIMARY_MGMTD")
        self.assertEqual(r["nodes"]["10001"]["local_targets"]["101"]["local"], "UPTODATE")

    def test_standby_answers_not_primary(self):
        with self.assertRaises(Fail) as cm:
            self.b.svc.dispatch({"op": "routing", "cluster_id": CLUSTER}, None)
        self.assertEqual((cm.exception.code, cm.exception.name, cm.exception.msg),
                         (5000, "Mgmtd::NotPrimary", "1"))
        # the client goes on to the next address: the standby first, then 1
        both = Mgmtd([self.b.addr, self.a.addr], "test")
        r = self.call("routing", version=0)
        self.assertEqual(self.call("routing", both, version=r["version"]),
                         {"ok": True, "version": r["version"], "routing": None})
        self.assertEqual(self.call("get_config", both, type="STORAGE"),
                         self.call("get_config", type="STORAGE"))
        self.assertEqual(self.call("routing", both)["chains"], r["chains"])
        # only standbys: RoutingInfoNotReady, which callers retry
        with self.assertRaises(Fail) as cm:
            self.call("routing", self.b.client())
        self.assertEqual(cm.exception.code, 6004)
        self.assertIn("Mgmtd::NotPrimary(5000) 1", cm.exception.msg)

    def test_routing_built_once_per_change(self):
        storage_beat(self.mg, 10001, {101: self.targets[101]})
        storage_beat(self.mg, 10002, {102: self.targets[102]})
        r1 = self.call("routing")
        v = r1["version"]
        # unchanged: the same version, null for its holder, the same answer
        # for an older one (built once: the very same object)
        self.assertEqual(self.call("routing", version=v)["routing"], None)
        old1 = self.a.svc.op_routing({"version": v - 1}, None)
        storage_beat(self.mg, 10001, {101: self.targets[101]})
        old2 = self.a.svc.op_routing({"version": v - 1}, None)
        self.assertIs(old1, old2)
        self.assertEqual(old1["version"], v)
        self.assertEqual(self.call("routing", version=v)["routing"], None)
        # a heartbeat that changes a local state changes it
        storage_beat(self.mg, 10001, {101: (1, "ONLINE")})
        r2 = self.call("routing", version=v)
        self.assertGreater(r2["version"], v)
        self.assertEqual(r2["states"]["101"], ["SERVING", "ONLINE"])
        self.assertIsNot(self.a.svc.op_routing({"version": v}, None), old1)

    def test_register_duplicate_after_takeover(self):
        self.call("register_node", node_id=10005, type="META")
        self.takeover()
        with self.assertRaises(Fail) as cm:
            self.call("register_node", self.b.client(), node_id=10005, type="META")
        self.assertEqual((cm.exception.code, cm.exception.msg),
                         (5004, "Node id 10005 duplicated"))
        with self.assertRaises(Fail) as cm:  # and an unknown id still is refused its beat
            storage_beat(self.b.client(), 10099, {})
        self.assertEqual((cm.exception.code, cm.exception.msg), (5002, "10099 not registered"))


if __name__ == "__main__":
    logging.getLogger("standin").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)  # the RPC pool's kept connections
    unittest.main(verbosity=2, warnings=False)
