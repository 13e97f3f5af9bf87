/* deploy: the 3FS services of `cluster create` / `destroy` (src/services/).
 *
 * src/services/registry.c is the one place that lists the services: the
 * order their modules add steps to a create or destroy plan and which
 * service's lane waits for which (a struct svc_dep table for plan_link()).
 * A new 3FS service is a module in src/services/ plus its lines there;
 * src/plan/ is the engine and knows no service.
 *
 * Ownership: struct plan_ctx borrows the config and the state;
 * plan_ctx_release() frees what plan_ctx_init() computed. */
#ifndef M3FS_DEPLOY_H
#define M3FS_DEPLOY_H

#include "m3fs/config.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"

struct ct_table;
struct upgrade_facts;
struct disk_list;
struct remote_ctx;

struct plan_ctx {
    const struct m3fs_config *cfg;
    struct m3fs_state *st;
    const struct strvec *disk_consent; /* borrowed: "NODE:DEV" nvme disks consented to be
                                        * formatted (include/m3fs/disks.h), or NULL */
    int destroy_all;        /* destroy --all */
    /* computed by plan_ctx_init() */
    int tcp;                /* networkType TCP */
    char *mgmtd_addrs;      /* TOML array literal of all mgmtd addresses */
    char *monitor_addr;     /* "ip:port" of the first monitor node */
    char *fdb_cluster;      /* full fdb.cluster line */
    const char *ch_password; /* ClickHouse password: cluster.yml's when it sets
                              * one, else the state file's minted one (borrowed) */
    char *image[IMG_COUNT]; /* image references, registry applied */
    struct ct_table *ct;    /* chain table (create only) */
    /* a cluster add/remove-storage-nodes changed (include/m3fs/scale.h,
     * src/cmd/drained.h), set after plan_ctx_init(): keep_table (create,
     * SC_CREATE_KEEP) leaves out the chain files, create-target and upload
     * steps (the cluster's table stays); storage_skip (borrowed, per
     * cfg->nodes, may be NULL): 1 = a drained storage node, whose storage
     * steps and waits create, stop, start and upgrade leave out (svc_runs);
     * half_moved (start, an unfinished plan): no SERVING-UPTODATE wait */
    int keep_table;
    const unsigned char *storage_skip;
    int half_moved;
    struct strbuf err;      /* why building failed */
    /* stop / start / restart: what takes part, set after plan_ctx_init()
     * (which clears them); 0 / NULL: every service / node.  only_nodes
     * also limits create's per-node steps (add-client) and names the nodes
     * of delete-client's steps */
    unsigned only_roles;              /* bits 1u << enum svc_kind */
    const unsigned char *only_nodes;  /* borrowed; per cfg->nodes: 1 = selected */
    /* upgrade: what runs now, read from the nodes (borrowed; NULL: nothing
     * known: every 3FS unit in cluster.yml order, fdb and ClickHouse not) */
    const struct upgrade_facts *up;
};

/* Compute the shared values; for create also the chain table.  Returns 0,
 * or -1 with the reason in ctx->err. */
int plan_ctx_init(struct plan_ctx *ctx, const struct m3fs_config *cfg, struct m3fs_state *st,
                  int for_create);
void plan_ctx_release(struct plan_ctx *ctx);

/* The whole create / destroy plan.  0, or -1 with the reason in ctx->err. */
int plan_build_create(struct plan_ctx *ctx, struct plan *p);
int plan_build_destroy(struct plan_ctx *ctx, struct plan *p);
/* diskType nvme: ask every storage node (in parallel, read-only) which
 * disks create would format (templates/m3fs-disks.sh list) and append them
 * to l.  0, or -1 with each node's problem on its own line in err. */
int svc_storage_disk_list(struct plan_ctx *ctx, struct remote_ctx *rc, long parallel,
                          struct disk_list *l, struct strbuf *err);
/* Stop or start the containers of a created cluster (docs/lifecycle.md),
 * the services and nodes of ctx->only_roles / only_nodes, in dependency
 * order: stop clients first and fdb last; start the reverse with create's
 * waits.  Appended to p (restart: stop, then start).  0, or -1 with the
 * reason in ctx->err. */
/* remove-storage-nodes --clear-disks (docs/scale.md): destroy's storage
 * steps (its workDir check; the storage container removed; the data
 * cleared by templates/m3fs-disks.sh clear: dir deleted, nvme unmounted, its
 * fstab lines dropped, wiped only the disks m3fs formatted; <workDir>/storage
 * deleted) on the nodes with clear[node] != 0 (per cfg->nodes) only.
 * Appended to p.  0, or -1 with the reason in ctx->err. */
int plan_build_clear_storage(struct plan_ctx *ctx, const unsigned char *clear, struct plan *p);
int plan_build_stop(struct plan_ctx *ctx, struct plan *p);
int plan_build_start(struct plan_ctx *ctx, struct plan *p);

/* cluster upgrade (docs/lifecycle.md): the containers moved to the images
 * ctx->image[] one unit (one service on one node) at a time: fdb (each
 * node, then the wait until the database is available) and ClickHouse (then
 * SELECT 1) only when ctx->up shows them on another image; the monitor;
 * mgmtd, the standbys first and the primary (ctx->up->primary) last; meta;
 * storage; the FUSE clients; each in the order of its node list, each
 * followed by the wait that says 3FS took it back (the primary mgmtd;
 * HEARTBEAT_CONNECTED; for storage also every target SERVING-UPTODATE; the
 * mount).  First a check that each new image is on every node that runs
 * it.  Unit i's last step records upgrade_unit_key(i) = image in the state
 * file (a resumed run skips it). */

/* The image label m3fs reads for contract B15 (an m3fs convention: no
 * upstream image sets one; its values are upstream's SHUFFLE_METHOD build
 * option, CMakeLists.txt since deepseek-ai/3FS #369: g++10, g++11,
 * stdshuffle). */
#define UPGRADE_SHUFFLE_LABEL "m3fs.shuffle-method"

/* What runs on the nodes before the upgrade (upgrade_probe_cmd's output,
 * upgrade_probe_parse; the primary from list-nodes).  Strings owned. */
struct upgrade_facts {
    size_t n_nodes;
    char **image;       /* [k * n_nodes + node]: the image of service k's
                         * container there; NULL: no container seen */
    char **shuffle;     /* same index: its UPGRADE_SHUFFLE_LABEL; NULL none */
    int new_seen;       /* the new 3FS image was found on a node */
    char *new_shuffle;  /* its label; NULL: none */
    long primary;       /* node index of the primary mgmtd, -1 unknown */
};
void upgrade_facts_init(struct upgrade_facts *f, size_t n_nodes);
void upgrade_facts_release(struct upgrade_facts *f);
/* Record service k's container on node (image, shuffle may be NULL). */
void upgrade_facts_set(struct upgrade_facts *f, enum svc_kind k, size_t node,
                       const char *image, const char *shuffle);
/* 1 when node runs a container an upgrade may move (it is probed). */
int upgrade_node_has_units(const struct plan_ctx *ctx, size_t node);
/* The command that prints what node runs (templates/m3fs-life.sh images);
 * caller frees. */
char *upgrade_probe_cmd(const struct plan_ctx *ctx, size_t node);
/* Read its output into f.  0, or -1 with why in err. */
int upgrade_probe_parse(const struct plan_ctx *ctx, struct upgrade_facts *f, size_t node,
                        const char *out, struct strbuf *err);
/* The command printing admin_cli list-nodes in the mgmtd container (exit 0
 * when a PRIMARY_MGMTD is in it); caller frees. */
char *upgrade_list_nodes_cmd(struct plan_ctx *ctx);

size_t upgrade_unit_count(const struct plan_ctx *ctx);
/* "storage on n2", or NULL past the last unit; caller frees. */
char *upgrade_unit_name(const struct plan_ctx *ctx, size_t i);
/* "upgrade storage on n2"; caller frees. */
char *upgrade_unit_key(const struct plan_ctx *ctx, size_t i);
/* The image unit i is moved to (borrowed from ctx). */
const char *upgrade_unit_image(const struct plan_ctx *ctx, size_t i);
/* The image unit i ran before the upgrade: the state file's
 * "upgrade-from <unit>" (upgrade_record_from), else what ctx->up saw, else
 * NULL (borrowed). */
const char *upgrade_unit_from(const struct plan_ctx *ctx, size_t i);
/* Record in ctx->st (not saved) "upgrade-from <unit>" = the image each unit
 * runs now, for the units ctx->up sees on another image than its target:
 * a resumed run rolls back to the image of before the first run. */
void upgrade_record_from(struct plan_ctx *ctx);
/* 1 when a unit runs another image than its target (or none was seen). */
int upgrade_needed(const struct plan_ctx *ctx);
/* Contract B15: the chain-shuffle build method of the 3FS units still on
 * another image against the new image's (UPGRADE_SHUFFLE_LABEL).  Appends
 * one sentence to text.  UPGRADE_B15_CHANGED refuses without --force. */
enum { UPGRADE_B15_SAME, UPGRADE_B15_UNKNOWN, UPGRADE_B15_CHANGED };
int upgrade_b15_verdict(const struct plan_ctx *ctx, struct strbuf *text);
/* The mgmtd order in words ("primary mgmtd lab-n1 (list-nodes) last"). */
void upgrade_mgmtd_order(const struct plan_ctx *ctx, struct strbuf *text);
int plan_build_upgrade(struct plan_ctx *ctx, struct plan *p);
/* Unit i alone with image (a rollback: the old one), recorded in the
 * state file when record.  0, or -1 with the reason in ctx->err. */
int plan_build_upgrade_unit(struct plan_ctx *ctx, size_t i, const char *image, int record,
                            struct plan *p);

/* cluster add-client / delete-client (docs/lifecycle.md): what a node has
 * of the FUSE client, read before planning (templates/m3fs-client.sh
 * probe), as bits: */
enum {
    CLIENT_CTR = 1u,     /* this cluster's client container exists (label m3fs.cluster) */
    CLIENT_RUNNING = 2u, /* ... and runs */
    CLIENT_FOREIGN = 4u, /* a container of that name that is not this cluster's */
    CLIENT_MOUNTED = 8u, /* a fuse.hf3fs mount at hostMountpoint */
    CLIENT_FILES = 16u,  /* <workDir>/client exists */
};
/* The probe command for a node; caller frees. */
char *client_probe_cmd(const struct plan_ctx *ctx);
/* Its output ("probe WORD..."), into *facts.  0, or -1 with why in err. */
int client_probe_parse(const char *out, unsigned *facts, struct strbuf *err);
/* "running, mounted" etc.: facts in words ("nothing" for 0). */
void client_facts_words(unsigned facts, struct strbuf *out);
/* add-client: add[node] = 1 for each node of services.client whose client
 * is not complete (its container running and 3FS mounted); facts[] is per
 * node of cfg.  Returns how many. */
size_t client_to_add(const struct m3fs_config *cfg, const unsigned *facts, unsigned char *add);
/* delete-client: the candidates are the nodes named (named != NULL) or
 * else every node services.client does not list; del[node] = 1 for each
 * candidate with anything of this cluster's client on it (its container,
 * a 3FS mount, <workDir>/client).  A foreign container alone is not ours
 * to remove.  Returns how many. */
int client_is_candidate(const struct m3fs_config *cfg, const unsigned char *named, size_t node);
size_t client_to_delete(const struct m3fs_config *cfg, const unsigned *facts,
                        const unsigned char *named, unsigned char *del);
/* create's client steps (and the workDir marker) on the nodes
 * ctx->only_nodes marks, or destroy's client steps there.  0, or -1 with
 * the reason in ctx->err. */
int plan_build_add_clients(struct plan_ctx *ctx, struct plan *p);
int plan_build_delete_clients(struct plan_ctx *ctx, struct plan *p);

/* cluster add-storage-nodes / remove-storage-nodes (docs/scale.md): the
 * plan of one migration (ct_plan_migration's, kept in the state file):
 * for add, create's storage steps on the new nodes only; the new chains'
 * targets (create-target) and chains (upload-chains); one CALL step per
 * replica move on the first mgmtd node (admin_cli; every sub-step first
 * looks whether the cluster shows it done: include/m3fs/scale.h), a
 * chain's moves one after another in one lane, at most SCALE_LANES chains
 * at a time; then upload-chain-table of the new table and the wait until
 * every target is SERVING-UPTODATE; for remove, then the storage
 * containers of the drained nodes stopped and removed (disks left).  Move
 * i's step records sc_move_key() in the state file.  job and what it
 * points to must outlive the plan's run; scale_job_release frees what
 * plan_build_scale added to it. */
#define SCALE_LANES 4
struct ct_migration;
struct sc_view;
struct scale_job {
    const struct ct_migration *m; /* borrowed */
    const struct sc_view *view;   /* borrowed: the cluster when the command began (UsedSize) */
    const uint32_t *add, *drain;  /* borrowed node ids */
    size_t n_add, n_drain;
    int add_first;                /* replication factor 1: a move adds before it removes */
    const char *plan_id;          /* the plan's digest: the value a done move records */
    void *priv;                   /* plan_build_scale's (the CALL steps' arguments) */
};
int plan_build_scale(struct plan_ctx *ctx, struct scale_job *job, struct plan *p);
void scale_job_release(struct scale_job *job);
/* templates/m3fs-scale.sh observe on the first mgmtd node: the listings
 * sc_parse_observe reads; caller frees. */
char *scale_observe_cmd(struct plan_ctx *ctx);
/* templates/m3fs-scale.sh space on a storage node: df of each target path
 * (sc_parse_space reads it); *base gets the target paths' base directory
 * (BASE/data<i>/3fs).  Caller frees both. */
char *scale_space_cmd(struct plan_ctx *ctx, char **base);
/* The index in cfg->nodes of storage node id, or SIZE_MAX. */
size_t scale_node_index(const struct plan_ctx *ctx, uint32_t id);

#endif
