#!/usr/bin/env python3
"""The FUSE stand-in's meta client (ctest standin_fusemeta; python3 only,
no FUSE, no root, a few seconds).

Checks what upstream's MetaClient does when meta nodes go away (deepseek-ai/3FS
ee9a5ce src/client/meta/MetaClient.h retry_default: 500 ms doubling up to
5 s, for 1 min; src/client/meta/ServerSelectionStrategy.cc
ServerList::update): a meta node that does not answer is skipped for the
next one; a routing info that shows no active meta node is ignored while the
client knows some; a request that no meta node answers is retried until one
does, within the retry time; at mount (before the file system is up) one
round only. The meta nodes are TCP servers in this process; the python-fuse
module is replaced by a stub (only the meta client is exercised).
"""
import os
import socket
import sys
import threading
import time
import types
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
stub = types.ModuleType("fuse")
stub.Fuse, stub.Direntry, stub.StatVfs, stub.Stat = object, object, object, object
sys.modules.setdefault("fuse", stub)
from standin import fusefs  # noqa: E402
from standin.common import serve  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeClient(fusefs.Client):
    """A Client with a routing info set by the test (no mgmtd)."""

    def __init__(self, nodes):
        self.lock, self.meta_list, self.starting = threading.Lock(), [], False
        self.token, self.cluster_id = "t", "c"
        self.set_nodes(nodes)

    def set_nodes(self, nodes):
        self.routing = {"nodes": {str(i): dict(node_id=i, type="META", host="127.0.0.1",
                                               tcp_port=p, live=live)
                                  for i, (p, live) in nodes.items()}}

    def route(self, fresh=False):
        return self.routing


class MetaClientTest(unittest.TestCase):
    def setUp(self):
        self.calls = []
        fusefs.META_RETRY_INIT_S, fusefs.META_RETRY_MAX_WAIT_S = 0.1, 0.4
        fusefs.META_RETRY_TOTAL_S = 3.0

    def meta_server(self):
        def answer(req, peer):
            self.calls.append(req["op"])
            return {"ok": True, "op": req["op"]}
        srv = serve(0, answer, "meta", host="127.0.0.1")
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def test_dead_node_skipped(self):
        c = FakeClient({100: (free_port(), True), 101: (self.meta_server(), True)})
        self.assertEqual(c.meta("stat", path="/")["op"], "stat")
        self.assertEqual(self.calls, ["stat"])

    def test_routing_without_active_meta_ignored(self):
        good = self.meta_server()
        c = FakeClient({100: (good, True)})
        c.meta("stat", path="/")
        c.set_nodes({100: (good, False)})  # e.g. CONNECTING after a mgmtd takeover
        self.assertEqual(c.meta("list", path="/")["op"], "list")
        self.assertEqual(self.calls, ["stat", "list"])
        self.assertEqual([n for n, _ in c.meta_servers()], [100])

    def test_retried_until_a_meta_answers(self):
        port = free_port()
        c = FakeClient({100: (port, True)})
        def late():
            time.sleep(0.8)
            def answer(req, peer):
                return {"ok": True, "op": req["op"]}
            self.addCleanup(serve(port, answer, "meta", host="127.0.0.1").shutdown)
        threading.Thread(target=late).start()
        t = time.monotonic()
        self.assertEqual(c.meta("stat", path="/")["op"], "stat")
        self.assertGreater(time.monotonic() - t, 0.7)

    def test_gives_up_after_the_retry_time(self):
        c = FakeClient({100: (free_port(), True)})
        t = time.monotonic()
        with self.assertRaises(OSError):
            c.meta("stat", path="/")
        took = time.monotonic() - t
        self.assertGreater(took, 2.0)
        self.assertLess(took, 4.0)

    def test_one_round_at_mount(self):
        c = FakeClient({100: (free_port(), True)})
        c.starting = True
        t = time.monotonic()
        with self.assertRaises(fusefs.Fail):
            c.meta("layout")
        self.assertLess(time.monotonic() - t, 0.5)


if __name__ == "__main__":
    unittest.main()
