"""Client of the stand-in FoundationDB key-value service and of mgmtd.

The fdb stand-in serves JSON lines on the cluster file's coordinators; all
coordinators answer with the state of the first one (the 'leader').
"""
import time

from .common import Fail, RpcError, parse_address_list, read_cluster_file, rpc


class KV:
    def __init__(self, cluster_file, origin, wait=5.0):
        self.coords = read_cluster_file(cluster_file, origin)
        self.cluster_file = cluster_file
        self.wait = wait

    def call(self, op, **args):
        """Run one KV operation; retry while FDB is unreachable/unavailable."""
        args["op"] = op
        deadline = time.time() + self.wait
        last = ""
        while True:
            for c in self.coords:
                try:
                    reply = rpc(c, args, timeout=3.0)
                except RpcError as e:
                    last = f"cannot reach coordinator {e}"
                    continue
                if reply.get("ok"):
                    return reply
                if reply.get("name") != "FDB::Unavailable":
                    raise Fail(reply.get("msg", "fdb error"), reply.get("code", 1),
                               reply.get("name", "StatusCode::Unknown"))
                last = reply.get("msg")
            if time.time() >= deadline:
                raise Fail(f"FoundationDB ({self.cluster_file}) is not available: {last}",
                           2001, "FDB::Unavailable")
            time.sleep(0.5)

    def get(self, key):
        return self.call("get", key=key).get("value")

    def put(self, key, value):
        self.call("put", key=key, value=value)

    def put_new(self, key, value):
        """Store value unless key exists; return True if stored."""
        return self.call("put_new", key=key, value=value)["stored"]

    def delete(self, key):
        self.call("delete", key=key)

    def list(self, prefix):
        return self.call("list", prefix=prefix)["items"]

    def lease(self, key, owner, length):
        """Take or extend the lease (fdbserver.py extend_lease): the lease
        as it is now, {"owner", "start", "end"}."""
        r = self.call("lease", key=key, owner=owner, length=length)
        return {k: r[k] for k in ("owner", "start", "end")}


NOT_PRIMARY = 5000  # Mgmtd::NotPrimary (src/common/utils/StatusCodeDetails.h)


class Mgmtd:
    """Talks to the primary mgmtd: the first one of an address list (TCP in
    the lab) that is reachable and does not answer Mgmtd::NotPrimary. None:
    MgmtdClient::RoutingInfoNotReady(6004), which callers retry (as during a
    lease takeover, mgmtd.py)."""

    def __init__(self, addresses, origin):
        self.addrs = [(ip, port) for _, ip, port in parse_address_list(addresses, origin)]

    def call(self, op, timeout=10.0, **args):
        args["op"] = op
        errors = []
        for a in self.addrs:
            try:
                reply = rpc(a, args, timeout=timeout)
            except RpcError as e:
                errors.append(str(e))
                continue
            if not reply.get("ok") and reply.get("code") == NOT_PRIMARY:
                # a standby (src/client/mgmtd/MgmtdClient.cc trySwitchProbeTarget
                # goes to the primary it names or probes the others): the next one
                errors.append(f"{a[0]}:{a[1]}: Mgmtd::NotPrimary(5000) "
                              f"{reply.get('msg') or 'no primary known'}")
                continue
            if not reply.get("ok"):
                raise Fail(reply.get("msg", "mgmtd error"), reply.get("code", 1),
                           reply.get("name", "StatusCode::Unknown"))
            return reply
        raise Fail("cannot reach any mgmtd (" + "; ".join(errors) + ")",
                   6004, "MgmtdClient::RoutingInfoNotReady")
