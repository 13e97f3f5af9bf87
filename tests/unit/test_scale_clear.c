/* test_scale_clear: `remove-storage-nodes --clear-disks`
 * (plan_build_clear_storage, services/storage.c): destroy's workDir check
 * and storage steps, the very same commands, on the drained nodes only;
 * the other services of those nodes (mgmtd, meta) get no step; and the
 * command (m3fs, run on nodes in TEST-NET-1 that nothing answers) on a
 * finished drain: the clear steps alone, the consent naming what goes;
 * the list of disks m3fs formatted (<base>.formatted, remote input) read by
 * sc_parse_formatted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"
#include "m3fs/scale.h"
#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-clear")

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

/* `printf 'ANSWER\n' | m3fs cluster remove-storage-nodes -c CFG --node n2
 * --clear-disks EXTRA` (stdout and stderr) into out; its exit status. */
static int run_clear(const char *cfg, const char *answer, const char *extra, struct strbuf *out)
{
    const char *bin = getenv("M3FS_BIN");
    assert_non_null(bin);
    char *cmd = xstrfmt("printf '%s\\n' | M3FS_LOCAL_EXEC=0 M3FS_CONNECT_TIMEOUT=1 '%s' cluster "
                        "remove-storage-nodes -c '%s' --node n2 --clear-disks %s 2>&1",
                        answer, bin, cfg, extra);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n;
    sb_reset(out);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) sb_add(out, buf, n);
    int st = pclose(f);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* cluster.yml (storage on n1..n3) and its state file: a finished plan
 * and the storage-nodes record `nodes`.  Returns the config path. */
static char *setup_cluster(const char *nodes)
{
    tu_write(tmpdir, "cl.yml", "name: cl\n"
                               "nodes:\n"
                               "  - {name: n1, host: 192.0.2.1, username: root, password: pw-clear-x}\n"
                               "  - {name: n2, host: 192.0.2.2, username: root, password: pw-clear-x}\n"
                               "  - {name: n3, host: 192.0.2.3, username: root, password: pw-clear-x}\n"
                               "services:\n"
                               TU_SVCS_N1
                               "  storage: {nodes: [n1, n2, n3], diskType: dir}\n"
                               "  client: {nodes: [n1], hostMountpoint: /mnt/3fs}\n");
    char *cfg = xstrfmt("%s/cl.yml", tmpdir), *path = state_path_for(cfg, "cl");
    struct strbuf err = STRBUF_INIT;
    unlink(path);
    struct m3fs_state *st = state_load(path, &err);
    assert_non_null(st);
    state_set_done(st, SC_STATE_PLAN, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    state_set_done(st, SC_STATE_NODES, nodes);
    if (state_save(st, &err) < 0) fail_msg("state_save: %s", err.buf);
    state_free(st);
    free(path);
    sb_release(&err);
    return cfg;
}

static void test_cli_after_drain(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    char *cfg = setup_cluster("hold 10001=n1,10003=n3 drained 10002=n2");
    int rc = run_clear(cfg, "", "--dry-run", &out);
    if (rc != 0 || !strstr(out.buf, "Steps of --clear-disks (3). Nothing was changed.") ||
        !strstr(out.buf, "n2 (192.0.2.2)") || strstr(out.buf, "n1 (192.0.2.1)") ||
        strstr(out.buf, "n3 (192.0.2.3)"))
        fail_msg("--clear-disks --dry-run after the drain: exit %d\n%s", rc, out.buf);
    /* without --yes: the list of what goes, and a wrong answer changes nothing */
    rc = run_clear(cfg, "n3", "", &out);
    if (rc != 1 || !strstr(out.buf, "  n2:\n") ||
        !strstr(out.buf, "delete /opt/3fs/storage: the storage service's files and the data "
                         "directories /opt/3fs/storage/3fsdata/data0 with every chunk") ||
        !strstr(out.buf, "Type the node names 'n2' to go on") ||
        !strstr(out.buf, "'n3' is not 'n2'; nothing was changed") || strstr(out.buf, "n1:"))
        fail_msg("--clear-disks, answer n3: exit %d\n%s", rc, out.buf);
    free(cfg);
    /* n2 not recorded drained: the drain is planned, which reads the cluster
     * first (here: no node answers) */
    cfg = setup_cluster("hold 10001=n1,10002=n2 drained 10003=n3");
    rc = run_clear(cfg, "", "--dry-run", &out);
    if (rc != 1 || strstr(out.buf, "Steps of --clear-disks") || strstr(out.buf, "finished before"))
        fail_msg("--clear-disks with n2 not drained: exit %d\n%s", rc, out.buf);
    free(cfg);
    sb_release(&out);
}

/* sc_parse_formatted on len bytes of text: the disks read "DEV LABEL;..."
 * into got, and the lines left out. */
static size_t parse_fmt(const char *text, size_t len, struct strbuf *got)
{
    struct sc_fmt_list f;
    sc_parse_formatted(text, len, &f);
    sb_setlen(got, 0);
    for (size_t i = 0; i < f.n; i++) sb_addf(got, "%s %s;", f.v[i].dev, f.v[i].label);
    size_t skipped = f.skipped;
    sc_fmt_list_release(&f);
    assert_null(f.v), assert_int_equal(f.n, 0);
    return skipped;
}
#define PARSE_FMT(lit, got) parse_fmt((lit), sizeof(lit) - 1, (got))

/* <base>.formatted as templates/m3fs-disks.sh prepare writes it (one
 * "DEV LABEL" line per disk formatted, appended): read back exactly. */
static void test_formatted_read(void **state)
{
    (void)state;
    struct strbuf got = STRBUF_INIT;
    assert_int_equal(PARSE_FMT("/dev/nvme0n1 3fs-1a2b-0\n/dev/nvme1n1 3fs-1a2b-1\n"
                               "/dev/nvme2n1 3fs-data-2\n"
                               "/dev/disk/by-id/nvme-S_1:2+x.y 3fs-0-999\n", &got), 0);
    assert_string_equal(got.buf, "/dev/nvme0n1 3fs-1a2b-0;/dev/nvme1n1 3fs-1a2b-1;"
                        "/dev/nvme2n1 3fs-data-2;/dev/disk/by-id/nvme-S_1:2+x.y 3fs-0-999;");
    assert_int_equal(PARSE_FMT("", &got), 0); /* no file: cat printed nothing */
    assert_int_equal(got.len, 0);
    assert_int_equal(parse_fmt(NULL, 0, &got), 0);
    assert_int_equal(got.len, 0);
    /* the longest fields it writes: a 255-byte DEV, a 12-byte label */
    struct strbuf in = STRBUF_INIT;
    sb_adds(&in, "/dev/");
    while (in.len < 255) sb_addch(&in, 'a');
    sb_adds(&in, " ABCDEFGH-123\n");
    assert_int_equal(parse_fmt(in.buf, in.len, &got), 0);
    assert_int_equal(got.len, 255 + 1 + 12 + 1);
    /* the format is the script's: the line it appends, its label prefix */
    char *path = tu_source_path("templates");
    char *sh = tu_read(path, "m3fs-disks.sh");
    assert_non_null(strstr(sh, "echo \"$dev $label\" >>\"$formatted\""));
    assert_non_null(strstr(sh, "'' | *[!A-Za-z0-9-]*) echo \"m3fs-disks: bad --label-prefix"));
    assert_non_null(strstr(sh, "[ \"${#prefix}\" -le 8 ]"));
    free(sh), free(path);
    sb_release(&in), sb_release(&got);
}

/* Remote bytes: every line not as the script writes it is left out and
 * counted, the good lines around it still read. */
static void test_formatted_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
#define B(lit) { lit, sizeof(lit) - 1 }
        B("\n"),                                 /* an empty line */
        B("/dev/nvme0n1 3fs-1a2b-0\r\n"),         /* CRLF */
        B("/dev/nvme0n1\r3fs-1a2b-0\n"),
        B("/dev/nvme0n1 3fs-1a2b-0"),             /* no '\n': a cut write */
        B("/dev/nvme0n1 3fs-\0a2b-0\n"),          /* a NUL */
        B("/dev/nvme\0n1 3fs-1a2b-0\n"),
        B("\0\n"),
        B("/dev/nvme0n1  3fs-1a2b-0\n"),          /* two spaces */
        B(" /dev/nvme0n1 3fs-1a2b-0\n"),          /* leading, trailing space */
        B("/dev/nvme0n1 3fs-1a2b-0 \n"),
        B("/dev/nvme0n1\t3fs-1a2b-0\n"),          /* a tab */
        B("/dev/nvme0n1 3fs-1a2b-0 x\n"),         /* a third field */
        B("/dev/nvme0n1\n"),                      /* one field */
        B("nvme0n1 3fs-1a2b-0\n"),                /* not under /dev/ */
        B("/dev/ 3fs-1a2b-0\n"),
        B("/dev/nv$(x) 3fs-1a2b-0\n"),
        B("/dev/nvme0n1 3fs-1a2b\n"),             /* no index */
        B("/dev/nvme0n1 3fs-1a2b-1000\n"),        /* an index of 4 digits */
        B("/dev/nvme0n1 -0\n"),                   /* no prefix */
        B("/dev/nvme0n1 ABCDEFGHI-0\n"),          /* a 9-byte prefix */
        B("/dev/nvme0n1 3fs_1-0\n"),              /* '_' */
        B("/dev/nvme0n1 3fs-1a2b-0\xff\n"),
#undef B
    };
    struct strbuf got = STRBUF_INIT, in = STRBUF_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (parse_fmt(bad[i].text, bad[i].len, &got) != 1 || got.len)
            fail_msg("bad[%zu] read as '%s'", i, got.buf ? got.buf : "");
        /* between good lines: they still count (the cut last line last) */
        sb_setlen(&in, 0);
        sb_adds(&in, "/dev/nvme0n1 3fs-1a2b-0\n");
        sb_add(&in, bad[i].text, bad[i].len);
        if (bad[i].len && bad[i].text[bad[i].len - 1] == '\n')
            sb_adds(&in, "/dev/nvme1n1 3fs-1a2b-1\n");
        size_t sk = parse_fmt(in.buf, in.len, &got);
        const char *want = bad[i].text[bad[i].len - 1] == '\n'
                               ? "/dev/nvme0n1 3fs-1a2b-0;/dev/nvme1n1 3fs-1a2b-1;"
                               : "/dev/nvme0n1 3fs-1a2b-0;";
        if (sk != 1 || strcmp(got.buf, want))
            fail_msg("bad[%zu] among good: %zu, '%s'", i, sk, got.buf);
    }
    /* overlong fields: a 256-byte DEV, a 13-byte label */
    sb_setlen(&in, 0);
    sb_adds(&in, "/dev/");
    while (in.len < 256) sb_addch(&in, 'a');
    sb_adds(&in, " 3fs-0\n/dev/a ABCDEFGH-1234\n/dev/b 3fs-1\n");
    assert_int_equal(parse_fmt(in.buf, in.len, &got), 2);
    assert_string_equal(got.buf, "/dev/b 3fs-1;");
    sb_release(&in), sb_release(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_dir),
        cmocka_unit_test(test_clear_nvme_two),
        cmocka_unit_test(test_cli_after_drain),
        cmocka_unit_test(test_formatted_read),
        cmocka_unit_test(test_formatted_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
