"""Logging of the 3FS service stand-ins, set up the way real 3FS sets it up.

Upstream (deepseek-ai/3FS ee9a5ce) logs with folly. Until the config is
loaded, folly's built-in setting applies: level INFO, one handler writing to
stderr (initializeLoggerDB, folly/logging/LoggerDB.cpp; kDefaultLogLevel,
folly/logging/LogLevel.h); a config that fails to load is reported there.
Once the main config is loaded, initLogging (src/common/app/Utils.cc; the
monitor collector: src/common/app/OnePhaseApplication.h) turns its
[common.log] (src/common/logging/LogConfig.h) into folly's JSON config
(generateLogConfig, src/common/logging/LogConfig.cc), logs it at INFO while
the old setting still holds, and merges it into folly's (folly::initLogging,
LoggerDB::updateConfig): the root category ('.') takes the level and the
handlers given, which replace stderr. m3fs's handlers (templates/
log.toml.part) thus leave only FATAL on stderr. A handler with an empty
file_path writes <ServerName>.log ("normal") or <ServerName>.<name>.log in
the working directory; a category naming an undefined handler, or a file that
cannot be opened, ends the process with "error parsing logging
configuration: ..." (initLoggingOrDie). [common.log] is hot-updated: a new
main config that has it sets logging up again (makeLogConfigUpdateCallback).

The stand-ins log through the one "standin" logger, so only the root
category's level and handlers apply; other categories are checked (their
handlers must exist) and their handlers kept open, as folly does, but no
stand-in message goes to them. Levels are compared as folly's numbers
(folly/logging/LogLevel.h): NONE (1) is the lowest, i.e. everything.
"""
import json
import logging
import os
import re
import sys

log = logging.getLogger("standin")

# folly::LogLevel values
NONE, DBG, DBG0, INFO, INFO0 = 1, 1000, 1999, 2000, 2999
WARN, ERR, CRITICAL, DFATAL, FATAL = 3000, 4000, 5000, 0x7FFFFFFE, 0x7FFFFFFF
MIN_LEVEL, MAX_LEVEL = NONE, FATAL

# Python's level for folly's FATAL (XLOGF(FATAL)); named as 3FS's LogFormatter
# names it (src/common/logging/LogFormatter.cc getLevelName, whose other names
# are Python's: DEBUG, INFO, WARNING, ERROR, CRITICAL).
PY_FATAL = 60
logging.addLevelName(PY_FATAL, "FATAL")
_PY_TO_FOLLY = ((PY_FATAL, FATAL), (logging.CRITICAL, CRITICAL), (logging.ERROR, ERR),
                (logging.WARNING, WARN), (logging.INFO, INFO), (logging.DEBUG, DBG))

_NAMES = {"uninitialized": 0, "none": NONE, "debug": DBG, "dbg": DBG, "info": INFO,
          "warn": WARN, "warning": WARN, "error": ERR, "err": ERR, "critical": CRITICAL,
          "dfatal": DFATAL, "fatal": FATAL, "max": MAX_LEVEL, "max_level": MAX_LEVEL}


def parse_level(text):
    """folly::stringToLogLevel (folly/logging/LogLevel.cpp): the folly level
    of a config string, None if folly refuses it."""
    if not isinstance(text, str):
        return None
    name = text.lower()
    if name.startswith("loglevel::"):
        name = name[len("loglevel::"):]
    elif name.startswith("loglevel(") and name.endswith(")"):
        name = name[len("loglevel("):-1]
    if name in _NAMES:
        return _NAMES[name]
    for prefix, top, low in (("dbg", DBG0, DBG), ("info", INFO0, INFO)):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if re.fullmatch(r"[+-]?\d+", rest) and 0 <= int(rest) <= top - low:
                return top - int(rest)
            return None
    if re.fullmatch(r"\+?\d+", name) and int(name) < 2 ** 32:
        return int(name)
    return None


def level_name(level):
    """folly::logLevelToString."""
    for name, value in (("UNINITIALIZED", 0), ("NONE", NONE), ("DEBUG", DBG), ("INFO", INFO),
                        ("WARN", WARN), ("ERR", ERR), ("CRITICAL", CRITICAL),
                        ("DFATAL", DFATAL), ("FATAL", FATAL)):
        if level == value:
            return name
    for prefix, top, low in (("DBG", DBG0, DBG), ("INFO", INFO0, INFO)):
        if low < level <= top:
            return f"{prefix}{top - level}"
    return f"LogLevel({level})"


def folly_level(levelno):
    """The folly level of a Python log record's level."""
    for py, folly in _PY_TO_FOLLY:
        if levelno >= py:
            return folly
    return NONE


_SIZE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40,
               "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}


def parse_size(value):
    """hf3fs::Size::from (src/common/utils/Size.cc): bytes, None if unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    if value == "infinity":
        return float("inf")
    m = re.fullmatch(r"(\d+)([A-Z]*)", value)
    if not m or (m.group(2) or "B") not in _SIZE_UNITS:
        return None
    return int(m.group(1)) * _SIZE_UNITS[m.group(2) or "B"]


# ------------------------------------------------------- [common.log] -> folly

CATEGORY_DEFAULT = {"categories": ["."], "level": "INFO", "inherit": True, "propagate": "NONE",
                    "handlers": []}
HANDLER_DEFAULT = {"name": "", "writer_type": "FILE", "file_path": "", "async": True,
                   "rotate": True, "max_files": 100, "max_file_size": "10MB",
                   "rotate_on_open": False, "stream_type": "STDERR", "start_level": "NONE"}
# LogConfig's defaults: makeRootCategoryConfig, make{Normal,Err,Fatal}HandlerConfig
DEFAULT_CONFIG = {
    "categories": [dict(CATEGORY_DEFAULT, handlers=["normal", "err", "fatal"])],
    "handlers": [dict(HANDLER_DEFAULT, name="normal"),
                 dict(HANDLER_DEFAULT, name="err", start_level="ERR", **{"async": False}),
                 dict(HANDLER_DEFAULT, name="fatal", start_level="FATAL", writer_type="STREAM",
                      **{"async": False})],
}


def _level_text(value, default):
    level = parse_level(value)
    return level_name(default if level is None else level)


def generate(cfg, server):
    """generateLogConfig (src/common/logging/LogConfig.cc): folly's JSON config
    (as a dict) of a LogConfig {"categories": [...], "handlers": [...]}."""
    categories, handlers = {}, {}
    for item in cfg["categories"]:
        c = dict(CATEGORY_DEFAULT, **(item if isinstance(item, dict) else {}))
        for key in c["categories"] or []:
            categories[key] = {"level": _level_text(c["level"], INFO),
                               "inherit": bool(c["inherit"]),
                               "propagate": _level_text(c["propagate"], NONE),
                               "handlers": list(c["handlers"] or [])}
    for item in cfg["handlers"]:
        h = dict(HANDLER_DEFAULT, **(item if isinstance(item, dict) else {}))
        kind = str(h["writer_type"]).lower()
        options = {}
        start = parse_level(h["start_level"])
        if start is not None and start != MIN_LEVEL:
            options["level"] = level_name(start)
        if kind == "stream":
            options["stream"] = str(h["stream_type"]).lower()
        else:  # FILE, EVENT
            if h["file_path"]:
                options["path"] = h["file_path"]
            elif h["name"] == "normal":
                options["path"] = f"{server}.log"
            else:
                options["path"] = f"{server}.{h['name']}.log"
            options["async"] = "true" if h["async"] else "false"
            options["rotate"] = "true" if h["rotate"] else "false"
            if h["rotate"]:
                size = parse_size(h["max_file_size"])
                options["max_files"] = str(h["max_files"])
                options["max_file_size"] = str(size if isinstance(size, int) else
                                                h["max_file_size"])
                options["rotate_on_open"] = "true" if h["rotate_on_open"] else "false"
        handlers[h["name"]] = {"type": kind, "options": options}
    return {"categories": categories, "handlers": handlers}


# ------------------------------------------------------------------ handlers

class LogInitError(Exception):
    pass


class Formatter(logging.Formatter):
    """The stand-ins' line: [time] LEVEL prog message, the header repeated on
    each line of a multi-line message (as 3FS's LogFormatter does)."""

    def __init__(self, prog):
        super().__init__()
        self.prog = prog

    def format(self, record):
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        head = f"[{self.formatTime(record)}] {record.levelname} {self.prog} "
        return "\n".join(head + line for line in msg.split("\n"))


class EventFormatter(logging.Formatter):
    """EventLogFormatter: the message only."""

    def format(self, record):
        return record.getMessage()


class Out(logging.Handler):
    """One folly log handler: writes the records at or above its level."""

    def __init__(self, name, options, formatter):
        super().__init__()
        self.hname, self.options = name, options
        self.start = parse_level(options.get("level", "NONE"))
        if self.start is None:
            self.start = NONE
        self.setFormatter(formatter)

    def write(self, data):
        raise NotImplementedError

    def emit(self, record):
        try:
            self.write((self.format(record) + "\n").encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)


class StreamOut(Out):
    """type stream: stderr or stdout (folly's StreamHandlerFactory)."""

    def __init__(self, name, options, formatter):
        super().__init__(name, options, formatter)
        self.to_stderr = options.get("stream", "stderr") != "stdout"

    def write(self, data):
        stream = sys.stderr if self.to_stderr else sys.stdout
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()


class FileOut(Out):
    """type file/event: appends to path; with rotate, path moves to
    <base>.1<ext> (and so on, max_files kept) before a write would pass
    max_file_size, and at open if rotate_on_open (src/common/logging/
    RotatingFile.cc, FileHelper.cc). Written at once whatever async says."""

    FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT

    def __init__(self, name, options, formatter):
        super().__init__(name, options, formatter)
        self.path = options["path"]
        self.rotate = options.get("rotate") == "true"
        self.max_files = int(options["max_files"]) if options.get("max_files", "").isdigit() else 0
        size = parse_size(options.get("max_file_size"))
        self.max_size = size if self.rotate and size else float("inf")
        self.fd = self.open()
        self.size = os.fstat(self.fd).st_size
        if self.rotate and options.get("rotate_on_open") == "true" and self.size > 0:
            self.roll()

    def open(self):
        try:
            return os.open(self.path, self.FLAGS, 0o666)
        except OSError as e:
            # folly::File's words, through folly::exceptionStr
            raise LogInitError(f'error creating log handler "{self.hname}": std::system_error: '
                               f'open("{self.path}", {self.FLAGS:#o}, 00666) failed: '
                               f'{os.strerror(e.errno)}') from None

    def numbered(self, i):
        if i == 0:
            return self.path
        base, ext = os.path.splitext(self.path)
        return f"{base}.{i}{ext}"

    def roll(self):
        os.close(self.fd)
        for i in range(self.max_files, 0, -1):
            if os.path.exists(self.numbered(i - 1)):
                os.replace(self.numbered(i - 1), self.numbered(i))
        self.fd = os.open(self.path, self.FLAGS | os.O_TRUNC, 0o666)
        self.size = 0

    def write(self, data):
        if self.fd is None:  # dropped by a new config while this record was on its way
            return
        if self.size + len(data) > self.max_size and self.size > 0:
            self.roll()
        os.write(self.fd, data)
        self.size += len(data)

    def close(self):
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        super().close()


def canonical(category):
    """folly::LogName::canonicalize: no leading, trailing or doubled dots."""
    return ".".join(p for p in category.split(".") if p)


class _Root(logging.Handler):
    """The root log category: its level and handlers."""

    def __init__(self):
        super().__init__()
        self.level_ = INFO
        self.outs = []

    def handle(self, record):
        level = folly_level(record.levelno)
        if level < self.level_:
            return False
        for out in self.outs:
            if level >= out.start:
                out.handle(record)
        return True

    def stderr_takes(self, level):
        return level >= self.level_ and any(
            isinstance(o, StreamOut) and o.to_stderr and level >= o.start for o in self.outs)


class _State:
    prog = server = None
    root = None
    handlers = {}   # name -> Out: folly's handlerInfo->handlers
    refs = {}       # canonical category -> handler names (non-root categories)
    cfg = None      # the LogConfig applied: {"categories": [...], "handlers": [...]}


def _formatter(kind):
    return EventFormatter() if kind == "event" else Formatter(_State.prog)


def _make(name, spec):
    kind = spec.get("type")
    if kind == "stream":
        return StreamOut(name, spec["options"], _formatter(kind))
    return FileOut(name, spec["options"], _formatter(kind))


def start(prog, server):
    """A 3FS service's start: folly's built-in setting (INFO and above to
    stderr) until init(). server: its kName (ServerName of empty paths)."""
    _State.prog, _State.server = prog, server
    for h in list(log.handlers):
        log.removeHandler(h)
    _State.root = _Root()
    default = StreamOut("default", {"stream": "stderr"}, Formatter(prog))
    _State.handlers = {"default": default}
    _State.refs = {}
    _State.root.outs = [default]
    log.addHandler(_State.root)
    log.setLevel(1)
    log.propagate = False


def active():
    return _State.root is not None


def _update(conf):
    """LoggerDB::updateConfig: make the handlers, check every category's
    handlers exist, then set the root category."""
    made = {}
    try:
        for name, spec in conf["handlers"].items():
            old = _State.handlers.get(name)
            if old is not None and old.options == spec["options"] and \
                    isinstance(old, StreamOut) == (spec["type"] == "stream"):
                made[name] = old
            else:
                made[name] = _make(name, spec)
        known = dict(_State.handlers, **made)
        seen = {}
        for cat, spec in conf["categories"].items():
            name = canonical(cat)
            if name in seen:
                raise LogInitError(f'category "{name}" listed multiple times under different '
                                   f'names: "{seen[name]}" and "{cat}"')
            seen[name] = cat
            for h in spec["handlers"]:
                if h not in known:
                    raise LogInitError(f'unknown log handler "{h}" configured for log '
                                       f'category "{name}"')
    except LogInitError:
        for name, out in made.items():
            if out is not _State.handlers.get(name):
                out.close()
        raise
    root = _State.root
    outs = [known[o.hname] for o in root.outs]
    for cat, spec in conf["categories"].items():
        if canonical(cat) == "":
            level = parse_level(spec["level"])
            root.level_ = INFO if level is None else level
            outs = [known[h] for h in spec["handlers"]]
        else:
            _State.refs[canonical(cat)] = list(spec["handlers"])
    root.outs = outs
    # finishConfigUpdate: a handler no category uses is dropped
    used = {o.hname for o in outs} | {h for hs in _State.refs.values() for h in hs}
    keep = {name: out for name, out in known.items() if name in used}
    for out in list(_State.handlers.values()) + list(made.values()):
        if all(out is not k for k in keep.values()):
            out.close()
    _State.handlers = keep


def _apply(cfg):
    conf = generate(cfg, _State.server)
    log.info("Folly log json configure: %s", json.dumps(conf, indent=2))
    log.info("LogConfig: %s", json.dumps(conf, separators=(",", ":")))
    try:
        _update(conf)
    except LogInitError as e:
        # folly::initLoggingOrDie
        sys.stderr.write(f"error parsing logging configuration: {e}\n")
        sys.stderr.flush()
        logging.shutdown()
        os._exit(1)
    _State.cfg = cfg


def _merged(section, base):
    cfg = dict(base)
    if isinstance(section, dict):
        for key in ("categories", "handlers"):
            if isinstance(section.get(key), list):
                cfg[key] = section[key]
    return cfg


def init(section):
    """initLogging with the loaded config's [common.log] (None: absent, the
    defaults). A no-op in a process that did not start()."""
    if active():
        _apply(_merged(section, DEFAULT_CONFIG))


def hot_update(section):
    """A new main config applied while running: [common.log] is hot-updated,
    its keys over the current ones; without the section nothing changes."""
    if active() and _State.cfg is not None and isinstance(section, dict):
        _apply(_merged(section, _State.cfg))


def fatal(msg):
    """XLOGF(FATAL, ...): through the handlers; True when stderr got it."""
    log.log(PY_FATAL, "%s", msg)
    return active() and _State.root.stderr_takes(FATAL)
