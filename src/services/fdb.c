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
        sv_push(&c.dirs, data);
        sv_push(&c.dirs, logs);
        ctr_add_run(s, nodes[i], &c);
        ctr_release(&c);
        free(o5), free(o7), free(o11), free(o13);
    }
    free(data);
    free(logs);
}

/* `sh -c SCRIPT m3fs-fdb SUB CONTAINER [ARG]` (templates/m3fs-fdb.sh). */
static char *fdb_script(const struct plan_ctx *ctx, const char *sub, const char *arg)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-fdb.sh");
    sb_addf(&sb, "%s ", sub);
    sh_quote(&sb, ctx->cfg->svc[SVC_FDB].container_name);
    if (arg) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, arg);
    }
    return sb_detach(&sb);
}

static void configure_steps(struct plan_ctx *ctx, struct plan *p, size_t first, size_t n)
{
    char *conf = xstrfmt("configure new %s ssd", redundancy(n));
    char *cfg1 = fdb_script(ctx, "configure", conf + strlen("configure "));
    char *avail = fdb_script(ctx, "available", NULL);
    char *title = xstrfmt("configure the database (%s)", conf);
    struct step *s = plan_add_step(p, "fdb", STEP_WAIT, title);
    s->wait_for = xstrfmt("'%s' to succeed", conf);
    /* fdbcli's answer when `configure new` made the database (FoundationDB
     * fdbcli/ConfigureCommand.actor.cpp, ConfigurationResult::DATABASE_CREATED;
     * "Database already exists" otherwise, which m3fs-fdb.sh takes as done):
     * a new database holds no 3FS cluster, whatever the state file says. */
    s->fresh_mark = "Database created";
    s->timeout_ms = (long)ctx->cfg->fdb.wait_cluster_timeout_ms;
    s->interval_ms = FIRST_ANSWER_INTERVAL_MS;
    const char *ctr = ctx->cfg->svc[SVC_FDB].container_name;
    char *cmd = wait_guarded(cfg1, ctr), *avail_g = wait_guarded(avail, ctr);
    step_add_run(s, first, cmd, avail);
    s = plan_add_step(p, "fdb", STEP_WAIT, "wait until the database is available");
    s->wait_for = xstrdup("fdbcli 'status minimal' to say \"The database is available.\"");
    s->timeout_ms = (long)ctx->cfg->fdb.wait_cluster_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    step_add_run(s, first, avail_g, NULL);
    free(conf), free(avail), free(title), free(cmd), free(cfg1);
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

int svc_fdb_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_FDB, 0, 0);
    return 0;
}

void svc_fdb_available_wait(struct plan_ctx *ctx, struct plan *p, size_t node)
{
    char *avail = fdb_script(ctx, "available", NULL);
    char *cmd = wait_guarded(avail, ctx->cfg->svc[SVC_FDB].container_name);
    struct step *s = plan_add_step(p, "fdb", STEP_WAIT, "wait until the database is available");
    s->wait_for = xstrdup("fdbcli 'status minimal' to say \"The database is available.\"");
    s->timeout_ms = (long)ctx->cfg->fdb.wait_cluster_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    step_add_run(s, node, cmd, NULL);
    free(avail), free(cmd);
}

/* The containers, then create's wait until the database is available, on
 * the first fdb node (the database, not one process, is what 3FS needs). */
int svc_fdb_start(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_FDB, &n);
    if (!n || !life_selected(ctx, SVC_FDB)) return 0;
    life_start_step(ctx, p, SVC_FDB, 0);
    svc_fdb_available_wait(ctx, p, nodes[0]);
    return 0;
}
