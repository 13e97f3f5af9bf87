/* m3fs cluster architecture: print the cluster as an ASCII diagram. */
#include <stdio.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/diagram.h"
#include "m3fs/log.h"

static int exec_arch(struct cmd_ctx *ctx)
{
    struct strbuf sb = STRBUF_INIT;
    diagram_render(ctx->cfg, log_color_wanted(stdout, ctx->no_color), &sb);
    fwrite(sb.buf, 1, sb.len, stdout);
    sb_release(&sb);
    return EXIT_OK;
}

static const char *const aliases[] = { "arch", NULL };

const struct cmd_entry cmd_cluster_architecture_entry = {
    .name = "architecture",
    .aliases = aliases,
    .usage = "-c FILE [--no-color]",
    .summary = "Print the cluster's nodes and services as a diagram",
    .exec = exec_arch,
    .flags = CMD_CONFIG,
};
