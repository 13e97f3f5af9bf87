/* Helpers shared by commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/network.h"
#include "m3fs/plan.h"
#include "m3fs/remote.h"

struct m3fs_config *cmd_load_config(const char *path, const struct config_overrides *ov)
{
    struct diag_list dl = { 0 };
    struct m3fs_config *cfg = config_load_file(path, ov, &dl);
    diag_print(&dl, stderr);
    if (!cfg)
        log_error("%s has %d error%s; nothing was changed", path, dl.errors, plural_s(dl.errors));
    diag_list_free(&dl);
    return cfg;
}

int cmd_select_nodes(struct cmd_ctx *ctx, const struct strvec *roles,
                     const struct strvec *names, struct cmd_nodes *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->cfg = ctx->cfg;
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_OK;
    if (remote_select_nodes(sel->cfg, roles, names, &sel->idx, &sel->n, &err)) {
        rc = cmd_usage_error(ctx, "%s", err.buf);
    } else if (!sel->n) {
        log_error("no node matches the selection");
        rc = EXIT_FAIL;
    }
    sb_release(&err);
    if (rc) cmd_nodes_release(sel);
    return rc;
}

int cmd_read_answer(char *line, size_t n)
{
    fflush(stderr);
    if (!fgets(line, (int)n, stdin)) {
        fputc('\n', stderr);
        log_error("no answer on standard input; nothing was changed (use --yes to skip the "
                  "question)");
        return -1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return 0;
}

int cmd_confirm_yes(const char *question, int need_tty)
{
    fputs(question, stderr);
    if (need_tty && !isatty(STDIN_FILENO)) {
        log_error("no terminal to ask on and no --yes; nothing was changed");
        return 0;
    }
    fputs("Type 'yes' to go on: ", stderr);
    char line[64];
    if (cmd_read_answer(line, sizeof(line)) < 0) return 0;
    if (strcmp(line, "yes")) {
        log_error("not confirmed; nothing was changed");
        return 0;
    }
    return 1;
}

void cmd_nodes_release(struct cmd_nodes *sel)
{
    free(sel->idx);
    memset(sel, 0, sizeof(*sel));
}

static void print_plan(const struct plan *p, const struct m3fs_config *cfg, const char *title,
                       size_t n_nodes)
{
    struct strbuf out = STRBUF_INIT;
    sb_addf(&out, "Plan to %s on %zu node%s. Nothing was changed.\n", title, n_nodes,
            plural_s(n_nodes));
    plan_print(p, cfg, &out);
    fwrite(out.buf, 1, out.len, stdout);
    sb_release(&out);
}

/* Run plan p (one CALL step) over ctx's remote options; the per-node
 * errors land in the step's node_errs. */
static void run_call_plan(const struct cmd_ctx *ctx, const struct plan *p)
{
    struct remote_ctx *rc = remote_ctx_new(ctx->cfg->nodes, ctx->cfg->n_nodes, &ctx->ro);
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    int r = plan_run(p, NULL, rc, ctx->parallel, &rs, &err);
    if (r == PLAN_INTERRUPTED) log_error("interrupted: run the command again to finish");
    else if (r && err.len) log_debug("%s", err.buf);
    sb_release(&err);
    remote_ctx_free(rc);
}

struct strbuf *cmd_run_nodes(const struct cmd_ctx *ctx, const struct cmd_nodes *sel,
                             const struct cmd_call *call, size_t *failed)
{
    struct strbuf *all = xcalloc(sel->cfg->n_nodes, sizeof(*all));
    for (size_t i = 0; i < sel->cfg->n_nodes; i++) sb_init(&all[i], 0);
    struct step_call c = { .on_node = call->fn, .arg = call->arg, .node_errs = all };
    struct plan p = { 0 };
    struct step *s = plan_add_call(&p, call->service, call->title, &c);
    for (size_t k = 0; k < sel->n; k++) step_add_call(s, sel->idx[k], call->what);
    struct strbuf *errs = NULL;
    *failed = 0;
    if (ctx->dry_run) {
        print_plan(&p, sel->cfg, call->title, sel->n);
    } else {
        run_call_plan(ctx, &p);
        errs = xcalloc(sel->n, sizeof(*errs));
        for (size_t k = 0; k < sel->n; k++) {
            errs[k] = all[sel->idx[k]];
            sb_init(&all[sel->idx[k]], 0);
            *failed += errs[k].len > 0;
        }
    }
    plan_free(&p);
    remote_errs_free(all, sel->cfg->n_nodes);
    return errs;
}

void cmd_errs_free(struct strbuf *errs, size_t n)
{
    remote_errs_free(errs, n);
}

/* The nodes the plan touches, in config order; caller frees. */
static size_t *plan_nodes(const struct plan *p, size_t n_nodes, size_t *n)
{
    unsigned char *used = xcalloc(n_nodes ? n_nodes : 1, 1);
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->steps[i].n; k++) used[p->steps[i].t[k].node] = 1;
    size_t *idx = xcalloc(n_nodes ? n_nodes : 1, sizeof(*idx));
    *n = 0;
    for (size_t i = 0; i < n_nodes; i++)
        if (used[i]) idx[(*n)++] = i;
    free(used);
    return idx;
}

static int preflight_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    const struct m3fs_config *cfg = arg;
    if (remote_run(s, "true", 1, 30000, NULL, err)) return 1;
    return config_node_runs_3fs(cfg, node) && net_listen_preflight(s, cfg, node, NULL, err);
}

/* Before anything changes: log in to every node the plan touches (in
 * parallel) and run a command as root there; on nodes that run a 3FS
 * listener, check 3FS would find its NICs (docs/network.md).  Fails naming
 * every node that cannot be used, and why. */
int cmd_preflight(const struct m3fs_config *cfg, const struct plan *p, struct remote_ctx *rc,
                     long parallel)
{
    size_t n, *idx = plan_nodes(p, cfg->n_nodes, &n);
    size_t nfail;
    struct strbuf *errs =
        remote_ctx_run_errs(rc, idx, n, parallel, preflight_node, (void *)cfg, &nfail);
    if (nfail) {
        struct strbuf msg = STRBUF_INIT;
        sb_addf(&msg, "%zu of %zu nodes cannot be used; nothing was changed:", nfail, n);
        for (size_t k = 0; k < n; k++) {
            const struct m3fs_node *nd = &cfg->nodes[idx[k]];
            const char *name = config_node_label(nd);
            if (!errs[k].len) continue;
            sb_adds(&msg, "\n  ");
            if (strncmp(errs[k].buf, name, strlen(name))) sb_addf(&msg, "%s: ", name);
            sb_add(&msg, errs[k].buf, errs[k].len);
        }
        sb_addf(&msg, "\nfix what each line says (the node's host, port, login or sudo in %s, or "
                "its NICs; or take the node out of the services), then run the same command "
                "again", cfg->file);
        log_error("%s", msg.buf);
        sb_release(&msg);
    }
    remote_errs_free(errs, n);
    free(idx);
    return nfail ? -1 : 0;
}

/* How a run of cmd_run_plan() went (r: plan_run's result). */
static void say_run(int r, const struct run_stats *rs, const char *done, const char *err)
{
    if (r == 0)
        printf("%s (%zu actions ran, %zu were already done).\n", done, rs->changed, rs->skipped);
    else if (r == PLAN_INTERRUPTED)
        log_error("interrupted; run the same command again to finish");
    else
        log_error("%s\nfix the cause and run the same command again to finish", err);
}

int cmd_run_plan(const struct cmd_ctx *ctx, const struct cmd_run *run)
{
    struct strbuf err = STRBUF_INIT;
    struct remote_ctx *own = run->rc ? NULL
                             : remote_ctx_new(ctx->cfg->nodes, ctx->cfg->n_nodes, &ctx->ro);
    struct run_stats rs;
    int r = plan_run(run->p, run->st, own ? own : run->rc, ctx->parallel, &rs, &err);
    if (own) remote_ctx_free(own);
    if (r == 0 && run->on_done) run->on_done(run->st);
    say_run(r, &rs, run->done, err.buf);
    sb_release(&err);
    return r == 0 ? EXIT_OK : EXIT_FAIL;
}
