/* cmd/clients.c: the part `cluster add-client` and `delete-client` share
 * (clients.h): the nodes read before planning; then --dry-run, or the
 * question and the run (cmd_run_plan()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

#define PROBE_TIMEOUT_MS 60000L

struct probe_arg {
    const char *cmd;
    unsigned *facts;
};

static int probe_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct probe_arg *a = arg;
    struct strbuf out = STRBUF_INIT;
    int r = remote_run(s, a->cmd, 1, PROBE_TIMEOUT_MS, &out, err);
    if (!r) r = client_probe_parse(out.buf, &a->facts[node], err);
    sb_release(&out);
    return r;
}

int clients_probe(struct plan_ctx *ctx, struct remote_ctx *rc, long parallel,
                  const unsigned char *want, unsigned *facts)
{
    const struct m3fs_config *cfg = ctx->cfg;
    size_t n = 0, nfail = 0;
    size_t *idx = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(*idx));
    for (size_t i = 0; i < cfg->n_nodes; i++)
        if (want[i]) idx[n++] = i;
    char *cmd = client_probe_cmd(ctx);
    struct probe_arg a = { cmd, facts };
    struct strbuf *errs = remote_ctx_run_errs(rc, idx, n, parallel, probe_node, &a, &nfail);
    if (nfail) {
        struct strbuf msg = STRBUF_INIT;
        sb_addf(&msg, "could not read what %zu of %zu nodes have of the FUSE client; nothing "
                "was changed:", nfail, n);
        for (size_t k = 0; k < n; k++)
            if (errs[k].len) sb_addf(&msg, "\n  %s", errs[k].buf);
        log_error("%s", msg.buf);
        sb_release(&msg);
    }
    remote_errs_free(errs, n);
    free(cmd), free(idx);
    return nfail ? -1 : 0;
}

void clients_names(const struct m3fs_config *cfg, const unsigned char *marks, struct strbuf *out)
{
    size_t before = out->len;
    for (size_t i = 0; i < cfg->n_nodes; i++)
        if (marks[i]) sb_addf(out, "%s%s", out->len > before ? ", " : "", cfg->nodes[i].name);
}

void clients_list(const struct m3fs_config *cfg, const unsigned char *marks,
                  const unsigned *facts, struct strbuf *out)
{
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        if (!marks[i]) continue;
        sb_addf(out, "  %s: ", cfg->nodes[i].name);
        client_facts_words(facts[i], out);
        sb_addch(out, '\n');
    }
}

/* --dry-run: what changes, then the plan. */
static void print_plan(const struct m3fs_config *cfg, const struct clients_go *g)
{
    struct strbuf out = STRBUF_INIT;
    sb_adds(&out, g->text);
    sb_addf(&out, "Plan to %s the FUSE client on %s (%zu steps). Nothing was changed.\n",
            g->verb, g->names, g->p->n);
    plan_print(g->p, cfg, &out);
    fwrite(out.buf, 1, out.len, stdout);
    sb_release(&out);
}

int clients_go(const struct cmd_ctx *cctx, struct m3fs_state *st, const struct clients_go *g)
{
    if (cctx->dry_run) {
        print_plan(cctx->cfg, g);
        return EXIT_OK;
    }
    if (!g->yes && !cmd_confirm_yes(g->text, 1)) return EXIT_FAIL;
    struct cmd_run run = { .p = g->p, .st = st, .rc = g->rc, .done = g->done };
    return cmd_run_plan(cctx, &run);
}
