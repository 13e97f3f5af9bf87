/* services/node.c: `cluster destroy --all`: what create and prepare left on
 * every node besides the services (images, tools, the workDir). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/network.h"
#include "m3fs/shquote.h"
#include "services.h"

/* workDir is removed as a whole only when it is clearly ours: absolute,
 * at least two levels deep. */
static int workdir_safe(const char *wd)
{
    int depth = 0;
    if (wd[0] != '/') return 0;
    for (const char *p = wd; *p; p++)
        if (*p == '/' && p[1] && p[1] != '/') depth++;
    return depth >= 2 && !strstr(wd, "/../") && !strstr(wd, "/./");
}

static int check_denied(struct plan_ctx *ctx)
{
    if (!config_workdir_denied(ctx->cfg->work_dir)) return 0; /* validate refuses it too */
    sb_addf(&ctx->err, "workDir '%s' is a system directory (or not a plain absolute path); "
            "m3fs creates and deletes its files under workDir, so it must be a directory of "
            "its own, e.g. /opt/3fs", ctx->cfg->work_dir);
    return -1;
}

/* `sh -c <m3fs-node.sh> m3fs-node WHAT WORKDIR NAME` into sb. */
static void marker_cmd(const struct plan_ctx *ctx, const char *what, struct strbuf *sb)
{
    script_call(sb, "m3fs-node.sh");
    sb_addf(sb, "%s ", what);
    sh_quote(sb, ctx->cfg->work_dir);
    sb_addch(sb, ' ');
    sh_quote(sb, ctx->cfg->name);
}

int svc_node_create_mark(struct plan_ctx *ctx, struct plan *p)
{
    if (check_denied(ctx)) return -1;
    struct strbuf cmd = STRBUF_INIT, skip = STRBUF_INIT;
    marker_cmd(ctx, "mark", &cmd);
    marker_cmd(ctx, "marked", &skip);
    struct step *s = plan_add_step(p, "node", STEP_RUN, "mark the workDir as this cluster's "
                                   "(" WORKDIR_MARKER ")");
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++)
        if (svc_node_selected(ctx, i)) step_add_run(s, i, cmd.buf, skip.buf);
    step_add_hint(s, "belongs to", "another cluster's m3fs uses this workDir on that node: "
                  "give this cluster another workDir (workDir in cluster.yml, or -w)");
    sb_release(&cmd), sb_release(&skip);
    return 0;
}

int svc_node_destroy_guard(struct plan_ctx *ctx, struct plan *p)
{
    if (check_denied(ctx)) return -1;
    struct strbuf cmd = STRBUF_INIT;
    marker_cmd(ctx, "owned", &cmd);
    struct step *s = plan_add_step(p, "node", STEP_RUN, "check that the workDir is this "
                                   "cluster's (" WORKDIR_MARKER ") before deleting anything");
    /* a check, not an action: skipped (counted done) when it passes; when
     * it does not, the same check runs as the step and fails with the reason */
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++) step_add_run(s, i, cmd.buf, cmd.buf);
    sb_release(&cmd);
    return 0;
}

/* templates/m3fs-node.sh purge: the node's images, then the workDir. */
static void purge_cmd(struct plan_ctx *ctx, size_t node, struct strbuf *cmd)
{
    unsigned m = config_node_images(ctx->cfg, node);
    script_call(cmd, "m3fs-node.sh");
    sb_adds(cmd, "purge ");
    sh_quote(cmd, ctx->cfg->work_dir);
    for (int k = 0; k < IMG_COUNT; k++) {
        if (!(m & (1u << k)) || !ctx->image[k]) continue;
        sb_addch(cmd, ' ');
        sh_quote(cmd, ctx->image[k]);
    }
}

int svc_node_destroy_dirs(struct plan_ctx *ctx, struct plan *p)
{
    char *bin = wd_path(ctx, "bin");
    struct strbuf args = STRBUF_INIT, cmd = STRBUF_INIT, skip = STRBUF_INIT;
    sh_quote(&args, bin);
    sb_addch(&args, ' ');
    sh_quote(&args, ctx->cfg->work_dir);
    script_call(&cmd, "m3fs-node.sh");
    sb_addf(&cmd, "rmdir-empty %s", args.buf);
    script_call(&skip, "m3fs-node.sh");
    sb_addf(&skip, "rmdir-done %s", args.buf);
    struct step *s = plan_add_step(p, "node", STEP_RUN, "remove the workDir if m3fs left it "
                                   "empty");
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++) step_add_run(s, i, cmd.buf, skip.buf);
    sb_release(&args), sb_release(&cmd), sb_release(&skip);
    free(bin);
    return 0;
}

int svc_node_destroy_all(struct plan_ctx *ctx, struct plan *p)
{
    const char *wd = ctx->cfg->work_dir;
    if (!workdir_safe(wd)) {
        sb_addf(&ctx->err, "--all removes workDir '%s' as a whole, which is refused for a "
                "path less than two levels deep; remove what you no longer need there by "
                "hand, or run destroy without --all", wd);
        return -1;
    }
    /* What prepare installed for the network, as recorded on each node (the
     * record lives in the workDir, so this goes first). */
    struct step *n = plan_add_step(p, "node", STEP_RUN, "remove what prepare installed for "
                                   "the network (unit, shim, sysctl/modprobe files)");
    struct strbuf nc = STRBUF_INIT, ns = STRBUF_INIT;
    net_destroy_cmd(ctx->cfg, &nc);
    net_destroy_skip_if(ctx->cfg, &ns);
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++) step_add_run(n, i, nc.buf, ns.buf);
    sb_release(&nc), sb_release(&ns);
    struct step *s = plan_add_step(p, "node", STEP_RUN, "remove images and the workDir");
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++) {
        struct strbuf cmd = STRBUF_INIT;
        purge_cmd(ctx, i, &cmd);
        step_add_run(s, i, cmd.buf, NULL);
        sb_release(&cmd);
    }
    return 0;
}
