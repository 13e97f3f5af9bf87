/* m3fs cluster upgrade: move the 3FS containers (monitor, mgmtd, meta,
 * storage, FUSE clients) to the 3FS image of another tag one unit at a
 * time (plan_build_upgrade, include/m3fs/deploy.h; docs/lifecycle.md).
 * The first unit that does not come back is moved back to the old image
 * and the upgrade stops; the same command resumes (the state file records
 * the units done). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    const char *tag;
    int yes;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING(0, "image-tag", &o.tag, "TAG",
               "the 3FS image tag to move to (same repository and registry as images.3fs)"),
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

static int confirmed(const char *from, const char *to)
{
    if (o.yes) return 1;
    fprintf(stderr, "This moves every 3FS container from %s to %s, one at a time; each FUSE "
                    "client is remounted (files open there are interrupted).\n"
                    "Type 'yes' to go on: ", from, to);
    char line[64];
    if (cmd_read_answer(line, sizeof(line)) < 0) return 0;
    if (strcmp(line, "yes")) {
        log_error("not confirmed; nothing was changed");
        return 0;
    }
    return 1;
}

/* The first unit the state file does not record as done with image, or
 * the unit count. */
static size_t first_undone(const struct plan_ctx *ctx, const struct m3fs_state *st,
                           const char *image)
{
    size_t n = upgrade_unit_count(ctx), i = 0;
    for (; i < n; i++) {
        char *key = upgrade_unit_key(ctx, i);
        const char *v = state_get_done(st, key);
        int done = v && !strcmp(v, image);
        free(key);
        if (!done) break;
    }
    return i;
}

/* Move unit i back to old (its container is skipped when it never left). */
static void rollback(const struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc,
                     size_t i, const char *old)
{
    char *name = upgrade_unit_name(ctx, i);
    struct plan p = { 0 };
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    log_warn("moving %s back to %s", name, old);
    if (plan_build_upgrade_unit(ctx, i, old, 0, &p) < 0)
        log_error("cannot plan the rollback of %s: %s", name, ctx->err.buf);
    else if (plan_run(&p, ctx->st, rc, cctx->parallel, &rs, &err) == 0)
        log_error("the upgrade stopped at %s, which is back on %s; the units before it run "
                  "the new image. Fix the cause and run the same command again to resume.",
                  name, old);
    else
        log_error("the rollback of %s to %s failed too:\n%s", name, old, err.buf);
    plan_free(&p);
    sb_release(&err);
    free(name);
}

static int run(const struct cmd_ctx *cctx, struct plan_ctx *ctx, const struct plan *p,
               const char *old)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
    struct run_stats rs;
    int r = plan_run(p, ctx->st, rc, cctx->parallel, &rs, &err);
    const char *img = ctx->image[IMG_3FS];
    if (r == 0) {
        printf("3FS cluster '%s' runs %s (%zu actions ran, %zu were already done).\n"
               "Set images.3fs.tag: %s in %s: `cluster create` starts the image it names.\n",
               cfg->name, img, rs.changed, rs.skipped, cfg->images.img[IMG_3FS].tag,
               cfg->file);
    } else if (r == PLAN_INTERRUPTED) {
        log_error("interrupted; run the same command again to resume");
    } else {
        log_error("%s", err.buf);
        size_t i = first_undone(ctx, ctx->st, img);
        if (i < upgrade_unit_count(ctx) && !strstr(err.buf, "3fs: check that"))
            rollback(cctx, ctx, rc, i, old);
    }
    remote_ctx_free(rc);
    sb_release(&err);
    return r == 0 ? EXIT_OK : EXIT_FAIL;
}

static int exec_upgrade(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    if (!o.tag || !*o.tag)
        return cmd_usage_error(cctx, "--image-tag TAG is required: the tag cluster.yml names "
                                     "is the image the cluster runs and the one a failed unit "
                                     "goes back to");
    char *old = config_image_ref(cfg, IMG_3FS);
    free(cfg->images.img[IMG_3FS].tag);
    cfg->images.img[IMG_3FS].tag = xstrdup(o.tag);
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { 0 };
    struct plan p = { 0 };
    int rc = EXIT_FAIL;
    if (!st) {
        log_error("%s", err.buf);
    } else if (!st->existed && !cctx->dry_run) {
        log_error("no state file %s: upgrade works on a cluster `m3fs cluster create` made "
                  "with this cluster.yml", path);
    } else if (plan_ctx_init(&ctx, cfg, st, 0) < 0 || plan_build_upgrade(&ctx, &p) < 0) {
        log_error("cannot plan the upgrade: %s", ctx.err.buf);
    } else if (!strcmp(old, ctx.image[IMG_3FS])) {
        log_error("cluster.yml names %s already: nothing to upgrade", old);
    } else if (cctx->dry_run) {
        struct strbuf out = STRBUF_INIT;
        sb_addf(&out, "Plan to upgrade cluster '%s' from %s to %s (%zu units, %zu steps). "
                "A unit that does not come back is moved back to %s and the upgrade stops. "
                "Nothing was changed.\n", cfg->name, old, ctx.image[IMG_3FS],
                upgrade_unit_count(&ctx), p.n, old);
        plan_print(&p, cfg, &out);
        fwrite(out.buf, 1, out.len, stdout);
        sb_release(&out);
        rc = EXIT_OK;
    } else if (confirmed(old, ctx.image[IMG_3FS])) {
        rc = run(cctx, &ctx, &p, old);
    }
    plan_free(&p);
    plan_ctx_release(&ctx);
    state_free(st);
    free(path), free(old);
    sb_release(&err);
    return rc;
}

const struct cmd_entry cmd_cluster_upgrade_entry = {
    .name = "upgrade",
    .usage = "-c FILE --image-tag TAG [--workdir DIR] [--registry R] [--yes] [--dry-run]",
    .summary = "Move the 3FS services to another image one node at a time (rolling)",
    .opts = opts,
    .exec = exec_upgrade,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN,
};
