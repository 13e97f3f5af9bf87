#!/usr/bin/env python3
"""A storage node's start in the stand-ins (ctest standin_start; python3
only, no docker, no root, about 20 s).

Runs the stand-in mgmtd (on an in-memory store, its background tasks at
short intervals) in this process and storage_main stand-ins as processes
(two nodes, one target each in chain 1), with admin_cli in this process,
and checks what real storage does before it serves (deepseek-ai/3FS ee9a5ce
src/storage/service/Components.cc Components::start / waitRoutingInfo;
StorageServer.cc and src/common/net/Server.cc: the listeners accept only
after beforeStart): it heartbeats with every target OFFLINE and waits,
logging "Waiting for target offline in routing info..." at WARNING each
second, until mgmtd's routing info shows none of its targets SERVING,
SYNCING or WAITING; mgmtd takes a target that reports OFFLINE out of
service (generateNewChain, src/mgmtd/service/updateChain.cc) at once, or,
while its chain is newborn, once new_chain_bootstrap_interval has passed
(MgmtdNewBornChainsChecker.cc); then the node reports ONLINE and the target
resyncs to SERVING-UPTODATE. Meanwhile a request to the node (admin_cli
create-target, offline-target) gets no answer within admin_cli's
storage_client.retry.max_wait_time (RPC::Timeout), and SIGTERM takes effect
only once the start is over (ApplicationBase::mainLoop). A node whose
targets are in no chain yet (a fresh cluster) does not wait. Timings are
short, set in the configs as a user would.
"""
import base64
import logging
import os
import shutil
import signal
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

from standin import chainstate as cs  # noqa: E402
from standin.admincli import Cli  # noqa: E402
from standin.common import Fail, rpc, serve  # noqa: E402
from standin.kv import Mgmtd  # noqa: E402
from standin.mgmtd import MgmtdService  # noqa: E402
from standin import services  # noqa: E402
from memkv import MemKV  # noqa: E402

CLUSTER = "starttest"
NODES = {10001: 101, 10002: 201}  # storage node -> its target (chain 1)
WAITING = "Waiting for target offline in routing info..."

STORAGE_MAIN = """
[[server.base.groups]]
network_type = 'LOCAL'
services = [ 'StorageSerde' ]

[server.base.groups.listener]
listen_port = 0

[server.mgmtd]
mgmtd_server_addresses = ["TCP://127.0.0.1:{port}"]
auto_heartbeat_interval = '200ms'
auto_refresh_interval = '200ms'

[server.targets]
target_paths = ["/nonexistent"]
allow_disk_without_uuid = true
"""


def mgmtd_config(newborn):
    return {"server": {"service": {"allow_heartbeat_from_unregistered": True,
                                   "check_status_interval": "100ms",
                                   "update_chains_interval": "100ms",
                                   "extend_lease_interval": "100ms",
                                   "heartbeat_fail_interval": "1min",
                                   "new_chain_bootstrap_interval": newborn}}}


class Cluster:
    """mgmtd 1 in this process; storage nodes 10001 and 10002 as processes
    (storage_main, each with its own working directory, Storage.log and
    target path)."""

    def __init__(self, tmp, newborn):
        self.tmp, self.procs = tmp, {}
        self.stop = threading.Event()
        self.svc = MgmtdService(1, CLUSTER, MemKV(), mgmtd_config(newborn), 0)
        self.srv = serve(0, self.svc.dispatch, "mgmtd", host="127.0.0.1")
        port = self.srv.server_address[1]
        self.svc.rec = {"node_id": 1, "type": "MGMTD", "hostname": "m1", "pid": 1,
                        "host": "127.0.0.1", "tcp_port": port, "release": "t"}
        services.start_mgmtd_tasks(self.svc, self.stop)
        deadline = time.time() + 5
        while not self.svc.is_primary():
            assert time.time() < deadline, "mgmtd never became primary"
            time.sleep(0.02)
        self.addrs = [f"TCP://127.0.0.1:{port}"]
        self.mg = Mgmtd(self.addrs, "test")
        self.mg.call("set_config", cluster_id=CLUSTER, type="STORAGE",
                     content=STORAGE_MAIN.format(port=port))
        self.launcher = os.path.join(tmp, "storage_main_launcher.toml")
        with open(self.launcher, "w", encoding="utf-8") as f:
            f.write(f"cluster_id = '{CLUSTER}'\n\n[mgmtd_client]\nmgmtd_server_addresses = "
                    f"['{self.addrs[0]}']\n\n[ib_devices]\nallow_no_usable_devices = true\n")
        # admin_cli with a 1 s storage request timeout (default 30 s)
        self.cli = Cli({"cluster_id": CLUSTER,
                        "mgmtd_client": {"mgmtd_server_addresses": self.addrs},
                        "storage_client": {"retry": {"max_wait_time": "1s"}}},
                       "admin_cli.toml")
        self.cli._mg = Mgmtd(self.addrs, "test")  # no IB manager in a unit test
        for nid in NODES:
            for sub in ("run", "data"):
                os.makedirs(self.dir(nid, sub))
            with open(self.dir(nid, "storage_main_app.toml"), "w", encoding="utf-8") as f:
                f.write(f"node_id = {nid}\n")

    def dir(self, nid, *sub):
        return os.path.join(self.tmp, str(nid), *sub)

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        self.stop.set()
        self.srv.shutdown()
        self.srv.server_close()

    # ------------------------------------------------------------ storage
    def start(self, nid):
        """storage_main for node nid (its target path by --config.)."""
        p = subprocess.Popen(
            [sys.executable, "-c", "from standin.services import main; main('STORAGE')",
             "--launcher_cfg", self.launcher, "--app_cfg", self.dir(nid, "storage_main_app.toml"),
             f"--config.server.targets.target_paths=['{self.dir(nid, 'data')}']"],
            cwd=self.dir(nid, "run"), env=dict(os.environ, PYTHONPATH=LIB),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs[nid] = p
        return p

    def kill(self, nid):
        """SIGKILL: no last heartbeat, mgmtd keeps what the node said last."""
        p = self.procs[nid]
        p.kill()
        p.wait()

    def log(self, nid):
        try:
            with open(self.dir(nid, "run", "Storage.log"), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def initial_maps(self, nid):
        return [ln.split("Initial target map: ", 1)[1] for ln in self.log(nid).splitlines()
                if "Initial target map: " in ln]

    def serving_since(self, nid):
        """How many times node nid finished its start so far."""
        return self.log(nid).count(f"storage {nid} serving")

    # ------------------------------------------------------------ mgmtd
    def routing(self):
        return self.mg.call("routing", cluster_id=CLUSTER)

    def state(self, tid):
        return tuple(self.routing()["states"].get(str(tid), ("NONE", "NONE")))

    def wait(self, cond, what, timeout=15.0):
        deadline = time.time() + timeout
        while True:
            got = cond()
            if got:
                return got
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def wait_state(self, tid, want, timeout=15.0):
        self.wait(lambda: self.state(tid) == want, f"target {tid} {want} "
                  f"(now {self.state(tid)})", timeout)

    def create_targets_and_chain(self):
        for nid, tid in NODES.items():
            self.cli.run(f"create-target --node-id {nid} --disk-index 0 --target-id {tid} "
                         f"--chain-id 1")
        self.wait(lambda: all(str(t) in self.routing()["targets"] for t in NODES.values()),
                  "the targets in mgmtd")
        path = os.path.join(self.tmp, "chains.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("ChainId,TargetId,TargetId\n1," + ",".join(map(str, NODES.values())) + "\n")
        self.cli.run(f"upload-chains {path}")
        return time.time()

    def write(self, chunk, data):
        """A client write to every SERVING (and SYNCING) target of chain 1."""
        for tid, addr, cv in cs.io_targets(self.routing(), 1, True):
            reply = rpc(addr, {"op": "write_chunk", "target_id": tid, "chain_version": cv,
                               "chunk": chunk, "offset": 0,
                               "data": base64.b64encode(data).decode()})
            assert reply["ok"], reply

    def chunk_file(self, nid, chunk):
        return self.dir(nid, "data", str(NODES[nid]), "chunks", chunk)

    def read_file(self, nid, chunk):
        try:
            with open(self.chunk_file(nid, chunk), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None


class Base(unittest.TestCase):
    NEWBORN = "0ns"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="standin-start-")
        self.c = Cluster(self.tmp, self.NEWBORN)

    def tearDown(self):
        self.c.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_all(self):
        """A fresh cluster: both nodes start with no target and serve at once."""
        for nid in NODES:
            self.c.start(nid)
        for nid in NODES:
            self.c.wait(lambda n=nid: self.c.serving_since(n) == 1, f"node {nid} serving")
            self.assertNotIn(WAITING, self.c.log(nid))
            self.assertEqual(self.c.initial_maps(nid), ["{}"])

    def serving_uptodate(self, timeout=15.0):
        for tid in NODES.values():
            self.c.wait_state(tid, ("SERVING", "UPTODATE"), timeout)


class FreshCluster(Base):
    # a long newborn time: the chain goes SERVING-UPTODATE well before it ends
    NEWBORN = "30s"

    def test_first_start_does_not_wait(self):
        """Targets created after the start, a restart while they are in no
        chain (orphans: no wait), chains uploaded afterwards: SetChains makes
        the targets SERVING (locally OFFLINE in mgmtd until their nodes
        report them ONLINE, which they do within a second) and each node's
        next routing refresh makes them UPTODATE, newborn or not."""
        self.start_all()
        for nid, tid in NODES.items():
            self.c.cli.run(f"create-target --node-id {nid} --disk-index 0 --target-id {tid} "
                           f"--chain-id 1")
        self.c.wait(lambda: all(str(t) in self.c.routing()["targets"] for t in NODES.values()),
                    "the targets in mgmtd")
        self.c.procs[10001].send_signal(signal.SIGTERM)
        self.assertEqual(self.c.procs[10001].wait(timeout=10), 0)
        self.c.start(10001)
        self.c.wait(lambda: self.c.serving_since(10001) == 2, "node 10001 serving again")
        self.assertNotIn(WAITING, self.c.log(10001))
        self.assertEqual(self.c.initial_maps(10001)[-1],
                         '{"101": {"localState": "ONLINE", "publicState": "INVALID"}}')
        t0 = self.c.create_targets_and_chain()
        self.serving_uptodate()
        self.assertLess(time.time() - t0, 10, "waited for the newborn time")
        self.assertNotIn(WAITING, self.c.log(10001) + self.c.log(10002))


class RestartNewborn(Base):
    NEWBORN = "5s"

    def test_restart_waits_for_newborn_chain(self):
        """A node killed while its target is SERVING comes back: it reports
        the target OFFLINE and waits (WARNING each second); mgmtd keeps the
        newborn chain as it is (SERVING, locally OFFLINE) until
        new_chain_bootstrap_interval has passed, then makes the target
        OFFLINE; the node serves, reports ONLINE, and the target goes
        SYNCING, is resynced from its peer (a chunk it lost is back) and
        SERVING-UPTODATE. Meanwhile admin_cli's requests to the node time
        out (RPC::Timeout)."""
        self.start_all()
        t0 = self.c.create_targets_and_chain()
        self.serving_uptodate()
        self.c.write("7.0", b"replicated")
        self.c.kill(10001)
        os.unlink(self.c.chunk_file(10001, "7.0"))  # lost while the node was down
        self.c.start(10001)
        self.c.wait(lambda: self.c.log(10001).count(WAITING) >= 1, "node 10001 waiting")
        self.assertEqual(self.c.state(101), ("SERVING", "OFFLINE"))  # its report
        self.assertIn("waiting for chain 101 target", self.c.log(10001))
        self.assertEqual(self.c.serving_since(10001), 1)
        for line in (f"create-target --node-id 10001 --disk-index 0 --target-id 103 "
                     f"--chain-id 3", "offline-target --node-id 10001 --target-id 999"):
            t = time.time()
            with self.assertRaises(Fail) as cm:
                self.c.cli.run(line)
            self.assertEqual((cm.exception.code, cm.exception.name), (2005, "RPC::Timeout"))
            self.assertGreaterEqual(time.time() - t, 0.9)
        self.assertEqual(self.c.state(101), ("SERVING", "OFFLINE"))  # still newborn
        self.c.wait(lambda: self.c.serving_since(10001) == 2, "node 10001 serving", 15)
        self.assertGreaterEqual(time.time() - t0, 5.0, "served before the newborn time ended")
        self.assertIn("WARNING storage_main " + WAITING, self.c.log(10001))
        self.assertEqual(self.c.initial_maps(10001)[-1],
                         '{"101": {"localState": "ONLINE", "publicState": "OFFLINE"}}')
        self.serving_uptodate()
        self.assertEqual(self.c.read_file(10001, "7.0"), b"replicated")
        self.assertIn("sync receive done", self.c.log(10001))

    def test_sigterm_during_the_wait(self):
        """SIGTERM while the node waits: it goes on waiting, finishes its
        start once the newborn time is over and then stops, sending its
        last heartbeat with the target OFFLINE (exit 0)."""
        self.start_all()
        t0 = self.c.create_targets_and_chain()
        self.serving_uptodate()
        self.c.kill(10001)
        p = self.c.start(10001)
        self.c.wait(lambda: WAITING in self.c.log(10001), "node 10001 waiting")
        p.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "stopped during its start")
        self.assertEqual(p.wait(timeout=15), 0)
        self.assertGreaterEqual(time.time() - t0, 5.0)
        log = self.c.log(10001)
        self.assertLess(log.index("Initial target map"), log.index("Send offline state"))
        self.c.wait(lambda: self.c.state(101) == ("OFFLINE", "OFFLINE"), "101 OFFLINE")
        self.c.wait_state(201, ("SERVING", "UPTODATE"))


class RestartAll(Base):
    NEWBORN = "0ns"

    def test_one_node_back_mgmtd_takes_it_out_at_once(self):
        """Not newborn: the node's OFFLINE report makes mgmtd take its
        target out within a round of the chains updater; the node serves
        only then (its initial target map shows OFFLINE) and the target
        resyncs to SERVING-UPTODATE."""
        self.start_all()
        self.c.create_targets_and_chain()
        self.serving_uptodate()
        self.c.kill(10002)
        self.assertEqual(self.c.state(201), ("SERVING", "UPTODATE"))  # as last reported
        self.c.start(10002)
        self.c.wait(lambda: self.c.serving_since(10002) == 2, "node 10002 serving", 10)
        self.assertEqual(self.c.initial_maps(10002)[-1],
                         '{"201": {"localState": "ONLINE", "publicState": "OFFLINE"}}')
        self.serving_uptodate()

    def test_whole_cluster_killed(self):
        """Both nodes killed with the chain SERVING and started again: each
        waits until its target is out of service; the first target to be
        taken out with none serving becomes LASTSRV (the node holding it
        starts with it LASTSRV), comes back SERVING and the other resyncs
        from it; the data is on both."""
        self.start_all()
        self.c.create_targets_and_chain()
        self.serving_uptodate()
        self.c.write("9.0", b"both")
        for nid in NODES:
            self.c.kill(nid)
        for nid in NODES:
            self.c.start(nid)
        for nid in NODES:
            self.c.wait(lambda n=nid: self.c.serving_since(n) == 2, f"node {nid} serving")
        maps = [self.c.initial_maps(nid)[-1] for nid in NODES]
        for m in maps:
            self.assertNotIn("SERVING", m)
            self.assertNotIn("SYNCING", m)
            self.assertNotIn("WAITING", m)
        self.assertTrue(any('"publicState": "LASTSRV"' in m for m in maps), maps)
        self.serving_uptodate()
        for nid in NODES:
            self.assertEqual(self.c.read_file(nid, "9.0"), b"both")


if __name__ == "__main__":
    logging.getLogger("standin").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)  # the RPC pool's kept connections
    unittest.main(verbosity=2, warnings=False)
