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
    struct strbuf err;      /* why building failed */
    /* stop / start / restart: what takes part, set after plan_ctx_init()
     * (which clears them); 0 / NULL: every service / node */
    unsigned only_roles;              /* bits 1u << enum svc_kind */
    const unsigned char *only_nodes;  /* borrowed; per cfg->nodes: 1 = selected */
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
int plan_build_stop(struct plan_ctx *ctx, struct plan *p);
int plan_build_start(struct plan_ctx *ctx, struct plan *p);

/* cluster upgrade (docs/lifecycle.md): the 3FS containers moved to the
 * image ctx->image[IMG_3FS] one unit (one service on one node) at a time:
 * the monitor, mgmtd, meta, storage, then the FUSE clients, each in the
 * order of its node list, each followed by the wait that says 3FS took it
 * back (the primary mgmtd; HEARTBEAT_CONNECTED; for storage also every
 * target SERVING-UPTODATE; the mount).  First a check that the image is on
 * every node.  Unit i's last step records upgrade_unit_key(i) = image in
 * the state file (a resumed run skips it). */
size_t upgrade_unit_count(const struct plan_ctx *ctx);
/* "storage on n2", or NULL past the last unit; caller frees. */
char *upgrade_unit_name(const struct plan_ctx *ctx, size_t i);
/* "upgrade storage on n2"; caller frees. */
char *upgrade_unit_key(const struct plan_ctx *ctx, size_t i);
int plan_build_upgrade(struct plan_ctx *ctx, struct plan *p);
/* Unit i alone with image (a rollback: the old one), recorded in the
 * state file when record.  0, or -1 with the reason in ctx->err. */
int plan_build_upgrade_unit(struct plan_ctx *ctx, size_t i, const char *image, int record,
                            struct plan *p);

#endif
