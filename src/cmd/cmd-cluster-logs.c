/* m3fs cluster logs: one support archive of the cluster's logs, configs and
 * state, secrets masked (src/logs/, docs/logs.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/logs.h"

static struct {
    struct strvec roles, names;
    const char *since, *out;
    long tail_mib;
    int force;
} o = { .tail_mib = LOGS_DEFAULT_TAIL_MIB };

static const struct opt_spec opts[] = {
    OPT_LIST(0, "node", &o.names, "NAME", "only this node; repeatable"),
    OPT_LIST(0, "role", &o.roles, "ROLE", "only nodes of this service and only its parts (fdb, "
             "clickhouse, monitor, mgmtd, meta, storage, client); repeatable"),
    OPT_STRING(0, "since", &o.since, "DURATION", "only container logs and log files of the last "
               "DURATION (e.g. 30m, 2h)"),
    OPT_INT(0, "tail-mib", &o.tail_mib, "N", "keep the last N MiB of each log, file and output "
            "(default 8)"),
    OPT_STRING('o', "output", &o.out, "FILE.tar.gz", "the archive (default "
               "m3fs-logs-<cluster>-<UTC time>.tar.gz here)"),
    OPT_BOOL(0, "force", &o.force, "replace the archive if it exists"),
    OPT_END(),
};

static int parse_since(struct cmd_ctx *ctx, int64_t *since_s)
{
    int64_t ms = 0;
    *since_s = 0;
    if (!o.since) return 0;
    if (parse_duration_ms(o.since, &ms) || ms <= 0)
        return cmd_usage_error(ctx, "bad --since '%s' (examples: 30m, 2h, 90s)", o.since);
    *since_s = (ms + 999) / 1000;
    return 0;
}

static unsigned role_mask(void)
{
    unsigned m = 0;
    for (size_t i = 0; i < o.roles.n; i++)
        for (int k = 0; k < SVC_COUNT; k++)
            if (!strcmp(o.roles.v[i], svc_key((enum svc_kind)k))) m |= 1u << k;
    return m;
}

/* The options as given, for the index (no values are secret). */
static void describe(const struct cmd_ctx *ctx, struct strbuf *sb)
{
    sb_addf(sb, "-c %s", ctx->config_path);
    for (size_t i = 0; i < o.names.n; i++) sb_addf(sb, " --node %s", o.names.v[i]);
    for (size_t i = 0; i < o.roles.n; i++) sb_addf(sb, " --role %s", o.roles.v[i]);
    if (o.since) sb_addf(sb, " --since %s", o.since);
    sb_addf(sb, " --tail-mib %ld", o.tail_mib);
}

static int exec_cluster_logs(struct cmd_ctx *ctx)
{
    int64_t since_s;
    int rc = parse_since(ctx, &since_s);
    if (rc) return rc;
    if (o.tail_mib < 1 || o.tail_mib > LOGS_MAX_TAIL_MIB)
        return cmd_usage_error(ctx, "--tail-mib must be between 1 and %d, not %ld",
                               LOGS_MAX_TAIL_MIB, o.tail_mib);
    struct cmd_nodes sel;
    if ((rc = cmd_select_nodes(ctx, &o.roles, &o.names, &sel))) return rc;
    char *out = o.out ? xstrdup(o.out) : logs_default_name(ctx->cfg->name, time(NULL));
    struct strbuf desc = STRBUF_INIT;
    describe(ctx, &desc);
    struct logs_opts lo = {
        .cfg = ctx->cfg, .config_path = ctx->config_path, .nodes = sel.idx, .n_nodes = sel.n,
        .roles = role_mask(), .since_s = since_s, .max_bytes = (size_t)o.tail_mib << 20,
        .out_path = out, .force = o.force, .ro = &ctx->ro, .parallel = ctx->parallel,
        .options = desc.buf,
    };
    struct logs_summary sum;
    rc = logs_collect(&lo, &sum) ? EXIT_FAIL : EXIT_OK;
    sb_release(&desc);
    free(out);
    cmd_nodes_release(&sel);
    return rc;
}

const struct cmd_entry cmd_cluster_logs_entry = {
    .name = "logs",
    .usage = "-c FILE [--node NAME]... [--role ROLE]... [--since DURATION] [--tail-mib N] "
             "[-o FILE.tar.gz] [--force]",
    .summary = "Collect the cluster's logs, configs and state into one archive, secrets masked",
    .opts = opts,
    .exec = exec_cluster_logs,
    .flags = CMD_CONFIG,
};
