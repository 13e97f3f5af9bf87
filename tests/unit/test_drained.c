/* test_drained: `cluster stop`, `start`, `restart` and `upgrade` on a
 * cluster remove-storage-nodes drained a node of (docs/lifecycle.md "After
 * add- or remove-storage-nodes"): cmd_drained() (src/cmd/drained.c, the
 * one reading create shares) for each command and case, the stop / start /
 * upgrade plans with ctx->storage_skip (no storage step, heartbeat or
 * unit on the drained node) and ctx->half_moved (no SERVING-UPTODATE
 * wait), and the real binary's --dry-run (the one line naming the drained
 * node; `--node n2 --role storage` says it was drained; upgrade refuses a
 * half-moved cluster). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../src/cmd/drained.h"
#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/scale.h"
#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-drained")

#define TOKEN "AAADBih28QACBQig2wABBAfI"
#define DONE "2222222222222222222222222222222222222222222222222222222222222222"
#define PLAN_RM "m3fs-scale 1 remove 2 1 10003 moves ..."
#define REC_N2 "hold 10001=n1,10003=n3,10004=n4 drained 10002=n2"
#define REC_ALL "hold 10001=n1,10002=n2,10003=n3,10004=n4 drained "

/* n2 runs storage only: drained, it runs nothing m3fs deploys. */
static const char *yaml4 =
    TU_YAML_STORAGE4("dr")
    "  client: {nodes: [n3], hostMountpoint: \"/mnt/3fs\"}\n";

struct fx {
    struct m3fs_config *cfg;
    struct m3fs_state *st;
    struct plan_ctx ctx;
    unsigned char *skip;
};

/* The config and a state file holding plan and nodes (either may be NULL). */
static void fx_init(struct fx *f, const char *plan, const char *nodes, int for_create)
{
    memset(f, 0, sizeof(*f));
    f->cfg = tu_load_yaml(yaml4);
    f->st = state_new_fixed("/x/.m3fs/dr.state.json", "abcdefghij:0123456789", TOKEN);
    if (plan) state_set_done(f->st, SC_STATE_PLAN, plan);
    if (nodes) state_set_done(f->st, SC_STATE_NODES, nodes);
    assert_int_equal(plan_ctx_init(&f->ctx, f->cfg, f->st, for_create), 0);
}

static void fx_free(struct fx *f)
{
    plan_ctx_release(&f->ctx);
    state_free(f->st);
    config_free(f->cfg);
    free(f->skip);
}

/* cmd_drained for who on plan / nodes: its return, whether n2 (node 1)
 * is left out, and the flags it set. */
struct verdict {
    int rc, n2_out, n1_out, half, keep;
};
static struct verdict judge(enum drained_for who, const char *plan, const char *nodes)
{
    struct fx f;
    fx_init(&f, plan, nodes, who == DR_CREATE);
    struct verdict v = { 0 };
    v.rc = cmd_drained(f.cfg, f.st, &f.ctx, who, "verb", &f.skip);
    assert_true(f.ctx.storage_skip == f.skip);
    v.n2_out = f.skip && f.skip[1];
    v.n1_out = f.skip && f.skip[0];
    v.half = f.ctx.half_moved, v.keep = f.ctx.keep_table;
    fx_free(&f);
    return v;
}

#define VERDICT(call, rc_, n2, half_, keep_)                                                   \
    do {                                                                                       \
        struct verdict v_ = (call);                                                            \
        assert_int_equal(v_.rc, rc_);                                                          \
        assert_int_equal(v_.n2_out, n2);                                                       \
        assert_int_equal(v_.n1_out, 0);                                                        \
        assert_int_equal(v_.half, half_);                                                      \
        assert_int_equal(v_.keep, keep_);                                                      \
    } while (0)

/* After a finished remove of n2, still listed: every command leaves it
 * out; only create keeps the table (the others build none). */
static void test_keep(void **state)
{
    (void)state;
    VERDICT(judge(DR_CREATE, DONE, REC_N2), 0, 1, 0, 1);
    VERDICT(judge(DR_STOP, DONE, REC_N2), 0, 1, 0, 0);
    VERDICT(judge(DR_START, DONE, REC_N2), 0, 1, 0, 0);
    VERDICT(judge(DR_UPGRADE, DONE, REC_N2), 0, 1, 0, 0);
    /* nothing drained, or nothing recorded: as before */
    VERDICT(judge(DR_START, DONE, REC_ALL), 0, 0, 0, 0);
    VERDICT(judge(DR_START, NULL, REC_ALL), 0, 0, 0, 0);
    VERDICT(judge(DR_UPGRADE, NULL, NULL), 0, 0, 0, 0);
    /* n2 drained under another name is not this n2 */
    VERDICT(judge(DR_START, DONE, "hold 10001=n1,10003=n3,10004=n4 drained 10002=x"), -1, 0,
            0, 0);
}

/* A half-moved cluster: create and upgrade refuse; stop and start go on
 * (start without the SERVING-UPTODATE wait), leaving out what an earlier
 * remove drained. */
static void test_unfinished(void **state)
{
    (void)state;
    VERDICT(judge(DR_CREATE, PLAN_RM, REC_N2), -1, 0, 0, 0);
    VERDICT(judge(DR_UPGRADE, PLAN_RM, REC_N2), -1, 0, 0, 0);
    VERDICT(judge(DR_STOP, PLAN_RM, REC_N2), 0, 1, 0, 0);
    VERDICT(judge(DR_START, PLAN_RM, REC_N2), 0, 1, 1, 0);
    VERDICT(judge(DR_START, PLAN_RM, NULL), 0, 0, 1, 0);
}

/* cluster.yml not the cluster's (a node added without add-storage-nodes,
 * one taken out of the middle) or a finished scale without the node
 * record: start, restart and upgrade refuse (their waits would check other
 * nodes); stop goes on. */
static void test_refused(void **state)
{
    (void)state;
    const char *added = "hold 10001=n1,10002=n2,10003=n3 drained ";
    const char *shifted = "hold 10001=n1,10002=n3,10003=n4,10004=n5 drained ";
    VERDICT(judge(DR_START, NULL, added), -1, 0, 0, 0);
    VERDICT(judge(DR_UPGRADE, NULL, added), -1, 0, 0, 0);
    VERDICT(judge(DR_STOP, NULL, added), 0, 0, 0, 0);
    VERDICT(judge(DR_START, DONE, shifted), -1, 0, 0, 0);
    VERDICT(judge(DR_STOP, DONE, shifted), 0, 0, 0, 0);
    VERDICT(judge(DR_START, DONE, NULL), -1, 0, 0, 0);
    VERDICT(judge(DR_UPGRADE, DONE, NULL), -1, 0, 0, 0);
    VERDICT(judge(DR_STOP, DONE, NULL), 0, 0, 0, 0);
}

/* Targets of p's steps on node, and whether the heartbeat wait names id
 * or watches node. */
static size_t on_node(const struct plan *p, size_t node)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->steps[i].n; k++) n += p->steps[i].t[k].node == node;
    return n;
}

static int heartbeat_names(const struct plan *p, const char *id, size_t node)
{
    int hit = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!strstr(p->steps[i].title, "HEARTBEAT_CONNECTED")) continue;
        for (size_t k = 0; k < p->steps[i].n; k++) {
            const struct step_target *t = &p->steps[i].t[k];
            hit |= t->node == node && t->watch;
            hit |= !t->watch && t->cmd && strstr(t->cmd, id) != NULL;
        }
    }
    return hit;
}

static int has_title(const struct plan *p, const char *what)
{
    for (size_t i = 0; i < p->n; i++)
        if (strstr(p->steps[i].title, what)) return 1;
    return 0;
}

/* restart's plan (stop, then start) with and without n2 left out. */
static void test_restart_plan(void **state)
{
    (void)state;
    unsigned char skip[4] = { 0, 1, 0, 0 };
    for (int drained = 0; drained < 2; drained++) {
        struct fx f;
        struct plan p = { 0 };
        fx_init(&f, DONE, REC_N2, 0);
        if (drained) f.ctx.storage_skip = skip;
        assert_int_equal(plan_build_stop(&f.ctx, &p), 0);
        assert_int_equal(plan_build_start(&f.ctx, &p), 0);
        assert_int_equal(on_node(&p, 1) == 0, drained);
        assert_int_equal(heartbeat_names(&p, " 10002", 1), !drained);
        assert_true(heartbeat_names(&p, " 10004", 3)); /* the others still waited for */
        assert_true(on_node(&p, 3) > 0);
        assert_true(has_title(&p, "SERVING-UPTODATE"));
        plan_free(&p);
        /* --role storage --node n2: nothing left */
        unsigned char sel[4] = { 0, 1, 0, 0 };
        memset(&p, 0, sizeof(p));
        f.ctx.only_roles = 1u << SVC_STORAGE, f.ctx.only_nodes = sel;
        assert_int_equal(plan_build_stop(&f.ctx, &p), 0);
        assert_int_equal(plan_build_start(&f.ctx, &p), 0);
        assert_int_equal(p.n == 0, drained);
        struct strbuf names = STRBUF_INIT;
        assert_int_equal(drained_selected(&f.ctx, &names), drained);
        assert_string_equal(names.buf ? names.buf : "", drained ? "n2" : "");
        sb_release(&names);
        plan_free(&p);
        fx_free(&f);
    }
}

/* A start of a half-moved cluster: the heartbeat wait, no SERVING-UPTODATE. */
static void test_half_moved_start(void **state)
{
    (void)state;
    struct fx f;
    struct plan p = { 0 };
    fx_init(&f, PLAN_RM, REC_ALL, 0);
    f.ctx.half_moved = 1;
    assert_int_equal(plan_build_start(&f.ctx, &p), 0);
    assert_true(has_title(&p, "HEARTBEAT_CONNECTED"));
    assert_false(has_title(&p, "SERVING-UPTODATE"));
    plan_free(&p);
    fx_free(&f);
}

/* upgrade: no unit, probe or step on the drained n2; n3 and n4 still. */
static void test_upgrade_units(void **state)
{
    (void)state;
    unsigned char skip[4] = { 0, 1, 0, 0 };
    struct fx f;
    fx_init(&f, DONE, REC_N2, 0);
    size_t all = upgrade_unit_count(&f.ctx);
    assert_int_equal(upgrade_node_has_units(&f.ctx, 1), 1);
    f.ctx.storage_skip = skip;
    size_t n = upgrade_unit_count(&f.ctx);
    assert_int_equal(n, all - 1);
    assert_int_equal(upgrade_node_has_units(&f.ctx, 1), 0);
    struct strbuf names = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char *u = upgrade_unit_name(&f.ctx, i);
        sb_addf(&names, "%s;", u);
        free(u);
    }
    assert_string_equal(names.buf, "monitor on n1;mgmtd on n1;meta on n1;storage on n1;"
                                   "storage on n3;storage on n4;client on n3;");
    struct plan p = { 0 };
    assert_int_equal(plan_build_upgrade(&f.ctx, &p), 0);
    assert_int_equal(on_node(&p, 1), 0);
    assert_false(heartbeat_names(&p, " 10002", 1));
    assert_true(heartbeat_names(&p, " 10004", 3));
    plan_free(&p);
    sb_release(&names);
    fx_free(&f);
}

/* ---- the binary, --dry-run (nothing is contacted) ---------------------- */
static const char *bin;

/* Run m3fs ARGS -c tmpdir/cluster.yml; stdout and stderr into *out. */
static int run_m3fs(const char *args, char **out)
{
    char *cmd = xstrfmt("NO_COLOR=1 '%s' %s -c '%s/cluster.yml' >'%s/out' 2>&1", bin, args,
                        tmpdir, tmpdir);
    int st = system(cmd);
    free(cmd);
    *out = tu_read(tmpdir, "out");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_state(const char *plan, const char *nodes)
{
    char *path = xstrfmt("%s/.m3fs/dr.state.json", tmpdir);
    struct m3fs_state *st = state_new_fixed(path, "abcdefghij:0123456789", TOKEN);
    struct strbuf err = STRBUF_INIT;
    state_set_done(st, SC_STATE_PLAN, plan);
    state_set_done(st, SC_STATE_NODES, nodes);
    assert_int_equal(state_save(st, &err), 0);
    state_free(st);
    sb_release(&err);
    free(path);
}

#define HAS(text, what)                                                                        \
    do {                                                                                       \
        if (!strstr(text, what)) fail_msg("no '%s' in:\n%s", what, text);                      \
    } while (0)

static void test_cli(void **state)
{
    (void)state;
    char *out;
    tu_write(tmpdir, "cluster.yml", yaml4);
    write_state(DONE, REC_N2);
    assert_int_equal(run_m3fs("cluster restart --dry-run --role storage", &out), 0);
    HAS(out, "restart leaves out storage on n2: remove-storage-nodes drained it");
    HAS(out, "n3 (198.18.0.13)");
    assert_null(strstr(out, "n2 (198.18.0.12)")); /* no step, watch or wait on n2 */
    assert_null(strstr(out, "10002"));
    free(out);
    assert_int_equal(run_m3fs("cluster restart --dry-run --role storage --node n2", &out), 1);
    HAS(out, "nothing to restart: `m3fs cluster remove-storage-nodes` drained storage on n2 "
             "(state file ");
    HAS(out, "no other service of the selection (storage on n2) runs on the selected nodes");
    free(out);
    /* half moved: start goes on without the SERVING-UPTODATE wait, upgrade refuses */
    write_state(PLAN_RM, REC_N2);
    assert_int_equal(run_m3fs("cluster start --dry-run", &out), 0);
    HAS(out, "holds an unfinished remove-storage-nodes: the cluster is half moved");
    HAS(out, "HEARTBEAT_CONNECTED");
    assert_null(strstr(out, "SERVING-UPTODATE in"));
    free(out);
    assert_int_equal(run_m3fs("cluster upgrade --dry-run", &out), 1);
    HAS(out, "holds an unfinished remove-storage-nodes: the cluster is half moved. Finish the "
             "plan first: run `m3fs cluster remove-storage-nodes -c");
    HAS(out, "Nothing was changed");
    free(out);
}

int main(void)
{
    bin = getenv("M3FS_BIN");
    if (!bin) {
        fprintf(stderr, "M3FS_BIN must be set (run through ctest)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep),         cmocka_unit_test(test_unfinished),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_restart_plan),
        cmocka_unit_test(test_half_moved_start), cmocka_unit_test(test_upgrade_units),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
