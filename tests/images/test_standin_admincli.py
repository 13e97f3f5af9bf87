#!/usr/bin/env python3
"""What the admin_cli stand-in prints (ctest standin_admincli; python3 only,
no docker, no root, a few seconds).

Runs the mgmtd stand-in (on an in-memory key-value store) and admin_cli in
this process, and checks admin_cli's output against upstream's printing code
(deepseek-ai/3FS ee9a5ce, paths below under src/client/cli/): the table
printer (common/Printer.cc), the word splitter (common/Parser.cc), error lines
(common/Dispatcher.cc, StatusCode::toString), list-nodes (admin/ListNodes.cc),
list-targets [--orphan] [-c] (admin/ListTargets.cc), list-chains [-t -v]
(admin/ListChains.cc), list-chain-tables (admin/ListChainTables.cc),
user-add / user-stat (admin/AdminUserCtrl.cc), and a config that does not
load (src/client/bin/admin_cli.cc). m3fs's parsers (src/admincli,
src/status, src/scale, templates/*.sh) read exactly this output.
"""
import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "lib")
sys.path.insert(0, LIB)

from standin import admincli  # noqa: E402
from standin.admincli import Cli, fmt_table, run_line  # noqa: E402
from standin.common import serve  # noqa: E402
from standin.kv import Mgmtd  # noqa: E402
from memkv import MemKV  # noqa: E402
from standin.mgmtd import MgmtdService  # noqa: E402
from standin import token as tokens  # noqa: E402

CLUSTER = "clitest"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def table(text):
    """Rows of cells of a printed table, cut at the header's column starts
    (as m3fs's src/admincli/table.c reads it; a cell may hold a space)."""
    lines = text.rstrip("\n").split("\n")
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    rows = []
    for line in lines:
        cells = []
        for k, a in enumerate(starts):
            if a >= len(line):
                break
            b = starts[k + 1] if k + 1 < len(starts) else len(line)
            cells.append(line[a:b].strip())
        rows.append(cells)
    return rows


class AdminCli(unittest.TestCase):
    """mgmtd 1 (primary), a standby mgmtd 2, storage nodes 10001-10003
    (heartbeats sent by the test), chains 1-3 (one target each), chain 4
    outside the chain table, chain table 1 = chains 3, 1, 2."""

    def setUp(self):
        self.kv = MemKV()
        # chains are not newborn (set as a user would; upstream: 2 min)
        self.cfg = {"server": {"service": {"allow_heartbeat_from_unregistered": True,
                                           "new_chain_bootstrap_interval": "0ns"}}}
        self.mg = self.start_mgmtd()
        self.cli.run("help")  # no connection needed
        self.beat_all()
        self.mgmtd({"op": "set_chains", "chains": [[1, [101]], [2, [201]], [3, [301]],
                                                  [4, [401]]]})
        self.mgmtd({"op": "set_chain_table", "table_id": 1, "chains": [3, 1, 2], "desc": "t1"})
        self.beat_all()

    def start_mgmtd(self):
        self.mg = MgmtdService(1, CLUSTER, self.kv, self.cfg, 0,
                               rec={"node_id": 1, "type": "MGMTD", "hostname": "m1", "pid": 11,
                                    "host": "127.0.0.1", "tcp_port": 1, "release": "r1"})
        self.mg.on_lease(1, float("inf"))
        self.srv = serve(0, self.mg.dispatch, "mgmtd", host="127.0.0.1")
        addr = [f"TCP://127.0.0.1:{self.srv.server_address[1]}"]
        self.cli = Cli({"cluster_id": CLUSTER, "mgmtd_client": {"mgmtd_server_addresses": addr}},
                       "admin_cli.toml")
        self.cli._mg = Mgmtd(addr, "test")  # no IB manager in a unit test
        self.cli._kv = self.kv
        return self.mg

    def tearDown(self):
        self.srv.shutdown()
        self.srv.server_close()

    def mgmtd(self, req):
        req.setdefault("cluster_id", CLUSTER)
        return self.mg.dispatch(req, None)

    def beat(self, nid, ntype, targets=None):
        req = {"op": "heartbeat", "node_id": nid, "type": ntype, "hostname": f"h{nid}",
               "pid": nid, "host": "127.0.0.1", "tcp_port": 1, "release": "r",
               "config_version": 0}
        if targets is not None:
            req["targets"] = {str(t): {"local": st, "used": 7, "disk_index": 0, "chain_id": c}
                              for t, (c, st) in targets.items()}
        return self.mgmtd(req)

    def beat_all(self, extra=None):
        self.beat(2, "MGMTD")  # the standby (MgmtdHeartbeater.cc)
        self.beat(10001, "STORAGE", {101: (1, "UPTODATE"), 401: (4, "UPTODATE")})
        self.beat(10002, "STORAGE", {201: (2, "UPTODATE")})
        self.beat(10003, "STORAGE", dict({301: (3, "UPTODATE"), 309: (0, "ONLINE")},
                                         **(extra or {})))
        self.mg.tick()

    def out(self, line):
        """stdout of one command and whether it succeeded."""
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            good = run_line(self.cli, line)
        return buf.getvalue(), good

    def ok(self, line):
        text, good = self.out(line)
        self.assertTrue(good, text)
        return table(text)

    def fails(self, line, first, msg=None):
        """Dispatcher.cc print: "Encounter error: <code>(<name>)", then the
        message only when there is one."""
        text, good = self.out(line)
        self.assertFalse(good, text)
        lines = text.rstrip("\n").split("\n")
        self.assertEqual(lines[0], f"Encounter error: {first}", text)
        if msg is None:
            self.assertEqual(len(lines), 1, text)
        else:
            self.assertIn(msg, lines[1], text)

    # ------------------------------------------------------------ printer
    def test_printer_widths_in_bytes(self):
        """Printer.cc: widths are String::size() (bytes) plus two; the last
        cell of a row is not padded; a short row stays short."""
        text = fmt_table([["ab", "B", "C"], ["éé", "xy"], ["a", "d", "e"]])
        self.assertEqual(text.split("\n"), ["ab    B   C", "éé  xy", "a     d   e"])

    def test_words_as_parser_cc(self):
        """ArgsParser: quotes join, a backslash escapes outside quotes, no
        escapes inside them, an empty word ends the line."""
        pa = admincli.parse_args
        self.assertEqual(pa("  a 'b c'd \"e\\f\" g\\ h "), ["a", "b cd", "e\\f", "g h"])
        self.assertEqual(pa("user-stat '' 0"), ["user-stat"])
        text, good = self.out("list-nodes 'x")
        self.assertEqual((text, good), ("Encounter error: 3(InvalidArg)\nleave with quoted\n", False))
        self.fails("list-nodes x\\", "3(InvalidArg)", "leave with escaped")
        self.assertTrue(self.out("list-nodes '' junk")[1])  # the rest is ignored

    # ------------------------------------------------------------ list-nodes
    def test_list_nodes(self):
        """ListNodes.cc: N/A while lastHeartbeatTs is 0 (the primary's own
        entry, a registered node), a standby mgmtd's heartbeat time; a node
        without a heartbeat shows pid 0 and a default ReleaseVersion."""
        self.mgmtd({"op": "register_node", "node_id": 10009, "type": "STORAGE"})
        rows = self.ok("list-nodes")
        self.assertEqual(rows[0], ["Id", "Type", "Status", "Hostname", "Pid", "Tags",
                                   "LastHeartbeatTime", "ConfigVersion", "ReleaseVersion"])
        by = {r[0]: r for r in rows[1:]}
        self.assertEqual([r[0] for r in rows[1:]], ["1", "2", "10001", "10002", "10003", "10009"])
        self.assertEqual(by["1"], ["1", "MGMTD", "PRIMARY_MGMTD", "m1", "11", "[]", "N/A",
                                   "0(UPTODATE)", "r1"])
        self.assertEqual(by["2"][2], "HEARTBEAT_CONNECTED")
        self.assertRegex(by["2"][6], TIME_RE)
        self.assertRegex(by["10001"][6], TIME_RE)
        self.assertEqual(by["10009"], ["10009", "STORAGE", "HEARTBEAT_CONNECTING", "", "0", "[]",
                                       "N/A", "0(UPTODATE)", "0-dev-0-0-00000000"])
        # the heartbeat fail interval (60 s) without a heartbeat since it was
        # registered (MgmtdHeartbeatChecker.cc, run by tick())
        self.mg.node_ts["10009"] -= 61
        self.mg.tick()
        by = {r[0]: r for r in self.ok("list-nodes")[1:]}
        self.assertEqual(by["10009"][2], "HEARTBEAT_FAILED")
        self.fails("list-nodes x", "10000(Cli::WrongUsage)", "")

    def test_list_nodes_after_takeover(self):
        """A new primary loads the nodes from FDB (flat::toNode): hostname
        kept, pid 0, default ReleaseVersion, N/A, until each beats again."""
        self.tearDown()
        self.start_mgmtd()
        by = {r[0]: r for r in self.ok("list-nodes")[1:]}
        self.assertEqual(by["10002"][2:], ["HEARTBEAT_CONNECTING", "h10002", "0", "[]", "N/A",
                                           "0(UPTODATE)", "0-dev-0-0-00000000"])
        self.assertEqual(by["1"][2], "PRIMARY_MGMTD")
        self.assertEqual(self.ok("list-targets --orphan"),
                         [["TargetId", "LocalState", "NodeId", "DiskIndex", "UsedSize"]])

    # ------------------------------------------------------------ list-targets
    def test_list_targets(self):
        rows = self.ok("list-targets")
        self.assertEqual(rows[0], ["TargetId", "ChainId", "Role", "PublicState", "LocalState",
                                   "NodeId", "DiskIndex", "UsedSize"])
        self.assertCountEqual(rows[1:], [
            ["101", "1", "HEAD", "SERVING", "UPTODATE", "10001", "0", "7"],
            ["201", "2", "HEAD", "SERVING", "UPTODATE", "10002", "0", "7"],
            ["301", "3", "HEAD", "SERVING", "UPTODATE", "10003", "0", "7"],
            ["401", "4", "HEAD", "SERVING", "UPTODATE", "10001", "0", "7"]])
        self.assertEqual(self.ok("list-targets -c 2")[1:],
                         [["201", "2", "HEAD", "SERVING", "UPTODATE", "10002", "0", "7"]])
        self.fails("list-targets -c 99", "3(InvalidArg)", "ChainId(99) not found")
        self.fails("list-targets -c x", "10000(Cli::WrongUsage)", "")
        self.fails("list-targets 2", "10000(Cli::WrongUsage)", "")

    def test_chains_in_hash_order(self):
        """RoutingInfo's chains are a robin_hood::unordered_map: list-targets
        shows them unsorted (each chain's targets in its order)."""
        self.mgmtd({"op": "set_chains", "chains": [[c, [c * 1000 + 1, c * 1000 + 2]]
                                                  for c in range(5, 13)]})
        chains = [r[1] for r in self.ok("list-targets")[1:]]
        firsts = [c for i, c in enumerate(chains) if not i or chains[i - 1] != c]
        self.assertEqual(sorted(firsts, key=int), sorted(set(firsts), key=int))  # grouped
        self.assertNotEqual(firsts, sorted(firsts, key=int))
        rows = [r for r in self.ok("list-targets")[1:] if r[1] == "7"]
        self.assertEqual([(r[0], r[2]) for r in rows], [("7001", "HEAD"), ("7002", "TAIL")])

    def test_orphans(self):
        """ListOrphanTargetsOperation.cc: targets a node's last heartbeat
        reported that are in no chain, with the reported local state."""
        rows = self.ok("list-targets --orphan")
        self.assertEqual(rows, [["TargetId", "LocalState", "NodeId", "DiskIndex", "UsedSize"],
                                ["309", "ONLINE", "10003", "0", "7"]])

    # ------------------------------------------------------------ list-chains
    def test_list_chains(self):
        rows = self.ok("list-chains")
        self.assertEqual(rows[0], ["ChainId", "ReferencedBy", "ChainVersion", "Status",
                                   "PreferredOrder", "Target"])
        self.assertEqual([r[:2] for r in rows[1:]], [["1", "1"], ["2", "1"], ["3", "1"],
                                                      ["4", "N/A"]])
        self.assertEqual(rows[1][2:], ["1", "SERVING", "[]", "101(SERVING-UPTODATE)"])

    def test_list_chains_of_a_table(self):
        """-t: that table's chains in its order, with ChainTable and
        ChainTableVersion columns; an unknown table or version fails."""
        rows = self.ok("list-chains -t 1")
        self.assertEqual(rows[0], ["ChainId", "ChainTable", "ChainTableVersion", "ChainVersion",
                                   "Status", "PreferredOrder", "Target"])
        self.assertEqual(rows[1:], [["3", "1", "1", "1", "SERVING", "[]", "301(SERVING-UPTODATE)"],
                                    ["1", "1", "1", "1", "SERVING", "[]", "101(SERVING-UPTODATE)"],
                                    ["2", "1", "1", "1", "SERVING", "[]", "201(SERVING-UPTODATE)"]])
        self.mgmtd({"op": "set_chain_table", "table_id": 1, "chains": [2, 4], "desc": ""})
        self.assertEqual([r[:3] for r in self.ok("list-chains -t 1")[1:]],
                         [["2", "1", "2"], ["4", "1", "2"]])
        self.assertEqual([r[:3] for r in self.ok("list-chains -t 1 -v 1")[1:]],
                         [["3", "1", "1"], ["1", "1", "1"], ["2", "1", "1"]])
        self.fails("list-chains -t 9", "3(InvalidArg)", "ChainTableId(9) not found")
        self.fails("list-chains -t 1 -v 7", "3(InvalidArg)", "ChainTableId(1) not found")
        self.assertEqual(len(self.ok("list-chains -v 1")[0]), 6)  # -v alone: ignored
        self.fails("list-chains -t x", "10000(Cli::WrongUsage)", "")

    def test_list_chain_tables(self):
        """ReplicaCount: the distinct target counts of the table's chains,
        joined by '/'."""
        rows = self.ok("list-chain-tables")
        self.assertEqual(rows, [["ChainTableId", "ChainTableVersion", "ChainCount",
                                 "ReplicaCount", "Desc"], ["1", "1", "3", "1", "t1"]])
        self.beat(10002, "STORAGE", {201: (2, "UPTODATE"), 202: (0, "ONLINE")})
        self.ok("update-chain 1 202 --mode add")
        self.assertEqual(self.ok("list-chain-tables")[1], ["1", "1", "3", "1/2", "t1"])
        self.fails("list-chain-tables x", "10000(Cli::WrongUsage)", "")

    # ------------------------------------------------------------ errors
    def test_error_names(self):
        """StatusCode::toString: common codes bare, others Namespace::Name."""
        self.fails("update-chain 1 101 --mode remove", "3(InvalidArg)",
                   "Do not allow to remove target 101 from chain 1")
        self.fails("update-chain 77 101 --mode remove", "5012(Mgmtd::ChainNotFound)", "")

    # ------------------------------------------------------------ users
    def test_users(self):
        """AdminUserCtrl.cc / UserStore::addUser: the words and codes."""
        self.fails("user-add 5 bob", "3(InvalidArg)", "The first user must be admin")
        root = tokens.mint(0)
        self.fails(f"user-add --admin --token {tokens.mint(1)} 0 root", "33(InvalidFormat)",
                   "Could not set token from other uid")
        rows = self.ok(f"user-add --root --admin --token {root} 0 root")
        self.assertEqual(rows, [["Uid", "0"], ["Name", "root"], ["Token", f"{root}(Expired at N/A)"],
                                ["IsRootUser", "true"], ["IsAdmin", "true"], ["Gid", "0"],
                                ["SupplementaryGids"]])
        self.cli.cfg["user_info"] = {"token": root}
        rows = self.ok("user-add --groups 5,,6 7 alice")
        self.assertEqual(rows[5:], [["Gid", "7"], ["SupplementaryGids", "Gid(5), Gid(6)"]])
        self.fails("user-add 7 alice", "3007(Meta::Exists)")
        self.fails("user-add --gid 3 8 carol", "10000(Cli::WrongUsage)", "")
        self.assertEqual(self.ok("user-stat 7")[6], ["SupplementaryGids", "Gid(5), Gid(6)"])
        self.fails("user-stat 9", "3000(Meta::NotFound)", "Uid 9 not found")
        self.cli.cfg["user_info"] = {"token": tokens.mint(7)}
        self.fails("user-stat 0", "25(AuthenticationFail)", "Token validate failed")


class Startup(unittest.TestCase):
    """admin_cli.cc main: a config that does not load is FATAL before any
    command runs: its reason on stderr, nothing on stdout, a failure exit
    (real: abort)."""

    def run_cli(self, tmp, addr, *cmd):
        cfg = os.path.join(tmp, "admin_cli.toml")
        with open(cfg, "w") as f:
            f.write(f"cluster_id = '{CLUSTER}'\n[mgmtd_client]\n"
                    f"mgmtd_server_addresses = ['{addr}']\n")
        env = dict(os.environ, PYTHONPATH=LIB, STANDIN_LOG_DIR=tmp)
        return subprocess.run([sys.executable, "-c", "from standin.admincli import main; main()",
                               "-cfg", cfg, *cmd], env=env, cwd=tmp, capture_output=True,
                              text=True, timeout=60)

    def test_bad_address_fails_every_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = self.run_cli(tmp, "RDMA://[fd00::1]:8000", "help")
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(p.stdout, "")
            self.assertIn("Load config from flags failed with InvalidFormat(33)", p.stderr)
            self.assertIn("invalid address: RDMA://[fd00::1]:8000", p.stderr)
            p = self.run_cli(tmp, "RDMA://10.0.0.1:8000", "--nosuchflag", "help")
            self.assertEqual((p.returncode, p.stdout), (1, ""))
            self.assertIn("ERROR: unknown command line flag 'nosuchflag'", p.stderr)
            p = self.run_cli(tmp, "RDMA://10.0.0.1:8000", "help")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("list-nodes", p.stdout)


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)
    unittest.main()
