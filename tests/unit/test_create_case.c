/* test_create_case: what `cluster create` does with the chain table of a
 * cluster add-storage-nodes / remove-storage-nodes changed (docs/scale.md
 * "cluster create after add-storage-nodes or remove-storage-nodes"):
 * sc_create_case() from the state file's records and cluster.yml's storage
 * nodes, the node record read back, and the create plan built for
 * SC_CREATE_KEEP (no chain table files, create-target or upload steps; the
 * wait checks the scaled table's ids; drained nodes get no storage steps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/scale.h"
#include "testutil.h"

#define HEX "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX2 "2222222222222222222222222222222222222222222222222222222222222222"
#define PLAN_ADD "m3fs-scale 1 add 2 1 10004 moves ..."
#define PLAN_RM "m3fs-scale 1 remove 2 1 10002 moves ..."
#define DONE HEX2 /* a finished plan: its digest */

static const uint32_t ids4[] = { 10001, 10002, 10003, 10004 };
static const char *const names4[] = { "n1", "n2", "n3", "n4" };

static enum sc_create_case run_case(const char *plan, const char *nodes, const char *uploaded,
                                    size_t n_ids, const char *const *names, unsigned char *skip,
                                    struct strbuf *why)
{
    struct sc_create_in in = { plan, nodes, uploaded, HEX, ids4, names, n_ids };
    return sc_create_case(&in, skip, why);
}

/* No scale: nothing recorded (a fresh or unfinished create), create's own
 * table, or a cluster.yml whose table is not the one uploaded. */
static void test_no_scale(void **state)
{
    (void)state;
    struct strbuf why = STRBUF_INIT;
    assert_int_equal(run_case(NULL, NULL, NULL, 3, names4, NULL, &why), SC_CREATE_NEW);
    assert_int_equal(run_case(NULL, NULL, HEX, 3, names4, NULL, &why), SC_CREATE_OWN);
    assert_int_equal(run_case(NULL, "hold 10001=n1,10002=n2,10003=n3 drained ", HEX, 3, names4,
                              NULL, &why), SC_CREATE_OWN);
    /* the same nodes, another table (replicationFactor changed, say) */
    assert_int_equal(run_case(NULL, "hold 10001=n1,10002=n2,10003=n3 drained ", HEX2, 3, names4,
                              NULL, &why), SC_CREATE_CHANGED);
    /* (c) an m3fs that kept no node record: a node added changes the table */
    assert_int_equal(run_case(NULL, NULL, HEX2, 4, names4, NULL, &why), SC_CREATE_CHANGED);
    assert_int_equal(why.len, 0);
    sb_release(&why);
}

/* (c) storage nodes added to cluster.yml, create run instead of
 * add-storage-nodes: refused, naming the nodes. */
static void test_new_nodes(void **state)
{
    (void)state;
    struct strbuf why = STRBUF_INIT;
    unsigned char skip[4] = { 9, 9, 9, 9 };
    assert_int_equal(run_case(NULL, "hold 10001=n1,10002=n2 drained ", HEX2, 4, names4, skip,
                              &why), SC_CREATE_NEW_NODES);
    assert_string_equal(why.buf, "n3 (id 10003), n4 (id 10004)");
    assert_memory_equal(skip, ((unsigned char[4]){ 0 }), 4);
    sb_reset(&why);
    /* after a finished add-storage-nodes too */
    assert_int_equal(run_case(DONE, "hold 10001=n1,10002=n2,10003=n3 drained ", NULL, 4, names4,
                              skip, &why), SC_CREATE_NEW_NODES);
    assert_string_equal(why.buf, "n4 (id 10004)");
    sb_reset(&why);
    /* a drained node that comes back under another name is not that node */
    static const char *const renamed[] = { "n1", "n2", "other", "n4" };
    assert_int_equal(run_case(DONE, "hold 10001=n1,10002=n2,10004=n4 drained 10003=n3", NULL,
                              4, renamed, skip, &why), SC_CREATE_NEW_NODES);
    assert_string_equal(why.buf, "other (id 10003)");
    sb_release(&why);
}

/* (a) after a finished add-storage-nodes with the same cluster.yml, and
 * (b) after a remove-storage-nodes whose node is still listed or was
 * taken out from the end: the cluster's table is kept. */
static void test_keep(void **state)
{
    (void)state;
    struct strbuf why = STRBUF_INIT;
    unsigned char skip[4] = { 9, 9, 9, 9 };
    /* (a): the digest of cluster.yml's table does not matter any more */
    assert_int_equal(run_case(DONE, "hold 10001=n1,10002=n2,10003=n3,10004=n4 drained ", HEX2,
                              4, names4, skip, &why), SC_CREATE_KEEP);
    assert_memory_equal(skip, ((unsigned char[4]){ 0 }), 4);
    /* (b) n2 drained and still listed: left alone */
    assert_int_equal(run_case(DONE, "hold 10001=n1,10003=n3,10004=n4 drained 10002=n2", HEX, 4,
                              names4, skip, &why), SC_CREATE_KEEP);
    assert_memory_equal(skip, ((unsigned char[4]){ 0, 1, 0, 0 }), 4);
    /* (b) n4 drained and taken out of the list (the last one) */
    assert_int_equal(run_case(DONE, "hold 10001=n1,10002=n2,10003=n3 drained 10004=n4", HEX, 3,
                              names4, skip, &why), SC_CREATE_KEEP);
    assert_memory_equal(skip, ((unsigned char[3]){ 0 }), 3);
    assert_int_equal(why.len, 0);
    sb_release(&why);
}

/* (b) a drained node taken out from the middle shifts the ids after it:
 * refused, even when a new node at the end brings the count back. */
static void test_gone_nodes(void **state)
{
    (void)state;
    struct strbuf why = STRBUF_INIT;
    static const char *const shifted[] = { "n1", "n3", "n4" };
    assert_int_equal(run_case(DONE, "hold 10001=n1,10003=n3,10004=n4 drained 10002=n2", NULL, 3,
                              shifted, NULL, &why), SC_CREATE_GONE_NODES);
    assert_string_equal(why.buf, "storage node n3 (id 10003) holds targets, but "
                                 "services.storage gives that id to n4");
    sb_reset(&why);
    static const char *const refilled[] = { "n1", "n3", "n4", "n5" };
    assert_int_equal(run_case(DONE, "hold 10001=n1,10003=n3,10004=n4 drained 10002=n2", NULL, 4,
                              refilled, NULL, &why), SC_CREATE_GONE_NODES);
    sb_reset(&why);
    /* a node with targets taken out without remove-storage-nodes */
    assert_int_equal(run_case(NULL, "hold 10001=n1,10002=n2,10003=n3,10004=n4 drained ", HEX, 3,
                              names4, NULL, &why), SC_CREATE_GONE_NODES);
    assert_string_equal(why.buf, "storage node n4 (id 10004) holds targets, but "
                                 "services.storage has no node of that id");
    sb_release(&why);
}

/* (d) an unfinished plan refuses, naming its command; a finished one
 * without the node record refuses too (nothing to check new nodes by). */
static void test_unfinished_unknown(void **state)
{
    (void)state;
    struct strbuf why = STRBUF_INIT;
    assert_int_equal(run_case(PLAN_ADD, "hold 10001=n1,10002=n2,10003=n3 drained ", HEX, 4,
                              names4, NULL, &why), SC_CREATE_UNFINISHED);
    assert_string_equal(why.buf, "add");
    sb_reset(&why);
    assert_int_equal(run_case(PLAN_RM, NULL, HEX, 4, names4, NULL, &why), SC_CREATE_UNFINISHED);
    assert_string_equal(why.buf, "remove");
    sb_reset(&why);
    assert_int_equal(run_case(DONE, NULL, HEX, 4, names4, NULL, &why), SC_CREATE_UNKNOWN);
    assert_int_equal(run_case(DONE, "garbage", HEX, 4, names4, NULL, &why), SC_CREATE_UNKNOWN);
    sb_release(&why);
}

/* Drained nodes whatever the plan (what stop and start leave out of a
 * half-moved cluster): same id and name, not holding targets again. */
static void test_drained_nodes(void **state)
{
    (void)state;
    unsigned char skip[4] = { 9, 9, 9, 9 };
    struct sc_create_in in = { PLAN_ADD, "hold 10001=n1,10003=n3 drained 10002=n2,10004=n9",
                               NULL, HEX, ids4, names4, 4 };
    assert_int_equal(sc_drained_nodes(&in, skip), 1); /* n4 is not the drained n9 */
    assert_memory_equal(skip, ((unsigned char[4]){ 0, 1, 0, 0 }), 4);
    in.nodes = "hold 10001=n1,10002=n2 drained 10002=n2";
    assert_int_equal(sc_drained_nodes(&in, skip), 0);
    assert_memory_equal(skip, ((unsigned char[4]){ 0 }), 4);
    in.nodes = "garbage";
    assert_int_equal(sc_drained_nodes(&in, skip), 0);
    in.nodes = NULL;
    assert_int_equal(sc_drained_nodes(&in, skip), 0);
}

static void test_nodes_record(void **state)
{
    (void)state;
    struct sc_nodes n = { 0 }, back;
    struct strbuf sb = STRBUF_INIT;
    sc_nodes_add(&n, 0, 10001, "n1");
    sc_nodes_add(&n, 0, 10003, "node-3.x_y");
    sc_nodes_add(&n, 1, 10002, "n2");
    sc_nodes_encode(&n, &sb);
    assert_string_equal(sb.buf, "hold 10001=n1,10003=node-3.x_y drained 10002=n2");
    assert_int_equal(sc_nodes_decode(sb.buf, &back), 0);
    assert_int_equal(back.n_hold, 2);
    assert_int_equal(back.n_drained, 1);
    assert_int_equal(back.hold[1].id, 10003);
    assert_string_equal(back.hold[1].name, "node-3.x_y");
    assert_string_equal(back.drained[0].name, "n2");
    sc_nodes_release(&back);
    sc_nodes_release(&n);
    static const char *const bad[] = {
        "", "hold  drained ", "hold 10001=n1", "hold 10001=n1 drained 10002=",
        "hold 0=n1 drained ", "hold x=n1 drained ", "hold 10001n1 drained ",
        "hold 10001=n1 drained 10002=n2 trailing", "hold 99999999999=n1 drained ",
        "hold 10001=n1,,10002=n2 drained ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sc_nodes_decode(bad[i], &back) == 0) fail_msg("accepted: '%s'", bad[i]);
        assert_null(back.hold);
    }
    char long_name[80];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = 0;
    sb_reset(&sb);
    sb_addf(&sb, "hold 10001=%s drained ", long_name);
    assert_int_equal(sc_nodes_decode(sb.buf, &back), -1);
    sb_release(&sb);
}

/* The record across remove and add: a drained node stays drained until
 * add takes it back; an unreadable old record counts as none. */
static void test_nodes_next(void **state)
{
    (void)state;
    struct sc_nodes now = { 0 };
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT, c = STRBUF_INIT;
    sc_nodes_add(&now, 0, 10001, "n1"), sc_nodes_add(&now, 0, 10003, "n3");
    sc_nodes_add(&now, 1, 10002, "n2");
    sc_nodes_next("hold 10001=n1,10002=n2,10003=n3 drained ", &now, &a);
    assert_string_equal(a.buf, "hold 10001=n1,10003=n3 drained 10002=n2");
    sc_nodes_release(&now);
    sc_nodes_add(&now, 0, 10001, "n1"), sc_nodes_add(&now, 0, 10003, "n3");
    sc_nodes_add(&now, 0, 10004, "n4");
    sc_nodes_next(a.buf, &now, &b); /* add of n4: n2 stays drained */
    assert_string_equal(b.buf, "hold 10001=n1,10003=n3,10004=n4 drained 10002=n2");
    sc_nodes_release(&now);
    sc_nodes_add(&now, 0, 10001, "n1"), sc_nodes_add(&now, 0, 10002, "n2");
    sc_nodes_add(&now, 0, 10003, "n3"), sc_nodes_add(&now, 0, 10004, "n4");
    sc_nodes_next(b.buf, &now, &c); /* n2 taken back in */
    assert_string_equal(c.buf, "hold 10001=n1,10002=n2,10003=n3,10004=n4 drained ");
    sb_reset(&c);
    sc_nodes_next("garbage", &now, &c);
    assert_string_equal(c.buf, "hold 10001=n1,10002=n2,10003=n3,10004=n4 drained ");
    sc_nodes_release(&now);
    sb_release(&a), sb_release(&b), sb_release(&c);
}

static const char *yaml4 = TU_YAML_STORAGE4("cc");

/* The titles (with the key each also records) and the commands of p, to
 * look things up (commands carry whole scripts: look only for paths there). */
static void plan_text(const struct plan *p, struct strbuf *titles, struct strbuf *cmds)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct step *s = &p->steps[i];
        sb_addf(titles, "%s [%s]\n", s->title, s->also_key ? s->also_key : "");
        for (size_t k = 0; k < s->n; k++)
            sb_addf(cmds, "node %zu: %s | %s\n", s->t[k].node, s->t[k].cmd ? s->t[k].cmd : "",
                    s->t[k].skip_if ? s->t[k].skip_if : "");
    }
}

/* Storage steps' targets on node. */
static size_t storage_targets_on(const struct plan *p, size_t node)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; !strcmp(p->steps[i].service, "storage") && k < p->steps[i].n; k++)
            n += p->steps[i].t[k].node == node;
    return n;
}

/* The heartbeat wait: its check names node id, or it watches node. */
static void heartbeat_has(const struct plan *p, const char *id, size_t node, int *names,
                          int *watches)
{
    *names = *watches = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct step *s = &p->steps[i];
        if (!strstr(s->title, "HEARTBEAT_CONNECTED")) continue;
        for (size_t k = 0; k < s->n; k++) {
            if (s->t[k].node == node && s->t[k].watch) *watches = 1;
            if (!s->t[k].watch && strstr(s->t[k].cmd, id)) *names = 1;
        }
    }
}

/* The create plan: as ever for create's own table (recording which nodes
 * hold it); for SC_CREATE_KEEP no chain steps, the scaled table's ids in
 * the wait, and no storage steps on a drained node. */
static void test_create_plan(void **state)
{
    (void)state;
    struct m3fs_config *cfg = tu_load_yaml(yaml4);
    struct m3fs_state *st = state_new_fixed("/x/.m3fs/cc.state.json", "abcdefghij:0123456789",
                                            "AAADBih28QACBQig2wABBAfI");
    struct plan_ctx ctx = { 0 };
    struct plan p = { 0 };
    struct strbuf t = STRBUF_INIT, c = STRBUF_INIT;
    assert_int_equal(plan_ctx_init(&ctx, cfg, st, 1), 0);
    assert_int_equal(plan_build_create(&ctx, &p), 0);
    plan_text(&p, &t, &c);
    assert_non_null(strstr(t.buf, "(create-target"));
    assert_non_null(strstr(t.buf, "(upload-chains)"));
    assert_non_null(strstr(t.buf, "(upload-chain-table) [" SC_STATE_NODES "]"));
    assert_non_null(strstr(c.buf, "'/opt/3fs/mgmtd/config.d/chains/target_ids.txt'"));
    assert_null(strstr(c.buf, "config.d/scale/"));
    size_t on_n2 = storage_targets_on(&p, 1);
    assert_true(on_n2 > 0);
    int names, watches;
    heartbeat_has(&p, " 10002", 1, &names, &watches);
    assert_true(names && watches);
    plan_free(&p), memset(&p, 0, sizeof(p)), sb_reset(&t), sb_reset(&c);

    state_set_done(st, SC_STATE_PLAN, HEX2); /* a finished scale */
    unsigned char skip[4] = { 0, 1, 0, 0 };
    ctx.keep_table = 1, ctx.storage_skip = skip;
    assert_int_equal(plan_build_create(&ctx, &p), 0);
    plan_text(&p, &t, &c);
    assert_null(strstr(t.buf, "create-target"));
    assert_null(strstr(t.buf, "upload-chain"));
    assert_null(strstr(t.buf, "chain table files"));
    assert_non_null(strstr(t.buf, "user-add"));
    assert_non_null(strstr(t.buf, "SERVING-UPTODATE"));
    assert_null(strstr(c.buf, "config.d/chains/target_ids.txt"));
    assert_non_null(strstr(c.buf, "'/opt/3fs/mgmtd/config.d/scale/target_ids.txt'"));
    assert_int_equal(storage_targets_on(&p, 1), 0);
    assert_int_equal(storage_targets_on(&p, 2), on_n2);
    heartbeat_has(&p, " 10002", 1, &names, &watches); /* the drained n2: not waited for */
    assert_true(!names && !watches);
    heartbeat_has(&p, " 10003", 2, &names, &watches);
    assert_true(names && watches);
    plan_free(&p);
    sb_release(&t), sb_release(&c);
    plan_ctx_release(&ctx);
    state_free(st);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_scale),           cmocka_unit_test(test_new_nodes),
        cmocka_unit_test(test_keep),               cmocka_unit_test(test_gone_nodes),
        cmocka_unit_test(test_unfinished_unknown), cmocka_unit_test(test_nodes_record),
        cmocka_unit_test(test_nodes_next),         cmocka_unit_test(test_create_plan),
        cmocka_unit_test(test_drained_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
