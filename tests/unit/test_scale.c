/* test_scale: what add-storage-nodes / remove-storage-nodes read and decide
 * (docs/scale.md): admin_cli's list-targets / --orphan / list-chains read
 * into a view and the chain table; which sub-step of a replica move comes
 * next from every state the cluster can show (the resume logic); the plan
 * kept in the state file read back exactly; sc_nodes_find over a node
 * record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"
#include "m3fs/plan.h"
#include "m3fs/scale.h"
#include "testutil.h"
#include "cttest.h"

/* A table as admin_cli's Printer.cc prints it: each column as wide as its
 * widest cell plus two spaces, the last cell unpadded. */
static void print_table(struct strbuf *out, const char *const *cells, size_t cols, size_t rows)
{
    size_t w[32] = { 0 };
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            if (strlen(cells[r * cols + c]) > w[c]) w[c] = strlen(cells[r * cols + c]);
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *s = cells[r * cols + c];
            if (c + 1 < cols) sb_addf(out, "%-*s", (int)(w[c] + 2), s);
            else sb_adds(out, s);
        }
        sb_addch(out, '\n');
    }
}

static const char *const targets_tbl[] = {
    "TargetId",     "ChainId",   "Role", "PublicState", "LocalState", "NodeId", "DiskIndex", "UsedSize",
    "101000100101", "900100001", "HEAD", "SERVING",     "UPTODATE",   "10001",  "0",         "1048576",
    "101000200101", "900100001", "TAIL", "SYNCING",     "ONLINE",     "10002",  "0",         "0",
    "101000300101", "900100002", "HEAD", "OFFLINE",     "OFFLINE",    "N/A",    "N/A",       "0",
};

static const char *const orphans_tbl[] = {
    "TargetId",     "LocalState", "NodeId", "DiskIndex", "UsedSize",
    "101000400101", "ONLINE",     "10004",  "0",         "4096",
};

static const char *const chains_tbl[] = {
    "ChainId",   "ChainTable", "ChainTableVersion", "ChainVersion", "Status",     "PreferredOrder", "Target",                        "Target",
    "900100001", "1",          "3",                 "7",            "SYNCING",    "[]",             "101000100101(SERVING-UPTODATE)", "101000200101(SYNCING-ONLINE)",
    "900100002", "1",          "3",                 "2",            "SERVING(1/2)", "[]",           "101000500101(SERVING-UPTODATE)", "101000300101(OFFLINE-OFFLINE)",
};

static void test_parse_targets(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    struct sc_view v = { 0 };
    print_table(&text, targets_tbl, 8, 4);
    assert_int_equal(sc_parse_targets(text.buf, &v, &err), 0);
    assert_int_equal(v.n, 3);
    const struct sc_target *t = sc_find(&v, 101000100101ULL);
    assert_non_null(t);
    assert_int_equal(t->chain, 900100001);
    assert_int_equal(t->node, 10001);
    assert_int_equal(t->disk, 0);
    assert_string_equal(t->pub, "SERVING");
    assert_string_equal(t->local, "UPTODATE");
    assert_int_equal(t->used, 1048576);
    assert_false(t->orphan);
    t = sc_find(&v, 101000300101ULL);
    assert_int_equal(t->node, -1);
    assert_int_equal(t->disk, -1);
    sb_reset(&text);
    print_table(&text, orphans_tbl, 5, 2);
    assert_int_equal(sc_parse_targets(text.buf, &v, &err), 0);
    t = sc_find(&v, 101000400101ULL);
    assert_non_null(t);
    assert_true(t->orphan);
    assert_int_equal(t->chain, 0);
    assert_string_equal(t->pub, "");
    assert_int_equal(t->used, 4096);
    assert_null(sc_find(&v, 1));
    sc_view_release(&v);
    sb_release(&text), sb_release(&err);
}

static void test_parse_chains(void **state)
{
    (void)state;
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    struct sc_view v = { 0 };
    v.table_version = -1;
    print_table(&text, targets_tbl, 8, 4);
    assert_int_equal(sc_parse_targets(text.buf, &v, &err), 0);
    sb_reset(&text);
    print_table(&text, chains_tbl, 8, 3);
    assert_int_equal(sc_parse_chains(text.buf, &v, &err), 0);
    assert_int_equal(v.table_version, 3);
    assert_int_equal(v.n_chains, 2);
    assert_int_equal(v.c[1].id, 900100002);
    assert_int_equal(v.c[1].n, 2);
    assert_true(v.c[1].targets[0] == 101000500101ULL);
    /* a target only list-chains shows gets its states from there */
    const struct sc_target *t = sc_find(&v, 101000500101ULL);
    assert_non_null(t);
    assert_string_equal(t->pub, "SERVING");
    assert_int_equal(t->chain, 900100002);
    sc_view_release(&v);
    sb_release(&text), sb_release(&err);
}

static void expect_bad(const char *text, int chains, const char *what)
{
    struct strbuf err = STRBUF_INIT;
    struct sc_view v = { 0 };
    int rc = chains ? sc_parse_chains(text, &v, &err) : sc_parse_targets(text, &v, &err);
    assert_int_equal(rc, -1);
    if (!strstr(err.buf, what)) fail_msg("'%s' lacks '%s'", err.buf, what);
    sc_view_release(&v);
    sb_release(&err);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    expect_bad("Encounter error: 4001(MgmtdClient::RefreshFailed)\nno mgmtd\n", 0, "Encounter error");
    expect_bad("TargetId  LocalState\n1         ONLINE\n", 0, "column is missing");
    expect_bad("TargetId  LocalState  NodeId  DiskIndex  UsedSize\n"
               "1         online      1       0          0\n", 0, "local state");
    expect_bad("TargetId  LocalState  NodeId  DiskIndex  UsedSize\n"
               "1         ONLINE      1       0          -5\n", 0, "UsedSize");
    expect_bad("TargetId  LocalState  NodeId  DiskIndex  UsedSize\n"
               "99999999999999999999  ONLINE  1  0  0\n", 0, "");
    expect_bad("ChainId    Status   Target\n900100001  SERVING  101(SERVING)\n", 1, "chain target");
    expect_bad("ChainId    Status   Target\n900100001  SERVING  101(serving-UPTODATE)\n", 1,
               "chain target");
    expect_bad("ChainId    Status   Target\n0          SERVING  101(SERVING-UPTODATE)\n", 1, "chain id");
    expect_bad("Status   Target\nSERVING  1(SERVING-UPTODATE)\n", 1, "ChainId");
    expect_bad("== targets ==\nTargetId\n", 2, "");
}

/* The listings a cluster running table t would print. */
static void listings(const struct ct_table *t, struct strbuf *out)
{
    const char **cells = calloc((t->n_targets + 1) * 8 + 8, sizeof(*cells));
    char **own = calloc((t->n_targets + 1) * 8, sizeof(*own));
    size_t n = 0, o = 0;
    static const char *const th[] = { "TargetId", "ChainId", "Role", "PublicState", "LocalState",
                                      "NodeId", "DiskIndex", "UsedSize" };
    for (size_t c = 0; c < 8; c++) cells[n++] = th[c];
    for (size_t i = 0; i < t->n_targets; i++) {
        const struct ct_target *g = &t->targets[i];
        cells[n++] = own[o++] = xstrfmt("%llu", (unsigned long long)g->target_id);
        cells[n++] = own[o++] = xstrfmt("%u", g->chain_id);
        cells[n++] = "HEAD", cells[n++] = "SERVING", cells[n++] = "UPTODATE";
        cells[n++] = own[o++] = xstrfmt("%u", g->node_id);
        cells[n++] = own[o++] = xstrfmt("%u", g->disk_index);
        cells[n++] = own[o++] = xstrfmt("%zu", i * 1000);
    }
    sb_adds(out, "== targets ==\n");
    print_table(out, cells, 8, t->n_targets + 1);
    sb_adds(out, "== orphans ==\nTargetId  LocalState  NodeId  DiskIndex  UsedSize\n");
    sb_adds(out, "== chains ==\n");
    for (size_t i = 0; i < o; i++) free(own[i]);
    /* chains in table order, k targets each */
    size_t k = t->chains[0].n, cols = 3 + k;
    n = o = 0;
    cells[n++] = "ChainId", cells[n++] = "ChainTableVersion", cells[n++] = "Status";
    for (size_t j = 0; j < k; j++) cells[n++] = "Target";
    for (size_t r = 0; r < t->n_order; r++) {
        const struct ct_chain *c = NULL;
        for (size_t x = 0; x < t->n_chains; x++)
            if (t->chains[x].chain_id == t->order[r]) c = &t->chains[x];
        cells[n++] = own[o++] = xstrfmt("%u", c->chain_id);
        cells[n++] = "1", cells[n++] = "SERVING";
        for (size_t j = 0; j < k; j++)
            cells[n++] = own[o++] = xstrfmt("%llu(SERVING-UPTODATE)",
                                            (unsigned long long)t->targets[c->first + j].target_id);
    }
    print_table(out, cells, cols, t->n_order + 1);
    for (size_t i = 0; i < o; i++) free(own[i]);
    free(own), free(cells);
}

/* The table read back from the listings equals the one that made them. */
static void test_view_table(void **state)
{
    (void)state;
    struct ct_table *t = tu_ct_gen(5, 3, 6, 2);
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    listings(t, &text);
    struct sc_view v = { 0 };
    assert_int_equal(sc_parse_observe(text.buf, &v, &err), 0);
    assert_int_equal(v.table_version, 1);
    struct ct_table *back = NULL;
    if (sc_view_table(&v, &back, &err)) fail_msg("%s", err.buf);
    assert_int_equal(back->n_chains, t->n_chains);
    assert_int_equal(back->n_targets, t->n_targets);
    assert_int_equal(back->n_order, t->n_order);
    assert_memory_equal(back->order, t->order, t->n_order * sizeof(*t->order));
    for (size_t i = 0; i < t->n_chains; i++) {
        assert_int_equal(back->chains[i].chain_id, t->chains[i].chain_id);
        assert_int_equal(back->chains[i].disk_index, t->chains[i].disk_index);
        assert_int_equal(back->chains[i].n, t->chains[i].n);
    }
    for (size_t i = 0; i < t->n_targets; i++) {
        assert_true(back->targets[i].target_id == t->targets[i].target_id);
        assert_int_equal(back->targets[i].node_id, t->targets[i].node_id);
        assert_int_equal(back->targets[i].disk_index, t->targets[i].disk_index);
    }
    struct ct_expect exp = { 3, 2, 0 };
    assert_int_equal(ct_verify(back, &exp, NULL, NULL), 0);
    ct_table_free(back), ct_table_free(t);
    sc_view_release(&v);
    sb_release(&text), sb_release(&err);
}

/* ---- the resume logic ------------------------------------------------------
 * A tiny model of mgmtd and the storage nodes for one chain with targets
 * A (leaving), B (arriving) and S (staying), applying each sub-step as
 * docs/scale.md says 3FS does. */
#define A 101000100101ULL
#define B 101000400101ULL
#define S 101000200101ULL
#define CH 900100001u

struct model {
    int a_exists, a_in, b_exists, b_in;
    const char *a_pub, *a_local, *b_pub, *b_local;
};

static void set(struct sc_view *v, uint64_t id, int in_chain, const char *pub, const char *local)
{
    struct sc_target *t = &v->t[v->n++];
    memset(t, 0, sizeof(*t));
    t->id = id, t->node = 1, t->disk = 0;
    t->chain = in_chain ? CH : 0;
    t->orphan = !in_chain;
    snprintf(t->pub, sizeof(t->pub), "%s", in_chain ? pub : "");
    snprintf(t->local, sizeof(t->local), "%s", local);
}

static void view_of(const struct model *m, struct sc_view *v)
{
    v->n = 0;
    set(v, S, 1, "SERVING", "UPTODATE");
    if (m->a_exists) set(v, A, m->a_in, m->a_pub, m->a_local);
    if (m->b_exists) set(v, B, m->b_in, m->b_pub, m->b_local);
}

/* What 3FS does on each sub-step (and on a wait: mgmtd moves on). */
static void apply(struct model *m, enum sc_sub s)
{
    switch (s) {
    case SC_OFFLINE: m->a_local = "OFFLINE"; break;
    case SC_WAIT_OFFLINE: m->a_pub = "OFFLINE"; break;
    case SC_CHAIN_REMOVE: m->a_in = 0; break;
    case SC_REMOVE_TARGET: m->a_exists = 0; break;
    case SC_CREATE_TARGET: m->b_exists = 1, m->b_local = "ONLINE"; break;
    case SC_CHAIN_ADD: m->b_in = 1, m->b_pub = "OFFLINE"; break;
    case SC_WAIT_SERVING:
        if (!strcmp(m->b_pub, "OFFLINE")) m->b_pub = "SYNCING";
        else m->b_pub = "SERVING", m->b_local = "UPTODATE";
        break;
    default: break;
    }
}

static const struct ct_move mv = { CH, 0, 0, 10001, 10004, A, B };

/* Run a move to its end from model m; returns the sub-steps taken. */
static size_t drive(struct model m, int add_first, enum sc_sub *seq, size_t max)
{
    struct sc_view v = { 0 };
    v.t = calloc(4, sizeof(*v.t));
    size_t n = 0;
    for (;;) {
        view_of(&m, &v);
        enum sc_sub s = sc_next_sub(&mv, &v, add_first, NULL);
        assert_true(n < max);
        seq[n++] = s;
        if (s == SC_DONE || s == SC_STUCK) break;
        apply(&m, s);
    }
    free(v.t);
    return n;
}

static const struct model start = { 1, 1, 0, 0, "SERVING", "UPTODATE", "", "" };

/* The model driven from start gives want, and resumed after each sub-step
 * (the model's state then) gives the rest of want. */
static void check_sequence(const enum sc_sub *want, size_t n_want, int add_first)
{
    enum sc_sub seq[32];
    size_t n = drive(start, add_first, seq, 32);
    assert_int_equal(n, n_want);
    assert_memory_equal(seq, want, n_want * sizeof(*want));
    struct model m = start;
    for (size_t i = 0; i + 1 < n_want; i++) {
        apply(&m, want[i]);
        size_t k = drive(m, add_first, seq, 32);
        assert_int_equal(k, n_want - i - 1);
        assert_memory_equal(seq, want + i + 1, k * sizeof(*seq));
    }
}

static void test_next_remove_first(void **state)
{
    (void)state;
    static const enum sc_sub want[] = { SC_OFFLINE, SC_WAIT_OFFLINE, SC_CHAIN_REMOVE,
                                        SC_REMOVE_TARGET, SC_CREATE_TARGET, SC_CHAIN_ADD,
                                        SC_WAIT_SERVING, SC_WAIT_SERVING, SC_DONE };
    check_sequence(want, ARRAY_SIZE(want), 0);
}

static void test_next_add_first(void **state)
{
    (void)state;
    static const enum sc_sub want[] = { SC_CREATE_TARGET, SC_CHAIN_ADD, SC_WAIT_SERVING,
                                        SC_WAIT_SERVING, SC_OFFLINE, SC_WAIT_OFFLINE,
                                        SC_CHAIN_REMOVE, SC_REMOVE_TARGET, SC_DONE };
    check_sequence(want, ARRAY_SIZE(want), 1);
}

/* admin_cli answers that mean "done, wait for the listings" (upstream's
 * words: StorageOperator.cc, StorageTargets.cc).  A created B is listed
 * from its node's next heartbeat only, so the listing in between asks for
 * create-target again (the move then polls instead: services/scale.c);
 * create-target has no answer that is a wait: another target of the chain
 * on the node is a failure. */
static void test_answer_waits(void **state)
{
    (void)state;
    struct model m = start; /* add first: B created, not yet heard of */
    struct sc_view v = { 0 };
    v.t = calloc(4, sizeof(*v.t));
    view_of(&m, &v);
    assert_int_equal(sc_next_sub(&mv, &v, 1, NULL), SC_CREATE_TARGET);
    m.a_exists = 0, m.a_in = 0; /* remove first: A removed, then the same */
    view_of(&m, &v);
    assert_int_equal(sc_next_sub(&mv, &v, 0, NULL), SC_CREATE_TARGET);
    free(v.t);
    /* create-target: every refusal is a failure */
    assert_false(sc_answer_waits(SC_CREATE_TARGET,
                                 "Encounter error: 4018(Storage::StorageInitFailed)\ntarget "
                                 "TargetId(101000400102) is existing with same chain id "
                                 "ChainId(900100001), req target TargetId(101000400101)\n"));
    assert_false(sc_answer_waits(SC_CREATE_TARGET, "Encounter error: 7004(StorageClient::RoutingError)\n"));
    assert_false(sc_answer_waits(SC_CHAIN_ADD, "target TargetId(1) is already existing"));
    assert_true(sc_answer_waits(SC_OFFLINE, "Encounter error: 4030(Storage::TargetOffline)\n"));
    assert_true(sc_answer_waits(SC_REMOVE_TARGET, "Encounter error: 4031(Storage::TargetNotFound)\n"
                                "target is still in a chain!\n"));
    assert_false(sc_answer_waits(SC_CHAIN_REMOVE, "target is still in a chain!"));
}

/* The leaving target's node restarted mid-move (a stopped dockerd): a
 * restart forgets offline-target, so A shows up again locally ONLINE, in
 * its chain (public OFFLINE while the node was away) or already out of it.
 * The move offlines it again before remove-target, in both orders. */
static void test_next_node_restarted(void **state)
{
    (void)state;
    enum sc_sub seq[32];
    static const enum sc_sub orphan[] = { SC_OFFLINE, SC_REMOVE_TARGET, SC_CREATE_TARGET,
                                          SC_CHAIN_ADD, SC_WAIT_SERVING, SC_WAIT_SERVING,
                                          SC_DONE };
    struct model m = { 1, 0, 0, 0, "", "ONLINE", "", "" };
    size_t n = drive(m, 0, seq, 32);
    assert_int_equal(n, ARRAY_SIZE(orphan));
    assert_memory_equal(seq, orphan, sizeof(orphan));
    /* still in the chain, public OFFLINE, back ONLINE: out of the chain, then as above */
    struct model in = { 1, 1, 0, 0, "OFFLINE", "ONLINE", "", "" };
    n = drive(in, 0, seq, 32);
    assert_int_equal(n, ARRAY_SIZE(orphan) + 1);
    assert_int_equal(seq[0], SC_CHAIN_REMOVE);
    assert_memory_equal(seq + 1, orphan, sizeof(orphan));
    /* add first: B serves, A out of the chain and ONLINE again */
    struct model b = { 1, 0, 1, 1, "", "ONLINE", "SERVING", "UPTODATE" };
    static const enum sc_sub tail[] = { SC_OFFLINE, SC_REMOVE_TARGET, SC_DONE };
    n = drive(b, 1, seq, 32);
    assert_int_equal(n, ARRAY_SIZE(tail));
    assert_memory_equal(seq, tail, sizeof(tail));
}

/* States no sub-step leads to are reported, not acted on. */
static void test_next_stuck(void **state)
{
    (void)state;
    enum sc_sub seq[4];
    struct strbuf why = STRBUF_INIT;
    /* remove first, but B is in the chain while A still is */
    struct model m = { 1, 1, 1, 1, "SERVING", "UPTODATE", "SYNCING", "ONLINE" };
    assert_int_equal(drive(m, 0, seq, 4), 1);
    assert_int_equal(seq[0], SC_STUCK);
    /* add first, but A left the chain before B serves */
    struct model m2 = { 1, 0, 1, 1, "", "OFFLINE", "SYNCING", "ONLINE" };
    assert_int_equal(drive(m2, 1, seq, 4), 1);
    assert_int_equal(seq[0], SC_STUCK);
    /* B in another chain */
    struct sc_view v = { 0 };
    v.t = calloc(4, sizeof(*v.t));
    set(&v, B, 1, "SERVING", "UPTODATE");
    v.t[0].chain = CH + 1;
    assert_int_equal(sc_next_sub(&mv, &v, 0, &why), SC_STUCK);
    assert_non_null(strstr(why.buf, "not in chain"));
    free(v.t);
    sb_release(&why);
    assert_string_equal(sc_sub_name(SC_CHAIN_REMOVE), "update-chain --mode remove");
}

/* ---- the plan in the state file ------------------------------------------ */

static void same_migration(const struct ct_migration *a, const struct ct_migration *b)
{
    assert_int_equal(a->n_moves, b->n_moves);
    for (size_t i = 0; i < a->n_moves; i++) {
        const struct ct_move *x = &a->moves[i], *y = &b->moves[i];
        assert_int_equal(x->chain_id, y->chain_id);
        assert_int_equal(x->step, y->step);
        assert_int_equal(x->disk_index, y->disk_index);
        assert_int_equal(x->from_node, y->from_node);
        assert_int_equal(x->to_node, y->to_node);
        assert_true(x->from_target == y->from_target && x->to_target == y->to_target);
    }
    assert_int_equal(a->n_new_chains, b->n_new_chains);
    if (a->n_new_chains)
        assert_memory_equal(a->new_chains, b->new_chains, a->n_new_chains * sizeof(uint32_t));
    assert_int_equal(a->after->n_chains, b->after->n_chains);
    assert_int_equal(a->after->n_targets, b->after->n_targets);
    for (size_t i = 0; i < a->after->n_chains; i++) {
        const struct ct_chain *x = &a->after->chains[i], *y = &b->after->chains[i];
        assert_int_equal(x->chain_id, y->chain_id);
        assert_int_equal(x->disk_index, y->disk_index);
        assert_int_equal(x->first, y->first);
        assert_int_equal(x->n, y->n);
    }
    for (size_t i = 0; i < a->after->n_targets; i++) {
        const struct ct_target *x = &a->after->targets[i], *y = &b->after->targets[i];
        assert_true(x->target_id == y->target_id);
        assert_int_equal(x->node_id, y->node_id);
        assert_int_equal(x->disk_index, y->disk_index);
        assert_int_equal(x->chain_id, y->chain_id);
    }
    assert_int_equal(a->after->n_order, b->after->n_order);
    assert_memory_equal(a->after->order, b->after->order, a->after->n_order * sizeof(uint32_t));
}

static void roundtrip(long v, long k, long r, long d, const uint32_t *add, size_t n_add,
                      const uint32_t *rm, size_t n_rm)
{
    struct ct_table *cur = tu_ct_gen(v, k, r, d);
    struct ct_migrate_params p = { add, n_add, rm, n_rm, k, d, r };
    struct ct_migration *m = NULL, *back = NULL;
    struct strbuf err = STRBUF_INIT, text = STRBUF_INIT;
    if (ct_plan_migration(cur, &p, &m, &err)) fail_msg("%s", err.buf);
    struct sc_plan_info pi = { .k = k, .disks = d }, pi2;
    snprintf(pi.op, sizeof(pi.op), "%s", n_add ? "add" : "remove");
    for (size_t i = 0; i < (n_add ? n_add : n_rm); i++) pi.nodes[pi.n_nodes++] = n_add ? add[i] : rm[i];
    sc_plan_encode(&pi, m, &text);
    if (sc_plan_decode(text.buf, &pi2, &back, &err)) fail_msg("%s", err.buf);
    assert_string_equal(pi2.op, pi.op);
    assert_int_equal(pi2.k, k);
    assert_int_equal(pi2.disks, d);
    assert_int_equal(pi2.n_nodes, pi.n_nodes);
    assert_memory_equal(pi2.nodes, pi.nodes, pi.n_nodes * sizeof(uint32_t));
    same_migration(m, back);
    assert_int_equal(ct_check_migration(cur, back, k, d, NULL), 0);
    char *key = sc_move_key(&back->moves[0]);
    char *want = xstrfmt("scale-move %u/%u", back->moves[0].chain_id, back->moves[0].step);
    assert_string_equal(key, want);
    free(key), free(want);
    ct_migration_free(m), ct_migration_free(back), ct_table_free(cur);
    sb_release(&err), sb_release(&text);
}

static void test_plan_roundtrip(void **state)
{
    (void)state;
    static const uint32_t add2[] = { 10004, 10005 }, add1[] = { 10006 }, rm1[] = { 10002 },
                          rm2[] = { 10001, 10003 };
    roundtrip(3, 2, 32, 1, add2, 2, NULL, 0);
    roundtrip(5, 3, 8, 2, add1, 1, NULL, 0);
    roundtrip(4, 2, 6, 1, NULL, 0, rm1, 1);
    roundtrip(8, 3, 6, 2, NULL, 0, rm2, 2);
}

static void test_plan_decode_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "m3fs-scale 2 add 2 1 10004\n",
        "m3fs-scale 1 add 2 1 10004\nX 1\n",
        "m3fs-scale 1 add 2 1 10004\nM 1 2 3\n",
        "m3fs-scale 1 add 2 1 10004\nC 900100001 101:10001\n",
        "m3fs-scale 1 add 2 1 10004\nM 1 0 0 10001 10004 1 99999999999999999999\n",
        "m3fs-scale 1 add 2 1 ,\n",
        "m3fs-scale 1 toolongop 2 1 10004\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct sc_plan_info pi;
        struct ct_migration *m = NULL;
        struct strbuf err = STRBUF_INIT;
        if (sc_plan_decode(bad[i], &pi, &m, &err) != -1) fail_msg("accepted '%s'", bad[i]);
        assert_null(m);
        assert_non_null(strstr(err.buf, SC_STATE_PLAN));
        sb_release(&err);
    }
}

/* plan_keep_nodes: targets on other nodes go, steps left empty go, the
 * rest run one after another. */
static void test_keep_nodes(void **state)
{
    (void)state;
    struct plan p = { 0 };
    struct step *s = plan_add_step(&p, "storage", STEP_RUN, "a");
    step_add_run(s, 0, "x", NULL);
    step_add_run(s, 2, "y", "z");
    s = plan_add_step(&p, "storage", STEP_RUN, "b");
    step_add_run(s, 0, "x", NULL);
    s = plan_add_step(&p, "storage", STEP_RUN, "c");
    step_add_run(s, 1, "w", NULL);
    step_add_run(s, 2, "v", NULL);
    const unsigned char keep[3] = { 0, 1, 1 };
    plan_keep_nodes(&p, keep);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.steps[0].title, "storage: a");
    assert_int_equal(p.steps[0].n, 1);
    assert_int_equal(p.steps[0].t[0].node, 2);
    assert_string_equal(p.steps[0].t[0].skip_if, "z");
    assert_int_equal(p.steps[0].n_after, 0);
    assert_string_equal(p.steps[1].title, "storage: c");
    assert_int_equal(p.steps[1].n, 2);
    assert_int_equal(p.steps[1].n_after, 1);
    assert_int_equal(p.steps[1].after[0], 0);
    plan_free(&p);
}

/* sc_nodes_find: the first node of that id (and name, when one is given),
 * a pointer into the array; NULL for none or an empty array. */
static void test_nodes_find(void **state)
{
    (void)state;
    const struct sc_node v[] = { { 10001, "n1" }, { 10002, "n2" }, { 10002, "n2b" } };
    assert_ptr_equal(sc_nodes_find(v, 3, 10001, NULL), &v[0]);
    assert_ptr_equal(sc_nodes_find(v, 3, 10002, NULL), &v[1]);
    assert_ptr_equal(sc_nodes_find(v, 3, 10002, "n2b"), &v[2]);
    assert_ptr_equal(sc_nodes_find(v, 3, 10001, "n1"), &v[0]);
    assert_null(sc_nodes_find(v, 3, 10001, "n2"));   /* id right, name not */
    assert_null(sc_nodes_find(v, 3, 10003, NULL));   /* no such id */
    assert_null(sc_nodes_find(v, 3, 10003, "n2"));
    assert_null(sc_nodes_find(v, 3, 10002, "n"));    /* whole names only */
    assert_null(sc_nodes_find(v, 1, 10002, NULL));   /* only the first n count */
    assert_null(sc_nodes_find(NULL, 0, 10001, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_targets),   cmocka_unit_test(test_parse_chains),
        cmocka_unit_test(test_parse_rejects),   cmocka_unit_test(test_view_table),
        cmocka_unit_test(test_next_remove_first), cmocka_unit_test(test_next_add_first),
        cmocka_unit_test(test_next_stuck),      cmocka_unit_test(test_next_node_restarted),
        cmocka_unit_test(test_plan_roundtrip),
        cmocka_unit_test(test_plan_decode_rejects), cmocka_unit_test(test_keep_nodes),
        cmocka_unit_test(test_nodes_find),      cmocka_unit_test(test_answer_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
