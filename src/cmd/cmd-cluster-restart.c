/* m3fs cluster restart: `cluster stop`, then `cluster start`, of the same
 * services and nodes, as one plan.
 * See docs/lifecycle.md; the shared part is src/cmd/lifecycle.c. */
#include "lifecycle.h"

static int exec_restart(struct cmd_ctx *cctx)
{
    return cmd_lifecycle(cctx, LIFE_RESTART);
}

const struct cmd_entry cmd_cluster_restart_entry = {
    .name = "restart",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--role R]... [--node N]... [--dry-run]",
    .summary = "Stop, then start the selected services (clients first, then back)",
    .opts = life_opts,
    .exec = exec_restart,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
