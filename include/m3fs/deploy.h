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

struct plan_ctx {
    const struct m3fs_config *cfg;
    struct m3fs_state *st;
    int format_disks;       /* --format-disks: nvme disks may be formatted */
    int destroy_all;        /* destroy --all */
    /* computed by plan_ctx_init() */
    int tcp;                /* networkType TCP */
    char *mgmtd_addrs;      /* TOML array literal of all mgmtd addresses */
    char *monitor_addr;     /* "ip:port" of the first monitor node */
    char *fdb_cluster;      /* full fdb.cluster line */
    char *image[IMG_COUNT]; /* image references, registry applied */
    struct ct_table *ct;    /* chain table (create only) */
    struct strbuf err;      /* why building failed */
};

/* Compute the shared values; for create also the chain table.  Returns 0,
 * or -1 with the reason in ctx->err. */
int plan_ctx_init(struct plan_ctx *ctx, const struct m3fs_config *cfg, struct m3fs_state *st,
                  int for_create);
void plan_ctx_release(struct plan_ctx *ctx);

/* The whole create / destroy plan.  0, or -1 with the reason in ctx->err. */
int plan_build_create(struct plan_ctx *ctx, struct plan *p);
int plan_build_destroy(struct plan_ctx *ctx, struct plan *p);

#endif
