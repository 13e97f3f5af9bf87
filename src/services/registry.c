/* services/registry.c: the list of 3FS services (see include/m3fs/deploy.h):
 * the values every service module shares, the order the modules add their
 * steps to a create or destroy plan, and which lane waits for which. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"
#include "m3fs/deploy.h"
#include "services.h"

static void mgmtd_addresses(struct plan_ctx *ctx)
{
    const struct m3fs_config *cfg = ctx->cfg;
    const char *scheme = listen_type_name(config_listen_type(cfg, SVC_MGMTD));
    long port = ctx->tcp ? cfg->mgmtd.tcp_port : cfg->mgmtd.rdma_port;
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MGMTD, &n);
    sb_adds(&sb, "[ ");
    for (size_t i = 0; i < n; i++) {
        char *a = xstrfmt("%s://%s:%ld", scheme, config_node_addr(cfg, nodes[i]), port);
        if (i) sb_adds(&sb, ", ");
        toml_str(&sb, a);
        free(a);
    }
    sb_adds(&sb, " ]");
    ctx->mgmtd_addrs = sb_detach(&sb);
}

static void fdb_cluster(struct plan_ctx *ctx)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_FDB, &n);
    sb_addf(&sb, "%s@", ctx->st->fdb_id);
    for (size_t i = 0; i < n; i++)
        sb_addf(&sb, "%s%s:%ld", i ? "," : "", config_node_addr(ctx->cfg, nodes[i]),
                ctx->cfg->fdb.port);
    ctx->fdb_cluster = sb_detach(&sb);
}

static int chain_table(struct plan_ctx *ctx)
{
    const struct m3fs_config *cfg = ctx->cfg;
    struct ct_params p;
    ct_params_init(&p);
    config_chain_params(cfg, &p);
    if (!p.v) return 0;
    struct strbuf why = STRBUF_INIT;
    if (ct_generate(&p, &ctx->ct, &why) < 0) {
        sb_addf(&ctx->err, "cannot build the chain table for %ld storage nodes, replication "
                "factor %ld: %s", p.v, p.k, why.buf);
        sb_release(&why);
        return -1;
    }
    struct ct_expect exp = { p.k, p.disks, cfg->mgmtd.stripe_size };
    struct ct_stats st;
    long errors = ct_verify(ctx->ct, &exp, &st, &why);
    if (errors) sb_addf(&ctx->err, "the generated chain table failed verification:\n%s", why.buf);
    sb_release(&why);
    return errors ? -1 : 0;
}

int plan_ctx_init(struct plan_ctx *ctx, const struct m3fs_config *cfg, struct m3fs_state *st,
                  int for_create)
{
    const struct strvec *consent = ctx->disk_consent;
    int all = ctx->destroy_all;
    memset(ctx, 0, sizeof(*ctx));
    ctx->disk_consent = consent;
    ctx->destroy_all = all;
    ctx->cfg = cfg;
    ctx->st = st;
    sb_init(&ctx->err, 0);
    ctx->tcp = cfg->net == NET_TCP;
    mgmtd_addresses(ctx);
    size_t n;
    const size_t *mon = svc_nodes(ctx, SVC_MONITOR, &n);
    ctx->monitor_addr =
        n ? xstrfmt("%s:%ld", config_node_addr(cfg, mon[0]), cfg->monitor.port) : xstrdup("");
    fdb_cluster(ctx);
    /* ClickHouse listens on every address: with no password in cluster.yml
     * it gets the state file's random one, not the image's well-known one */
    int pw_set = config_pos(cfg, "services.clickhouse.password").line > 0;
    ctx->ch_password = pw_set || !st->ch_password ? cfg->ch.password : st->ch_password;
    for (int k = 0; k < IMG_COUNT; k++) ctx->image[k] = config_image_ref(cfg, (enum img_kind)k);
    return for_create ? chain_table(ctx) : 0;
}

void plan_ctx_release(struct plan_ctx *ctx)
{
    free(ctx->mgmtd_addrs);
    free(ctx->monitor_addr);
    free(ctx->fdb_cluster);
    for (int i = 0; i < IMG_COUNT; i++) free(ctx->image[i]);
    if (ctx->ct) ct_table_free(ctx->ct);
    sb_release(&ctx->err);
    memset(ctx, 0, sizeof(*ctx));
}

/* What each service's lane waits for (3fs-reference §2 ordering): FDB and
 * ClickHouse start at once; init-cluster needs FDB only (3FS services send
 * metrics to the monitor when it is there, so clickhouse -> monitor runs
 * beside them); meta and storage need a running mgmtd and start together,
 * and beside them the users are added (FDB only); targets and chains need
 * all three; FUSE needs the chain table.  Files and
 * disks (prep steps) go first, at once. */
static const struct svc_dep create_deps[] = {
    { "monitor", { "clickhouse" } },
    { "mgmtd", { "fdb" } },
    { "meta", { "mgmtd" } },
    { "storage", { "mgmtd" } },
    { "users", { "mgmtd" } },
    { "3fs", { "meta", "storage", "users" } },
    { "client", { "3fs" } },
    { NULL, { NULL } },
};

int plan_build_create(struct plan_ctx *ctx, struct plan *p)
{
    int (*const mods[])(struct plan_ctx *, struct plan *) = {
        svc_node_create_mark, svc_fdb_create, svc_clickhouse_create, svc_monitor_create,
        svc_mgmtd_create, svc_meta_create, svc_storage_create, svc_chains_create,
        svc_client_create,
    };
    for (size_t i = 0; i < ARRAY_SIZE(mods); i++)
        if (mods[i](ctx, p) < 0) return -1;
    plan_link(p, create_deps);
    plan_first_gate(p); /* the workDir's marker before anything is written there */
    return 0;
}

int plan_build_destroy(struct plan_ctx *ctx, struct plan *p)
{
    int (*const mods[])(struct plan_ctx *, struct plan *) = {
        svc_node_destroy_guard, svc_client_destroy, svc_storage_destroy, svc_meta_destroy,
        svc_mgmtd_destroy, svc_monitor_destroy, svc_clickhouse_destroy, svc_fdb_destroy,
    };
    for (size_t i = 0; i < ARRAY_SIZE(mods); i++)
        if (mods[i](ctx, p) < 0) return -1;
    return ctx->destroy_all ? svc_node_destroy_all(ctx, p) : svc_node_destroy_dirs(ctx, p);
}

/* stop: clients first (nothing may write through a mount whose servers are
 * going), storage before meta and mgmtd (it flushes and reports to mgmtd
 * while it stops), fdb last (mgmtd keeps the cluster's state there).
 * Steps run one after another. */
int plan_build_stop(struct plan_ctx *ctx, struct plan *p)
{
    int (*const mods[])(struct plan_ctx *, struct plan *) = {
        svc_client_stop, svc_storage_stop, svc_meta_stop, svc_mgmtd_stop,
        svc_monitor_stop, svc_clickhouse_stop, svc_fdb_stop,
    };
    for (size_t i = 0; i < ARRAY_SIZE(mods); i++)
        if (mods[i](ctx, p) < 0) return -1;
    return 0;
}

/* start: the reverse of stop, each service with create's waits; the
 * heartbeat and SERVING-UPTODATE waits (lane "3fs") after meta and storage
 * are both back, the clients last. */
int plan_build_start(struct plan_ctx *ctx, struct plan *p)
{
    int (*const mods[])(struct plan_ctx *, struct plan *) = {
        svc_fdb_start, svc_clickhouse_start, svc_monitor_start, svc_mgmtd_start,
        svc_meta_start, svc_storage_start, svc_chains_start, svc_client_start,
    };
    for (size_t i = 0; i < ARRAY_SIZE(mods); i++)
        if (mods[i](ctx, p) < 0) return -1;
    return 0;
}
