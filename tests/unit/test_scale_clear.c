/* test_scale_clear: `remove-storage-nodes --clear-disks`
 * (plan_build_clear_storage, services/storage.c): destroy's workDir check
 * and storage steps, the very same commands, on the drained nodes only;
 * the other services of those nodes (mgmtd, meta) get no step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

#define TOKEN "AAADBih28QACBQig2wABBAfI"

struct built {
    struct m3fs_config *cfg;
    struct m3fs_state *st;
    struct plan_ctx ctx;
    struct plan p;
};

/* tests/golden/plan/tcp3.yml (n2 runs mgmtd, meta and storage), with
 * diskType disk_type. */
static void build(struct built *b, const char *disk_type, const unsigned char *clear)
{
    memset(b, 0, sizeof(*b));
    char *path = tu_source_path("tests/golden/plan/tcp3.yml");
    struct strbuf sb = STRBUF_INIT;
    if (sb_read_file(&sb, path) < 0) fail_msg("cannot read %s", path);
    sb_replace_all(&sb, "diskType: dir", disk_type);
    b->cfg = tu_load_yaml(sb.buf);
    assert_int_equal(b->cfg->n_nodes, 3);
    b->st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&b->ctx, b->cfg, b->st, 0), 0);
    if (clear) assert_int_equal(plan_build_clear_storage(&b->ctx, clear, &b->p), 0);
    else assert_int_equal(plan_build_destroy(&b->ctx, &b->p), 0);
    sb_release(&sb);
    free(path);
}

static void built_free(struct built *b)
{
    plan_free(&b->p);
    plan_ctx_release(&b->ctx);
    state_free(b->st);
    config_free(b->cfg);
}

static const struct step *step(const struct plan *p, const char *title)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->steps[i].title, title)) return &p->steps[i];
    fail_msg("no step '%s'", title);
    return NULL;
}

static const char *const TITLES[] = {
    "node: check that the workDir is this cluster's (.m3fs-cluster) before deleting anything",
    "storage: remove the container and clear the data (dir: deleted; nvme: unmounted, wiped "
    "only if m3fs formatted it)",
    "storage: remove the container and storage files",
};

/* Every step of c (on node only) is destroy's step of that title, its
 * targets on node the same commands and checks. */
static void same_as_destroy(const struct plan *c, const struct plan *d, size_t node)
{
    assert_int_equal(c->n, ARRAY_SIZE(TITLES));
    for (size_t i = 0; i < c->n; i++) {
        assert_string_equal(c->steps[i].title, TITLES[i]);
        const struct step *ds = step(d, TITLES[i]);
        size_t k = 0;
        for (size_t j = 0; j < ds->n; j++) {
            if (ds->t[j].node != node) continue;
            assert_true(k < c->steps[i].n);
            const struct step_target *t = &c->steps[i].t[k++];
            assert_int_equal(t->node, node);
            assert_string_equal(t->cmd, ds->t[j].cmd);
            if (ds->t[j].skip_if) assert_string_equal(t->skip_if, ds->t[j].skip_if);
        }
        assert_int_equal(k, c->steps[i].n);
        assert_true(k > 0);
    }
}

static void test_clear_dir(void **state)
{
    (void)state;
    const unsigned char n2[3] = { 0, 1, 0 };
    struct built c, d;
    build(&c, "diskType: dir", n2);
    build(&d, "diskType: dir", NULL);
    same_as_destroy(&c.p, &d.p, 1);
    const struct step *s = step(&c.p, TITLES[1]);
    assert_int_equal(s->n, 2); /* the container, then the data */
    assert_non_null(strstr(s->t[1].cmd, "clear '/opt/3fs/storage/3fsdata' 1 'dir'"));
    assert_non_null(strstr(step(&c.p, TITLES[2])->t[0].cmd, "'/opt/3fs/storage'"));
    for (size_t i = 0; i < c.p.n; i++) /* n2's mgmtd and meta are not touched */
        for (size_t k = 0; k < c.p.steps[i].n; k++) {
            const char *cmd = c.p.steps[i].t[k].cmd;
            assert_null(strstr(cmd, "'3fs-mgmtd'")), assert_null(strstr(cmd, "'3fs-meta'"));
            assert_null(strstr(cmd, "'/opt/3fs/mgmtd'")), assert_null(strstr(cmd, "'/opt/3fs/meta'"));
            assert_null(strstr(cmd, "m3fs-node purge '")), assert_null(strstr(cmd, "'/opt/3fs/bin'"));
        }
    built_free(&c), built_free(&d);
}

static void test_clear_nvme_two(void **state)
{
    (void)state;
    const unsigned char n13[3] = { 1, 0, 1 };
    struct built c;
    build(&c, "diskType: nvme", n13);
    assert_int_equal(c.p.n, ARRAY_SIZE(TITLES));
    for (size_t i = 0; i < c.p.n; i++)
        for (size_t k = 0; k < c.p.steps[i].n; k++) assert_int_not_equal(c.p.steps[i].t[k].node, 1);
    const struct step *s = step(&c.p, TITLES[1]);
    assert_int_equal(s->n, 4);
    assert_non_null(strstr(s->t[1].cmd, "clear '/opt/3fs/storage/3fsdata' 1 'nvme'"));
    built_free(&c);
    const unsigned char none[3] = { 0, 0, 0 };
    build(&c, "diskType: dir", none);
    assert_int_equal(c.p.n, 0);
    built_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_dir),
        cmocka_unit_test(test_clear_nvme_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
