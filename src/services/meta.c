/* services/meta.c: the 3FS metadata service (node ids 100..). */
#include "services.h"

int svc_meta_create(struct plan_ctx *ctx, struct plan *p)
{
    struct svc3fs sv = { SVC_META, "meta", "meta_main", "MetaSerde", "META",
                         ctx->cfg->meta.rdma_port, ctx->cfg->meta.tcp_port, NULL };
    return svc3fs_create(ctx, p, &sv, NULL);
}

int svc_meta_destroy(struct plan_ctx *ctx, struct plan *p)
{
    svc_remove_steps(ctx, p, SVC_META, "meta", 0);
    return 0;
}

int svc_meta_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_META, 0, 0);
    return 0;
}

/* Its wait is the heartbeat wait with storage (svc_chains_start). */
int svc_meta_start(struct plan_ctx *ctx, struct plan *p)
{
    life_start_step(ctx, p, SVC_META, 0);
    return 0;
}
