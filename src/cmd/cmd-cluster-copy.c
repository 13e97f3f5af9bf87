/* m3fs cluster copy: upload one local file to the selected nodes in
 * parallel (SFTP, temporary name + rename, size checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    const char *config, *mode;
    struct strvec roles, names;
    int sudo;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING_REQ('c', "config", &o.config, "FILE", "cluster config"),
    OPT_LIST(0, "role", &o.roles, "ROLE", "only nodes of this service; repeatable"),
    OPT_LIST(0, "node", &o.names, "NAME", "only this node; repeatable"),
    OPT_STRING(0, "mode", &o.mode, "MODE", "permission bits of the copy, octal (default 0644)"),
    OPT_BOOL(0, "sudo", &o.sudo, "owned by root (moved into place with sudo when the login user "
             "is not root)"),
    OPT_END(),
};

struct copy_job {
    const char *local, *remote;
    unsigned mode;
    double *secs; /* per node index */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
    const char *name = arg;
    /* A line every 256 MiB at --debug. */
    if (done % (256u << 20) < 65536 || done == total)
        log_debug("[%s] %llu of %llu bytes", name, (unsigned long long)done,
                  (unsigned long long)total);
}

static int copy_to_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct copy_job *job = arg;
    struct upload_opts uo = { .mode = job->mode, .as_root = o.sudo, .progress = progress,
                              .progress_arg = remote_node(s)->name };
    double t0 = now_s();
    int rc = remote_upload(s, job->local, job->remote, &uo, err);
    job->secs[node] = now_s() - t0;
    return rc ? 1 : 0;
}

static int parse_mode(struct cmd_ctx *ctx, unsigned *mode)
{
    char *end;
    unsigned long v = o.mode ? strtoul(o.mode, &end, 8) : 0644;
    if (o.mode && (!*o.mode || *end || v > 07777))
        return cmd_usage_error(ctx, "bad --mode '%s' (an octal mode such as 0644)", o.mode);
    *mode = (unsigned)v;
    return 0;
}

static int copy_selected(struct m3fs_config *cfg, const size_t *idx, size_t n_idx,
                         struct copy_job *job)
{
    struct remote_opts ro;
    remote_opts_from_globals(&ro);
    struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &ro);
    struct strbuf *errs = xcalloc(n_idx, sizeof(*errs));
    for (size_t k = 0; k < n_idx; k++) sb_init(&errs[k], 0);
    size_t failed = remote_ctx_run(rc, idx, n_idx, g_opts.parallel, copy_to_node, job, errs);
    remote_ctx_free(rc);
    for (size_t k = 0; k < n_idx; k++) {
        const struct m3fs_node *n = &cfg->nodes[idx[k]];
        log_mask(&errs[k]);
        if (errs[k].len) printf("== %s (%s) failed\n%s\n", n->name, n->host, errs[k].buf);
        else printf("== %s (%s) ok in %.1fs\n", n->name, n->host, job->secs[idx[k]]);
        sb_release(&errs[k]);
    }
    free(errs);
    printf("%zu node%s: %zu ok, %zu failed\n", n_idx, n_idx == 1 ? "" : "s", n_idx - failed,
           failed);
    return failed ? EXIT_FAIL : EXIT_OK;
}

static int exec_cluster_copy(struct cmd_ctx *ctx)
{
    unsigned mode = 0644;
    int rc;
    if (ctx->args.n != 2) return cmd_usage_error(ctx, "expected LOCAL and REMOTE paths");
    if (g_opts.parallel < 1) return cmd_usage_error(ctx, "--parallel must be at least 1");
    if ((rc = parse_mode(ctx, &mode))) return rc;
    const char *remote = ctx->args.v[1];
    if (remote[0] != '/') return cmd_usage_error(ctx, "REMOTE must be an absolute path");
    struct m3fs_config *cfg = cmd_load_config(o.config, NULL);
    if (!cfg) return EXIT_FAIL;
    size_t *idx = NULL, n_idx = 0;
    struct strbuf err = STRBUF_INIT, dst = STRBUF_INIT;
    sb_adds(&dst, remote);
    if (dst.buf[dst.len - 1] == '/') {
        const char *base = strrchr(ctx->args.v[0], '/');
        sb_adds(&dst, base ? base + 1 : ctx->args.v[0]);
    }
    if (remote_select_nodes(cfg, &o.roles, &o.names, &idx, &n_idx, &err)) {
        rc = cmd_usage_error(ctx, "%s", err.buf);
    } else if (!n_idx) {
        log_error("no node matches the selection");
        rc = EXIT_FAIL;
    } else {
        struct copy_job job = { ctx->args.v[0], dst.buf, mode,
                                xcalloc(cfg->n_nodes, sizeof(double)) };
        rc = copy_selected(cfg, idx, n_idx, &job);
        free(job.secs);
    }
    free(idx);
    sb_release(&err);
    sb_release(&dst);
    config_free(cfg);
    return rc;
}

const struct cmd_entry cmd_cluster_copy_entry = {
    .name = "copy",
    .usage = "-c FILE [--role ROLE|--node NAME]... [--mode MODE] [--sudo] LOCAL REMOTE",
    .summary = "Upload a file to the selected nodes in parallel (REMOTE ending in / keeps the name)",
    .opts = opts,
    .exec = exec_cluster_copy,
};
