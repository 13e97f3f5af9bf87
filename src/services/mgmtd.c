/* services/mgmtd.c: the 3FS cluster manager: config files, admin_cli.sh,
 * init-cluster (once), containers, and a wait for the primary. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"


static struct svc3fs info(const struct plan_ctx *ctx)
{
    struct svc3fs sv = { SVC_MGMTD, "mgmtd", "mgmtd_main", "Mgmtd", "MGMTD",
                         ctx->cfg->mgmtd.rdma_port, ctx->cfg->mgmtd.tcp_port, NULL };
    return sv;
}

static int admin_script(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf q = STRBUF_INIT, out = STRBUF_INIT;
    sh_quote(&q, ctx->cfg->svc[SVC_MGMTD].container_name);
    tmpl_set(&tv, "container", q.buf);
    int rc = render(ctx, "admin_cli.sh", &tv, &out);
    if (!rc) {
        char *path = wd_path(ctx, "admin_cli.sh");
        struct step *s = plan_add_step(p, "mgmtd", STEP_PUT, "install admin_cli.sh");
        for (size_t i = 0; i < n; i++) step_add_put(s, nodes[i], path, out.buf, out.len, 0755);
        free(path);
    }
    tmpl_vars_free(&tv);
    sb_release(&q), sb_release(&out);
    return rc;
}

/* init-cluster stores mgmtd_main.toml (as the set-config step would). */
static void init_cluster(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                         const struct svc3fs_all *all)
{
    size_t first = all->nodes[0];
    const struct m3fs_config *cfg = ctx->cfg;
    /* The last run started init-cluster and lost it mid-way (killed, SSH
     * dropped): it may have stored the config already, so this run lets it
     * exist.  The root layout is kept as it is and the config stored as the
     * next version (upstream src/client/cli/admin/InitCluster.cc,
     * --allow-config-existed); a cluster m3fs did not start keeps failing
     * "existed" below, and user-add checks the token in any case. */
    const char *again = state_started(ctx->st, "init-cluster") ? "--allow-config-existed " : "";
    char *cli = xstrfmt("init-cluster %s--mgmtd /opt/3fs/etc/mgmtd_main.toml 1 %ld %ld", again,
                        cfg->mgmtd.chunk_size, cfg->mgmtd.stripe_size);
    char *cmd = admin_cli_once_cmd(ctx, cli);
    struct step *s = plan_add_step(p, "mgmtd", STEP_RUN, "initialise the cluster (init-cluster)");
    step_add_run(s, first, cmd, NULL);
    step_set_state(s, "init-cluster", "1");
    svc3fs_config_stored_by(s, sv, all);
    char *hint = xstrfmt("FoundationDB already holds a 3FS cluster, but the state file %s does "
                         "not record creating it. If m3fs created this cluster from another "
                         "directory, copy that .m3fs/%s.state.json here and run again; "
                         "otherwise remove the old cluster first with `m3fs cluster destroy` "
                         "(its data is lost).", ctx->st->path, cfg->name);
    step_add_hint(s, "xist", hint);
    free(cli), free(cmd), free(hint);
}

char *svc_mgmtd_list_nodes_cmd(struct plan_ctx *ctx)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf check = STRBUF_INIT;
    tmpl_set(&tv, "admin_cli", ADMIN_CLI);
    if (script_call_tmpl(ctx, "m3fs-mgmtd.sh", &tv, &check)) abort(); /* every key is set */
    tmpl_vars_free(&tv);
    sb_adds(&check, "primary ");
    sh_quote(&check, ctx->cfg->svc[SVC_MGMTD].container_name);
    return sb_detach(&check);
}

static void wait_primary(struct plan_ctx *ctx, struct plan *p, size_t first)
{
    struct step *s = plan_add_step(p, "mgmtd", STEP_WAIT, "wait for the primary mgmtd");
    s->wait_for = xstrdup("admin_cli list-nodes to show PRIMARY_MGMTD");
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    char *check = svc_mgmtd_list_nodes_cmd(ctx);
    char *cmd = wait_guarded(check, ctx->cfg->svc[SVC_MGMTD].container_name);
    step_add_run(s, first, cmd, NULL);
    step_add_hint(s, "keeps restarting",
                  "mgmtd keeps failing at start; its last log lines are above. \"Init config "
                  "failed\" means a config file was refused: mgmtd_main_launcher.toml or "
                  "mgmtd_main_app.toml, or the mgmtd_main.toml that init-cluster or set-config "
                  "stored in FoundationDB without checking it (upstream "
                  "src/client/cli/admin/InitCluster.cc, src/mgmtd/ops/SetConfigOperation.cc). "
                  "With RDMA devices but none usable mgmtd exits at start unless "
                  "ib_devices.allow_no_usable_devices (networkType TCP sets it). An empty "
                  "FoundationDB is not a cause: mgmtd then starts on built-in defaults.");
    step_add_hint(s, NO_RDMA_MATCH, NO_RDMA_HINT);
    free(cmd), free(check);
}

int svc_mgmtd_create(struct plan_ctx *ctx, struct plan *p)
{
    struct svc3fs sv = info(ctx);
    struct svc3fs_all all = { 0 };
    int rc = svc3fs_put(ctx, p, &sv, &all);
    if (!rc && all.n) rc = admin_script(ctx, p, all.nodes, all.n);
    if (!rc && all.n) {
        init_cluster(ctx, p, &sv, &all);
        svc3fs_start(ctx, p, &sv, &all, NULL);
        wait_primary(ctx, p, all.nodes[0]);
        /* A cluster created without a setting m3fs now writes (B1's
         * allow_heartbeat_from_unregistered) gets it here: hot-updated. */
        svc3fs_set_config(ctx, p, &sv, &all);
    }
    svc3fs_all_release(&all);
    return rc;
}

int svc_mgmtd_destroy(struct plan_ctx *ctx, struct plan *p)
{
    svc_remove_steps(ctx, p, SVC_MGMTD, "mgmtd", 0);
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MGMTD, &n);
    if (!n) return 0;
    char *path = wd_path(ctx, "admin_cli.sh");
    struct strbuf cmd = STRBUF_INIT, skip = STRBUF_INIT;
    sb_adds(&cmd, "rm -f ");
    sh_quote(&cmd, path);
    sb_adds(&skip, "! test -e ");
    sh_quote(&skip, path);
    struct step *s = plan_add_step(p, "mgmtd", STEP_RUN, "remove admin_cli.sh");
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd.buf, skip.buf);
    sb_release(&cmd), sb_release(&skip);
    free(path);
    return 0;
}

int svc_mgmtd_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_MGMTD, 0, 0);
    return 0;
}

/* The containers, then create's wait for the primary (on the first mgmtd
 * node: list-nodes there names it, whichever node holds it). */
int svc_mgmtd_start(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MGMTD, &n);
    if (!n || !life_selected(ctx, SVC_MGMTD)) return 0;
    life_start_step(ctx, p, SVC_MGMTD, 0);
    wait_primary(ctx, p, nodes[0]);
    return 0;
}

void svc_mgmtd_primary_wait(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MGMTD, &n);
    if (n) wait_primary(ctx, p, nodes[0]);
}
