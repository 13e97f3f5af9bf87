/* m3fs cluster delete-client: unmount 3FS and remove the FUSE client
 * (its container and <workDir>/client) on the nodes of cluster.yml that
 * services.client no longer lists, or on the nodes named with --node, with
 * destroy's own client steps on those nodes.  Asks first, naming the nodes
 * and the mount.  Files stored in 3FS, the mountpoint's own files and
 * everything else on the nodes are kept.
 * See docs/lifecycle.md; the shared part is src/cmd/clients.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "lifecycle.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    int yes;
    struct strvec names;
} o;

static const struct opt_spec opts[] = {
    OPT_LIST(0, "node", &o.names, "NAME", "remove the client from this node (default: every "
             "node services.client does not list); repeatable"),
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

/* Warn about named nodes services.client still lists: create and
 * add-client would mount 3FS there again. */
static void warn_listed(const struct m3fs_config *cfg, const unsigned char *named)
{
    for (size_t i = 0; named && i < cfg->n_nodes; i++)
        if (named[i] && config_node_has(cfg, i, SVC_CLIENT))
            log_warn("%s is still listed under services.client in %s: `cluster create` and "
                     "`cluster add-client` mount 3FS there again", cfg->nodes[i].name, cfg->file);
}

/* The question: exactly the nodes that lose the client (sel), what each
 * has now, and what goes. */
static void question(const struct m3fs_config *cfg, const unsigned char *sel,
                     const unsigned *facts, const char *names, struct strbuf *text)
{
    sb_addf(text, "The FUSE client of cluster '%s' to remove (what each node has now):\n",
            cfg->name);
    clients_list(cfg, sel, facts, text);
    sb_addf(text, "This unmounts 3FS at %s on %s and removes there the container %s and "
            "%s/client (its config files). Files stored in 3FS, the mountpoint directory's "
            "own files and everything else on the nodes are kept.\n",
            cfg->client.host_mountpoint, names, cfg->svc[SVC_CLIENT].container_name,
            cfg->work_dir);
}

static int del(struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc,
               const unsigned char *named)
{
    const struct m3fs_config *cfg = cctx->cfg;
    size_t nn = cfg->n_nodes ? cfg->n_nodes : 1, nwant = 0;
    unsigned *facts = xcalloc(nn, sizeof(*facts));
    unsigned char *want = xcalloc(nn, 1), *sel = xcalloc(nn, 1);
    struct strbuf names = STRBUF_INIT, text = STRBUF_INIT;
    struct plan p = { 0 };
    int code = EXIT_FAIL;
    for (size_t i = 0; i < cfg->n_nodes; i++)
        nwant += want[i] = (unsigned char)client_is_candidate(cfg, named, i);
    if (!nwant) {
        printf("services.client lists every node of %s: no client to delete.\n", cfg->file);
        code = EXIT_OK;
        goto out;
    }
    if (clients_probe(ctx, rc, cctx->parallel, want, facts) < 0) goto out;
    size_t n = client_to_delete(cfg, facts, named, sel);
    clients_names(cfg, sel, &names);
    if (!n) {
        clients_names(cfg, want, &names);
        printf("No FUSE client of cluster '%s' on %s: nothing to delete.\n", cfg->name,
               names.buf);
        code = EXIT_OK;
        goto out;
    }
    ctx->only_nodes = sel;
    if (plan_build_delete_clients(ctx, &p) < 0) {
        log_error("cannot plan delete-client: %s", ctx->err.buf);
        goto out;
    }
    question(cfg, sel, facts, names.buf, &text);
    char *done = xstrfmt("Removed the FUSE client from %s: 3FS unmounted at %s, container %s "
                         "and %s/client removed", names.buf, cfg->client.host_mountpoint,
                         cfg->svc[SVC_CLIENT].container_name, cfg->work_dir);
    struct clients_go g = { .p = &p, .rc = rc, .verb = "delete", .names = names.buf,
                            .text = text.buf, .done = done, .yes = o.yes };
    code = clients_go(cctx, ctx->st, &g);
    free(done);
out:
    plan_free(&p);
    free(facts), free(want), free(sel);
    sb_release(&names), sb_release(&text);
    return code;
}

static int exec_delete_client(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    unsigned char *named = NULL;
    if (life_parse_nodes(cfg, &o.names, &named, &err) < 0) {
        int rc = cmd_usage_error(cctx, "%s", err.buf);
        sb_release(&err);
        sv_clear(&o.names);
        return rc;
    }
    warn_listed(cfg, named);
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { 0 };
    int code = EXIT_FAIL;
    if (!st) {
        log_error("%s", err.buf);
    } else if (plan_ctx_init(&ctx, cfg, st, 0) < 0) {
        log_error("cannot plan delete-client: %s", ctx.err.buf);
    } else {
        struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
        code = del(cctx, &ctx, rc, named);
        remote_ctx_free(rc);
    }
    plan_ctx_release(&ctx);
    state_free(st);
    free(path), free(named);
    sb_release(&err);
    sv_clear(&o.names);
    return code;
}

const struct cmd_entry cmd_cluster_delete_client_entry = {
    .name = "delete-client",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--node N]... [--yes] [--dry-run]",
    .summary = "Unmount 3FS and remove the client on nodes services.client no longer lists "
               "(asks first)",
    .opts = opts,
    .exec = exec_delete_client,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
