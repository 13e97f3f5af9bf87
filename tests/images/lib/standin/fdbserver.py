"""Stand-in fdbserver: a small JSON-lines key-value service.

Listens on FDB_PORT (default 4500, as the official image). The first
coordinator of the cluster file holds the data (persisted under the data
dir); any other coordinator forwards requests to it. Until `configure new`
ran, data operations answer FDB::Unavailable, as an unconfigured database
never completes a transaction.
"""
import json
import os
import socket
import sys
import threading
import time

from .common import (Fail, RpcError, log, ok, parse_cluster_text, rpc, serve, setup_log,
                     wait_for_signal)

VOLATILE = ("hb/",)
REPLICAS = {"single": 1, "double": 2, "triple": 3, "three_datacenter": 3,
            "three_data_hall": 3}
ENGINES = {"ssd", "ssd-2", "ssd-redwood-1", "ssd-redwood-1-experimental", "ssd-rocksdb-v1",
           "ssd-sharded-rocksdb", "memory", "memory-1", "memory-2", "memory-radixtree-beta"}


def is_local_ip(ip):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False


class Store:
    """Durable keys live in a snapshot (standin-kv.json) plus a journal of the
    changes since (standin-kv.journal, one JSON line each). Start-up folds
    the journal into a new snapshot; a change appends one line, so a put
    costs the same however many keys the store holds."""

    def __init__(self, data_dir):
        self.path = os.path.join(data_dir, "standin-kv.json")
        self.journal_path = os.path.join(data_dir, "standin-kv.journal")
        self.lock = threading.Lock()
        self.data, self.volatile, self.conf = {}, {}, None
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                saved = json.load(f)
            self.data, self.conf = saved.get("data", {}), saved.get("configuration")
        self.replay()
        self.snapshot()
        self.journal = open(self.journal_path, "w", encoding="utf-8")

    def replay(self):
        if not os.path.exists(self.journal_path):
            return
        with open(self.journal_path, encoding="utf-8") as f:
            for line in f:
                try:
                    change = json.loads(line)
                except ValueError:  # a line cut short by a crash: the change never finished
                    log.warning("journal: ignoring an incomplete last change")
                    break
                self.apply(change)

    def apply(self, change):
        if "conf" in change:
            self.conf = change["conf"]
        elif "put" in change:
            self.data[change["put"]] = change["value"]
        else:
            self.data.pop(change["delete"], None)

    def snapshot(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"configuration": self.conf, "data": self.data}, f)
        # Atomic replace, no fsync: the file survives the process (and a
        # container restart), which is all the tests need.
        os.replace(tmp, self.path)

    def record(self, change):
        """Apply one change and append it to the journal (no fsync, as above)."""
        self.apply(change)
        self.journal.write(json.dumps(change) + "\n")
        self.journal.flush()

    def table(self, key):
        return self.volatile if key.startswith(VOLATILE) else self.data


class Server:
    def __init__(self, cluster_file, port, data_dir):
        with open(cluster_file, encoding="utf-8") as f:
            self.coords = parse_cluster_text(f.read(), cluster_file)
        self.port = port
        leader = self.coords[0]
        self.leader = None if (is_local_ip(leader[0]) and leader[1] == port) else leader
        self.store = Store(data_dir)
        if not any(p == port and is_local_ip(ip) for ip, p in self.coords):
            log.warning("this process (port %d) is not a coordinator in %s", port, cluster_file)

    def dispatch(self, req, peer):
        if self.leader is not None and not req.get("local"):
            try:
                return rpc(self.leader, req, timeout=3.0)
            except RpcError as e:
                return Fail(f"leader coordinator unreachable: {e}", 2001,
                            "FDB::Unavailable").to_dict()
        op = req.get("op")
        if op == "ping":
            return ok()
        if op == "configure":
            return self.configure(req)
        if op == "status":
            return self.status()
        if self.store.conf is None:
            raise Fail("database unavailable: it was never configured "
                       "(run fdbcli 'configure new single ssd')", 2001, "FDB::Unavailable")
        with self.store.lock:
            return self.data_op(op, req)

    def data_op(self, op, req):
        st = self.store
        key = req.get("key", "")
        tbl = st.table(key)
        if op == "get":
            return ok(value=tbl.get(key))
        if op == "list":
            pre = req["prefix"]
            src = st.volatile if pre.startswith(VOLATILE) else st.data
            return ok(items={k: v for k, v in src.items() if k.startswith(pre)})
        if op == "lease":  # durable, as mgmtd's lease is a key in FDB
            cur = st.data.get(key)
            new = self.next_lease(cur, req["owner"], req["length"])
            if new is not cur:
                st.record({"put": key, "value": new})
            return ok(**new)
        if op == "put_new" and key in tbl:
            return ok(stored=False)
        if op not in ("put", "put_new", "delete"):
            raise Fail(f"unknown operation {op!r}", 3, "StatusCode::InvalidArg")
        change = {"delete": key} if op == "delete" else {"put": key, "value": req["value"]}
        if tbl is st.data:
            st.record(change)
        elif op == "delete":
            tbl.pop(key, None)
        else:
            tbl[key] = req["value"]
        return ok(stored=True)

    @staticmethod
    def next_lease(cur, owner, length):
        """MgmtdStore::extendLease (src/mgmtd/store/MgmtdStore.cc), in one
        transaction: the lease after `owner` asked for `length` seconds. One
        that already lasts that long is left as it is (cur itself); an
        expired one (or none) goes to the caller, starting now; the holder's
        own is extended, keeping its start; another holder's is left. A
        lease is owner, start, end (this server's clock)."""
        t = time.time()
        new = {"owner": owner, "start": t, "end": t + length}
        if cur is None or cur["end"] < t:
            return new
        if cur["end"] < t + length and cur["owner"] == owner:
            return dict(new, start=cur["start"])
        return cur

    def configure(self, req):
        with self.store.lock:
            if req.get("new") and self.store.conf is not None:
                raise Fail("Database already exists! To change configuration, don't say `new'",
                           2002, "FDB::DatabaseExists")
            if not req.get("new") and self.store.conf is None:
                raise Fail("The database does not exist; use `configure new'", 2001,
                           "FDB::Unavailable")
            self.store.record({"conf": {"redundancy": req["redundancy"],
                                        "engine": req["engine"]}})
        return ok()

    def status(self):
        conf = self.store.conf
        if conf is None:
            return ok(available=False, reason="the database was never configured")
        up = sum(1 for c in self.coords if self._alive(c))
        need = REPLICAS.get(conf["redundancy"], 1)
        if up < need:
            return ok(available=False, reason=f"{conf['redundancy']} redundancy needs {need} "
                                               f"reachable processes, {up} reachable")
        return ok(available=True, configuration=conf, processes=up)

    def _alive(self, c):
        if is_local_ip(c[0]) and c[1] == self.port:
            return True
        try:
            return rpc(c, {"op": "ping", "local": True}, timeout=0.5).get("ok", False)
        except RpcError:
            return False


def main():
    setup_log("fdbserver", os.environ.get("FDB_LOG_DIR", "/var/fdb/logs"))
    cluster_file = os.environ.get("FDB_CLUSTER_FILE", "/var/fdb/fdb.cluster")
    contents = os.environ.get("FDB_CLUSTER_FILE_CONTENTS")
    try:
        if contents:
            parse_cluster_text(contents, "FDB_CLUSTER_FILE_CONTENTS")
            os.makedirs(os.path.dirname(cluster_file), exist_ok=True)
            with open(cluster_file, "w", encoding="utf-8") as f:
                f.write(contents.strip() + "\n")
        elif not os.path.exists(cluster_file):
            raise Fail(f"no cluster file {cluster_file} and FDB_CLUSTER_FILE_CONTENTS is unset")
        port = int(os.environ.get("FDB_PORT", "4500"))
        data_dir = os.environ.get("FDB_DATA_DIR", "/var/fdb/data")
        os.makedirs(data_dir, exist_ok=True)
        srv = Server(cluster_file, port, data_dir)
        serve(port, srv.dispatch, "fdbserver")
    except (Fail, ValueError, OSError) as e:
        log.error("%s", getattr(e, "msg", e))
        print(f"fdbserver: error: {getattr(e, 'msg', e)}", file=sys.stderr)
        sys.exit(1)
    wait_for_signal()
