/* services/lifecycle.c: what `cluster stop|start|restart` selects
 * (ctx->only_roles, only_nodes) and the container steps each service's
 * stop / start adds (templates/m3fs-life.sh).  The order of the services
 * and their waits are in registry.c and the service modules. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

size_t *life_nodes(const struct plan_ctx *ctx, enum svc_kind k, int first_only, size_t *n)
{
    size_t all;
    const size_t *nodes = svc_nodes(ctx, k, &all);
    if (first_only && all > 1) all = 1;
    size_t *out = xcalloc(all ? all : 1, sizeof(*out));
    *n = 0;
    if (ctx->only_roles && !(ctx->only_roles & (1u << k))) return out;
    for (size_t i = 0; i < all; i++) /* a drained storage node takes no part */
        if ((!ctx->only_nodes || ctx->only_nodes[nodes[i]]) && svc_runs(ctx, nodes[i], k))
            out[(*n)++] = nodes[i];
    return out;
}

int life_selected(const struct plan_ctx *ctx, enum svc_kind k)
{
    size_t n;
    free(life_nodes(ctx, k, 0, &n));
    return n > 0;
}

/* `sh -c SCRIPT m3fs-life SUB` (templates/m3fs-life.sh), then ARG words. */
static char *life_script(const char *sub, const char *const *args, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-life.sh");
    sb_adds(&sb, sub);
    for (size_t i = 0; i < n; i++) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, args[i]);
    }
    return sb_detach(&sb);
}

void life_stop_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, int first_only,
                    long stop_s)
{
    size_t n;
    size_t *nodes = life_nodes(ctx, k, first_only, &n);
    if (n) {
        const char *ctr = ctx->cfg->svc[k].container_name;
        char *secs = stop_s ? xstrfmt("%ld", stop_s) : NULL;
        const char *args[] = { ctr, secs };
        char *cmd = life_script("stop", args, secs ? 2 : 1);
        char *skip = life_script("stopped", args, 1);
        char *title = stop_s ? xstrfmt("stop containers (SIGTERM, up to %ld s to finish)", stop_s)
                             : xstrdup("stop containers");
        struct step *s = plan_add_step(p, svc_key(k), STEP_RUN, title);
        if (stop_s) s->timeout_ms = (stop_s + 300L) * 1000L;
        for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, skip);
        free(secs), free(cmd), free(skip), free(title);
    }
    free(nodes);
}

void life_start_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, int first_only)
{
    size_t n;
    size_t *nodes = life_nodes(ctx, k, first_only, &n);
    if (n) {
        const char *args[] = { PLAN_DONE_MARK, ctx->cfg->svc[k].container_name };
        char *cmd = life_script("start", args, 2);
        struct step *s = plan_add_step(p, svc_key(k), STEP_RUN, "start containers");
        for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, NULL);
        step_add_hint(s, "does not exist on this node",
                      "stop and start work on a cluster `m3fs cluster create` made; create it "
                      "(again) with the same cluster.yml.");
        free(cmd);
    }
    free(nodes);
}

/* 3FS sends a heartbeat every 10 s (upstream src/client/mgmtd/MgmtdClient.h
 * auto_heartbeat_interval); until a (re)started container's first one,
 * list-nodes and list-targets may still show mgmtd's view of the process
 * before it, HEARTBEAT_CONNECTED and UPTODATE, and the waits after it pass
 * on that. */
void life_settle_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const size_t *nodes,
                      size_t n, const char *title)
{
    life_settle_for_step(ctx, p, k, nodes, n, LIFE_SETTLE_S, title);
}

void life_settle_for_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k,
                          const size_t *nodes, size_t n, int secs_n, const char *title)
{
    if (!n) return;
    const char *ctr = ctx->cfg->svc[k].container_name;
    char *secs = xstrfmt("%d", secs_n);
    const char *args[] = { ctr, secs };
    char *check = life_script("settled", args, 2);
    char *cmd = wait_guarded(check, ctr);
    struct step *s = plan_add_step(p, svc_key(k), STEP_WAIT, title);
    s->wait_for = xstrfmt("%s to run %d s since it started", ctr, secs_n);
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    if (s->timeout_ms < (secs_n + 60) * 1000L) s->timeout_ms = (secs_n + 60) * 1000L;
    s->interval_ms = FIRST_ANSWER_INTERVAL_MS;
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, NULL);
    free(secs), free(check), free(cmd);
}
