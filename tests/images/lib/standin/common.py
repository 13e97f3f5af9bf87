"""Shared helpers of the 3FS/FoundationDB/ClickHouse stand-ins (test fixtures).

Everything here is stdlib-only so it runs on Debian's python3 inside the images.
Errors a real 3FS program would report are raised as Fail; the programs print
them as one clear line naming the file/key and exit non-zero.
"""
import json
import logging
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time

from . import logconf

try:
    import tomllib
except ImportError:  # python3 < 3.11 (the deploying machine's checks): the same API
    import tomli as tomllib

LOG_DIR = "/var/log/3fs"
# A process's release version as list-nodes prints it (ReleaseVersion::toString,
# src/common/app/AppInfo.cc: tag date, rel|dev, tag sequence number, pipeline
# id, 8 hex digits of the commit): here what cmake/GitVersion.cmake makes of
# the pinned commit ee9a5cee without a numeric tag. RELEASE_DEFAULT is a
# default-constructed ReleaseVersion's, shown for a node mgmtd has no
# heartbeat from (registered, or loaded after a takeover; NodeConversion.cc).
RELEASE = "250228-dev-1-999999-ee9a5cee"
RELEASE_DEFAULT = "0-dev-0-0-00000000"
log = logging.getLogger("standin")


class Fail(Exception):
    """A fatal error with a 3FS-style status code and name."""

    def __init__(self, msg, code=4, name="StatusCode::InvalidConfig"):
        super().__init__(msg)
        self.msg, self.code, self.name = msg, code, name

    def to_dict(self):
        return {"ok": False, "code": self.code, "name": self.name, "msg": self.msg}


def setup_log(prog, log_dir=None):
    """Log to <log_dir>/<prog>.log and to stderr (the programs other than the
    3FS services, which log as their [common.log] says: logconf)."""
    log_dir = log_dir or os.environ.get("STANDIN_LOG_DIR", LOG_DIR)
    fmt = logging.Formatter("[%(asctime)s] %(levelname)s " + prog + " %(message)s")
    log.setLevel(logging.DEBUG)
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    err.setLevel(logging.INFO if prog != "cli" else logging.CRITICAL)
    log.addHandler(err)
    try:
        os.makedirs(log_dir, exist_ok=True)
        fh = logging.FileHandler(os.path.join(log_dir, prog + ".log"))
        fh.setFormatter(fmt)
        log.addHandler(fh)
    except OSError as e:
        log.warning("cannot write log file in %s: %s", log_dir, e)


def die(prog, err):
    """Report a fatal error the way the programs do and exit 1. A 3FS service
    (logconf.start) logs it at FATAL through its log handlers (m3fs's config:
    both files and stderr); the plain line goes to stderr only when no handler
    wrote it there, so the reason always reaches stderr, as real 3FS's fatal
    exits do (folly writes a FATAL message to stderr itself when there is no
    handler; the abort that follows reports on stderr)."""
    msg = err.msg if isinstance(err, Fail) else str(err)
    if logconf.active():
        if not logconf.fatal(msg):
            print(f"{prog}: error: {msg}", file=sys.stderr)
    else:
        log.error("%s", msg)
        print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- TOML files

def load_toml_text(text, origin):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise Fail(f"{origin}: TOML syntax error: {e}", 15, "StatusCode::ConfigInvalidValue")


def load_toml(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise Fail(f"{path}: {what} not found (No such file or directory)")
    except (OSError, UnicodeDecodeError) as e:
        raise Fail(f"{path}: cannot read {what}: {e}")
    return load_toml_text(text, path)


def dig(data, dotted, default=None):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def set_dotted(data, dotted, value):
    parts = dotted.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value


# Duration::from (src/common/utils/Duration.cc): one or more <integer><unit>
# terms (scn reads the integer, then the unit up to the next blank; blanks
# around a term are skipped), units ns us ms s min h day in strictly
# decreasing order, e.g. "10s", "1min", "2min", "1min 30s", "200ms" (what
# config dumps print: Duration::toString). Anything else is refused with
# upstream's words.
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
                  "day": 86400.0}
_DURATION_TERM = re.compile(r"\s*([+-]?\d+)\s*(\S+)\s*")


def parse_duration(text):
    """Seconds (a float) of a duration string; ValueError with upstream's
    message when it does not parse."""
    rest = text.strip()
    if not rest:
        raise ValueError("empty duration string")
    total, last = 0.0, float("inf")
    while rest:
        m = _DURATION_TERM.match(rest)
        unit = DURATION_UNITS.get(m.group(2)) if m else None
        if unit is None or unit >= last:
            raise ValueError(f"wrong duration format '{text}'")
        total, last, rest = total + int(m.group(1)) * unit, unit, rest[m.end():]
    return total


def is_duration(text):
    try:
        parse_duration(text)
        return True
    except (ValueError, AttributeError):
        return False


def dig_duration(data, dotted, current):
    """A duration item of a loaded config, in seconds (its text was checked
    at load: contract.py). `current` is the value the process holds: the
    code default at start, the value in force for a hot update, where a key
    the new text leaves out keeps its value (ConfigBase::update sets only
    the keys it is given; src/common/utils/ConfigBase.h)."""
    text = dig(data, dotted)
    return current if text is None else parse_duration(text)


def parse_flag_value(text):
    """Value of --config.x=V style overrides: a TOML value, else a plain string."""
    try:
        return tomllib.loads("v = " + text)["v"]
    except tomllib.TOMLDecodeError:
        return text


# ---------------------------------------------------------------- checks

def check_cluster_id(cid, origin, allow_empty=False):
    """cluster_id is a plain string item (CONFIG_ITEM(cluster_id, "")): real 3FS
    checks neither emptiness nor length when loading a config; only the FUSE
    client limits it (check_fuse_mount_name). allow_empty is kept for callers."""
    if not isinstance(cid, str):
        raise Fail(f"{origin}: cluster_id must be a string", 15, "ConfigInvalidType")
    return cid


def check_fuse_mount_name(cid):
    """The FUSE client mounts as hf3fs.<cluster_id> and refuses an id of 32 or
    more characters (XLOGF_IF(FATAL ...) in src/fuse/FuseClients.cc, init)."""
    if len(cid) >= 32:
        raise Fail(f"FUSE only support mount name shorter than 32 characters, but {cid} got.")


def check_node_id(data, origin):
    nid = data.get("node_id")
    if nid is None:
        raise Fail(f"{origin}: required key 'node_id' is missing")
    if isinstance(nid, bool) or not isinstance(nid, int):
        raise Fail(f"{origin}: key 'node_id' must be an integer")
    if nid <= 0 or nid > 0xFFFFFFFF:
        raise Fail(f"{origin}: node_id {nid} is out of range (1..4294967295)")
    return nid


# ---------------------------------------------------------------- addresses
# net::Address::fromString (src/common/utils/Address.h): an optional
# "<TYPE>://" prefix whose TYPE names an Address::Type case-insensitively
# (TCP, RDMA, IPoIB, LOCAL, UNIX; no or another prefix: the whole text is read
# as TCP), then scn::scan(sv, "{}.{}.{}.{}:{}") into four uint8_t and a
# uint16_t. So an address is IPv4 only: an IPv6 address or a DNS name does not
# scan and is "invalid address: <text>" (Address::from, kInvalidFormat), which
# fails the config load. scn skips leading blanks and ignores what follows the
# port; an all-zero TCP address (0.0.0.0:0) counts as invalid (!addr).
ADDRESS_TYPES = ("TCP", "RDMA", "IPoIB", "LOCAL", "UNIX")
_SCAN_RE = re.compile(r"\s*(\d+)\.\s*(\d+)\.\s*(\d+)\.\s*(\d+):\s*(\d+)")


def _scan_ipv4(text, atype):
    """fromString(sv, type): (type, ip, port) or None."""
    m = _SCAN_RE.match(text)
    if not m:
        return None
    octets, port = [int(g) for g in m.groups()[:4]], int(m.group(5))
    if any(o > 255 for o in octets) or port > 65535:
        return None
    if atype == "TCP" and not any(octets) and port == 0:
        return None
    return atype, ".".join(map(str, octets)), port


def address_from_string(text):
    """(type, ip, port) as net::Address::fromString reads text, or None."""
    if not isinstance(text, str):
        return None
    prefix, sep, tail = text.partition("://")
    named = next((t for t in ADDRESS_TYPES if t.lower() == prefix.lower()), None) if sep else None
    return _scan_ipv4(tail, named) if named else _scan_ipv4(text, "TCP")


def parse_address(text, origin):
    """One 3FS address (see address_from_string); invalid ones fail like
    Address::from: "invalid address: <text>"."""
    addr = address_from_string(text)
    if addr is None:
        raise Fail(f"{origin}: invalid address: {text}", 33, "InvalidFormat")
    return addr


def parse_address_list(value, origin, key="mgmtd_server_addresses"):
    if value is None:
        raise Fail(f"{origin}: required key '{key}' is missing")
    if not isinstance(value, list) or not value:
        raise Fail(f"{origin}: '{key}' must be a non-empty array of addresses")
    return [parse_address(v, f"{origin}: {key}") for v in value]


def parse_plain_address(text, origin):
    """The monitor's remote_ip is a plain string that MonitorCollectorClient::init
    reads with Address::fromString(remote_ip, TCP) (no scheme) and never checks
    (src/common/monitor/MonitorCollectorClient.cc): a bad value fails no
    config load, it only makes reporting fail. Returns (ip, port) or None."""
    addr = _scan_ipv4(text, "TCP") if isinstance(text, str) else None
    return None if addr is None else addr[1:]


PLAIN_ADDR_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$")


def _check_ip_port(ip, port, text, origin):
    if any(int(o) > 255 for o in ip.split(".")) or not 0 < int(port) < 65536:
        raise Fail(f"{origin}: invalid address '{text}'")
    return ip, int(port)


CLUSTER_FILE_RE = re.compile(r"^([A-Za-z0-9_]+):([A-Za-z0-9]+)@(.+)$")


def parse_cluster_text(text, origin):
    line = text.strip()
    m = CLUSTER_FILE_RE.match(line)
    if not m or "\n" in line:
        raise Fail(f"{origin}: invalid FoundationDB cluster file: expected "
                   f"'description:id@ip:port[,ip:port...]'")
    coords = []
    for item in m.group(3).split(","):
        item = item.strip()
        if item.endswith(":tls"):
            item = item[:-4]
        pm = PLAIN_ADDR_RE.match(item)
        if not pm:
            raise Fail(f"{origin}: invalid coordinator '{item}' in cluster file")
        coords.append(_check_ip_port(pm.group(1), pm.group(2), item, origin))
    return coords


def read_cluster_file(path, origin):
    if not isinstance(path, str) or not path:
        raise Fail(f"{origin}: fdb clusterFile is not set")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise Fail(f"{origin}: cannot read fdb cluster file {path}: {e.strerror}")
    return parse_cluster_text(text, path)


# ---------------------------------------------------------------- JSON-lines RPC

class RpcError(Exception):
    pass


class RpcTimeout(RpcError):
    """No reply within the timeout: the request was sent (or the connection
    is still being set up), so the server may still carry it out."""


_pool = threading.local()  # (ip, port) -> (socket, reader) of this thread's open connections


def rpc(addr, req, timeout=5.0):
    """Send one JSON request line to (ip, port); return the decoded reply.

    Each thread keeps its connections open for the next call (servers answer
    any number of lines per connection). A kept connection is used only if
    its server has not closed it meanwhile (it restarted); a request that was
    sent is never sent again here."""
    conns = _pool.__dict__.setdefault("conns", {})
    conn = conns.pop(addr, None)
    if conn is not None and not _still_open(conn[0]):
        conn[0].close()
        conn = None
    if conn is None:
        try:
            s = socket.create_connection(addr, timeout=timeout)
        except OSError as e:
            raise RpcError(f"{addr[0]}:{addr[1]}: {e.strerror or e}")
        conn = (s, s.makefile("rb"))
    return _exchange(addr, conn, (json.dumps(req) + "\n").encode(), timeout, conns)


def _still_open(s):
    """No end-of-file, error or stray byte waits on an idle kept connection."""
    try:
        s.setblocking(False)
        s.recv(1, socket.MSG_PEEK)  # returns b"" (closed) or a byte (out of step)
        return False
    except BlockingIOError:  # nothing waiting: still open
        return True
    except OSError:
        return False


def _exchange(addr, conn, line, timeout, conns):
    s, reader = conn
    try:
        s.settimeout(timeout)
        s.sendall(line)
        buf = reader.readline()
    except TimeoutError as e:
        s.close()
        raise RpcTimeout(f"{addr[0]}:{addr[1]}: {e.strerror or e}")
    except OSError as e:
        s.close()
        raise RpcError(f"{addr[0]}:{addr[1]}: {e.strerror or e}")
    if not buf.endswith(b"\n"):
        s.close()
        raise RpcError(f"{addr[0]}:{addr[1]}: connection closed without a (whole) reply")
    conns[addr] = conn
    try:
        return json.loads(buf)
    except ValueError:
        raise RpcError(f"{addr[0]}:{addr[1]}: malformed reply")


def local_ip_towards(addr):
    """The local IP used to reach addr (what peers should connect back to)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        return s.getsockname()[0]


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            try:
                req = json.loads(line)
                reply = self.server.dispatch(req, self.client_address)
            except Fail as e:
                reply = e.to_dict()
            except Exception as e:  # keep serving; report the failure
                log.exception("request failed")
                reply = {"ok": False, "code": 1, "name": "StatusCode::Unknown", "msg": str(e)}
            self.wfile.write((json.dumps(reply) + "\n").encode())


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 4096  # listen(2) backlog: Listener's listen_queue_depth


def serve(port, dispatch, what, host="0.0.0.0", start=True):
    """Listen on host:port in a thread; dispatch(req, peer) -> reply dict.
    The 3FS stand-ins pass each address their listeners bind (netif.py);
    FoundationDB and ClickHouse listen on all addresses. start=False binds
    and listens (connections wait in the backlog) but accepts none until
    start_serving(srv), as a 3FS server's listener sockets are made in
    Server::setup and accept only once ServiceGroup::start runs, after
    beforeStart (src/common/net/Server.cc, Listener.cc)."""
    try:
        srv = _Server((host, port), _Handler)
    except OSError as e:
        log.error("create socket failed: %s:%d: %s", host, port, e.strerror)
        raise Fail(f"{what}: cannot listen on {host}:{port}: {e.strerror} "
                   f"(RPC::ListenFailed(2011))", 2011, "RPC::ListenFailed")
    srv.dispatch = dispatch
    if start:
        start_serving(srv)
    log.info("%s listening on %s:%d", what, host, srv.server_address[1])
    return srv


def start_serving(srv):
    """Accept and serve the connections of a server serve() bound."""
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def ok(**kw):
    kw["ok"] = True
    return kw


def wait_forever(stop_event, period, tick):
    while not stop_event.wait(period):
        try:
            tick()
        except Exception as e:  # keep the service alive, report it
            log.warning("periodic task failed: %s", e)


STOP = threading.Event()


def block_interrupt_signals():
    """ApplicationBase::run blocks SIGINT and SIGTERM before anything else
    (Thread::blockInterruptSignals) and handles them in mainLoop once the
    service runs (src/common/app/ApplicationBase.cc): one that arrives while
    the service starts stops it as soon as it is up. (Unhandled, a signal
    to the stand-in as PID 1 of its container would be dropped, and docker
    would wait out the stop timeout.)"""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())


def wait_for_signal():
    """Block until SIGTERM/SIGINT (needed when running as PID 1 in a
    container), or return at once when one came since
    block_interrupt_signals."""
    block_interrupt_signals()
    while not STOP.wait(1.0):
        pass


def now():
    return time.time()


def run_every(name, task, interval, stop):
    """A background task as upstream's BackgroundRunner::run runs one
    (src/common/utils/BackgroundRunner.cc): run it, then wait what is left
    of interval() seconds, read after each round, so a hot-updated interval
    applies from the next round; an interval of 0 ends the task. Each task
    has its own thread (upstream: its own coroutine), so a slow one delays
    no other. Returns the thread."""
    def loop():
        while True:
            start = time.monotonic()
            try:
                task()
            except Exception:  # keep the task alive, report it
                log.exception("background task %s failed", name)
            secs = interval()
            if secs == 0:
                log.info("BackgroundRunner: %s stopped (interval 0)", name)
                return
            if stop.wait(max(0.0, start + secs - time.monotonic())):
                return
    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
