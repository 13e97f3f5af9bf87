"""admin_cli stand-in: `admin_cli -cfg FILE [--config.k v ...] "cmd; cmd"` or commands on stdin.

Output follows the real tool: tables left-aligned, each column as wide as
its longest cell plus two spaces; a failed command prints
`Encounter error: <code>(<name>)` and its message on stdout; the exit code is 1
when the last command failed.
"""
import csv
import shlex
import sys
import time

from .common import (Fail, check_cluster_id, dig, load_toml, load_toml_text, parse_flag_value,
                     set_dotted, setup_log, log)
from .kv import KV, Mgmtd
from .schema import check_admin_cli, check_main
from . import token as tokens

UINT32 = 0xFFFFFFFF


def usage_error(msg):
    return Fail(msg, 3, "StatusCode::InvalidArg")


def fmt_table(rows):
    widths = {}
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths.get(i, 0), len(c) + 2)
    out = []
    for r in rows:
        cells = [c + " " * (widths[i] - len(c)) if i + 1 < len(r) else c for i, c in enumerate(r)]
        out.append("".join(cells))
    return "\n".join(out)


def parse_int(text, what, lo=0, hi=None):
    try:
        v = int(text, 10)
    except (TypeError, ValueError):
        raise usage_error(f"{what} must be an integer, got '{text}'")
    if v < lo or (hi is not None and v > hi):
        raise usage_error(f"{what} {v} is out of range")
    return v


def split_opts(args, value_opts, bool_opts):
    """Split args into ({opt: value}, positionals); unknown options are errors."""
    opts, pos, i = {}, [], 0
    while i < len(args):
        a = args[i]
        name, eq, val = a.partition("=")
        if a.startswith("-") and not a.lstrip("-").isdigit():
            if name in bool_opts:
                opts[bool_opts[name]] = True
            elif name in value_opts:
                if not eq:
                    if i + 1 >= len(args):
                        raise usage_error(f"option {name} needs a value")
                    i += 1
                    val = args[i]
                opts[value_opts[name]] = val
            else:
                raise usage_error(f"unknown option {name}")
        else:
            pos.append(a)
        i += 1
    return opts, pos


class Cli:
    def __init__(self, cfg, cfg_path):
        self.cfg, self.cfg_path = cfg, cfg_path
        self.cluster_id = check_cluster_id(cfg.get("cluster_id", ""), cfg_path)
        self._kv = self._mg = None

    def kv(self):
        if self._kv is None:
            self._kv = KV(dig(self.cfg, "fdb.clusterFile"), f"{self.cfg_path}: [fdb]", wait=5.0)
        return self._kv

    def mgmtd(self, op, **args):
        if self._mg is None:
            self._mg = Mgmtd(dig(self.cfg, "mgmtd_client.mgmtd_server_addresses"),
                             f"{self.cfg_path}: [mgmtd_client]")
        return self._mg.call(op, cluster_id=self.cluster_id, **args)

    def run(self, line):
        words = shlex.split(line)
        if not words:
            return []
        handler = COMMANDS.get(words[0])
        if handler is None:
            raise usage_error(f"unknown command '{words[0]}'")
        return handler(self, words[1:])

    # ------------------------------------------------------------ FDB-direct
    def init_cluster(self, args):
        opts, pos = split_opts(args, {"--mgmtd": "MGMTD", "--meta": "META", "--storage": "STORAGE",
                                      "--fuse": "FUSE"},
                               {"--allow-config-existed": "allow", "--skip-config-check": "skip"})
        if len(pos) != 3:
            raise usage_error("usage: init-cluster [--mgmtd F] [--meta F] [--storage F] "
                              "[--fuse F] [--allow-config-existed] <chain-table-id> "
                              "<chunk-size> <stripe-size>")
        table = parse_int(pos[0], "chain table id", 1, UINT32)
        chunk = parse_int(pos[1], "chunk size", 1)
        stripe = parse_int(pos[2], "stripe size", 1)
        if chunk & (chunk - 1):
            raise usage_error(f"invalid layout: chunk size {chunk} is not a power of two")
        configs = {}
        for kind in ("MGMTD", "META", "STORAGE", "FUSE"):
            if kind in opts:
                text = read_text(opts[kind])
                data = load_toml_text(text, opts[kind])
                if not opts.get("skip"):
                    check_main(kind, data, opts[kind])
                configs[kind] = text
        return self.store_init(table, chunk, stripe, configs, opts.get("allow", False))

    def store_init(self, table, chunk, stripe, configs, allow):
        kv = self.kv()
        kv.put_new("cluster/id", self.cluster_id)
        stored = kv.get("cluster/id")
        if stored != self.cluster_id:
            raise Fail(f"FoundationDB already holds cluster '{stored}', not '{self.cluster_id}'",
                       4, "StatusCode::InvalidConfig")
        rows = []
        if kv.put_new("layout", {"table_id": table, "chunk": chunk, "stripe": stripe}):
            rows.append([f"Init filesystem, root directory layout: chain table ChainTableId({table}), "
                         f"chunksize {chunk}, stripesize {stripe}"])
        else:
            rows.append(["Filesystem already initialized, root directory layout unchanged"])
        for kind, text in configs.items():
            if kv.put_new(f"config/{kind}", {"version": 1, "content": text, "desc": "init"}):
                rows.append([f"Init config for {kind} version 1"])
            elif allow:
                rows.append([f"Config for {kind} already exists, keep it"])
            else:
                raise Fail(f"config of {kind} already exists in the cluster "
                           f"(use --allow-config-existed)", 5012, "Mgmtd::ConfigExisted")
        return rows

    def user_add(self, args):
        opts, pos = split_opts(args, {"--token": "token", "--gid": "gid", "--gids": "gids"},
                               {"--root": "root", "--admin": "admin"})
        if len(pos) != 2:
            raise usage_error("usage: user-add [--root] [--admin] [--token T] <uid> <name>")
        uid = parse_int(pos[0], "uid", 0, UINT32)
        kv = self.kv()
        users = kv.list("users/")
        if not users and not opts.get("admin"):
            raise usage_error("The first user must be admin")
        if users:
            self.ensure_admin(users)
        tok = opts.get("token") or tokens.mint(uid)
        if tokens.decode_uid(tok) != uid:
            raise usage_error("token does not encode this uid")
        user = {"uid": uid, "name": pos[1], "token": tok, "root": bool(opts.get("root")),
                "admin": bool(opts.get("admin")), "gid": parse_int(opts.get("gid", pos[0]), "gid")}
        if not kv.put_new(f"users/{uid}", user):
            raise Fail(f"user {uid} already exists", 3, "StatusCode::InvalidArg")
        return [["Uid", str(uid)], ["Name", user["name"]], ["Token", f"{tok}(Expired at N/A)"],
                ["IsRootUser", str(user["root"]).lower()], ["IsAdmin", str(user["admin"]).lower()],
                ["Gid", str(user["gid"])], ["SupplementaryGids", ""]]

    def ensure_admin(self, users):
        tok = dig(self.cfg, "user_info.token", "")
        uid = tokens.decode_uid(tok)
        user = users.get(f"users/{uid}") if uid is not None else None
        if user is None or user["token"] != tok:
            raise Fail("Token validate failed", 25, "StatusCode::AuthenticationFail")
        if uid != 0 and not user["admin"]:
            raise Fail("Not Admin", 25, "StatusCode::AuthenticationFail")

    # ------------------------------------------------------------ via mgmtd
    def set_config(self, args):
        opts, pos = split_opts(args, {"--type": "type", "-t": "type", "--file": "file", "-f": "file",
                                      "--desc": "desc"}, {})
        if pos or "type" not in opts or "file" not in opts:
            raise usage_error("usage: set-config --type <TYPE> --file <FILE> [--desc D]")
        text = read_text(opts["file"])
        reply = self.mgmtd("set_config", type=opts["type"], content=text, origin=opts["file"],
                           desc=opts.get("desc", ""))
        return [["Succeed"], ["ConfigVersion", str(reply["version"])]]

    def routing(self):
        return self.mgmtd("routing")

    def list_nodes(self, args):
        if args:
            raise usage_error("usage: list-nodes")
        order = {"MGMTD": 0, "META": 1, "STORAGE": 2}
        status_order = {"PRIMARY_MGMTD": 0, "HEARTBEAT_CONNECTED": 1, "HEARTBEAT_FAILED": 2}
        nodes = sorted(self.routing()["nodes"].values(),
                       key=lambda n: (order[n["type"]], status_order[n["status"]], n["node_id"]))
        rows = [["Id", "Type", "Status", "Hostname", "Pid", "Tags", "LastHeartbeatTime",
                 "ConfigVersion", "ReleaseVersion"]]
        for n in nodes:
            last = "N/A" if n["type"] == "MGMTD" or not n["last_hb"] else \
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(n["last_hb"]))
            cv = str(n["config_version"])
            if n["config_version"] and n["config_version"] == n["latest_config"]:
                cv += "(UPTODATE)"
            rows.append([str(n["node_id"]), n["type"], n["status"], n["hostname"], str(n["pid"]),
                         "[]", last, cv, n.get("release", "250410-standin")])
        return rows

    def create_target(self, args):
        opts, pos = split_opts(args, {"--node-id": "node", "--disk-index": "disk",
                                      "--target-id": "target", "--chain-id": "chain",
                                      "--chunk-size": "chunk", "--add-chunk-size": "add"},
                               {"--use-new-chunk-engine": "new"})
        missing = [o for o in ("node", "disk", "target", "chain") if o not in opts]
        if missing or pos:
            raise usage_error("usage: create-target --node-id N --disk-index D --target-id T "
                              "--chain-id C [--use-new-chunk-engine]")
        self.mgmtd("create_target", node_id=parse_int(opts["node"], "node id", 1, UINT32),
                   disk_index=parse_int(opts["disk"], "disk index", 0),
                   target_id=parse_int(opts["target"], "target id", 1),
                   chain_id=parse_int(opts["chain"], "chain id", 1, UINT32))
        return [[f"Create target {opts['target']} on {opts['node']} succeeded"]]

    def upload_chains(self, args):
        opts, pos = split_opts(args, {}, {"--set-preferred-target-order": "pref"})
        if len(pos) != 1:
            raise usage_error("usage: upload-chains <csv-file>")
        rows = read_csv(pos[0])
        head = rows[0] if rows else []
        if len(head) < 2 or head[0] != "ChainId" or any(h != "TargetId" for h in head[1:]):
            raise usage_error(f"{pos[0]}: header must be ChainId,TargetId[,TargetId...]")
        chains = []
        for n, r in enumerate(rows[1:], 2):
            if len(r) != len(head):
                raise usage_error(f"{pos[0]}:{n}: expected {len(head)} fields, got {len(r)}")
            vals = [parse_int(v, f"{pos[0]}:{n}: id", 0) for v in r]
            chains.append([vals[0], vals[1:]])
        self.mgmtd("set_chains", chains=chains)
        return [[f"Upload {len(chains)} chains succeeded"]]

    def upload_chain_table(self, args):
        opts, pos = split_opts(args, {"--desc": "desc", "-d": "desc"}, {})
        if len(pos) != 2:
            raise usage_error("usage: upload-chain-table [--desc D] <table-id> <csv-file>")
        table = parse_int(pos[0], "chain table id", 1, UINT32)
        rows = read_csv(pos[1])
        if not rows or rows[0] != ["ChainId"]:
            raise usage_error(f"{pos[1]}: header must be ChainId")
        cids = [parse_int(r[0] if len(r) == 1 else "", f"{pos[1]}:{n}: chain id", 1, UINT32)
                for n, r in enumerate(rows[1:], 2)]
        reply = self.mgmtd("set_chain_table", table_id=table, chains=cids,
                           desc=opts.get("desc", ""))
        return [[f"Upload ChainTableId({table}) version {reply['version']} succeeded"
                 + ("" if reply["changed"] else " (unchanged)")]]

    def list_chains(self, args):
        opts, pos = split_opts(args, {"-t": "t", "--table-id": "t", "-v": "v", "--version": "v"}, {})
        r = self.routing()
        refs = {}
        for tid, versions in r["tables"].items():
            for v in versions:
                for c in v["chains"]:
                    refs.setdefault(c, set()).add(int(tid))
        width = max([len(c["targets"]) for c in r["chains"].values()] or [0])
        rows = [["ChainId", "ReferencedBy", "ChainVersion", "Status", "PreferredOrder"]
                + ["Target"] * width]
        for cid in sorted(r["chains"], key=int):
            ch = r["chains"][cid]
            ref = sorted(refs.get(int(cid), ()))
            cells, serving = [], 0
            for t in ch["targets"]:
                pub, loc = r["states"].get(str(t), ("OFFLINE", "OFFLINE"))
                serving += pub == "SERVING"
                cells.append(f"{t}({pub}-{loc})")
            status = "SERVING" if serving == len(cells) else \
                "UNAVAILABLE" if serving == 0 else f"SERVING({serving}/{len(cells)})"
            rows.append([cid, ",".join(map(str, ref[:2])) + (",..." if len(ref) > 2 else "")
                         if ref else "N/A", str(ch["version"]), status, "[]"] + cells)
        return rows

    def list_targets(self, args):
        opts, pos = split_opts(args, {"-c": "chain", "--chain-id": "chain"}, {"--orphan": "orphan"})
        r = self.routing()
        in_chain = {t for c in r["chains"].values() for t in c["targets"]}
        if opts.get("orphan"):
            rows = [["TargetId", "LocalState", "NodeId", "DiskIndex", "UsedSize"]]
            for tid in sorted(r["targets"], key=int):
                if int(tid) not in in_chain:
                    t = r["targets"][tid]
                    rows.append([tid, r["states"][tid][1], str(t["node_id"]),
                                 str(t["disk_index"]), "0"])
            return rows
        rows = [["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId",
                 "DiskIndex", "UsedSize"]]
        chains = r["chains"]
        if "chain" in opts:
            if opts["chain"] not in chains:
                raise usage_error(f"ChainId({opts['chain']}) not found")
            chains = {opts["chain"]: chains[opts["chain"]]}
        for cid in sorted(chains, key=int):
            tl = chains[cid]["targets"]
            for i, t in enumerate(tl):
                info = r["targets"].get(str(t))
                pub, loc = r["states"].get(str(t), ("OFFLINE", "OFFLINE"))
                role = "HEAD" if i == 0 else "TAIL" if i == len(tl) - 1 else "MIDDLE"
                rows.append([str(t), cid, role, pub, loc,
                             str(info["node_id"]) if info else "N/A",
                             str(info["disk_index"]) if info else "N/A", "0"])
        return rows

    def list_chain_tables(self, args):
        r = self.routing()
        rows = [["ChainTableId", "ChainTableVersion", "ChainCount", "ReplicaCount", "Desc"]]
        for tid in sorted(r["tables"], key=int):
            for v in r["tables"][tid]:
                rep = len(r["chains"][str(v["chains"][0])]["targets"])
                rows.append([tid, str(v["version"]), str(len(v["chains"])), str(rep), v["desc"]])
        return rows


COMMANDS = {"init-cluster": Cli.init_cluster, "user-add": Cli.user_add,
            "set-config": Cli.set_config, "list-nodes": Cli.list_nodes,
            "create-target": Cli.create_target, "upload-chains": Cli.upload_chains,
            "upload-chain-table": Cli.upload_chain_table, "list-chains": Cli.list_chains,
            "list-targets": Cli.list_targets, "list-chain-tables": Cli.list_chain_tables}


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise usage_error(f"cannot read {path}: {e.strerror}")


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [[c.strip() for c in r] for r in csv.reader(f) if r]


def parse_cli_args(argv):
    cfg_path, overrides, words, i = None, [], [], 0
    while i < len(argv):
        a = argv[i]
        name, eq, val = a.lstrip("-").partition("=")
        if a == "--":
            words.extend(argv[i + 1:])
            break
        if a.startswith("-") and name == "cfg":
            cfg_path = val if eq else (argv[i + 1] if i + 1 < len(argv) else None)
            i += 1 if eq else 2
        elif a.startswith("-") and name.startswith("config."):
            if not eq:
                if i + 1 >= len(argv):
                    raise usage_error(f"flag {a} is missing its value")
                val, i = argv[i + 1], i + 1
            overrides.append((name[7:], parse_flag_value(val)))
            i += 1
        elif a.startswith("--"):
            raise usage_error(f"ERROR: unknown command line flag '{name}'")
        else:
            words.append(a)
            i += 1
    if not cfg_path:
        raise usage_error("admin_cli needs -cfg <admin_cli.toml>")
    return cfg_path, overrides, " ".join(words)


def run_line(cli, line):
    """Run one command; print its table or its error; True if it succeeded."""
    try:
        rows = cli.run(line)
    except Fail as e:
        log.error("%s: %s", line, e.msg)
        print(f"Encounter error: {e.code}({e.name})\n{e.msg}", flush=True)
        return False
    if rows:
        print(fmt_table(rows), flush=True)
    return True


def main():
    setup_log("cli")
    try:
        cfg_path, overrides, cmd = parse_cli_args(sys.argv[1:])
        cfg = load_toml(cfg_path, "admin_cli config")
        for key, val in overrides:
            set_dotted(cfg, key, val)
        check_admin_cli(cfg, cfg_path)
        cli = Cli(cfg, cfg_path)
    except Fail as e:
        print(f"Encounter error: {e.code}({e.name})\n{e.msg}", flush=True)
        sys.exit(1)
    lines = cmd.split(";") if cmd.strip() else sys.stdin.read().splitlines()
    brk = cfg.get("break_multi_line_command_on_failure", False)
    good = True
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        good = run_line(cli, line.strip())
        if not good and brk:
            break
    sys.exit(0 if good else 1)
