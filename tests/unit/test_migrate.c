/* test_migrate: the chain-table migration planner (docs/scale.md): adding and
 * draining storage nodes keeps every chain, moves the fewest replicas a
 * balanced result needs, one replica of a chain at a time, and refuses what
 * the remaining nodes cannot hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"
#include "testutil.h"
#include "cttest.h"

struct nodes {
    uint32_t add[8], remove[8];
    size_t n_add, n_remove;
};

static int plan(const struct ct_table *cur, const struct nodes *n, long k, long d, long r,
                struct ct_migration **m, struct strbuf *err)
{
    struct ct_migrate_params p = { n->add, n->n_add, n->remove, n->n_remove, k, d, r };
    return ct_plan_migration(cur, &p, m, err);
}

/* Replicas of chain-table chains that a node holds on one disk index. */
static long held(const struct ct_table *t, uint32_t node, uint32_t disk, const uint32_t *only,
                 size_t n_only)
{
    long c = 0;
    for (size_t i = 0; i < t->n_chains; i++) {
        const struct ct_chain *ch = &t->chains[i];
        int listed = !only;
        for (size_t x = 0; only && x < n_only; x++) listed |= only[x] == ch->chain_id;
        if (!listed || ch->disk_index != disk) continue;
        for (size_t j = 0; j < ch->n; j++)
            c += t->targets[ch->first + j].node_id == node;
    }
    return c;
}

static uint32_t *chain_ids(const struct ct_table *t)
{
    uint32_t *ids = malloc((t->n_chains + 1) * sizeof(*ids));
    for (size_t i = 0; i < t->n_chains; i++) ids[i] = t->chains[i].chain_id;
    return ids;
}

/* Plan, check by replay, and check the move count against the bounds:
 * growing, every move lands on a new node and the new nodes take exactly
 * their share of the existing replicas, so per disk index
 * a*floor(bk/v') <= moves <= a*ceil(bk/v'); draining, exactly the drained
 * nodes' replicas move.  Returns the plan. */
static struct ct_migration *plan_ok(const struct ct_table *cur, const struct nodes *n, long k,
                                    long d, long r)
{
    struct strbuf err = STRBUF_INIT, rep = STRBUF_INIT;
    struct ct_migration *m = NULL;
    if (plan(cur, n, k, d, r, &m, &err)) fail_msg("plan: %s", err.buf);
    if (ct_check_migration(cur, m, k, d, &rep)) fail_msg("check: %s", rep.buf);
    uint32_t *old = chain_ids(cur);
    long bk = (long)cur->n_chains / d * k, v2 = m->v_after;
    long gained = 0, drained = 0, lo = 0, hi = 0;
    for (long disk = 0; disk < d; disk++) {
        for (size_t i = 0; i < n->n_add; i++)
            gained += held(m->after, n->add[i], (uint32_t)disk, old, cur->n_chains);
        for (size_t i = 0; i < n->n_remove; i++) {
            drained += held(cur, n->remove[i], (uint32_t)disk, NULL, 0);
            assert_int_equal(held(m->after, n->remove[i], (uint32_t)disk, NULL, 0), 0);
        }
        lo += (long)n->n_add * (bk / v2);
        hi += (long)n->n_add * ((bk + v2 - 1) / v2);
    }
    long direct = (long)m->n_moves - (long)m->n_detours;
    assert_true(direct >= drained && direct >= gained); /* each one needs its own move */
    if (!n->n_remove) { /* a detour parks a replica on an old node, which passes one on */
        assert_int_equal(direct, gained);
        assert_true(gained >= lo && gained <= hi);
    } else if (!n->n_add) {
        assert_int_equal(direct, drained);
    }
    /* pair co-occurrence: moves that keep old replicas in place keep old
     * pairs' lambda (a dense small table has mu(v) > mu(v')), so the bound is
     * the larger of the old maximum and the new band, plus one (plus three
     * below 20 nodes, where few receivers fit) */
    struct ct_stats st0, st;
    assert_int_equal(ct_verify(cur, &(struct ct_expect){ k, d, 0 }, &st0, NULL), 0);
    assert_int_equal(ct_verify(m->after, &(struct ct_expect){ k, d, 0 }, &st, NULL), 0);
    assert_int_equal(st.warnings, 0); /* ids in the upstream scheme, equal counts */
    long lim = (st0.lambda_max > st.band_hi ? st0.lambda_max : st.band_hi) +
               (m->v_after >= 20 ? 1 : 3); /* measured: small dense tables reach +3 */
    if (st.lambda_min >= 0 && st.lambda_max > lim)
        fail_msg("v %ld -> %ld k %ld: lambda up to %ld, was up to %ld, band [%ld, %ld]",
                 m->v_before, m->v_after, k, st.lambda_max, st0.lambda_max, st.band_lo,
                 st.band_hi);
    /* the detours (extra moves) are few: at most 2 per disk index here */
    assert_true(m->n_detours <= 2 * (size_t)d);
    /* every target of a new chain is new, every move's target too */
    assert_int_equal(m->after->n_chains, cur->n_chains + m->n_new_chains);
    assert_int_equal((long)m->after->n_chains, v2 * m->r_after / k * d);
    print_message("    v %ld -> %ld, k %ld, d %ld: r' %ld, %zu moves, %zu new chains, "
                  "at most %ld moves per chain, %zu detours\n", m->v_before, m->v_after, k, d,
                  m->r_after, m->n_moves, m->n_new_chains, m->max_steps, m->n_detours);
    free(old);
    sb_release(&err);
    sb_release(&rep);
    return m;
}

static void grow(long v, long k, long r, long d, long add, long want_max_steps)
{
    struct ct_table *cur = tu_ct_gen(v, k, r, d);
    struct nodes n = { .n_add = (size_t)add };
    for (long i = 0; i < add; i++) n.add[i] = (uint32_t)(CT_DEFAULT_NODE_ID_BEGIN + v + i);
    struct ct_migration *m = plan_ok(cur, &n, k, d, r);
    assert_true(m->n_moves > 0);
    if (want_max_steps) assert_int_equal(m->max_steps, want_max_steps);
    ct_migration_free(m);
    ct_table_free(cur);
}

static void test_add_two_to_five(void **state)
{
    (void)state;
    grow(5, 2, 32, 1, 2, 1);
    grow(5, 3, 32, 1, 2, 1);
    grow(5, 2, 32, 3, 2, 1);
    grow(5, 3, 6, 2, 2, 1);
}

static void test_add_one_to_three(void **state)
{
    (void)state;
    grow(3, 2, 32, 1, 1, 1);
    grow(3, 3, 32, 1, 1, 1); /* k = v: every chain holds every old node */
    grow(3, 1, 4, 2, 1, 1);
}

static void test_add_larger(void **state)
{
    (void)state;
    grow(40, 3, 33, 2, 2, 1);
    grow(100, 3, 32, 1, 5, 1);
}

static void test_remove_one_of_six(void **state)
{
    (void)state;
    long cases[][4] = { { 6, 2, 32, 1 }, { 6, 3, 32, 2 }, { 6, 3, 6, 1 } };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        long v = cases[c][0], k = cases[c][1], r = cases[c][2], d = cases[c][3];
        struct ct_table *cur = tu_ct_gen(v, k, r, d);
        struct nodes n = { .remove = { 10003 }, .n_remove = 1 };
        struct ct_migration *m = plan_ok(cur, &n, k, d, r);
        assert_int_equal(m->v_after, v - 1);
        /* a drained node is in r chains per disk, each loses one replica */
        assert_int_equal(m->max_steps, 1);
        ct_migration_free(m);
        ct_table_free(cur);
    }
}

static void test_add_then_remove_chained(void **state)
{
    (void)state;
    struct ct_table *cur = tu_ct_gen(5, 3, 32, 2);
    struct nodes a = { .add = { 10006, 10007 }, .n_add = 2 };
    struct ct_migration *m1 = plan_ok(cur, &a, 3, 2, 32);
    /* then drain two old nodes and one new one from the migrated table */
    struct nodes r = { .remove = { 10001, 10002, 10007 }, .n_remove = 3 };
    struct ct_migration *m2 = plan_ok(m1->after, &r, 3, 2, 32);
    assert_int_equal(m2->v_after, 4);
    /* and add and remove at once */
    struct nodes ar = { .add = { 10010 }, .n_add = 1, .remove = { 10003 }, .n_remove = 1 };
    struct ct_migration *m3 = plan_ok(m2->after, &ar, 3, 2, 32);
    assert_int_equal(m3->v_after, 4);
    assert_true(m3->n_moves > 0);
    ct_migration_free(m3);
    ct_migration_free(m2);
    ct_migration_free(m1);
    ct_table_free(cur);
}

static void refused(const struct ct_table *cur, const struct nodes *n, long k, long d,
                    const char *needle)
{
    struct strbuf err = STRBUF_INIT;
    struct ct_migration *m = (struct ct_migration *)1;
    assert_int_equal(plan(cur, n, k, d, 32, &m, &err), -1);
    assert_null(m);
    if (!strstr(err.buf, needle)) fail_msg("'%s' lacks '%s'", err.buf, needle);
    sb_release(&err);
}

static void test_refusals(void **state)
{
    (void)state;
    struct ct_table *t3 = tu_ct_gen(3, 3, 32, 1), *t5 = tu_ct_gen(5, 2, 32, 1);
    struct nodes one = { .remove = { 10002 }, .n_remove = 1 };
    refused(t3, &one, 3, 1, "fewer than the replication factor 3");
    struct nodes four = { .remove = { 10001, 10002, 10003, 10004 }, .n_remove = 4 };
    refused(t5, &four, 2, 1, "1 storage node(s) would remain");
    struct nodes dup = { .add = { 10002 }, .n_add = 1 };
    refused(t5, &dup, 2, 1, "already in the chain table");
    struct nodes twice = { .add = { 10009, 10009 }, .n_add = 2 };
    refused(t5, &twice, 2, 1, "listed twice");
    struct nodes unknown = { .remove = { 20001 }, .n_remove = 1 };
    refused(t5, &unknown, 2, 1, "holds no target");
    struct nodes add = { .add = { 10009 }, .n_add = 1 };
    refused(t5, &add, 3, 1, "replication factor is 3");
    struct ct_table *t5d2 = tu_ct_gen(5, 2, 32, 2);
    refused(t5d2, &add, 2, 1, "disk index 1");
    ct_table_free(t5d2);
    ct_table_free(t3);
    ct_table_free(t5);
}

/* The replay catches a broken plan: two replicas on one node, a target
 * reused, a move of a target not in its chain. */
static void test_check_catches(void **state)
{
    (void)state;
    struct ct_table *cur = tu_ct_gen(5, 2, 32, 1);
    struct nodes a = { .add = { 10006, 10007 }, .n_add = 2 };
    struct strbuf err = STRBUF_INIT, rep = STRBUF_INIT;
    struct ct_migration *m = NULL;
    assert_int_equal(plan(cur, &a, 2, 1, 32, &m, &err), 0);
    assert_true(m->n_moves >= 2);
    struct ct_move keep = m->moves[0];
    m->moves[0].to_node = m->moves[0].from_node == 10001 ? 10002 : 10001;
    assert_true(ct_check_migration(cur, m, 2, 1, &rep) > 0);
    m->moves[0] = keep;
    m->moves[1].to_target = m->moves[0].to_target;
    assert_true(ct_check_migration(cur, m, 2, 1, &rep) > 0);
    m->moves[1].to_target = keep.to_target + 1000000;
    m->moves[0].from_target = 1;
    sb_reset(&rep);
    assert_true(ct_check_migration(cur, m, 2, 1, &rep) > 0);
    assert_non_null(strstr(rep.buf, "is not in the chain"));
    ct_migration_free(m);
    ct_table_free(cur);
    sb_release(&err);
    sb_release(&rep);
}

/* The real input path: a table written in the upstream files and read back;
 * the new table written and read back again passes ct_verify. */
static void test_files_roundtrip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("m3fs-mig");
    struct strbuf err = STRBUF_INIT, rep = STRBUF_INIT;
    struct ct_table *t = tu_ct_gen(6, 3, 6, 2), *read = NULL, *again = NULL;
    assert_non_null(dir);
    assert_int_equal(ct_write_files(t, dir, &err), 0);
    assert_int_equal(ct_read_files(dir, &read, &err), 0);
    struct nodes n = { .add = { 10007 }, .n_add = 1, .remove = { 10002 }, .n_remove = 1 };
    struct ct_migration *m = plan_ok(read, &n, 3, 2, 6);
    assert_int_equal(ct_write_files(m->after, dir, &err), 0);
    assert_int_equal(ct_read_files(dir, &again, &err), 0);
    if (ct_verify(again, &(struct ct_expect){ 3, 2, 0 }, NULL, &rep))
        fail_msg("%s", rep.buf);
    assert_int_equal(again->n_chains, m->after->n_chains);
    assert_int_equal(again->n_order, m->after->n_order);
    ct_table_free(again);
    ct_migration_free(m);
    ct_table_free(read);
    ct_table_free(t);
    assert_int_equal(tu_rmtree(dir), 0);
    free(dir);
    sb_release(&err);
    sb_release(&rep);
}

/* Small shapes, growing and draining: every plan passes the replay check and
 * the move bounds (ct_generate may refuse a shape, e.g. no valid r). */
static void test_grid(void **state)
{
    (void)state;
    long rs[] = { 1, 6, 32 }, plans = 0, detours = 0;
    for (long v = 1; v <= 12; v++)
        for (long k = 1; k <= 4 && k <= v; k++)
            for (size_t ri = 0; ri < 3; ri++) {
                struct ct_params p;
                struct strbuf err = STRBUF_INIT;
                struct ct_table *cur = NULL;
                ct_params_init(&p);
                p.v = v, p.k = k, p.r_min = rs[ri];
                int bad = ct_generate(&p, &cur, &err);
                sb_release(&err);
                if (bad) continue;
                for (long a = 0; a <= 3; a++)
                    for (long x = 0; x <= 2 && v - x + a >= k; x++) {
                        if (!a && !x) continue;
                        struct nodes n = { .n_add = (size_t)a, .n_remove = (size_t)x };
                        for (long i = 0; i < a; i++) n.add[i] = (uint32_t)(20001 + i);
                        for (long i = 0; i < x; i++)
                            n.remove[i] = (uint32_t)(CT_DEFAULT_NODE_ID_BEGIN + 2 * i);
                        if (x && 2 * (x - 1) >= v) continue;
                        struct ct_migration *m = plan_ok(cur, &n, k, 1, rs[ri]);
                        plans++;
                        detours += (long)m->n_detours;
                        ct_migration_free(m);
                    }
                ct_table_free(cur);
            }
    print_message("    %ld plans, %ld detours\n", plans, detours);
    assert_true(plans > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_two_to_five),
        cmocka_unit_test(test_add_one_to_three),
        cmocka_unit_test(test_add_larger),
        cmocka_unit_test(test_remove_one_of_six),
        cmocka_unit_test(test_add_then_remove_chained),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_check_catches),
        cmocka_unit_test(test_files_roundtrip),
        cmocka_unit_test(test_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
