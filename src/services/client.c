/* services/client.c: the FUSE client on every client node.  The host
 * mountpoint is made a shared mount (bind-mounted onto itself when the
 * mount holding it is private) so the mount made inside the container
 * reaches the node; the step ends when fuse.hf3fs is in the node's mount
 * table. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

/* `sh -c SCRIPT m3fs-client SUB MP [ARG]` (templates/m3fs-client.sh). */
static char *client_script(struct plan_ctx *ctx, const char *sub, const char *arg)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-client.sh");
    sb_addf(&sb, "%s ", sub);
    sh_quote(&sb, ctx->cfg->client.host_mountpoint);
    if (arg) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, arg);
    }
    return sb_detach(&sb);
}

static void share_step(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    char *marker = wd_path(ctx, "client/bind-mount");
    char *cmd = client_script(ctx, "share", marker), *skip = client_script(ctx, "shared", NULL);
    struct step *s = plan_add_step(p, "client", STEP_RUN, "make the host mountpoint a shared "
                                   "mount");
    s->prep = 1;
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, skip);
    free(cmd), free(skip), free(marker);
}

static void mounted_step(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    char *test = client_script(ctx, "mounted", NULL);
    struct step *s = plan_add_step(p, "client", STEP_WAIT, "wait until 3FS is mounted");
    s->wait_for = xstrfmt("a fuse.hf3fs mount at %s in /proc/mounts",
                          ctx->cfg->client.host_mountpoint);
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    s->interval_ms = FIRST_ANSWER_INTERVAL_MS;
    char *cmd = wait_guarded(test, ctx->cfg->svc[SVC_CLIENT].container_name);
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, NULL);
    free(test), free(cmd);
}

/* The nodes of all that take part (svc_node_selected); caller frees. */
static size_t *selected(const struct plan_ctx *ctx, const struct svc3fs_all *all, size_t *n)
{
    size_t *out = xcalloc(all->n ? all->n : 1, sizeof(*out));
    *n = 0;
    for (size_t i = 0; i < all->n; i++)
        if (svc_node_selected(ctx, all->nodes[i])) out[(*n)++] = all->nodes[i];
    return out;
}

/* create's client steps; with ctx->only_nodes (add-client) on those of the
 * client nodes only (the FUSE main config set-config uploads stays the
 * first client node's, as create's). */
int svc_client_create(struct plan_ctx *ctx, struct plan *p)
{
    struct svc3fs sv = { SVC_CLIENT, "client", "hf3fs_fuse_main", "Fuse", "FUSE", 0, 0, NULL };
    struct svc3fs_all all = { 0 };
    /* A fuse.hf3fs mount left by a container that is gone is stale: drop it
     * before a new container mounts there. */
    char *pre = client_script(ctx, "drop-stale", ctx->cfg->svc[SVC_CLIENT].container_name);
    sv.pre = pre;
    int rc = svc3fs_put(ctx, p, &sv, &all);
    size_t n = 0;
    size_t *nodes = selected(ctx, &all, &n);
    if (!rc && n) {
        const char *mp = ctx->cfg->client.host_mountpoint;
        share_step(ctx, p, nodes, n);
        svc3fs_set_config(ctx, p, &sv, &all);
        struct strvec extra = STRVEC_INIT;
        sv_push(&extra, "--device");
        sv_push(&extra, "/dev/fuse");
        sv_push(&extra, "--volume");
        sv_pushf(&extra, "%s:%s:rshared", mp, mp);
        svc3fs_start(ctx, p, &sv, &all, &extra);
        sv_clear(&extra);
        mounted_step(ctx, p, nodes, n);
    }
    free(nodes);
    svc3fs_all_release(&all);
    free(pre);
    return rc;
}

/* destroy's client steps on nodes[0..n): the container removed and 3FS
 * unmounted (m3fs's bind mount undone, the mountpoint removed when empty),
 * then <workDir>/client. */
static void remove_steps(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    const char *ctr = ctx->cfg->svc[SVC_CLIENT].container_name;
    char *marker = wd_path(ctx, "client/bind-mount");
    char *rm = ctr_remove_cmd(ctx, ctr, 0, NULL), *unmount = client_script(ctx, "unmount", marker);
    char *absent = ctr_absent_cmd(ctr, NULL), *gone = client_script(ctx, "unmounted", marker);
    char *cmd = xstrfmt("%s && %s", rm, unmount), *skip = xstrfmt("%s && %s", absent, gone);
    struct step *s = plan_add_step(p, "client", STEP_RUN, "remove the container and unmount "
                                   "3FS");
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, skip);
    free(rm), free(unmount), free(absent), free(gone), free(cmd), free(skip), free(marker);
    svc_remove_steps_on(ctx, p, SVC_CLIENT, "client", nodes, n);
}

int svc_client_destroy(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_CLIENT, &n);
    if (n) remove_steps(ctx, p, nodes, n);
    return 0;
}

int svc_client_delete(struct plan_ctx *ctx, struct plan *p)
{
    size_t n = 0;
    size_t *nodes = xcalloc(ctx->cfg->n_nodes ? ctx->cfg->n_nodes : 1, sizeof(*nodes));
    for (size_t i = 0; ctx->only_nodes && i < ctx->cfg->n_nodes; i++)
        if (ctx->only_nodes[i]) nodes[n++] = i;
    if (n) remove_steps(ctx, p, nodes, n);
    free(nodes);
    return 0;
}

/* `sh -c SCRIPT m3fs-life SUB [DONE_MARK] CONTAINER MP` (templates/m3fs-life.sh). */
static char *life_client(struct plan_ctx *ctx, const char *sub, int done_mark)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-life.sh");
    sb_adds(&sb, sub);
    if (done_mark) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, PLAN_DONE_MARK);
    }
    sb_addch(&sb, ' ');
    sh_quote(&sb, ctx->cfg->svc[SVC_CLIENT].container_name);
    sb_addch(&sb, ' ');
    sh_quote(&sb, ctx->cfg->client.host_mountpoint);
    return sb_detach(&sb);
}

/* First of all: the FUSE process ends with its container; its mount is
 * then dropped (a mount without its process only fails every call). */
int svc_client_stop(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    size_t *nodes = life_nodes(ctx, SVC_CLIENT, 0, &n);
    if (n) {
        char *cmd = life_client(ctx, "client-stop", 0), *skip = life_client(ctx, "client-stopped", 0);
        struct step *s = plan_add_step(p, "client", STEP_RUN, "stop containers and unmount 3FS");
        for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, skip);
        free(cmd), free(skip);
    }
    free(nodes);
    return 0;
}

/* Last: the host mountpoint made a shared mount again (a reboot undoes
 * m3fs's bind mount), the container started, create's wait for the mount. */
int svc_client_start(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    size_t *nodes = life_nodes(ctx, SVC_CLIENT, 0, &n);
    if (n) {
        share_step(ctx, p, nodes, n);
        char *cmd = life_client(ctx, "client-start", 1);
        struct step *s = plan_add_step(p, "client", STEP_RUN, "start containers");
        for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, NULL);
        step_add_hint(s, "does not exist on this node",
                      "stop and start work on a cluster `m3fs cluster create` made; create it "
                      "(again) with the same cluster.yml.");
        mounted_step(ctx, p, nodes, n);
        free(cmd);
    }
    free(nodes);
    return 0;
}

void svc_client_mounted_wait(struct plan_ctx *ctx, struct plan *p, size_t node)
{
    mounted_step(ctx, p, &node, 1);
}
