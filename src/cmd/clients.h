/* cmd/clients: what `cluster add-client` and `delete-client` share
 * (src/cmd/clients.c, docs/lifecycle.md): reading what each node has of
 * the FUSE client before planning, the question, and the run of the plan
 * (plan_build_add_clients / plan_build_delete_clients, deploy.h).  Each
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
/* Print p for --dry-run under head. */
void clients_print_plan(const struct m3fs_config *cfg, const struct plan *p, const char *head);
/* Run p under the cluster's lock; done is printed on success.  Returns
 * the exit code. */
int clients_run(const struct cmd_ctx *cctx, struct m3fs_state *st, struct remote_ctx *rc,
                const struct plan *p, const char *done);

#endif
