/* m3fs cluster start: start the containers of a stopped cluster (or one whose
 * nodes rebooted) in dependency order, with create's waits: fdb available,
 * the primary mgmtd, every meta and storage node HEARTBEAT_CONNECTED, every
 * target SERVING-UPTODATE, 3FS mounted on the clients.
 * See docs/lifecycle.md; the shared part is src/cmd/lifecycle.c. */
#include "lifecycle.h"

static int exec_start(struct cmd_ctx *cctx)
{
    return cmd_lifecycle(cctx, LIFE_START);
}

const struct cmd_entry cmd_cluster_start_entry = {
    .name = "start",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--role R]... [--node N]... [--dry-run]",
    .summary = "Start a stopped cluster (fdb first, clients last) with create's waits",
    .opts = life_opts,
    .exec = exec_start,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
