/* m3fs cluster copy: upload one local file to the selected nodes in
 * parallel (SFTP, temporary name + rename, size checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    const char *mode;
    struct strvec roles, names;
    int sudo;
} o;

static const struct opt_spec opts[] = {
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
    double t0 = mono_s();
    int rc = remote_upload(s, job->local, job->remote, &uo, err);
    job->secs[node] = mono_s() - t0;
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

static int copy_selected(const struct cmd_ctx *ctx, const struct cmd_nodes *sel,
                         struct copy_job *job)
{
    size_t failed, n_idx = sel->n;
    struct strbuf what = STRBUF_INIT;
    sb_addf(&what, "upload %s to %s (mode %04o%s)", job->local, job->remote, job->mode,
            o.sudo ? ", owned by root" : "");
    struct cmd_call call = { "copy", "upload a file", what.buf, copy_to_node, job };
    struct strbuf *errs = cmd_run_nodes(ctx, sel, &call, &failed);
    sb_release(&what);
    if (!errs) return EXIT_OK; /* --dry-run */
    for (size_t k = 0; k < n_idx; k++) {
        const struct m3fs_node *n = &sel->cfg->nodes[sel->idx[k]];
        if (errs[k].len) printf("== %s (%s) failed\n%s\n", n->name, n->host, errs[k].buf);
        else printf("== %s (%s) ok in %.1fs\n", n->name, n->host, job->secs[sel->idx[k]]);
    }
    cmd_errs_free(errs, n_idx);
    printf("%zu node%s: %zu ok, %zu failed\n", n_idx, plural_s(n_idx), n_idx - failed,
           failed);
    return failed ? EXIT_FAIL : EXIT_OK;
}

static int exec_cluster_copy(struct cmd_ctx *ctx)
{
    unsigned mode = 0644;
    int rc;
    if ((rc = parse_mode(ctx, &mode))) return rc;
    const char *remote = ctx->args.v[1];
    if (remote[0] != '/') return cmd_usage_error(ctx, "REMOTE must be an absolute path");
    struct cmd_nodes sel;
    if ((rc = cmd_select_nodes(ctx, &o.roles, &o.names, &sel))) return rc;
    struct strbuf dst = STRBUF_INIT;
    sb_adds(&dst, remote);
    if (dst.buf[dst.len - 1] == '/') {
        const char *base = strrchr(ctx->args.v[0], '/');
        sb_adds(&dst, base ? base + 1 : ctx->args.v[0]);
    }
    struct copy_job job = { ctx->args.v[0], dst.buf, mode,
                            xcalloc(sel.cfg->n_nodes, sizeof(double)) };
    rc = copy_selected(ctx, &sel, &job);
    free(job.secs);
    sb_release(&dst);
    cmd_nodes_release(&sel);
    return rc;
}

const struct cmd_entry cmd_cluster_copy_entry = {
    .name = "copy",
    .usage = "-c FILE [--role ROLE|--node NAME]... [--mode MODE] [--sudo] [--dry-run] LOCAL REMOTE",
    .summary = "Upload a file to the selected nodes in parallel (REMOTE ending in / keeps the name)",
    .opts = opts,
    .exec = exec_cluster_copy,
    .flags = CMD_CONFIG | CMD_DRY_RUN,
    .min_args = 2,
    .max_args = 2,
};
