/* m3fs cluster architecture: print the cluster as an ASCII diagram. */
#include <stdio.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/diagram.h"
#include "m3fs/log.h"

static struct {
    const char *config;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING_REQ('c', "config", &o.config, "FILE", "cluster config"),
    OPT_END(),
};

static int exec_arch(struct cmd_ctx *ctx)
{
    if (ctx->args.n) return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args.v[0]);
    struct m3fs_config *cfg = cmd_load_config(o.config, NULL);
    if (!cfg) return EXIT_FAIL;
    struct strbuf sb = STRBUF_INIT;
    diagram_render(cfg, log_color_wanted(stdout, g_opts.no_color), &sb);
    fwrite(sb.buf, 1, sb.len, stdout);
    sb_release(&sb);
    config_free(cfg);
    return EXIT_OK;
}

static const char *const aliases[] = { "arch", NULL };

const struct cmd_entry cmd_cluster_architecture_entry = {
    "architecture", aliases, "-c FILE [--no-color]",
    "Print the cluster's nodes and services as a diagram", opts, exec_arch, NULL,
};
