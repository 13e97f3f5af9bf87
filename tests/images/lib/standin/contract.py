"""Key trees of the 3FS config files, read from the contract's JSON schema.

`<role>.json` (tests/contract/schema/ in the repository, contract_schema/
next to this package in the images) lists every key that real 3FS
(deepseek-ai/3FS ee9a5ce) accepts in `<role>.toml`: dotted paths, `[]` for an
element of an array of tables, each with its type. check() walks a parsed
TOML document the way upstream's ConfigBase::update does
(src/common/utils/ConfigBase.h):

* a key the config object does not declare is refused with
  "Invalid key: <path>" (StatusCode::ConfigRedundantKey); element i of an
  array of tables is named `<name>#<i>` in that path, as upstream names it;
* a table where a value belongs, or the reverse, and a value of the wrong
  kind are refused (StatusCode::ConfigInvalidType). Kinds follow
  tomlNodeToValue: a bool takes only a boolean, a string only a string, a
  float an integer or a float, and an integer also a float or a boolean,
  which C++ converts (the converted value replaces it here too);
* a Duration item (a string key whose shipped value is a duration, e.g.
  '10s', '1min') must parse as one (Duration::from, common.parse_duration),
  else "name: <path>, error: InvalidConfig(4) wrong duration format '<text>'"
  (Item::updateNormal, StatusCode::ConfigUpdateFailed).

Keys are visited in sorted order, as toml++ tables iterate, so the first
error reported is the one real 3FS reports.

Two things the dumps cannot show are added from upstream's source:
* Variant sections. A monitor reporter (monitor::Monitor::ReporterConfig,
  src/common/monitor/Monitor.h) declares one section per variant
  (`clickhouse`, `log`, `monitor_collector`) plus `type`, whose checker
  wants the name of one of them; a dump shows only the variant its file
  uses. A table whose `type` names one of its own subtables is such a
  section; the keys of every variant are gathered from all schema files
  (clickhouse from monitor_collector_main, monitor_collector from the
  server mains). No file ships `log`: its one key is LogReporter::Config's
  `ignore` (src/common/monitor/LogReporter.h).
* Sections of the same config class in another file (SAME_CLASS), for
  files whose shipped dump is older or shorter than the class it loads.
"""
import copy
import json
import os

from .common import Fail, is_duration, parse_duration

SCHEMA_ENV = "STANDIN_SCHEMA_DIR"
_HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIRS = (os.path.join(_HERE, "contract_schema"),                       # in the images
               os.path.join(_HERE, "..", "..", "..", "contract", "schema"))  # in the repository

# (role, path) takes every key of (role, path) below it: the same upstream class.
SAME_CLASS = (
    # admin_cli's `monitor` and the server mains' `common.monitor` are both
    # monitor::Monitor::Config (src/client/bin/admin_cli.cc, Config::monitor;
    # src/common/app/ApplicationBase.h, Config::monitor); admin_cli's dump
    # ships `reporters = []`, which hides the reporter element keys.
    ("admin_cli", "monitor", "mgmtd_main", "common.monitor"),
    # monitor_collector_main is a OnePhaseApplication: its CommonConfig has
    # `monitor` (Monitor::Config) and `ib_devices` (net::IBDevice::Config,
    # the launchers' class, src/mgmtd/MgmtdLauncherConfig.h) and its server
    # has `base` (net::Server::Config, as src/mgmtd/MgmtdServer.h)
    # (src/common/app/OnePhaseApplication.h,
    # src/monitor_collector/service/MonitorCollectorServer.h); its shipped
    # file lists fewer keys of each.
    ("monitor_collector_main", "common.monitor", "mgmtd_main", "common.monitor"),
    ("monitor_collector_main", "common.ib_devices", "mgmtd_main_launcher", "ib_devices"),
    ("monitor_collector_main", "server.base", "mgmtd_main", "server.base"),
)
# Variants no schema file ships: LogReporter::Config (src/common/monitor/LogReporter.h).
EXTRA_VARIANTS = {"log": {"ignore": "string"}}

SCALARS = ("string", "int", "float", "bool")
KIND_NAMES = {"string": "a string", "int": "an integer", "float": "a number",
              "bool": "a boolean", "table": "a table", "array": "an array",
              "array-of-tables": "an array of tables"}


class Node:
    """One key: kind, and for tables their children, for arrays the element."""

    def __init__(self, kind, element=None, shipped=None):
        self.kind, self.element, self.shipped = kind, element, shipped
        self.children = {}
        self.variant = False  # a table whose `type` selects one of its sections


def _node_of(entry):
    kind = entry["type"]
    if kind == "array-of-tables":
        return Node(kind, Node("table"))
    if kind == "array":
        elem = (entry.get("element") or ["any"])[0]
        return Node(kind, elem if elem in SCALARS else "any")
    if kind in SCALARS or kind == "table":
        return Node(kind, shipped=entry.get("shipped"))
    raise ValueError(f"unknown schema type {kind!r}")


def _table_at(root, parts, create):
    """The table holding `parts` (a path split on '.'; 'x[]' = element of x)."""
    node = root
    for part in parts:
        name = part[:-2] if part.endswith("[]") else part
        child = node.children.get(name)
        if child is None:
            if not create:
                return None
            child = node.children[name] = Node("array-of-tables", Node("table")) \
                if part.endswith("[]") else Node("table")
        node = child.element if part.endswith("[]") else child
        if not isinstance(node, Node) or node.kind != "table":
            return None
    return node


def build_tree(keys):
    """Tree of one schema file's flat `keys` mapping."""
    root = Node("table")
    for path in sorted(keys, key=lambda p: p.count(".")):
        parts = path.split(".")
        parent = _table_at(root, parts[:-1], create=True)
        if parent is None:
            raise ValueError(f"schema key {path!r} lies below a value")
        if parts[-1] not in parent.children:
            parent.children[parts[-1]] = _node_of(keys[path])
    return root


def _merge(own, other):
    """Add what `other` (the same class elsewhere) declares to `own`."""
    if own.kind == "array" and own.element == "any" and other.kind == "array-of-tables":
        own.kind, own.element = other.kind, copy.deepcopy(other.element)
    elif own.kind == "table" and other.kind == "table":
        for name, sub in other.children.items():
            if name in own.children:
                _merge(own.children[name], sub)
            else:
                own.children[name] = copy.deepcopy(sub)
    elif own.kind == other.kind == "array-of-tables":
        _merge(own.element, other.element)


def _alias(root, path, src_root, src_path):
    """Give `path` of `root` every key `src_path` of `src_root` declares."""
    src_parent = _table_at(src_root, src_path.split(".")[:-1], create=False)
    src = src_parent.children.get(src_path.split(".")[-1]) if src_parent else None
    parts = path.split(".")
    parent = _table_at(root, parts[:-1], create=True)
    if src is None or parent is None:
        raise ValueError(f"SAME_CLASS: {src_path} or {path} is not a section")
    if parts[-1] in parent.children:
        _merge(parent.children[parts[-1]], src)
    else:
        parent.children[parts[-1]] = copy.deepcopy(src)


def _tables(node):
    if node.kind == "table":
        yield node
        for sub in node.children.values():
            yield from _tables(sub)
    elif node.kind == "array-of-tables":
        yield from _tables(node.element)


def _variant_sections(keys):
    """[(section path, variant name)]: tables whose `type` names a subtable."""
    found = []
    for path, entry in keys.items():
        parent, _, last = path.rpartition(".")
        shipped = entry.get("shipped")
        if last == "type" and entry["type"] == "string" and isinstance(shipped, str):
            sect = f"{parent}.{shipped}" if parent else shipped
            if keys.get(sect, {}).get("type") == "table":
                found.append((sect, shipped))
    return found


class Contract:
    """The schema files of one directory; trees built per role when needed."""

    def __init__(self, directory):
        self.directory = directory
        self.raw, self._trees = {}, {}
        for name in sorted(os.listdir(directory)):
            if name.endswith(".json"):
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    self.raw[name[:-5]] = json.load(f)["keys"]
        self.variants = self._variants()

    def _variants(self):
        """{variant name: Node} gathered from every variant section of every file."""
        found = {}
        extra = {name: {k: {"type": t} for k, t in keys.items()}
                 for name, keys in EXTRA_VARIANTS.items()}
        for keys in self.raw.values():
            for sect, name in _variant_sections(keys):
                sub = {p[len(sect) + 1:]: e for p, e in keys.items() if p.startswith(sect + ".")}
                extra.setdefault(name, {}).update(sub)
        for name, keys in extra.items():
            found[name] = build_tree(keys)
        return found

    def tree(self, role):
        """Tree of <role>.toml: its schema, SAME_CLASS sections, variants marked."""
        if role not in self._trees:
            root = build_tree(self.raw[role])
            for own, path, src_role, src_path in SAME_CLASS:
                if own == role:
                    _alias(root, path, build_tree(self.raw[src_role]), src_path)
            for table in _tables(root):
                kind = table.children.get("type")
                if kind is not None and kind.kind == "string" and \
                        kind.shipped in self.variants and \
                        getattr(table.children.get(kind.shipped), "kind", None) == "table":
                    table.variant = True
            self._trees[role] = root
        return self._trees[role]

    def check(self, role, data, origin, problems=None):
        """Check `data` (parsed <role>.toml) in place: raise the first Fail, or
        with a `problems` list append every one and return it."""
        if role not in self.raw:
            raise Fail(f"{origin}: no schema for a file named {role}.toml in {self.directory}")
        walker = _Walker(self, origin, problems)
        walker.table(self.tree(role), data, "")
        return problems


class _Walker:
    def __init__(self, contract, origin, problems):
        self.contract, self.origin, self.problems = contract, origin, problems

    def fail(self, msg, code, name):
        err = Fail(f"{self.origin}: {msg}", code, name)
        if self.problems is None:
            raise err
        self.problems.append(err)

    def wrong_kind(self, path, kind, value):
        self.fail(f"key '{path}' must be {KIND_NAMES[kind]}, got {toml_kind(value)}", 15,
                  "StatusCode::ConfigInvalidType")

    def child(self, node, key):
        if node.variant and key != "type" and key in self.contract.variants:
            return self.contract.variants[key]
        return node.children.get(key)

    def table(self, node, table, path):
        for key in sorted(table):
            sub, where = self.child(node, key), path + "." + key if path else key
            if sub is None:
                self.fail(f"Invalid key: {where}", 19, "StatusCode::ConfigRedundantKey")
                continue
            table[key] = self.value(sub, table[key], where)
        if node.variant and isinstance(table.get("type"), str) and \
                table["type"] not in self.contract.variants:
            # the checker of CONFIG_VARIANT_TYPE (ConfigBase.h): a known section
            self.fail(f"Check failed: {path}.type: '{table['type']}' is not one of "
                      f"{', '.join(sorted(self.contract.variants))}", 18,
                      "StatusCode::ConfigValidateFailed")

    def value(self, node, value, path):
        kind = node.kind
        if kind == "table":
            if not isinstance(value, dict):
                self.wrong_kind(path, kind, value)
            else:
                self.table(node, value, path)
        elif kind == "array-of-tables":
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                self.wrong_kind(path, kind, value)
            else:
                for i, elem in enumerate(value):
                    self.table(node.element, elem, f"{path}#{i}")
        elif kind == "array":
            if not isinstance(value, list):
                self.wrong_kind(path, kind, value)
            elif node.element != "any":
                value = [self.scalar(node.element, e, f"{path}[{i}]") for i, e in enumerate(value)]
        else:
            value = self.scalar(kind, value, path)
            if kind == "string" and isinstance(value, str) and \
                    isinstance(node.shipped, str) and is_duration(node.shipped):
                self.duration(value, path)
        return value

    def duration(self, value, path):
        try:
            parse_duration(value)
        except ValueError as e:
            self.fail(f"name: {path}, error: InvalidConfig(4) {e}", 17,
                      "StatusCode::ConfigUpdateFailed")

    def scalar(self, kind, value, path):
        is_bool = isinstance(value, bool)
        if kind == "bool" and is_bool or kind == "string" and isinstance(value, str):
            return value
        if kind == "int" and isinstance(value, (int, float)):
            return int(value)  # C++ constructs the integer from a double or a bool
        if kind == "float" and isinstance(value, (int, float)) and not is_bool:
            return float(value)
        self.wrong_kind(path, kind, value)
        return value


def toml_kind(value):
    if isinstance(value, bool):
        return "a boolean"
    for t, name in ((str, "a string"), (int, "an integer"), (float, "a float"),
                    (dict, "a table"), (list, "an array")):
        if isinstance(value, t):
            return name
    return f"a {type(value).__name__}"


_CONTRACT = None


def schema_dir():
    for d in ((os.environ.get(SCHEMA_ENV),) if os.environ.get(SCHEMA_ENV) else SCHEMA_DIRS):
        if os.path.isfile(os.path.join(d, "mgmtd_main.json")):
            return os.path.normpath(d)
    raise Fail(f"the 3FS config schema is missing (looked in ${SCHEMA_ENV} or "
               f"{', '.join(os.path.normpath(d) for d in SCHEMA_DIRS)})")


def contract():
    """The Contract of schema_dir(), loaded once per process."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = Contract(schema_dir())
    return _CONTRACT


def check(role, data, origin, problems=None):
    return contract().check(role, data, origin, problems)
