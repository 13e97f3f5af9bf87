/* cmd/drained: what `cluster create`, `stop`, `start`, `restart` and
 * `upgrade` do on a cluster add-storage-nodes or remove-storage-nodes
 * changed (src/cmd/drained.c; docs/scale.md "cluster create after add- or
 * remove-storage-nodes", docs/lifecycle.md "After add- or
 * remove-storage-nodes").  One reading of the state file's records
 * (SC_STATE_PLAN, SC_STATE_NODES) by sc_create_case() for all of them:
 * the storage nodes remove-storage-nodes drained are left out of their
 * storage steps and waits, and the cases a command cannot go on in are
 * refused with the same messages. */
#ifndef M3FS_CMD_DRAINED_H
#define M3FS_CMD_DRAINED_H

#include "m3fs/deploy.h"

/* Who asks; what each refuses (include/m3fs/scale.h enum sc_create_case):
 *   DR_CREATE  every case but NEW, OWN and KEEP (keeps the table on KEEP);
 *   DR_STOP    none: it stops only the containers that run (a warning for
 *              an unfinished plan, new or gone nodes, an unknown record);
 *   DR_START   (start, restart) new or gone nodes and an unknown record:
 *              its waits would check other nodes than the cluster's; an
 *              unfinished plan goes on (a warning) without the
 *              SERVING-UPTODATE wait (ctx->half_moved);
 *   DR_UPGRADE every case but NEW, OWN and KEEP, as create. */
enum drained_for { DR_CREATE, DR_STOP, DR_START, DR_UPGRADE };

/* Judge cfg and st for who (verb: the command's name in messages), after
 * plan_ctx_init() and, for lifecycle, with ctx->only_roles / only_nodes
 * set.  Sets ctx->storage_skip to *skip (per cfg->nodes, 1 = a drained
 * storage node; NULL when none; caller frees) and logs one line naming the
 * drained nodes it leaves out; for DR_CREATE and KEEP ctx->keep_table; for
 * DR_START and an unfinished plan ctx->half_moved.  0, or -1 (refused,
 * logged why; nothing was changed). */
int cmd_drained(const struct m3fs_config *cfg, const struct m3fs_state *st,
                struct plan_ctx *ctx, enum drained_for who, const char *verb,
                unsigned char **skip);

/* The names of the drained storage nodes (ctx->storage_skip) the selection
 * (ctx->only_roles / only_nodes) takes in, ", "-separated, into out; their
 * count. */
size_t drained_selected(const struct plan_ctx *ctx, struct strbuf *out);

#endif
