/* test_clients: `cluster add-client` / `delete-client` (services/clients.c):
 * the probe output parsed into facts, the node sets (which client nodes
 * gain 3FS, which nodes lose their client; --node), the plans (create's
 * client steps on the new nodes only, destroy's client steps on the
 * removed ones), and templates/m3fs-client.sh probe against a fake docker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-clients")

#define TOKEN "AAADBih28QACBQig2wABBAfI"

/* tests/golden/plan/tcp3.yml (n1..n3) with services.client on `clients`. */
static struct m3fs_config *load(const char *clients)
{
    char *path = tu_source_path("tests/golden/plan/tcp3.yml");
    struct strbuf sb = STRBUF_INIT;
    if (sb_read_file(&sb, path) < 0) fail_msg("cannot read %s", path);
    char *at = strstr(sb.buf, "client: {nodes: [n3]");
    assert_non_null(at);
    struct strbuf y = STRBUF_INIT;
    sb_add(&y, sb.buf, (size_t)(at - sb.buf));
    sb_addf(&y, "client: {nodes: [%s], hostMountpoint: \"/mnt/3fs\"}\n", clients);
    struct m3fs_config *cfg = tu_load_yaml(y.buf);
    assert_int_equal(cfg->n_nodes, 3);
    sb_release(&sb), sb_release(&y);
    free(path);
    return cfg;
}

static void test_parse(void **state)
{
    (void)state;
    struct strbuf err = STRBUF_INIT;
    unsigned f = 99;
    assert_int_equal(client_probe_parse("probe\n", &f, &err), 0);
    assert_int_equal(f, 0);
    assert_int_equal(client_probe_parse("probe container running mounted files\n", &f, &err), 0);
    assert_int_equal(f, CLIENT_CTR | CLIENT_RUNNING | CLIENT_MOUNTED | CLIENT_FILES);
    assert_int_equal(client_probe_parse("probe foreign mounted", &f, &err), 0);
    assert_int_equal(f, CLIENT_FOREIGN | CLIENT_MOUNTED);
    struct strbuf w = STRBUF_INIT;
    client_facts_words(f, &w);
    assert_string_equal(w.buf, "foreign, mounted");
    sb_reset(&w);
    client_facts_words(0, &w);
    assert_string_equal(w.buf, "nothing");
    /* what is not the script's one line is refused */
    assert_int_equal(client_probe_parse("", &f, &err), -1);
    assert_non_null(strstr(err.buf, "printed nothing"));
    sb_reset(&err);
    assert_int_equal(client_probe_parse("probe mounted sideways\n", &f, &err), -1);
    assert_non_null(strstr(err.buf, "'sideways'"));
    sb_reset(&err);
    assert_int_equal(client_probe_parse("bash: docker: not found\nprobe\n", &f, &err), -1);
    sb_reset(&err);
    assert_int_equal(client_probe_parse("probe\nprobe\n", &f, &err), -1);
    sb_release(&err), sb_release(&w);
}

#define WHOLE (CLIENT_CTR | CLIENT_RUNNING | CLIENT_MOUNTED | CLIENT_FILES)

static void test_to_add(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("n1, n2, n3");
    unsigned char add[3];
    /* n1 whole; n2 nothing; n3 a container that stopped (no mount) */
    unsigned facts[3] = { WHOLE, 0, CLIENT_CTR | CLIENT_FILES };
    assert_int_equal(client_to_add(cfg, facts, add), 2);
    assert_int_equal(add[0], 0);
    assert_int_equal(add[1], 1);
    assert_int_equal(add[2], 1);
    /* mounted but not running, or another cluster's container: not whole */
    unsigned f2[3] = { WHOLE, CLIENT_CTR | CLIENT_MOUNTED, WHOLE | CLIENT_FOREIGN };
    assert_int_equal(client_to_add(cfg, f2, add), 2);
    assert_int_equal(add[0], 0);
    unsigned all[3] = { WHOLE, WHOLE, WHOLE };
    assert_int_equal(client_to_add(cfg, all, add), 0);
    config_free(cfg);
    /* a node that is no client is never added, whatever it has */
    cfg = load("n1");
    unsigned none[3] = { 0, 0, 0 };
    assert_int_equal(client_to_add(cfg, none, add), 1);
    assert_int_equal(add[0], 1);
    assert_int_equal(add[1] + add[2], 0);
    config_free(cfg);
}

static void test_to_delete(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("n1");
    unsigned char del[3];
    assert_int_equal(client_is_candidate(cfg, NULL, 0), 0);
    assert_int_equal(client_is_candidate(cfg, NULL, 1), 1);
    /* n2 whole, n3 nothing: only n2; the listed n1 never */
    unsigned facts[3] = { WHOLE, WHOLE, 0 };
    assert_int_equal(client_to_delete(cfg, facts, NULL, del), 1);
    assert_int_equal(del[0], 0);
    assert_int_equal(del[1], 1);
    assert_int_equal(del[2], 0);
    /* any part of ours counts: a stale mount, files left; a foreign container alone does not */
    unsigned parts[3] = { 0, CLIENT_MOUNTED, CLIENT_FILES };
    assert_int_equal(client_to_delete(cfg, parts, NULL, del), 2);
    unsigned foreign[3] = { 0, CLIENT_FOREIGN, CLIENT_FOREIGN | CLIENT_FILES };
    assert_int_equal(client_to_delete(cfg, foreign, NULL, del), 1);
    assert_int_equal(del[2], 1);
    /* --node: exactly the named nodes, listed or not */
    unsigned char named[3] = { 1, 0, 0 };
    assert_int_equal(client_is_candidate(cfg, named, 0), 1);
    assert_int_equal(client_is_candidate(cfg, named, 1), 0);
    assert_int_equal(client_to_delete(cfg, facts, named, del), 1);
    assert_int_equal(del[0], 1);
    assert_int_equal(del[1], 0);
    config_free(cfg);
}

struct built {
    struct m3fs_config *cfg;
    struct m3fs_state *st;
    struct plan_ctx ctx;
    struct plan p;
};

static void built_free(struct built *b)
{
    plan_free(&b->p);
    plan_ctx_release(&b->ctx);
    state_free(b->st);
    config_free(b->cfg);
}

static void build(struct built *b, const char *clients, const unsigned char *sel, int add)
{
    memset(b, 0, sizeof(*b));
    b->cfg = load(clients);
    b->st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&b->ctx, b->cfg, b->st, 0), 0);
    b->ctx.only_nodes = sel;
    if (add) assert_int_equal(plan_build_add_clients(&b->ctx, &b->p), 0);
    else assert_int_equal(plan_build_delete_clients(&b->ctx, &b->p), 0);
}

/* The step titled title, or fail. */
static const struct step *step(const struct plan *p, const char *title)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->steps[i].title, title)) return &p->steps[i];
    fail_msg("no step '%s'", title);
    return NULL;
}

static int targets_only(const struct step *s, size_t node)
{
    for (size_t k = 0; k < s->n; k++)
        if (s->t[k].node != node) return 0;
    return s->n > 0;
}

static void test_add_plan(void **state)
{
    (void)state;
    unsigned char sel[3] = { 0, 0, 1 }; /* n3 new; n1, n2 mounted */
    struct built b;
    build(&b, "n1, n2, n3", sel, 1);
    assert_true(targets_only(step(&b.p, "node: mark the workDir as this cluster's (.m3fs-cluster)"), 2));
    assert_true(targets_only(step(&b.p, "client: make the host mountpoint a shared mount"), 2));
    assert_true(targets_only(step(&b.p, "client: start containers"), 2));
    assert_true(targets_only(step(&b.p, "client: wait until 3FS is mounted"), 2));
    /* the files: n3's, and the main config's copy on the first mgmtd (n1) */
    const struct step *put = step(&b.p, "client: write config files");
    for (size_t k = 0; k < put->n; k++) {
        if (put->t[k].node == 0)
            assert_non_null(strstr(put->t[k].path, "mgmtd/config.d/main/"));
        else
            assert_int_equal(put->t[k].node, 2);
    }
    /* the very container create starts on n3 */
    const struct step *st = step(&b.p, "client: start containers");
    char *cmd = xstrdup(st->t[0].cmd);
    built_free(&b);
    struct built c;
    memset(&c, 0, sizeof(c));
    c.cfg = load("n1, n2, n3");
    c.st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&c.ctx, c.cfg, c.st, 1), 0);
    assert_int_equal(plan_build_create(&c.ctx, &c.p), 0);
    const struct step *cs = step(&c.p, "client: start containers");
    assert_int_equal(cs->n, 3);
    assert_int_equal(cs->t[2].node, 2);
    assert_string_equal(cs->t[2].cmd, cmd);
    free(cmd);
    built_free(&c);
}

static void test_delete_plan(void **state)
{
    (void)state;
    unsigned char sel[3] = { 0, 1, 0 }; /* n2 no longer listed */
    struct built b;
    build(&b, "n1, n3", sel, 0);
    assert_int_equal(b.p.n, 2);
    const struct step *s = step(&b.p, "client: remove the container and unmount 3FS");
    assert_true(targets_only(s, 1));
    assert_non_null(strstr(s->t[0].cmd, "'3fs-client'"));
    assert_non_null(strstr(s->t[0].cmd, "unmount '/mnt/3fs' '/opt/3fs/client/bind-mount'"));
    assert_non_null(s->t[0].skip_if);
    s = step(&b.p, "client: remove the container and client files");
    assert_true(targets_only(s, 1));
    assert_non_null(strstr(s->t[0].cmd, "'/opt/3fs/client'"));
    built_free(&b);
    /* nothing selected: no step */
    unsigned char none[3] = { 0, 0, 0 };
    build(&b, "n1, n3", none, 0);
    assert_int_equal(b.p.n, 0);
    built_free(&b);
}

/* --- templates/m3fs-client.sh probe against a fake docker -------------- */

/* `docker container inspect -f FMT NAME` answers $FAKE_INSPECT (or fails
 * when it is "absent"). */
static const char *FAKE_DOCKER =
    "#!/bin/sh\n"
    "[ \"$FAKE_INSPECT\" = absent ] && exit 1\n"
    "echo \"$FAKE_INSPECT\"\n";

static int probe(const char *inspect, const char *dir, struct strbuf *out)
{
    char *script = tu_source_path("templates/m3fs-client.sh");
    char *cmd = xstrfmt("PATH=%s:$PATH FAKE_INSPECT='%s' sh %s probe /nonexistent/m3fs "
                        "3fs-client lab %s 2>&1", tmpdir, inspect, script, dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char buf[256];
    size_t n;
    sb_reset(out);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) sb_add(out, buf, n);
    int st = pclose(f);
    free(script), free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_probe_script(void **state)
{
    (void)state;
    tu_write_exec(tmpdir, "docker", FAKE_DOCKER);
    struct strbuf out = STRBUF_INIT;
    unsigned f;
    assert_int_equal(probe("lab/true", tmpdir, &out), 0);
    assert_string_equal(out.buf, "probe container running files\n");
    assert_int_equal(client_probe_parse(out.buf, &f, &out), 0);
    assert_int_equal(f, CLIENT_CTR | CLIENT_RUNNING | CLIENT_FILES);
    assert_int_equal(probe("lab/false", "/nonexistent/dir", &out), 0);
    assert_string_equal(out.buf, "probe container\n");
    assert_int_equal(probe("lab-other/true", "/nonexistent/dir", &out), 0);
    assert_string_equal(out.buf, "probe foreign\n");
    assert_int_equal(probe("/true", "/nonexistent/dir", &out), 0); /* no label */
    assert_string_equal(out.buf, "probe foreign\n");
    assert_int_equal(probe("absent", "/nonexistent/dir", &out), 0);
    assert_string_equal(out.buf, "probe\n");
    sb_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_to_add),
        cmocka_unit_test(test_to_delete),
        cmocka_unit_test(test_add_plan),
        cmocka_unit_test(test_delete_plan),
        cmocka_unit_test(test_probe_script),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
