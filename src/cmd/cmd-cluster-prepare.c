/* m3fs cluster prepare: check the nodes and give each the images its roles
 * use, from an offline bundle (-a) or by docker pull (src/prepare/). */
#include <stdio.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/prepare.h"

static struct {
    const char *config, *bundle, *work_dir, *registry;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING_REQ('c', "config", &o.config, "FILE", "cluster config"),
    { OPT_T_STRING, 'a', "artifact", "bundle", &o.bundle, "FILE",
      "offline bundle from 'm3fs artifact download'; without it the nodes docker pull", 0 },
    OPT_STRING('w', "workdir", &o.work_dir, "DIR", "override workDir of the config"),
    OPT_STRING('r', "registry", &o.registry, "REGISTRY", "override images.registry of the config"),
    OPT_END(),
};

static int exec_cluster_prepare(struct cmd_ctx *ctx)
{
    if (ctx->args.n) return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args.v[0]);
    if (g_opts.parallel < 1) return cmd_usage_error(ctx, "--parallel must be at least 1");
    struct config_overrides ov = { .work_dir = o.work_dir, .registry = o.registry };
    struct m3fs_config *cfg = cmd_load_config(o.config, &ov);
    if (!cfg) return EXIT_FAIL;
    struct prepare_opts po = { .bundle = o.bundle, .parallel = g_opts.parallel };
    remote_opts_from_globals(&po.ro);
    int rc = prepare_run(cfg, &po);
    config_free(cfg);
    return rc ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_cluster_prepare_entry = {
    .name = "prepare",
    .usage = "-c FILE [-a BUNDLE] [-w DIR] [-r REGISTRY]",
    .summary = "Check the nodes and load the images each node's roles use (bundle or pull)",
    .opts = opts,
    .exec = exec_cluster_prepare,
};
