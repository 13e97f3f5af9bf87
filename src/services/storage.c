/* services/storage.c: data disks or directories, then the 3FS storage
 * service (node ids 10001..). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "services.h"

/* The disk tool's op; prepare also passes --format-disks when given and
 * disks, a node's nvmeDisks (listing a disk is consent to format it). */
static char *disks_cmd(struct plan_ctx *ctx, const char *op, const struct strvec *disks)
{
    const struct m3fs_config *cfg = ctx->cfg;
    char *tool = wd_path(ctx, "bin/m3fs-disks"), *base = wd_path(ctx, "storage/3fsdata");
    struct strbuf sb = STRBUF_INIT;
    sh_quote(&sb, tool);
    sb_addf(&sb, " %s ", op);
    sh_quote(&sb, base);
    sb_addf(&sb, " %ld ", cfg->storage.disk_num_per_node);
    sh_quote(&sb, cfg->storage.disk_type);
    sb_addf(&sb, " %ld", cfg->storage.sector_size);
    if (!strcmp(op, "prepare")) {
        if (ctx->format_disks) sb_adds(&sb, " --format-disks");
        if (cfg->storage.disk == DISK_NVME) {
            /* per cluster (issue 20 F5): 3fs-<4 hex of sha256(name)>, so two
             * clusters on a node never take each other's disks; an XFS label
             * holds 12 bytes, "<prefix>-<i>" */
            char hex[SHA256_HEX_LEN + 1];
            sha256_buf_hex(cfg->name, strlen(cfg->name), hex);
            sb_addf(&sb, " --label-prefix 3fs-%.4s", hex);
        }
        for (size_t i = 0; disks && i < disks->n; i++) {
            sb_adds(&sb, " --disk ");
            sh_quote(&sb, disks->v[i]);
        }
    }
    free(tool), free(base);
    return sb_detach(&sb);
}

/* The disk tool goes with the config files (one write per node), then the
 * data directories or disks are prepared. */
static int disk_steps(struct plan_ctx *ctx, struct plan *p, struct step *put,
                      const size_t *nodes, size_t n)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf script = STRBUF_INIT;
    int rc = render(ctx, "m3fs-disks.sh", &tv, &script);
    if (!rc) {
        char *tool = wd_path(ctx, "bin/m3fs-disks");
        for (size_t i = 0; i < n; i++)
            step_add_put(put, nodes[i], tool, script.buf, script.len, 0755);
        char *check = disks_cmd(ctx, "check", NULL);
        char *title = xstrfmt("prepare %ld data %s per node (%s)",
                              ctx->cfg->storage.disk_num_per_node,
                              ctx->cfg->storage.disk == DISK_DIR ? "directories" : "disks",
                              ctx->cfg->storage.disk_type);
        struct step *s = plan_add_step(p, "storage", STEP_RUN, title);
        s->prep = 1;
        for (size_t i = 0; i < n; i++) {
            char *prep = disks_cmd(ctx, "prepare", &ctx->cfg->nodes[nodes[i]].nvme_disks);
            step_add_run(s, nodes[i], prep, check);
            free(prep);
        }
        if (ctx->cfg->storage.disk == DISK_NVME)
            step_add_hint(s, "--format-disks", "NVMe disks are formatted only with your consent: "
                          "check the disks named above, then run again with --format-disks, or name "
                          "each node's data disks in its nvmeDisks.");
        free(tool), free(check), free(title);
    }
    tmpl_vars_free(&tv);
    sb_release(&script);
    return rc;
}

int svc_storage_create(struct plan_ctx *ctx, struct plan *p)
{
    struct svc3fs sv = { SVC_STORAGE, "storage", "storage_main", "StorageSerde", "STORAGE",
                         ctx->cfg->storage.rdma_port, ctx->cfg->storage.tcp_port, NULL };
    struct svc3fs_all all = { 0 };
    int rc = svc3fs_put(ctx, p, &sv, &all);
    if (!rc && all.n) rc = disk_steps(ctx, p, &p->steps[p->n - 1], all.nodes, all.n);
    if (!rc && all.n) {
        struct strvec extra = STRVEC_INIT;
        char *base = wd_path(ctx, "storage/3fsdata");
        sv_push(&extra, "--volume");
        sv_pushf(&extra, "%s:/mnt/3fsdata", base);
        svc3fs_set_config(ctx, p, &sv, &all);
        svc3fs_start(ctx, p, &sv, &all, &extra);
        sv_clear(&extra);
        free(base);
    }
    svc3fs_all_release(&all);
    return rc;
}

int svc_storage_destroy(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_STORAGE, &n);
    if (!n) return 0;
    const char *name = ctx->cfg->svc[SVC_STORAGE].container_name;
    char *rm = ctr_remove_cmd(name, STORAGE_STOP_S, NULL), *gone = ctr_absent_cmd(name, NULL);
    char *clear = disks_cmd(ctx, "clear", NULL), *base = wd_path(ctx, "storage/3fsdata");
    struct strbuf cmd = STRBUF_INIT;
    /* The tool is gone when a previous destroy finished; nothing to clear then. */
    script_call(&cmd, "m3fs-node.sh");
    sb_addf(&cmd, "tool-once %s", clear);
    char *cleared = ctr_absent_cmd(name, base);
    struct step *s = plan_add_step(p, "storage", STEP_RUN, "remove the container and clear "
                                   "the data (dir: deleted; nvme: unmounted, wiped only if m3fs "
                                   "formatted it)");
    s->timeout_ms = STORAGE_STOP_STEP_MS; /* storage is given time to flush */
    for (size_t i = 0; i < n; i++) { /* a node's targets run in order */
        step_add_run(s, nodes[i], rm, gone);
        step_add_run(s, nodes[i], cmd.buf, cleared);
    }
    free(rm), free(gone), free(clear), free(base), free(cleared);
    sb_release(&cmd);
    svc_remove_steps(ctx, p, SVC_STORAGE, "storage", 0);
    return 0;
}

/* Gracefully: SIGTERM and STORAGE_STOP_S to flush, as destroy gives it. */
int svc_storage_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_STORAGE, 0, STORAGE_STOP_S);
    return 0;
}

/* Its waits (heartbeats, targets SERVING-UPTODATE) are svc_chains_start. */
int svc_storage_start(struct plan_ctx *ctx, struct plan *p)
{
    life_start_step(ctx, p, SVC_STORAGE, 0);
    return 0;
}
