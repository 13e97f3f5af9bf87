/* status: what runs in a 3FS cluster and what is wrong with it, for
 * `m3fs cluster status` and `m3fs cluster doctor` (docs/status.md).
 *
 * Gathering.  st_gather() runs templates/m3fs-facts.sh once on every node
 * (one SSH round, all nodes at once over the worker pool): each node reports
 * its containers of this cluster (Docker Engine API inspect documents through
 * curl, else docker inspect), the FUSE mount, storage target paths,
 * limits, fs.aio-max-nr, CPU flags, RDMA links, the NIC of its 3FS address
 * and its token files.  The same run carries the cluster probes on the first
 * node of their service: admin_cli list-nodes / list-chains / list-targets
 * (through <workDir>/admin_cli.sh on a mgmtd node), fdbcli `status json` and
 * ClickHouse `SELECT 1`.  A probe whose node is unreachable or whose
 * container is not running there is retried on the service's next node
 * whose container runs.  Probes are rows of one table (probes.c).
 *
 * Judging.  Every check is a row of one table (checks.c): name, what it
 * reads, how it judges, the cause and the fix.  st_judge() runs them over a
 * report; status uses the checks marked for it, doctor all of them.
 *
 * Layer: uses core, config, remote and admincli (admin_cli's table reader,
 * admincli.h); used by the cmd layer only.
 *
 * Ownership: st_report_init()/st_report_release() own everything inside a
 * report (strings, arrays); a report borrows the config it was made for,
 * which must outlive it.  Parsers fill caller-owned structs that are
 * released with their _release function; _free functions free the struct
 * itself too.  Every parser takes untrusted text (remote output) and
 * never trusts a length, a count or a number in it. */
#ifndef M3FS_STATUS_H
#define M3FS_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/config.h"
#include "m3fs/remote.h"
#include "m3fs/strbuf.h"

/* status and doctor connect with this timeout (seconds) unless
 * M3FS_CONNECT_TIMEOUT says otherwise: an unreachable node costs little. */
#define ST_CONNECT_TIMEOUT_S 3

/* ---- facts of one node (templates/m3fs-facts.sh) ----------------------- */

struct st_ctr {
    char *name;
    char *state;      /* docker's State.Status (running, exited, restarting, ...) or "missing" */
    long restarts;    /* RestartCount (restarts by the restart policy) */
    char *started_at; /* State.StartedAt, RFC 3339, or NULL */
    int64_t started;  /* the same as Unix seconds, 0 when unknown */
    char *image;      /* Config.Image: the reference it was started from */
    char *nofile, *memlock; /* soft limits of its main process ("unlimited", a number), or NULL */
};

struct st_fuse {
    char *mountpoint;
    int mounted;      /* a fuse.hf3fs mount is there */
    char *answer;     /* "ok", "stale", "timeout" or "-" (not mounted) */
    char *detail;     /* the stat's error, or "" */
};

struct st_tpath {
    long index;       /* data<index> */
    char *path;       /* <base>/data<index>/3fs */
    int exists;       /* the path is a directory */
    int mount_point;  /* <base>/data<index> is a mount point */
    int64_t size_kb, used_kb, avail_kb; /* df of the path; -1 unknown */
};

struct st_rdma {
    char *dev, *state, *netdev; /* netdev "-" when unknown */
    long port;
};

struct st_token {
    char *path;
    long mode;        /* permission bits, -1 missing */
};

struct st_probe_out {
    char *name;
    int ran;          /* 0: the container was not running there */
    int rc;           /* exit status when ran */
    struct strbuf out, err; /* its standard output and error */
};

struct st_facts {
    int version;
    double t0, t1;    /* the node's clock at the start and end of the script (Unix s), 0 unknown */
    char *host, *machine;
    char *docker_error;            /* docker did not answer, or NULL */
    struct st_ctr *ctr; size_t n_ctr;
    struct st_fuse *fuse; size_t n_fuse;
    struct st_tpath *tp; size_t n_tp;
    long long aio_nr, aio_max;     /* -1 unknown */
    int avx512f, avx2;             /* -1 unknown */
    char *rdma_tool;               /* "rdma", "ibv_devinfo", "none", or NULL (not asked) */
    struct st_rdma *rdma; size_t n_rdma;
    char *nic_addr, *nic, *nic_state; /* nic "-" when no NIC holds the address */
    char *tz_ctr;                  /* the container whose UTC offset was asked, or NULL */
    long tz_offset_s;              /* its local time's offset from UTC */
    struct st_token *tok; size_t n_tok;
    struct st_probe_out *probe; size_t n_probe;
    size_t n_ctr_alloc_, n_fuse_alloc_, n_tp_alloc_, n_rdma_alloc_, n_tok_alloc_,
        n_probe_alloc_; /* internal */
};

/* Parse the script's output.  Lines with an unknown first field are
 * skipped (a newer script); a known line with a bad field is an error.
 * Returns 0, or -1 with the line number and what was wrong in err (f then
 * holds what was read before it). */
int st_parse_facts(const char *text, size_t len, struct st_facts *f, struct strbuf *err);
void st_facts_release(struct st_facts *f);
const struct st_ctr *st_facts_ctr(const struct st_facts *f, const char *name);
const struct st_probe_out *st_facts_probe(const struct st_facts *f, const char *name);

/* ---- admin_cli's lists (tables read with admincli.h) ------------------- */

/* list-nodes (upstream src/client/cli/admin/ListNodes.cc). */
struct st_mnode {
    long id;
    char *type, *status, *hostname, *last_hb; /* last_hb "N/A" when none */
    int64_t hb_age_s; /* seconds since the last heartbeat, -1 unknown */
};
/* list-targets (ListTargets.cc). */
struct st_target {
    long long id;
    long chain, node_id, disk; /* node_id/disk -1 for N/A */
    char *role, *pub, *local;
};
/* list-chains (ListChains.cc): Status is SERVING, SYNCING, UNAVAILABLE or
 * SERVING(n/m); each Target cell is "<id>(<public>-<local>)". */
struct st_chain {
    long long id;
    char *status;
    struct strvec targets;
};
struct st_mgmtd {
    struct st_mnode *nodes; size_t n_nodes;
    struct st_target *targets; size_t n_targets;
    struct st_chain *chains; size_t n_chains;
    size_t n_nodes_alloc_, n_targets_alloc_, n_chains_alloc_; /* internal */
};
/* Each returns 0, or -1 with why in err (output that is an admin_cli error
 * "Encounter error: ..." or lacks a needed column).  now_utc and tz_offset_s
 * turn the node's local LastHeartbeatTime into an age (upstream UtcTime's
 * formatter prints local time, src/common/utils/UtcTime.h). */
int st_parse_list_nodes(const char *text, int64_t now_utc, long tz_offset_s, struct st_mgmtd *m,
                        struct strbuf *err);
int st_parse_list_targets(const char *text, struct st_mgmtd *m, struct strbuf *err);
int st_parse_list_chains(const char *text, struct st_mgmtd *m, struct strbuf *err);
/* The output of one admin_cli "list-nodes; list-targets; list-chains":
 * admin_cli runs ';'-joined commands in turn and prints each one's table or
 * error (upstream src/client/cli/common/Dispatcher.cc).  Cut it into the
 * three outputs by their header lines; a command that failed has its
 * "Encounter error" lines.  parts[] are caller-initialised strbufs. */
enum { ST_LIST_NODES, ST_LIST_TARGETS, ST_LIST_CHAINS, ST_LISTS };
#define ST_ADMIN_LISTS "list-nodes; list-targets; list-chains"
void st_split_admin_lists(const char *text, struct strbuf parts[ST_LISTS]);
void st_mgmtd_release(struct st_mgmtd *m);
/* "+0800" -> 28800; returns 0, or -1 when s is no such offset. */
int st_parse_tz(const char *s, long *offset_s);

/* ---- fdbcli `status json` (the fields read; FoundationDB's status schema) */
struct st_coord {
    char *address;
    int reachable;
};
struct st_fdb {
    int available;     /* client.database_status.available */
    int healthy;       /* client.database_status.healthy, -1 unknown */
    int quorum;        /* client.coordinators.quorum_reachable, -1 unknown */
    char *redundancy;  /* cluster.configuration.redundancy_mode, or NULL */
    char *engine;      /* cluster.configuration.storage_engine, or NULL */
    struct st_coord *coords; size_t n_coords;
    struct strvec messages; /* client.messages[].description, cluster.messages[].description */
};
int st_parse_fdb_status(const char *json, size_t len, struct st_fdb *f, struct strbuf *err);
void st_fdb_release(struct st_fdb *f);

/* ---- the report ------------------------------------------------------- */

/* A cluster probe's result: where it ran and, when it did not work, why. */
struct st_where {
    long node;         /* index into cfg->nodes, -1 when it ran nowhere */
    char *error;       /* NULL when it worked */
};

struct st_node {
    int reachable;     /* the facts were read */
    char *error;       /* why not (connection, script), or NULL */
    struct st_facts facts;
    double offset_s, offset_err_s; /* node clock - this machine's, and its uncertainty */
};

struct st_report {
    const struct m3fs_config *cfg; /* borrowed */
    int64_t when;                  /* this machine's clock at the start (Unix s) */
    struct st_node *nodes;         /* one per cfg->nodes */
    struct st_where mgmtd, fdb, clickhouse;
    struct st_mgmtd m;
    long tz_offset_s;              /* of the mgmtd container list-nodes ran in */
    struct st_fdb fdb_status;
};

void st_report_init(struct st_report *r, const struct m3fs_config *cfg);
void st_report_release(struct st_report *r);

/* Gather a report: one round on every node (at most `parallel` at once),
 * then probes that found no running container retried elsewhere.  Nodes
 * that cannot be reached are recorded, never fatal. */
void st_gather(struct st_report *r, const struct remote_opts *ro, long parallel);

/* The expected containers of a node, in role order: roles[i] and the
 * container name (borrowed from cfg).  ClickHouse and the monitor run on
 * their first node only.  Returns the count (at most SVC_COUNT). */
size_t st_node_roles(const struct m3fs_config *cfg, size_t node, enum svc_kind roles[SVC_COUNT]);
/* The image a role's container should run (config_image_ref); caller frees. */
char *st_role_image(const struct m3fs_config *cfg, enum svc_kind k);
/* Seconds a container has been up at the report's time, -1 unknown. */
int64_t st_ctr_uptime(const struct st_report *r, size_t node, const struct st_ctr *c);

/* ---- checks ----------------------------------------------------------- */

enum st_severity { ST_SEV_WARN, ST_SEV_DEGRADED, ST_SEV_DOWN };

struct st_finding {
    const char *check;  /* the check's name (static) */
    enum st_severity sev;
    long node;          /* index into cfg->nodes, -1 for the cluster */
    char *what;         /* this case, e.g. "storage on lab-n2 is exited" */
    char *fix;          /* a fix for this case, or NULL: the check's */
};

struct st_findings {
    struct st_finding *v;
    size_t n, alloc;
};
void st_findings_release(struct st_findings *fs);

#define ST_IN_STATUS 0x1 /* judged by `cluster status` too */

struct st_check {
    const char *name;
    const char *reads;  /* what it reads (for docs and --help) */
    unsigned flags;
    void (*judge)(const struct st_report *r, struct st_findings *out);
    const char *cause;  /* why this goes wrong */
    const char *fix;    /* what to do */
};
/* The check table, ended by a row with name NULL. */
extern const struct st_check st_checks[];

/* Run the checks whose flags include `need` (0: every check) in table
 * order, appending their findings. */
void st_judge(const struct st_report *r, unsigned need, struct st_findings *out);
/* The check of that name, or NULL. */
const struct st_check *st_check_find(const char *name);

/* healthy: no finding of status's checks; down: one says the cluster cannot
 * serve (ST_SEV_DOWN); degraded: anything else. */
enum st_health { ST_H_HEALTHY, ST_H_DEGRADED, ST_H_DOWN };
enum st_health st_health_of(const struct st_findings *fs);
const char *st_health_name(enum st_health h);

/* ---- output ----------------------------------------------------------- */

/* The status view: the header line, the node/role table, the mgmtd,
 * fdb, ClickHouse, FUSE and storage-path sections, then the problems.
 * color: ANSI colours. */
void st_render_text(const struct st_report *r, const struct st_findings *fs, int color,
                    struct strbuf *out);
/* The header line alone: "cluster NAME: healthy" / "degraded (...)" / "down (...)". */
void st_render_header(const struct st_report *r, const struct st_findings *fs, struct strbuf *out);
/* The JSON document of docs/status.md (schema "m3fs.status/1"). */
void st_render_json(const struct st_report *r, const struct st_findings *fs, struct strbuf *out);
/* Doctor: every check run, each with its findings (cause and fix) or ok. */
void st_render_doctor(const struct st_report *r, const struct st_findings *fs, unsigned ran,
                      int color, struct strbuf *out);

#endif
