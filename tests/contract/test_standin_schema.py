#!/usr/bin/env python3
"""The stand-ins' config checks against the contract schema (ctest
contract_standin_schema; no docker, no root).

For every tests/contract/schema/<role>.json: the shipped document, written
back as TOML, is accepted unchanged; one misspelt key (top level, nested,
inside an array-of-tables element, a section name) is refused with real
3FS's "Invalid key: <path>"; a value of the wrong kind is refused with
ConfigInvalidType. Then the facts the contract names (no [server.fdb] in
storage_main, common.memory, no custom_tcp_nic_prefix, monitor reporter
variants), the stand-ins' own test data, check_config.py, and that the
schema copies equal the contract's when ../shared is present.

Without python3's tomllib or tomli the test is skipped (exit 77), but fails under CI=true.
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

try:
    import tomllib
except ImportError:  # python3 < 3.11: tomli (python3-tomli) has the same API
    try:
        import tomli as tomllib
    except ImportError:
        if os.environ.get("CI") == "true":
            print("python3 has neither tomllib nor tomli: cannot check the stand-ins (CI=true)")
            sys.exit(1)
        print("SKIPPED: python3 has neither tomllib (3.11+) nor tomli (python3-tomli)")
        sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SCHEMA = os.path.join(HERE, "schema")
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared", "3fs-contract", "schema"))
os.environ["STANDIN_SCHEMA_DIR"] = SCHEMA
sys.path.insert(0, os.path.join(REPO, "tests", "images", "lib"))

from standin import contract, schema  # noqa: E402
from standin.common import Fail, is_duration  # noqa: E402

SCALARS = ("string", "int", "float", "bool")
ROLES = sorted(n[:-5] for n in os.listdir(SCHEMA) if n.endswith(".json"))
MAINS = ("mgmtd_main", "meta_main", "storage_main", "hf3fs_fuse_main")


def load(role):
    with open(os.path.join(SCHEMA, role + ".json"), encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------ a TOML emitter

def _key(k):
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(_value(e) for e in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(e)}" for k, e in v.items()) + " }"
    raise TypeError(f"no TOML for {v!r}")


def _is_aot(v):
    return isinstance(v, list) and v and all(isinstance(e, dict) for e in v)


def _emit(table, path, lines):
    for k, v in table.items():
        if not isinstance(v, dict) and not _is_aot(v):
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        name = ".".join(_key(p) for p in path + [k])
        if isinstance(v, dict):
            lines += ["", f"[{name}]"]
            _emit(v, path + [k], lines)
        elif _is_aot(v):
            for elem in v:
                lines += ["", f"[[{name}]]"]
                _emit(elem, path + [k], lines)


def toml_text(doc):
    lines = []
    _emit(doc, [], lines)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------ helpers

def shipped(role):
    """The shipped document, through TOML text (as a file would be read)."""
    doc = load(role)["shipped_document"]
    data = tomllib.loads(toml_text(doc))
    assert data == doc, f"{role}: the TOML emitter lost something"
    return data


def locate(data, schema_path):
    """(table holding the key, key name, 3FS path) of a schema path in data,
    taking the first element of each array of tables that has the key."""
    parts = schema_path.split(".")

    def walk(table, i, named):
        part = parts[i]
        if i == len(parts) - 1:
            return (table, part, named + [part]) if part in table else None
        if part.endswith("[]"):
            for n, elem in enumerate(table.get(part[:-2]) or []):
                found = walk(elem, i + 1, named + [f"{part[:-2]}#{n}"])
                if found:
                    return found
            return None
        sub = table.get(part)
        return walk(sub, i + 1, named + [part]) if isinstance(sub, dict) else None

    found = walk(data, 0, [])
    if found is None:
        raise LookupError(schema_path)
    table, key, named = found
    named[-1] = key
    return table, key, ".".join(named)


def misspell(name, siblings):
    """A plausible misspelling of `name` that is not a sibling key."""
    cands = [name[:-2] + name[-1] + name[-2]] if len(name) > 2 else []
    cands += [name + "s", name + "_x", "x" + name]
    return next(c for c in cands if c != name and c not in siblings)


def pick(keys, want):
    """First schema path (sorted) of one of the categories below."""
    for path in sorted(keys):
        kind = keys[path]["type"]
        if want == "top" and "." not in path and kind in SCALARS:
            return path
        if want == "nested" and "." in path and "[]" not in path and kind in SCALARS:
            return path
        if want == "element" and "[]" in path and kind in SCALARS:
            return path
        if want == "section" and "." in path and "[]" not in path and kind == "table":
            return path
    return None


def check(role, data):
    contract.check(role, data, f"{role}.toml")


def toml(text):
    return tomllib.loads(text)


class StandinSchemaTest(unittest.TestCase):
    def refused(self, role, data, words, status):
        with self.assertRaises(Fail, msg=f"{role}: expected '{words}'") as cm:
            check(role, data)
        self.assertIn(words, cm.exception.msg)
        self.assertEqual(cm.exception.name, status, cm.exception.msg)
        return cm.exception

    def invalid(self, role, data, path):
        self.refused(role, data, f"Invalid key: {path}", "StatusCode::ConfigRedundantKey")

    def wrong_type(self, role, data, words):
        self.refused(role, data, words, "StatusCode::ConfigInvalidType")


class Copies(StandinSchemaTest):
    def test_copies_equal_the_contract(self):
        if not os.path.isdir(SHARED):
            self.skipTest(f"{SHARED} is absent (a clean clone)")
        theirs = sorted(n for n in os.listdir(SHARED) if n.endswith(".json"))
        self.assertEqual(theirs, [r + ".json" for r in ROLES],
                         "tests/contract/schema differs from the contract's file list: refresh it")
        for name in theirs:
            with open(os.path.join(SHARED, name), "rb") as a, \
                    open(os.path.join(SCHEMA, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), f"tests/contract/schema/{name} is stale: "
                                 f"cp {SHARED}/*.json tests/contract/schema/")

    def test_every_file_is_present(self):
        self.assertEqual(len(ROLES), 17)
        for role in ROLES:
            self.assertEqual(load(role)["file"], role + ".toml")


class Shipped(StandinSchemaTest):
    def test_shipped_documents_are_accepted_unchanged(self):
        for role in ROLES:
            data = shipped(role)
            before = copy.deepcopy(data)
            check(role, data)
            self.assertEqual(data, before, role)

    def test_a_misspelt_key_is_invalid(self):
        tried = {w: 0 for w in ("top", "nested", "element", "section")}
        for role in ROLES:
            keys = load(role)["keys"]
            for want in tried:
                path = pick(keys, want)
                if path is None:
                    continue
                data = shipped(role)
                table, key, named = locate(data, path)
                bad = misspell(key, table)
                table[bad] = table.pop(key)
                data = toml(toml_text(data))
                self.invalid(role, data, named[:len(named) - len(key)] + bad)
                tried[want] += 1
        # every kind was tried in many files
        print(f"misspelt keys refused: {tried}", file=sys.stderr)
        self.assertGreaterEqual(tried["top"], 10)
        self.assertGreaterEqual(tried["nested"], 12)
        self.assertGreaterEqual(tried["element"], 6)
        self.assertGreaterEqual(tried["section"], 10)

    def test_files_without_keys_refuse_any(self):
        empty = [r for r in ROLES if not load(r)["keys"]]
        self.assertEqual(empty, ["hf3fs_client_agent_app", "hf3fs_fuse_main_app"])
        for role in empty:
            self.invalid(role, toml("node_id = 1"), "node_id")

    def test_wrong_kinds_are_refused(self):
        cases = (("string", 1, "must be a string"), ("int", "8000", "must be an integer"),
                 ("bool", 1, "must be a boolean"), ("bool", "true", "must be a boolean"),
                 ("float", True, "must be a number"), ("float", "0.5", "must be a number"),
                 ("table", 1, "must be a table"), ("array", "x", "must be an array"),
                 ("array-of-tables", {"a": 1}, "must be an array of tables"))
        for role in ROLES:
            keys = load(role)["keys"]
            for kind, value, words in cases:
                path = next((p for p in sorted(keys) if keys[p]["type"] == kind), None)
                if path is None:
                    continue
                data = shipped(role)
                table, key, _ = locate(data, path)
                table[key] = value
                self.wrong_type(role, data, words)

    def test_durations_must_parse(self):
        # a Duration item (Duration::from, src/common/utils/Duration.cc):
        # what the dumps print loads, anything else fails the load
        tried = 0
        for role in ROLES:
            keys = load(role)["keys"]
            for path in sorted(keys):
                entry = keys[path]
                if entry["type"] != "string" or not is_duration(entry.get("shipped")):
                    continue
                for good in ("1min 30s", "200ms", "0ns", "2day"):
                    data = shipped(role)
                    table, key, _ = locate(data, path)
                    table[key] = good
                    check(role, data)
                data = shipped(role)
                table, key, named = locate(data, path)
                table[key] = "1.5s"
                self.refused(role, data, f"name: {named}, error: InvalidConfig(4) wrong duration "
                             f"format '1.5s'", "StatusCode::ConfigUpdateFailed")
                tried += 1
        self.assertGreaterEqual(tried, 100)

    def test_upstream_conversions(self):
        # tomlNodeToValue (ConfigBase.h): an integer takes a float or a bool
        # (C++ converts), a float takes an integer.
        data = toml("[server.base]\n[[server.base.groups]]\n[server.base.groups.listener]\n"
                    "listen_port = 8000.0\nlisten_queue_depth = true\n")
        check("mgmtd_main", data)
        self.assertEqual(dig_first(data), (8000, 1))
        self.assertIs(type(dig_first(data)[0]), int)
        data = toml("attr_timeout = 30")
        check("hf3fs_fuse_main", data)
        self.assertIs(type(data["attr_timeout"]), float)
        self.wrong_type("storage_main",
                        toml("[[server.base.groups]]\nservices = ['StorageSerde', 5]"),
                        "'server.base.groups#0.services[1]' must be a string")


def dig_first(data):
    lst = data["server"]["base"]["groups"][0]["listener"]
    return lst["listen_port"], lst["listen_queue_depth"]


class Facts(StandinSchemaTest):
    def test_server_fdb_only_where_declared(self):
        fdb = "[server.fdb]\nclusterFile = '/opt/3fs/etc/fdb.cluster'\n"
        self.invalid("storage_main", toml(fdb), "server.fdb")
        self.invalid("mgmtd_main", toml(fdb), "server.fdb")
        check("meta_main", toml(fdb))
        self.invalid("meta_main_launcher", toml("[fdb]\nclusterFile = 'x'"), "fdb")
        check("mgmtd_main_launcher", toml("[fdb]\nclusterFile = 'x'"))

    def test_common_memory(self):
        text = "[common.memory]\nprof_active = false\nprof_prefix = ''\n"
        for role in MAINS:
            check(role, toml(text))
        # monitor_collector_main's CommonConfig (OnePhaseApplication.h) has none
        self.invalid("monitor_collector_main", toml(text), "common.memory")

    def test_common_cluster_id(self):
        for role in MAINS:
            self.invalid(role, toml("[common]\ncluster_id = 'c'"), "common.cluster_id")
        check("monitor_collector_main", toml("[common]\ncluster_id = 'c'"))

    def test_custom_tcp_nic_prefix_is_not_at_the_pinned_commit(self):
        text = ("[[server.base.groups]]\nnetwork_type = 'TCP'\n[server.base.groups.listener]\n"
                "listen_port = 9000\ncustom_tcp_nic_prefix = 'br'\n")
        for role in ("mgmtd_main", "meta_main", "storage_main", "monitor_collector_main"):
            self.invalid(role, toml(text),
                         "server.base.groups#0.listener.custom_tcp_nic_prefix")
        two = ("[[server.base.groups]]\n[[server.base.groups]]\n[server.base.groups.listener]\n"
               "custom_tcp_nic_prefix = 'br'\n")
        self.invalid("storage_main", toml(two), "server.base.groups#1.listener.custom_tcp_nic_prefix")

    def test_monitor_ib_devices_and_base_are_the_server_classes(self):
        check("monitor_collector_main", toml(
            "[common.ib_devices]\nallow_no_usable_devices = true\n"
            "[common.monitor]\ncollect_period = '1s'\n"
            "[[server.base.groups]]\n[server.base.groups.listener]\nrdma_accept_timeout = '15s'\n"))
        self.invalid("monitor_collector_main",
                     toml("[common.ib_devices]\nallow_no_usable_device = true"),
                     "common.ib_devices.allow_no_usable_device")


class Variants(StandinSchemaTest):
    REP = "[[common.monitor.reporters]]\ntype = '{t}'\n[common.monitor.reporters.{s}]\n{k}\n"

    def test_variant_keys_come_from_the_schemas(self):
        v = contract.contract().variants
        self.assertEqual(sorted(v), ["clickhouse", "log", "monitor_collector"])
        self.assertEqual(sorted(v["clickhouse"].children), ["db", "host", "passwd", "port", "user"])
        self.assertEqual(sorted(v["monitor_collector"].children), ["remote_ip"])

    def test_server_reporters(self):
        for role in MAINS:
            for t, s, k in (("monitor_collector", "monitor_collector", "remote_ip = '1.2.3.4:10000'"),
                            ("clickhouse", "clickhouse", "host = 'h'\nport = '9000'\ndb = '3fs'"),
                            ("log", "log", "ignore = ''")):
                check(role, toml(self.REP.format(t=t, s=s, k=k)))
            self.invalid(role, toml(self.REP.format(t="clickhouse", s="clickhouse", k="hots = 'h'")),
                         "common.monitor.reporters#0.clickhouse.hots")
            self.invalid(role, toml(self.REP.format(t="log", s="log", k="file = 'x'")),
                         "common.monitor.reporters#0.log.file")
            self.invalid(role, toml(self.REP.format(t="monitor_collector", s="monitor_collector",
                                                    k="remote_port = 1")),
                         "common.monitor.reporters#0.monitor_collector.remote_port")
            self.invalid(role, toml(self.REP.format(t="log", s="prometheus", k="a = 1")),
                         "common.monitor.reporters#0.prometheus")
            self.refused(role, toml(self.REP.format(t="prometheus", s="log", k="ignore = ''")),
                         "Check failed: common.monitor.reporters#0.type",
                         "StatusCode::ConfigValidateFailed")

    def test_collector_reporter(self):
        base = "[server.monitor_collector.reporter]\ntype = '{t}'\n[server.monitor_collector.reporter.{s}]\n{k}\n"
        role = "monitor_collector_main"
        check(role, toml(base.format(t="monitor_collector", s="monitor_collector",
                                     k="remote_ip = '1.2.3.4:10000'")))
        check(role, toml(base.format(t="log", s="log", k="ignore = 'x'")))
        self.invalid(role, toml(base.format(t="monitor_collector", s="monitor_collector", k="bogus = 1")),
                     "server.monitor_collector.reporter.monitor_collector.bogus")
        self.wrong_type(role, toml(base.format(t="clickhouse", s="clickhouse", k="port = 8999")),
                        "'server.monitor_collector.reporter.clickhouse.port' must be a string")

    def test_admin_cli_reporters(self):
        rep = "[[monitor.reporters]]\ntype = 'monitor_collector'\n[monitor.reporters.monitor_collector]\n"
        check("admin_cli", toml(rep + "remote_ip = '1.2.3.4:10000'"))
        self.invalid("admin_cli", toml(rep + "bogus = 1"), "monitor.reporters#0.monitor_collector.bogus")


# ------------------------------------------------------------ whole files

PLACEHOLDERS = {"@IP1@": "10.0.0.1", "@CLUSTER@": "stage", "@NODE_ID@": "10001",
                "@CH_PASSWORD@": "pw"}


def testdata(name):
    with open(os.path.join(REPO, "tests", "images", "testdata", "good", name), encoding="utf-8") as f:
        text = f.read()
    for k, v in PLACEHOLDERS.items():
        text = text.replace(k, v)
    return text


class Files(StandinSchemaTest):
    GOOD = sorted(n for n in os.listdir(os.path.join(REPO, "tests", "images", "testdata", "good"))
                  if n.endswith(".toml"))

    def test_stand_in_testdata_passes_the_load_checks(self):
        self.assertGreaterEqual(len(self.GOOD), 14)
        for name in self.GOOD:
            schema.check_file(name[:-5], toml(testdata(name)), name)

    def test_load_checks_of_values_remain(self):
        bad = toml(testdata("storage_main_launcher.toml").replace("RDMA://", "HTTP://"))
        with self.assertRaisesRegex(Fail, "invalid .*address.*HTTP://"):
            schema.check_file("storage_main_launcher", bad, "x")
        bad = toml(testdata("mgmtd_main.toml").replace("level = 'INFO'", "level = 'LOUD'"))
        with self.assertRaisesRegex(Fail, "unknown log level 'LOUD'"):
            schema.check_file("mgmtd_main", bad, "x")
        with self.assertRaisesRegex(Fail, "'node_id' must be an integer"):
            schema.check_file("storage_main_app", toml("node_id = 'x'"), "x")
        with self.assertRaisesRegex(Fail, "Invalid key: node_id"):
            schema.check_file("hf3fs_fuse_main_app", toml("node_id = 1"), "x")

    def test_check_config_script(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good", "storage_main.toml")
            bad = os.path.join(d, "bad", "storage_main.toml")
            other = os.path.join(d, "storage.toml")
            os.makedirs(os.path.dirname(good))
            os.makedirs(os.path.dirname(bad))
            text = testdata("storage_main.toml")
            self.assertIn("enable_io_uring", text)
            for path, body in ((good, text), (bad, text.replace("enable_io_uring", "enable_io_urin")),
                               (other, text)):
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
            script = os.path.join(HERE, "check_config.py")
            run = [sys.executable, script]
            res = subprocess.run(run + [good], capture_output=True, text=True)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            res = subprocess.run(run + [good, bad], capture_output=True, text=True)
            self.assertEqual(res.returncode, 1)
            self.assertIn("Invalid key: server.aio_read_worker.enable_io_urin", res.stdout)
            res = subprocess.run(run + [other], capture_output=True, text=True)
            self.assertEqual(res.returncode, 1)
            self.assertIn("no schema for a file named storage.toml", res.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=1)
