/* cmd/lifecycle: what `cluster stop`, `start` and `restart` share
 * (src/cmd/lifecycle.c): the --role / --node selection, the plan
 * (plan_build_stop / plan_build_start, include/m3fs/deploy.h) and its run.
 * Each command is a table entry in cmd-cluster-<name>.c. */
#ifndef M3FS_CMD_LIFECYCLE_H
#define M3FS_CMD_LIFECYCLE_H

#include "m3fs/cmd.h"
#include "m3fs/strbuf.h"

enum life_op { LIFE_STOP, LIFE_START, LIFE_RESTART };

/* The options of the three commands (--role, --node): one table, parsed
 * into one selection (a process runs one command). */
extern const struct opt_spec life_opts[];

/* Run op for the services given with --role (every one when none) on the
 * nodes given with --node (every node when none); a name that is not a
 * service of cluster.yml or not one of its nodes is a usage error.  With
 * cctx->dry_run (CMD_DRY_RUN) prints the plan and touches nothing.
 * Returns the exit code. */
int cmd_lifecycle(struct cmd_ctx *cctx, enum life_op op);

/* --node NAME... into marks per node of cfg (*sel NULL when names is
 * empty; caller frees).  0, or -1 with a message naming the nodes of
 * cfg in err (a usage error). */
struct m3fs_config;
int life_parse_nodes(const struct m3fs_config *cfg, const struct strvec *names,
                     unsigned char **sel, struct strbuf *err);

/* cluster upgrade: fill f (upgrade_facts_init'ed) from the nodes: every
 * container an upgrade may move (its image and chain-shuffle label), the
 * label of the new 3FS image, the primary mgmtd (-1 when no mgmtd node
 * names one).  0, or -1 with why in err (a node that cannot be read). */
struct plan_ctx;
struct remote_ctx;
struct upgrade_facts;
int upgrade_read_nodes(struct plan_ctx *ctx, struct remote_ctx *rc, struct upgrade_facts *f,
                       struct strbuf *err);

#endif
