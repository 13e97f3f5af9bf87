"""admin_cli stand-in: `admin_cli -cfg FILE [--config.k v ...] "cmd; cmd"` or commands on stdin.

Output follows the real tool (deepseek-ai/3FS ee9a5ce): tables left-aligned,
each column as wide as its longest cell (in bytes) plus two spaces, the last
cell of a row unpadded (src/client/cli/common/Printer.cc); a failed command
prints `Encounter error: <code>(<name>)` and its message, if any, on stdout
(Dispatcher.cc print), the name as StatusCode::toString gives it: a common
code bare (`InvalidArg`), others `Namespace::Name` (`Meta::NotFound`;
src/common/utils/StatusCode.cc). A command line is split into words as
ArgsParser does (src/client/cli/common/Parser.cc). Exit status
(Dispatcher::run, src/client/cli/common/Dispatcher.cc): commands read from
stdin never make it non-zero; of `;`-joined commands on the command line only
the last one's failure does (a `break_multi_line_command_on_failure` stop
does not). Commands that need no connection (init-cluster, user-add: FDB
only; help) never start the IB manager; the first one that needs mgmtd does
(src/client/bin/admin_cli.cc), and without a usable RDMA device that ends the
process.
"""
import csv
import sys
import time

from .common import (RELEASE_DEFAULT, Fail, check_cluster_id, dig, dig_duration, load_toml,
                     parse_address, parse_flag_value, set_dotted, setup_log, log)
from .kv import KV, Mgmtd
from .netif import start_ib_manager
from .schema import check_admin_cli
from . import token as tokens
from .chainstate import LASTSRV, chain_status

UINT32 = 0xFFFFFFFF


def usage_error(msg):
    """ENSURE_USAGE / an argument the parser refuses: Cli::WrongUsage."""
    return Fail(msg, 10000, "Cli::WrongUsage")


def fmt_table(rows):
    """Printer::print (src/client/cli/common/Printer.cc): a column is as wide
    as its longest cell plus two spaces, counted in bytes (String::size); a
    row's last cell is not padded; rows may differ in length."""
    widths = []
    for r in rows:
        for i, c in enumerate(r):
            n = len(c.encode()) + 2
            if i == len(widths):
                widths.append(n)
            elif n > widths[i]:
                widths[i] = n
    out = []
    for r in rows:
        cells = [c + " " * (widths[i] - len(c.encode())) if i + 1 < len(r) else c
                 for i, c in enumerate(r)]
        out.append("".join(cells))
    return "\n".join(out)


SPACES = " \t\n\v\f\r"  # std::isspace in the C locale


def parse_args(line):
    """ArgsParser::parseAll (src/client/cli/common/Parser.cc): words split at
    white space; '...' and "..." quote (no escapes inside), a backslash
    escapes the next character outside quotes; an open quote or a trailing
    backslash is InvalidArg "leave with quoted|escaped"; an empty word (such
    as '') ends the line, the rest is ignored."""
    words, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] in SPACES:
            i += 1
        if i == n:
            break
        word, quote, escaped = [], "", False
        while i < n:
            c = line[i]
            if quote:
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
            elif escaped:
                escaped = False
                word.append(c)
            elif c == "\\":
                escaped = True
            elif c in "'\"":
                quote = c
            elif c in SPACES:
                break
            else:
                word.append(c)
            i += 1
        if quote or escaped:
            raise Fail(f"leave with {'quoted' if quote else 'escaped'}", 3, "InvalidArg")
        if not word:
            break
        words.append("".join(word))
    return words


def status_name(name):
    """StatusCode::toString (src/common/utils/StatusCode.cc): a common code's
    name is bare (InvalidArg, not StatusCode::InvalidArg)."""
    return name[len("StatusCode::"):] if name.startswith("StatusCode::") else name


def unordered(keys):
    """Keys of a robin_hood::unordered_map (RoutingInfo's chains, targets,
    chain tables, orphan targets: src/fbs/mgmtd/RoutingInfo.h,
    src/mgmtd/service/RoutingInfo.h) in iteration order: by a mix of the
    key's bits, not sorted. Not upstream's exact order (that depends on the
    table's capacity); a reader must not count on any order."""
    return sorted(keys, key=lambda k: (((int(k) ^ (int(k) >> 33)) * 0xFF51AFD7ED558CCD)
                                       & 0xFFFFFFFFFFFFFFFF) >> 40)


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


def user_attr(user):
    """printUserAttr (AdminUserCtrl.cc): the token that never expires first
    (the stand-in keeps no others), SupplementaryGids as fmt::join of
    flat::Gid values, which format as Gid(N) (StrongType.h)."""
    return [["Uid", str(user["uid"])], ["Name", user["name"]],
            ["Token", f"{user['token']}(Expired at N/A)"],
            ["IsRootUser", str(user["root"]).lower()], ["IsAdmin", str(user["admin"]).lower()],
            ["Gid", str(user.get("gid", user["uid"]))],
            ["SupplementaryGids", ", ".join(f"Gid({g})" for g in user.get("groups", []))]]


class Cli:
    def __init__(self, cfg, cfg_path):
        self.cfg, self.cfg_path = cfg, cfg_path
        self.cluster_id = check_cluster_id(cfg.get("cluster_id", ""), cfg_path)
        self._kv = self._mg = None

    def kv(self):
        if self._kv is None:
            self._kv = KV(dig(self.cfg, "fdb.clusterFile"), f"{self.cfg_path}: [fdb]", wait=5.0)
        return self._kv

    def storage(self, op, **args):
        """A request for a storage node (create-target, offline-target,
        remove-target), which real admin_cli's storage client sends the node
        with requestTimeout = storage_client.retry.max_wait_time (30 s by
        default) and no retry (StorageClientImpl.cc); the stand-in passes it
        through mgmtd, which waits that long for the node's answer."""
        wait = dig_duration(self.cfg, "storage_client.retry.max_wait_time", 30.0)
        return self.mgmtd(op, timeout=wait + 10.0, storage_timeout=wait, **args)

    def mgmtd(self, op, **args):
        if self._mg is None:
            try:  # ensureIbInited: XLOGF_IF(FATAL ...) ends the process
                start_ib_manager(self.cfg.get("ib_devices"), admin=True)
            except Fail as e:
                print(e.msg, file=sys.stderr, flush=True)
                log.critical("%s", e.msg)
                sys.exit(1)
            self._mg = Mgmtd(dig(self.cfg, "mgmtd_client.mgmtd_server_addresses"),
                             f"{self.cfg_path}: [mgmtd_client]")
        return self._mg.call(op, cluster_id=self.cluster_id,
                             token=dig(self.cfg, "user_info.token", ""), **args)

    def run(self, line):
        words = parse_args(line)
        if not words:
            return []
        handler = COMMANDS.get(words[0])
        if handler is None:  # Dispatcher::findMethod
            raise Fail(f"Unknown method name: {words[0]}", 3, "InvalidArg")
        return handler(self, words[1:])

    # ------------------------------------------------------------ FDB-direct
    def init_cluster(self, args):
        """InitCluster.cc: the root layout first (Layout::valid: chunk size a
        power of 2, stripe not 0; an existing root is kept), then each given
        main config stored as it is: upstream forces skipConfigCheck = true, so
        the files are not parsed. A stored config fails the run unless
        --allow-config-existed, which stores the next version. FDB holds no
        cluster id."""
        opts, pos = split_opts(args, {"--mgmtd": "MGMTD", "--mgmtd-config-path": "MGMTD",
                                      "--meta": "META", "--meta-config-path": "META",
                                      "--storage": "STORAGE", "--storage-config-path": "STORAGE",
                                      "--fuse": "FUSE", "--fuse-config-path": "FUSE"},
                               {"--allow-config-existed": "allow", "--skip-config-check": "skip"})
        if len(pos) != 3:
            raise usage_error("usage: init-cluster [--mgmtd F] [--meta F] [--storage F] "
                              "[--fuse F] [--allow-config-existed] <chain-table-id> "
                              "<chunk-size> <stripe-size>")
        table = parse_int(pos[0], "chaintableid", 0, UINT32)
        chunk = parse_int(pos[1], "chunksize", 0, UINT32)
        stripe = parse_int(pos[2], "stripesize", 0, UINT32)
        self.init_filesystem(table, chunk, stripe)
        rows = [[f"Init filesystem, root directory layout: chain table ChainTableId({table}), "
                 f"chunksize {chunk}, stripesize {stripe}\n"]]
        for kind in ("MGMTD", "META", "STORAGE", "FUSE"):
            if kind in opts:
                rows.append([self.init_config(kind, read_text(opts[kind], 69, "IOError"),
                                              opts.get("allow", False))])
        return rows

    def init_filesystem(self, table, chunk, stripe):
        def invalid(msg):
            return Fail(f"Failed to init filesystem: Meta::InvalidFileLayout(3013) {msg}", 3013,
                        "Meta::InvalidFileLayout")
        if chunk == 0:
            raise invalid("chunksize is 0")
        if chunk & (chunk - 1):
            raise invalid("chunksize should be power of 2.")
        if stripe == 0:
            raise invalid("stripesize is 0")
        if table == 0:
            raise invalid("invalid chain table 0")
        self.kv().put_new("layout", {"table_id": table, "chunk": chunk, "stripe": stripe})

    def init_config(self, kind, text, allow):
        kv = self.kv()
        while True:
            cur = kv.get(f"config/{kind}")
            if cur is not None and not allow:
                raise Fail(f"Config for {kind} existed, version {cur['version']}", 999, "Unknown")
            version = cur["version"] + 1 if cur else 1
            cfg = {"version": version, "content": text, "desc": ""}
            if cur is None and kv.put_new(f"config/{kind}", cfg):
                break
            if cur is not None:
                kv.put(f"config/{kind}", cfg)
                break
        return f"Init config for {kind} version {version}"

    def user_add(self, args):
        """AdminUserCtrl.cc UserAddHandler: user-add [--root] [--admin]
        [--groups G,G] [--token T] <uid> <name>. The first user must be an
        admin (InvalidArg), later ones need an admin user_info.token; then
        UserStore::addUser (src/core/user/UserStore.cc): an existing uid is
        Meta::Exists, a given token must decode to this uid (InvalidFormat),
        gid = uid."""
        opts, pos = split_opts(args, {"--token": "token", "--groups": "groups"},
                               {"--root": "root", "--admin": "admin"})
        if len(pos) != 2:
            raise usage_error("usage: user-add [--root] [--admin] [--groups G] [--token T] "
                              "<uid> <name>")
        uid = parse_int(pos[0], "uid", 0, UINT32)
        groups = [folly_u32(g) for g in opts.get("groups", "").split(",") if g]  # splitAndTransform
        kv = self.kv()
        users = kv.list("users/")
        if not users and not opts.get("admin"):
            raise Fail("The first user must be admin", 3, "InvalidArg")
        if users:
            self.ensure_admin(users)
        if f"users/{uid}" in users:
            raise Fail("", 3007, "Meta::Exists")
        tok = opts.get("token")
        if tok:
            got = tokens.decode_uid(tok)
            if got is None:
                raise Fail("Decode token fail: invalid format", 33, "InvalidFormat")
            if got != uid:
                raise Fail("Could not set token from other uid", 33, "InvalidFormat")
        else:
            tok = tokens.mint(uid)
        user = {"uid": uid, "name": pos[1], "token": tok, "root": bool(opts.get("root")),
                "admin": bool(opts.get("admin")), "gid": uid, "groups": groups}
        if not kv.put_new(f"users/{uid}", user):
            raise Fail("", 3007, "Meta::Exists")
        return user_attr(user)

    def ensure_admin(self, users, self_uid=None):
        """AdminUserCtrl.cc ensureAdmin: the caller's token (user_info.token)
        must validate; uid 0, an admin, or the user asked about (self) pass."""
        tok = dig(self.cfg, "user_info.token", "")
        uid = tokens.decode_uid(tok)
        if uid is None:
            raise Fail("Token decode failed", 25, "AuthenticationFail")
        user = users.get(f"users/{uid}")
        if user is None:
            raise Fail(f"Uid {uid} not found", 25, "AuthenticationFail")
        if user["token"] != tok:
            raise Fail("Token validate failed", 25, "AuthenticationFail")
        if uid != 0 and not user["admin"] and self_uid != uid:
            raise Fail("Not Admin", 25, "AuthenticationFail")

    def user_stat(self, args):
        """AdminUserCtrl.cc UserStatHandler: user-stat <uid>, FDB-direct,
        ensureAdmin with self = uid, then the user's attributes."""
        _, pos = split_opts(args, {}, {})
        if len(pos) != 1:
            raise usage_error("usage: user-stat <uid>")
        uid = parse_int(pos[0], "uid", 0, UINT32)
        users = self.kv().list("users/")
        self.ensure_admin(users, uid)
        user = users.get(f"users/{uid}")
        if user is None:
            raise Fail(f"Uid {uid} not found", 3000, "Meta::NotFound")
        return user_attr(user)

    # ------------------------------------------------------------ via mgmtd
    def set_config(self, args):
        """SetConfig.cc: -t/--type (MGMTD, META, STORAGE, CLIENT, CLIENT_AGENT,
        FUSE) and -f/--file; the content goes to mgmtd unchecked."""
        opts, pos = split_opts(args, {"--type": "type", "-t": "type", "--file": "file", "-f": "file",
                                      "--desc": "desc"}, {})
        if pos or "type" not in opts or "file" not in opts:
            raise usage_error("must specify -t and -f")
        if opts["type"] not in ("MGMTD", "META", "STORAGE", "CLIENT", "CLIENT_AGENT", "FUSE"):
            raise usage_error(f"invalid type: {opts['type']}")
        text = read_text(opts["file"], 69, "IOError")
        reply = self.mgmtd("set_config", type=opts["type"], content=text,
                           desc=opts.get("desc", ""))
        return [["Succeed"], ["ConfigVersion", str(reply["version"])]]

    def register_node(self, args):
        """RegisterNode.cc: register-node <nodeId> <type>; prints nothing."""
        _, pos = split_opts(args, {}, {})
        if len(pos) != 2:
            raise usage_error("usage: register-node <nodeId> <type>")
        nid = parse_int(pos[0], "nodeId", 0, UINT32)
        if pos[1] not in ("MGMTD", "META", "STORAGE", "CLIENT", "FUSE"):
            raise usage_error(f"invalid type: {pos[1]}")
        self.mgmtd("register_node", node_id=nid, type=pos[1])
        return []

    def routing(self):
        return self.mgmtd("routing")

    def list_nodes(self, args):
        """ListNodes.cc: sorted by type, status (NodeStatus order), id.
        LastHeartbeatTime is N/A while lastHeartbeatTs is 0: the primary's
        own entry (MgmtdLeaseExtender.cc persistNewVersionAndSelfInfo puts
        selfNodeInfo there, which never heartbeats) and a node that has not
        beaten to this primary (registered: RegisterNodeOperation.cc; loaded
        at a takeover: flat::toNode, NodeConversion.cc), which also shows
        pid 0 and a default ReleaseVersion (its hostname is persisted, a
        registered one's empty). A standby mgmtd heartbeats like any node
        (MgmtdHeartbeater.cc) and shows its time, local to the admin_cli
        process (UtcTime::YmdHMS, src/common/utils/UtcTime.cc)."""
        if args:
            raise usage_error("usage: list-nodes")
        order = {"MGMTD": 0, "META": 1, "STORAGE": 2, "CLIENT": 3, "FUSE": 4}
        status_order = {"PRIMARY_MGMTD": 0, "HEARTBEAT_CONNECTED": 1, "HEARTBEAT_CONNECTING": 2,
                        "HEARTBEAT_FAILED": 3, "DISABLED": 4}
        nodes = sorted(self.routing()["nodes"].values(),
                       key=lambda n: (order[n["type"]], status_order[n["status"]], n["node_id"]))
        rows = [["Id", "Type", "Status", "Hostname", "Pid", "Tags", "LastHeartbeatTime",
                 "ConfigVersion", "ReleaseVersion"]]
        for n in nodes:
            primary = n["status"] == "PRIMARY_MGMTD"
            beaten = n.get("last_hb") is not None
            last = "N/A" if primary or not beaten else \
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(n["last_hb"]))
            app = primary or beaten  # NodeInfo.app as last reported
            cv = str(n["config_version"])
            if n["config_version"] == n["latest_config"]:  # configStatus NORMAL
                cv += "(UPTODATE)"
            rows.append([str(n["node_id"]), n["type"], n["status"], n.get("hostname") or "",
                         str(n["pid"]) if app else "0", "[]", last, cv,
                         (n.get("release") if app else None) or RELEASE_DEFAULT])
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
        node = parse_int(opts["node"], "--node-id", 0, UINT32)
        disk = parse_int(opts["disk"], "--disk-index", 0, UINT32)
        target = parse_int(opts["target"], "--target-id", 0, 2 ** 64 - 1)
        chain = parse_int(opts["chain"], "--chain-id", 0, UINT32)
        # CreateTarget.cc: not a LASTSRV target of a chain with more than one target
        ch = self.mgmtd("routing", chains=[chain])["chains"].get(str(chain))
        if ch and len(ch["targets"]) > 1 and target in ch["targets"] and \
                ch.get("public", {}).get(str(target)) == LASTSRV:
            raise Fail(f"creation of this target is prohibited ChainTargetInfo(targetId="
                       f"{target}, publicState=LASTSRV)", 7004, "StorageClient::RoutingError")
        self.storage("create_target", node_id=node, disk_index=disk, target_id=target,
                     chain_id=chain)
        return [[f"Create target {target} on disk {disk} of {node} succeeded"]]

    def target_node(self, opts, target):
        """OfflineTarget.cc / RemoveTarget.cc: --node-id, else the target's node
        in the routing info."""
        if "node" in opts:
            return parse_int(opts["node"], "--node-id", 0, UINT32)
        t = self.routing()["targets"].get(str(target))
        if t is None or t.get("node_id") is None:
            raise Fail("node id is unknown", 7004, "StorageClient::RoutingError")
        return t["node_id"]

    def offline_target(self, args):
        """OfflineTarget.cc: offline-target [--node-id N] --target-id T [--force];
        the storage node checks (StorageOperator::offlineTarget)."""
        opts, pos = split_opts(args, {"--node-id": "node", "--target-id": "target"},
                               {"--force": "force"})
        if pos or "target" not in opts:
            raise usage_error("usage: offline-target [--node-id N] --target-id T [--force]")
        target = parse_int(opts["target"], "--target-id", 0, 2 ** 64 - 1)
        node = self.target_node(opts, target)
        self.storage("offline_target", node_id=node, target_id=target,
                     force=bool(opts.get("force")))
        return [[f"Offline target {target} of {node} succeeded"]]

    def remove_target(self, args):
        """RemoveTarget.cc: remove-target --node-id N --target-id T [--force]
        (both required); the storage node checks (StorageOperator::removeTarget)."""
        opts, pos = split_opts(args, {"--node-id": "node", "--target-id": "target"},
                               {"--force": "force"})
        if pos or "target" not in opts or "node" not in opts:
            raise usage_error("usage: remove-target --node-id N --target-id T [--force]")
        target = parse_int(opts["target"], "--target-id", 0, 2 ** 64 - 1)
        node = self.target_node(opts, target)
        self.storage("remove_target", node_id=node, target_id=target,
                     force=bool(opts.get("force")))
        return [[f"Remove target {target} of {node} succeeded"]]

    def update_chain(self, args):
        """UpdateChain.cc: update-chain <chainId> <targetId> -m|--mode add|remove
        (case-insensitive); mgmtd checks (UpdateChainOperation.cc); prints the
        chain (statChainInfo, src/client/cli/admin/Utils.cc)."""
        opts, pos = split_opts(args, {"-m": "mode", "--mode": "mode"}, {})
        if len(pos) != 2 or "mode" not in opts:
            raise usage_error("usage: update-chain <chainId> <targetId> -m|--mode add|remove")
        cid = parse_int(pos[0], "chainId", 0, UINT32)
        tid = parse_int(pos[1], "targetId", 0, 2 ** 64 - 1)
        mode = opts["mode"].lower()
        if mode not in ("add", "remove"):
            raise usage_error(f"Invalid mode: {opts['mode']}")
        r = self.mgmtd("update_chain", chain_id=cid, target_id=tid, mode=mode.upper())
        return ([["ChainId", str(r["chain_id"])], ["ChainVersion", str(r["version"])]]
                + [["Target", f"{t}({ps})"] for t, ps in r["targets"]]
                + [["PreferredOrder", "[" + ",".join(map(str, r["preferred"])) + "]"]])

    def upload_chains(self, args):
        """UploadChains.cc: the CSV's checks and words; the rest is mgmtd's."""
        opts, pos = split_opts(args, {}, {"--set-preferred-target-order": "pref"})
        if len(pos) != 1:
            raise usage_error("usage: upload-chains <csv-file-path>")
        rows = read_csv(pos[0])
        head = rows[0] if rows else []
        if not head:
            raise format_error("empty columns")
        if head[0] != "ChainId":
            raise format_error(f"column[0] expected:'ChainId' actual:'{head[0]}'")
        if len(head) == 1:
            raise format_error("target columns not found")
        for i, h in enumerate(head[1:], 1):
            if h != "TargetId":
                raise format_error(f"column[{i}] expected:'TargetId' actual:'{h}'")
        if len(rows) == 1:
            raise format_error("empty rows")
        chains = []
        for i, r in enumerate(rows[1:]):
            if len(r) != len(head):
                raise format_error(f"unexpected size of row[{i}]. expected:{len(head)} "
                                   f"actual:{len(r)}")
            vals = [csv_int(v) for v in r]
            for j, t in enumerate(vals[1:], 1):
                if t <= 0:
                    raise format_error(f"invalid TargetId of row[{i}][{j}]:{t}")
            chains.append([vals[0] & UINT32, vals[1:]])  # flat::ChainId(int64): 32 bits
        self.mgmtd("set_chains", chains=chains)
        return [[f"Upload {len(chains)} chains succeeded"]]

    def upload_chain_table(self, args):
        """UploadChainTable.cc: the CSV's checks and words; the rest is mgmtd's."""
        opts, pos = split_opts(args, {"--desc": "desc"}, {})
        if len(pos) != 2:
            raise usage_error("usage: upload-chain-table [--desc D] <tableId> <csv-file-path>")
        table = parse_int(pos[0], "tableId", 0, UINT32)
        rows = read_csv(pos[1])
        if not rows or len(rows[0]) != 1:
            raise format_error("expected columns: ChainId")
        if rows[0][0] != "ChainId":
            raise format_error(f"column[0] expected:'ChainId' actual:'{rows[0][0]}'")
        if len(rows) == 1:
            raise format_error("empty rows")
        cids = []
        for i, r in enumerate(rows[1:]):
            if len(r) != 1:
                raise format_error(f"unexpected size of row[{i}]. expected:1 actual:{len(r)}")
            c = csv_int(r[0])
            if c <= 0:
                raise format_error(f"ChainId should be positive: {c}")
            if c > UINT32:
                raise format_error(f"ChainId overflow. max: {UINT32}. now: {c}")
            cids.append(c)
        reply = self.mgmtd("set_chain_table", table_id=table, chains=cids,
                           desc=opts.get("desc", ""))
        return [[f"Upload ChainTableId({table}) of ChainTableVersion({reply['version']}) "
                 f"succeeded"]]

    @staticmethod
    def chain_cells(r, ch):
        """printChain (ListChains.cc): ChainVersion, Status, PreferredOrder,
        then each target as ID(PUBLIC-LOCAL)."""
        cells, pubs = [], []
        for t in ch["targets"]:
            pub, loc = r["states"].get(str(t), ("OFFLINE", "OFFLINE"))
            pubs.append(pub)
            cells.append(f"{t}({pub}-{loc})")
        pref = "[" + ",".join(map(str, ch.get("preferred", []))) + "]"
        return [str(ch["version"]), chain_status(pubs), pref] + cells

    def list_chains(self, args):
        """ListChains.cc. Without -t: every chain by id, with the chain
        tables naming it (ReferencedBy, any version). With -t T [-v V]: the
        chains of table T at version V (0 or none: the latest;
        RoutingInfo::getChainTable) in the table's order, columns ChainId
        ChainTable ChainTableVersion ...; an unknown table or version is
        InvalidArg "ChainTableId(T) not found". -v alone is ignored."""
        opts, pos = split_opts(args, {"-t": "t", "--table-id": "t", "-v": "v", "--version": "v"},
                               {})
        if pos:
            raise usage_error("usage: list-chains [-t T] [-v V]")
        table = parse_int(opts["t"], "--table-id", 0, UINT32) if "t" in opts else None
        ver = parse_int(opts.get("v", "0"), "--version", 0, UINT32)
        r = self.routing()
        if table is not None:
            versions = sorted(r["tables"].get(str(table)) or [], key=lambda v: v["version"])
            ct = None
            if versions:
                ct = versions[-1] if ver == 0 else \
                    next((v for v in versions if v["version"] == ver), None)
            if ct is None:
                raise Fail(f"ChainTableId({table}) not found", 3, "InvalidArg")
            if not ct["chains"]:
                raise Fail(f"ChainTableId({table})@ChainTableVersion({ver}) has no chains", 999,
                           "Unknown")
            width = 0
            for cid in ct["chains"]:
                ch = r["chains"].get(str(cid))
                if ch is None:
                    raise Fail(f"ChainId({cid}) not found", 999, "Unknown")
                width = max(width, len(ch["targets"]))
            rows = [["ChainId", "ChainTable", "ChainTableVersion", "ChainVersion", "Status",
                     "PreferredOrder"] + ["Target"] * width]
            for cid in ct["chains"]:
                rows.append([str(cid), str(table), str(ct["version"])]
                            + self.chain_cells(r, r["chains"][str(cid)]))
            return rows
        refs = {}
        for tid, versions in r["tables"].items():
            for v in versions:
                for c in v["chains"]:
                    refs.setdefault(c, set()).add(int(tid))
        width = max([len(c["targets"]) for c in r["chains"].values()] or [0])
        rows = [["ChainId", "ReferencedBy", "ChainVersion", "Status", "PreferredOrder"]
                + ["Target"] * width]
        for cid in sorted(r["chains"], key=int):
            ref = sorted(refs.get(int(cid), ()))
            rows.append([cid, ",".join(map(str, ref[:2])) + (",..." if len(ref) > 2 else "")
                         if ref else "N/A"] + self.chain_cells(r, r["chains"][cid]))
        return rows

    def list_targets(self, args):
        """ListTargets.cc. The targets of every chain, chains in the routing
        info's (hash) order, each chain's targets in its order; -c C: that
        chain's (InvalidArg "ChainId(C) not found"). --orphan: mgmtd's orphans
        (ListOrphanTargetsOperation.cc; mgmtd.py note_orphans), with the local
        state their node reported (not aged: a node that stopped keeps its
        orphans); none until a node beats to this primary."""
        opts, pos = split_opts(args, {"-c": "chain", "--chain-id": "chain"}, {"--orphan": "orphan"})
        if pos:
            raise usage_error("usage: list-targets [-c C] [--orphan]")
        only = parse_int(opts["chain"], "--chain-id", 0, UINT32) if "chain" in opts else None
        if opts.get("orphan"):
            orphans = {str(t["target_id"]): t
                       for t in self.mgmtd("list_orphan_targets")["targets"]}
            rows = [["TargetId", "LocalState", "NodeId", "DiskIndex", "UsedSize"]]
            for tid in unordered(orphans):
                t = orphans[tid]
                rows.append([tid, t["local"], str(t["node_id"]), str(t["disk_index"]),
                             str(t.get("used", 0))])
            return rows
        r = self.routing()
        rows = [["TargetId", "ChainId", "Role", "PublicState", "LocalState", "NodeId",
                 "DiskIndex", "UsedSize"]]
        chains = r["chains"]
        if only is not None:
            if str(only) not in chains:
                raise Fail(f"ChainId({only}) not found", 3, "InvalidArg")
            chains = {str(only): chains[str(only)]}
        for cid in unordered(chains):
            tl = chains[cid]["targets"]
            for i, t in enumerate(tl):
                info = r["targets"].get(str(t))
                pub, loc = r["states"].get(str(t), ("OFFLINE", "OFFLINE"))
                role = "HEAD" if i == 0 else "TAIL" if i == len(tl) - 1 else "MIDDLE"
                rows.append([str(t), cid, role, pub, loc,
                             str(info["node_id"]) if info else "N/A",
                             str(info["disk_index"]) if info else "N/A",
                             str(info.get("used", 0)) if info else "0"])
        return rows

    def list_chain_tables(self, args):
        """ListChainTables.cc: every table (hash order), its versions in
        order; ReplicaCount is each distinct target count of its chains,
        ascending, joined by '/' (a chain can change its count after upload,
        update-chain); a chain missing from the routing info is
        MgmtdClient::RoutingInfoNotReady."""
        if args:
            raise usage_error("usage: list-chain-tables")
        r = self.routing()
        rows = [["ChainTableId", "ChainTableVersion", "ChainCount", "ReplicaCount", "Desc"]]
        for tid in unordered(r["tables"]):
            for v in sorted(r["tables"][tid], key=lambda v: v["version"]):
                if not v["chains"]:
                    raise Fail(f"Impossible: ChainTableId({tid}) has no chains", 999, "Unknown")
                reps = set()
                for c in v["chains"]:
                    ch = r["chains"].get(str(c))
                    if ch is None:
                        raise Fail("", 6004, "MgmtdClient::RoutingInfoNotReady")
                    reps.add(len(ch["targets"]))
                rows.append([tid, str(v["version"]), str(len(v["chains"])),
                             "/".join(map(str, sorted(reps))), v["desc"]])
        return rows

    def help(self, args):
        """Dispatcher::handleHelp: every command and its usage (no connection)."""
        if args:
            if args[0] not in COMMANDS:
                raise Fail(f"Unknown method name: {args[0]}", 3, "InvalidArg")
            return [[f"Usage: {args[0]} ..."]]
        return [[name, f"Usage: {name} ..."] for name in sorted(COMMANDS)]


COMMANDS = {"init-cluster": Cli.init_cluster, "user-add": Cli.user_add,
            "user-stat": Cli.user_stat,
            "set-config": Cli.set_config, "list-nodes": Cli.list_nodes,
            "register-node": Cli.register_node, "help": Cli.help,
            "create-target": Cli.create_target, "upload-chains": Cli.upload_chains,
            "offline-target": Cli.offline_target, "remove-target": Cli.remove_target,
            "update-chain": Cli.update_chain,
            "upload-chain-table": Cli.upload_chain_table, "list-chains": Cli.list_chains,
            "list-targets": Cli.list_targets, "list-chain-tables": Cli.list_chain_tables}


def read_text(path, code=69, name="IOError"):
    """loadFile (src/common/utils/FileUtils.cc)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        raise Fail(f"Error opening file: {path}", code, name)


def format_error(msg):
    return Fail(msg, 33, "InvalidFormat")


def read_csv(path):
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return [[c.strip() for c in r] for r in csv.reader(f) if r]
    except OSError as e:  # rapidcsv throws; runLine reports it as Unknown
        raise Fail(f"rapidcsv::Document::ReadCsv: {path}: {e.strerror}", 999, "Unknown")


def folly_u32(text):
    """folly::to<uint32_t>: a ConversionError, which runLine reports as Unknown."""
    if not text.isdigit():
        raise Fail(f'Invalid leading character: "{text}"', 999, "Unknown")
    if int(text) > UINT32:
        raise Fail(f'Overflow: "{text}"', 999, "Unknown")
    return int(text)


def csv_int(text):
    try:
        return int(text, 10)
    except ValueError:  # rapidcsv's conversion throws; runLine reports it as Unknown
        raise Fail(f"stoll: {text!r}", 999, "Unknown")


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


def run_line(cli, line, verbose=False):
    """Run one command; print its table or its error; True if it succeeded."""
    if verbose:
        print(f"> Execute {line}", flush=True)
    try:
        rows = cli.run(line)
    except Fail as e:
        log.error("%s: %s", line, e.msg)
        print(f"Encounter error: {e.code}({status_name(e.name)})" + (f"\n{e.msg}" if e.msg else ""),
              flush=True)
        return False
    if rows:
        print(fmt_table(rows), flush=True)
    return True


def main():
    """admin_cli.cc main: the flags and the config first; a failure there is
    no command's error but `XLOGF_IF(FATAL, ..., "Load config from flags
    failed with {}")` on stderr and an abort (the stand-ins exit 1), so
    nothing reaches stdout. The config load reads every address
    (mgmtd_client.mgmtd_server_addresses, a vector of net::Address), so a bad
    one ends every command, help included."""
    setup_log("cli")
    try:  # gflags: an unknown flag is "ERROR: unknown command line flag 'x'", exit 1
        cfg_path, overrides, cmd = parse_cli_args(sys.argv[1:])
    except Fail as e:
        print(e.msg, file=sys.stderr, flush=True)
        sys.exit(1)
    try:
        cfg = load_toml(cfg_path, "admin_cli config")
        for key, val in overrides:
            set_dotted(cfg, key, val)
        check_admin_cli(cfg, cfg_path)
        addrs = dig(cfg, "mgmtd_client.mgmtd_server_addresses")
        for a in addrs if isinstance(addrs, list) else ():
            parse_address(a, f"{cfg_path}: [mgmtd_client] mgmtd_server_addresses")
        cli = Cli(cfg, cfg_path)
    except Fail as e:
        log.error("%s", e.msg)
        print(f"Load config from flags failed with {status_name(e.name)}({e.code}) {e.msg}",
              file=sys.stderr, flush=True)
        sys.exit(1)
    verbose = cfg.get("verbose", False)
    if not cmd:  # commands from stdin: failures are printed, the exit status stays 0
        for line in sys.stdin:
            run_line(cli, line.rstrip("\n"), verbose)
        sys.exit(0)
    sys.exit(run_joined(cli, cmd, verbose, cfg.get("break_multi_line_command_on_failure", False)))


def run_joined(cli, cmd, verbose, brk):
    """`a; b; c`: every part runs (unless brk stops after a failed one); only
    the failure of the part after the last ';' gives exit status 1."""
    while cmd:
        line, sep, cmd = cmd.partition(";")
        good = run_line(cli, line, verbose)
        if not sep:
            return 0 if good else 1
        if brk and not good:
            break
    return 0
