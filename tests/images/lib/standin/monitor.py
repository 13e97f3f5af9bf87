"""monitor_collector_main stand-in: `monitor_collector_main --cfg FILE`.

Checks its one-file config (reporter type clickhouse, all clickhouse settings
strings), connects and authenticates to ClickHouse at start (a failure is
fatal, as in the real collector whose ClickHouse client connects in its
constructor), warns if the monitor tables are missing, then listens on the
MonitorCollector port.
"""
import sys

from . import logconf
from .chsql import SqlError
from .clickhouse import query
from .common import (Fail, RpcError, block_interrupt_signals, check_cluster_id, die, dig, load_toml,
                     log, ok, serve, wait_for_signal)
from .netif import listen_groups, start_ib_manager
from .schema import check_main

PROG = "monitor_collector_main"
SERVER_NAME = "MonitorCollector"  # MonitorCollectorServer::kName (empty log file_path)


def parse_args(argv):
    if len(argv) == 2 and argv[0] in ("--cfg", "-cfg"):
        return argv[1]
    if len(argv) == 1 and argv[0].startswith(("--cfg=", "-cfg=")):
        return argv[0].split("=", 1)[1]
    raise Fail("usage: monitor_collector_main --cfg <monitor_collector_main.toml>", 3,
               "StatusCode::InvalidArg")


def clickhouse_settings(data, path):
    rep = dig(data, "server.monitor_collector.reporter")
    if not isinstance(rep, dict):
        raise Fail(f"{path}: required table 'server.monitor_collector.reporter' is missing")
    if rep.get("type") != "clickhouse":
        raise Fail(f"{path}: server.monitor_collector.reporter.type must be 'clickhouse', "
                   f"got {rep.get('type')!r}")
    ch = rep.get("clickhouse") or {}
    for key in ("db", "host", "passwd", "port", "user"):
        if key not in ch:
            raise Fail(f"{path}: required key 'server.monitor_collector.reporter.clickhouse."
                       f"{key}' is missing")
    if not ch["host"] or not ch["db"] or not ch["user"]:
        raise Fail(f"{path}: clickhouse host, db and user must not be empty")
    if not ch["port"].isdigit() or not 0 < int(ch["port"]) < 65536:
        raise Fail(f"{path}: clickhouse port '{ch['port']}' is not a port number")
    return ch


def connect(ch):
    addr = f"{ch['host']}:{ch['port']}"
    try:
        for table in ("counters", "distributions"):
            rows = query(ch["host"], int(ch["port"]), ch["user"], ch["passwd"],
                         f"EXISTS TABLE {ch['db']}.{table}")
            if rows != ["1"]:
                log.error("ClickHouse table %s.%s is missing: metrics cannot be stored",
                          ch["db"], table)
    except RpcError as e:
        raise Fail(f"cannot connect to ClickHouse at {addr}: {e}", 13,
                   "StatusCode::MonitorInitFailed")
    except SqlError as e:
        if "AUTHENTICATION_FAILED" in e.msg or "UNKNOWN_DATABASE" not in e.msg:
            raise Fail(f"ClickHouse at {addr} refused the collector: {e.msg}", 13,
                       "StatusCode::MonitorInitFailed")
        log.error("ClickHouse database %s is missing: %s", ch["db"], e.msg)
    log.info("connected to ClickHouse at %s as %s", addr, ch["user"])


def collect(req, peer):
    if req.get("op") in ("ping", "report"):
        return ok()
    raise Fail(f"unsupported request {req.get('op')!r}", 3, "InvalidArg")


def main():
    block_interrupt_signals()  # the monitor is an ApplicationBase too
    logconf.start(PROG, SERVER_NAME)
    try:
        path = parse_args(sys.argv[1:])
        data = load_toml(path, "monitor collector config")
        check_main("MONITOR", data, path)
        check_cluster_id(dig(data, "common.cluster_id", ""), path, allow_empty=True)
        # OnePhaseApplication::initApplication (src/common/app/OnePhaseApplication.h):
        # the IB manager starts from common.ib_devices before the server is set up.
        start_ib_manager(dig(data, "common.ib_devices"))
        # then logging from [common.log] (initLogging), before the server is set up
        logconf.init(dig(data, "common.log"))
        connect(clickhouse_settings(data, path))
        listen_groups(dig(data, "server.base.groups"), "MONITOR",
                      lambda ip, port, d, w: serve(port, d, w, host=ip), collect, PROG)
    except Fail as e:
        die(PROG, e)
    wait_for_signal()
