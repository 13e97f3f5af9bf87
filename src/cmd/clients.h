/* cmd/clients: what `cluster add-client` and `delete-client` share
 * (src/cmd/clients.c, docs/lifecycle.md): reading what each node has of
 * the FUSE client before planning, then --dry-run or the question and
 * the run of the plan (plan_build_add_clients / plan_build_delete_clients,
 * deploy.h; cmd_run_plan(), cmd.h).  Each
 * command is a table entry in cmd-cluster-<name>.c. */
#ifndef M3FS_CMD_CLIENTS_H
#define M3FS_CMD_CLIENTS_H

#include "m3fs/cmd.h"
#include "m3fs/strbuf.h"

struct plan;
struct plan_ctx;
struct remote_ctx;
struct m3fs_state;

/* facts[node] (deploy.h CLIENT_*) for each node with want[node], read in
 * parallel (templates/m3fs-client.sh probe).  0, or -1 having logged
 * every node that could not be read (nothing was changed). */
int clients_probe(struct plan_ctx *ctx, struct remote_ctx *rc, long parallel,
                  const unsigned char *want, unsigned *facts);
/* "lab-n2, lab-n3": the names of the marked nodes. */
void clients_names(const struct m3fs_config *cfg, const unsigned char *marks, struct strbuf *out);
/* One line per marked node: "  NAME: FACTS" (client_facts_words). */
void clients_list(const struct m3fs_config *cfg, const unsigned char *marks,
                  const unsigned *facts, struct strbuf *out);
/* What add-client and delete-client do with their plan; all borrowed. */
struct clients_go {
    const struct plan *p;
    struct remote_ctx *rc;
    const char *verb;  /* "add", "delete": "Plan to VERB the FUSE client on NAMES" */
    const char *names; /* the nodes that change (clients_names) */
    const char *text;  /* what changes: printed for --dry-run, else the question */
    const char *done;  /* said after a successful run (cmd_run_plan) */
    int yes;           /* --yes: no question */
};
/* --dry-run (cctx->dry_run): print g->text and the plan.  Otherwise ask
 * (unless g->yes), then run the plan with state file st under the
 * cluster's lock (CMD_LOCK: the dispatcher's; cmd_run_plan).  Returns the
 * exit code. */
int clients_go(const struct cmd_ctx *cctx, struct m3fs_state *st, const struct clients_go *g);

#endif
