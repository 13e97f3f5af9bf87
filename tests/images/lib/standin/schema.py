"""Key/type schemas of the 3FS configuration files and their checks.

A schema is a dict: key -> str | int | bool | float | [elem] | {nested}.
Keys that are present must have the declared type (as real 3FS reports
ConfigInvalidType), and a key the schema does not know is an error: real 3FS
parses into its full default tree and refuses keys outside it, so a
misspelt key in a rendered file must fail here too (docs/stand-ins.md).
"""
from .common import (Fail, check_cluster_id, check_node_id, dig, parse_address_list,
                     parse_plain_address)

LOG_LEVELS = {"DBG", "DEBUG", "INFO", "WARN", "WARNING", "ERR", "ERROR", "CRITICAL", "FATAL"}
NETWORK_TYPES = {"RDMA", "TCP", "IPoIB", "LOCAL", "UNIX"}

IB_DEVICES = {"device_filter": [str], "allow_no_usable_devices": bool,
              "skip_inactive_ports": bool, "skip_unusable_device": bool,
              "prefer_ibdevice": bool, "default_network_zone": str,
              "allow_unknown_zone": bool, "default_pkey_index": int,
              "default_roce_pkey_index": int, "default_traffic_class": int,
              "fork_safe": bool, "subnets": [{"subnet": str, "network_zones": [str]}]}
LISTENER = {"listen_port": int, "filter_list": [str], "rdma_listen_ethernet": bool,
            "custom_tcp_nic_prefix": str, "listen_queue_depth": int, "domain_socket_index": int,
            "reuse_port": bool, "rdma_accept_timeout": str}
GROUP = {"network_type": str, "services": [str], "use_independent_thread_pool": bool,
         "check_connections_interval": str, "connection_expiration_time": str,
         "listener": LISTENER}
LOG = {"categories": [{"categories": [str], "level": str, "inherit": bool,
                       "propagate": str, "handlers": [str]}],
       "handlers": [{"name": str, "file_path": str, "async": bool, "writer_type": str,
                     "start_level": str, "rotate": bool, "max_files": int,
                     "max_file_size": str, "rotate_on_open": bool,
                     "stream_type": str}]}
MONITOR = {"collect_period": str, "num_collectors": int,
           "reporters": [{"type": str, "monitor_collector": {"remote_ip": str},
                          "log": {}, "clickhouse": {}}]}
COMMON = {"cluster_id": str, "log": LOG, "monitor": MONITOR}
MGMTD_CLIENT = {"mgmtd_server_addresses": [str], "enable_auto_refresh": bool,
                "enable_auto_heartbeat": bool, "enable_auto_extend_client_session": bool,
                "auto_refresh_interval": str, "auto_heartbeat_interval": str,
                "accept_incomplete_routing_info_during_mgmtd_bootstrapping": bool,
                "work_queue_size": int, "network_type": str}
FDB = {"clusterFile": str, "casual_read_risky": bool, "default_backoff": int,
       "enableMultipleClient": bool, "externalClientDir": str, "externalClientPath": str,
       "multipleClientThreadNum": int, "readonly": bool, "trace_file": str,
       "trace_format": str}
CLIENT = {"force_use_tcp": bool, "default_timeout": str, "default_send_retry_times": int,
          "enable_rdma_control": bool}

LAUNCHER = {"cluster_id": str, "allow_dev_version": bool, "use_memkv": bool,
            "ib_devices": IB_DEVICES, "client": CLIENT, "mgmtd_client": MGMTD_CLIENT,
            "fdb": FDB, "kv_engine": {"use_memkv": bool, "fdb": FDB},
            "mountpoint": str, "token_file": str, "allow_other": bool}
APP = {"node_id": int, "allow_empty_node_id": bool}

MAIN_BASE = {"common": COMMON,
             "server": {"base": {"groups": [GROUP]}, "mgmtd_client": MGMTD_CLIENT,
                        "mgmtd": MGMTD_CLIENT, "fdb": FDB}}
MGMTD_MAIN = MAIN_BASE | {"server": MAIN_BASE["server"] | {
    "service": {"authenticate": bool, "allow_heartbeat_from_unregistered": bool,
                "lease_length": str, "heartbeat_fail_interval": str,
                "bootstrapping_length": str, "new_chain_bootstrap_interval": str,
                "client_session_timeout": str, "send_heartbeat": bool}}}
META_MAIN = MAIN_BASE | {"server": MAIN_BASE["server"] | {
    "meta": {"authenticate": bool, "dynamic_stripe": bool, "iflags_chunk_engine": bool,
             "operation_timeout": str, "gc": {"enable": bool, "gc_file_delay": str},
             "forward": {"addr_type": str}}}}
STORAGE_MAIN = MAIN_BASE | {"server": MAIN_BASE["server"] | {
    "targets": {"target_paths": [str], "target_num_per_path": int,
                "allow_disk_without_uuid": bool, "create_engine_path": bool,
                "storage_target": {"kv_store": {"type": str}}},
    "aio_read_worker": {"enable_io_uring": bool, "ioengine": str, "num_threads": int}}}
FUSE_MAIN = {"common": COMMON, "mgmtd": MGMTD_CLIENT, "enable_read_cache": bool,
             "enable_writeback_cache": bool, "max_readahead": str, "max_threads": int,
             "attr_timeout": float, "entry_timeout": float, "negative_timeout": float,
             "symlink_timeout": float, "io_bufs": {"max_buf_size": str},
             "meta": {"dynamic_stripe": bool, "network_type": str},
             "periodic_sync": {"enable": bool, "interval": str}}
MONITOR_MAIN = {"common": COMMON, "server": {"base": {"groups": [GROUP]}, "monitor_collector": {
    "batch_commit_size": int, "conn_threads": int, "queue_capacity": int,
    "reporter": {"type": str, "clickhouse": {"db": str, "host": str, "passwd": str,
                                             "port": str, "user": str}}}}}
ADMIN_CLI = {"cluster_id": str, "log": str, "num_timeout_ms": int, "verbose": bool,
             "profile": bool, "break_multi_line_command_on_failure": bool,
             "client": CLIENT, "ib_devices": IB_DEVICES, "fdb": FDB,
             "mgmtd_client": MGMTD_CLIENT,
             "user_info": {"uid": int, "gid": int, "gids": [int], "token": str}}

TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number"}


def _type_ok(value, t):
    if t is bool:
        return isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, t)


def check_types(data, schema, origin, prefix=""):
    for key, value in data.items():
        if key not in schema:
            raise Fail(f"{origin}: unknown config key '{prefix + key}'")
        t, path = schema[key], prefix + key
        if isinstance(t, dict):
            if not isinstance(value, dict):
                raise Fail(f"{origin}: key '{path}' must be a table", 15,
                           "StatusCode::ConfigInvalidType")
            check_types(value, t, origin, path + ".")
        elif isinstance(t, list):
            if not isinstance(value, list):
                raise Fail(f"{origin}: key '{path}' must be an array", 15,
                           "StatusCode::ConfigInvalidType")
            for i, item in enumerate(value):
                check_types({f"{key}[{i}]": item}, {f"{key}[{i}]": t[0]}, origin, prefix)
        elif not _type_ok(value, t):
            raise Fail(f"{origin}: key '{path}' must be {TYPE_NAMES[t]}, "
                       f"got {type(value).__name__} {value!r}", 15,
                       "StatusCode::ConfigInvalidType")


def check_log(data, origin):
    for cat in dig(data, "common.log.categories", []) or []:
        level = cat.get("level")
        if level is not None and level.upper() not in LOG_LEVELS and \
                not (level.upper().startswith("DBG") and level[3:].isdigit()):
            raise Fail(f"{origin}: unknown log level '{level}' in common.log.categories")


def check_monitor(data, origin):
    for rep in dig(data, "common.monitor.reporters", []) or []:
        rtype = rep.get("type")
        if rtype not in (None, "monitor_collector", "clickhouse", "log"):
            raise Fail(f"{origin}: unknown monitor reporter type '{rtype}'")
        if rtype == "monitor_collector":
            rip = dig(rep, "monitor_collector.remote_ip")
            if rip is None:
                raise Fail(f"{origin}: monitor_collector reporter needs remote_ip")
            parse_plain_address(rip, f"{origin}: common.monitor.reporters.monitor_collector.remote_ip")


DEFAULT_PORTS = {"MGMTD": (8000, 9000), "META": (8001, 9001), "STORAGE": (8000, 9000),
                 "MONITOR": (None, 10000)}
RDMA_SERVICE = {"MGMTD": "Mgmtd", "META": "MetaSerde", "STORAGE": "StorageSerde"}


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


def check_main(kind, data, origin):
    """Type and semantic checks of a *_main.toml of a service type."""
    schema = {"MGMTD": MGMTD_MAIN, "META": META_MAIN, "STORAGE": STORAGE_MAIN,
              "FUSE": FUSE_MAIN, "MONITOR": MONITOR_MAIN}.get(kind)
    if schema is None:
        return
    check_types(data, schema, origin)
    check_log(data, origin)
    check_monitor(data, origin)
    if kind in ("MGMTD", "META", "STORAGE", "MONITOR"):
        listen_ports(data, kind, origin)
    if kind == "META":
        addrs = dig(data, "server.mgmtd_client.mgmtd_server_addresses")
        if addrs is not None:
            parse_address_list(addrs, origin + ": server.mgmtd_client")
    if kind == "STORAGE":
        addrs = dig(data, "server.mgmtd.mgmtd_server_addresses")
        if addrs is not None:
            parse_address_list(addrs, origin + ": server.mgmtd")
    if kind == "FUSE":
        addrs = dig(data, "mgmtd.mgmtd_server_addresses")
        if addrs is not None:
            parse_address_list(addrs, origin + ": mgmtd")


def check_launcher(kind, data, origin):
    check_types(data, LAUNCHER, origin)
    cid = data.get("cluster_id")
    if cid is None:
        raise Fail(f"{origin}: required key 'cluster_id' is missing")
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


def check_app(data, origin):
    check_types(data, APP, origin)
    return check_node_id(data, origin)
