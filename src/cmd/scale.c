/* cmd/scale.c: add-storage-nodes and remove-storage-nodes (cmd/scale.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scale.h"
#include "m3fs/chaintable.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"
#include "m3fs/scale.h"
#include "m3fs/sha256.h"
#include "m3fs/shquote.h"

struct scale_cmd {
    struct cmd_ctx *cctx;
    struct plan_ctx ctx;
    struct remote_ctx *rc;
    struct sc_view view;
    struct sc_plan_info pi;
    struct ct_migration *m;
    char *plan_text;
    int resumed;
    uint32_t *have; /* make_plan: the node ids holding targets now */
    size_t n_have;
    int clear;      /* --clear-disks */
};

/* What the first mgmtd node's admin_cli shows. */
static int read_cluster(struct scale_cmd *s, struct strbuf *err)
{
    const struct m3fs_config *cfg = s->cctx->cfg;
    size_t mg = cfg->svc[SVC_MGMTD].member[0];
    struct remote_session *rs = remote_ctx_get(s->rc, mg, err);
    if (!rs) return -1;
    char *cmd = scale_observe_cmd(&s->ctx);
    struct strbuf out = STRBUF_INIT;
    int rc = remote_run(rs, cmd, 1, 120000, &out, err);
    if (!rc) rc = sc_parse_observe(out.buf ? out.buf : "", &s->view, err);
    if (rc) sb_addf(err, "\n(reading the chain table on %s, the first mgmtd node)",
                    config_node_label(&cfg->nodes[mg]));
    free(cmd);
    sb_release(&out);
    return rc;
}

static int has_id(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static const char *node_name(struct scale_cmd *s, uint32_t id)
{
    size_t n = scale_node_index(&s->ctx, id);
    return n == SIZE_MAX ? "?" : config_node_label(&s->cctx->cfg->nodes[n]);
}

/* Node ids of the table; each must be a storage node of cluster.yml (a node
 * inserted before others would shift their ids). */
static int table_nodes(struct scale_cmd *s, const struct ct_table *t, uint32_t *ids, size_t *n,
                       struct strbuf *err)
{
    *n = 0;
    for (size_t i = 0; i < t->n_targets; i++) {
        uint32_t id = t->targets[i].node_id;
        if (has_id(ids, *n, id)) continue;
        if (scale_node_index(&s->ctx, id) == SIZE_MAX) {
            sb_addf(err, "storage node id %u holds targets but no node of services.storage in "
                    "%s has that id (ids follow the list's order from 10001: add new nodes at "
                    "its end, remove none from it before remove-storage-nodes)", id,
                    s->cctx->cfg->file);
            return -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

static int pick_nodes(struct scale_cmd *s, int add, const struct strvec *drain,
                      const uint32_t *have, size_t n_have, struct strbuf *err)
{
    const struct m3fs_config *cfg = s->cctx->cfg;
    const struct m3fs_service *st = &cfg->svc[SVC_STORAGE];
    size_t max = sizeof(s->pi.nodes) / sizeof(s->pi.nodes[0]);
    snprintf(s->pi.op, sizeof(s->pi.op), "%s", add ? "add" : "remove");
    for (size_t i = 0; add && i < st->n_member; i++) {
        uint32_t id = (uint32_t)config_node_id(cfg, st->member[i], SVC_STORAGE);
        if (has_id(have, n_have, id)) continue;
        if (s->pi.n_nodes == max) return sb_addf(err, "more than %zu nodes at once", max), -1;
        s->pi.nodes[s->pi.n_nodes++] = id;
    }
    for (size_t k = 0; !add && k < drain->n; k++) {
        size_t i = 0;
        while (i < st->n_member && strcmp(cfg->nodes[st->member[i]].name, drain->v[k])) i++;
        if (i == st->n_member)
            return sb_addf(err, "--node %s: no storage node of that name in %s", drain->v[k],
                           cfg->file), -1;
        uint32_t id = (uint32_t)config_node_id(cfg, st->member[i], SVC_STORAGE);
        if (s->pi.n_nodes == max) return sb_addf(err, "more than %zu nodes at once", max), -1;
        if (!has_id(s->pi.nodes, s->pi.n_nodes, id)) s->pi.nodes[s->pi.n_nodes++] = id;
    }
    return 0;
}

/* The SC_STATE_NODES record after this command (sc_nodes_next): hold the
 * nodes of the table, drain those drained now; names are cluster.yml's. */
static void nodes_record(struct scale_cmd *s, const uint32_t *hold, size_t n_hold,
                         const uint32_t *drain, size_t n_drain, struct strbuf *out)
{
    struct sc_nodes now = { 0 };
    for (size_t i = 0; i < n_hold; i++) sc_nodes_add(&now, 0, hold[i], node_name(s, hold[i]));
    for (size_t i = 0; i < n_drain; i++) sc_nodes_add(&now, 1, drain[i], node_name(s, drain[i]));
    sc_nodes_next(state_get_done(s->ctx.st, SC_STATE_NODES), &now, out);
    sc_nodes_release(&now);
}

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The node ids of table t, ascending. */
static uint32_t *table_ids(const struct ct_table *t, size_t *n)
{
    uint32_t *ids = xcalloc(t->n_targets + 1, sizeof(*ids));
    *n = 0;
    for (size_t i = 0; i < t->n_targets; i++)
        if (!has_id(ids, *n, t->targets[i].node_id)) ids[(*n)++] = t->targets[i].node_id;
    qsort(ids, *n, sizeof(*ids), cmp_id);
    return ids;
}

/* Nothing to add: record which nodes hold the table (create reads it,
 * sc_create_case), when the state file does not say so already. */
static void record_nothing_to_add(struct scale_cmd *s)
{
    struct strbuf rec = STRBUF_INIT, err = STRBUF_INIT;
    qsort(s->have, s->n_have, sizeof(*s->have), cmp_id);
    nodes_record(s, s->have, s->n_have, NULL, 0, &rec);
    const char *old = state_get_done(s->ctx.st, SC_STATE_NODES);
    if (!s->cctx->dry_run && (!old || strcmp(old, rec.buf))) {
        if (state_unchanged(s->ctx.st, &err) == 0) {
            state_set_done(s->ctx.st, SC_STATE_NODES, rec.buf);
            state_save(s->ctx.st, &err);
        }
        if (err.len) log_warn("cannot record the storage nodes in the state file: %s", err.buf);
    }
    sb_release(&rec), sb_release(&err);
}

/* A fresh plan from the cluster's table. */
static int make_plan(struct scale_cmd *s, int add, const struct strvec *drain, struct strbuf *err)
{
    const struct m3fs_config *cfg = s->cctx->cfg;
    struct ct_table *cur = NULL;
    uint32_t *have = NULL;
    size_t n_have = 0;
    int rc = sc_view_table(&s->view, &cur, err);
    if (!rc) {
        have = xcalloc(cur->n_targets + 1, sizeof(*have));
        rc = table_nodes(s, cur, have, &n_have, err);
    }
    if (!rc) rc = pick_nodes(s, add, drain, have, n_have, err);
    if (!rc && !s->pi.n_nodes) rc = 1;
    s->pi.k = cfg->storage.replication_factor, s->pi.disks = cfg->storage.disk_num_per_node;
    struct ct_migrate_params mp = { .k = s->pi.k, .disks = s->pi.disks,
                                    .r_min = cfg->storage.target_num_per_disk };
    if (add) mp.add = s->pi.nodes, mp.n_add = s->pi.n_nodes;
    else mp.remove = s->pi.nodes, mp.n_remove = s->pi.n_nodes;
    if (!rc) rc = ct_plan_migration(cur, &mp, &s->m, err);
    if (!rc && ct_check_migration(cur, s->m, s->pi.k, s->pi.disks, err)) {
        sb_adds(err, "\nthe migration plan does not check out (a bug of m3fs); nothing was changed");
        rc = -1;
    }
    if (!rc) {
        struct strbuf sb = STRBUF_INIT;
        sc_plan_encode(&s->pi, s->m, &sb);
        s->plan_text = sb_detach(&sb);
    }
    ct_table_free(cur);
    s->have = have, s->n_have = n_have;
    return rc;
}

/* The plan of a stopped run, when the state file holds one. */
static int stored_plan(struct scale_cmd *s, int add, struct strbuf *err)
{
    const char *text = state_get_done(s->ctx.st, SC_STATE_PLAN);
    if (!text || strncmp(text, "m3fs-scale ", 11)) return 0;
    if (sc_plan_decode(text, &s->pi, &s->m, err)) return -1;
    if (strcmp(s->pi.op, add ? "add" : "remove")) {
        sb_addf(err, "the state file %s holds an unfinished %s-storage-nodes: run that command "
                "again to finish it first", s->ctx.st->path, s->pi.op);
        return -1;
    }
    s->plan_text = xstrdup(text);
    s->resumed = 1;
    /* the node counts, for the summary: the new table's, and before */
    const struct ct_table *t = s->m->after;
    uint32_t *seen = xcalloc(t->n_targets + 1, sizeof(*seen));
    size_t n = 0;
    for (size_t i = 0; i < t->n_targets; i++)
        if (!has_id(seen, n, t->targets[i].node_id)) seen[n++] = t->targets[i].node_id;
    free(seen);
    s->m->v_after = (long)n;
    s->m->v_before = add ? (long)(n - s->pi.n_nodes) : (long)(n + s->pi.n_nodes);
    return 0;
}

static uint64_t show_plan(struct scale_cmd *s, FILE *out)
{
    uint64_t total = 0;
    fprintf(out, "%s plan for cluster '%s'%s: %zu replica move%s, %zu new chain%s, %ld -> %ld "
            "storage nodes\n", s->pi.op, s->cctx->cfg->name, s->resumed ? " (resumed from "
            "the state file)" : "", s->m->n_moves, s->m->n_moves == 1 ? "" : "s",
            s->m->n_new_chains, s->m->n_new_chains == 1 ? "" : "s", s->m->v_before, s->m->v_after);
    for (size_t i = 0; i < s->m->n_moves; i++) {
        const struct ct_move *mv = &s->m->moves[i];
        const struct sc_target *t = sc_find(&s->view, mv->from_target);
        uint64_t b = t ? t->used : 0;
        total += b;
        fprintf(out, "  chain %u (step %u): target %llu on %s (node %u) -> target %llu on %s "
                "(node %u), %llu bytes\n", mv->chain_id, mv->step,
                (unsigned long long)mv->from_target, node_name(s, mv->from_node), mv->from_node,
                (unsigned long long)mv->to_target, node_name(s, mv->to_node), mv->to_node,
                (unsigned long long)b);
    }
    fprintf(out, "  total: %llu bytes to copy\n", (unsigned long long)total);
    return total;
}

/* The moves still to run (none recorded done under this plan's digest)
 * as needs; *n gets their count.  Caller frees. */
static struct sc_need *needs_of(struct scale_cmd *s, const char *plan_id, size_t *n)
{
    struct sc_need *need = xcalloc(s->m->n_moves + 1, sizeof(*need));
    *n = 0;
    for (size_t i = 0; i < s->m->n_moves; i++) {
        const struct ct_move *mv = &s->m->moves[i];
        char *key = sc_move_key(mv);
        const char *v = state_get_done(s->ctx.st, key);
        free(key);
        if (v && !strcmp(v, plan_id)) continue;
        const struct sc_target *t = sc_find(&s->view, mv->from_target);
        need[(*n)++] = (struct sc_need){ mv->to_node, mv->disk_index, t ? t->used : 0 };
    }
    return need;
}

/* df of every target path of storage node id (one remote command). */
static int node_space(struct scale_cmd *s, uint32_t id, const char *cmd, const char *base,
                      struct sc_space *out, struct strbuf *err)
{
    const struct m3fs_config *cfg = s->cctx->cfg;
    size_t n = scale_node_index(&s->ctx, id);
    if (n == SIZE_MAX) return sb_addf(err, "storage node id %u is not in %s", id, cfg->file), -1;
    struct remote_session *rs = remote_ctx_get(s->rc, n, err);
    struct strbuf text = STRBUF_INIT;
    int rc = rs ? remote_run(rs, cmd, 1, 60000, &text, err) : -1;
    if (!rc) rc = sc_parse_space(text.buf, cfg->storage.disk_num_per_node,
                                 cfg->storage.disk == DISK_NVME ? base : NULL, out, err);
    if (rc) sb_addf(err, "\n(the free space of the target paths of %s, storage node %u: "
                    "templates/m3fs-scale.sh space)", config_node_label(&cfg->nodes[n]), id);
    for (long d = 0; d < cfg->storage.disk_num_per_node; d++)
        out[d].node = id, out[d].name = config_node_label(&cfg->nodes[n]);
    sb_release(&text);
    return rc;
}

/* Room for the moved bytes on every receiving node and filesystem (docs/
 * scale.md "Room for the moved bytes"): report gets a line per filesystem;
 * 0, or -1 with the refusal (or why the free space could not be read) in err. */
static int check_room(struct scale_cmd *s, const char *plan_id, struct strbuf *report,
                      struct strbuf *err)
{
    long disks = s->cctx->cfg->storage.disk_num_per_node;
    if (disks < 1 || disks > SC_MAX_DISKS)
        return sb_addf(err, "storage.diskNumPerNode %ld: the free-space check takes 1 to %d",
                       disks, SC_MAX_DISKS), -1;
    size_t n_need, n_nodes = 0;
    struct sc_need *need = needs_of(s, plan_id, &n_need);
    uint32_t *nodes = xcalloc(n_need + 1, sizeof(*nodes));
    for (size_t i = 0; i < n_need; i++)
        if (!has_id(nodes, n_nodes, need[i].node)) nodes[n_nodes++] = need[i].node;
    struct sc_space *sp = xcalloc(n_nodes * (size_t)disks + 1, sizeof(*sp));
    char *base = NULL, *cmd = scale_space_cmd(&s->ctx, &base);
    int rc = 0;
    for (size_t i = 0; i < n_nodes && !rc; i++)
        rc = node_space(s, nodes[i], cmd, base, &sp[i * (size_t)disks], err);
    if (!rc) {
        sb_adds(report, "Room on the receiving nodes (bytes to receive per filesystem; "
                "free space from df):\n");
        if (!n_need) sb_adds(report, "  (no move left to run)\n");
        rc = sc_room_judge(need, n_need, sp, n_nodes * (size_t)disks, base, report, err);
        if (rc) sb_adds(err, "\nrefused: not enough room for the moved bytes");
    }
    free(need), free(nodes), free(sp), free(base), free(cmd);
    return rc;
}

static int confirmed(struct scale_cmd *s, int yes)
{
    if (yes) return 1;
    char q[160];
    snprintf(q, sizeof(q), "Make these %zu replica moves (one replica of a chain out of service "
             "at a time)? ", s->m->n_moves);
    return cmd_confirm_yes(q, 1);
}

/* Record the plan (and its digest as every move's value), run, and on
 * success mark the plan finished. */
static int run(struct scale_cmd *s, struct plan *p)
{
    struct m3fs_config *cfg = s->cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    int r = -1;
    int ready = cmd_preflight(cfg, p, s->rc, s->cctx->parallel) == 0;
    if (ready) {
        state_set_done(s->ctx.st, SC_STATE_PLAN, s->plan_text);
        r = state_save(s->ctx.st, &err) < 0 ? -1
            : plan_run(p, s->ctx.st, s->rc, s->cctx->parallel, &rs, &err);
    }
    if (r == 0) {
        char hex[65];
        sha256_buf_hex(s->plan_text, strlen(s->plan_text), hex);
        state_set_done(s->ctx.st, SC_STATE_PLAN, hex); /* finished: no longer resumed */
        size_t n_hold;
        uint32_t *hold = table_ids(s->m->after, &n_hold);
        struct strbuf rec = STRBUF_INIT;
        int drains = strcmp(s->pi.op, "add") != 0;
        nodes_record(s, hold, n_hold, s->pi.nodes, drains ? s->pi.n_nodes : 0, &rec);
        state_set_done(s->ctx.st, SC_STATE_NODES, rec.buf); /* create reads it */
        sb_release(&rec);
        free(hold);
        if (state_save(s->ctx.st, &err) < 0) r = -1, log_error("%s", err.buf);
        else printf("Cluster '%s': %s-storage-nodes finished (%zu actions ran, %zu were already "
                    "done).\n", cfg->name, s->pi.op, rs.changed, rs.skipped);
    } else if (!ready) {
        if (err.len) log_error("%s", err.buf);
    } else if (r == PLAN_INTERRUPTED) {
        log_error("interrupted; run the same command again to resume (state: %s)", s->ctx.st->path);
    } else {
        log_error("%s\nrun the same command again to resume (state: %s)", err.buf, s->ctx.st->path);
    }
    sb_release(&err);
    return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---- --clear-disks (docs/scale.md "Clearing the drained nodes' disks") ---- */

/* Per cfg->nodes: 1 for the storage nodes s->pi.nodes names; caller frees. */
static unsigned char *clear_mask(struct scale_cmd *s)
{
    unsigned char *m = xcalloc(s->cctx->cfg->n_nodes + 1, 1);
    for (size_t i = 0; i < s->pi.n_nodes; i++) {
        size_t n = scale_node_index(&s->ctx, s->pi.nodes[i]);
        if (n != SIZE_MAX) m[n] = 1;
    }
    return m;
}

/* 1 when no plan is unfinished and SC_STATE_NODES records every node of
 * drain drained (same id and name; a finished remove-storage-nodes): their
 * ids are then in s->pi.  0 otherwise; -1 for a name cluster.yml lacks. */
static int drained_before(struct scale_cmd *s, const struct strvec *drain, struct strbuf *err)
{
    const char *plan = state_get_done(s->ctx.st, SC_STATE_PLAN);
    const char *rec = state_get_done(s->ctx.st, SC_STATE_NODES);
    struct sc_nodes nodes = { 0 };
    if ((plan && !strncmp(plan, "m3fs-scale ", 11)) || !rec || sc_nodes_decode(rec, &nodes))
        return 0;
    int rc = pick_nodes(s, 0, drain, NULL, 0, err) ? -1 : 1;
    for (size_t i = 0; rc > 0 && i < s->pi.n_nodes; i++) {
        uint32_t id = s->pi.nodes[i];
        if (!sc_nodes_find(nodes.drained, nodes.n_drained, id, node_name(s, id)) ||
            sc_nodes_find(nodes.hold, nodes.n_hold, id, node_name(s, id)))
            rc = 0;
    }
    if (rc == 0) memset(&s->pi, 0, sizeof(s->pi));
    sc_nodes_release(&nodes);
    return rc;
}

/* "BASE/data0 .. BASE/data<n-1>" (the target paths, templates/m3fs-disks.sh). */
static void data_dirs(struct strbuf *out, const char *base, long n)
{
    sb_addf(out, "%s/data0", base);
    if (n > 1) sb_addf(out, " .. %s/data%ld", base, n - 1);
}

/* The disks the clear wipes, as the node's list (the text of list) names
 * them; lines m3fs-disks.sh did not write so are said to be left out. */
static void formatted_what(const char *text, size_t len, const char *list, struct strbuf *out)
{
    struct sc_fmt_list f;
    sc_parse_formatted(text, len, &f);
    for (size_t i = 0; i < f.n; i++)
        sb_addf(out, "    wipe (wipefs -a) the disk labelled %s, m3fs formatted it as %s "
                "(where that label is found)\n", f.v[i].label, f.v[i].dev);
    if (!f.n) sb_addf(out, "    wipe no disk (%s lists none m3fs formatted)\n", list);
    if (f.skipped)
        sb_addf(out, "    (%zu line%s of %s not of the form 'DEV LABEL' m3fs writes: left out "
                "of this list; look at that file before going on)\n", f.skipped,
                f.skipped == 1 ? "" : "s", list);
    sc_fmt_list_release(&f);
}

/* What the clear deletes on node (an index of cfg->nodes), into out; for
 * nvme the disks listed in <base>.formatted there (read-only).  0, or -1
 * with why in err. */
static int clear_what(struct scale_cmd *s, size_t node, struct strbuf *out, struct strbuf *err)
{
    const struct m3fs_config *cfg = s->cctx->cfg;
    long n = cfg->storage.disk_num_per_node;
    int w = (int)strlen(cfg->work_dir);
    while (w > 1 && cfg->work_dir[w - 1] == '/') w--; /* as the steps' paths (wd_path) */
    char *dir = xstrfmt("%.*s/storage", w, cfg->work_dir), *base = xstrfmt("%s/3fsdata", dir);
    sb_addf(out, "  %s:\n", config_node_label(&cfg->nodes[node]));
    int rc = 0;
    if (cfg->storage.disk == DISK_NVME) {
        struct strbuf cmd = STRBUF_INIT, text = STRBUF_INIT;
        char *list = xstrfmt("%s.formatted", base);
        sb_adds(&cmd, "cat -- ");
        sh_quote(&cmd, list);
        sb_adds(&cmd, " 2>/dev/null || true");
        struct remote_session *rs = remote_ctx_get(s->rc, node, err);
        rc = rs ? remote_run(rs, cmd.buf, 1, 60000, &text, err) : -1;
        sb_adds(out, "    unmount ");
        data_dirs(out, base, n);
        sb_addf(out, " and drop their /etc/fstab lines (tagged '# m3fs %s')\n", base);
        if (!rc) formatted_what(text.buf, text.len, list, out);
        free(list);
        sb_release(&cmd), sb_release(&text);
    }
    sb_addf(out, "    delete %s: the storage service's files and the data directories ", dir);
    data_dirs(out, base, n);
    sb_adds(out, " with every chunk in them\n");
    if (rc) sb_addf(err, "\n(reading what --clear-disks would wipe on %s)",
                    config_node_label(&cfg->nodes[node]));
    free(dir), free(base);
    return rc;
}

/* --yes with --clear-disks consents; otherwise list exactly what goes per
 * node and ask to type the node names (as destroy asks for the cluster's). */
static int clear_confirmed(struct scale_cmd *s, const unsigned char *clear, int yes)
{
    if (yes) return 1;
    const struct m3fs_config *cfg = s->cctx->cfg;
    struct strbuf what = STRBUF_INIT, names = STRBUF_INIT, err = STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < cfg->n_nodes && !rc; i++) {
        if (!clear[i]) continue;
        sb_addf(&names, "%s%s", names.len ? "," : "", cfg->nodes[i].name);
        rc = clear_what(s, i, &what, &err);
    }
    int ok = 0;
    if (rc) {
        log_error("%s\nnothing was cleared", err.buf);
    } else {
        fprintf(stderr, "--clear-disks: this DELETES the storage data of "
                "cluster '%s' on the drained nodes (each node's other services stay):\n%s"
                "Type the node names '%s' to go on: ", cfg->name, what.buf, names.buf);
        char line[1024];
        if (cmd_read_answer(line, sizeof(line)) == 0) {
            ok = !strcmp(line, names.buf);
            if (!ok) log_error("'%s' is not '%s'; nothing was changed", line, names.buf);
        }
    }
    sb_release(&what), sb_release(&names), sb_release(&err);
    return ok;
}

/* Build the clear steps for s->pi.nodes into p; 0, or -1 (logged). */
static int clear_plan(struct scale_cmd *s, unsigned char **clear, struct plan *p)
{
    *clear = clear_mask(s);
    if (plan_build_clear_storage(&s->ctx, *clear, p) == 0) return 0;
    log_error("cannot plan --clear-disks: %s", s->ctx.err.buf);
    return -1;
}

static void print_steps(struct scale_cmd *s, const char *head, const struct plan *p)
{
    struct strbuf out = STRBUF_INIT;
    sb_addf(&out, "%s (%zu). Nothing was changed.\n", head, p->n);
    plan_print(p, s->cctx->cfg, &out);
    fwrite(out.buf, 1, out.len, stdout);
    sb_release(&out);
}

static int run_clear(struct scale_cmd *s, const struct plan *p)
{
    char *done = xstrfmt("Cluster '%s': the storage data of the drained nodes was cleared",
                         s->cctx->cfg->name);
    struct cmd_run run = { .p = p, .st = s->ctx.st, .rc = s->rc, .done = done };
    int code = cmd_run_plan(s->cctx, &run);
    free(done);
    return code;
}

/* The drain finished before (drained_before): the clear steps alone. */
static int clear_only(struct scale_cmd *s, int yes)
{
    unsigned char *clear = NULL;
    struct plan p = { 0 };
    int code = EXIT_FAIL;
    if (clear_plan(s, &clear, &p) == 0) {
        printf("remove-storage-nodes finished before on these nodes; --clear-disks clears "
               "their storage data now.\n");
        if (s->cctx->dry_run) print_steps(s, "Steps of --clear-disks", &p), code = EXIT_OK;
        else if (clear_confirmed(s, clear, yes)) code = run_clear(s, &p);
    }
    plan_free(&p);
    free(clear);
    return code;
}

static int plan_and_run(struct scale_cmd *s, int yes)
{
    char hex[65];
    sha256_buf_hex(s->plan_text, strlen(s->plan_text), hex);
    struct scale_job job = { .m = s->m, .view = &s->view, .add_first = s->pi.k == 1,
                             .plan_id = hex };
    if (!strcmp(s->pi.op, "add")) job.add = s->pi.nodes, job.n_add = s->pi.n_nodes;
    else job.drain = s->pi.nodes, job.n_drain = s->pi.n_nodes;
    struct plan p = { 0 };
    struct strbuf room = STRBUF_INIT, err = STRBUF_INIT;
    int code = EXIT_FAIL, roomy = 0;
    if (plan_build_scale(&s->ctx, &job, &p) < 0) {
        log_error("cannot plan the change: %s", s->ctx.err.buf);
    } else {
        roomy = check_room(s, hex, &room, &err) == 0;
        show_plan(s, s->cctx->dry_run ? stdout : stderr);
        fputs(room.buf ? room.buf : "", s->cctx->dry_run ? stdout : stderr);
        if (!roomy)
            log_error("%s\n%s", err.buf, s->resumed ? "this run changed nothing (the stopped "
                      "run's plan stays in the state file: run the command again once there "
                      "is room)" : "nothing was changed");
    }
    unsigned char *clear = NULL;
    struct plan cp = { 0 };
    if (roomy && s->clear && clear_plan(s, &clear, &cp) < 0) roomy = 0;
    if (roomy && s->cctx->dry_run) {
        print_steps(s, "Steps", &p);
        if (s->clear) print_steps(s, "Then the steps of --clear-disks", &cp);
        code = EXIT_OK;
    } else if (roomy && confirmed(s, yes) && (!s->clear || clear_confirmed(s, clear, yes))) {
        code = run(s, &p);
        if (code == EXIT_OK && s->clear) code = run_clear(s, &cp);
    }
    sb_release(&room), sb_release(&err);
    plan_free(&p), plan_free(&cp);
    free(clear);
    scale_job_release(&job);
    return code;
}

int cmd_scale(struct cmd_ctx *cctx, int add, const struct strvec *drain, int yes, int clear)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct scale_cmd s = { .cctx = cctx, .clear = !add && clear };
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    int code = EXIT_FAIL, r = -1;
    if (!st) log_error("%s", err.buf);
    else if (!st->existed)
        log_error("no state file %s: this works on a cluster `m3fs cluster create` made with "
                  "this cluster.yml", path);
    else if (!cfg->svc[SVC_MGMTD].n_member) log_error("services.mgmtd has no nodes");
    else if (plan_ctx_init(&s.ctx, cfg, st, 0) < 0) log_error("%s", s.ctx.err.buf);
    else {
        s.rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &cctx->ro);
        int again = s.clear ? drained_before(&s, drain, &err) : 0;
        r = again ? again : read_cluster(&s, &err);
        if (!r) r = stored_plan(&s, add, &err);
        if (!r && !s.m) r = make_plan(&s, add, drain, &err);
        if (again > 0) {
            code = clear_only(&s, yes);
        } else if (r > 0) {
            record_nothing_to_add(&s);
            printf("Every storage node of %s holds targets already: nothing to add.\n", cfg->file);
            code = EXIT_OK;
        } else if (r < 0) {
            log_error("%s%s", err.buf, s.m ? "" : "\nnothing was changed");
        } else {
            code = plan_and_run(&s, yes);
        }
    }
    if (s.rc) remote_ctx_free(s.rc);
    ct_migration_free(s.m);
    free(s.plan_text);
    free(s.have);
    sc_view_release(&s.view);
    plan_ctx_release(&s.ctx);
    state_free(st);
    free(path);
    sb_release(&err);
    return code;
}
