/* test_chaintable: the native chain-table generator and verifier: r choice,
 * ID formulas, exact file formats, hard rules and balance over a grid of
 * (v, k, r, d), reading tables back and catching broken ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/chaintable/ct-int.h"
#include "m3fs/chaintable.h"
#include "testutil.h"

static char *make_tmpdir(void)
{
    char *d = tu_tmpdir("m3fs-ct");
    assert_non_null(d);
    return d;
}

static void remove_tmpdir(char *d)
{
    assert_int_equal(tu_rmtree(d), 0);
    free(d);
}

static struct ct_table *gen(long v, long k, long r, long d, int rotate, int interleave)
{
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = NULL;
    ct_params_init(&p);
    p.v = v, p.k = k, p.r_min = r, p.disks = d;
    p.rotate_heads = rotate, p.interleave = interleave;
    if (ct_generate(&p, &t, &err)) fail_msg("v=%ld k=%ld r=%ld d=%ld: %s", v, k, r, d, err.buf);
    sb_release(&err);
    return t;
}

/* ---- IDs and r ---- */

static void test_id_formulas(void **state)
{
    (void)state;
    assert_true(ct_target_id(1, 10001, 7, 0) == 101000100801ull);
    assert_true(ct_chain_id(9, 7, 1) == 900800001ull);
    assert_true(ct_target_id(10, 10001, 0, 0) == 1001000100101ull);
    assert_true(ct_chain_id(10, 0, 1) == 1000100001ull);
    assert_true(ct_target_id(1, 10003, 0, 0) == 101000300101ull);
    assert_true(ct_chain_id(9, 0, 2) == 900100002ull);
}

static long choose(long v, long k, long rmin, const char *needle)
{
    struct strbuf why = STRBUF_INIT;
    long r = -1;
    if (ct_choose_r(v, k, rmin, &r, &why)) r = -1;
    if (needle && !strstr(why.buf, needle))
        fail_msg("ct_choose_r(%ld,%ld,%ld): '%s' lacks '%s'", v, k, rmin, why.buf, needle);
    sb_release(&why);
    return r;
}

static void test_choose_r(void **state)
{
    (void)state;
    assert_int_equal(choose(5, 3, 6, "as requested: upstream rule"), 6);
    assert_int_equal(choose(25, 3, 6, "leave some node pairs"), 12);
    assert_int_equal(choose(5, 3, 32, "not divisible"), 33);
    assert_int_equal(choose(100, 3, 32, "upstream rule"), 51);
    assert_int_equal(choose(3, 2, 32, "upstream rule"), 32);
    assert_int_equal(choose(180, 3, 1, "upstream rule"), 90);
    assert_int_equal(choose(500, 3, 32, "large-cluster rule"), 33);
    assert_int_equal(choose(1000, 3, 32, "large-cluster rule"), 33);
    assert_int_equal(choose(200, 2, 32, "would need r >= 199"), 32);
    assert_int_equal(choose(7, 1, 5, "replication factor 1"), 5);
    assert_int_equal(choose(1, 1, 1, NULL), 1);
    assert_int_equal(choose(4, 4, 3, NULL), 3);
    assert_int_equal(choose(2, 3, 32, "at least 3 storage nodes"), -1);
    assert_int_equal(choose(1, 2, 32, "at least 2 storage nodes"), -1);
    assert_int_equal(choose(5, 0, 32, "at least 1"), -1);
    assert_int_equal(choose(5, -3, 32, "at least 1"), -1);
    assert_int_equal(choose(5, 3, 0, "1..99"), -1);
    assert_int_equal(choose(5, 3, 100, "1..99"), -1);
    assert_int_equal(choose(1000, 101, 1, "divisible"), -1); /* r must be a multiple of 101 */
}

static int check(long v, long k, long r, long disks, long node_begin, long cprefix, long tprefix,
                 const char *needle)
{
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    ct_params_init(&p);
    p.v = v, p.k = k, p.disks = disks, p.node_id_begin = node_begin;
    p.chain_prefix = cprefix, p.target_prefix = tprefix;
    int rc = ct_check_params(&p, r, &err);
    if (needle && !strstr(err.buf, needle)) fail_msg("'%s' lacks '%s'", err.buf, needle);
    sb_release(&err);
    return rc;
}

static void test_check_params(void **state)
{
    (void)state;
    assert_int_equal(check(5, 3, 6, 1, 10001, 9, 1, NULL), 0);
    assert_int_equal(check(5, 3, 6, 1, 10001, 42, 99, NULL), 0);
    assert_int_equal(check(5, 3, 6, 1, 10001, 43, 1, "does not fit in 32 bits"), -1);
    assert_int_equal(check(5, 3, 6, 999, 10001, 42, 1, "at most 41"), -1);
    assert_int_equal(check(5, 3, 6, 999, 10001, 41, 1, NULL), 0);
    assert_int_equal(check(5, 3, 6, 0, 10001, 9, 1, "1..999"), -1);
    assert_int_equal(check(5, 3, 6, 1000, 10001, 9, 1, "1..999"), -1);
    assert_int_equal(check(5, 3, 6, 1, 10001, 9, 100, "0..99"), -1);
    assert_int_equal(check(5, 3, 6, 1, 10001, -1, 1, "0..99"), -1);
    assert_int_equal(check(2, 2, 6, 1, 999999, 9, 1, "1..999999"), -1);
    assert_int_equal(check(2, 2, 6, 1, 0, 9, 1, "1..999999"), -1);
    assert_int_equal(check(1001, 3, 3, 1, 1, 9, 1, "at most 1000"), -1);
    assert_int_equal(check(1000, 3, 99, 999, 1, 9, 1, "targets"), -1);
}

static void test_refuses_bad_input(void **state)
{
    (void)state;
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = (struct ct_table *)1;
    ct_params_init(&p);
    p.v = 2, p.k = 3, p.r_min = 4;
    assert_int_equal(ct_generate(&p, &t, &err), -1);
    assert_null(t);
    assert_non_null(strstr(err.buf, "at least 3 storage nodes"));
    uint32_t ids[] = { 10001, 10005, 10001 };
    sb_reset(&err);
    p.v = 3, p.k = 2, p.node_ids = ids;
    assert_int_equal(ct_generate(&p, &t, &err), -1);
    assert_non_null(strstr(err.buf, "listed twice"));
    long b;
    assert_null(ct_design(5, 3, 4, 0, &b)); /* 20 not divisible by 3 */
    assert_null(ct_design(2, 3, 3, 0, &b));
    sb_release(&err);
}

/* ---- golden files ---- */

static const char golden_chains[] =
    "ChainId,TargetId,TargetId,TargetId\n"
    "900100001,101000100101,101000400101,101000500101\n"
    "900100002,101000100102,101000200101,101000300101\n"
    "900100003,101000200102,101000300102,101000500102\n"
    "900100004,101000100103,101000200103,101000400102\n"
    "900100005,101000300103,101000400103,101000500103\n"
    "900100006,101000100104,101000200104,101000500104\n"
    "900100007,101000100105,101000300104,101000400104\n"
    "900100008,101000200105,101000400105,101000500105\n"
    "900100009,101000200106,101000300105,101000400106\n"
    "900100010,101000100106,101000300106,101000500106\n";

static const char golden_table[] =
    "ChainId\n900100001\n900100002\n900100003\n900100004\n900100005\n"
    "900100006\n900100007\n900100008\n900100009\n900100010\n";

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* v=5, k=3, r=6, one disk: all C(5,3) = 10 triples, every pair 3 times. */
static void test_golden_v5_k3_r6(void **state)
{
    (void)state;
    struct ct_table *t = gen(5, 3, 6, 1, 0, 0);
    char *dir = make_tmpdir();
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(ct_write_files(t, dir, &err), 0);
    char *chains = tu_read(dir, CT_FILE_CHAINS), *table = tu_read(dir, CT_FILE_TABLE);
    char *create = tu_read(dir, CT_FILE_CREATE), *remove = tu_read(dir, CT_FILE_REMOVE);
    assert_string_equal(chains, golden_chains);
    assert_string_equal(table, golden_table);
    assert_int_equal(count_lines(create), 30);
    assert_true(!strncmp(create,
                         "create-target --node-id 10001 --disk-index 0 --target-id 101000100101 "
                         "--chain-id 900100001  --use-new-chunk-engine\n"
                         "create-target --node-id 10004 --disk-index 0 --target-id 101000400101 "
                         "--chain-id 900100001  --use-new-chunk-engine\n", 222));
    assert_non_null(strstr(create, "\ncreate-target --node-id 10005 --disk-index 0 --target-id "
                                   "101000500106 --chain-id 900100010  --use-new-chunk-engine\n"));
    assert_int_equal(count_lines(remove), 60);
    assert_true(!strncmp(remove, "offline-target --node-id 10001 --target-id 101000100101\n"
                                 "remove-target --node-id 10001 --target-id 101000100101\n", 110));
    /* ct_format gives the same bytes in memory (what cluster create sends). */
    const char *names[] = { CT_FILE_CHAINS, CT_FILE_TABLE, CT_FILE_CREATE, CT_FILE_REMOVE };
    const char *files[] = { chains, table, create, remove };
    for (size_t i = 0; i < 4; i++) {
        struct strbuf sb = STRBUF_INIT;
        assert_int_equal(ct_format(t, names[i], &sb), 0);
        assert_string_equal(sb.buf, files[i]);
        sb_release(&sb);
    }
    struct strbuf none = STRBUF_INIT;
    assert_int_equal(ct_format(t, "other.csv", &none), -1);
    sb_release(&none);
    struct ct_stats st;
    assert_int_equal(ct_verify(t, &(struct ct_expect){ 3, 1, 10 }, &st, NULL), 0);
    assert_int_equal(st.lambda_min, 3);
    assert_int_equal(st.lambda_max, 3);
    assert_int_equal(st.warnings, 0);
    free(chains), free(table), free(create), free(remove);
    sb_release(&err);
    ct_table_free(t);
    remove_tmpdir(dir);
}

/* Upstream's example: prefix 1, node 10001, disk index 7 -> 101000100801. */
static void test_example_ids_from_generator(void **state)
{
    (void)state;
    struct ct_table *t = gen(3, 2, 32, 8, 0, 0);
    int found_t = 0, found_c = 0;
    for (size_t i = 0; i < t->n_targets; i++) found_t |= t->targets[i].target_id == 101000100801ull;
    for (size_t c = 0; c < t->n_chains; c++) found_c |= t->chains[c].chain_id == 900800001u;
    assert_true(found_t && found_c);
    ct_table_free(t);
}

static void assert_same_targets(const struct ct_table *a, const struct ct_table *b)
{
    assert_int_equal(a->n_targets, b->n_targets);
    for (size_t i = 0; i < a->n_targets; i++) {
        const struct ct_target *x = &a->targets[i], *y = &b->targets[i];
        assert_true(x->target_id == y->target_id);
        assert_int_equal(x->node_id, y->node_id);
        assert_int_equal(x->disk_index, y->disk_index);
        assert_int_equal(x->chain_id, y->chain_id);
    }
}

/* ---- property grid ---- */

struct grid_case {
    long v, k, r, d;
    int ideal; /* the ideal band [floor mu, ceil mu] must be reached; otherwise
                  [floor mu - 1, ceil mu + 1] (near-Steiner-system cases) */
};

static void check_case(const struct grid_case *c, int rotate)
{
    struct ct_table *t = gen(c->v, c->k, c->r, c->d, rotate, c->v % 2);
    struct ct_stats st;
    struct strbuf rep = STRBUF_INIT;
    long errors = ct_verify(t, &(struct ct_expect){ c->k, c->d, 0 }, &st, &rep);
    if (errors || st.warnings) fail_msg("v=%ld k=%ld r=%ld d=%ld:\n%s", c->v, c->k, c->r, c->d,
                                        rep.buf);
    assert_int_equal(st.n_nodes, c->v);
    assert_int_equal(st.n_disks, c->d);
    assert_int_equal(st.k, c->k);
    assert_int_equal(st.tgt_disk_min, t->r);
    assert_int_equal(st.tgt_disk_max, t->r);
    assert_int_equal(st.n_chains, (size_t)(t->b * c->d));
    assert_int_equal(t->n_order, t->n_chains);
    long lo = t->r * (c->k - 1) / (c->v > 1 ? c->v - 1 : 1);
    long hi = (t->r * (c->k - 1) + c->v - 2) / (c->v > 1 ? c->v - 1 : 1);
    if (c->v > 1) {
        int ideal = st.lambda_min >= lo && st.lambda_max <= hi;
        if ((c->ideal || c->k <= 2 || c->k == c->v) && !ideal)
            fail_msg("v=%ld k=%ld r=%ld: lambda %ld..%ld outside [%ld,%ld]", c->v, c->k, t->r,
                     st.lambda_min, st.lambda_max, lo, hi);
        if (st.lambda_min < lo - 1 || st.lambda_max > hi + 1)
            fail_msg("v=%ld k=%ld r=%ld: lambda %ld..%ld outside [%ld,%ld]", c->v, c->k, t->r,
                     st.lambda_min, st.lambda_max, lo - 1, hi + 1);
    }
    if (rotate && (st.head_min < (long)st.head_ideal - 1 || st.head_max > (long)st.head_ideal + 2))
        fail_msg("v=%ld k=%ld: heads %ld..%ld, ideal %.2f", c->v, c->k, st.head_min, st.head_max,
                 st.head_ideal);
    sb_release(&rep);
    ct_table_free(t);
}

static const struct grid_case grid[] = {
    { 1, 1, 1, 1, 1 },   { 2, 1, 5, 2, 1 },    { 7, 1, 3, 1, 1 },    { 2, 2, 1, 1, 1 },
    { 3, 2, 32, 1, 1 },  { 4, 2, 7, 3, 1 },    { 5, 2, 32, 2, 1 },   { 30, 2, 32, 1, 1 },
    { 101, 2, 1, 1, 1 }, { 200, 2, 32, 2, 1 }, { 500, 2, 99, 1, 1 }, { 3, 3, 6, 2, 1 },
    { 4, 3, 32, 1, 1 },  { 5, 3, 6, 1, 1 },    { 5, 3, 32, 2, 1 },   { 6, 3, 1, 1, 1 },
    { 7, 3, 3, 1, 1 },   { 9, 3, 4, 1, 1 },    { 10, 3, 9, 1, 1 },   { 13, 3, 6, 1, 1 },
    { 16, 3, 18, 1, 1 }, { 25, 3, 6, 1, 1 },   { 50, 3, 33, 1, 1 },  { 60, 3, 30, 1, 1 },
    { 100, 3, 32, 2, 1 }, { 150, 3, 1, 1, 0 }, { 500, 3, 32, 1, 1 }, { 4, 4, 3, 1, 1 },
    { 5, 4, 8, 1, 1 },   { 12, 4, 12, 2, 1 },  { 40, 4, 13, 1, 0 },  { 500, 4, 32, 1, 1 },
    { 30, 5, 10, 1, 1 }, { 50, 6, 12, 1, 0 },
};

static void test_property_grid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(grid) / sizeof(grid[0]); i++) check_case(&grid[i], (int)(i % 2));
}

static void test_deterministic(void **state)
{
    (void)state;
    struct ct_table *a = gen(60, 3, 30, 2, 1, 1), *b = gen(60, 3, 30, 2, 1, 1);
    assert_same_targets(a, b);
    assert_memory_equal(a->order, b->order, a->n_order * sizeof(*a->order));
    ct_table_free(a);
    ct_table_free(b);
}

static void test_rotate_and_interleave(void **state)
{
    (void)state;
    struct ct_table *t = gen(7, 3, 3, 3, 1, 1);
    struct ct_stats st;
    assert_int_equal(ct_verify(t, NULL, &st, NULL), 0);
    assert_int_equal(st.head_min, 3); /* 21 chains * 3 disks / 7 nodes... = 3 each */
    assert_int_equal(st.head_max, 3);
    /* interleaved: chain index 1 of disks 1, 2, 3, then index 2 ... */
    assert_int_equal(t->order[0], 900100001u);
    assert_int_equal(t->order[1], 900200001u);
    assert_int_equal(t->order[2], 900300001u);
    assert_int_equal(t->order[3], 900100002u);
    /* a rotated row keeps its cyclic (ascending) order */
    for (size_t c = 0; c < t->n_chains; c++) {
        const struct ct_target *x = t->targets + t->chains[c].first;
        int descents = (x[0].node_id > x[1].node_id) + (x[1].node_id > x[2].node_id) +
                       (x[2].node_id > x[0].node_id);
        assert_int_equal(descents, 1);
    }
    ct_table_free(t);
    t = gen(7, 3, 3, 3, 0, 0);
    assert_int_equal(ct_verify(t, NULL, &st, NULL), 0);
    assert_true(st.head_max > st.head_min); /* upstream order: lowest node id heads */
    ct_table_free(t);
}

static void test_explicit_node_ids(void **state)
{
    (void)state;
    uint32_t ids[] = { 20005, 10002, 30000, 10001 };
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = NULL;
    ct_params_init(&p);
    p.v = 4, p.k = 2, p.r_min = 3, p.node_ids = ids;
    assert_int_equal(ct_generate(&p, &t, &err), 0);
    struct ct_stats st;
    assert_int_equal(ct_verify(t, NULL, &st, NULL), 0);
    assert_int_equal(st.n_nodes, 4);
    for (size_t c = 0; c < t->n_chains; c++) /* rows ascending by node id */
        assert_true(t->targets[t->chains[c].first].node_id <
                    t->targets[t->chains[c].first + 1].node_id);
    sb_release(&err);
    ct_table_free(t);
}

/* ---- reading back and catching broken tables ---- */

static struct ct_table *roundtrip_dir(char **dir_out)
{
    struct ct_table *t = gen(9, 3, 4, 2, 1, 0);
    struct strbuf err = STRBUF_INIT;
    *dir_out = make_tmpdir();
    assert_int_equal(ct_write_files(t, *dir_out, &err), 0);
    sb_release(&err);
    return t;
}

static void test_read_roundtrip(void **state)
{
    (void)state;
    char *dir;
    struct ct_table *t = roundtrip_dir(&dir), *r = NULL;
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(ct_read_files(dir, &r, &err), 0);
    assert_int_equal(r->n_chains, t->n_chains);
    assert_same_targets(r, t);
    struct ct_stats a, b;
    assert_int_equal(ct_verify(t, NULL, &a, NULL), 0);
    assert_int_equal(ct_verify(r, &(struct ct_expect){ 3, 2, 16 }, &b, NULL), 0);
    assert_int_equal(a.lambda_min, b.lambda_min);
    assert_int_equal(a.lambda_max, b.lambda_max);
    assert_int_equal(a.head_max, b.head_max);
    sb_release(&err);
    ct_table_free(t);
    ct_table_free(r);
    remove_tmpdir(dir);
}

/* Replace the first occurrence of `from` in a file. */
static void edit_file(const char *dir, const char *name, const char *from, const char *to)
{
    char *text = tu_read(dir, name);
    struct strbuf sb = STRBUF_INIT;
    char *at = strstr(text, from);
    assert_non_null(at);
    sb_add(&sb, text, (size_t)(at - text));
    sb_adds(&sb, to);
    sb_adds(&sb, at + strlen(from));
    tu_write(dir, name, sb.buf);
    sb_release(&sb);
    free(text);
}

/* Expect the directory to read (or not) and verify with errors naming `needle`. */
static void expect_broken(const char *dir, int readable, const struct ct_expect *exp,
                          const char *needle)
{
    struct ct_table *r = NULL;
    struct strbuf err = STRBUF_INIT, rep = STRBUF_INIT;
    int rc = ct_read_files(dir, &r, &err);
    if (!readable) {
        assert_int_equal(rc, -1);
        if (!strstr(err.buf, needle)) fail_msg("'%s' lacks '%s'", err.buf, needle);
    } else {
        if (rc) fail_msg("%s", err.buf);
        assert_true(ct_verify(r, exp, NULL, &rep) > 0);
        if (!strstr(rep.buf, needle)) fail_msg("'%s' lacks '%s'", rep.buf, needle);
        assert_non_null(strstr(rep.buf, "INVALID"));
    }
    ct_table_free(r);
    sb_release(&err);
    sb_release(&rep);
}

static void test_verify_catches(void **state)
{
    (void)state;
    char *dir;
    struct ct_table *t = roundtrip_dir(&dir);
    char *chains = tu_read(dir, CT_FILE_CHAINS), *create = tu_read(dir, CT_FILE_CREATE);
    char *table = tu_read(dir, CT_FILE_TABLE);
    const struct ct_target *x = t->targets; /* chain 1: targets 0..2 */
    char *t0 = xstrfmt("%llu", (unsigned long long)x[0].target_id);
    char *t1 = xstrfmt(",%llu", (unsigned long long)x[1].target_id);
    char *t0c = xstrfmt(",%llu", (unsigned long long)x[0].target_id);

    edit_file(dir, CT_FILE_CHAINS, t1, t0c); /* same target twice in a row */
    expect_broken(dir, 1, NULL, "more than one chain");
    tu_write(dir, CT_FILE_CHAINS, chains);

    char *n0 = xstrfmt("--node-id %u --disk-index 0 --target-id %llu", x[1].node_id,
                       (unsigned long long)x[1].target_id);
    char *n1 = xstrfmt("--node-id %u --disk-index 0 --target-id %llu", x[0].node_id,
                       (unsigned long long)x[1].target_id);
    edit_file(dir, CT_FILE_CREATE, n0, n1); /* two replicas on one node */
    expect_broken(dir, 1, NULL, "two targets on node");
    tu_write(dir, CT_FILE_CREATE, create);

    edit_file(dir, CT_FILE_CREATE, "create-target --node-id", "#"); /* first line gone */
    expect_broken(dir, 0, NULL, "create_target_cmd.txt:1:");
    tu_write(dir, CT_FILE_CREATE, create);

    char *line = xstrfmt("create-target --node-id %u --disk-index 0 --target-id %s --chain-id "
                         "900100001  --use-new-chunk-engine\n", x[0].node_id, t0);
    edit_file(dir, CT_FILE_CREATE, line, ""); /* target without create-target line */
    expect_broken(dir, 1, NULL, "has no line in create_target_cmd.txt");
    tu_write(dir, CT_FILE_CREATE, create);

    edit_file(dir, CT_FILE_TABLE, "900100001\n", "900100001\n900100001\n999999\n");
    expect_broken(dir, 1, NULL, "not defined");
    tu_write(dir, CT_FILE_TABLE, table);

    edit_file(dir, CT_FILE_CHAINS, "900100001,", "4294967296,");
    expect_broken(dir, 0, NULL, "generated_chains.csv:2: chain id '4294967296'");
    tu_write(dir, CT_FILE_CHAINS, chains);

    edit_file(dir, CT_FILE_CHAINS, "ChainId,TargetId,", "ChainId,");
    expect_broken(dir, 0, NULL, "header has 2 TargetId columns but the first chain has 3");
    tu_write(dir, CT_FILE_CHAINS, chains);

    char *t4 = xstrfmt(",%llu", (unsigned long long)x[4].target_id);
    edit_file(dir, CT_FILE_CHAINS, t4, ""); /* the second chain has 2 targets */
    free(t4);
    expect_broken(dir, 1, NULL, "same count");
    tu_write(dir, CT_FILE_CHAINS, chains);

    expect_broken(dir, 1, &(struct ct_expect){ 2, 1, 1000 }, "replication factor is 2");
    expect_broken(dir, 1, &(struct ct_expect){ 0, 1, 0 }, "nodes have 1 disks");
    expect_broken(dir, 1, &(struct ct_expect){ 0, 0, 1000 }, "fewer than the stripe size");

    char *dir2 = xstrfmt("%s/missing", dir);
    expect_broken(dir2, 0, NULL, "cannot read");
    free(dir2);
    tu_write(dir, CT_FILE_CHAINS, "");
    expect_broken(dir, 0, NULL, "empty file");

    free(chains), free(create), free(table), free(t0), free(t1), free(t0c), free(n0), free(n1);
    free(line);
    ct_table_free(t);
    remove_tmpdir(dir);
}

static void test_read_crlf_and_chunk_size(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    tu_write(dir, CT_FILE_CHAINS, "ChainId,TargetId,TargetId\r\n"
                                    "900100001,101000100101,101000200101\r\n");
    tu_write(dir, CT_FILE_TABLE, "ChainId\r\n900100001\r\n");
    tu_write(dir, CT_FILE_CREATE,
               "create-target --node-id 10001 --disk-index 0 --target-id 101000100101 "
               "--chain-id 900100001 --chunk-size 1048576 4194304 --use-new-chunk-engine\r\n"
               "create-target --node-id 10002 --disk-index 0 --target-id 101000200101 "
               "--chain-id 900100001\n");
    struct ct_table *t = NULL;
    struct strbuf err = STRBUF_INIT;
    struct ct_stats st;
    assert_int_equal(ct_read_files(dir, &t, &err), 0);
    assert_int_equal(ct_verify(t, &(struct ct_expect){ 2, 1, 1 }, &st, NULL), 0);
    assert_int_equal(st.lambda_min, 1);
    assert_int_equal(st.head_max, 1);
    assert_int_equal(st.head_min, 0);
    ct_table_free(t);
    /* ids that do not follow the upstream scheme only warn */
    tu_write(dir, CT_FILE_CREATE,
               "create-target --node-id 7 --disk-index 0 --target-id 101000100101 "
               "--chain-id 900100001\n"
               "create-target --node-id 8 --disk-index 0 --target-id 101000200101 "
               "--chain-id 900100001\n");
    assert_int_equal(ct_read_files(dir, &t, &err), 0);
    assert_int_equal(ct_verify(t, NULL, &st, NULL), 0);
    assert_int_equal(st.warnings, 1);
    ct_table_free(t);
    sb_release(&err);
    remove_tmpdir(dir);
}

/* Issue 20: a FIFO or a huge file under a chain-table name is refused
 * without reading it (the read used to block on a FIFO, and grow without
 * end on an endless one); each file empty is a format error, not a crash. */
static void test_read_refuses_odd_files(void **state)
{
    (void)state;
    char *dir;
    struct ct_table *t = roundtrip_dir(&dir), *r = NULL;
    struct strbuf err = STRBUF_INIT;
    char *p = xstrfmt("%s/%s", dir, CT_FILE_CHAINS);
    alarm(20); /* the old read blocked here for ever */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(ct_read_files(dir, &r, &err), -1);
    assert_null(r);
    assert_non_null(strstr(err.buf, "not a regular file"));
    alarm(0);
    sb_reset(&err);
    assert_int_equal(unlink(p), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)CT_FILE_MAX + 1), 0);
    fclose(f);
    assert_int_equal(ct_read_files(dir, &r, &err), -1);
    assert_non_null(strstr(err.buf, "larger than"));
    static const char *const names[] = { CT_FILE_CHAINS, CT_FILE_CREATE, CT_FILE_TABLE };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        ct_table_free(t);
        remove_tmpdir(dir);
        t = roundtrip_dir(&dir);
        tu_write(dir, names[i], "");
        sb_reset(&err);
        int rc = ct_read_files(dir, &r, &err);
        if (!rc) {
            struct strbuf rep = STRBUF_INIT;
            assert_true(ct_verify(r, NULL, NULL, &rep) > 0);
            sb_release(&rep);
            ct_table_free(r);
            r = NULL;
        } else {
            assert_non_null(strstr(err.buf, names[i]));
        }
    }
    free(p);
    sb_release(&err);
    ct_table_free(t);
    remove_tmpdir(dir);
}

/* ct_read_data (what ct_read_files and fuzz_chaintable read through):
 * buffers need no NUL at the end, and errors name the file and line. */
static void test_read_data(void **state)
{
    (void)state;
    static const char chains[] = "ChainId,TargetId\n1,11\n2,12\nXX";
    static const char cmds[] = "create-target --node-id 1 --disk-index 0 --target-id 11 "
                               "--chain-id 1\ncreate-target --node-id 2 --disk-index 0 "
                               "--target-id 12 --chain-id 2\n";
    static const char order[] = "ChainId\n1\n2\n";
    const char *data[CT_READ_FILES] = { chains, cmds, order };
    size_t len[CT_READ_FILES] = { sizeof(chains) - 3, sizeof(cmds) - 1, sizeof(order) - 1 };
    struct ct_table *t = NULL;
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(ct_read_data(data, len, &t, &err), 0); /* "XX" is past len */
    assert_int_equal(t->n_chains, 2);
    assert_int_equal(t->targets[1].node_id, 2);
    assert_int_equal(t->problems.n, 0);
    ct_table_free(t);
    len[0] = sizeof(chains) - 1; /* now "XX" is a row */
    assert_int_equal(ct_read_data(data, len, &t, &err), -1);
    assert_null(t);
    assert_non_null(strstr(err.buf, CT_FILE_CHAINS ":4: chain id 'XX'"));
    sb_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_formulas),
        cmocka_unit_test(test_choose_r),
        cmocka_unit_test(test_check_params),
        cmocka_unit_test(test_refuses_bad_input),
        cmocka_unit_test(test_golden_v5_k3_r6),
        cmocka_unit_test(test_example_ids_from_generator),
        cmocka_unit_test(test_property_grid),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_rotate_and_interleave),
        cmocka_unit_test(test_explicit_node_ids),
        cmocka_unit_test(test_read_roundtrip),
        cmocka_unit_test(test_verify_catches),
        cmocka_unit_test(test_read_crlf_and_chunk_size),
        cmocka_unit_test(test_read_refuses_odd_files),
        cmocka_unit_test(test_read_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
