"""The checks a 3FS program makes when it loads one of its config files.

Keys and types come from the contract's schema of that very file
(contract.py, tests/contract/schema/<role>.json): a key real 3FS does not
declare in that file fails with its words, "Invalid key: <path>", and a
value of the wrong kind with ConfigInvalidType. On top of that come the
checks of values the programs make at load or start (addresses, log
levels, cluster_id, node_id, listen ports).
"""
from . import contract
from .logconf import parse_level
from .common import (Fail, check_cluster_id, check_node_id, dig, parse_address_list,
                     parse_plain_address)

NETWORK_TYPES = {"RDMA", "TCP", "IPoIB", "LOCAL", "UNIX"}

# The file each program loads, by service kind and part: the schema role.
MAIN_ROLES = {"MGMTD": "mgmtd_main", "META": "meta_main", "STORAGE": "storage_main",
              "FUSE": "hf3fs_fuse_main", "MONITOR": "monitor_collector_main"}
ADMIN_CLI_ROLE = "admin_cli"


def role_of(kind, part=""):
    return MAIN_ROLES[kind] + part


def check_keys(role, data, origin):
    """Keys and types of a parsed <role>.toml against its own schema."""
    contract.check(role, data, origin)


def check_log(data, origin):
    """A log level is read by folly::stringToLogLevel (the LogLevel items of
    src/common/logging/LogConfig.h): NONE, DBG/DEBUG, DBGn, INFO, INFOn, WARN,
    ERR/ERROR, CRITICAL, DFATAL, FATAL, MAX, LogLevel::X, a number, in any
    case; another value throws and the config does not load."""
    for section, key in (("categories", "level"), ("categories", "propagate"),
                         ("handlers", "start_level")):
        for item in dig(data, f"common.log.{section}", []) or []:
            level = item.get(key) if isinstance(item, dict) else None
            if isinstance(level, str) and parse_level(level) is None:
                raise Fail(f"{origin}: unknown log level '{level}' in common.log.{section}")


def check_monitor(data, origin):
    """Reporter types were checked with the keys.  remote_ip is never checked
    at load (an absent one is the default ""; MonitorCollectorClient only fails
    to report): nothing to refuse here (src/common/monitor/MonitorCollectorClient.cc)."""
    for rep in dig(data, "common.monitor.reporters", []) or []:
        if rep.get("type") == "monitor_collector":
            rip = dig(rep, "monitor_collector.remote_ip", "")
            parse_plain_address(rip, f"{origin}: common.monitor.reporters.monitor_collector.remote_ip")


DEFAULT_PORTS = {"MGMTD": (8000, 9000), "META": (8001, 9001), "STORAGE": (8000, 9000),
                 "MONITOR": (None, 10000)}


def listen_ports(data, kind, origin):
    """[(service-group-name, port)] from [[server.base.groups]] (or defaults)."""
    groups = dig(data, "server.base.groups")
    if groups is None:
        rdma, tcp = DEFAULT_PORTS[kind]
        return [p for p in (rdma, tcp) if p is not None]
    ports = []
    for i, g in enumerate(groups):
        nt = g.get("network_type", "RDMA")
        if nt not in NETWORK_TYPES:
            raise Fail(f"{origin}: server.base.groups[{i}].network_type '{nt}' is not one of "
                       f"RDMA, TCP, IPoIB")
        port = dig(g, "listener.listen_port", 0)
        if not 0 <= port < 65536:
            raise Fail(f"{origin}: server.base.groups[{i}].listener.listen_port {port} out of range")
        ports.append(port)
    return ports


MGMTD_ADDRESSES = {"META": "server.mgmtd_client", "STORAGE": "server.mgmtd", "FUSE": "mgmtd"}


def check_main(kind, data, origin):
    """Keys, types and values of a *_main.toml of a service type."""
    if kind not in MAIN_ROLES:
        return
    check_keys(role_of(kind), data, origin)
    check_log(data, origin)
    check_monitor(data, origin)
    if kind in ("MGMTD", "META", "STORAGE", "MONITOR"):
        listen_ports(data, kind, origin)
    section = MGMTD_ADDRESSES.get(kind)
    addrs = dig(data, f"{section}.mgmtd_server_addresses") if section else None
    if addrs is not None:
        parse_address_list(addrs, f"{origin}: {section}")


def check_launcher(kind, data, origin):
    check_keys(role_of(kind, "_launcher"), data, origin)
    # An absent cluster_id is the default "" (CONFIG_ITEM(cluster_id, "")): the
    # load succeeds and the process fails later, when mgmtd finds the ids differ.
    cid = data.get("cluster_id", "")
    check_cluster_id(cid, origin)
    if kind == "MGMTD":
        if dig(data, "fdb.clusterFile") is None and dig(data, "kv_engine.fdb.clusterFile") is None:
            raise Fail(f"{origin}: required key 'fdb.clusterFile' is missing")
    else:
        parse_address_list(dig(data, "mgmtd_client.mgmtd_server_addresses"),
                           origin + ": mgmtd_client")
    if kind == "FUSE" and not data.get("mountpoint"):
        raise Fail(f"{origin}: required key 'mountpoint' is missing")
    return cid


def check_app(kind, data, origin):
    """The node id of a *_main_app.toml (the FUSE client has none: None)."""
    check_keys(role_of(kind, "_app"), data, origin)
    if kind == "FUSE":
        return None
    return check_node_id(data, origin)


def check_admin_cli(data, origin):
    check_keys(ADMIN_CLI_ROLE, data, origin)


def check_file(role, data, origin):
    """What the program loading a file named <role>.toml checks at load."""
    if role == ADMIN_CLI_ROLE:
        return check_admin_cli(data, origin)
    for kind, main in MAIN_ROLES.items():
        if role == main:
            return check_main(kind, data, origin)
        if kind != "MONITOR" and role == main + "_launcher":
            return check_launcher(kind, data, origin)
        if kind != "MONITOR" and role == main + "_app":
            return check_app(kind, data, origin)
    # a file no stand-in loads (hf3fs_client_agent*): its keys only
    return check_keys(role, data, origin)
