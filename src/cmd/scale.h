/* cmd/scale: what `cluster add-storage-nodes` and `remove-storage-nodes`
 * share (src/cmd/scale.c, docs/scale.md): read the cluster's chains and
 * targets from the first mgmtd node, plan the migration (or take the one
 * the state file holds from a stopped run), show it, ask, run it.  Each
 * command is a table entry in cmd-cluster-<name>.c. */
#ifndef M3FS_CMD_SCALE_H
#define M3FS_CMD_SCALE_H

#include "m3fs/cmd.h"
#include "m3fs/strbuf.h"

/* add: the storage nodes of cluster.yml that hold no target; remove: drain
 * the storage nodes named in drain (node names).  yes: --yes.  clear
 * (remove's --clear-disks): after the drain, destroy's storage steps on the
 * drained nodes (plan_build_clear_storage), asked for by naming exactly
 * what goes unless yes; when the state file records the named nodes
 * drained already, those steps alone.  Returns the exit code. */
int cmd_scale(struct cmd_ctx *cctx, int add, const struct strvec *drain, int yes, int clear);

#endif
