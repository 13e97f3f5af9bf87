/* m3fs cluster create: deploy 3FS on the nodes of cluster.yml (steps as
 * data: src/plan/, src/services/).  Idempotent and resumable: running it
 * again finishes an interrupted or failed run and changes nothing on a
 * complete cluster. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drained.h"
#include "m3fs/bench.h"
#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/network.h"
#include "m3fs/deploy.h"
#include "m3fs/disks.h"
#include "m3fs/remote.h"

static struct {
    int format_disks, skip_bench;
    const char *trace;
    struct strvec yes_format;
} o;

static const struct opt_spec opts[] = {
    OPT_BOOL(0, "format-disks", &o.format_disks,
             "diskType nvme: list every disk to be formatted as XFS on every node and ask to "
             "type their number (data on them is lost)"),
    OPT_LIST(0, "yes-format", &o.yes_format, "NODE:DEV,...",
             "diskType nvme: consent to format exactly these disks (the list a run without "
             "consent prints)"),
    OPT_BOOL(0, "skip-bench", &o.skip_bench, "do not run the fio benchmark at the end"),
    OPT_STRING(0, "trace", &o.trace, "FILE",
               "write where the time went to FILE (JSON: steps, critical path, SSH round trips "
               "and bytes per node; docs/deploy.md)"),
    OPT_END(),
};

/* The last step: fio on every client node (`cluster bench --profile quick`). */
static int run_bench(const struct m3fs_config *cfg, struct remote_ctx *rc)
{
    if (o.skip_bench || !cfg->svc[SVC_CLIENT].n_member) return 0;
    struct strbuf table = STRBUF_INIT, err = STRBUF_INIT;
    char *dir = bench_json_dir(cfg);
    int r = bench_run(cfg, rc, "quick", dir, NULL, &table, &err);
    if (r) log_error("3FS is deployed, but the benchmark failed (rerun it with "
                     "'m3fs cluster bench'):\n%s", err.buf);
    else printf("\nfio benchmark (quick profile; JSON in %s):\n%s", dir, table.buf);
    free(dir);
    sb_release(&table);
    sb_release(&err);
    return r;
}

static void summary_lists(const struct m3fs_config *cfg, enum svc_kind k, struct strbuf *sb)
{
    for (size_t i = 0; i < cfg->svc[k].n_member; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", cfg->nodes[cfg->svc[k].member[i]].name);
}

static void print_summary(const struct m3fs_config *cfg, struct remote_ctx *rc,
                          const struct run_stats *rs)
{
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT, out = STRBUF_INIT;
    summary_lists(cfg, SVC_CLIENT, &sb);
    printf("\n3FS cluster '%s' is ready (%zu actions ran, %zu were already done).\n",
           cfg->name, rs->changed, rs->skipped);
    if (cfg->svc[SVC_CLIENT].n_member)
        printf("3FS is mounted at %s on: %s\n", cfg->client.host_mountpoint, sb.buf);
    sb_reset(&sb);
    summary_lists(cfg, SVC_MGMTD, &sb);
    printf("admin_cli: %s/admin_cli.sh on: %s\n", cfg->work_dir, sb.buf);
    size_t first = cfg->svc[SVC_MGMTD].member[0];
    struct remote_session *s = remote_ctx_get(rc, first, &err);
    char *cmd = xstrfmt("%s/admin_cli.sh list-nodes", cfg->work_dir);
    if (s && remote_run(s, cmd, 1, 60000, &out, &err) == 0) {
        log_mask(&out);
        printf("\nlist-nodes on %s:\n%s", cfg->nodes[first].name, out.buf);
    } else {
        log_warn("could not run list-nodes for the summary: %s", err.buf);
    }
    free(cmd);
    sb_release(&sb), sb_release(&err), sb_release(&out);
}

static void write_trace(const struct m3fs_config *cfg, const struct plan *p,
                        struct plan_trace *tr, struct remote_ctx *rc)
{
    struct strbuf json = STRBUF_INIT;
    plan_trace_json(p, tr, rc, cfg, &json);
    log_mask(&json);
    FILE *f = fopen(o.trace, "w");
    int bad = !f;
    if (f) {
        bad = fwrite(json.buf, 1, json.len, f) != json.len;
        bad |= fclose(f) != 0;
    }
    if (bad) log_warn("cannot write the trace to %s: %s", o.trace, strerror(errno));
    plan_trace_release(tr);
    sb_release(&json);
}

/* A cluster a create made before: when every step's check passes (one
 * exchange per node, plan_verify), there is nothing to run; say so with
 * the summary.  0 when something is to do (the plan then runs). */
static int all_in_place(const struct m3fs_config *cfg, const struct m3fs_state *st,
                        const struct plan *p, struct remote_ctx *rc, long parallel)
{
    struct strbuf why = STRBUF_INIT;
    int64_t t0 = mono_ms();
    int ok = plan_verify(p, st, rc, parallel, &why) == 1;
    if (ok && o.trace) { /* no step ran: the pass's time and traffic */
        struct plan_trace tr = { .wall_ms = (long)(mono_ms() - t0) };
        write_trace(cfg, p, &tr, rc);
    }
    if (ok) {
        struct run_stats rs = { 0 };
        for (size_t i = 0; i < p->n; i++) rs.skipped += p->steps[i].n;
        log_info("every step's check passed: nothing to do");
        print_summary(cfg, rc, &rs);
    } else {
        log_info("running the plan: %s", why.buf);
    }
    sb_release(&why);
    return ok;
}

/* Ask for consent to format the disks of l on stdin: the user types their
 * number.  0 when given. */
static int ask_format(const struct disk_list *l, const char *list)
{
    size_t n = disk_list_count(l);
    char line[64];
    fprintf(stderr, "cluster create formats %zu NVMe disk%s as XFS; what each holds is "
            "lost:\n%sType %zu (the number of disks) to format them; anything else stops "
            "here: ", n, plural_s((long long)n), list, n);
    if (cmd_read_answer(line, sizeof(line)) < 0) return -1;
    char *end;
    unsigned long long v = strtoull(line, &end, 10);
    if (!*line || *end || v != n) {
        log_error("the answer was not %zu; nothing was formatted or changed", n);
        return -1;
    }
    return 0;
}

static void refuse_format(const struct cmd_ctx *cctx, const struct disk_list *l,
                          const char *list, const char *why)
{
    size_t n = disk_list_count(l);
    struct strbuf val = STRBUF_INIT;
    disk_list_consent_value(l, &val);
    log_error("%s%s; %zu NVMe disk%s would be formatted as XFS (what each holds is lost), "
              "nothing was changed:\n%s"
              "to format exactly these, run the same command again with\n  --yes-format %s\n"
              "or with --format-disks to be asked; to format other disks, name each node's "
              "data disks in its nvmeDisks in %s",
              *why ? "--yes-format does not name the disks to be formatted: " : "",
              *why ? why : "no consent to format disks", n, plural_s((long long)n), list,
              n ? val.buf : "(nothing: leave --yes-format out)", cctx->cfg->file);
    sb_release(&val);
}

/* diskType nvme (issue 20 F5): list every disk create would format on
 * every storage node, with what it holds, and get consent to exactly that
 * list: --yes-format naming it, or --format-disks and its number typed.
 * The plan is then built again with that consent (each node's
 * `m3fs-disks prepare --consent DEV`).  0, or -1 (nothing changed). */
static int disk_consent(const struct cmd_ctx *cctx, struct plan_ctx *ctx, struct plan *p,
                        struct remote_ctx *rc, struct strvec *consent)
{
    struct disk_list l = { 0 };
    struct strbuf err = STRBUF_INIT, list = STRBUF_INIT, why = STRBUF_INIT;
    int r = -1;
    if (svc_storage_disk_list(ctx, rc, cctx->parallel, &l, &err) < 0) {
        log_error("cannot list the NVMe disks to format; nothing was changed:%s%s",
                  err.buf[0] == '\n' ? "" : " ", err.buf);
        goto out;
    }
    size_t n = disk_list_count(&l);
    disk_list_print(&l, &list);
    if (o.yes_format.n) {
        if (disk_consent_check(&l, &o.yes_format, &why) == 0) r = 0;
        else refuse_format(cctx, &l, list.buf, why.buf);
    } else if (!n) {
        r = 0;
    } else if (o.format_disks) {
        r = ask_format(&l, list.buf);
    } else {
        refuse_format(cctx, &l, list.buf, "");
    }
    if (!r && n) {
        log_info("consent to format %zu disk%s:\n%s", n, plural_s((long long)n), list.buf);
        disk_list_entries(&l, consent);
        ctx->disk_consent = consent;
        plan_free(p);
        memset(p, 0, sizeof(*p));
        if (plan_build_create(ctx, p) < 0) {
            log_error("cannot plan the deployment: %s", ctx->err.buf);
            r = -1;
        }
    }
out:
    disk_list_free(&l);
    sb_release(&err), sb_release(&list), sb_release(&why);
    return r;
}

static int run_plan(const struct cmd_ctx *cctx, struct m3fs_state *st, struct plan_ctx *ctx,
                    struct plan *p)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    /* the state this plan was made from is still the file's (the run holds
     * the cluster's lock: CMD_LOCK) */
    if (state_unchanged(st, &err) < 0) {
        log_error("%s", err.buf);
        sb_release(&err);
        return EXIT_FAIL;
    }
    struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
    if (st->existed && all_in_place(cfg, st, p, rc, cctx->parallel)) {
        int r = run_bench(cfg, rc);
        remote_ctx_free(rc);
        sb_release(&err);
        return r ? EXIT_FAIL : EXIT_OK;
    }
    struct strvec consent = STRVEC_INIT;
    if (cmd_preflight(cfg, p, rc, cctx->parallel) < 0 ||
        disk_consent(cctx, ctx, p, rc, &consent) < 0 || state_save(st, &err) < 0) {
        if (err.len) log_error("%s", err.buf);
        remote_ctx_free(rc);
        sb_release(&err);
        sv_clear(&consent);
        return EXIT_FAIL;
    }
    struct run_stats rs;
    struct plan_trace tr;
    int r = plan_run_traced(p, st, rc, cctx->parallel, &rs, o.trace ? &tr : NULL, &err);
    if (o.trace) write_trace(cfg, p, &tr, rc);
    if (r == 0) {
        print_summary(cfg, rc, &rs);
        if (run_bench(cfg, rc)) r = -1, sb_reset(&err);
    }
    else if (r == PLAN_INTERRUPTED)
        log_error("interrupted; run the same command again to resume");
    else if (err.len)
        log_error("%s\nnothing was undone: fix the cause and run the same command again to "
                  "resume (state: %s)", err.buf, st->path);
    remote_ctx_free(rc);
    sb_release(&err);
    sv_clear(&consent);
    return r == 0 ? EXIT_OK : EXIT_FAIL;
}

static void print_dry_run(const struct m3fs_config *cfg, const struct m3fs_state *st,
                          const struct plan *p)
{
    struct strbuf out = STRBUF_INIT;
    sb_addf(&out, "Plan for cluster '%s' (%zu steps; state file %s%s). Nothing was changed.\n",
            cfg->name, p->n, st->path, st->existed ? "" : ", not created yet");
    if (cfg->net == NET_TCP)
        sb_adds(&out, "warning: networkType TCP is experimental: real 3FS needs RDMA\n");
    plan_print(p, cfg, &out);
    fwrite(out.buf, 1, out.len, stdout);
    sb_release(&out);
}

static int exec_create(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    if (!cfg->svc[SVC_MGMTD].n_member) {
        log_error("%s: services.mgmtd has no nodes; nothing to create", cctx->config_path);
        return EXIT_FAIL;
    }
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    /* --dry-run shows --yes-format's disks as each node's consent */
    struct plan_ctx ctx = { .disk_consent = &o.yes_format };
    struct plan p = { 0 };
    unsigned char *skip = NULL;
    int rc = EXIT_FAIL;
    if (!st) log_error("%s", err.buf);
    else if (plan_ctx_init(&ctx, cfg, st, 1) < 0)
        log_error("cannot plan the deployment: %s", ctx.err.buf);
    else if (cmd_drained(cfg, st, &ctx, DR_CREATE, "create", &skip) < 0)
        ; /* refused before anything ran: said why */
    else if (plan_build_create(&ctx, &p) < 0)
        log_error("cannot plan the deployment: %s", ctx.err.buf);
    else if (cctx->dry_run) {
        print_dry_run(cfg, st, &p);
        rc = EXIT_OK;
    } else {
        rc = run_plan(cctx, st, &ctx, &p);
    }
    plan_free(&p);
    plan_ctx_release(&ctx);
    free(skip);
    state_free(st);
    free(path);
    sb_release(&err);
    sv_clear(&o.yes_format);
    return rc;
}

const struct cmd_entry cmd_cluster_create_entry = {
    .name = "create",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--dry-run] [--skip-bench] "
             "[--format-disks | --yes-format NODE:DEV,...] [--trace FILE]",
    .summary = "Deploy 3FS on the nodes (idempotent: run again to resume or check)",
    .opts = opts,
    .exec = exec_create,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
