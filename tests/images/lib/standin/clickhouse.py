"""Stand-in clickhouse-server and clickhouse-client.

Server: reads tcp_port/listen_host from /etc/clickhouse-server/config.d/*.xml
(default 9000), the user/password from CLICKHOUSE_USER/CLICKHOUSE_PASSWORD
(default 'default' with an empty password), serves JSON lines
{user, password, query} on that port and keeps its schema under
/var/lib/clickhouse. Client: runs a query or a SQL script from stdin.
"""
import glob
import json
import os
import sys
import threading
import xml.etree.ElementTree as ET

from .chsql import SqlError, parse, split_statements
from .common import Fail, RpcError, log, ok, rpc, serve, setup_log, wait_for_signal

CONF_DIR = os.environ.get("STANDIN_CH_CONF_DIR", "/etc/clickhouse-server/config.d")
DATA = os.environ.get("STANDIN_CH_DATA", "/var/lib/clickhouse/standin-schema.json")
VERSION = "25.1.5.31"


def read_port():
    port = 9000
    for path in sorted(glob.glob(os.path.join(CONF_DIR, "*.xml"))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            raise Fail(f"{path}: XML parse error: {e}")
        node = root.find("tcp_port")
        if node is not None:
            try:
                port = int((node.text or "").strip())
            except ValueError:
                raise Fail(f"{path}: <tcp_port> must be a number, got '{node.text}'")
    return port


class Server:
    def __init__(self):
        self.user = os.environ.get("CLICKHOUSE_USER") or "default"
        self.password = os.environ.get("CLICKHOUSE_PASSWORD", "")
        self.lock = threading.Lock()
        self.dbs = {"default": {}, "system": {}}
        if os.path.exists(DATA):
            with open(DATA, encoding="utf-8") as f:
                self.dbs = json.load(f)
        db = os.environ.get("CLICKHOUSE_DB")
        if db:
            self.dbs.setdefault(db, {})

    def save(self):
        os.makedirs(os.path.dirname(DATA), exist_ok=True)
        with open(DATA + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.dbs, f)
        os.replace(DATA + ".tmp", DATA)

    def dispatch(self, req, peer):
        if req.get("user") != self.user or req.get("password") != self.password:
            log.warning("authentication failed for user %r from %s", req.get("user"), peer[0])
            return {"ok": False, "code": 516, "error": SqlError(
                516, "AUTHENTICATION_FAILED",
                f"{req.get('user')}: Authentication failed: password is incorrect, or there is "
                f"no user with such name").text()}
        try:
            with self.lock:
                return ok(result=self.execute(parse(req.get("query", "")), req.get("database")))
        except SqlError as e:
            return {"ok": False, "code": e.code, "error": e.text()}

    def execute(self, st, current_db):
        kind = st["kind"]
        if kind == "select":
            return [st["value"]]
        if kind == "show_databases":
            return sorted(self.dbs)
        if kind == "create_database":
            if st["name"] in self.dbs:
                if st["if_not_exists"]:
                    return []
                raise SqlError(82, "DATABASE_ALREADY_EXISTS", f"Database {st['name']} already exists")
            self.dbs[st["name"]] = {}
            self.save()
            return []
        db = st.get("db") or current_db or "default"
        if db not in self.dbs:
            raise SqlError(81, "UNKNOWN_DATABASE", f"Database {db} does not exist")
        if kind == "show_tables":
            return sorted(self.dbs[db])
        if kind == "exists":
            return ["1" if st["table"] in self.dbs[db] else "0"]
        if st["name"] in self.dbs[db]:
            if st["if_not_exists"]:
                return []
            raise SqlError(57, "TABLE_ALREADY_EXISTS", f"Table {db}.{st['name']} already exists")
        self.dbs[db][st["name"]] = {"columns": st["columns"], "engine": st["engine"]}
        self.save()
        return []


def server_main():
    setup_log("clickhouse-server", "/var/log/clickhouse-server")
    try:
        port = read_port()
        serve(port, Server().dispatch, "clickhouse-server")
    except Fail as e:
        print(f"clickhouse-server: error: {e.msg}", file=sys.stderr)
        sys.exit(1)
    wait_for_signal()


def query(host, port, user, password, sql, database=None):
    """Run one statement on a server; returns rows or raises SqlError/RpcError."""
    reply = rpc((host, port), {"user": user, "password": password, "query": sql,
                               "database": database}, timeout=10.0)
    if not reply.get("ok"):
        raise SqlError(reply.get("code", 1), "", reply.get("error", "unknown error"))
    return reply["result"]


def client_args(argv):
    o = {"host": "127.0.0.1", "port": 9000, "user": os.environ.get("CLICKHOUSE_USER") or "default",
         "password": os.environ.get("CLICKHOUSE_PASSWORD", ""), "query": None, "database": None}
    names = {"--host": "host", "-h": "host", "--port": "port", "--user": "user", "-u": "user",
             "--password": "password", "--query": "query", "-q": "query",
             "--database": "database", "-d": "database"}
    i = 0
    while i < len(argv):
        a, eq, val = argv[i].partition("=")
        if a in ("-n", "--multiquery", "--multiline", "-m"):
            i += 1
            continue
        if a not in names:
            print(f"Code: 552. DB::Exception: Unrecognized option '{a}'. (UNRECOGNIZED_ARGUMENTS)",
                  file=sys.stderr)
            sys.exit(2)
        if not eq:
            if i + 1 >= len(argv):
                sys.exit(2)
            val, i = argv[i + 1], i + 1
        o[names[a]] = int(val) if names[a] == "port" else val
        i += 1
    return o


def client_main():
    o = client_args(sys.argv[1:])
    sql = o["query"] if o["query"] is not None else sys.stdin.read()
    try:
        statements = split_statements(sql)
        for st in statements:
            parse(st)
    except SqlError as e:
        print(e.text(), file=sys.stderr)
        sys.exit(e.code % 256)
    for st in statements:
        try:
            rows = query(o["host"], o["port"], o["user"], o["password"], st, o["database"])
        except SqlError as e:
            print(f"Received exception from server (version {VERSION}):\n{e.msg}", file=sys.stderr)
            sys.exit(e.code % 256)
        except RpcError as e:
            print(f"Code: 210. DB::NetException: Connection refused ({e}). (NETWORK_ERROR)",
                  file=sys.stderr)
            sys.exit(210)
        for r in rows:
            print(r)
