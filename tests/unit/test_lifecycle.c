/* test_lifecycle: the plans of `cluster stop`, `start` and `restart`
 * (plan_build_stop / plan_build_start): the order of the services, storage
 * stopped with its flush time, create's waits after a start, the
 * --role / --node selection, the dry-run text of tests/golden/plan/tcp3.yml
 * against tests/golden/lifecycle/ (M3FS_UPDATE_GOLDEN=1 rewrites it), and
 * templates/m3fs-life.sh run against a fake docker. */
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

TU_TMPDIR_FIXTURE("m3fs-life")

#define TOKEN "AAADBih28QACBQig2wABBAfI"

struct built {
    struct m3fs_config *cfg;
    struct m3fs_state *st;
    struct plan_ctx ctx;
    struct plan p;
};

static char *golden_yaml(void)
{
    char *path = tu_source_path("tests/golden/plan/tcp3.yml");
    struct strbuf sb = STRBUF_INIT;
    if (sb_read_file(&sb, path) < 0) fail_msg("cannot read %s", path);
    free(path);
    return sb_detach(&sb);
}

/* op: 's' stop, 'S' start, 'r' restart; roles: bits of svc_kind (0: all);
 * node: the one selected node's name, or NULL for all. */
static void build(struct built *b, char op, unsigned roles, const char *node,
                  unsigned char *sel)
{
    memset(b, 0, sizeof(*b));
    char *yaml = golden_yaml();
    b->cfg = tu_load_yaml(yaml);
    free(yaml);
    b->st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&b->ctx, b->cfg, b->st, 0), 0);
    b->ctx.only_roles = roles;
    if (node) {
        memset(sel, 0, b->cfg->n_nodes);
        for (size_t i = 0; i < b->cfg->n_nodes; i++)
            if (!strcmp(b->cfg->nodes[i].name, node)) sel[i] = 1;
        b->ctx.only_nodes = sel;
    }
    if (op != 'S') assert_int_equal(plan_build_stop(&b->ctx, &b->p), 0);
    if (op != 's') assert_int_equal(plan_build_start(&b->ctx, &b->p), 0);
}

static void built_free(struct built *b)
{
    plan_free(&b->p);
    plan_ctx_release(&b->ctx);
    state_free(b->st);
    config_free(b->cfg);
}

/* The title ("service: what") of every step, one a line. */
static char *titles(const struct plan *p)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < p->n; i++) sb_addf(&sb, "%s\n", p->steps[i].title);
    return sb_detach(&sb);
}

static void test_stop_order(void **state)
{
    (void)state;
    struct built b;
    build(&b, 's', 0, NULL, NULL);
    char *t = titles(&b.p);
    assert_string_equal(t, "client: stop containers and unmount 3FS\n"
                           "storage: stop containers (SIGTERM, up to 300 s to finish)\n"
                           "meta: stop containers\n"
                           "mgmtd: stop containers\n"
                           "monitor: stop containers\n"
                           "clickhouse: stop containers\n"
                           "fdb: stop containers\n");
    for (size_t i = 0; i < b.p.n; i++) {
        const struct step *s = &b.p.steps[i];
        assert_int_equal(s->op, STEP_RUN);
        /* one after another */
        if (i) {
            assert_int_equal(s->n_after, 1);
            assert_int_equal(s->after[0], i - 1);
        }
        for (size_t k = 0; k < s->n; k++) {
            assert_non_null(s->t[k].skip_if); /* a stopped container is done */
            assert_non_null(strstr(s->t[k].cmd, "m3fs-life"));
        }
    }
    /* storage: docker stop -t 300 (upstream storage_main.service TimeoutStopSec=5m),
     * and the step outlives it */
    const struct step *st = &b.p.steps[1];
    assert_int_equal(st->n, 3);
    assert_non_null(strstr(st->t[0].cmd, " stop '3fs-storage' '300'"));
    assert_true(st->timeout_ms > 300L * 1000);
    assert_null(strstr(b.p.steps[2].t[0].cmd, "'300'"));
    /* monitor and clickhouse: the first node only, as create */
    assert_int_equal(b.p.steps[4].n, 1);
    assert_int_equal(b.p.steps[5].n, 1);
    free(t);
    built_free(&b);
}

static void test_start_order(void **state)
{
    (void)state;
    struct built b;
    build(&b, 'S', 0, NULL, NULL);
    char *t = titles(&b.p);
    assert_string_equal(t, "fdb: start containers\n"
                           "fdb: wait until the database is available\n"
                           "clickhouse: start containers\n"
                           "clickhouse: wait until ClickHouse answers\n"
                           "monitor: start containers\n"
                           "mgmtd: start containers\n"
                           "mgmtd: wait for the primary mgmtd\n"
                           "meta: start containers\n"
                           "storage: start containers\n"
                           "meta: wait until the started containers have run one heartbeat\n"
                           "storage: wait until the started containers have run one heartbeat\n"
                           "3fs: wait until every meta and storage node is HEARTBEAT_CONNECTED "
                           "in list-nodes\n"
                           "3fs: wait until every target is SERVING-UPTODATE\n"
                           "client: make the host mountpoint a shared mount\n"
                           "client: start containers\n"
                           "client: wait until 3FS is mounted\n");
    const struct step *s = &b.p.steps[8];
    assert_int_equal(s->n, 3);
    assert_non_null(strstr(s->t[0].cmd, "start 'm3fs: already done' '3fs-storage'"));
    for (size_t i = 9; i < 11; i++) { /* the settle waits, on each node of meta, storage */
        assert_int_equal(b.p.steps[i].op, STEP_WAIT);
        assert_int_equal(b.p.steps[i].n, i == 9 ? b.p.steps[7].n : b.p.steps[8].n);
        assert_non_null(strstr(b.p.steps[i].t[0].cmd, i == 9 ? " settled '3fs-meta' '10'"
                                                             : " settled '3fs-storage' '10'"));
    }
    assert_int_equal(b.p.steps[12].op, STEP_WAIT);
    assert_non_null(strstr(b.p.steps[12].t[0].cmd, "serving"));
    assert_non_null(strstr(b.p.steps[14].t[0].cmd, "client-start 'm3fs: already done' "
                                                   "'3fs-client' '/mnt/3fs'"));
    free(t);
    built_free(&b);
}

/* --role storage --node n2: the storage steps on n2 only, then the cluster's
 * waits (their checks run where create runs them). */
static void test_selection(void **state)
{
    (void)state;
    struct built b;
    unsigned char sel[8];
    build(&b, 'r', 1u << SVC_STORAGE, "n2", sel);
    char *t = titles(&b.p);
    assert_string_equal(t, "storage: stop containers (SIGTERM, up to 300 s to finish)\n"
                           "storage: start containers\n"
                           "storage: wait until the started containers have run one heartbeat\n"
                           "3fs: wait until every meta and storage node is HEARTBEAT_CONNECTED "
                           "in list-nodes\n"
                           "3fs: wait until every target is SERVING-UPTODATE\n");
    assert_int_equal(b.p.steps[0].n, 1);
    assert_int_equal(b.p.steps[2].n, 1);
    assert_string_equal(b.cfg->nodes[b.p.steps[0].t[0].node].name, "n2");
    assert_int_equal(b.p.steps[1].n, 1);
    assert_string_equal(b.cfg->nodes[b.p.steps[1].t[0].node].name, "n2");
    free(t);
    built_free(&b);

    /* --node n3: what runs there (client, storage, fdb), nothing else */
    build(&b, 's', 0, "n3", sel);
    t = titles(&b.p);
    assert_string_equal(t, "client: stop containers and unmount 3FS\n"
                           "storage: stop containers (SIGTERM, up to 300 s to finish)\n"
                           "fdb: stop containers\n");
    free(t);
    built_free(&b);

    /* --role monitor --node n2: the monitor runs on n1 only: nothing */
    build(&b, 'r', 1u << SVC_MONITOR, "n2", sel);
    assert_int_equal(b.p.n, 0);
    built_free(&b);

    /* --role client: no wait of the 3FS servers */
    build(&b, 'S', 1u << SVC_CLIENT, NULL, NULL);
    assert_int_equal(b.p.n, 3);
    assert_string_equal(b.p.steps[0].service, "client");
    built_free(&b);
}

static void test_golden(void **state)
{
    (void)state;
    const char *names[] = { "tcp3-stop.txt", "tcp3-start.txt" };
    for (int i = 0; i < 2; i++) {
        struct built b;
        build(&b, i ? 'S' : 's', 0, NULL, NULL);
        struct strbuf out = STRBUF_INIT;
        plan_print(&b.p, b.cfg, &out);
        char *rel = xstrfmt("tests/golden/lifecycle/%s", names[i]);
        tu_check_golden(rel, out.buf, out.len);
        free(rel);
        sb_release(&out);
        built_free(&b);
    }
}

/* --- templates/m3fs-life.sh against a fake docker ---------------------- */

/* A docker that answers `container inspect` and `image inspect` from $FAKE_STATE (absent,
 * true, false) and logs every other call to $FAKE_LOG. */
static const char *FAKE_DOCKER =
    "#!/bin/sh\n"
    "if [ \"$1 $2\" = 'container inspect' ] || [ \"$1 $2\" = 'image inspect' ]; then\n"
    "  [ \"$FAKE_STATE\" = absent ] && exit 1\n"
    "  case \"$3\" in -f) echo \"$FAKE_STATE\" ;; esac\n"
    "  exit 0\n"
    "fi\n"
    "echo \"$*\" >>\"$FAKE_LOG\"\n";

/* Run the script with args; returns its exit status, output in out. */
static int life(const char *fake_state, const char *args, struct strbuf *out)
{
    char *script = tu_source_path("templates/m3fs-life.sh");
    char *log = xstrfmt("%s/log", tmpdir);
    remove(log);
    char *cmd = xstrfmt("PATH=%s:$PATH FAKE_STATE='%s' FAKE_LOG=%s sh %s %s 2>&1", tmpdir,
                        fake_state, log, script, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char buf[512];
    size_t n;
    sb_reset(out);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) sb_add(out, buf, n);
    int st = pclose(f);
    struct strbuf lg = STRBUF_INIT;
    if (sb_read_file(&lg, log) == 0) sb_addf(out, "log: %s", lg.buf);
    sb_release(&lg);
    free(script), free(log), free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_script(void **state)
{
    (void)state;
    tu_write_exec(tmpdir, "docker", FAKE_DOCKER);
    struct strbuf out = STRBUF_INIT;
    assert_int_equal(life("true", "stop 3fs-storage 300", &out), 0);
    assert_string_equal(out.buf, "log: stop -t 300 3fs-storage\n");
    assert_int_equal(life("true", "stop 3fs-meta", &out), 0);
    assert_string_equal(out.buf, "log: stop 3fs-meta\n");
    assert_int_equal(life("false", "stop 3fs-meta", &out), 0);
    assert_string_equal(out.buf, ""); /* stopped: nothing to do */
    assert_int_equal(life("absent", "stop 3fs-meta", &out), 0);
    assert_int_equal(life("true", "stopped 3fs-meta", &out), 1);
    assert_int_equal(life("false", "stopped 3fs-meta", &out), 0);
    assert_int_equal(life("true", "start DONE 3fs-meta", &out), 0);
    assert_string_equal(out.buf, "DONE\n");
    assert_int_equal(life("false", "start DONE 3fs-meta", &out), 0);
    assert_string_equal(out.buf, "log: start 3fs-meta\n");
    assert_int_equal(life("absent", "start DONE 3fs-meta", &out), 1);
    assert_non_null(strstr(out.buf, "container 3fs-meta does not exist on this node"));
    /* the client: not mounted at a path no one mounts, so a running client
     * is restarted (its mount did not reach the node) */
    assert_int_equal(life("true", "client-start DONE 3fs-client /nonexistent/m3fs", &out), 0);
    assert_string_equal(out.buf, "log: restart 3fs-client\n");
    assert_int_equal(life("false", "client-start DONE 3fs-client /nonexistent/m3fs", &out), 0);
    assert_string_equal(out.buf, "log: start 3fs-client\n");
    assert_int_equal(life("false", "client-stopped 3fs-client /nonexistent/m3fs", &out), 0);
    assert_int_equal(life("true", "client-stop 3fs-client /nonexistent/m3fs", &out), 0);
    assert_string_equal(out.buf, "log: stop 3fs-client\n");
    /* settled: running and started long enough ago; a start still to come
     * stands for one a moment ago; no start time is not settled */
    assert_int_equal(life("true 2020-01-01T00:00:00.123456789Z", "settled 3fs-storage 10", &out),
                     0);
    assert_int_equal(life("true 2999-01-01T00:00:00Z", "settled 3fs-storage 10", &out), 1);
    assert_int_equal(life("false 2020-01-01T00:00:00Z", "settled 3fs-storage 10", &out), 1);
    assert_int_equal(life("true", "settled 3fs-storage 10", &out), 1);
    assert_int_equal(life("false", "settled 3fs-storage 10", &out), 1);
    assert_int_equal(life("absent", "settled 3fs-storage 10", &out), 1);
    assert_int_equal(life("true", "bogus", &out), 2);
    /* images: the fake answers every inspect with its state word */
    assert_int_equal(life("true", "images m3fs.shuffle-method open3fs/3fs:1 3fs-meta", &out), 0);
    assert_string_equal(out.buf, "image\ttrue\nctr\t3fs-meta\ttrue\n");
    assert_int_equal(life("absent", "images m3fs.shuffle-method open3fs/3fs:1 3fs-meta", &out),
                     0);
    assert_string_equal(out.buf, "");
    sb_release(&out);
}


/* --- cluster upgrade --------------------------------------------------- */

static void build_upgrade(struct built *b, const char *tag)
{
    memset(b, 0, sizeof(*b));
    char *yaml = golden_yaml();
    b->cfg = tu_load_yaml(yaml);
    free(yaml);
    free(b->cfg->images.img[IMG_3FS].tag);
    b->cfg->images.img[IMG_3FS].tag = xstrdup(tag);
    b->st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&b->ctx, b->cfg, b->st, 0), 0);
    assert_int_equal(plan_build_upgrade(&b->ctx, &b->p), 0);
}

/* Index of the step "svc: move NODE to ..." or -1. */
static long move_step(const struct plan *p, const char *svc, const char *node)
{
    char *want = xstrfmt("%s: move %s to ", svc, node);
    long at = -1;
    for (size_t i = 0; i < p->n && at < 0; i++)
        if (!strncmp(p->steps[i].title, want, strlen(want))) at = (long)i;
    free(want);
    return at;
}

static void test_upgrade_order(void **state)
{
    (void)state;
    struct built b;
    build_upgrade(&b, "20990101");
    const char *img = "open3fs/3fs:20990101";
    /* monitor; mgmtd, meta, storage one node at a time; the client last */
    assert_int_equal(upgrade_unit_count(&b.ctx), 9);
    const char *order[][2] = { { "monitor", "n1" }, { "mgmtd", "n1" }, { "mgmtd", "n2" },
                               { "meta", "n1" },    { "meta", "n2" },  { "storage", "n1" },
                               { "storage", "n2" }, { "storage", "n3" }, { "client", "n3" } };
    /* first: the image on every node that runs a unit, nothing moved yet */
    assert_non_null(strstr(b.p.steps[0].title, "3fs: check that open3fs/3fs:20990101 is on "
                                                "every node"));
    assert_int_equal(b.p.steps[0].n, 3);
    assert_non_null(strstr(b.p.steps[0].t[0].cmd, "docker image inspect"));
    long prev = 0;
    for (size_t u = 0; u < 9; u++) {
        long at = move_step(&b.p, order[u][0], order[u][1]);
        assert_true(at > prev);
        const struct step *s = &b.p.steps[at];
        assert_int_equal(s->n, 1); /* one node per unit */
        assert_string_equal(b.cfg->nodes[s->t[0].node].name, order[u][1]);
        assert_non_null(strstr(s->t[0].cmd, img));
        assert_non_null(strstr(s->t[0].cmd, "m3fs-ctr"));
        /* the unit's last step records it in the state file */
        long next = u + 1 < 9 ? move_step(&b.p, order[u + 1][0], order[u + 1][1])
                              : (long)b.p.n;
        /* a storage unit starts with the wait until mgmtd changes chains
         * again: every mgmtd container has run MGMTD_NEWBORN_S seconds */
        if (u + 1 < 9 && !strcmp(order[u + 1][0], "storage")) {
            const struct step *w = &b.p.steps[--next];
            assert_int_equal(w->op, STEP_WAIT);
            assert_non_null(strstr(w->title, "new_chain_bootstrap_interval"));
            assert_int_equal(w->n, 2); /* both mgmtd nodes */
            assert_non_null(strstr(w->t[0].cmd, " settled "));
            assert_non_null(strstr(w->t[0].cmd, "'130'"));
            assert_true(w->timeout_ms >= 190L * 1000);
        }
        char *key = upgrade_unit_key(&b.ctx, u);
        char *name = xstrfmt("upgrade %s on %s", order[u][0], order[u][1]);
        assert_string_equal(key, name);
        assert_non_null(b.p.steps[next - 1].state_key);
        assert_string_equal(b.p.steps[next - 1].state_key, key);
        assert_string_equal(b.p.steps[next - 1].state_val, img);
        free(key), free(name);
        /* storage: SIGTERM with time to flush, then heartbeats and every
         * target SERVING-UPTODATE before the next storage node */
        if (!strcmp(order[u][0], "storage")) {
            assert_true(s->timeout_ms > 300L * 1000);
            assert_int_equal(next - at, 4);
            assert_non_null(strstr(b.p.steps[at + 2].title, "HEARTBEAT_CONNECTED"));
            assert_non_null(strstr(b.p.steps[at + 3].title, "SERVING-UPTODATE"));
            assert_int_equal(b.p.steps[at + 3].op, STEP_WAIT);
        }
        /* first: the new container runs a heartbeat's time without a restart
         * (before that, mgmtd may still show the one it replaced) */
        assert_int_equal(b.p.steps[at + 1].op, STEP_WAIT);
        assert_non_null(strstr(b.p.steps[at + 1].title, "has run without a restart"));
        assert_non_null(strstr(b.p.steps[at + 1].t[0].cmd, " settled "));
        assert_non_null(strstr(b.p.steps[at + 1].t[0].cmd, "m3fs-wait"));
        if (!strcmp(order[u][0], "mgmtd"))
            assert_non_null(strstr(b.p.steps[at + 2].title, "wait for the primary mgmtd"));
        if (!strcmp(order[u][0], "meta"))
            assert_non_null(strstr(b.p.steps[at + 2].title, "HEARTBEAT_CONNECTED"));
        if (!strcmp(order[u][0], "client"))
            assert_non_null(strstr(b.p.steps[at + 2].title, "wait until 3FS is mounted"));
        prev = at;
    }
    /* every step waits for the one before: one unit at a time */
    for (size_t i = 1; i < b.p.n; i++) {
        assert_int_equal(b.p.steps[i].n_after, 1);
        assert_int_equal(b.p.steps[i].after[0], i - 1);
    }
    /* a rollback: the unit alone, on the old image, not recorded */
    struct plan rb = { 0 };
    assert_int_equal(plan_build_upgrade_unit(&b.ctx, 6, "open3fs/3fs:20250410", 0, &rb), 0);
    assert_int_equal(rb.n, 5); /* the newborn wait first (storage) */
    assert_non_null(strstr(rb.steps[0].title, "new_chain_bootstrap_interval"));
    assert_non_null(strstr(rb.steps[1].title, "storage: move n2 to open3fs/3fs:20250410"));
    assert_non_null(strstr(rb.steps[1].t[0].cmd, "open3fs/3fs:20250410"));
    for (size_t i = 0; i < rb.n; i++) assert_null(rb.steps[i].state_key);
    plan_free(&rb);
    built_free(&b);
}

static void test_upgrade_same_container(void **state)
{
    (void)state;
    /* on the image create used, a unit's command is create's own (same
     * digest): a unit already moved is skipped by the container step */
    struct built up, cr;
    build_upgrade(&up, "20250410");
    memset(&cr, 0, sizeof(cr));
    char *yaml = golden_yaml();
    cr.cfg = tu_load_yaml(yaml);
    free(yaml);
    cr.st = state_new_fixed("/work/.m3fs/t.state.json", "abcdefghij:0123456789", TOKEN);
    assert_int_equal(plan_ctx_init(&cr.ctx, cr.cfg, cr.st, 1), 0);
    assert_int_equal(plan_build_create(&cr.ctx, &cr.p), 0);
    long at = move_step(&up.p, "storage", "n2");
    const char *cmd = up.p.steps[at].t[0].cmd;
    int found = 0;
    for (size_t i = 0; i < cr.p.n; i++)
        for (size_t t = 0; t < cr.p.steps[i].n; t++)
            if (cr.p.steps[i].t[t].cmd && !strcmp(cr.p.steps[i].t[t].cmd, cmd)) found = 1;
    assert_true(found);
    built_free(&up);
    built_free(&cr);
}

/* A cluster as the nodes would show it: every container of the golden
 * plan on img3 (3FS), fdb and clickhouse on the images cluster.yml names,
 * labels as given (NULL: none). */
static void facts_all(const struct built *b, struct upgrade_facts *f, const char *img3,
                      const char *old_label, const char *new_label)
{
    upgrade_facts_init(f, b->cfg->n_nodes);
    for (int k = 0; k < SVC_COUNT; k++)
        for (size_t i = 0; i < b->cfg->svc[k].n_member; i++) {
            const char *img = k == SVC_FDB ? b->ctx.image[IMG_FDB]
                              : k == SVC_CLICKHOUSE ? b->ctx.image[IMG_CLICKHOUSE] : img3;
            upgrade_facts_set(f, (enum svc_kind)k, b->cfg->svc[k].member[i], img,
                              k == SVC_FDB || k == SVC_CLICKHOUSE ? NULL : old_label);
        }
    f->new_seen = 1;
    f->new_shuffle = new_label ? xstrdup(new_label) : NULL;
}

/* Rebuild b's plan with f known. */
static void replan(struct built *b, const struct upgrade_facts *f)
{
    plan_free(&b->p);
    memset(&b->p, 0, sizeof(b->p));
    b->ctx.up = f;
    assert_int_equal(plan_build_upgrade(&b->ctx, &b->p), 0);
}

static void test_upgrade_primary_last(void **state)
{
    (void)state;
    struct built b;
    struct upgrade_facts f;
    build_upgrade(&b, "20990101");
    facts_all(&b, &f, "open3fs/3fs:20250410", NULL, NULL);
    struct strbuf words = STRBUF_INIT;
    /* primary unknown: cluster.yml order, and the plan says so */
    replan(&b, &f);
    assert_true(move_step(&b.p, "mgmtd", "n1") < move_step(&b.p, "mgmtd", "n2"));
    upgrade_mgmtd_order(&b.ctx, &words);
    assert_non_null(strstr(words.buf, "the primary is unknown"));
    /* n1 is the primary: n2 (the standby) first, then n1, each followed by
     * the wait for a primary; the state keys follow the units */
    f.primary = 0;
    replan(&b, &f);
    long sb = move_step(&b.p, "mgmtd", "n2"), pr = move_step(&b.p, "mgmtd", "n1");
    assert_true(move_step(&b.p, "monitor", "n1") < sb);
    assert_true(sb < pr && pr < move_step(&b.p, "meta", "n1"));
    assert_non_null(strstr(b.p.steps[pr + 2].title, "wait for the primary mgmtd"));
    char *k1 = upgrade_unit_key(&b.ctx, 1), *k2 = upgrade_unit_key(&b.ctx, 2);
    assert_string_equal(k1, "upgrade mgmtd on n2");
    assert_string_equal(k2, "upgrade mgmtd on n1");
    sb_reset(&words);
    upgrade_mgmtd_order(&b.ctx, &words);
    assert_non_null(strstr(words.buf, "the primary (n1, from list-nodes) last"));
    /* n2 primary: cluster.yml order again */
    f.primary = 1;
    replan(&b, &f);
    assert_true(move_step(&b.p, "mgmtd", "n1") < move_step(&b.p, "mgmtd", "n2"));
    free(k1), free(k2);
    sb_release(&words);
    b.ctx.up = NULL;
    upgrade_facts_release(&f);
    built_free(&b);
}

static void test_upgrade_fdb_clickhouse(void **state)
{
    (void)state;
    struct built b;
    struct upgrade_facts f;
    build_upgrade(&b, "20990101");
    /* their images unchanged: not in the plan, 9 units as before */
    facts_all(&b, &f, "open3fs/3fs:20250410", NULL, NULL);
    replan(&b, &f);
    assert_int_equal(upgrade_unit_count(&b.ctx), 9);
    assert_int_equal(move_step(&b.p, "fdb", "n1"), -1);
    assert_int_equal(move_step(&b.p, "clickhouse", "n1"), -1);
    assert_true(upgrade_needed(&b.ctx));
    /* fdb runs another image on n2: every fdb node is a unit, first, one at
     * a time, each followed by the wait until the database is available on
     * that node; a check that the new fdb image is on the fdb nodes */
    upgrade_facts_set(&f, SVC_FDB, 1, "open3fs/foundationdb:7.1.0", NULL);
    replan(&b, &f);
    assert_int_equal(upgrade_unit_count(&b.ctx), 12);
    assert_string_equal(upgrade_unit_image(&b.ctx, 0), b.ctx.image[IMG_FDB]);
    assert_string_equal(upgrade_unit_from(&b.ctx, 1), "open3fs/foundationdb:7.1.0");
    const char *nodes[] = { "n1", "n2", "n3" };
    long prev = 0;
    for (size_t i = 0; i < 3; i++) {
        long at = move_step(&b.p, "fdb", nodes[i]);
        assert_true(at > prev);
        assert_non_null(strstr(b.p.steps[at].t[0].cmd, b.ctx.image[IMG_FDB]));
        assert_non_null(strstr(b.p.steps[at + 2].title, "fdb: wait until the database is "
                                                        "available"));
        assert_string_equal(b.cfg->nodes[b.p.steps[at + 2].t[0].node].name, nodes[i]);
        prev = at;
    }
    assert_true(prev < move_step(&b.p, "monitor", "n1"));
    int fdb_check = 0;
    for (size_t i = 0; i < b.p.n; i++)
        if (strstr(b.p.steps[i].title, "check that open3fs/foundationdb")) fdb_check = 1;
    assert_true(fdb_check);
    /* ClickHouse too: one unit (its first node), then SELECT 1 */
    upgrade_facts_set(&f, SVC_CLICKHOUSE, 0, "clickhouse/clickhouse-server:24.0", NULL);
    replan(&b, &f);
    assert_int_equal(upgrade_unit_count(&b.ctx), 13);
    long ch = move_step(&b.p, "clickhouse", "n1");
    assert_true(ch > move_step(&b.p, "fdb", "n3") && ch < move_step(&b.p, "monitor", "n1"));
    assert_non_null(strstr(b.p.steps[ch + 2].title, "wait until ClickHouse answers"));
    /* everything on the images cluster.yml names: nothing to upgrade */
    upgrade_facts_release(&f);
    facts_all(&b, &f, "open3fs/3fs:20990101", NULL, NULL);
    b.ctx.up = &f;
    assert_int_equal(upgrade_unit_count(&b.ctx), 9);
    assert_false(upgrade_needed(&b.ctx));
    b.ctx.up = NULL;
    upgrade_facts_release(&f);
    built_free(&b);
}

static int verdict(struct built *b, const char *old, const char *nw, struct strbuf *text)
{
    struct upgrade_facts f;
    facts_all(b, &f, "open3fs/3fs:20250410", old, nw);
    b->ctx.up = &f;
    sb_reset(text);
    int v = upgrade_b15_verdict(&b->ctx, text);
    b->ctx.up = NULL;
    upgrade_facts_release(&f);
    return v;
}

static void test_upgrade_b15(void **state)
{
    (void)state;
    struct built b;
    struct strbuf t = STRBUF_INIT;
    build_upgrade(&b, "20990101");
    assert_int_equal(verdict(&b, "g++10", "g++11", &t), UPGRADE_B15_CHANGED);
    assert_non_null(strstr(t.buf, "changes from g++10 to g++11"));
    assert_non_null(strstr(t.buf, "refused without --force"));
    assert_int_equal(verdict(&b, "g++11", "g++11", &t), UPGRADE_B15_SAME);
    assert_non_null(strstr(t.buf, "unchanged"));
    assert_int_equal(verdict(&b, NULL, "g++11", &t), UPGRADE_B15_UNKNOWN);
    assert_non_null(strstr(t.buf, "unknown"));
    assert_int_equal(verdict(&b, "g++11", NULL, &t), UPGRADE_B15_UNKNOWN);
    assert_non_null(strstr(t.buf, "open3fs/3fs:20990101 has no such label"));
    assert_int_equal(verdict(&b, NULL, NULL, &t), UPGRADE_B15_UNKNOWN);
    /* one container still on a build of another method is enough */
    struct upgrade_facts f;
    facts_all(&b, &f, "open3fs/3fs:20250410", "stdshuffle", "stdshuffle");
    upgrade_facts_set(&f, SVC_STORAGE, 2, "open3fs/3fs:20250411", "g++10");
    b.ctx.up = &f;
    sb_reset(&t);
    assert_int_equal(upgrade_b15_verdict(&b.ctx, &t), UPGRADE_B15_CHANGED);
    /* containers already on the new image do not count */
    upgrade_facts_set(&f, SVC_STORAGE, 2, "open3fs/3fs:20990101", "g++10");
    sb_reset(&t);
    assert_int_equal(upgrade_b15_verdict(&b.ctx, &t), UPGRADE_B15_SAME);
    b.ctx.up = NULL;
    upgrade_facts_release(&f);
    sb_release(&t);
    built_free(&b);
}

static void test_upgrade_probe(void **state)
{
    (void)state;
    struct built b;
    build_upgrade(&b, "20990101");
    /* n3 runs fdb, storage and the client: those are asked for */
    char *cmd = upgrade_probe_cmd(&b.ctx, 2);
    assert_non_null(strstr(cmd, "images 'm3fs.shuffle-method' 'open3fs/3fs:20990101' "
                                "'3fs-fdb' '3fs-storage' '3fs-client'"));
    assert_non_null(strstr(cmd, "m3fs-life"));
    assert_null(strstr(cmd, "3fs-meta"));
    free(cmd);
    struct upgrade_facts f;
    upgrade_facts_init(&f, b.cfg->n_nodes);
    struct strbuf err = STRBUF_INIT;
    const char *out = "image\tg++11\nctr\t3fs-storage\topen3fs/3fs:20250410\t<no value>\n"
                      "ctr\t3fs-client\topen3fs/3fs:20990101\tg++11\n";
    assert_int_equal(upgrade_probe_parse(&b.ctx, &f, 2, out, &err), 0);
    assert_string_equal(f.image[SVC_STORAGE * f.n_nodes + 2], "open3fs/3fs:20250410");
    assert_null(f.shuffle[SVC_STORAGE * f.n_nodes + 2]);
    assert_string_equal(f.shuffle[SVC_CLIENT * f.n_nodes + 2], "g++11");
    assert_true(f.new_seen);
    assert_string_equal(f.new_shuffle, "g++11");
    assert_int_equal(upgrade_probe_parse(&b.ctx, &f, 2, "what\n", &err), -1);
    assert_non_null(strstr(err.buf, "unexpected line"));
    /* the image each unit ran before goes into the state file, so a resumed
     * run (its node then showing the new image) rolls back to it */
    b.ctx.up = &f;
    upgrade_record_from(&b.ctx);
    size_t n = upgrade_unit_count(&b.ctx);
    assert_string_equal(upgrade_unit_from(&b.ctx, n - 2), "open3fs/3fs:20250410");
    assert_null(upgrade_unit_from(&b.ctx, 0)); /* the monitor: not seen */
    upgrade_facts_set(&f, SVC_STORAGE, 2, "open3fs/3fs:20990101", NULL);
    upgrade_record_from(&b.ctx);
    assert_string_equal(upgrade_unit_from(&b.ctx, n - 2), "open3fs/3fs:20250410");
    b.ctx.up = NULL;
    upgrade_facts_release(&f);
    sb_release(&err);
    built_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_order),
        cmocka_unit_test(test_start_order),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_upgrade_order),
        cmocka_unit_test(test_upgrade_same_container),
        cmocka_unit_test(test_upgrade_primary_last),
        cmocka_unit_test(test_upgrade_fdb_clickhouse),
        cmocka_unit_test(test_upgrade_b15),
        cmocka_unit_test(test_upgrade_probe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
