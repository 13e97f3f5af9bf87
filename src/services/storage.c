/* services/storage.c: data disks or directories, then the 3FS storage
 * service (node ids 10001..). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/disks.h"
#include "m3fs/remote.h"
#include "m3fs/script.h"
#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "services.h"

/* The disk tool's arguments after the tool: OP BASE COUNT TYPE SECTOR; for
 * list and prepare also the label prefix and the node's nvmeDisks (node:
 * an index of cfg->nodes); for prepare the disks consented to on the node
 * (ctx->disk_consent entries "NODE:DEV"; issue 20 F5). */
static void disks_args(struct plan_ctx *ctx, struct strbuf *sb, const char *op, size_t node)
{
    const struct m3fs_config *cfg = ctx->cfg;
    char *base = wd_path(ctx, "storage/3fsdata");
    sb_addf(sb, "%s ", op);
    sh_quote(sb, base);
    sb_addf(sb, " %ld ", cfg->storage.disk_num_per_node);
    sh_quote(sb, cfg->storage.disk_type);
    sb_addf(sb, " %ld", cfg->storage.sector_size);
    free(base);
    if (node == SIZE_MAX || cfg->storage.disk != DISK_NVME) return;
    /* per cluster (issue 20 F5): 3fs-<4 hex of sha256(name)>, so two
     * clusters on a node never take each other's disks; an XFS label holds
     * 12 bytes, "<prefix>-<i>" */
    char hex[SHA256_HEX_LEN + 1];
    sha256_buf_hex(cfg->name, strlen(cfg->name), hex);
    sb_addf(sb, " --label-prefix 3fs-%.4s", hex);
    const struct strvec *disks = &cfg->nodes[node].nvme_disks;
    for (size_t i = 0; i < disks->n; i++) {
        sb_adds(sb, " --disk ");
        sh_quote(sb, disks->v[i]);
    }
    const char *name = cfg->nodes[node].name;
    size_t len = strlen(name);
    for (size_t i = 0; !strcmp(op, "prepare") && ctx->disk_consent && i < ctx->disk_consent->n;
         i++) {
        const char *c = ctx->disk_consent->v[i];
        if (strncmp(c, name, len) || c[len] != ':') continue;
        sb_adds(sb, " --consent ");
        sh_quote(sb, c + len + 1);
    }
}

/* `<workDir>/bin/m3fs-disks ARGS` (disks_args); caller frees. */
static char *disks_cmd(struct plan_ctx *ctx, const char *op, size_t node)
{
    char *tool = wd_path(ctx, "bin/m3fs-disks");
    struct strbuf sb = STRBUF_INIT;
    sh_quote(&sb, tool);
    sb_addch(&sb, ' ');
    disks_args(ctx, &sb, op, node);
    free(tool);
    return sb_detach(&sb);
}

struct list_arg {
    struct plan_ctx *ctx;
    struct strbuf *out; /* per cfg->nodes index */
};

static int list_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct list_arg *a = arg;
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-disks.sh");
    disks_args(a->ctx, &cmd, "list", node);
    int rc = remote_run(s, cmd.buf, 1, 120000, &a->out[node], err);
    sb_release(&cmd);
    return rc;
}

int svc_storage_disk_list(struct plan_ctx *ctx, struct remote_ctx *rc, long parallel,
                          struct disk_list *l, struct strbuf *err)
{
    const struct m3fs_config *cfg = ctx->cfg;
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_STORAGE, &n);
    if (!n || cfg->storage.disk != DISK_NVME) return 0;
    struct list_arg a = { ctx, xcalloc(cfg->n_nodes, sizeof(struct strbuf)) };
    size_t nfail;
    struct strbuf *errs = remote_ctx_run_errs(rc, nodes, n, parallel, list_node, &a, &nfail);
    for (size_t k = 0; k < n; k++) {
        if (errs[k].len) sb_addf(err, "\n  %s", errs[k].buf);
        else if (!nfail && disk_list_parse(l, cfg->nodes[nodes[k]].name,
                                           a.out[nodes[k]].buf ? a.out[nodes[k]].buf : "",
                                           err) < 0)
            nfail++;
    }
    remote_errs_free(errs, n);
    for (size_t i = 0; i < cfg->n_nodes; i++) sb_release(&a.out[i]);
    free(a.out);
    return nfail ? -1 : 0;
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
        char *check = disks_cmd(ctx, "check", SIZE_MAX);
        char *title = xstrfmt("prepare %ld data %s per node (%s)",
                              ctx->cfg->storage.disk_num_per_node,
                              ctx->cfg->storage.disk == DISK_DIR ? "directories" : "disks",
                              ctx->cfg->storage.disk_type);
        struct step *s = plan_add_step(p, "storage", STEP_RUN, title);
        s->prep = 1;
        for (size_t i = 0; i < n; i++) {
            char *prep = disks_cmd(ctx, "prepare", nodes[i]);
            step_add_run(s, nodes[i], prep, check);
            free(prep);
        }
        if (ctx->cfg->storage.disk == DISK_NVME)
            step_add_hint(s, "no consent to format", "NVMe disks are formatted only with consent to the "
                          "whole list: run the same command again; it lists every disk it would "
                          "format on every node and asks (--format-disks, or --yes-format with "
                          "the exact list).");
        free(tool), free(check), free(title);
    }
    tmpl_vars_free(&tv);
    sb_release(&script);
    return rc;
}

static int storage_create(struct plan_ctx *ctx, struct plan *p)
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

/* ctx->storage_skip: the drained nodes' steps left out (plan_keep_nodes;
 * plan_link orders the steps again). */
int svc_storage_create(struct plan_ctx *ctx, struct plan *p)
{
    if (!ctx->storage_skip) return storage_create(ctx, p);
    struct plan tmp = { 0 };
    int rc = storage_create(ctx, &tmp);
    unsigned char *keep = xcalloc(ctx->cfg->n_nodes + 1, 1);
    for (size_t i = 0; i < ctx->cfg->n_nodes; i++) keep[i] = !ctx->storage_skip[i];
    plan_keep_nodes(&tmp, keep);
    for (size_t i = 0; i < tmp.n; i++) {
        ALLOC_GROW(p->steps, p->n, p->alloc);
        p->steps[p->n++] = tmp.steps[i];
    }
    free(tmp.steps);
    free(keep);
    return rc;
}

int svc_storage_destroy(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_STORAGE, &n);
    if (!n) return 0;
    const char *name = ctx->cfg->svc[SVC_STORAGE].container_name;
    char *rm = ctr_remove_cmd(ctx, name, STORAGE_STOP_S, NULL), *gone = ctr_absent_cmd(name, NULL);
    char *clear = disks_cmd(ctx, "clear", SIZE_MAX), *base = wd_path(ctx, "storage/3fsdata");
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

/* remove-storage-nodes --clear-disks: destroy's workDir check and storage
 * steps (svc_storage_destroy) kept on the nodes of clear only. */
int plan_build_clear_storage(struct plan_ctx *ctx, const unsigned char *clear, struct plan *p)
{
    struct plan tmp = { 0 };
    int rc = svc_node_destroy_guard(ctx, &tmp);
    if (!rc) rc = svc_storage_destroy(ctx, &tmp);
    if (rc) {
        plan_free(&tmp);
        return -1;
    }
    plan_keep_nodes(&tmp, clear);
    for (size_t i = 0; i < tmp.n; i++) {
        ALLOC_GROW(p->steps, p->n, p->alloc);
        p->steps[p->n++] = tmp.steps[i];
    }
    free(tmp.steps);
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
