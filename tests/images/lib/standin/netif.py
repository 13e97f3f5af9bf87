"""What a 3FS process sees of the node's network at start: its NICs (for the
listeners) and its RDMA devices (for the IB manager). Stdlib only: the NICs
come from getifaddrs(3) through ctypes, the RDMA devices from sysfs.

Upstream (deepseek-ai/3FS ee9a5ce):
- src/common/net/IfAddrs.h: getifaddrs, IPv4 addresses only, a non-contiguous
  netmask skipped, "up" = IFF_UP of the interface.
- src/common/net/Listener.cc (checkNicType, Listener::setup): a listener binds
  each address of an up NIC whose name fits its network type (RDMA, TCP: en*,
  eth*, bond*, xgbe*; IPoIB: ib*; LOCAL: lo*), limited to the NIC names in
  listener.filter_list when that is not empty; none left fails the start.
- src/common/net/ib/IBDevice.cc (IBDevice::openAll, IBManager::startImpl).
"""
import ctypes
import os
import socket

from .common import Fail, log

IFF_UP = 0x1
NIC_PREFIXES = {"TCP": ("en", "eth", "bond", "xgbe"), "RDMA": ("en", "eth", "bond", "xgbe"),
                "IPoIB": ("ib",), "LOCAL": ("lo",)}


class _Sockaddr(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_uint16),
                ("addr", ctypes.c_ubyte * 4), ("zero", ctypes.c_ubyte * 8)]


class _Ifaddrs(ctypes.Structure):
    pass


_Ifaddrs._fields_ = [("next", ctypes.POINTER(_Ifaddrs)), ("name", ctypes.c_char_p),
                     ("flags", ctypes.c_uint), ("addr", ctypes.POINTER(_Sockaddr)),
                     ("netmask", ctypes.POINTER(_Sockaddr)),
                     ("ifu", ctypes.POINTER(_Sockaddr)), ("data", ctypes.c_void_p)]


def _contiguous(mask):
    bits = int.from_bytes(bytes(mask), "big")
    inverted = ~bits & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


def nic_addresses():
    """[(nic name, IPv4 address, up)] like IfAddrs::load (names are labels,
    e.g. eth0:1 for a labelled secondary address)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    head = ctypes.POINTER(_Ifaddrs)()
    if libc.getifaddrs(ctypes.byref(head)) != 0:
        raise Fail(f"Failed to call getifaddrs, errno {ctypes.get_errno()}", 2011,
                   "RPC::ListenFailed")
    out = []
    try:
        cur = head
        while cur:
            ifa = cur.contents
            cur = ifa.next
            if not ifa.addr or not ifa.netmask:
                continue
            if ifa.addr.contents.family != socket.AF_INET or \
                    ifa.netmask.contents.family != socket.AF_INET:
                continue
            if not _contiguous(ifa.netmask.contents.addr):
                continue
            out.append((ifa.name.decode(), ".".join(map(str, ifa.addr.contents.addr)),
                        bool(ifa.flags & IFF_UP)))
    finally:
        libc.freeifaddrs(head)
    return out


def listener_addresses(network_type, filter_list):
    """The IPv4 addresses a listener of network_type binds (Listener::setup)."""
    prefixes = NIC_PREFIXES.get(network_type, ())
    return [ip for name, ip, up in nic_addresses()
            if up and (not filter_list or name in filter_list) and name.startswith(prefixes)]


# Default listener groups of each server when [[server.base.groups]] is not
# given (MgmtdServer.h, MetaServer.h, StorageServer.h, MonitorCollectorServer.h):
# (network_type, listen_port); a group's own network_type defaults to RDMA
# (ServiceGroup.h), its listen_port to 0 (any free port, Listener.h).
DEFAULT_GROUPS = {"MGMTD": [("RDMA", 8000), ("TCP", 9000)],
                  "META": [("RDMA", 8000), ("TCP", 9000)],
                  "STORAGE": [("RDMA", 8000), ("TCP", 9000)],
                  "MONITOR": [("TCP", 10000)]}


def listen_groups(groups, kind, serve, dispatch, what):
    """Bind every group's addresses; return [[(ip, port)] per group].

    serve(ip, port, dispatch, what) binds one address (and fails like
    "create socket failed"). A group without an eligible address fails the
    start with upstream's words (logged) and RPC::ListenFailed."""
    if groups is None:
        groups = [{"network_type": t, "listener": {"listen_port": p}}
                  for t, p in DEFAULT_GROUPS[kind]]
    bound = []
    for g in groups:
        ntype = g.get("network_type", "RDMA")
        lst = g.get("listener") or {}
        port, filters = lst.get("listen_port", 0), list(lst.get("filter_list", []))
        if ntype == "UNIX":
            log.info("%s: UNIX domain socket listener not modelled (group skipped)", what)
            bound.append([])
            continue
        addrs = listener_addresses(ntype, filters)
        if not addrs:
            msg = (f"No available address for listener with network type: {ntype}, "
                   f"filter list: {','.join(filters)}")
            log.error("%s", msg)
            raise Fail(f"{msg}\nInit server failed: RPC::ListenFailed(2011)", 2011,
                       "RPC::ListenFailed")
        bound.append([(ip, serve(ip, port, dispatch, what).server_address[1]) for ip in addrs])
        log.info("Listener setup: %s", ", ".join(f"{ntype}://{ip}:{p}" for ip, p in bound[-1]))
    return bound


# ---------------------------------------------------------------- RDMA devices
IB_SYSFS = "/sys/class/infiniband"
ACTIVE_STATES = ("ACTIVE", "ACTIVE_DEFER")


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def _port_netdevs(dev, port):
    ndevs = os.path.join(IB_SYSFS, dev, "ports", port, "gid_attrs", "ndevs")
    try:
        return {_read(os.path.join(ndevs, n)) for n in os.listdir(ndevs)} - {""}
    except OSError:
        return set()


def usable_ib_ports(cfg):
    """(number of RDMA devices, [(device, port)] IBDevice::open would keep):
    ports of devices named in device_filter (by device or by its netdev; empty:
    all) whose link layer is InfiniBand or Ethernet, active unless
    skip_inactive_ports is false."""
    try:
        devices = sorted(os.listdir(IB_SYSFS))
    except OSError:
        devices = []
    filters = cfg.get("device_filter") or []
    skip_inactive = cfg.get("skip_inactive_ports", True)
    usable = []
    for dev in devices:
        try:
            ports = sorted(os.listdir(os.path.join(IB_SYSFS, dev, "ports")))
        except OSError:
            continue
        for port in ports:
            pdir = os.path.join(IB_SYSFS, dev, "ports", port)
            if filters and dev not in filters and not _port_netdevs(dev, port) & set(filters):
                continue
            if _read(os.path.join(pdir, "link_layer")) not in ("InfiniBand", "Ethernet"):
                continue
            state = _read(os.path.join(pdir, "state")).partition(":")[2].strip()
            if state not in ACTIVE_STATES and skip_inactive:
                continue
            usable.append((dev, port))
    return len(devices), usable


def start_ib_manager(cfg, admin=False):
    """net::IBManager::start(ib_devices) at a process start. cfg: the
    ib_devices table (a dict, may be empty).

    Without any RDMA device, real IBDevice::openAll fails with "No usable RDMA
    devices." whatever allow_no_usable_devices says; devices without a usable
    port fail only when allow_no_usable_devices is false (the default). The
    stand-in lets allow_no_usable_devices = true also cover "no device at all"
    (the lab has no RDMA; docs/stand-ins.md, Known differences) and logs what
    real 3FS would do."""
    cfg = cfg if isinstance(cfg, dict) else {}
    allow = cfg.get("allow_no_usable_devices", False)
    count, usable = usable_ib_ports(cfg)
    end = "." if admin else ""  # admin_cli adds a '.' after describe()
    if count == 0:
        if not allow:
            log.warning("No RDMA devices!!!")
            raise Fail("Failed to start IBManager: RPC::IBInitFailed(2015) No usable RDMA "
                       "devices." + end, 2015, "RPC::IBInitFailed")
        log.warning("IBManager can't find available device! (stand-in: no RDMA device at all; "
                    "real 3FS exits here with 'Failed to start IBManager: RPC::IBInitFailed(2015) "
                    "No usable RDMA devices.' even with allow_no_usable_devices = true)")
    elif not usable:
        if not allow:
            log.error("IBManager can't find available device!")
            raise Fail("Failed to start IBManager: RPC::IBDeviceNotFound(2016)" + end, 2016,
                       "RPC::IBDeviceNotFound")
        log.warning("IBManager can't find available device!")
    else:
        log.info("IBDevice inited: %s", ", ".join(f"{d}:{p}" for d, p in usable))
