/* m3fs cluster bench: fio against the mounted 3FS on every client node. */
#include <stdio.h>
#include <stdlib.h>

#include "m3fs/bench.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"

static struct {
    const char *profile;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING(0, "profile", &o.profile, "NAME", "quick (under a minute, default) or full"),
    OPT_END(),
};

static int exec_bench(struct cmd_ctx *ctx)
{
    size_t n;
    if (!o.profile) o.profile = "quick";
    if (!bench_profile(o.profile, &n))
        return cmd_usage_error(ctx, "--profile must be quick or full, not '%s'", o.profile);
    struct m3fs_config *cfg = ctx->cfg;
    struct strbuf table = STRBUF_INIT, err = STRBUF_INIT, plan = STRBUF_INIT;
    if (ctx->dry_run) {
        int status = bench_run(cfg, NULL, o.profile, NULL, &plan, &table, &err);
        if (status) log_error("%s", err.buf);
        else printf("Plan of the %s benchmark. Nothing was changed.\n%s", o.profile, plan.buf);
        sb_release(&plan), sb_release(&table), sb_release(&err);
        return status ? EXIT_FAIL : EXIT_OK;
    }
    struct remote_ctx *rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &ctx->ro);
    char *dir = bench_json_dir(cfg);
    int status = bench_run(cfg, rc, o.profile, dir, NULL, &table, &err);
    if (status) {
        log_error("benchmark failed:\n%s", err.buf);
    } else {
        fputs(table.buf, stdout);
        printf("fio JSON saved in %s\n", dir);
    }
    free(dir);
    sb_release(&plan), sb_release(&table), sb_release(&err);
    remote_ctx_free(rc);
    return status ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_cluster_bench_entry = {
    .name = "bench",
    .usage = "-c FILE [--profile quick|full] [--dry-run]",
    .summary = "Benchmark the mounted 3FS with fio on every client node",
    .opts = opts,
    .exec = exec_bench,
    .flags = CMD_CONFIG | CMD_DRY_RUN,
};
