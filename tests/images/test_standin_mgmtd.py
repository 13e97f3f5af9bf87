#!/usr/bin/env python3
"""The mgmtd stand-in's state and lease (ctest standin_mgmtd; python3 only,
no docker, no root, a few seconds).

Runs the fdb stand-in (fdbserver) as a local process on 127.0.0.1 and two
mgmtd stand-ins (MgmtdService, mgmtd 1 and 2) in this process, each with its
own KV client and TCP listener; their background tasks (services.mgmtd_tick,
with a 1 s lease set in their config, as a user would) are driven by the
test. Checks what real mgmtd does
(deepseek-ai/3FS ee9a5ce): the primary keeps the cluster state in memory,
loaded when it takes the lease (src/mgmtd/background/MgmtdLeaseExtender.cc
onNewLease) and written through to FDB; heartbeats are not persisted; a
standby answers Mgmtd::NotPrimary naming the primary (helpers.cc
ensureSelfIsPrimary) and the client goes on to the primary; the routing
info has a version and a client holding the current one gets none
(GetRoutingInfoOperation.cc, MgmtdData::getRoutingInfo). And its timing:
the hot-updated durations of MgmtdConfig.h with their code defaults when
absent (checked by the state they produce, not by waiting), set by
set-config at run time; the lease (MgmtdStore::extendLease,
MgmtdState::currentLease), the heartbeat checker (MgmtdHeartbeatChecker.cc)
and the newborn chains (MgmtdNewBornChainsChecker.cc); the background tasks'
intervals (BackgroundRunner.cc) and the services' mgmtd client
(MgmtdClient.h: AutoHeartbeat, AutoRefresh).
"""
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "lib")
sys.path.insert(0, LIB)

from standin.common import Fail, parse_duration, rpc, run_every, serve  # noqa: E402
from standin.kv import KV, Mgmtd  # noqa: E402
from standin.mgmtd import TIMINGS, MgmtdService  # noqa: E402
from standin.schema import check_main  # noqa: E402
from standin import services  # noqa: E402
from standin.services import Member, client_config, mgmtd_tick  # noqa: E402
from memkv import MemKV  # noqa: E402

CLUSTER = "mgmtdtest"
TTL = 1.0  # the lease; trusted to its end (upstream: 60 s, trusted while 20 s are left)
CFG = {"server": {"service": {"allow_heartbeat_from_unregistered": False,
                              "lease_length": "1s", "suspicious_lease_interval": "0s"}}}
# MgmtdConfig.h's code defaults, in seconds
UPSTREAM = {"lease_length": 60, "extend_lease_interval": 10, "suspicious_lease_interval": 20,
            "check_status_interval": 10, "heartbeat_fail_interval": 60,
            "new_chain_bootstrap_interval": 120, "send_heartbeat_interval": 10,
            "update_chains_interval": 1}


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
        self.env = dict(os.environ, PYTHONPATH=LIB, FDB_CLUSTER_FILE=self.cluster_file,
                        FDB_CLUSTER_FILE_CONTENTS=f"test:test@127.0.0.1:{self.port}",
                        FDB_PORT=str(self.port), FDB_DATA_DIR=os.path.join(tmp, "data"),
                        FDB_LOG_DIR=os.path.join(tmp, "log"))
        self.spawn()
        reply = rpc(("127.0.0.1", self.port), {"op": "configure", "new": True,
                                               "redundancy": "single", "engine": "ssd"})
        assert reply.get("ok"), reply

    def spawn(self):
        self.proc = subprocess.Popen([sys.executable, "-c",
                                      "from standin.fdbserver import main; main()"],
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        addr = ("127.0.0.1", self.port)
        for _ in range(100):
            try:
                if rpc(addr, {"op": "ping"}, timeout=1.0).get("ok"):
                    break
            except Exception:
                pass
            time.sleep(0.05)

    def restart(self):
        self.close()
        self.spawn()

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Node:
    """One mgmtd: service, listener, KV client, its lease seconds."""

    def __init__(self, nid, cluster_file, cfg=CFG):
        self.kv = CountingKV(cluster_file, "test", wait=2.0)
        self.svc = MgmtdService(nid, CLUSTER, self.kv, cfg, 0)
        self.srv = serve(0, self.svc.dispatch, "mgmtd", host="127.0.0.1")
        self.port = self.srv.server_address[1]
        self.addr = f"TCP://127.0.0.1:{self.port}"
        self.svc.rec = {"node_id": nid, "type": "MGMTD", "hostname": f"m{nid}", "pid": 1,
                        "host": "127.0.0.1", "tcp_port": self.port, "release": "t"}

    def tick(self):
        mgmtd_tick(self.svc)

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

    def test_lease_is_durable(self):
        """The lease is a key in FDB (MgmtdStore): an FDB restart keeps it,
        so the primary extends the same lease and keeps its state (no new
        lease, no reload: the routing version stays)."""
        lease, v = self.a.svc.lease, self.call("routing")["version"]
        self.assertEqual(self.raw.get("lease/mgmtd"), lease)
        self.fdb.restart()
        self.a.tick()
        self.assertEqual(self.a.svc.lease["start"], lease["start"])
        self.assertGreater(self.a.svc.lease["end"], lease["end"])
        self.assertTrue(self.a.svc.is_primary())
        self.assertEqual(self.call("routing")["version"], v)

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


ALLOW = {"server": {"service": {"allow_heartbeat_from_unregistered": True}}}
SELF = {"node_id": 1, "type": "MGMTD", "hostname": "m1", "pid": 1, "host": "127.0.0.1",
        "tcp_port": 1, "release": "t"}


class Timing(unittest.TestCase):
    """mgmtd's durations (MgmtdConfig.h, server.service.*) on an in-memory
    KV, with storage node 10001 (target 101 of chain 1) and a registered
    node 10002 that never beats: the code defaults when the config names
    none, shown by the state they produce when the timestamps are moved back
    (no test waits a minute); set-config changing them at run time; and the
    background tasks at the intervals a config sets."""

    def start(self, cfg=ALLOW):
        svc = MgmtdService(1, CLUSTER, MemKV(), cfg, 0, rec=SELF)
        svc.extend_lease()
        self.assertTrue(svc.is_primary())
        return svc

    @staticmethod
    def call(svc, op, **kw):
        return svc.dispatch(dict(kw, op=op, cluster_id=CLUSTER), None)

    def beat(self, svc, state="UPTODATE"):
        self.call(svc, "heartbeat", node_id=10001, type="STORAGE", hostname="s1", pid=1,
                  host="127.0.0.1", tcp_port=1, release="t", config_version=0,
                  targets={"101": {"local": state, "used": 0, "disk_index": 0, "chain_id": 1}})

    def cluster(self, svc):
        self.call(svc, "register_node", node_id=10002, type="STORAGE")
        self.beat(svc)
        self.call(svc, "set_chains", chains=[[1, [101]]])
        self.beat(svc)  # a new chain's target is OFFLINE until its node reports it
        svc.tick()

    @staticmethod
    def age(svc, secs):
        """Every timestamp of mgmtd's memory secs older (as if that much
        time had passed without a heartbeat)."""
        for nid in svc.node_ts:
            svc.node_ts[nid] -= secs
        for ti in svc.tlocal.values():
            ti["ts"] -= secs
        for cid in svc.newborn:
            svc.newborn[cid] -= secs

    @staticmethod
    def state(svc):
        r = svc.op_routing({}, None)
        return (r["nodes"]["10001"]["status"], r["nodes"]["10002"]["status"],
                tuple(r["states"]["101"]))

    def test_defaults_when_absent(self):
        svc = self.start({})
        self.assertEqual(svc.timing, UPSTREAM)
        self.assertEqual(TIMINGS, UPSTREAM)
        self.assertEqual((svc.send_heartbeat, svc.allow_heartbeat_from_unregistered,
                          svc.authenticate), (True, False, False))
        # the lease: taken for lease_length, trusted while more than
        # suspicious_lease_interval is left (MgmtdState::currentLease)
        lease = svc.lease
        self.assertAlmostEqual(lease["end"] - lease["start"], 60, delta=1)
        self.assertEqual(svc.kv.get("lease/mgmtd"), lease)
        svc.lease = dict(lease, end=time.time() + 21)
        self.assertTrue(svc.is_primary())
        svc.lease = dict(lease, end=time.time() + 19)
        self.assertFalse(svc.is_primary())
        with self.assertRaises(Fail) as cm:
            self.call(svc, "routing")
        self.assertEqual((cm.exception.code, cm.exception.msg), (5000, ""))
        svc.extend_lease()  # the holder extends its own lease, keeping its start
        self.assertEqual(svc.lease["start"], lease["start"])
        self.assertAlmostEqual(svc.lease["end"] - time.time(), 60, delta=1)
        self.assertTrue(svc.is_primary())

    def test_heartbeat_fail_interval_default(self):
        """60 s without a heartbeat: not yet at 59 s, HEARTBEAT_FAILED and
        the target locally OFFLINE at 61 s (MgmtdHeartbeatChecker.cc); the
        chain keeps its states for 2 min (newborn), then changes."""
        svc = self.start()
        self.cluster(svc)
        self.assertEqual(self.state(svc), ("HEARTBEAT_CONNECTED", "HEARTBEAT_CONNECTING",
                                           ("SERVING", "UPTODATE")))
        self.age(svc, 59)
        svc.tick()
        self.assertEqual(self.state(svc), ("HEARTBEAT_CONNECTED", "HEARTBEAT_CONNECTING",
                                           ("SERVING", "UPTODATE")))
        self.age(svc, 2)
        svc.tick()
        self.assertEqual(self.state(svc), ("HEARTBEAT_FAILED", "HEARTBEAT_FAILED",
                                           ("SERVING", "OFFLINE")))
        self.age(svc, 58)  # 119 s since the chain was made: still newborn
        svc.tick()
        self.assertEqual(self.state(svc)[2], ("SERVING", "OFFLINE"))
        self.age(svc, 1)
        svc.tick()
        self.assertEqual(self.state(svc)[2], ("LASTSRV", "OFFLINE"))
        self.beat(svc)  # back: CONNECTED; the chain follows its local state
        svc.tick()
        self.assertEqual(self.state(svc), ("HEARTBEAT_CONNECTED", "HEARTBEAT_FAILED",
                                           ("SERVING", "UPTODATE")))

    def test_takeover_restarts_the_clocks(self):
        """After a takeover every node is CONNECTING and every chain newborn
        from the load: a node that never beats again fails 60 s later."""
        svc = self.start()
        self.cluster(svc)
        svc2 = MgmtdService(1, CLUSTER, svc.kv, ALLOW, 0, rec=SELF)
        svc2.on_lease(1, time.time() + 60, time.time())
        self.assertEqual(self.state(svc2), ("HEARTBEAT_CONNECTING", "HEARTBEAT_CONNECTING",
                                            ("SERVING", "OFFLINE")))
        self.age(svc2, 61)
        svc2.tick()
        self.assertEqual(self.state(svc2)[:2], ("HEARTBEAT_FAILED", "HEARTBEAT_FAILED"))
        self.assertEqual(self.state(svc2)[2], ("SERVING", "OFFLINE"))  # newborn: 2 min
        self.age(svc2, 60)
        svc2.tick()
        self.assertEqual(self.state(svc2)[2], ("LASTSRV", "OFFLINE"))

    def test_set_config_changes_them(self):
        """set-config --type MGMTD hot-updates them at once; a key the text
        leaves out keeps its value (ConfigBase::update); a duration that
        does not parse is stored but not applied."""
        svc = self.start()
        self.cluster(svc)
        text = ("[server.service]\nheartbeat_fail_interval = '2s'\n"
                "new_chain_bootstrap_interval = '0ns'\ncheck_status_interval = '1min 30s'\n")
        self.assertEqual(self.call(svc, "set_config", type="MGMTD", content=text)["version"], 1)
        self.assertEqual(svc.timing, dict(UPSTREAM, heartbeat_fail_interval=2,
                                          new_chain_bootstrap_interval=0,
                                          check_status_interval=90))
        self.assertTrue(svc.allow_heartbeat_from_unregistered)  # absent: kept
        self.assertEqual(svc.config_version, 1)
        self.age(svc, 1)
        svc.tick()
        self.assertEqual(self.state(svc)[0], "HEARTBEAT_CONNECTED")
        self.age(svc, 1.5)
        svc.tick()
        # the target was stamped when its chain stopped being newborn (the
        # first tick after the set-config): it fails a second later
        self.assertEqual(self.state(svc), ("HEARTBEAT_FAILED", "HEARTBEAT_FAILED",
                                           ("SERVING", "UPTODATE")))
        self.age(svc, 1)
        svc.tick()
        self.assertEqual(self.state(svc)[2], ("LASTSRV", "OFFLINE"))
        bad = "[server.service]\nheartbeat_fail_interval = '1.5s'\n"
        self.assertEqual(self.call(svc, "set_config", type="MGMTD", content=bad)["version"], 2)
        self.assertEqual(svc.timing["heartbeat_fail_interval"], 2)
        self.assertEqual(svc.config_version, 2)

    def test_durations_at_load(self):
        """A duration item must parse (Duration::from): the main config does
        not load otherwise; the forms the dumps print do."""
        good = {"server": {"service": {"lease_length": "1min", "check_status_interval": "10s",
                                       "new_chain_bootstrap_interval": "2min",
                                       "heartbeat_fail_interval": "1min 30s"}}}
        check_main("MGMTD", good, "mgmtd_main.toml")
        svc = MgmtdService(1, CLUSTER, MemKV(), good, 0)
        self.assertEqual(svc.timing["heartbeat_fail_interval"], 90)
        for text in ("1.5s", "60", "1min30s", "10S", ""):
            with self.assertRaises(Fail) as cm:
                check_main("MGMTD", {"server": {"service": {"lease_length": text}}}, "m.toml")
            self.assertEqual(cm.exception.code, 17)
            self.assertIn("name: server.service.lease_length, error: InvalidConfig(4) ",
                          cm.exception.msg)
        self.assertEqual([parse_duration(t) for t in ("60s", "1min", "2min", "200ms", "0ns",
                                                       "1day", " 5 s ")],
                         [60, 60, 120, 0.2, 0, 86400, 5])

    def test_background_tasks_at_configured_intervals(self):
        """run_mgmtd's tasks (services.start_mgmtd_tasks) at the intervals of
        a config with short ones: a node that stops beating fails after the
        heartbeat fail interval; set-config of a longer one keeps it alive."""
        short = {"server": {"service": {"allow_heartbeat_from_unregistered": True,
                                        "check_status_interval": "50ms",
                                        "heartbeat_fail_interval": "300ms",
                                        "new_chain_bootstrap_interval": "0ns",
                                        "update_chains_interval": "50ms",
                                        "extend_lease_interval": "100ms"}}}
        svc = MgmtdService(1, CLUSTER, MemKV(), short, 0, rec=SELF)
        stop = threading.Event()
        services.start_mgmtd_tasks(svc, stop)
        try:
            deadline = time.time() + 5
            while not svc.is_primary():
                self.assertLess(time.time(), deadline)
                time.sleep(0.02)
            self.cluster(svc)
            t0 = time.time()
            while self.state(svc)[0] != "HEARTBEAT_FAILED":
                self.assertLess(time.time(), t0 + 5, "never failed")
                time.sleep(0.02)
            self.assertGreater(time.time() - t0, 0.25)
            deadline = time.time() + 5
            while self.state(svc)[2] != ("LASTSRV", "OFFLINE"):  # the chains updater
                self.assertLess(time.time(), deadline)
                time.sleep(0.02)
            self.call(svc, "set_config", type="MGMTD",
                      content="[server.service]\nheartbeat_fail_interval = '1min'\n")
            self.beat(svc)
            time.sleep(0.5)
            self.assertEqual(self.state(svc)[0], "HEARTBEAT_CONNECTED")
        finally:
            stop.set()

    def test_run_every(self):
        """BackgroundRunner::run: the interval is read after each round; 0
        ends the task."""
        stop, rounds, interval = threading.Event(), [], [0.05]
        thread = run_every("t", lambda: rounds.append(1), lambda: interval[0], stop)
        time.sleep(0.4)
        self.assertGreaterEqual(len(rounds), 4)
        interval[0] = 0
        thread.join(timeout=2)
        self.assertFalse(thread.is_alive())
        n = len(rounds)
        time.sleep(0.2)
        self.assertEqual(len(rounds), n)
        stop.set()


class FakeMgmtd:
    """What a service's mgmtd client talks to: counts heartbeats, serves the
    latest main config (version = its index + 1)."""

    def __init__(self):
        self.beats, self.configs, self.lock = [], [], threading.Lock()

    def call(self, op, **kw):
        with self.lock:
            if op == "heartbeat":
                self.beats.append(kw.get("targets"))
                return {"ok": True, "config_version": len(self.configs)}
            if op == "get_config":
                return {"ok": True, "version": len(self.configs), "content": self.configs[-1],
                        "desc": ""}
        raise Fail("no", 6004, "MgmtdClient::RoutingInfoNotReady")


class FakeCtx:
    kind, node_id, hostname, cluster_id, opts = "STORAGE", 10001, "s1", CLUSTER, {}

    def main_config(self, fetch):
        import tomllib
        cfg = fetch()
        data = tomllib.loads(cfg["content"])
        check_main(self.kind, data, "storage_main.toml")
        return data, cfg["version"], "storage_main.toml"


class ServiceClient(unittest.TestCase):
    """A service's mgmtd client (MgmtdClient::Config of its main config:
    storage's server.mgmtd, meta's server.mgmtd_client, FUSE's mgmtd)."""

    def test_defaults_and_sections(self):
        self.assertEqual(client_config("STORAGE", {}),
                         {"enable_auto_heartbeat": True, "auto_heartbeat_interval": 10,
                          "enable_auto_refresh": True, "auto_refresh_interval": 10})
        meta = {"server": {"mgmtd_client": {"auto_heartbeat_interval": "1min"}}}
        self.assertEqual(client_config("META", meta)["auto_heartbeat_interval"], 60)
        self.assertEqual(client_config("FUSE", {"mgmtd": {"auto_refresh_interval": "2s"}})
                         ["auto_refresh_interval"], 2)
        # the FUSE client's storage retry (StorageClient::RetryConfig, RetryOptions)
        self.assertEqual(services.fuse_retry({}, "read"), [10, 30, 60])
        cfg = {"storage": {"retry": {"init_wait_time": "2s"}},
               "storage_io": {"write": {"retry": {"max_retry_time": "5s"}},
                              "read": {"retry": {"max_retry_time": "0ns"}}}}
        self.assertEqual(services.fuse_retry(cfg, "read"), [2, 30, 60])
        self.assertEqual(services.fuse_retry(cfg, "write"), [2, 30, 5])

    def test_heartbeat_interval_hot_updated(self):
        """AutoHeartbeat at the configured interval; a new config version
        (set-config --type STORAGE) with another one applies from the next
        round; a local state change sends a heartbeat within a second
        (CheckWorker), whatever the interval."""
        mg, states = FakeMgmtd(), {"101": "UPTODATE"}

        def report():
            return {"targets": {t: {"local": s, "used": 0, "disk_index": 0, "chain_id": 1}
                                for t, s in states.items()}}
        data = {"server": {"mgmtd": {"auto_heartbeat_interval": "100ms"}}}
        member = Member(FakeCtx(), mg, ("127.0.0.1", 1), 0, data, report=report,
                        refresh=lambda: None)
        stop = threading.Event()
        threading.Thread(target=member.run, args=(stop,), daemon=True).start()
        try:
            time.sleep(0.55)
            self.assertGreaterEqual(len(mg.beats), 4)
            mg.configs.append("[server.mgmtd]\nauto_heartbeat_interval = '1min'\n"
                              "mgmtd_server_addresses = ['TCP://127.0.0.1:1']\n"
                              "[server.targets]\ntarget_paths = ['/tmp']\n")
            deadline = time.time() + 3
            while member.client["auto_heartbeat_interval"] != 60:
                self.assertLess(time.time(), deadline, "the new config was not applied")
                time.sleep(0.02)
            self.assertTrue(member.client["enable_auto_refresh"])
            time.sleep(0.2)  # the round under way ends
            n = len(mg.beats)
            time.sleep(0.4)
            self.assertEqual(len(mg.beats), n)
            states["101"] = "OFFLINE"
            deadline = time.time() + 3
            while len(mg.beats) == n:
                self.assertLess(time.time(), deadline, "no heartbeat after the change")
                time.sleep(0.02)
            self.assertEqual(mg.beats[-1]["101"]["local"], "OFFLINE")
        finally:
            stop.set()
        # a storage node that stops says its targets are OFFLINE (Components::stopAndJoin)
        states["101"] = "UPTODATE"
        member.send_offline_state()
        self.assertEqual(mg.beats[-1]["101"], {"local": "OFFLINE", "used": 0, "disk_index": 0,
                                               "chain_id": 1})

if __name__ == "__main__":
    logging.getLogger("standin").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)  # the RPC pool's kept connections
    unittest.main(verbosity=2, warnings=False)
