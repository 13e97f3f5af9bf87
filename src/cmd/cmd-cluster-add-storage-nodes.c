/* m3fs cluster add-storage-nodes: start storage on the nodes of
 * services.storage that hold no target yet and move replicas of the
 * existing chains to them (docs/scale.md; cmd/scale.c). */
#include "m3fs/cmd.h"
#include "scale.h"

static struct {
    int yes;
} o;

static const struct opt_spec opts[] = {
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

static int exec_add(struct cmd_ctx *cctx)
{
    return cmd_scale(cctx, 1, NULL, o.yes, 0);
}

const struct cmd_entry cmd_cluster_add_storage_nodes_entry = {
    .name = "add-storage-nodes",
    .usage = "-c FILE [--workdir DIR] [--registry R] [--yes] [--dry-run]",
    .summary = "Start storage on the new nodes of services.storage and move replicas to them",
    .opts = opts,
    .exec = exec_add,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
