/* services/chains.c: a wait until meta and storage are HEARTBEAT_CONNECTED,
 * the root user and token, then the chain table from
 * the native generator: create-target, upload-chains, upload-chain-table,
 * and a wait until every target is SERVING-UPTODATE.  Runs on the first
 * mgmtd node, inside its container. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"
#include "m3fs/scale.h"
#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "services.h"

#define CHAINS_DIR "/opt/3fs/etc/chains"
#define CREATE_PARTS_MAX 8
#define CREATE_PART "create_target_cmd.part"

static const char *container(const struct plan_ctx *ctx)
{
    return ctx->cfg->svc[SVC_MGMTD].container_name;
}

/* Lines "id\n" of every target or chain id. */
static void id_lists(const struct ct_table *t, struct strbuf *targets, struct strbuf *chains)
{
    for (size_t i = 0; i < t->n_targets; i++)
        sb_addf(targets, "%llu\n", (unsigned long long)t->targets[i].target_id);
    for (size_t i = 0; i < t->n_chains; i++) sb_addf(chains, "%u\n", t->chains[i].chain_id);
}

/* The node id of a create-target line, or -1. */
static long line_node(const char *line)
{
    const char *p = strstr(line, "--node-id ");
    return p ? strtol(p + 10, NULL, 10) : -1;
}

/* Split the create-target lines into up to CREATE_PARTS_MAX files, every
 * storage node's lines in one file, so the parts can run at the same time
 * (one admin_cli each) while each node still gets its targets one by one. */
static size_t create_parts(const struct plan_ctx *ctx, struct file_set *fs)
{
    const struct strbuf *all = fs_get(fs, CT_FILE_CREATE);
    size_t n_nodes = ctx->cfg->svc[SVC_STORAGE].n_member;
    size_t k = n_nodes < CREATE_PARTS_MAX ? n_nodes : CREATE_PARTS_MAX;
    if (!k || !all) return 0;
    struct strbuf *part = xcalloc(k, sizeof(*part));
    for (size_t i = 0; i < k; i++) sb_init(&part[i], 0);
    long first = (long)config_node_id(ctx->cfg, ctx->cfg->svc[SVC_STORAGE].member[0], SVC_STORAGE);
    for (const char *p = all->buf; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        long id = line_node(p);
        size_t i = id >= first ? (size_t)(id - first) % k : 0;
        sb_add(&part[i], p, len);
        p += len;
    }
    for (size_t i = 0; i < k; i++) {
        char *name = xstrfmt(CREATE_PART "%zu.txt", i);
        fs_add(fs, name, &part[i], 0644);
        free(name);
        sb_release(&part[i]);
    }
    free(part);
    return k;
}

/* The generator's files, formatted in memory. */
static int table_files(struct plan_ctx *ctx, struct file_set *fs, size_t *parts)
{
    const char *names[] = { CT_FILE_CHAINS, CT_FILE_TABLE, CT_FILE_CREATE, CT_FILE_REMOVE };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct strbuf sb = STRBUF_INIT;
        if (ct_format(ctx->ct, names[i], &sb)) abort(); /* names are ct's own */
        fs_add(fs, names[i], &sb, 0644);
        sb_release(&sb);
    }
    if (!rc) {
        struct strbuf t = STRBUF_INIT, c = STRBUF_INIT;
        id_lists(ctx->ct, &t, &c);
        fs_add(fs, "target_ids.txt", &t, 0644);
        fs_add(fs, "chain_ids.txt", &c, 0644);
        sb_release(&t), sb_release(&c);
        *parts = create_parts(ctx, fs);
    }
    return rc;
}

/* `sh -c SCRIPT m3fs-chains WHAT CONTAINER [IDS_FILE]` (templates/m3fs-chains.sh):
 * with ids_file a check that every id of it shows in a listing.  Caller frees. */
static char *chains_script(struct plan_ctx *ctx, const char *what, const char *ids_file)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf sb = STRBUF_INIT;
    tmpl_set(&tv, "admin_cli_root", ADMIN_CLI_ROOT);
    if (script_call_tmpl(ctx, "m3fs-chains.sh", &tv, &sb)) abort(); /* every key is set */
    tmpl_vars_free(&tv);
    sb_addf(&sb, "%s ", what);
    sh_quote(&sb, container(ctx));
    if (ids_file) {
        char *ids = wd_path(ctx, ids_file);
        sb_addch(&sb, ' ');
        sh_quote(&sb, ids);
        free(ids);
    }
    return sb_detach(&sb);
}

char *svc_chains_script(struct plan_ctx *ctx, const char *what, const char *ids_file)
{
    return chains_script(ctx, what, ids_file);
}

#define CLIENT_TOKEN_FILE "mgmtd/config.d/client_token.txt"
/* The users' steps are a lane of their own (registry.c create_deps): they
 * need a running mgmtd container and an initialised cluster only
 * (admin_cli user-add and user-stat are FDB transactions: upstream
 * src/client/cli/admin/AdminUserCtrl.cc), so they run while meta and
 * storage start, not after the heartbeat wait. */
#define USERS_LANE "users"

/* The root user with the minted token, through templates/m3fs-chains.sh
 * (the token goes on admin_cli's stdin, never argv); skipped when user-stat 0
 * already validates that token, e.g. after a run stopped once user-add had
 * finished on the node but before the state file recorded it. */
static void user_step(struct plan_ctx *ctx, struct plan *p, size_t first)
{
    char *cmd = chains_script(ctx, "user-add", NULL);
    char *skip = chains_script(ctx, "user-ok", NULL);
    struct step *s = plan_add_step(p, USERS_LANE, STEP_RUN, "create the root user with the "
                                   "minted admin token (user-add)");
    step_add_run(s, first, cmd, skip);
    step_set_state(s, "user-add", "root");
    char *hint = xstrfmt("user 0 (root) already exists, but the state file %s does not "
                         "record creating it, so its token is unknown here. Copy the state "
                         "file of the run that created this cluster, or destroy the cluster "
                         "and create it again.", ctx->st->path);
    step_add_hint(s, "xist", hint);
    free(hint), free(cmd), free(skip);
}

/* The FUSE clients' user (issue 20: clients do not get the admin token): a
 * 3FS root user, which acts for any uid as a FUSE mount must (upstream
 * src/core/user/UserStoreEx.cc authenticate), but not an admin, so its
 * token cannot add users or change the cluster (AdminUserCtrl.cc
 * ensureAdmin).  user-add sends the token from client_token.txt on
 * admin_cli's stdin; skipped when user-stat shows that user with that token
 * and not admin. */
static void client_user_step(struct plan_ctx *ctx, struct plan *p, size_t first)
{
    struct strbuf cmd = STRBUF_INIT, skip = STRBUF_INIT;
    char *c = chains_script(ctx, "user-add-client", CLIENT_TOKEN_FILE);
    char *k = chains_script(ctx, "user-ok-client", CLIENT_TOKEN_FILE);
    sb_addf(&cmd, "%s %u %s", c, CLIENT_TOKEN_UID, CLIENT_TOKEN_USER);
    sb_addf(&skip, "%s %u %s", k, CLIENT_TOKEN_UID, CLIENT_TOKEN_USER);
    struct step *s = plan_add_step(p, USERS_LANE, STEP_RUN, "create the FUSE clients' user, "
                                   "not an admin, with its minted token (user-add)");
    step_add_run(s, first, cmd.buf, skip.buf);
    step_set_state(s, "user-add-client", CLIENT_TOKEN_USER);
    char *hint = xstrfmt("user %u (%s) already exists with another token or as an admin; "
                         "the state file %s does not hold its token. Copy the state file of "
                         "the run that created this cluster, or remove the user "
                         "(admin_cli.sh 'user-remove %u') and run again.", CLIENT_TOKEN_UID,
                         CLIENT_TOKEN_USER, ctx->st->path, CLIENT_TOKEN_UID);
    step_add_hint(s, "xist", hint);
    free(hint), free(c), free(k);
    sb_release(&cmd), sb_release(&skip);
}

#define TARGET_IDS "mgmtd/config.d/chains/target_ids.txt"
/* The ids of the table a finished add/remove-storage-nodes uploaded
 * (written by src/services/scale.c under its SCALE_DIR). */
#define SCALE_TARGET_IDS "mgmtd/config.d/scale/target_ids.txt"

/* The target ids of the cluster's current table on the first mgmtd node:
 * the last finished add/remove-storage-nodes' when the state file records
 * one (its plan replaced by its digest), else create's. */
static const char *current_ids(const struct plan_ctx *ctx)
{
    const char *plan = ctx->st ? state_get_done(ctx->st, SC_STATE_PLAN) : NULL;
    return plan && strncmp(plan, "m3fs-scale ", 11) ? SCALE_TARGET_IDS : TARGET_IDS;
}

static void nodes_record(const struct plan_ctx *ctx, struct strbuf *out)
{
    const struct m3fs_service *sv = &ctx->cfg->svc[SVC_STORAGE];
    struct sc_nodes n = { 0 };
    for (size_t i = 0; i < sv->n_member; i++)
        sc_nodes_add(&n, 0, (uint32_t)config_node_id(ctx->cfg, sv->member[i], SVC_STORAGE),
                     config_node_label(&ctx->cfg->nodes[sv->member[i]]));
    sc_nodes_encode(&n, out);
    sc_nodes_release(&n);
}

/* The create-target parts run at the same time, one admin_cli each; a
 * failed line does not stop the others (admin_cli goes on after errors),
 * and the check after them decides. */
static void targets_step(struct plan_ctx *ctx, struct plan *p, size_t first, size_t parts)
{
    char *check = chains_script(ctx, "targets", TARGET_IDS);
    struct strbuf cmd = STRBUF_INIT;
    char *create = chains_script(ctx, "create-targets", TARGET_IDS);
    sb_adds(&cmd, create);
    for (size_t i = 0; i < parts; i++) sb_addf(&cmd, " " CHAINS_DIR "/" CREATE_PART "%zu.txt", i);
    char *title = xstrfmt("create %zu storage targets (create-target, %zu at a time)",
                          ctx->ct->n_targets, parts);
    struct step *s = plan_add_step(p, "3fs", STEP_RUN, title);
    step_add_run(s, first, cmd.buf, check);
    sb_release(&cmd);
    free(create), free(check), free(title);
}

static void upload_steps(struct plan_ctx *ctx, struct plan *p, size_t first,
                         const struct file_set *fs)
{
    char *check = chains_script(ctx, "chains", "mgmtd/config.d/chains/chain_ids.txt");
    char *up = admin_cli_cmd(container(ctx), "upload-chains " CHAINS_DIR "/" CT_FILE_CHAINS, 1);
    char *title = xstrfmt("upload %zu chains (upload-chains)", ctx->ct->n_chains);
    struct step *s = plan_add_step(p, "3fs", STEP_RUN, title);
    step_add_run(s, first, up, check);
    char *desc = xstrfmt("upload-chain-table --desc %s 1 " CHAINS_DIR "/" CT_FILE_TABLE,
                         ctx->cfg->name);
    char *upt = admin_cli_cmd(container(ctx), desc, 1);
    s = plan_add_step(p, "3fs", STEP_RUN, "upload chain table 1 (upload-chain-table)");
    step_add_run(s, first, upt, NULL);
    char hex[SHA256_HEX_LEN + 1] = "";
    const struct strbuf *table = fs_get(fs, CT_FILE_TABLE);
    if (table) sha256_buf_hex(table->buf, table->len, hex);
    step_set_state(s, "upload-chain-table", hex);
    struct strbuf nodes = STRBUF_INIT; /* which nodes hold this table (sc_create_case) */
    nodes_record(ctx, &nodes);
    step_set_state_also(s, SC_STATE_NODES, nodes.buf);
    sb_release(&nodes);
    free(check), free(up), free(title), free(desc), free(upt);
}

void svc_chains_serving_step(struct plan_ctx *ctx, struct plan *p, size_t first,
                             const char *service, const char *ids_file, const char *table)
{
    char *check = svc_chains_script(ctx, "serving", ids_file);
    struct step *s = plan_add_step(p, service, STEP_WAIT, "wait until every target is "
                                   "SERVING-UPTODATE");
    s->wait_for = xstrfmt("every target of %s to be SERVING-UPTODATE in list-targets", table);
    s->timeout_ms = (long)ctx->cfg->storage.wait_chains_serving_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    step_add_run(s, first, check, NULL);
    free(check);
}

int svc_chains_create(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &n);
    if (!n) return 0;
    if (!ctx->ct) return svc3fs_heartbeat(ctx, p, "3fs");
    user_step(ctx, p, mg[0]);
    if (ctx->cfg->svc[SVC_CLIENT].n_member) client_user_step(ctx, p, mg[0]);
    if (ctx->keep_table) { /* the table add/remove-storage-nodes made stays */
        if (svc3fs_heartbeat(ctx, p, "3fs") < 0) return -1;
        svc_chains_serving_step(ctx, p, mg[0], "3fs", current_ids(ctx), "the chain table");
        return 0;
    }
    struct file_set fs = { 0 };
    size_t parts = 0;
    int rc = table_files(ctx, &fs, &parts);
    if (!rc) {
        char *dir = wd_path(ctx, "mgmtd/config.d/chains");
        struct step *s = plan_add_step(p, "3fs", STEP_PUT, "write the chain table files");
        fs_put(s, mg[0], dir, &fs);
        free(dir);
        rc = svc3fs_heartbeat(ctx, p, "3fs");
    }
    if (!rc) {
        targets_step(ctx, p, mg[0], parts);
        upload_steps(ctx, p, mg[0], &fs);
        svc_chains_serving_step(ctx, p, mg[0], "3fs", TARGET_IDS, "the chain table");
    }
    fs_release(&fs);
    return rc;
}

/* After meta, storage or mgmtd started again: create's waits until every
 * meta and storage node is HEARTBEAT_CONNECTED (not a drained one) and,
 * unless ctx->half_moved, every target of the chain table (current_ids) is
 * SERVING-UPTODATE. */
int svc_chains_start(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    svc_nodes(ctx, SVC_MGMTD, &n);
    if (!n || !(life_selected(ctx, SVC_MGMTD) || life_selected(ctx, SVC_META) ||
                life_selected(ctx, SVC_STORAGE)))
        return 0;
    const enum svc_kind settle[] = { SVC_META, SVC_STORAGE };
    for (size_t i = 0; i < ARRAY_SIZE(settle); i++) {
        size_t *nodes = life_nodes(ctx, settle[i], 0, &n);
        life_settle_step(ctx, p, settle[i], nodes, n,
                         "wait until the started containers have run one heartbeat");
        free(nodes);
    }
    if (svc3fs_heartbeat(ctx, p, "3fs") < 0) return -1;
    /* half moved: no ids file names the targets of the table between two
     * (moved targets are gone, new ones not all created); the scale
     * command's own waits judge each move when it runs again */
    if (!ctx->half_moved) svc_chains_serving_wait(ctx, p);
    return 0;
}

void svc_chains_serving_wait(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &n);
    if (n && ctx->cfg->svc[SVC_STORAGE].n_member)
        svc_chains_serving_step(ctx, p, mg[0], "3fs", current_ids(ctx), "the chain table");
}
