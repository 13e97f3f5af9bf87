/* services/fdb.c: FoundationDB (every fdb node is a coordinator; the
 * redundancy mode follows the node count). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

static const char *redundancy(size_t n)
{
    return n >= 5 ? "triple" : n >= 3 ? "double" : "single";
}

static void start_step(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    const struct m3fs_config *cfg = ctx->cfg;
    char *data = wd_path(ctx, "fdb/data"), *logs = wd_path(ctx, "fdb/logs");
    struct step *s = plan_add_step(p, "fdb", STEP_RUN, "start containers");
    for (size_t i = 0; i < n; i++) {
        struct ctr_spec c;
        ctr_init(ctx, &c, cfg->svc[SVC_FDB].container_name, ctx->image[IMG_FDB]);
        const char *opts[] = { "--network", "host", "--restart", "unless-stopped", "--env",
                               NULL, "--env", NULL, "--env", "FDB_NETWORKING_MODE=host",
                               "--volume", NULL, "--volume", NULL };
        char *o5 = xstrfmt("FDB_CLUSTER_FILE_CONTENTS=%s", ctx->fdb_cluster);
        char *o7 = xstrfmt("FDB_PORT=%ld", cfg->fdb.port);
        char *o11 = xstrfmt("%s:/var/fdb/data", data), *o13 = xstrfmt("%s:/var/fdb/logs", logs);
        opts[5] = o5, opts[7] = o7, opts[11] = o11, opts[13] = o13;
        for (size_t j = 0; j < ARRAY_SIZE(opts); j++) sv_push(&c.opts, opts[j]);
        sb_adds(&c.pre, "mkdir -p ");
        sh_quote(&c.pre, data);
        sb_addch(&c.pre, ' ');
        sh_quote(&c.pre, logs);
        ctr_add_run(s, nodes[i], &c);
        ctr_release(&c);
        free(o5), free(o7), free(o11), free(o13);
    }
    free(data);
    free(logs);
}

static char *fdbcli(const struct plan_ctx *ctx, const char *what)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "docker exec ");
    sh_quote(&sb, ctx->cfg->svc[SVC_FDB].container_name);
    sb_adds(&sb, " fdbcli --exec ");
    sh_quote(&sb, what);
    return sb_detach(&sb);
}

static void configure_steps(struct plan_ctx *ctx, struct plan *p, size_t first, size_t n)
{
    char *conf = xstrfmt("configure new %s ssd", redundancy(n));
    char *cfgcmd = fdbcli(ctx, conf), *status = fdbcli(ctx, "status minimal");
    char *avail = xstrfmt("%s | grep 'The database is available'", status);
    char *title = xstrfmt("configure the database (%s)", conf);
    struct step *s = plan_add_step(p, "fdb", STEP_WAIT, title);
    s->wait_for = xstrfmt("'%s' to succeed", conf);
    s->timeout_ms = (long)ctx->cfg->fdb.wait_cluster_timeout_ms;
    s->interval_ms = 1000;
    char *cfg1 = xstrfmt("out=$(%s 2>&1); rc=$?; echo \"$out\"; test $rc = 0 || "
                         "echo \"$out\" | grep -q 'Database already exists'", cfgcmd);
    const char *ctr = ctx->cfg->svc[SVC_FDB].container_name;
    char *cmd = wait_guarded(cfg1, ctr), *avail_g = wait_guarded(avail, ctr);
    step_add_run(s, first, cmd, avail);
    s = plan_add_step(p, "fdb", STEP_WAIT, "wait until the database is available");
    s->wait_for = xstrdup("fdbcli 'status minimal' to say \"The database is available.\"");
    s->timeout_ms = (long)ctx->cfg->fdb.wait_cluster_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    step_add_run(s, first, avail_g, NULL);
    free(conf), free(cfgcmd), free(status), free(avail), free(title), free(cmd), free(cfg1);
    free(avail_g);
}

int svc_fdb_create(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_FDB, &n);
    if (!n) return 0;
    start_step(ctx, p, nodes, n);
    configure_steps(ctx, p, nodes[0], n);
    return 0;
}

int svc_fdb_destroy(struct plan_ctx *ctx, struct plan *p)
{
    svc_remove_steps(ctx, p, SVC_FDB, "fdb", 0);
    return 0;
}
