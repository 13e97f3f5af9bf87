#!/usr/bin/env python3
"""CPU cost of the mgmtd stand-in per node-second, old code against new (by
hand, not a ctest; python3 only, no docker, no root, ~1 min).

For each node count (default 20 and 50) and each code (old: the
tests/images/lib of a git revision, default main, from `git archive`; new:
this tree's lib) it starts the fdb stand-in and one mgmtd stand-in
(MgmtdService with its lease second, as run_mgmtd runs it) as local
processes on 127.0.0.1, then N simulated storage nodes (worker processes)
that each second heartbeat with their 10 targets' local states and fetch
the routing info, as services.py's storage does (Member.beat, then
Replication.refresh: with the version it holds, which the old code
ignores). After a warm-up it measures for --seconds: mgmtd's and the fdb
stand-in's CPU seconds (/proc/<pid>/stat utime+stime) per node-second (one
heartbeat and one routing fetch of one node actually done).

  python3 tests/images/bench_standin_mgmtd.py [--nodes 20,50] [--seconds 10]
      [--targets 10] [--old main]
"""
import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NEW_LIB = os.path.join(HERE, "lib")
CLUSTER = "bench"
TARGETS_PER_NODE = 10

# The mgmtd process: the service of the lib it is given, its lease second.
MGMTD_MAIN = r'''
import os, sys, time, logging
sys.path.insert(0, sys.argv[1])
from standin.common import serve
from standin.kv import KV
from standin.mgmtd import MgmtdService
logging.getLogger("standin").setLevel(logging.CRITICAL)
kv = KV(sys.argv[2], "bench", wait=15.0)
data = {"server": {"service": {"allow_heartbeat_from_unregistered": True}}}
svc = MgmtdService(1, "bench", kv, data, 0)
srv = serve(0, svc.dispatch, "mgmtd", host="127.0.0.1")
port = srv.server_address[1]
rec = {"node_id": 1, "type": "MGMTD", "hostname": "m1", "pid": os.getpid(),
       "host": "127.0.0.1", "tcp_port": port, "release": "bench"}
def tick():
    if hasattr(svc, "extend_lease"):  # the new code: services.mgmtd_tick, each task once
        from standin.services import mgmtd_tick
        svc.rec = rec
        mgmtd_tick(svc)
    elif hasattr(svc, "on_lease"):  # the code before the lease followed upstream's
        from standin.services import mgmtd_tick
        mgmtd_tick(kv, svc, rec)
    else:  # the old run_mgmtd tick
        primary = kv.lease("lease/mgmtd", 1, 5.0) == 1
        svc.refresh_config()
        svc.self_heartbeat(rec, primary)
        if primary:
            svc.tick()
tick()
print(port, flush=True)
while True:
    time.sleep(1.0)
    tick()
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_targets(k):
    return [(k + 1) * 100 + j for j in range(TARGETS_PER_NODE)]


def worker(lib, addr, nids, measure, stop, out):
    """Storage nodes nids: each second a heartbeat and a routing fetch each,
    until stop; counts those begun and done within [measure, stop)."""
    sys.path.insert(0, lib)
    from standin.common import rpc
    versions = {nid: 0 for nid in nids}
    done = 0
    t = time.time()
    while t < stop:
        for nid in nids:
            began = time.time()
            k = nid - 10001
            targets = {str(tid): {"local": "UPTODATE", "used": 0, "disk_index": 0,
                                  "chain_id": 1 + (k // 2) * TARGETS_PER_NODE + j}
                       for j, tid in enumerate(node_targets(k))}
            hb = rpc(addr, {"op": "heartbeat", "node_id": nid, "type": "STORAGE",
                            "hostname": f"s{nid}", "pid": nid, "host": "127.0.0.1",
                            "tcp_port": 1, "release": "bench", "cluster_id": CLUSTER,
                            "config_version": 0, "targets": targets}, timeout=30.0)
            r = rpc(addr, {"op": "routing", "cluster_id": CLUSTER, "version": versions[nid]},
                    timeout=30.0)
            if not (hb.get("ok") and r.get("ok")):
                out.put(f"node {nid}: {hb if not hb.get('ok') else r}")
                return
            versions[nid] = r.get("version", 0)
            if began >= measure and time.time() < stop:
                done += 1
        t += 1.0
        time.sleep(max(0.0, t - time.time()))
    out.put(done)


def run(lib, nodes, seconds, tmp):
    """[mgmtd CPU s, fdb CPU s, node-seconds] of one measured run."""
    port = free_port()
    cluster_file = os.path.join(tmp, "fdb.cluster")
    env = dict(os.environ, PYTHONPATH=lib, FDB_CLUSTER_FILE=cluster_file,
               FDB_CLUSTER_FILE_CONTENTS=f"bench:bench@127.0.0.1:{port}",
               FDB_PORT=str(port), FDB_DATA_DIR=os.path.join(tmp, "data"),
               FDB_LOG_DIR=os.path.join(tmp, "log"), STANDIN_LOG_DIR=os.path.join(tmp, "log"))
    fdb = subprocess.Popen([sys.executable, "-c", "from standin.fdbserver import main; main()"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [fdb]
    try:
        sys.path.insert(0, lib)
        from standin.common import rpc
        for _ in range(200):
            try:
                if rpc(("127.0.0.1", port), {"op": "ping"}, timeout=1.0).get("ok"):
                    break
            except Exception:
                time.sleep(0.05)
        rpc(("127.0.0.1", port), {"op": "configure", "new": True, "redundancy": "single",
                                  "engine": "ssd"})
        mg = subprocess.Popen([sys.executable, "-c", MGMTD_MAIN, lib, cluster_file], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(mg)
        addr = ("127.0.0.1", int(mg.stdout.readline()))
        nids = [10001 + k for k in range(nodes)]
        # the chains: target j of node 2m with target j of node 2m+1
        chains = []
        for m in range(0, nodes - 1, 2):
            for j in range(TARGETS_PER_NODE):
                chains.append([1 + (m // 2) * TARGETS_PER_NODE + j,
                               [node_targets(m)[j], node_targets(m + 1)[j]]])
        warm, start = time.time() + 3.0, time.time() + 9.0  # past the newborn-chain grace
        stop = start + seconds
        q = multiprocessing.Queue()
        nworkers = min(8, max(1, nodes // 5))
        workers = [multiprocessing.Process(target=worker, args=(lib, addr, nids[i::nworkers],
                                                                start, stop, q))
                   for i in range(nworkers)]
        for w in workers:
            w.start()
        time.sleep(max(0.0, warm - time.time()))
        for req in ({"op": "set_chains", "chains": chains},
                    {"op": "set_chain_table", "table_id": 1, "chains": [c for c, _ in chains]}):
            reply = rpc(addr, dict(req, cluster_id=CLUSTER), timeout=30.0)
            assert reply.get("ok"), reply
        time.sleep(max(0.0, start - time.time()))
        c0 = (cpu_seconds(mg.pid), cpu_seconds(fdb.pid))
        time.sleep(max(0.0, stop - time.time()))
        c1 = (cpu_seconds(mg.pid), cpu_seconds(fdb.pid))
        counts = [q.get(timeout=120) for _ in workers]
        bad = [c for c in counts if isinstance(c, str)]
        if bad:
            raise SystemExit(f"mgmtd refused a request: {bad[0]}")
        done = sum(counts)
        for w in workers:
            w.join()
        return c1[0] - c0[0], c1[1] - c0[1], done
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        sys.path.remove(lib) if lib in sys.path else None
        for mod in [m for m in sys.modules if m == "standin" or m.startswith("standin.")]:
            del sys.modules[mod]


def main():
    global TARGETS_PER_NODE
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="20,50")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--targets", type=int, default=10,
                    help="targets per storage node (the 50-node lab has 49)")
    ap.add_argument("--old", default="main", help="git revision of the old code")
    args = ap.parse_args()
    TARGETS_PER_NODE = args.targets  # the workers are forked: they see it
    tmp = tempfile.mkdtemp(prefix="bench-mgmtd-")
    try:
        old_root = os.path.join(tmp, "old")
        os.makedirs(old_root)
        top = subprocess.run(["git", "-C", HERE, "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, check=True).stdout.strip()
        arc = subprocess.run(["git", "-C", top, "archive", args.old, "tests/images/lib"],
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old_root], input=arc, check=True)
        libs = {"old": os.path.join(old_root, "tests/images/lib"), "new": NEW_LIB}
        print(f"{'nodes':>5} {'code':>4} {'node-s':>7} {'mgmtd CPU s':>11} "
              f"{'ms/node-s':>9} {'fdb ms/node-s':>13}")
        for n in [int(x) for x in args.nodes.split(",")]:
            res = {}
            for name, lib in libs.items():
                run_dir = os.path.join(tmp, f"{name}-{n}")
                os.makedirs(run_dir)
                mcpu, fcpu, done = run(lib, n, args.seconds, run_dir)
                res[name] = 1000 * mcpu / done
                print(f"{n:>5} {name:>4} {done:>7.0f} {mcpu:>11.2f} {res[name]:>9.2f} "
                      f"{1000 * fcpu / done:>13.2f}", flush=True)
            ratio = f"{res['old'] / res['new']:.1f}x" if res["new"] else "n/a (new: below 1 tick)"
            print(f"{n:>5} old/new mgmtd CPU per node-second: {ratio}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
