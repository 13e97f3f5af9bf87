/* cmd/lifecycle.c: `cluster stop`, `start` and `restart` (lifecycle.h,
 * docs/lifecycle.md): the selection, then one plan of the step model run
 * by the plan runner (progress, --dry-run, SIGINT, a second run resumes:
 * stopped or running containers are skipped). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drained.h"
#include "lifecycle.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

/* --role / --node of whichever of the three commands runs. */
static struct {
    struct strvec roles, names;
} o;

const struct opt_spec life_opts[] = {
    OPT_LIST(0, "role", &o.roles, "ROLE", "only this service (fdb, clickhouse, monitor, mgmtd, "
             "meta, storage, client); repeatable"),
    OPT_LIST(0, "node", &o.names, "NAME", "only the services on this node; repeatable"),
    OPT_END(),
};

/* The services stop and start act on (those `cluster create` deploys). */
static const enum svc_kind life_kinds[] = {
    SVC_FDB, SVC_CLICKHOUSE, SVC_MONITOR, SVC_MGMTD, SVC_META, SVC_STORAGE, SVC_CLIENT,
};

static void list_kinds(struct strbuf *sb)
{
    for (size_t i = 0; i < ARRAY_SIZE(life_kinds); i++)
        sb_addf(sb, "%s%s", i ? ", " : "", svc_key(life_kinds[i]));
}

static int parse_roles(const struct strvec *roles, unsigned *mask, struct strbuf *err)
{
    *mask = 0;
    for (size_t r = 0; roles && r < roles->n; r++) {
        size_t i = 0;
        while (i < ARRAY_SIZE(life_kinds) && strcmp(svc_key(life_kinds[i]), roles->v[r])) i++;
        if (i == ARRAY_SIZE(life_kinds)) {
            sb_addf(err, "--role: unknown service '%s' (the services of cluster.yml: ",
                    roles->v[r]);
            list_kinds(err);
            sb_addch(err, ')');
            return -1;
        }
        *mask |= 1u << life_kinds[i];
    }
    return 0;
}

int life_parse_nodes(const struct m3fs_config *cfg, const struct strvec *names,
                       unsigned char **sel, struct strbuf *err)
{
    *sel = NULL;
    if (!names || !names->n) return 0;
    *sel = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, 1);
    for (size_t j = 0; j < names->n; j++) {
        size_t i = 0;
        while (i < cfg->n_nodes && strcmp(cfg->nodes[i].name, names->v[j])) i++;
        if (i == cfg->n_nodes) {
            sb_addf(err, "--node: no node named '%s' in %s (nodes:", names->v[j], cfg->file);
            for (size_t k = 0; k < cfg->n_nodes; k++)
                sb_addf(err, "%s %s", k ? "," : "", cfg->nodes[k].name);
            sb_addch(err, ')');
            free(*sel);
            *sel = NULL;
            return -1;
        }
        (*sel)[i] = 1;
    }
    return 0;
}

static const char *const verbs[] = { "stop", "start", "restart" };
static const char *const done_words[] = { "stopped", "started", "restarted" };

static int build(struct plan_ctx *ctx, enum life_op op, struct plan *p)
{
    if (op != LIFE_START && plan_build_stop(ctx, p) < 0) return -1;
    if (op != LIFE_STOP && plan_build_start(ctx, p) < 0) return -1;
    return 0;
}

/* "" or " (roles: a, b; nodes: x)" */
static void describe(const struct strvec *roles, const struct strvec *names, struct strbuf *sb)
{
    if (!roles->n && !names->n) return;
    sb_adds(sb, " (");
    for (size_t i = 0; i < roles->n; i++) sb_addf(sb, "%s%s", i ? ", " : "", roles->v[i]);
    if (roles->n && names->n) sb_adds(sb, " on ");
    for (size_t i = 0; i < names->n; i++) sb_addf(sb, "%s%s", i ? ", " : "", names->v[i]);
    sb_addch(sb, ')');
}

/* Under the cluster's lock, the dispatcher's (CMD_LOCK in the entries). */
static int run(const struct cmd_ctx *cctx, struct m3fs_state *st, const struct plan *p,
               enum life_op op, const char *what)
{
    char *done = xstrfmt("3FS cluster '%s' %s%s", cctx->cfg->name, done_words[op], what);
    struct cmd_run run = { .p = p, .st = st, .done = done };
    int code = cmd_run_plan(cctx, &run);
    free(done);
    return code;
}

static int plan_and_run(struct cmd_ctx *cctx, enum life_op op, struct plan_ctx *ctx,
                        struct m3fs_state *st, const char *what)
{
    struct plan p = { 0 };
    int rc = EXIT_FAIL;
    struct strbuf drained = STRBUF_INIT;
    if (build(ctx, op, &p) < 0) {
        log_error("cannot plan the %s: %s", verbs[op], ctx->err.buf);
    } else if (!p.n && drained_selected(ctx, &drained)) {
        log_error("nothing to %s: `m3fs cluster remove-storage-nodes` drained storage on %s "
                  "(state file %s): no targets, its storage container removed; no other service "
                  "of the selection%s runs on the selected nodes in %s", verbs[op], drained.buf,
                  st->path, what, cctx->cfg->file);
    } else if (!p.n) {
        log_error("nothing to %s: no service of the selection%s runs on the selected nodes "
                  "in %s", verbs[op], what, cctx->cfg->file);
    } else if (cctx->dry_run) {
        struct strbuf out = STRBUF_INIT;
        sb_addf(&out, "Plan to %s cluster '%s'%s (%zu steps). Nothing was changed.\n", verbs[op],
                cctx->cfg->name, what, p.n);
        plan_print(&p, cctx->cfg, &out);
        fwrite(out.buf, 1, out.len, stdout);
        sb_release(&out);
        rc = EXIT_OK;
    } else {
        if (!st->existed)
            log_warn("no state file %s: was the cluster created with this cluster.yml? "
                     "Going on: stop and start need only its containers", st->path);
        rc = run(cctx, st, &p, op, what);
    }
    plan_free(&p);
    sb_release(&drained);
    return rc;
}

int cmd_lifecycle(struct cmd_ctx *cctx, enum life_op op)
{
    const struct strvec *roles = &o.roles, *names = &o.names;
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT, what = STRBUF_INIT;
    unsigned mask;
    unsigned char *sel = NULL, *skip = NULL;
    if (parse_roles(roles, &mask, &err) < 0 || life_parse_nodes(cfg, names, &sel, &err) < 0) {
        int rc = cmd_usage_error(cctx, "%s", err.buf);
        sb_release(&err);
        return rc;
    }
    describe(roles, names, &what);
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { 0 };
    int rc = EXIT_FAIL;
    if (!st) {
        log_error("%s", err.buf);
    } else if (plan_ctx_init(&ctx, cfg, st, 0) < 0) {
        log_error("cannot plan the %s: %s", verbs[op], ctx.err.buf);
    } else {
        ctx.only_roles = mask;
        ctx.only_nodes = sel;
        /* the storage nodes remove-storage-nodes drained take no part */
        if (cmd_drained(cfg, st, &ctx, op == LIFE_STOP ? DR_STOP : DR_START, verbs[op],
                        &skip) == 0)
            rc = plan_and_run(cctx, op, &ctx, st, what.buf);
    }
    plan_ctx_release(&ctx);
    state_free(st);
    free(path), free(sel), free(skip);
    sb_release(&err), sb_release(&what);
    return rc;
}
