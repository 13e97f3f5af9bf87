"""Stand-in fdbcli: `configure [new] <redundancy> <engine>` and `status [minimal|json]`."""
import json
import os
import sys
import time

from .common import Fail, RpcError, parse_cluster_text, rpc
from .fdbserver import ENGINES, REPLICAS

UNAVAILABLE = "The database is unavailable; type `status' for more information."


def usage():
    print("Usage: fdbcli [-C CLUSTER_FILE] [--exec CMDS] [--timeout N]", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opts = {"cluster": os.environ.get("FDB_CLUSTER_FILE", "/etc/foundationdb/fdb.cluster"),
            "exec": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-C", "--cluster-file", "--cluster_file") and i + 1 < len(argv):
            opts["cluster"], i = argv[i + 1], i + 2
        elif a == "--exec" and i + 1 < len(argv):
            opts["exec"], i = argv[i + 1], i + 2
        elif a == "--timeout" and i + 1 < len(argv):
            i += 2
        elif a.startswith("--exec="):
            opts["exec"], i = a[7:], i + 1
        elif a in ("--no-status", "--log"):
            i += 1
        else:
            usage()
    return opts


def request(coords, req):
    last = "no coordinators"
    for c in coords:
        try:
            return rpc(c, req, timeout=5.0)
        except RpcError as e:
            last = str(e)
    return {"ok": False, "name": "FDB::Unavailable", "msg": f"cannot reach coordinators: {last}"}


def cmd_configure(coords, words):
    new = "new" in words
    rest = [w for w in words if w != "new"]
    redundancy = next((w for w in rest if w in REPLICAS), None)
    engine = next((w for w in rest if w in ENGINES), None)
    unknown = [w for w in rest if w not in REPLICAS and w not in ENGINES]
    if unknown or redundancy is None or engine is None:
        print(f"ERROR: Unknown or incomplete configuration: {' '.join(words) or '(none)'}")
        return 1
    reply = request(coords, {"op": "configure", "new": new, "redundancy": redundancy,
                             "engine": engine})
    if reply.get("ok"):
        print("Database created" if new else "Configuration changed")
        return 0
    print(f"ERROR: {reply.get('msg')}")
    return 1


# `configure ssd` / `memory` select FoundationDB's second versions of those
# engines, and status reports them so (DatabaseConfiguration::toJSON).
ENGINE_NAMES = {"ssd": "ssd-2", "memory": "memory-2"}


def coordinator_states(coords):
    """Each coordinator asked directly (not forwarded to the leader)."""
    out = []
    for c in coords:
        try:
            up = rpc(c, {"op": "ping", "local": True}, timeout=1.0).get("ok", False)
        except RpcError:
            up = False
        out.append({"address": f"{c[0]}:{c[1]}", "reachable": bool(up)})
    return out


def status_json(coords, cluster_path):
    """The fields of real `status json` (fdbclient/Schemas.cpp) that tools
    read: client.database_status, client.coordinators, client.messages,
    cluster.configuration.{redundancy_mode,storage_engine,coordinators_count}
    and cluster.messages; nothing else is modelled."""
    states = coordinator_states(coords)
    quorum = sum(s["reachable"] for s in states) > len(states) // 2
    client = {"cluster_file": {"path": cluster_path, "up_to_date": True},
              "coordinators": {"coordinators": states, "quorum_reachable": quorum},
              "database_status": {"available": False, "healthy": False},
              "messages": [], "timestamp": int(time.time())}
    doc = {"client": client}
    if not quorum:
        client["messages"].append({"name": "quorum_not_reachable",
                                   "description": "Unable to reach a quorum of coordinators."})
        return doc
    reply = request(coords, {"op": "status"})
    conf = reply.get("configuration")
    if reply.get("ok") and reply.get("available") and conf:
        client["database_status"] = {"available": True, "healthy": True}
        doc["cluster"] = {"configuration": {
            "redundancy_mode": conf["redundancy"],
            "storage_engine": ENGINE_NAMES.get(conf["engine"], conf["engine"]),
            "coordinators_count": len(coords)}, "messages": []}
    else:
        client["messages"].append({"name": "status_incomplete",
                                   "description": "Unable to retrieve all status information."})
        doc["cluster"] = {"messages": [{"name": "unreadable_configuration",
                                        "description": reply.get("reason") or reply.get("msg")
                                        or "Unable to read database configuration."}]}
    return doc


def cmd_status(coords, words, cluster_path):
    if words[:1] == ["json"]:
        print(json.dumps(status_json(coords, cluster_path), indent=2, sort_keys=True))
        return 0
    reply = request(coords, {"op": "status"})
    if not reply.get("ok") or not reply.get("available"):
        print(UNAVAILABLE)
        if words[:1] != ["minimal"]:
            print(f"  reason: {reply.get('reason') or reply.get('msg')}")
        return 0
    print("The database is available.")
    if words[:1] != ["minimal"]:
        conf = reply["configuration"]
        print(f"\nConfiguration:\n  Redundancy mode        - {conf['redundancy']}\n"
              f"  Storage engine         - {conf['engine']}\n"
              f"  Coordinators           - {len(coords)}\n"
              f"  Reachable processes    - {reply['processes']}")
    return 0


def run_line(coords, line, cluster_path):
    words = line.split()
    if not words:
        return 0
    if words[0] == "configure":
        return cmd_configure(coords, words[1:])
    if words[0] == "status":
        return cmd_status(coords, words[1:], cluster_path)
    if words[0] in ("exit", "quit"):
        return 0
    print(f"ERROR: Unknown command `{words[0]}'. Try `help'?")
    return 1


def main():
    opts = parse_args(sys.argv[1:])
    try:
        with open(opts["cluster"], encoding="utf-8") as f:
            coords = parse_cluster_text(f.read(), opts["cluster"])
    except (OSError, Fail) as e:
        print(f"ERROR: Unable to read cluster file `{opts['cluster']}': "
              f"{getattr(e, 'msg', None) or e}")
        sys.exit(1)
    lines = opts["exec"].split(";") if opts["exec"] is not None else sys.stdin
    rc = 0
    for line in lines:
        rc = run_line(coords, line.strip(), opts["cluster"]) or rc
    sys.exit(rc)
