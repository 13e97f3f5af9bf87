/* Helpers shared by commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
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

void cmd_nodes_release(struct cmd_nodes *sel)
{
    free(sel->idx);
    memset(sel, 0, sizeof(*sel));
}

struct strbuf *cmd_run_nodes(const struct cmd_ctx *ctx, const struct cmd_nodes *sel,
                             remote_step_fn fn, void *arg, size_t *failed)
{
    struct remote_ctx *rc = remote_ctx_new(sel->cfg->nodes, sel->cfg->n_nodes, &ctx->ro);
    struct strbuf *errs = remote_ctx_run_errs(rc, sel->idx, sel->n, ctx->parallel, fn, arg, failed);
    remote_ctx_free(rc);
    return errs;
}

void cmd_errs_free(struct strbuf *errs, size_t n)
{
    remote_errs_free(errs, n);
}
