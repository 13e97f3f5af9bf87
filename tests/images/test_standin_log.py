#!/usr/bin/env python3
"""The 3FS stand-ins log as their config's [common.log] says (ctest
standin_log; python3 only, no docker, no root, a few seconds).

Runs storage_main and monitor_collector_main stand-ins as processes (storage
against a fake mgmtd served by this test that refuses its heartbeats, as real
mgmtd refuses an unregistered node) and checks what real 3FS does
(deepseek-ai/3FS ee9a5ce; standin/logconf.py has the details): until the
main config is loaded, folly's built-in setting logs INFO and above to
stderr; then initLogging (src/common/app/Utils.cc) applies [common.log]
(src/common/logging/LogConfig.h, LogConfig.cc): with m3fs's handlers
(templates/log.toml.part, rendered here as m3fs renders it) INFO goes to
<name>.log, ERR and above to <name>-err.log too, only FATAL to stderr. A
handler with an empty file_path writes <ServerName>.log or
<ServerName>.<handler>.log in the working directory; a category naming an
undefined handler ends the start ("error parsing logging configuration",
folly::initLoggingOrDie); [common.log] is hot-updated.
"""
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "lib")
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, LIB)

from standin.common import Fail, ok, serve  # noqa: E402

CLUSTER = "logtest"
LINE = re.compile(r"^\[[^]]*\] ([A-Z]+) ")  # the stand-ins' log line: [time] LEVEL prog ...


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def m3fs_log_part(log_dir, log_name, level="INFO"):
    """templates/log.toml.part as m3fs renders it (src/services/common.c
    log_part), its /var/log/3fs being log_dir."""
    with open(os.path.join(ROOT, "templates", "log.toml.part"), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("{{ log_name }}", log_name).replace("{{ log_level }}", level)
    return text.replace("'/var/log/3fs/", f"'{log_dir}/")


def storage_main(log_part, mgmtd_port, target_path):
    return f"""{log_part}

[[server.base.groups]]
network_type = 'LOCAL'
services = [ 'StorageSerde' ]

[server.base.groups.listener]
listen_port = 0

[server.mgmtd]
mgmtd_server_addresses = ["TCP://127.0.0.1:{mgmtd_port}"]
# a heartbeat (and so a new config) every second (default 10 s)
auto_heartbeat_interval = '1s'

[server.targets]
target_paths = ["{target_path}"]
allow_disk_without_uuid = true
"""


class FakeMgmtd:
    """Serves storage its main config and refuses its heartbeats (the node
    is not registered: Mgmtd::HeartbeatFail, HeartbeatOperation.cc) until
    accept is set; a heartbeat reply carries the config version. Its
    routing info holds no chain (real mgmtd serves it to any client), so
    storage's start (waitRoutingInfo) does not wait."""

    def __init__(self):
        self.configs = []  # main config texts; version = index + 1
        self.accept = False
        self.srv = serve(0, self.dispatch, "fake mgmtd", host="127.0.0.1")
        self.port = self.srv.server_address[1]

    def dispatch(self, req, peer):
        op = req.get("op")
        if op == "get_config":
            return ok(content=self.configs[-1], version=len(self.configs), desc="")
        if op == "heartbeat":
            if not self.accept:
                raise Fail(f"{req['node_id']} not registered", 5002, "Mgmtd::HeartbeatFail")
            return ok(config_version=len(self.configs))
        if op == "routing":
            return ok(version=1, nodes={}, targets={}, chains={}, tables={}, states={})
        raise Fail("routing info not ready", 6004, "MgmtdClient::RoutingInfoNotReady")

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def levels(text):
    """The levels of the log lines in text, in order."""
    return [m.group(1) for m in map(LINE.match, text.splitlines()) if m]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="standin-log-")
        self.logs = os.path.join(self.tmp, "log")
        self.data = os.path.join(self.tmp, "data")
        os.makedirs(self.logs)
        os.makedirs(self.data)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def read(self, *parts):
        try:
            with open(os.path.join(*parts), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, code, *args):
        p = subprocess.Popen([sys.executable, "-c", code, *args], cwd=self.tmp,
                             env=dict(os.environ, PYTHONPATH=LIB), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def finish(self, p, timeout=20):
        """Wait for p to exit (SIGTERM first if it still runs): (rc, stderr)."""
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        return p.returncode, p.stderr.read()

    def wait_for(self, cond, what, timeout=15.0):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.1)
        self.fail(f"timed out waiting for {what}")


class Storage(Base):
    def setUp(self):
        super().setUp()
        self.mgmtd = FakeMgmtd()
        self.launcher = self.write("storage_main_launcher.toml", f"""cluster_id = '{CLUSTER}'

[mgmtd_client]
mgmtd_server_addresses = ["TCP://127.0.0.1:{self.mgmtd.port}"]

[ib_devices]
allow_no_usable_devices = true
""")
        self.app = self.write("storage_main_app.toml", "node_id = 10001\n")

    def tearDown(self):
        self.mgmtd.close()
        super().tearDown()

    def storage(self, log_part=None, target=None):
        if log_part is None:
            log_part = m3fs_log_part(self.logs, "storage_main")
        self.mgmtd.configs.append(storage_main(log_part, self.mgmtd.port, target or self.data))
        return self.start("from standin.services import main; main('STORAGE')",
                          "--launcher_cfg", self.launcher, "--app_cfg", self.app)

    def test_m3fs_handlers(self):
        """INFO to storage_main.log, ERR to storage_main-err.log too, no INFO
        on stderr once logging is set up."""
        p = self.storage()
        normal = os.path.join(self.logs, "storage_main.log")
        err = os.path.join(self.logs, "storage_main-err.log")
        self.wait_for(lambda: "not registered" in self.read(err), "a refusal in the err file")
        rc, stderr = self.finish(p, timeout=0)
        self.assertEqual(rc, 0, stderr)
        text = self.read(normal)
        self.assertIn("INFO storage_main storage has 0 targets on 1 paths", text)
        self.assertRegex(text, r"ERROR storage_main MgmtdClient: Heartbeat failed: "
                               r"Mgmtd::HeartbeatFail\(5002\) 10001 not registered")
        self.assertIn("INFO", levels(text))
        errs = self.read(err)
        self.assertTrue(levels(errs) and set(levels(errs)) <= {"ERROR", "CRITICAL", "FATAL"},
                        errs)
        # stderr: folly's built-in setting until the config is loaded, then FATAL only
        self.assertNotIn("storage has 0 targets", stderr)
        self.assertNotIn("Heartbeat failed", stderr)
        self.assertIn("Server config inited", stderr)
        self.assertIn("LogConfig: {", stderr)
        after = stderr[stderr.index("LogConfig: {"):].splitlines()[1:]
        self.assertEqual(levels("\n".join(after)), [], stderr)
        for line in text.splitlines():  # the files start where stderr stops
            self.assertNotIn("Server config inited", line)

    def test_fatal_reaches_stderr(self):
        """A fatal error once logging is set up: on stderr (the fatal handler),
        in both files, once."""
        p = self.storage(target=os.path.join(self.tmp, "missing"))
        rc, stderr = self.finish(p)
        self.assertEqual(rc, 1, stderr)
        msg = "does not exist (stat failed)"
        fatal = [ln for ln in stderr.splitlines() if msg in ln]
        self.assertEqual(len(fatal), 1, stderr)
        self.assertRegex(fatal[0], r"^\[[^]]*\] FATAL storage_main .*missing does not exist")
        for name in ("storage_main.log", "storage_main-err.log"):
            self.assertRegex(self.read(self.logs, name), r"FATAL storage_main .*" + re.escape(msg))

    def test_fatal_without_stream_handler(self):
        """Only a file handler (as test_images' configs): the fatal error is in
        the file and still reaches stderr."""
        part = f"""[[common.log.categories]]
categories = [ '.' ]
handlers = [ 'normal' ]
level = 'INFO'

[[common.log.handlers]]
file_path = '{self.logs}/storage_main.log'
name = 'normal'
"""
        p = self.storage(part, target=os.path.join(self.tmp, "missing"))
        rc, stderr = self.finish(p)
        self.assertEqual(rc, 1, stderr)
        self.assertIn("missing does not exist", stderr)
        self.assertRegex(self.read(self.logs, "storage_main.log"),
                         r"FATAL storage_main .*missing does not exist")
        self.assertFalse(os.path.exists(os.path.join(self.logs, "storage_main-err.log")))

    def test_config_error_before_logging(self):
        """A main config that does not load: reported on stderr (folly's
        built-in setting), no log file written."""
        self.mgmtd.configs.append("[server.targets\n")
        p = self.start("from standin.services import main; main('STORAGE')",
                       "--launcher_cfg", self.launcher, "--app_cfg", self.app)
        rc, stderr = self.finish(p)
        self.assertEqual(rc, 1, stderr)
        self.assertIn("Init config failed", stderr)
        self.assertEqual(os.listdir(self.logs), [])
        self.assertFalse([f for f in os.listdir(self.tmp) if f.endswith(".log")])

    def test_empty_file_path(self):
        """No [common.log]: LogConfig's defaults, normal and err in the working
        directory named after Server::kName; INFO off stderr all the same."""
        p = self.storage(log_part="")
        normal = os.path.join(self.tmp, "Storage.log")
        err = os.path.join(self.tmp, "Storage.err.log")
        self.wait_for(lambda: "not registered" in self.read(err), "Storage.err.log")
        rc, stderr = self.finish(p, timeout=0)
        self.assertIn("storage has 0 targets", self.read(normal))
        self.assertNotIn("storage has 0 targets", stderr)
        self.assertEqual(os.listdir(self.logs), [])

    def test_category_level(self):
        """The root category's level applies: at WARN, no INFO line anywhere
        once logging is set up."""
        p = self.storage(m3fs_log_part(self.logs, "storage_main", level="WARN"))
        normal = os.path.join(self.logs, "storage_main.log")
        self.wait_for(lambda: "not registered" in self.read(normal), "a refused heartbeat")
        rc, stderr = self.finish(p, timeout=0)
        self.assertNotIn("INFO", levels(self.read(normal)))
        self.assertNotIn("storage has 0 targets", stderr)

    def test_level_none_is_everything(self):
        """NONE is folly's lowest level (LogLevel::NONE = MIN_LEVEL): a category
        at NONE logs everything; a handler from ERR takes ERR and above."""
        part = m3fs_log_part(self.logs, "storage_main").replace("level = 'INFO'",
                                                                "level = 'NONE'")
        p = self.storage(part)
        err = os.path.join(self.logs, "storage_main-err.log")
        self.wait_for(lambda: "not registered" in self.read(err), "a refused heartbeat")
        self.finish(p, timeout=0)
        self.assertIn("storage has 0 targets", self.read(self.logs, "storage_main.log"))
        self.assertNotIn("INFO", levels(self.read(err)))

    def test_unknown_handler(self):
        """A category naming a handler that is not defined: the process ends
        when it sets logging up (LoggerDB::updateConfig, initLoggingOrDie)."""
        part = m3fs_log_part(self.logs, "storage_main")
        part = part[:part.index("[[common.log.handlers]]\nname = 'err'")]
        p = self.storage(part)
        rc, stderr = self.finish(p)
        self.assertEqual(rc, 1, stderr)
        self.assertIn('error parsing logging configuration: unknown log handler "err" '
                      'configured for log category ""', stderr)
        self.assertNotIn("storage has 0 targets", stderr + self.read(self.logs, "storage_main.log"))

    def test_hot_update(self):
        """A new main config with another [common.log]: logging is set up
        again from it (makeLogConfigUpdateCallback)."""
        self.mgmtd.accept = True
        p = self.storage()
        normal = os.path.join(self.logs, "storage_main.log")
        self.wait_for(lambda: "storage has 0 targets" in self.read(normal), "storage's start")
        other = os.path.join(self.tmp, "other")
        os.makedirs(other)
        self.mgmtd.configs.append(storage_main(m3fs_log_part(other, "st2"), self.mgmtd.port,
                                               self.data))
        moved = os.path.join(other, "st2.log")
        self.wait_for(lambda: "applied new main config" in self.read(moved), "the new log file")
        rc, stderr = self.finish(p, timeout=0)
        self.assertNotIn("applied new main config", self.read(normal))
        self.assertIn("LogConfig: {", self.read(normal))  # logged under the old setting
        self.assertEqual(stderr.count("LogConfig: {"), 1, stderr)


class Monitor(Base):
    def test_monitor_collector(self):
        """monitor_collector_main (OnePhaseApplication): the same, its fatal
        error (ClickHouse unreachable, after logging is set up) on stderr."""
        cfg = self.write("monitor_collector_main.toml", f"""[common]
cluster_id = '{CLUSTER}'

[common.ib_devices]
allow_no_usable_devices = true

{m3fs_log_part(self.logs, "monitor_collector_main")}

[[server.base.groups]]
network_type = 'LOCAL'
services = [ 'MonitorCollector' ]

[server.base.groups.listener]
listen_port = 0

[server.monitor_collector.reporter]
type = 'clickhouse'

[server.monitor_collector.reporter.clickhouse]
db = '3fs'
host = '127.0.0.1'
passwd = ''
port = '{free_port()}'
user = 'default'
""")
        p = self.start("from standin.monitor import main; main()", "--cfg", cfg)
        rc, stderr = self.finish(p)
        self.assertEqual(rc, 1, stderr)
        fatal = [ln for ln in stderr.splitlines() if "cannot connect to ClickHouse" in ln]
        self.assertEqual(len(fatal), 1, stderr)
        self.assertRegex(fatal[0], r"FATAL monitor_collector_main ")
        self.assertIn("cannot connect to ClickHouse",
                      self.read(self.logs, "monitor_collector_main-err.log"))
        self.assertIn("LogConfig: {", stderr)


class Units(unittest.TestCase):
    """logconf's pieces against folly's and 3FS's rules."""

    def test_levels(self):
        from standin.logconf import ERR, FATAL, INFO, NONE, level_name, parse_level
        for text, want in (("NONE", NONE), ("none", NONE), ("DBG", 1000), ("debug", 1000),
                           ("DBG5", 1994), ("INFO", INFO), ("INFO3", 2996), ("WARNING", 3000),
                           ("ERROR", ERR), ("err", ERR), ("CRITICAL", 5000), ("FATAL", FATAL),
                           ("LogLevel::WARN", 3000), ("loglevel(4000)", ERR), ("2000", INFO),
                           ("LOUD", None), ("INFO ", None), ("", None)):
            self.assertEqual(parse_level(text), want, text)
        self.assertEqual([level_name(v) for v in (NONE, 1000, 1994, INFO, ERR, FATAL)],
                         ["NONE", "DEBUG", "DBG5", "INFO", "ERR", "FATAL"])

    def test_generate(self):
        """generateLogConfig: the defaults name empty paths after the server."""
        from standin.logconf import DEFAULT_CONFIG, generate
        conf = generate(DEFAULT_CONFIG, "Meta")
        self.assertEqual(conf["categories"], {".": {"level": "INFO", "inherit": True,
                                                    "propagate": "NONE",
                                                    "handlers": ["normal", "err", "fatal"]}})
        h = conf["handlers"]
        self.assertEqual(h["normal"], {"type": "file", "options": {
            "path": "Meta.log", "async": "true", "rotate": "true", "max_files": "100",
            "max_file_size": str(10 << 20), "rotate_on_open": "false"}})
        self.assertEqual(h["err"]["options"]["path"], "Meta.err.log")
        self.assertEqual(h["err"]["options"]["level"], "ERR")
        self.assertEqual(h["fatal"], {"type": "stream",
                                      "options": {"level": "FATAL", "stream": "stderr"}})

    def test_rotation(self):
        """RotatingFile: <base>.1<ext>, ... max_files kept."""
        from standin.logconf import EventFormatter, FileOut
        tmp = tempfile.mkdtemp(prefix="standin-log-")
        try:
            path = os.path.join(tmp, "x.log")
            out = FileOut("normal", {"path": path, "rotate": "true", "max_files": "2",
                                     "max_file_size": "100"}, EventFormatter())
            for i in range(10):
                out.handle(logging.makeLogRecord({"msg": f"{i:039d}", "levelno": 20}))
            out.close()
            self.assertEqual(sorted(os.listdir(tmp)), ["x.1.log", "x.2.log", "x.log"])
            self.assertEqual(os.path.getsize(path), 80)
        finally:
            shutil.rmtree(tmp)

    def test_testdata_sets_logging_up(self):
        """Every category of test_images' good main configs names handlers
        the config defines (else real 3FS ends at its start)."""
        from standin.common import tomllib
        from standin.logconf import DEFAULT_CONFIG, generate
        good = os.path.join(HERE, "testdata", "good")
        for name in sorted(os.listdir(good)):
            if not name.endswith("_main.toml"):
                continue
            with open(os.path.join(good, name), "rb") as f:
                section = tomllib.load(f).get("common", {}).get("log", {})
            conf = generate(dict(DEFAULT_CONFIG, **section), "X")
            for cat, spec in conf["categories"].items():
                for h in spec["handlers"]:
                    self.assertIn(h, conf["handlers"], f"{name}: category {cat!r}")

    def test_check_log(self):
        """The config check reads levels as folly does: NONE is a level, an
        unknown start_level does not load."""
        from standin.schema import check_log
        check_log({"common": {"log": {"categories": [{"level": "NONE"}]}}}, "t")
        with self.assertRaisesRegex(Fail, "unknown log level 'LOUD' in common.log.handlers"):
            check_log({"common": {"log": {"handlers": [{"start_level": "LOUD"}]}}}, "t")


if __name__ == "__main__":
    logging.getLogger("standin").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", ResourceWarning)
    unittest.main(verbosity=2, warnings=False)
