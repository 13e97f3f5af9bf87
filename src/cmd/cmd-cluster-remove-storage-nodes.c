/* m3fs cluster remove-storage-nodes --node N...: move every replica off
 * the named storage nodes, then stop storage there (docs/scale.md;
 * cmd/scale.c).  Disks are left as they are unless --clear-disks: then
 * destroy's storage steps run on those nodes (also on a rerun after the
 * drain finished). */
#include "m3fs/cmd.h"
#include "scale.h"

static struct {
    struct strvec nodes;
    int yes, clear;
} o;

static const struct opt_spec opts[] = {
    OPT_LIST(0, "node", &o.nodes, "NAME,...", "the storage nodes to drain and remove (repeatable)"),
    OPT_BOOL(0, "clear-disks", &o.clear, "then delete the drained nodes' storage data (nvme: "
             "unmount, wipe the disks m3fs formatted)"),
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

static int exec_remove(struct cmd_ctx *cctx)
{
    if (!o.nodes.n) return cmd_usage_error(cctx, "--node: name the storage nodes to remove");
    int rc = cmd_scale(cctx, 0, &o.nodes, o.yes, o.clear);
    sv_clear(&o.nodes);
    return rc;
}

const struct cmd_entry cmd_cluster_remove_storage_nodes_entry = {
    .name = "remove-storage-nodes",
    .usage = "-c FILE --node NAME[,NAME...] [--clear-disks] [--workdir DIR] [--registry R] [--yes] "
             "[--dry-run]",
    .summary = "Move every replica off storage nodes, then stop storage there",
    .opts = opts,
    .exec = exec_remove,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
