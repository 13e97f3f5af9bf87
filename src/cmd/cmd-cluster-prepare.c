/* m3fs cluster prepare: check the nodes and give each the images its roles
 * use, from an offline bundle (-a) or by docker pull (src/prepare/). */
#include <stdio.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/prepare.h"

static struct {
    const char *bundle;
    int no_relay;
} o;

static const struct opt_spec opts[] = {
    { OPT_T_STRING, 'a', "artifact", "bundle", &o.bundle, "FILE",
      "offline bundle from 'm3fs artifact download'; without it the nodes docker pull", 0 },
    OPT_BOOL(0, "no-relay", &o.no_relay,
             "send each node its images directly, not node to node (docs/prepare.md)"),
    OPT_END(),
};

static int exec_cluster_prepare(struct cmd_ctx *ctx)
{
    struct prepare_opts po = { .bundle = o.bundle, .parallel = ctx->parallel, .ro = ctx->ro,
                             .dry_run = ctx->dry_run, .no_relay = o.no_relay };
    int rc = prepare_run(ctx->cfg, &po);
    return rc ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_cluster_prepare_entry = {
    .name = "prepare",
    .usage = "-c FILE [-a BUNDLE] [--no-relay] [-w DIR] [-r REGISTRY] [--dry-run]",
    .summary = "Check the nodes and load the images each node's roles use (bundle or pull)",
    .opts = opts,
    .exec = exec_cluster_prepare,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
