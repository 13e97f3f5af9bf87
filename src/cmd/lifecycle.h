/* cmd/lifecycle: what `cluster stop`, `start` and `restart` share
 * (src/cmd/lifecycle.c): the --role / --node selection, the plan
 * (plan_build_stop / plan_build_start, include/m3fs/deploy.h) and its run.
 * Each command is a table entry in cmd-cluster-<name>.c. */
#ifndef M3FS_CMD_LIFECYCLE_H
#define M3FS_CMD_LIFECYCLE_H

#include "m3fs/cmd.h"
#include "m3fs/strbuf.h"

enum life_op { LIFE_STOP, LIFE_START, LIFE_RESTART };

/* Options each command declares (their help text). */
#define LIFE_ROLE_HELP                                                                    \
    "only this service (fdb, clickhouse, monitor, mgmtd, meta, storage, client); repeatable"
#define LIFE_NODE_HELP "only the services on this node; repeatable"

/* Run op for the services in roles (every one when empty) on the nodes in
 * names (every node when empty); a name that is not a service of
 * cluster.yml or not one of its nodes is a usage error.  With
 * cctx->dry_run (CMD_DRY_RUN) prints the plan and touches nothing.  Borrows
 * both lists.  Returns the exit code. */
int cmd_lifecycle(struct cmd_ctx *cctx, enum life_op op, const struct strvec *roles,
                  const struct strvec *names);

#endif
