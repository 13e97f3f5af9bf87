/* services/client.c: the FUSE client on every client node.  The host
 * mountpoint is made a shared mount (bind-mounted onto itself when the
 * mount holding it is private) so the mount made inside the container
 * reaches the node; the step ends when fuse.hf3fs is in the node's mount
 * table. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

/* awk test: a fuse.hf3fs mount at the mountpoint in /proc/mounts. */
static char *fuse_mounted(const char *mp)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "awk -v mp=");
    sh_quote(&sb, mp);
    sb_adds(&sb, " '$2 == mp && $3 == \"fuse.hf3fs\" {f = 1} END {exit !f}' /proc/mounts");
    return sb_detach(&sb);
}

static void share_step(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    const char *mp = ctx->cfg->client.host_mountpoint;
    char *marker = wd_path(ctx, "client/bind-mount");
    struct strbuf q = STRBUF_INIT, cmd = STRBUF_INIT, skip = STRBUF_INIT;
    sh_quote(&q, mp);
    sb_addf(&skip, "findmnt -n -o PROPAGATION --target %s | grep -q shared", q.buf);
    sb_addf(&cmd, "mkdir -p %s && if ! %s; then mkdir -p \"$(dirname ", q.buf, skip.buf);
    sh_quote(&cmd, marker);
    sb_addf(&cmd, ")\" && mount --bind %s %s && mount --make-rshared %s && touch ", q.buf,
            q.buf, q.buf);
    sh_quote(&cmd, marker);
    sb_adds(&cmd, "; fi");
    struct step *s = plan_add_step(p, "client", STEP_RUN, "make the host mountpoint a shared "
                                   "mount");
    s->prep = 1;
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd.buf, skip.buf);
    sb_release(&q), sb_release(&cmd), sb_release(&skip);
    free(marker);
}

static void mounted_step(struct plan_ctx *ctx, struct plan *p, const size_t *nodes, size_t n)
{
    char *test = fuse_mounted(ctx->cfg->client.host_mountpoint);
    struct step *s = plan_add_step(p, "client", STEP_WAIT, "wait until 3FS is mounted");
    s->wait_for = xstrfmt("a fuse.hf3fs mount at %s in /proc/mounts",
                          ctx->cfg->client.host_mountpoint);
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    s->interval_ms = 1000;
    char *cmd = wait_guarded(test, ctx->cfg->svc[SVC_CLIENT].container_name);
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd, NULL);
    free(test), free(cmd);
}

int svc_client_create(struct plan_ctx *ctx, struct plan *p)
{
    struct svc3fs sv = { SVC_CLIENT, "client", "hf3fs_fuse_main", "Fuse", "FUSE", 0, 0, NULL };
    struct svc3fs_all all = { 0 };
    /* A fuse.hf3fs mount left by a container that is gone is stale: drop it
     * before a new container mounts there. */
    char *mounted = fuse_mounted(ctx->cfg->client.host_mountpoint);
    struct strbuf pre = STRBUF_INIT;
    sb_addf(&pre, "if %s; then docker rm -f ", mounted);
    sh_quote(&pre, ctx->cfg->svc[SVC_CLIENT].container_name);
    sb_adds(&pre, " >/dev/null 2>&1; umount -l ");
    sh_quote(&pre, ctx->cfg->client.host_mountpoint);
    sb_adds(&pre, "; fi");
    sv.pre = pre.buf;
    int rc = svc3fs_put(ctx, p, &sv, &all);
    if (!rc && all.n) {
        const char *mp = ctx->cfg->client.host_mountpoint;
        share_step(ctx, p, all.nodes, all.n);
        svc3fs_set_config(ctx, p, &sv, &all);
        struct strvec extra = STRVEC_INIT;
        sv_push(&extra, "--device");
        sv_push(&extra, "/dev/fuse");
        sv_push(&extra, "--volume");
        sv_pushf(&extra, "%s:%s:rshared", mp, mp);
        svc3fs_start(ctx, p, &sv, &all, &extra);
        sv_clear(&extra);
        mounted_step(ctx, p, all.nodes, all.n);
    }
    svc3fs_all_release(&all);
    sb_release(&pre);
    free(mounted);
    return rc;
}

int svc_client_destroy(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_CLIENT, &n);
    if (!n) return 0;
    const char *mp = ctx->cfg->client.host_mountpoint;
    char *rm = ctr_remove_cmd(ctx->cfg->svc[SVC_CLIENT].container_name, 0);
    char *mounted = fuse_mounted(mp), *marker = wd_path(ctx, "client/bind-mount");
    struct strbuf q = STRBUF_INIT, cmd = STRBUF_INIT;
    sh_quote(&q, mp);
    sb_addf(&cmd, "%s && while %s; do umount -l %s || exit 1; done && if test -e ", rm, mounted,
            q.buf);
    sh_quote(&cmd, marker);
    sb_addf(&cmd, "; then if mountpoint -q %s; then umount -l %s; fi && rm -f ", q.buf, q.buf);
    sh_quote(&cmd, marker);
    sb_addf(&cmd, "; fi && rmdir %s 2>/dev/null; true", q.buf);
    char *skip = ctr_absent_cmd(ctx->cfg->svc[SVC_CLIENT].container_name, NULL);
    struct strbuf sk = STRBUF_INIT;
    sb_addf(&sk, "%s && ! %s && ! test -e ", skip, mounted);
    sh_quote(&sk, marker);
    struct step *s = plan_add_step(p, "client", STEP_RUN, "remove the container and unmount "
                                   "3FS");
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], cmd.buf, sk.buf);
    sb_release(&q), sb_release(&cmd), sb_release(&sk);
    free(rm), free(mounted), free(marker), free(skip);
    svc_remove_steps(ctx, p, SVC_CLIENT, "client", 0);
    return 0;
}
