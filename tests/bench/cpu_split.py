#!/usr/bin/env python3
"""Where this machine's CPU time went during a benchmarked command.

  cpu_split.py snap FILE        write a snapshot (JSON) of every process's CPU
  cpu_split.py diff A B [WALL [M3FS_CPU]]
                                print the split between two snapshots (WALL:
                                the run's seconds; M3FS_CPU: m3fs's own CPU
                                seconds, from its trace or getrusage, since
                                m3fs has exited by the second snapshot)
  cpu_split.py sum A B [lab]    print one number: the machine's busy CPU
                                seconds between two snapshots, or with
                                `lab` the lab's processes' (every node's
                                sshd, docker and stand-ins, and the rest
                                in a node's namespace)

The lab (scripts/lab.sh) runs the deploying machine, every node's sshd and
dockerd and the stand-ins on this machine's CPUs, so a lab run can be
bound by work that real nodes each do on their own CPUs.  The split says
whose it was.  A process's time is its own plus that of the children it
reaped (/proc/PID/stat utime, stime, cutime, cstime), so the commands m3fs
runs over SSH (docker CLI, sh, sha256sum) count under the node's sshd, and
runc under containerd-shim.  Processes that started and ended between the
two snapshots count under their surviving ancestor; one that was there at
the first and gone at the second is counted (once more) in its parent.
The total is /proc/stat's busy time (every CPU, all but idle and iowait);
what the lab's processes (those in a node's network namespace) and m3fs did
not use of it is "outside the lab": the kernel's own work and any other
program on this machine.
"""
import json
import os
import sys

HZ = os.sysconf("SC_CLK_TCK")
STANDINS = {"mgmtd_main", "meta_main", "storage_main", "monitor_collect", "hf3fs_fuse_main",
            "admin_cli", "fdbserver", "fdbcli", "clickhouse-serv", "clickhouse-clie"}


OUTSIDE = "outside the lab (other work on this machine)"


def group(name, lab):
    if name == "m3fs":
        return "m3fs"
    if not lab:
        return OUTSIDE
    if name in STANDINS:
        return "stand-ins (3FS, fdb, ClickHouse)"
    if name.startswith("containerd") or name in ("dockerd", "runc", "docker-proxy", "docker-init"):
        return "docker (dockerd, containerd, shims)"
    if name == "sshd" or name.startswith("sshd"):
        return "sshd + what runs over SSH"
    return "the lab's nodes, other"


def busy():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / HZ


def snap():
    procs, root = {}, os.readlink("/proc/self/ns/net")
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            s = open(f"/proc/{p}/stat").read()
            lab = os.readlink(f"/proc/{p}/ns/net") != root  # a lab node's namespace
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        procs[p] = [name, int(f[19]), sum(int(x) for x in f[11:15]) / HZ, lab]  # starttime, cpu
    return {"busy": busy(), "procs": procs}


def diff(a, b):
    out = {}
    for pid, (name, start, cpu, lab) in b["procs"].items():
        old = a["procs"].get(pid)
        base = old[2] if old and old[1] == start else 0.0
        g = group(name, lab)
        out[g] = out.get(g, 0.0) + max(0.0, cpu - base)
    total = b["busy"] - a["busy"]
    out[OUTSIDE] = max(0.0, total - sum(v for k, v in out.items() if k != OUTSIDE))
    return total, out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snap":
        json.dump(snap(), open(sys.argv[2], "w"))
        return 0
    if len(sys.argv) in (4, 5, 6) and sys.argv[1] == "diff":
        total, parts = diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))
        wall = float(sys.argv[4]) if len(sys.argv) >= 5 else 0
        if len(sys.argv) == 6:
            parts["m3fs"] = parts.get("m3fs", 0.0) + float(sys.argv[5])
            parts[OUTSIDE] = max(0.0, parts[OUTSIDE] - float(sys.argv[5]))
        cpus = os.cpu_count()
        head = f"machine CPU busy {total:.1f} CPU-s"
        if wall > 0:
            head += (f" in {wall:.1f} s on {cpus} CPUs ({100 * total / wall / cpus:.0f} % busy;"
                     f" the least wall time this work allows here: {total / cpus:.1f} s)")
        print(head)
        for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {k:38} {v:7.1f} CPU-s {100 * v / total if total else 0:5.1f} %")
        return 0
    if len(sys.argv) in (4, 5) and sys.argv[1] == "sum" and sys.argv[4:] in ([], ["lab"]):
        total, parts = diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))
        if len(sys.argv) == 5:
            total = sum(v for k, v in parts.items() if k not in ("m3fs", OUTSIDE))
        print(f"{total:.2f}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
