/* m3fs cluster upgrade: move the containers to the images cluster.yml
 * names (or the 3FS image of --image-tag) one unit at a time
 * (plan_build_upgrade, include/m3fs/deploy.h; docs/lifecycle.md).  What
 * runs is read from the nodes first (upgrade-probe.c): the images to roll
 * back to, the primary mgmtd (upgraded last), and contract B15's verdict.
 * The first unit that does not come back is moved back to its old image
 * and the upgrade stops; the same command resumes (the state file records
 * the units done and the image each ran before). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drained.h"
#include "lifecycle.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    const char *tag;
    int yes, force;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING(0, "image-tag", &o.tag, "TAG",
               "move the 3FS services to this tag (same repository and registry as "
               "images.3fs) instead of the one cluster.yml names"),
    OPT_BOOL(0, "force", &o.force, "upgrade even across a change of the chain-shuffle build "
             "method (contract B15; files then map to other chains)"),
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

/* "3FS to X, fdb to Y": the distinct target images of the units. */
static void targets(const struct plan_ctx *ctx, struct strbuf *out)
{
    const char *names[] = { "3FS", "fdb", "ClickHouse" };
    const enum img_kind iks[] = { IMG_3FS, IMG_FDB, IMG_CLICKHOUSE };
    size_t n = upgrade_unit_count(ctx);
    for (size_t j = 0; j < ARRAY_SIZE(iks); j++) {
        int used = 0;
        for (size_t i = 0; i < n && !used; i++)
            used = !strcmp(upgrade_unit_image(ctx, i), ctx->image[iks[j]]);
        if (used) sb_addf(out, "%s%s to %s", out->len ? ", " : "", names[j], ctx->image[iks[j]]);
    }
}

static int confirmed(const char *what)
{
    if (o.yes) return 1;
    char *q = xstrfmt("This moves %s, one container at a time; each FUSE client is remounted "
                      "(files open there are interrupted).\n", what);
    int ok = cmd_confirm_yes(q, 0);
    free(q);
    return ok;
}

/* The first unit the state file does not record as done with its image,
 * or the unit count. */
static size_t first_undone(const struct plan_ctx *ctx, const struct m3fs_state *st)
{
    size_t n = upgrade_unit_count(ctx), i = 0;
    for (; i < n; i++) {
        char *key = upgrade_unit_key(ctx, i);
        const char *v = state_get_done(st, key);
        int done = v && !strcmp(v, upgrade_unit_image(ctx, i));
        free(key);
        if (!done) break;
    }
    return i;
}

/* Move unit i back to the image it ran before (its container is skipped
 * when it never left it). */
static void rollback(const struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc,
                     size_t i)
{
    char *name = upgrade_unit_name(ctx, i);
    const char *old = upgrade_unit_from(ctx, i);
    struct plan p = { 0 };
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    if (!old) {
        log_error("the upgrade stopped at %s; its image before the upgrade is not known (no "
                  "container of it ran when the upgrade began), so it is not moved back",
                  name);
        free(name);
        return;
    }
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

static int run(const struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc,
               const struct plan *p, const char *what)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    upgrade_record_from(ctx);
    int r = state_save(ctx->st, &err) < 0 ? -1
            : plan_run(p, ctx->st, rc, cctx->parallel, &rs, &err);
    if (r == 0) {
        printf("3FS cluster '%s' upgraded: %s (%zu actions ran, %zu were already done).\n",
               cfg->name, what, rs.changed, rs.skipped);
        if (o.tag)
            printf("Set images.3fs.tag: %s in %s: `cluster create` starts the image it names.\n",
                   o.tag, cfg->file);
    } else if (r == PLAN_INTERRUPTED) {
        log_error("interrupted; run the same command again to resume");
    } else {
        log_error("%s", err.buf);
        size_t i = first_undone(ctx, ctx->st);
        if (i < upgrade_unit_count(ctx) && !strstr(err.buf, "3fs: check that"))
            rollback(cctx, ctx, rc, i);
    }
    sb_release(&err);
    return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* With what runs known (ctx->up): the verdict, the plan, then dry-run,
 * refusal or the run. */
static int plan_and_run(struct cmd_ctx *cctx, struct plan_ctx *ctx, struct remote_ctx *rc)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf what = STRBUF_INIT, b15 = STRBUF_INIT, order = STRBUF_INIT;
    struct plan p = { 0 };
    int rc_ = EXIT_FAIL;
    targets(ctx, &what);
    int verdict = upgrade_b15_verdict(ctx, &b15);
    int refused = verdict == UPGRADE_B15_CHANGED && !o.force;
    upgrade_mgmtd_order(ctx, &order);
    if (!upgrade_needed(ctx)) {
        printf("Every container of cluster '%s' runs the image cluster.yml names%s: nothing "
               "to upgrade.\n", cfg->name, o.tag ? " (3FS: --image-tag)" : "");
        rc_ = EXIT_OK;
    } else if (plan_build_upgrade(ctx, &p) < 0) {
        log_error("cannot plan the upgrade: %s", ctx->err.buf);
    } else if (cctx->dry_run) {
        struct strbuf out = STRBUF_INIT;
        sb_addf(&out, "Plan to upgrade cluster '%s': %s (%zu units, %zu steps). A unit that "
                "does not come back is moved back to the image it ran and the upgrade "
                "stops. Nothing was changed.\n%s.\n%s.\n", cfg->name, what.buf,
                upgrade_unit_count(ctx), p.n, order.buf, b15.buf);
        plan_print(&p, cfg, &out);
        fwrite(out.buf, 1, out.len, stdout);
        sb_release(&out);
        rc_ = refused ? EXIT_FAIL : EXIT_OK;
    } else if (refused) {
        log_error("%s. Upgrading across it makes 3FS look for existing files on other chains "
                  "(deepseek-ai/3FS #368); --force does it anyway. Nothing was changed.",
                  b15.buf);
    } else {
        log_info("%s", b15.buf);
        log_info("%s", order.buf);
        if (confirmed(what.buf)) rc_ = run(cctx, ctx, rc, &p, what.buf);
    }
    plan_free(&p);
    sb_release(&what), sb_release(&b15), sb_release(&order);
    return rc_;
}

static int exec_upgrade(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    if (o.tag && !*o.tag) return cmd_usage_error(cctx, "--image-tag: the tag is empty");
    if (o.tag) {
        free(cfg->images.img[IMG_3FS].tag);
        cfg->images.img[IMG_3FS].tag = xstrdup(o.tag);
    }
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { 0 };
    struct upgrade_facts facts;
    upgrade_facts_init(&facts, cfg->n_nodes);
    struct remote_ctx *rc = NULL;
    unsigned char *skip = NULL;
    int code = EXIT_FAIL;
    if (!st) {
        log_error("%s", err.buf);
    } else if (!st->existed && !cctx->dry_run) {
        log_error("no state file %s: upgrade works on a cluster `m3fs cluster create` made "
                  "with this cluster.yml", path);
    } else if (plan_ctx_init(&ctx, cfg, st, 0) < 0) {
        log_error("cannot plan the upgrade: %s", ctx.err.buf);
    } else if (cmd_drained(cfg, st, &ctx, DR_UPGRADE, "upgrade", &skip) < 0) {
        ; /* refused before any node was read: said why */
    } else {
        rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
        if (upgrade_read_nodes(&ctx, rc, &facts, &err) < 0) {
            log_error("%s", err.buf);
        } else {
            ctx.up = &facts;
            code = plan_and_run(cctx, &ctx, rc);
        }
    }
    if (rc) remote_ctx_free(rc);
    upgrade_facts_release(&facts);
    plan_ctx_release(&ctx);
    state_free(st);
    free(path), free(skip);
    sb_release(&err);
    return code;
}

const struct cmd_entry cmd_cluster_upgrade_entry = {
    .name = "upgrade",
    .usage = "-c FILE [--image-tag TAG] [--force] [--workdir DIR] [--registry R] [--yes] "
             "[--dry-run]",
    .summary = "Move the services to the images cluster.yml names one node at a time (rolling)",
    .opts = opts,
    .exec = exec_upgrade,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
