/* m3fs cluster add-client: mount 3FS on the nodes services.client lists
 * that do not have it yet, with create's own client steps (config files,
 * token, container, the wait for the fuse.hf3fs mount) on those nodes only;
 * the clients already mounted are not touched.  Refused on a cluster that
 * was never created (no state file) or whose mgmtd does not answer, and
 * stopped before anything changes by create's preflight (login, root, the
 * NICs 3FS would find) on a new client node.
 * See docs/lifecycle.md; the shared part is src/cmd/clients.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    int yes;
} o;

static const struct opt_spec opts[] = {
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

/* 0 when a mgmtd node shows a PRIMARY_MGMTD in list-nodes (the cluster
 * runs and the clients' mgmtd addresses answer), else -1 (logged). */
static int mgmtd_answers(struct plan_ctx *ctx, struct remote_ctx *rc)
{
    const struct m3fs_config *cfg = ctx->cfg;
    char *cmd = upgrade_list_nodes_cmd(ctx);
    struct strbuf why = STRBUF_INIT;
    int ok = 0;
    for (size_t j = 0; j < cfg->svc[SVC_MGMTD].n_member && !ok; j++) {
        size_t node = cfg->svc[SVC_MGMTD].member[j];
        struct remote_session *s = remote_ctx_get(rc, node, &why);
        ok = s && remote_run(s, cmd, 1, 60000L, NULL, &why) == 0;
        if (!ok) sb_addch(&why, '\n');
    }
    if (!ok)
        log_error("no mgmtd of cluster '%s' shows a primary in admin_cli list-nodes:\n%sthe "
                  "cluster is not running: create it (m3fs cluster create -c %s) or start it "
                  "(m3fs cluster start); nothing was changed", cfg->name, why.buf, cfg->file);
    free(cmd);
    sb_release(&why);
    return ok ? 0 : -1;
}

/* The nodes read, what they have, the plan, then dry-run, or the
 * preflight and the run. */
static int add(struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc)
{
    const struct m3fs_config *cfg = cctx->cfg;
    size_t nn = cfg->n_nodes ? cfg->n_nodes : 1;
    unsigned *facts = xcalloc(nn, sizeof(*facts));
    unsigned char *want = xcalloc(nn, 1), *sel = xcalloc(nn, 1);
    struct strbuf names = STRBUF_INIT, text = STRBUF_INIT;
    struct plan p = { 0 };
    int code = EXIT_FAIL;
    for (size_t i = 0; i < cfg->n_nodes; i++) want[i] = (unsigned char)config_node_has(cfg, i, SVC_CLIENT);
    if (mgmtd_answers(ctx, rc) < 0 || clients_probe(ctx, rc, cctx->parallel, want, facts) < 0)
        goto out;
    size_t n = client_to_add(cfg, facts, sel);
    clients_names(cfg, sel, &names);
    if (!n) {
        printf("3FS is mounted at %s on every client node of %s: nothing to add.\n",
               cfg->client.host_mountpoint, cfg->file);
        code = EXIT_OK;
        goto out;
    }
    ctx->only_nodes = sel;
    if (plan_build_add_clients(ctx, &p) < 0) {
        log_error("cannot plan add-client: %s", ctx->err.buf);
        goto out;
    }
    /* create's preflight on the nodes the plan touches (those that gain the
     * client, and the first mgmtd's), before the question and any change */
    if (!cctx->dry_run && cmd_preflight(cfg, &p, rc, cctx->parallel) < 0) goto out;
    sb_addf(&text, "FUSE clients of cluster '%s' (what each node has now):\n", cfg->name);
    clients_list(cfg, want, facts, &text);
    sb_addf(&text, "This mounts 3FS at %s on %s (config files under %s/client, container "
            "%s); the clients already mounted are not touched.\n", cfg->client.host_mountpoint,
            names.buf, cfg->work_dir, cfg->svc[SVC_CLIENT].container_name);
    char *done = xstrfmt("3FS is mounted at %s on %s", cfg->client.host_mountpoint, names.buf);
    struct clients_go g = { .p = &p, .rc = rc, .verb = "add", .names = names.buf,
                            .text = text.buf, .done = done, .yes = o.yes };
    code = clients_go(cctx, ctx->st, &g);
    free(done);
out:
    plan_free(&p);
    free(facts), free(want), free(sel);
    sb_release(&names), sb_release(&text);
    return code;
}

static int exec_add_client(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { 0 };
    int code = EXIT_FAIL;
    if (!st) {
        log_error("%s", err.buf);
    } else if (!st->existed) {
        log_error("no state file %s: cluster '%s' was never created with this cluster.yml; "
                  "add-client mounts 3FS of a running cluster (m3fs cluster create -c %s "
                  "deploys it, clients included); nothing was changed", path, cfg->name,
                  cfg->file);
    } else if (!cfg->svc[SVC_CLIENT].n_member) {
        log_error("%s: services.client has no nodes; nothing to add", cfg->file);
    } else if (plan_ctx_init(&ctx, cfg, st, 0) < 0) {
        log_error("cannot plan add-client: %s", ctx.err.buf);
    } else {
        struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
        code = add(cctx, &ctx, rc);
        remote_ctx_free(rc);
    }
    plan_ctx_release(&ctx);
    state_free(st);
    free(path);
    sb_release(&err);
    return code;
}

const struct cmd_entry cmd_cluster_add_client_entry = {
    .name = "add-client",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--yes] [--dry-run]",
    .summary = "Mount 3FS on the client nodes of cluster.yml that do not have it yet",
    .opts = opts,
    .exec = exec_add_client,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
