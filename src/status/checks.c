/* status/checks.c: the check table of `cluster status` and `cluster
 * doctor`.  Each row names a known failure: what it reads, the judge that
 * finds it in a report (checks-node.c, checks-net.c, checks-cluster.c), why
 * it happens and what fixes it.  A new failure mode is one row (and its
 * judge).  docs/status.md lists the rows. */
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

const struct st_check st_checks[] = {
    { "node-reachable", "SSH", ST_IN_STATUS, st_judge_reachable,
      "the node is down, its sshd stopped, the network to it is cut, or the login failed",
      "check the node (`ssh USER@HOST`); start sshd; the message above says which step failed" },
    { "docker", "m3fs-facts: docker inspect", ST_IN_STATUS, st_judge_docker,
      "dockerd is not running on the node, so none of its containers run",
      "start it (`systemctl start docker`); the containers restart by their policy" },
    { "container-running", "m3fs-facts: docker inspect", ST_IN_STATUS, st_judge_containers,
      "the container was stopped, or removed, or never created",
      "`m3fs cluster create -c FILE` starts what is missing and changes nothing else "
      "(or `docker start NAME` on the node)" },
    { "container-crash-loop", "m3fs-facts: docker inspect", ST_IN_STATUS, st_judge_crash,
      "the service exits soon after each start and docker restarts it: a refused config, a "
      "missing disk, device or mount, or an unreachable dependency",
      "read the container's last lines (`docker logs --tail 50 NAME`) and its log in "
      "<workDir>/<service>/log/" },
    { "mgmtd", "admin_cli list-nodes", ST_IN_STATUS, st_judge_mgmtd,
      "no mgmtd holds the primary lease, or none answers: its containers are down or "
      "FoundationDB is unavailable (mgmtd keeps its lease there)",
      "check the mgmtd containers and FoundationDB above, and `docker logs` of a mgmtd "
      "container" },
    { "heartbeat", "admin_cli list-nodes", ST_IN_STATUS, st_judge_heartbeats,
      "the service stopped sending heartbeats (it stopped, hangs or cannot reach mgmtd); mgmtd "
      "marks it HEARTBEAT_FAILED after 60 s without one",
      "check its container on that node (status above) and its log in "
      "<workDir>/<service>/log/" },
    { "chains", "admin_cli list-chains", ST_IN_STATUS, st_judge_chains,
      "targets of the chain are not SERVING: their storage service is down or its disk is "
      "missing; a chain with no serving target cannot be read",
      "bring the storage nodes named above back; targets come back SERVING once their storage "
      "service heartbeats again" },
    { "fuse-mount", "m3fs-facts: /proc/mounts, stat with a 2 s timeout", ST_IN_STATUS,
      st_judge_fuse,
      "the FUSE daemon (hf3fs_fuse_main) died or hangs: the kernel keeps a stale mount "
      "(\"Transport endpoint is not connected\") until it is unmounted",
      "on that node: `umount -l MOUNTPOINT`, then `docker restart` the client container (or `m3fs "
      "cluster create -c FILE`)" },
    { "target-path", "m3fs-facts: target paths, /proc/self/mountinfo", ST_IN_STATUS,
      st_judge_target_paths,
      "the disk of a storage target path is not mounted (not remounted after a reboot) or the "
      "directory is gone: storage finds no targets there, or would write to the root file "
      "system",
      "mount the disk again (diskType nvme: `mount -a`; m3fs-disks mounts by label through "
      "/etc/fstab), then `docker restart` the storage container" },
    { "fdb", "fdbcli status json", ST_IN_STATUS, st_judge_fdb,
      "FoundationDB is down or has lost its coordinators' quorum; mgmtd and meta keep their "
      "state there and stop working without it",
      "start the fdb containers (`docker start`), check `fdbcli --exec status` inside one" },
    { "clickhouse", "clickhouse-client SELECT 1", ST_IN_STATUS, st_judge_clickhouse,
      "ClickHouse is down or refuses the login: the monitor collector cannot store metrics",
      "start its container (`docker start`) and read its `docker logs`" },
    { "image", "m3fs-facts: docker inspect", 0, st_judge_images,
      "a container runs another image than cluster.yml names (images changed after create, or "
      "a container replaced by hand)",
      "`m3fs cluster prepare` loads the configured images, `m3fs cluster create` replaces the "
      "containers" },
    { "limits", "m3fs-facts: /proc/PID/limits", 0, st_judge_limits,
      "the container's open-files or locked-memory limit is below what 3FS needs (upstream "
      "units: LimitNOFILE=1000000, storage LimitMEMLOCK=infinity)",
      "recreate the container with `--ulimit nofile=1048576:1048576 --ulimit memlock=-1:-1` "
      "(`m3fs cluster create` does), and allow it in the docker daemon's limits" },
    { "aio-max-nr", "m3fs-facts: /proc/sys/fs/aio-max-nr", 0, st_judge_aio,
      "storage submits more asynchronous I/O than fs.aio-max-nr allows (upstream "
      "deploy/README.md sets 67108864)",
      "`sysctl -w fs.aio-max-nr=67108864` and persist it in /etc/sysctl.d (`m3fs cluster "
      "prepare` does unless networkType is TCP)" },
    { "disk-space", "m3fs-facts: df of each target path", 0, st_judge_space,
      "a storage target path's file system is at least 90% full: writes fail when it is full",
      "add disks or storage nodes, or remove data" },
    { "cpu-avx512", "m3fs-facts: /proc/cpuinfo", 0, st_judge_cpu,
      "the open3fs 3fs images are built for AVX-512 unless their tag ends in -avx2: on another "
      "CPU the services die with SIGILL (Illegal instruction)",
      "use the -avx2 image tag" },
    { "rdma", "m3fs-facts: rdma link / ibv_devinfo", 0, st_judge_rdma,
      "an RDMA port is down or missing: after a reboot RXE links exist only when the boot "
      "unit recreates them; a cable or switch port is down",
      "`m3fs cluster prepare -c FILE` recreates RXE links and enables m3fs-network.service; "
      "check `rdma link` on the node" },
    { "nic", "m3fs-facts: ip -4 addr", 0, st_judge_nic,
      "3FS listens only on NICs that are up and named en*, eth*, bond*, xgbe* (ib* for IPoIB) "
      "and listed in listenNics when set (upstream src/common/net/Listener.cc): the node's "
      "address must be on one, or the service does not start",
      "give the node an address on such a NIC (rename it with a udev/systemd link file) and "
      "set the node's address in cluster.yml" },
    { "clock-skew", "m3fs-facts: date, timed from here", 0, st_judge_clock,
      "the node's clock differs from mgmtd's; beyond 30 s mgmtd refuses its heartbeats "
      "(\"Too much timestamp deviation\", upstream src/mgmtd/ops/HeartbeatOperation.cc)",
      "keep every node's clock in sync (chrony or systemd-timesyncd)" },
    { "token-file", "m3fs-facts: stat of token.txt", 0, st_judge_tokens,
      "the token file holds the cluster's root token: it must exist for admin_cli and the FUSE "
      "client and be readable by root alone",
      "`m3fs cluster create -c FILE` writes it again (mode 0600)" },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

void st_add(struct st_findings *out, const char *check, enum st_severity sev, long node,
            char *what, char *fix)
{
    ALLOC_GROW(out->v, out->n, out->alloc);
    out->v[out->n++] = (struct st_finding){ check, sev, node, what, fix };
}

void st_findings_release(struct st_findings *fs)
{
    for (size_t i = 0; i < fs->n; i++) free(fs->v[i].what), free(fs->v[i].fix);
    free(fs->v);
    memset(fs, 0, sizeof(*fs));
}

void st_judge(const struct st_report *r, unsigned need, struct st_findings *out)
{
    for (const struct st_check *c = st_checks; c->name; c++)
        if (!need || (c->flags & need)) c->judge(r, out);
}

const struct st_check *st_check_find(const char *name)
{
    for (const struct st_check *c = st_checks; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

enum st_health st_health_of(const struct st_findings *fs)
{
    enum st_health h = ST_H_HEALTHY;
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->v[i].sev == ST_SEV_DOWN) return ST_H_DOWN;
        h = ST_H_DEGRADED;
    }
    return h;
}

const char *st_health_name(enum st_health h)
{
    return h == ST_H_HEALTHY ? "healthy" : h == ST_H_DEGRADED ? "degraded" : "down";
}
