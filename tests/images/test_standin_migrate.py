#!/usr/bin/env python3
"""Chain migration in the stand-ins (ctest standin_migrate; python3 only, no
docker, no root, a few seconds).

Runs the stand-in mgmtd (on an in-memory key-value store), three storage
nodes and admin_cli in this process, over TCP on 127.0.0.1, and checks the
rules of real 3FS (deepseek-ai/3FS ee9a5ce) they implement:
generateNewChain (src/mgmtd/service/updateChain.cc), TargetMap's local states
(src/storage/service/TargetMap.cc), update-chain (UpdateChainOperation.cc),
offline-target / remove-target (StorageOperator.cc), create-target's LASTSRV
refusal (src/client/cli/admin/CreateTarget.cc), the resync that fills a
SYNCING target, and which targets serve reads and writes. Heartbeats and
routing refreshes are driven by the test (beat()), not by timers.
"""
import base64
import logging
import os
import shutil
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))

from standin import chainstate as cs  # noqa: E402
from standin.admincli import Cli  # noqa: E402
from standin.common import Fail, rpc, serve  # noqa: E402
from standin.kv import Mgmtd  # noqa: E402
from memkv import MemKV  # noqa: E402
from standin.mgmtd import MgmtdService  # noqa: E402
from standin.services import Storage  # noqa: E402

CLUSTER = "migtest"


class Cluster:
    """mgmtd node 1, storage nodes 10001..10003 (one target path each)."""

    def __init__(self, tmp):
        self.kv = MemKV()
        # no newborn chains: states change at once (set as a user would;
        # upstream: 2 min)
        cfg = {"server": {"service": {"allow_heartbeat_from_unregistered": True,
                                      "new_chain_bootstrap_interval": "0ns"}}}
        self.mgmtd = MgmtdService(1, CLUSTER, self.kv, cfg, 0)
        self.mgmtd.on_lease(1, float("inf"))  # the primary, for good
        self.servers = [serve(0, self.mgmtd.dispatch, "mgmtd", host="127.0.0.1")]
        addr = [f"TCP://127.0.0.1:{self.servers[0].server_address[1]}"]
        self.nodes = {}
        for nid in (10001, 10002, 10003):
            path = os.path.join(tmp, str(nid))
            os.makedirs(path)
            st = Storage([path], Mgmtd(addr, "test"), CLUSTER)
            st.configure({"server": {"targets": {"allow_disk_without_uuid": True}}})
            srv = serve(0, st.dispatch, "storage", host="127.0.0.1")
            self.servers.append(srv)
            self.nodes[nid] = (st, srv.server_address[1])
        self.cli = Cli({"cluster_id": CLUSTER, "mgmtd_client": {"mgmtd_server_addresses": addr}},
                       "admin_cli.toml")
        self.cli._mg = Mgmtd(addr, "test")  # no IB manager in a unit test
        self.beat()

    def close(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def beat(self, skip=()):
        """One heartbeat of every storage node (but skip), mgmtd's chain
        update, then every node applies the new routing info."""
        for nid, (st, port) in self.nodes.items():
            if nid in skip:
                continue
            self.mgmtd.dispatch(dict(op="heartbeat", node_id=nid, type="STORAGE",
                                     hostname=f"n{nid}", pid=1, host="127.0.0.1",
                                     tcp_port=port, release="t", cluster_id=CLUSTER,
                                     config_version=0, **st.report()), None)
        self.mgmtd.tick()
        for nid, (st, _) in self.nodes.items():
            if nid not in skip:
                st.refresh()

    def admin(self, line):
        return self.cli.run(line)

    def routing(self):
        return self.mgmtd.op_routing({}, None)

    def chain(self, cid):
        r = self.routing()
        c = r["chains"][str(cid)]
        return c["version"], [(t, *r["states"][str(t)]) for t in c["targets"]]

    def wait_chain(self, cid, want, timeout=10.0):
        """Beat until chain cid is [(tid, public, local)...] == want."""
        deadline = time.time() + timeout
        while True:
            got = self.chain(cid)[1]
            if got == want or time.time() > deadline:
                return got
            self.beat()
            time.sleep(0.05)

    def write(self, cid, chunk, offset, data):
        """A client write: every SERVING and SYNCING target, in chain order."""
        for tid, addr, cv in cs.io_targets(self.routing(), cid, True):
            reply = rpc(addr, {"op": "write_chunk", "target_id": tid, "chain_version": cv,
                               "chunk": chunk, "offset": offset,
                               "data": base64.b64encode(data).decode()})
            assert reply["ok"], reply

    def chunks(self, nid, tid):
        st = self.nodes[nid][0]
        d = st.chunk_dir(tid)
        out = {}
        for n in st.chunk_names(tid):
            with open(os.path.join(d, n), "rb") as f:
                out[n] = f.read()
        return out


def fails(case, fn, code, text):
    with case.assertRaises(Fail) as cm:
        fn()
    case.assertEqual(cm.exception.code, code, cm.exception.msg)
    case.assertIn(text, cm.exception.msg)


class GenerateNewChain(unittest.TestCase):
    """updateChain.cc generateNewChain, transition by transition."""

    def gen(self, *old):
        return cs.generate_new_chain(list(old))

    def test_serving_stays_while_online_or_uptodate(self):
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "SERVING", "ONLINE")),
                         [(1, "SERVING", "UPTODATE"), (2, "SERVING", "ONLINE")])

    def test_serving_offline_goes_offline_when_another_serves(self):
        self.assertEqual(self.gen((1, "SERVING", "OFFLINE"), (2, "SERVING", "UPTODATE")),
                         [(2, "SERVING", "UPTODATE"), (1, "OFFLINE", "OFFLINE")])

    def test_all_serving_offline_first_becomes_lastsrv(self):
        self.assertEqual(self.gen((1, "SERVING", "OFFLINE"), (2, "SERVING", "OFFLINE")),
                         [(1, "LASTSRV", "OFFLINE"), (2, "OFFLINE", "OFFLINE")])

    def test_lastsrv_back_serves_and_others_wait_for_it(self):
        self.assertEqual(self.gen((1, "LASTSRV", "OFFLINE"), (2, "OFFLINE", "ONLINE")),
                         [(1, "LASTSRV", "OFFLINE"), (2, "WAITING", "ONLINE")])
        self.assertEqual(self.gen((1, "LASTSRV", "ONLINE"), (2, "WAITING", "ONLINE")),
                         [(1, "SERVING", "ONLINE"), (2, "SYNCING", "ONLINE")])

    def test_lastsrv_with_serving_goes_offline(self):
        self.assertEqual(self.gen((2, "SERVING", "UPTODATE"), (1, "LASTSRV", "ONLINE")),
                         [(2, "SERVING", "UPTODATE"), (1, "OFFLINE", "ONLINE")])

    def test_one_target_syncs_at_a_time(self):
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "OFFLINE", "ONLINE"),
                                  (3, "OFFLINE", "ONLINE")),
                         [(1, "SERVING", "UPTODATE"), (2, "SYNCING", "ONLINE"),
                          (3, "WAITING", "ONLINE")])

    def test_syncing(self):
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "SYNCING", "UPTODATE")),
                         [(1, "SERVING", "UPTODATE"), (2, "SERVING", "UPTODATE")])
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "SYNCING", "ONLINE")),
                         [(1, "SERVING", "UPTODATE"), (2, "SYNCING", "ONLINE")])
        self.assertEqual(self.gen((1, "SERVING", "OFFLINE"), (2, "SYNCING", "ONLINE")),
                         [(1, "LASTSRV", "OFFLINE"), (2, "WAITING", "ONLINE")])
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "SYNCING", "OFFLINE")),
                         [(1, "SERVING", "UPTODATE"), (2, "OFFLINE", "OFFLINE")])

    def test_offline_uptodate_waits(self):
        self.assertEqual(self.gen((1, "SERVING", "UPTODATE"), (2, "OFFLINE", "UPTODATE")),
                         [(1, "SERVING", "UPTODATE"), (2, "WAITING", "UPTODATE")])

    def test_local_state_on_routing(self):
        self.assertEqual(cs.update_local_state("ONLINE", "SERVING"), "UPTODATE")
        for ps in ("OFFLINE", "LASTSRV", "WAITING"):
            self.assertEqual(cs.update_local_state("UPTODATE", ps), "OFFLINE")
        self.assertEqual(cs.update_local_state("ONLINE", "SYNCING"), "ONLINE")
        self.assertEqual(cs.update_local_state("UPTODATE", "SYNCING"), "UPTODATE")

    def test_place_and_status(self):
        pub = {"1": "SERVING", "2": "OFFLINE", "3": "SYNCING"}
        self.assertEqual(cs.place_in_chain([1, 2, 3], pub, 1), (True, False, 3))
        self.assertEqual(cs.place_in_chain([1, 2, 3], pub, 3), (False, True, None))
        self.assertEqual(cs.place_in_chain([1, 2], {"1": "SERVING", "2": "OFFLINE"}, 1),
                         (True, True, None))
        self.assertEqual(cs.chain_status(["SERVING", "SYNCING"]), "SYNCING")
        self.assertEqual(cs.chain_status(["SERVING", "SERVING"]), "SERVING")
        self.assertEqual(cs.chain_status(["SERVING", "OFFLINE"]), "SERVING(1/2)")
        self.assertEqual(cs.chain_status(["LASTSRV", "OFFLINE"]), "UNAVAILABLE")


class Migration(unittest.TestCase):
    """One chain, 101 on node 10001 and 201 on 10002, moved to 301 on 10003."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="standin-migrate-")
        self.c = Cluster(self.tmp)
        a = self.c.admin
        a("create-target --node-id 10001 --disk-index 0 --target-id 101 --chain-id 1")
        a("create-target --node-id 10002 --disk-index 0 --target-id 201 --chain-id 1")
        self.c.beat()  # mgmtd learns their local states
        path = os.path.join(self.tmp, "chains.csv")
        with open(path, "w") as f:
            f.write("ChainId,TargetId,TargetId\n1,101,201\n")
        a(f"upload-chains {path}")
        self.c.beat()  # storage: ONLINE and SERVING is UPTODATE; mgmtd learns it next
        self.assertEqual(self.c.chain(1), (1, [(101, "SERVING", "ONLINE"),
                                               (201, "SERVING", "ONLINE")]))
        self.c.beat()
        self.assertEqual(self.c.chain(1), (1, [(101, "SERVING", "UPTODATE"),
                                               (201, "SERVING", "UPTODATE")]))
        for i in range(5):
            self.c.write(1, f"7.{i}", 0, bytes([i]) * (1000 + i))
        self.c.write(1, "7.0", 10, b"edit")

    def tearDown(self):
        self.c.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def offline_101(self):
        self.c.admin("offline-target --node-id 10001 --target-id 101")
        return self.c.wait_chain(1, [(201, "SERVING", "UPTODATE"), (101, "OFFLINE", "OFFLINE")])

    def test_update_chain_refusals(self):
        a = self.c.admin
        fails(self, lambda: a("update-chain 1 101 --mode remove"), 3,
              "Do not allow to remove target 101 from chain 1: state is SERVING")
        fails(self, lambda: a("update-chain 1 201 --mode add"), 5018, "target: 201")
        fails(self, lambda: a("update-chain 9 301 -m add"), 5012, "chain: 9")
        fails(self, lambda: a("update-chain 1 301 --mode remove"), 5017,
              "target 301 is not found in chain 1")
        fails(self, lambda: a("update-chain 0 301 --mode add"), 3, "Empty chain id")
        fails(self, lambda: a("update-chain 1 0 --mode add"), 3, "Empty target id")
        fails(self, lambda: a("update-chain 1 301 --mode move"), 10000, "Invalid mode: move")
        fails(self, lambda: a("update-chain 1 301"), 10000, "usage")
        self.assertEqual(self.c.chain(1)[0], 1, "a refused update leaves the version")

    def test_offline_target_rules(self):
        a = self.c.admin
        fails(self, lambda: a("offline-target --node-id 10001 --target-id 999"), 7004,
              "target 999 not found")
        fails(self, lambda: a("offline-target --node-id 10003 --target-id 101"), 7004,
              "target 101 not found")  # a target on the wrong node
        fails(self, lambda: a("offline-target --node-id 10001"), 10000, "usage")
        self.assertEqual(a("offline-target --target-id 101"),  # node from the routing info
                         [["Offline target 101 of 10001 succeeded"]])
        got = self.c.wait_chain(1, [(201, "SERVING", "UPTODATE"), (101, "OFFLINE", "OFFLINE")])
        self.assertEqual(got, [(201, "SERVING", "UPTODATE"), (101, "OFFLINE", "OFFLINE")])
        self.assertEqual(self.c.chain(1)[0], 2, "the state change bumped the chain version")
        rows = a("list-chains")
        self.assertEqual(rows[1][:5], ["1", "N/A", "2", "SERVING(1/2)", "[]"])
        self.assertEqual(rows[1][5:], ["201(SERVING-UPTODATE)", "101(OFFLINE-OFFLINE)"])
        fails(self, lambda: a("offline-target --node-id 10001 --target-id 101"), 4030,
              "target is already offline")
        fails(self, lambda: a("offline-target --node-id 10002 --target-id 201"), 4032,
              "target is the last online target!")
        # --force: the last one goes LASTSRV, not OFFLINE, so it cannot be removed
        a("offline-target --node-id 10002 --target-id 201 --force")
        got = self.c.wait_chain(1, [(201, "LASTSRV", "OFFLINE"), (101, "OFFLINE", "OFFLINE")])
        self.assertEqual(got, [(201, "LASTSRV", "OFFLINE"), (101, "OFFLINE", "OFFLINE")])
        fails(self, lambda: a("update-chain 1 201 --mode remove"), 3, "state is LASTSRV")
        self.assertEqual(a("list-chains")[1][3], "UNAVAILABLE")
        fails(self, lambda: a("create-target --node-id 10003 --disk-index 0 --target-id 201 "
                              "--chain-id 1"), 7004, "creation of this target is prohibited")

    def test_remove_target_rules(self):
        a = self.c.admin
        fails(self, lambda: a("remove-target --node-id 10001 --target-id 101"), 4032,
              "target is not offline!")
        fails(self, lambda: a("remove-target --target-id 101"), 10000, "usage")
        self.offline_101()
        fails(self, lambda: a("remove-target --node-id 10001 --target-id 101"), 4032,
              "target is still in a chain!")
        rows = a("update-chain 1 101 --mode remove")
        self.assertEqual(rows, [["ChainId", "1"], ["ChainVersion", "3"],
                                ["Target", "201(SERVING)"], ["PreferredOrder", "[]"]])
        self.c.beat()
        self.assertEqual(a("list-targets --orphan")[1][:4], ["101", "OFFLINE", "10001", "0"])
        self.assertEqual(a("remove-target --node-id 10001 --target-id 101"),
                         [["Remove target 101 of 10001 succeeded"]])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "10001", "101")))
        self.c.beat()
        self.assertNotIn("101", self.c.routing()["targets"])
        fails(self, lambda: a("remove-target --node-id 10001 --target-id 101"), 7004,
              "target 101 not found")

    def test_move_replica_resyncs(self):
        a = self.c.admin
        self.offline_101()
        a("update-chain 1 101 --mode remove")
        # out of its chain, 101 is listed nowhere until its node's next
        # heartbeat makes it an orphan (UpdateChainOperation.cc clearTargetInfo)
        listed = {r[0] for r in a("list-targets")[1:] + a("list-targets --orphan")[1:]}
        self.assertNotIn("101", listed)
        self.c.beat()
        self.assertEqual(a("list-targets --orphan")[1][:2], ["101", "OFFLINE"])
        a("remove-target --node-id 10001 --target-id 101")
        a("create-target --node-id 10003 --disk-index 0 --target-id 301 --chain-id 1 "
          "--use-new-chunk-engine")
        fails(self, lambda: a("create-target --node-id 10003 --disk-index 0 --target-id 302 "
                              "--chain-id 1"), 4018, "is existing with same chain id")
        # mgmtd learns of 301 from its node's next heartbeat only; creating
        # it again meanwhile succeeds (allowExistingTarget defaults to true)
        # an OFFLINE target's used size is not reported (updateHeartbeatPayload)
        self.assertEqual(a("list-targets --orphan")[1:], [["101", "OFFLINE", "10001", "0", "0"]])
        a("create-target --node-id 10003 --disk-index 0 --target-id 301 --chain-id 1")
        self.assertEqual(a("list-targets --orphan")[1:], [["101", "OFFLINE", "10001", "0", "0"]])
        self.c.beat()  # and 101 is forgotten once its node no longer reports it
        self.assertEqual(a("list-targets --orphan")[1:], [["301", "ONLINE", "10003", "0", "0"]])
        # writes reach SERVING and SYNCING targets only: 301 is still OFFLINE
        self.c.write(1, "7.5", 0, b"before-add")
        rows = a("update-chain 1 301 --mode ADD")
        self.assertEqual(rows[2:], [["Target", "201(SERVING)"], ["Target", "301(OFFLINE)"],
                                    ["PreferredOrder", "[]"]])
        v_add = self.c.chain(1)[0]
        got = self.c.wait_chain(1, [(201, "SERVING", "UPTODATE"), (301, "SERVING", "UPTODATE")])
        self.assertEqual(got, [(201, "SERVING", "UPTODATE"), (301, "SERVING", "UPTODATE")])
        self.assertGreaterEqual(self.c.chain(1)[0], v_add + 2, "SYNCING, then SERVING")
        self.assertEqual(self.c.chunks(10003, 301), self.c.chunks(10002, 201))
        self.assertEqual(len(self.c.chunks(10003, 301)), 6)
        self.assertEqual(self.c.chunks(10003, 301)["7.0"][10:14], b"edit")
        rows = a("list-targets")
        self.assertEqual(rows[2][:6], ["301", "1", "TAIL", "SERVING", "UPTODATE", "10003"])
        self.assertEqual(rows[2][7], str(sum(map(len, self.c.chunks(10003, 301).values()))))
        # reads: from SERVING targets; 301 answers with what 201 held
        tids = [t for t, _, _ in cs.io_targets(self.c.routing(), 1, False)]
        self.assertEqual(tids, [201, 301])
        addr = ("127.0.0.1", self.c.nodes[10003][1])
        reply = rpc(addr, {"op": "read_chunk", "target_id": 301, "chunk": "7.3", "offset": 0,
                           "length": 4, "chain_version": self.c.chain(1)[0]})
        self.assertEqual(base64.b64decode(reply["data"]), bytes([3]) * 4)

    def test_syncing_target_gets_writes_not_reads(self):
        self.offline_101()
        self.c.admin("update-chain 1 101 --mode remove")
        self.c.beat(skip=(10002,))  # 201's node does not learn it: no resync yet
        self.c.admin("create-target --node-id 10003 --disk-index 0 --target-id 301 "
                     "--chain-id 1")
        self.c.admin("update-chain 1 301 --mode add")
        self.c.beat(skip=(10002,))
        self.assertEqual(self.c.chain(1)[1], [(201, "SERVING", "UPTODATE"),
                                              (301, "SYNCING", "ONLINE")])
        r = self.c.routing()
        self.assertEqual([t for t, _, _ in cs.io_targets(r, 1, False)], [201])
        self.assertEqual([t for t, _, _ in cs.io_targets(r, 1, True)], [201, 301])
        # the write names a chain version 10002 does not know yet: it
        # refreshes its routing info first (and so starts the resync)
        self.c.write(1, "8.0", 0, b"during-sync")
        self.assertEqual(self.c.chunks(10003, 301)["8.0"], b"during-sync")
        got = self.c.wait_chain(1, [(201, "SERVING", "UPTODATE"), (301, "SERVING", "UPTODATE")])
        self.assertEqual(got[1], (301, "SERVING", "UPTODATE"))
        self.assertEqual(self.c.chunks(10003, 301), self.c.chunks(10002, 201))

    def test_stale_chain_version_refused(self):
        v = self.c.chain(1)[0]
        self.offline_101()
        addr = ("127.0.0.1", self.c.nodes[10002][1])
        reply = rpc(addr, {"op": "write_chunk", "target_id": 201, "chain_version": v,
                           "chunk": "7.0", "offset": 0, "data": "eA=="})
        self.assertEqual((reply["ok"], reply["code"]), (False, 7014))
        self.assertIn("version mismatch", reply["msg"])
        addr = ("127.0.0.1", self.c.nodes[10001][1])
        reply = rpc(addr, {"op": "read_chunk", "target_id": 101, "chunk": "7.0", "offset": 0,
                           "length": 1})
        self.assertEqual((reply["ok"], reply["code"]), (False, 4030), "offlined: no I/O")

    def test_add_rules_follow_upstream(self):
        """add checks neither that the target exists nor its node: a target
        never created joins OFFLINE and stays so; it can then be removed."""
        a = self.c.admin
        a("update-chain 1 999 --mode add")
        self.c.beat()
        self.assertEqual(self.c.chain(1)[1][2], (999, "OFFLINE", "OFFLINE"))
        self.assertEqual(a("list-chains")[1][3], "SERVING(2/3)")
        a("update-chain 1 999 --mode remove")
        self.assertEqual([t for t, _, _ in self.c.chain(1)[1]], [101, 201])

    def test_target_node_follows_heartbeats(self):
        """mgmtd learns a target's node from the heartbeats that report it
        (a second process on the same disks reported 101 meanwhile)."""
        st, port = self.c.nodes[10001]
        self.c.mgmtd.dispatch(dict(op="heartbeat", node_id=10009, type="STORAGE", hostname="x",
                                   pid=1, host="127.0.0.1", tcp_port=port, release="t",
                                   cluster_id=CLUSTER, config_version=0, **st.report()), None)
        self.assertEqual(self.c.routing()["targets"]["101"]["node_id"], 10009)
        self.c.beat()
        self.assertEqual(self.c.routing()["targets"]["101"]["node_id"], 10001)
        self.assertEqual(self.c.chain(1)[1][0], (101, "SERVING", "UPTODATE"))

    def test_node_down_and_back_resyncs(self):
        """A node that stops heartbeating (the process keeps running): its
        target goes OFFLINE; back, the node sees WAITING, drops its UPTODATE
        state, reloads the target (ONLINE), which then SYNCs and gets what
        was written meanwhile."""
        # 61 s without a heartbeat (heartbeat_fail_interval, 60 s): mgmtd's
        # memory only, moved back
        self.c.mgmtd.node_ts["10001"] -= 61
        self.c.mgmtd.tlocal["101"]["ts"] -= 61
        self.c.mgmtd.tick()
        self.assertEqual(self.c.chain(1)[1], [(201, "SERVING", "UPTODATE"),
                                              (101, "OFFLINE", "UPTODATE")][:1]
                         + [(101, "OFFLINE", "OFFLINE")])
        self.c.write(1, "9.0", 0, b"while-down")
        self.c.beat()
        self.assertEqual(self.c.chain(1)[1][1], (101, "WAITING", "UPTODATE"))
        self.c.beat()
        self.assertEqual(self.c.chain(1)[1][1][:2], (101, "SYNCING"))
        got = self.c.wait_chain(1, [(201, "SERVING", "UPTODATE"), (101, "SERVING", "UPTODATE")])
        self.assertEqual(got, [(201, "SERVING", "UPTODATE"), (101, "SERVING", "UPTODATE")])
        self.assertEqual(self.c.chunks(10001, 101)["9.0"], b"while-down")


if __name__ == "__main__":
    logging.getLogger("standin").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)  # the RPC pool's kept connections
    unittest.main(verbosity=2, warnings=False)  # keep the filter above
