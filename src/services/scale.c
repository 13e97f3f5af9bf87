/* services/scale.c: the plan of `cluster add-storage-nodes` and
 * `remove-storage-nodes` (include/m3fs/deploy.h plan_build_scale,
 * docs/scale.md).  Each replica move is one CALL step on the first mgmtd
 * node: it reads what admin_cli shows (templates/m3fs-scale.sh observe),
 * asks sc_next_sub() which sub-step comes next, runs that one admin_cli
 * command, and again, until the new target is SERVING-UPTODATE and the old
 * one is gone.  So a move stopped anywhere goes on from where the cluster
 * is, and a rerun skips the moves the state file records done. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/scale.h"
#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "services.h"

#define SCALE_DIR "mgmtd/config.d/scale"    /* on the first mgmtd node, under workDir */
#define SCALE_CDIR "/opt/3fs/etc/scale"     /* the same inside the mgmtd container */
#define CMD_TIMEOUT_MS 120000L
#define MAX_REPEAT 5 /* the same command again with no change seen: give up */
/* A created target is listed from its node's next heartbeat, which a change
 * of its targets triggers within about a second (upstream
 * src/storage/service/Components.cc updateHeartbeatPayload,
 * src/storage/worker/CheckWorker.cc): poll the listing that often rather
 * than create it again (that succeeds too: allowExistingTarget). */
#define CREATED_POLL_MS 500L
/* A leaving target out of its chain and listed nowhere is taken as removed
 * only after this long: real mgmtd forgets a target at update-chain
 * --mode remove until its node's next heartbeat lists it as an orphan
 * (clearTargetInfo, src/mgmtd/ops/UpdateChainOperation.cc), and
 * remove-target must still run then. */
#define GONE_SETTLE_MS 15000L
/* The arriving target locally OFFLINE this long while the move waits for it
 * to sync: its node is down (mgmtd marks a node's targets OFFLINE when its
 * heartbeats stop, src/mgmtd/background/MgmtdHeartbeatChecker.cc) or the
 * target failed; the move fails naming the node instead of waiting out
 * waitChainsServingTimeout. */
#define DOWN_SETTLE_MS 30000L

struct move_arg;

struct scale_exec {
    struct plan_ctx *ctx;
    const struct scale_job *job;
    char *observe;
    pthread_mutex_t mu;
    size_t moves_done, chains_done, chains_total;
    uint64_t bytes_done, bytes_total;
    struct move_arg *args;
};

struct move_arg {
    struct scale_exec *x;
    size_t i;        /* index into job->m->moves */
    uint64_t bytes;  /* UsedSize of the leaving target when the command began */
    int chain_last;  /* the chain's last move */
};

static const char *container(const struct plan_ctx *ctx)
{
    return ctx->cfg->svc[SVC_MGMTD].container_name;
}

char *scale_observe_cmd(struct plan_ctx *ctx)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf sb = STRBUF_INIT;
    tmpl_set(&tv, "admin_cli_root", ADMIN_CLI_ROOT);
    if (script_call_tmpl(ctx, "m3fs-scale.sh", &tv, &sb)) abort(); /* every key is set */
    tmpl_vars_free(&tv);
    sb_adds(&sb, "observe ");
    sh_quote(&sb, container(ctx));
    return sb_detach(&sb);
}

char *scale_space_cmd(struct plan_ctx *ctx, char **base)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf sb = STRBUF_INIT;
    tmpl_set(&tv, "admin_cli_root", ADMIN_CLI_ROOT);
    if (script_call_tmpl(ctx, "m3fs-scale.sh", &tv, &sb)) abort(); /* every key is set */
    tmpl_vars_free(&tv);
    *base = wd_path(ctx, "storage/3fsdata"); /* create's data base (storage.c) */
    sb_adds(&sb, "space ");
    sh_quote(&sb, *base);
    sb_addf(&sb, " %ld", ctx->cfg->storage.disk_num_per_node);
    return sb_detach(&sb);
}

size_t scale_node_index(const struct plan_ctx *ctx, uint32_t id)
{
    const struct m3fs_service *s = &ctx->cfg->svc[SVC_STORAGE];
    for (size_t i = 0; i < s->n_member; i++)
        if (config_node_id(ctx->cfg, s->member[i], SVC_STORAGE) == (long)id) return s->member[i];
    return SIZE_MAX;
}

/* The name of storage node id in cluster.yml ("?" if none). */
static const char *node_name(const struct plan_ctx *ctx, uint32_t id)
{
    size_t n = scale_node_index(ctx, id);
    return n == SIZE_MAX ? "?" : config_node_label(&ctx->cfg->nodes[n]);
}

/* The storage node a sub-step's command is for (0: mgmtd's own, or a wait). */
static uint32_t sub_node(const struct ct_move *mv, enum sc_sub s)
{
    if (s == SC_OFFLINE || s == SC_REMOVE_TARGET) return mv->from_node;
    return s == SC_CREATE_TARGET ? mv->to_node : 0;
}

/* The admin_cli command of sub-step s of move mv (upstream argv:
 * src/client/cli/admin/{OfflineTarget,UpdateChain,RemoveTarget,CreateTarget}.cc);
 * NULL for a wait.  Caller frees. */
static char *sub_cli(const struct ct_move *mv, enum sc_sub s)
{
    unsigned long long a = mv->from_target, b = mv->to_target;
    switch (s) {
    case SC_OFFLINE: return xstrfmt("offline-target --node-id %u --target-id %llu", mv->from_node, a);
    case SC_CHAIN_REMOVE: return xstrfmt("update-chain %u %llu --mode remove", mv->chain_id, a);
    case SC_REMOVE_TARGET: return xstrfmt("remove-target --node-id %u --target-id %llu", mv->from_node, a);
    case SC_CREATE_TARGET:
        return xstrfmt("create-target --node-id %u --disk-index %u --target-id %llu --chain-id %u "
                       "--use-new-chunk-engine", mv->to_node, mv->disk_index, b, mv->chain_id);
    case SC_CHAIN_ADD: return xstrfmt("update-chain %u %llu --mode add", mv->chain_id, b);
    default: return NULL;
    }
}

/* What the dry run shows for a move. */
static char *move_what(const struct ct_move *mv, int add_first)
{
    static const enum sc_sub rm_first[] = { SC_OFFLINE, SC_CHAIN_REMOVE, SC_REMOVE_TARGET,
                                            SC_CREATE_TARGET, SC_CHAIN_ADD };
    static const enum sc_sub add_1st[] = { SC_CREATE_TARGET, SC_CHAIN_ADD, SC_OFFLINE,
                                           SC_CHAIN_REMOVE, SC_REMOVE_TARGET };
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "admin_cli in the mgmtd container, each sub-step only when list-targets / "
            "list-chains do not show it done:");
    for (size_t i = 0; i < ARRAY_SIZE(rm_first); i++) {
        enum sc_sub s = add_first ? add_1st[i] : rm_first[i];
        char *c = sub_cli(mv, s);
        sb_addf(&sb, " %s;", c);
        if (s == SC_OFFLINE) sb_adds(&sb, " (wait until OFFLINE);");
        if (s == SC_CHAIN_ADD) sb_adds(&sb, " (wait until SERVING-UPTODATE);");
        free(c);
    }
    sb_setlen(&sb, sb.len - 1);
    return sb_detach(&sb);
}

static int observe(struct remote_session *s, struct scale_exec *x, struct sc_view *v,
                   struct strbuf *err)
{
    struct strbuf out = STRBUF_INIT;
    sc_view_release(v);
    int rc = remote_run(s, x->observe, 1, CMD_TIMEOUT_MS, &out, err);
    if (!rc) rc = sc_parse_observe(out.buf ? out.buf : "", v, err);
    sb_release(&out);
    return rc;
}

/* Run one admin_cli command; a non-zero exit or "Encounter error" on
 * stdout fails it (admin_cli's Dispatcher.cc prints that and the reason for
 * a failed command).  0, 1 for an answer worth waiting on (sc_answer_waits), or
 * -1 with the reason in err, naming the storage node the command is for
 * (node; 0: none) since admin_cli runs on the first mgmtd node. */
static int run_cli(struct remote_session *s, struct scale_exec *x, enum sc_sub sub,
                   uint32_t node, const char *cli, struct strbuf *err)
{
    char *cmd = admin_cli_cmd(container(x->ctx), cli, 1);
    struct exec_opts eo = { .timeout_ms = CMD_TIMEOUT_MS, .as_root = 1 };
    struct exec_result r;
    exec_result_init(&r);
    int rc = remote_exec(s, cmd, &eo, &r, err);
    const char *out = r.out.buf ? r.out.buf : "", *bad = strstr(out, "Encounter error");
    if (!rc && (bad || r.exit_status || r.timed_out)) {
        rc = sc_answer_waits(sub, out) || sc_answer_waits(sub, r.err.buf ? r.err.buf : "") ? 1 : -1;
        if (rc < 0) {
            struct strbuf why = STRBUF_INIT;
            sb_addf(&why, "%.400s", bad ? bad : r.err.len ? r.err.buf : out);
            sb_replace_all(&why, "\n", " ");
            sb_addf(err, "admin_cli %s", cli);
            if (node) sb_addf(err, " (for %s, storage node %u)", node_name(x->ctx, node), node);
            sb_addf(err, ": exit status %d%s: %s", r.exit_status,
                    r.timed_out ? " (timed out)" : "", why.buf);
            sb_release(&why);
        }
    }
    free(cmd);
    exec_result_release(&r);
    return rc;
}

static void progress(struct move_arg *a)
{
    struct scale_exec *x = a->x;
    char done[32], total[32];
    pthread_mutex_lock(&x->mu);
    x->moves_done++;
    x->bytes_done += a->bytes;
    if (a->chain_last) x->chains_done++;
    sc_human(x->bytes_done, done), sc_human(x->bytes_total, total);
    log_info("migrate: %zu/%zu chains done, %zu/%zu moves, %s of %s", x->chains_done,
             x->chains_total, x->moves_done, x->job->m->n_moves, done, total);
    pthread_mutex_unlock(&x->mu);
}

static void pause_ms(long ms)
{
    for (long t = 0; t < ms && !plan_stopping(NULL); t += 100) {
        struct timespec ts = { 0, 100L * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* One more wait for sub (since *wait_since, bounded by the chains' serving
 * timeout), pause_ms apart: 0, or -1 with the reason in err. */
static int sub_wait(const struct move_arg *a, enum sc_sub sub, int64_t *wait_since, long pause,
                    struct strbuf *err)
{
    const struct scale_exec *x = a->x;
    const struct ct_move *mv = &x->job->m->moves[a->i];
    const struct m3fs_config *cfg = x->ctx->cfg;
    if (!*wait_since) *wait_since = mono_ms();
    if (mono_ms() - *wait_since > cfg->storage.wait_chains_serving_timeout_ms) {
        int to = sub >= SC_CREATE_TARGET;
        uint32_t node = to ? mv->to_node : mv->from_node;
        sb_addf(err, "chain %u: still waiting (%s of target %llu on %s, storage node %u) after "
                "%lld s", mv->chain_id, sc_sub_name(sub),
                (unsigned long long)(to ? mv->to_target : mv->from_target), node_name(x->ctx, node),
                node, (long long)(cfg->storage.wait_chains_serving_timeout_ms / 1000));
        return -1;
    }
    pause_ms(pause);
    return 0;
}

/* One sub-step: run its command, or note that a wait goes on. */
static int do_sub(struct remote_session *s, struct move_arg *a, enum sc_sub sub,
                  int64_t *wait_since, struct strbuf *err)
{
    const struct ct_move *mv = &a->x->job->m->moves[a->i];
    char *cli = sub_cli(mv, sub);
    int rc = cli ? run_cli(s, a->x, sub, sub_node(mv, sub), cli, err) : 1;
    free(cli);
    if (rc <= 0) {
        *wait_since = 0;
        return rc;
    }
    return sub_wait(a, sub, wait_since, (long)a->x->ctx->cfg->check_status_interval_ms, err);
}

/* 0 while the leaving target is listed nowhere for less than
 * GONE_SETTLE_MS and the move would go on as if it were removed. */
static int gone_settled(const struct move_arg *a, const struct sc_view *v, enum sc_sub sub,
                        int64_t *since)
{
    const struct ct_move *mv = &a->x->job->m->moves[a->i];
    int relies = sub == SC_DONE || (!a->x->job->add_first && sub == SC_CREATE_TARGET);
    if (sc_find(v, mv->from_target)) {
        *since = 0;
        return 1;
    }
    if (!*since) *since = mono_ms();
    return !relies || mono_ms() - *since >= GONE_SETTLE_MS;
}

/* 1 (with the reason in err) once the arriving target has been locally
 * OFFLINE for DOWN_SETTLE_MS while the move waits for it to serve. */
static int arriving_down(const struct move_arg *a, const struct sc_view *v, enum sc_sub sub,
                         int64_t *since, struct strbuf *err)
{
    const struct ct_move *mv = &a->x->job->m->moves[a->i];
    const struct sc_target *b = sub == SC_WAIT_SERVING ? sc_find(v, mv->to_target) : NULL;
    if (!b || strcmp(b->local, "OFFLINE")) {
        *since = 0;
        return 0;
    }
    if (!*since) *since = mono_ms();
    if (mono_ms() - *since < DOWN_SETTLE_MS) return 0;
    const char *name = node_name(a->x->ctx, mv->to_node);
    sb_addf(err, "chain %u: target %llu on %s (storage node %u) has been OFFLINE for %ld s "
            "instead of syncing: is the storage service of %s running? (mgmtd shows a node's "
            "targets OFFLINE when its heartbeats stop)", mv->chain_id,
            (unsigned long long)mv->to_target, name, mv->to_node, DOWN_SETTLE_MS / 1000, name);
    return 1;
}

static int move_on_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)node;
    struct move_arg *a = arg;
    const struct ct_move *mv = &a->x->job->m->moves[a->i];
    struct sc_view v = { 0 };
    enum sc_sub last = SC_STUCK;
    int64_t wait_since = 0, gone_since = 0, down_since = 0;
    int repeat = 0, rc = 0;
    while (!rc) {
        if (plan_stopping(err)) { /* SIGINT, or another move failed */
            rc = -1;
        } else if (!(rc = observe(s, a->x, &v, err))) {
            struct strbuf why = STRBUF_INIT;
            enum sc_sub sub = sc_next_sub(mv, &v, a->x->job->add_first, &why);
            if (!gone_settled(a, &v, sub, &gone_since)) {
                sb_release(&why);
                pause_ms((long)a->x->ctx->cfg->check_status_interval_ms);
                continue;
            }
            repeat = sub == last ? repeat + 1 : 0;
            last = sub;
            if (sub == SC_DONE) break;
            if (sub == SC_STUCK) sb_addf(err, "chain %u: %s", mv->chain_id, why.buf), rc = -1;
            else if (arriving_down(a, &v, sub, &down_since, err)) rc = -1;
            else if (sub == SC_CREATE_TARGET && repeat) /* created, not listed yet */
                rc = sub_wait(a, sub, &wait_since, CREATED_POLL_MS, err);
            else if (repeat >= MAX_REPEAT && sub != SC_WAIT_OFFLINE && sub != SC_WAIT_SERVING &&
                     sub != SC_REMOVE_TARGET && sub != SC_OFFLINE) /* those wait (sc_answer_waits) */
                sb_addf(err, "chain %u: %s ran %d times and list-targets does not show it done",
                        mv->chain_id, sc_sub_name(sub), repeat), rc = -1;
            else rc = do_sub(s, a, sub, &wait_since, err);
            sb_release(&why);
        }
    }
    sc_view_release(&v);
    if (!rc) progress(a);
    return rc;
}

/* ---- the plan ------------------------------------------------------------- */

static void set_after(struct step *s, const size_t *idx, size_t n)
{
    s->after = xrealloc(s->after, (n ? n : 1) * sizeof(*s->after));
    memcpy(s->after, idx, n * sizeof(*idx));
    s->n_after = n;
}

/* create's storage steps (files, disks, container) on the new nodes only,
 * then create's wait until every node is HEARTBEAT_CONNECTED. */
static int storage_steps(struct plan_ctx *ctx, const struct scale_job *job, struct plan *p)
{
    if (!job->n_add) return 0;
    unsigned char *keep = xcalloc(ctx->cfg->n_nodes, 1);
    for (size_t i = 0; i < job->n_add; i++) {
        size_t n = scale_node_index(ctx, job->add[i]);
        if (n != SIZE_MAX) keep[n] = 1;
    }
    struct plan tmp = { 0 };
    int rc = svc_storage_create(ctx, &tmp);
    if (!rc) {
        plan_keep_nodes(&tmp, keep);
        for (size_t i = 0; i < tmp.n; i++) {
            ALLOC_GROW(p->steps, p->n, p->alloc);
            p->steps[p->n] = tmp.steps[i];
            if (p->n) set_after(&p->steps[p->n], (size_t[]){ p->n - 1 }, 1);
            p->n++;
        }
        free(tmp.steps);
        rc = svc3fs_heartbeat(ctx, p, "3fs");
    } else {
        plan_free(&tmp);
    }
    free(keep);
    return rc;
}

/* The new chains alone, as a table (for the generator's file formats). */
static struct ct_table *new_only(const struct ct_migration *m)
{
    const struct ct_table *a = m->after;
    struct ct_table *t = xcalloc(1, sizeof(*t));
    t->chains = xcalloc(m->n_new_chains + 1, sizeof(*t->chains));
    t->targets = xcalloc(a->n_targets + 1, sizeof(*t->targets));
    for (size_t i = 0; i < a->n_chains; i++) {
        const struct ct_chain *c = &a->chains[i];
        int is_new = 0;
        for (size_t j = 0; j < m->n_new_chains && !is_new; j++) is_new = m->new_chains[j] == c->chain_id;
        if (!is_new) continue;
        struct ct_chain *n = &t->chains[t->n_chains++];
        *n = *c;
        n->first = t->n_targets;
        memcpy(&t->targets[t->n_targets], &a->targets[c->first], c->n * sizeof(*t->targets));
        t->n_targets += c->n;
    }
    return t;
}

static void ids_file(const struct ct_table *t, struct file_set *fs, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < t->n_targets; i++)
        sb_addf(&sb, "%llu\n", (unsigned long long)t->targets[i].target_id);
    fs_add(fs, name, &sb, 0644);
    sb_release(&sb);
}

/* The files on the first mgmtd node: the new chains (upload-chains), their
 * create-target lines, the new table (upload-chain-table) and id lists for
 * the checks of m3fs-chains.sh. */
static void scale_files(const struct ct_migration *m, struct file_set *fs, char hex[65])
{
    struct ct_table *t = new_only(m);
    struct strbuf sb = STRBUF_INIT;
    if (ct_format(t, CT_FILE_CHAINS, &sb)) abort(); /* names are ct's own */
    fs_add(fs, CT_FILE_CHAINS, &sb, 0644);
    sb_reset(&sb);
    if (ct_format(t, CT_FILE_CREATE, &sb)) abort();
    fs_add(fs, CT_FILE_CREATE, &sb, 0644);
    sb_reset(&sb);
    if (ct_format(m->after, CT_FILE_TABLE, &sb)) abort();
    sha256_buf_hex(sb.buf ? sb.buf : "", sb.len, hex);
    fs_add(fs, CT_FILE_TABLE, &sb, 0644);
    sb_reset(&sb);
    for (size_t i = 0; i < t->n_chains; i++) sb_addf(&sb, "%u\n", t->chains[i].chain_id);
    fs_add(fs, "new_chain_ids.txt", &sb, 0644);
    sb_release(&sb);
    ids_file(t, fs, "new_target_ids.txt");
    ids_file(m->after, fs, "target_ids.txt");
    ct_table_free(t);
}

/* The new chains: their targets (create-target), then the chains
 * (upload-chains: new chains only, contract B7). */
static void new_chain_steps(struct plan_ctx *ctx, const struct ct_migration *m, struct plan *p,
                            size_t mg)
{
    if (!m->n_new_chains) return;
    char *check = svc_chains_script(ctx, "targets", SCALE_DIR "/new_target_ids.txt");
    char *create = svc_chains_script(ctx, "create-targets", SCALE_DIR "/new_target_ids.txt");
    char *cmd = xstrfmt("%s " SCALE_CDIR "/" CT_FILE_CREATE, create);
    char *title = xstrfmt("create the %zu targets of %zu new chains (create-target)",
                          m->n_new_chains * (size_t)(m->after->n_chains ? m->after->chains[0].n : 0),
                          m->n_new_chains);
    struct step *s = plan_add_step(p, "scale", STEP_RUN, title);
    step_add_run(s, mg, cmd, check);
    free(check), free(create), free(cmd), free(title);
    check = svc_chains_script(ctx, "chains", SCALE_DIR "/new_chain_ids.txt");
    char *up = admin_cli_cmd(container(ctx), "upload-chains " SCALE_CDIR "/" CT_FILE_CHAINS, 1);
    title = xstrfmt("upload the %zu new chains (upload-chains)", m->n_new_chains);
    s = plan_add_step(p, "scale", STEP_RUN, title);
    step_add_run(s, mg, up, check);
    free(check), free(up), free(title);
}

/* One CALL step per move; move i goes to lane (its chain's rank) % lanes,
 * so a chain's moves run one after another in step order and at most
 * `lanes` chains move at a time.  *ends gets the last step of each lane. */
static void move_steps(struct scale_exec *x, struct plan *p, size_t mg,
                       size_t *ends, size_t *n_ends)
{
    const struct ct_migration *m = x->job->m;
    size_t gate = p->n ? p->n - 1 : SIZE_MAX, lanes = SCALE_LANES;
    for (size_t k = 0; k < lanes; k++) ends[k] = gate;
    for (size_t i = 0; i < m->n_moves; i++) {
        const struct ct_move *mv = &m->moves[i];
        struct move_arg *a = &x->args[i];
        size_t lane = (size_t)(mv->chain_id * 2654435761u) % lanes;
        char b[32], *key = sc_move_key(mv), *what = move_what(mv, x->job->add_first);
        sc_human(a->bytes, b);
        char *title = xstrfmt("move a replica of chain %u: target %llu on %s (node %u) -> "
                              "target %llu on %s (node %u) (%s)", mv->chain_id,
                              (unsigned long long)mv->from_target,
                              node_name(x->ctx, mv->from_node), mv->from_node,
                              (unsigned long long)mv->to_target, node_name(x->ctx, mv->to_node),
                              mv->to_node, b);
        struct step_call c = { .on_node = move_on_node, .arg = a };
        struct step *s = plan_add_call(p, "scale", title, &c);
        step_add_call(s, mg, what);
        step_set_state(s, key, x->job->plan_id);
        s->n_after = 0;
        if (ends[lane] != SIZE_MAX) set_after(s, &ends[lane], 1);
        ends[lane] = p->n - 1;
        free(key), free(what), free(title);
    }
    *n_ends = 0;
    for (size_t k = 0; k < lanes; k++) {
        int seen = ends[k] == SIZE_MAX;
        for (size_t j = 0; j < *n_ends && !seen; j++) seen = ends[j] == ends[k];
        if (!seen) ends[(*n_ends)++] = ends[k];
    }
}

static void table_steps(struct plan_ctx *ctx, const struct ct_migration *m, struct plan *p,
                        size_t mg, const char *hex, const size_t *ends, size_t n_ends)
{
    char *desc = xstrfmt("upload-chain-table --desc %s 1 " SCALE_CDIR "/" CT_FILE_TABLE,
                         ctx->cfg->name);
    char *up = admin_cli_cmd(container(ctx), desc, 1);
    char *title = xstrfmt("upload the new chain table, %zu chains (upload-chain-table)",
                          m->after->n_order);
    struct step *s = plan_add_step(p, "scale", STEP_RUN, title);
    step_add_run(s, mg, up, NULL);
    step_set_state(s, "upload-chain-table", hex);
    if (n_ends) set_after(s, ends, n_ends);
    free(desc), free(up), free(title);
    svc_chains_serving_step(ctx, p, mg, "scale", SCALE_DIR "/target_ids.txt",
                            "the new chain table");
}

/* remove: the drained nodes' storage containers stopped (storage is given
 * STORAGE_STOP_S to flush) and removed; their disks are left as they are. */
static void drain_steps(struct plan_ctx *ctx, const struct scale_job *job, struct plan *p)
{
    if (!job->n_drain) return;
    const char *name = ctx->cfg->svc[SVC_STORAGE].container_name;
    char *rm = ctr_remove_cmd(ctx, name, STORAGE_STOP_S, NULL), *gone = ctr_absent_cmd(name, NULL);
    struct step *s = plan_add_step(p, "scale", STEP_RUN, "stop and remove the storage "
                                   "container of the drained nodes (disks are left as they are)");
    s->timeout_ms = STORAGE_STOP_STEP_MS;
    for (size_t i = 0; i < job->n_drain; i++) {
        size_t n = scale_node_index(ctx, job->drain[i]);
        if (n != SIZE_MAX) step_add_run(s, n, rm, gone);
    }
    free(rm), free(gone);
}

static struct scale_exec *exec_new(struct plan_ctx *ctx, const struct scale_job *job)
{
    const struct ct_migration *m = job->m;
    struct scale_exec *x = xcalloc(1, sizeof(*x));
    x->ctx = ctx, x->job = job;
    x->observe = scale_observe_cmd(ctx);
    pthread_mutex_init(&x->mu, NULL);
    x->args = xcalloc(m->n_moves + 1, sizeof(*x->args));
    for (size_t i = 0; i < m->n_moves; i++) {
        struct move_arg *a = &x->args[i];
        const struct sc_target *t = job->view ? sc_find(job->view, m->moves[i].from_target) : NULL;
        a->x = x, a->i = i, a->bytes = t ? t->used : 0, a->chain_last = 1;
        for (size_t j = 0; j < m->n_moves; j++)
            if (m->moves[j].chain_id == m->moves[i].chain_id && m->moves[j].step > m->moves[i].step)
                a->chain_last = 0;
        x->chains_total += a->chain_last;
        x->bytes_total += a->bytes;
    }
    return x;
}

int plan_build_scale(struct plan_ctx *ctx, struct scale_job *job, struct plan *p)
{
    size_t n;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &n);
    if (!n) {
        sb_adds(&ctx->err, "services.mgmtd has no nodes");
        return -1;
    }
    struct scale_exec *x = exec_new(ctx, job);
    job->priv = x;
    /* moves already recorded done count toward the progress at once */
    for (size_t i = 0; i < job->m->n_moves; i++) {
        char *key = sc_move_key(&job->m->moves[i]);
        const char *v = state_get_done(ctx->st, key);
        if (v && !strcmp(v, job->plan_id)) {
            x->moves_done++, x->bytes_done += x->args[i].bytes;
            x->chains_done += x->args[i].chain_last;
        }
        free(key);
    }
    if (storage_steps(ctx, job, p) < 0) return -1;
    struct file_set fs = { 0 };
    char hex[65] = "";
    scale_files(job->m, &fs, hex);
    char *dir = wd_path(ctx, SCALE_DIR);
    struct step *s = plan_add_step(p, "scale", STEP_PUT, "write the new chains and chain table");
    fs_put(s, mg[0], dir, &fs);
    free(dir);
    fs_release(&fs);
    new_chain_steps(ctx, job->m, p, mg[0]);
    size_t ends[SCALE_LANES], n_ends;
    move_steps(x, p, mg[0], ends, &n_ends);
    table_steps(ctx, job->m, p, mg[0], hex, ends, n_ends);
    drain_steps(ctx, job, p);
    return 0;
}

void scale_job_release(struct scale_job *job)
{
    struct scale_exec *x = job->priv;
    if (!x) return;
    pthread_mutex_destroy(&x->mu);
    free(x->observe);
    free(x->args);
    free(x);
    job->priv = NULL;
}
