/* m3fs cluster stop: stop the containers of a created cluster in dependency
 * order (FUSE clients first and unmounted, storage given time to flush, fdb
 * last).  Nodes keep every file and all data; `cluster start` brings the
 * cluster back.
 * See docs/lifecycle.md; the shared part is src/cmd/lifecycle.c. */
#include "lifecycle.h"

static int exec_stop(struct cmd_ctx *cctx)
{
    return cmd_lifecycle(cctx, LIFE_STOP);
}

const struct cmd_entry cmd_cluster_stop_entry = {
    .name = "stop",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--role R]... [--node N]... [--dry-run]",
    .summary = "Stop the cluster's containers (clients first, fdb last); nodes keep their data",
    .opts = life_opts,
    .exec = exec_stop,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
