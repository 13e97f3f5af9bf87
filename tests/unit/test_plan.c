/* test_plan: plan building for `cluster create` / `destroy`: rendered
 * files (node ids, mgmtd address lists per networkType, TOML validity),
 * fdb redundancy by node count, secrets masked in --dry-run, the minted
 * admin token, the state file, and the dry-run text against the golden
 * files in tests/golden/plan/ (M3FS_UPDATE_GOLDEN=1 rewrites them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/deploy.h"
#include "m3fs/plan.h"
#include "m3fs/remote.h"
#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

#define TOKEN "AAADBih28QACBQig2wABBAfI" /* token_mint(0, 01..08), checked in python */

struct built {
    struct m3fs_config *cfg;
    struct m3fs_state *st;
    struct plan_ctx ctx;
    struct plan p;
};

static void build(struct built *b, const char *yaml, int create)
{
    memset(b, 0, sizeof(*b));
    b->cfg = tu_load_yaml(yaml);
    b->st = state_new_fixed("/work/.m3fs/test.state.json", "abcdefghij:0123456789", TOKEN);
    int rc = plan_ctx_init(&b->ctx, b->cfg, b->st, create);
    if (!rc) rc = create ? plan_build_create(&b->ctx, &b->p) : plan_build_destroy(&b->ctx, &b->p);
    if (rc) fprintf(stderr, "plan error: %s\n", b->ctx.err.buf);
    assert_int_equal(rc, 0);
}

static void built_free(struct built *b)
{
    plan_free(&b->p);
    plan_ctx_release(&b->ctx);
    state_free(b->st);
    config_free(b->cfg);
}

/* Content of the PUT of `suffix` on node `node`, or NULL. */
static const char *put_content(const struct built *b, size_t node, const char *suffix)
{
    for (size_t i = 0; i < b->p.n; i++) {
        const struct step *s = &b->p.steps[i];
        for (size_t k = 0; s->op == STEP_PUT && k < s->n; k++) {
            const char *path = s->t[k].path;
            size_t lp = strlen(path), ls = strlen(suffix);
            if (s->t[k].node == node && lp >= ls && !strcmp(path + lp - ls, suffix))
                return s->t[k].content;
        }
    }
    return NULL;
}

static const struct step *find_step(const struct built *b, const char *title_part)
{
    for (size_t i = 0; i < b->p.n; i++)
        if (strstr(b->p.steps[i].title, title_part)) return &b->p.steps[i];
    return NULL;
}

static char *read_golden(const char *name)
{
    const char *src = getenv("M3FS_SOURCE_DIR");
    char *path = xstrfmt("%s/tests/golden/plan/%s", src ? src : ".", name);
    struct strbuf sb = STRBUF_INIT;
    if (sb_read_file(&sb, path) < 0) fail_msg("cannot read %s", path);
    free(path);
    return sb_detach(&sb);
}

static const char *NODES3 =
    "nodes:\n"
    "  - {name: a, host: 10.0.0.1, username: root}\n"
    "  - {name: b, host: 10.0.0.2, username: root}\n"
    "  - {name: c, host: 10.0.0.3, username: root}\n"
    "  - {name: d, host: 10.0.0.4, username: root}\n"
    "  - {name: e, host: 10.0.0.5, username: root}\n";

static char *cluster_yaml_mgmtd(const char *net, const char *fdb_nodes, const char *mgmtd_nodes)
{
    return xstrfmt("name: t\nnetworkType: %s\n%sservices:\n"
                   "  fdb: {nodes: [%s]}\n"
                   "  clickhouse: {nodes: [a], password: 'pw\"x-s3cret'}\n"
                   "  monitor: {nodes: [b]}\n"
                   "  mgmtd: {nodes: [%s], stripeSize: 2}\n"
                   "  meta: {nodes: [b, c]}\n"
                   "  storage: {nodes: [a, b, c], diskType: dir, replicationFactor: 2, "
                   "targetNumPerDisk: 2}\n"
                   "  client: {nodes: [c], hostMountpoint: /mnt/x}\n",
                   net, NODES3, fdb_nodes, mgmtd_nodes);
}

static char *cluster_yaml(const char *net, const char *fdb_nodes)
{
    return cluster_yaml_mgmtd(net, fdb_nodes, "a, b");
}

static void test_token(void **state)
{
    (void)state;
    const uint8_t r[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct strbuf sb = STRBUF_INIT;
    token_mint(0, r, &sb);
    assert_string_equal(sb.buf, TOKEN);
    /* zlib.crc32(b"123456789", 0xFFFFFFFF) ^ 0xFFFFFFFF */
    assert_int_equal(token_crc((const uint8_t *)"123456789", 9), 0x2DFD2D88u);
    sb_release(&sb);
}

static void check_addresses(const char *net, const char *want, const char *tcp)
{
    char *y = cluster_yaml(net, "a");
    struct built b;
    build(&b, y, 1);
    assert_string_equal(b.ctx.mgmtd_addrs, want);
    const char *launcher = put_content(&b, 2, "meta_main_launcher.toml");
    assert_non_null(launcher);
    assert_non_null(strstr(launcher, want));
    assert_non_null(strstr(launcher, tcp));
    const char *adm = put_content(&b, 0, "mgmtd/config.d/admin_cli.toml");
    assert_non_null(strstr(adm, want));
    built_free(&b);
    free(y);
}

static void test_mgmtd_addresses(void **state)
{
    (void)state;
    check_addresses("RDMA", "[ \"RDMA://10.0.0.1:8000\", \"RDMA://10.0.0.2:8000\" ]",
                    "force_use_tcp = false");
    check_addresses("IB", "[ \"IPoIB://10.0.0.1:8000\", \"IPoIB://10.0.0.2:8000\" ]",
                    "force_use_tcp = false");
    check_addresses("TCP", "[ \"TCP://10.0.0.1:9000\", \"TCP://10.0.0.2:9000\" ]",
                    "force_use_tcp = true");
}

/* Host names resolve (here through a fake resolver) to the IPv4 address
 * every 3FS and fdb address gets; listenNics and rdmaDevices (a node's own
 * replacing the cluster's) land in every file that takes them. */
static int fake_resolve(const char *name, char out[16], struct strbuf *why)
{
    const char *ip = !strcmp(name, "a.lan") ? "10.0.0.1" : !strcmp(name, "b.lan") ? "10.0.0.2" : NULL;
    if (!ip) {
        sb_adds(why, "unknown");
        return -1;
    }
    strcpy(out, ip);
    return 0;
}

static void test_addresses_and_network_keys(void **state)
{
    (void)state;
    config_set_resolver(fake_resolve);
    struct built b;
    build(&b, "name: t\nnetworkType: RDMA\n"
              "listenNics: [eth0, bond0]\nrdmaDevices: [mlx5_0]\n"
              "nodes:\n"
              "  - {name: a, host: a.lan, username: root}\n"
              "  - {name: b, host: b.lan, username: root, rdmaDevices: [mlx5_1, ens1f1]}\n"
              "services:\n"
              "  fdb: {nodes: [a]}\n  clickhouse: {nodes: [b]}\n  monitor: {nodes: [b]}\n"
              "  mgmtd: {nodes: [a]}\n  meta: {nodes: [b]}\n"
              "  storage: {nodes: [a, b], diskType: dir}\n"
              "  client: {nodes: [b]}\n",
          1);
    config_set_resolver(NULL);
    assert_string_equal(b.ctx.mgmtd_addrs, "[ \"RDMA://10.0.0.1:8000\" ]");
    assert_string_equal(b.ctx.monitor_addr, "10.0.0.2:10000");
    assert_non_null(strstr(b.ctx.fdb_cluster, "@10.0.0.1:4500"));
    assert_non_null(strstr(put_content(&b, 1, "monitor_collector_main.toml"), "host = '10.0.0.2'"));
    /* filter_list in every listener group: RDMA + Core in each main config */
    static const char *const mains[] = { "mgmtd/config.d/mgmtd_main.toml",
                                         "storage/config.d/storage_main.toml" };
    const char *filter = "filter_list = [ \"eth0\", \"bond0\" ]\n";
    for (size_t i = 0; i < ARRAY_SIZE(mains); i++) {
        const char *m = put_content(&b, 0, mains[i]);
        assert_non_null(m);
        const char *second = strstr(m, filter);
        assert_non_null(second);
        assert_non_null(strstr(second + 1, filter));
    }
    assert_non_null(strstr(put_content(&b, 1, "meta_main.toml"), filter));
    assert_non_null(strstr(put_content(&b, 1, "monitor_collector_main.toml"), filter));
    /* device_filter: a's from the cluster, b's its own, in every [ib_devices] */
    const char *dev_a = "device_filter = [ \"mlx5_0\" ]\n";
    const char *dev_b = "device_filter = [ \"mlx5_1\", \"ens1f1\" ]\n";
    assert_non_null(strstr(put_content(&b, 0, "mgmtd_main_launcher.toml"), dev_a));
    assert_non_null(strstr(put_content(&b, 0, "storage_main_launcher.toml"), dev_a));
    assert_non_null(strstr(put_content(&b, 0, "mgmtd/config.d/admin_cli.toml"), dev_a));
    assert_non_null(strstr(put_content(&b, 1, "storage_main_launcher.toml"), dev_b));
    assert_non_null(strstr(put_content(&b, 1, "meta_main_launcher.toml"), dev_b));
    assert_non_null(strstr(put_content(&b, 1, "hf3fs_fuse_main_launcher.toml"), dev_b));
    assert_non_null(strstr(put_content(&b, 1, "client/config.d/admin_cli.toml"), dev_b));
    assert_non_null(strstr(put_content(&b, 1, "monitor_collector_main.toml"), dev_b));
    built_free(&b);
    /* unset: empty lists, 3FS's defaults */
    char *y = cluster_yaml("RDMA", "a");
    build(&b, y, 1);
    assert_non_null(strstr(put_content(&b, 1, "meta_main.toml"), "filter_list = []\n"));
    assert_non_null(strstr(put_content(&b, 1, "meta_main_launcher.toml"), "device_filter = []\n"));
    built_free(&b);
    free(y);
}

static void test_node_ids_and_monitor(void **state)
{
    (void)state;
    char *y = cluster_yaml("RDMA", "a");
    struct built b;
    build(&b, y, 1);
    assert_non_null(strstr(put_content(&b, 0, "mgmtd_main_app.toml"), "node_id = 1\n"));
    assert_non_null(strstr(put_content(&b, 1, "mgmtd_main_app.toml"), "node_id = 2\n"));
    assert_non_null(strstr(put_content(&b, 1, "meta_main_app.toml"), "node_id = 100\n"));
    assert_non_null(strstr(put_content(&b, 2, "meta_main_app.toml"), "node_id = 101\n"));
    assert_non_null(strstr(put_content(&b, 0, "storage_main_app.toml"), "node_id = 10001\n"));
    assert_non_null(strstr(put_content(&b, 2, "storage_main_app.toml"), "node_id = 10003\n"));
    /* one monitor address, ip:port */
    assert_non_null(strstr(put_content(&b, 2, "meta_main.toml"), "remote_ip = '10.0.0.2:10000'"));
    /* IB/RDMA: two listener groups; storage ports 8002/9002 */
    const char *sm = put_content(&b, 0, "storage_main.toml");
    assert_non_null(strstr(sm, "listen_port = 8002"));
    assert_non_null(strstr(sm, "listen_port = 9002"));
    assert_non_null(strstr(sm, "target_paths = [ '/mnt/3fsdata/data0/3fs' ]"));
    assert_non_null(strstr(put_content(&b, 2, "hf3fs_fuse_main_launcher.toml"),
                           "mountpoint = \"/mnt/x\""));
    /* the ClickHouse password is TOML-escaped in the monitor config */
    assert_non_null(strstr(put_content(&b, 1, "monitor_collector_main.toml"),
                           "passwd = \"pw\\\"x-s3cret\""));
    built_free(&b);
    free(y);
}

static void check_redundancy(const char *fdb_nodes, const char *mode, const char *cluster)
{
    char *y = cluster_yaml("RDMA", fdb_nodes);
    struct built b;
    build(&b, y, 1);
    char *title = xstrfmt("configure new %s ssd", mode);
    assert_non_null(find_step(&b, title));
    assert_string_equal(b.ctx.fdb_cluster, cluster);
    assert_non_null(strstr(put_content(&b, 1, "meta/config.d/fdb.cluster"), cluster));
    free(title);
    built_free(&b);
    free(y);
}

static void test_fdb_redundancy(void **state)
{
    (void)state;
    check_redundancy("a", "single", "abcdefghij:0123456789@10.0.0.1:4500");
    check_redundancy("a, b", "single", "abcdefghij:0123456789@10.0.0.1:4500,10.0.0.2:4500");
    check_redundancy("a, b, c", "double",
                     "abcdefghij:0123456789@10.0.0.1:4500,10.0.0.2:4500,10.0.0.3:4500");
    check_redundancy("a, b, c, d", "double",
                     "abcdefghij:0123456789@10.0.0.1:4500,10.0.0.2:4500,10.0.0.3:4500,"
                     "10.0.0.4:4500");
    check_redundancy("a, b, c, d, e", "triple",
                     "abcdefghij:0123456789@10.0.0.1:4500,10.0.0.2:4500,10.0.0.3:4500,"
                     "10.0.0.4:4500,10.0.0.5:4500");
}

/* Every line of the 0600 file at path suffix `suffix` (on any node) is in
 * the dry-run text, with `secret` (as the file writes it) masked; returns
 * how many lines held it. */
static int shown_masked(const struct built *b, const char *out, const char *suffix,
                        const char *secret)
{
    const struct step_target *t = NULL;
    for (size_t i = 0; !t && i < b->p.n; i++)
        for (size_t k = 0; !t && b->p.steps[i].op == STEP_PUT && k < b->p.steps[i].n; k++) {
            const char *path = b->p.steps[i].t[k].path;
            if (strlen(path) >= strlen(suffix) &&
                !strcmp(path + strlen(path) - strlen(suffix), suffix))
                t = &b->p.steps[i].t[k];
        }
    assert_non_null(t);
    assert_int_equal(t->mode, 0600);
    int held = 0;
    for (const char *p = t->content; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        struct strbuf line = STRBUF_INIT;
        sb_adds(&line, "        | ");
        sb_add(&line, p, n);
        sb_addch(&line, '\n');
        if (strstr(line.buf, secret)) held++;
        sb_replace_all(&line, secret, LOG_MASK);
        if (!strstr(out, line.buf)) fail_msg("dry-run lacks the line '%s'", line.buf);
        sb_release(&line);
        p += n + (nl ? 1 : 0);
    }
    return held;
}

/* --dry-run shows every file, secret ones too, with each secret value
 * masked as the file writes it (TOML-escaped in the monitor's config). */
static void test_secrets_masked(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 1);
    struct strbuf out = STRBUF_INIT;
    plan_print(&b.p, b.cfg, &out);
    assert_null(strstr(out.buf, TOKEN));
    assert_null(strstr(out.buf, "pw\"x-s3cret"));
    assert_null(strstr(out.buf, "pw\\\"x"));
    assert_null(strstr(out.buf, "content not shown"));
    /* issue 20: the FUSE client gets its own token, not the admin one; the
     * first mgmtd node has it for user-add */
    const char *ct = b.st->client_token;
    assert_non_null(ct);
    assert_string_not_equal(ct, TOKEN);
    assert_null(strstr(out.buf, ct));
    assert_int_equal(shown_masked(&b, out.buf, "client/config.d/token.txt", ct), 1);
    assert_null(strstr(put_content(&b, 2, "client/config.d/token.txt"), TOKEN));
    assert_int_equal(shown_masked(&b, out.buf, "mgmtd/config.d/client_token.txt", ct), 1);
    assert_int_equal(shown_masked(&b, out.buf, "mgmtd/config.d/token.txt", TOKEN), 1);
    const struct step *cu = find_step(&b, "create the FUSE clients' user");
    assert_non_null(cu);
    assert_non_null(strstr(cu->t[0].cmd, "user-add-client"));
    assert_non_null(strstr(cu->t[0].cmd, "client_token.txt' 100000 m3fs-fuse"));
    assert_non_null(strstr(cu->t[0].skip_if, "user-ok-client"));
    assert_int_equal(shown_masked(&b, out.buf, "clickhouse.env", "pw\"x-s3cret"), 1);
    assert_int_equal(shown_masked(&b, out.buf, "monitor_collector_main.toml", "\"pw\\\"x-s3cret\""), 1);
    assert_non_null(strstr(out.buf, "        | passwd = " LOG_MASK "\n"));
    /* the token never is in a remote command line */
    for (size_t i = 0; i < b.p.n; i++)
        for (size_t k = 0; k < b.p.steps[i].n; k++) {
            const struct step_target *t = &b.p.steps[i].t[k];
            if (t->cmd) assert_null(strstr(t->cmd, TOKEN));
            if (t->cmd) assert_null(strstr(t->cmd, ct));
            if (t->cmd) assert_null(strstr(t->cmd, "pw\"x-s3cret"));
            if (t->skip_if) assert_null(strstr(t->skip_if, TOKEN));
            if (t->content && t->mode & 077) assert_null(strstr(t->content, TOKEN));
            /* F2: nor does the token reach an argv on the node (admin_cli
             * takes it from admin_cli_root.toml; user-add reads it on stdin) */
            for (int w = 0; w < 2; w++) {
                const char *c = w ? t->skip_if : t->cmd;
                if (!c) continue;
                assert_null(strstr(c, "user_info.token"));
                assert_null(strstr(c, "admin_cli.toml \"user-add"));
            }
        }
    /* the token's file: admin_cli_root.toml, 0600, on the mgmtd nodes only */
    for (size_t node = 0; node < 5; node++) {
        const char *root = put_content(&b, node, "mgmtd/config.d/admin_cli_root.toml");
        if (node > 1) {
            assert_null(root);
            continue;
        }
        assert_non_null(root);
        assert_non_null(strstr(root, "[user_info]\ntoken = \"" TOKEN "\"\n"));
    }
    for (size_t i = 0; i < b.p.n; i++)
        for (size_t k = 0; b.p.steps[i].op == STEP_PUT && k < b.p.steps[i].n; k++)
            if (strstr(b.p.steps[i].t[k].path, "admin_cli_root.toml"))
                assert_int_equal(b.p.steps[i].t[k].mode, 0600);
    sb_release(&out);
    built_free(&b);
    free(y);
    /* The default password is not a registered secret (log_add_secret
     * leaves the word 'password' alone), yet the files' value is masked. */
    struct strbuf yd = STRBUF_INIT;
    y = cluster_yaml("TCP", "a");
    sb_adds(&yd, y);
    free(y);
    sb_replace_all(&yd, ", password: 'pw\"x-s3cret'", "");
    y = sb_detach(&yd);
    build(&b, y, 1);
    sb_init(&out, 0);
    plan_print(&b.p, b.cfg, &out);
    assert_int_equal(shown_masked(&b, out.buf, "clickhouse.env", "password"), 1);
    assert_int_equal(shown_masked(&b, out.buf, "monitor_collector_main.toml", "\"password\""), 1);
    assert_null(strstr(out.buf, "CLICKHOUSE_PASSWORD=password"));
    sb_release(&out);
    built_free(&b);
    free(y);
}

/* The 3FS config files m3fs renders, by remote basename (check_config.py
 * picks the schema by it). */
static const char *const TOML_FILES[] = {
    "mgmtd_main.toml",       "mgmtd_main_launcher.toml",     "mgmtd_main_app.toml",
    "meta_main.toml",        "meta_main_launcher.toml",      "meta_main_app.toml",
    "storage_main.toml",     "storage_main_launcher.toml",   "storage_main_app.toml",
    "hf3fs_fuse_main.toml",  "hf3fs_fuse_main_launcher.toml", "hf3fs_fuse_main_app.toml",
    "monitor_collector_main.toml", "admin_cli.toml",
};
#define N_TOML_FILES (sizeof(TOML_FILES) / sizeof(TOML_FILES[0]))

/* Write every .toml the plan of `yaml` PUTs to dir/<node>.<n>/<basename>
 * (a node gets e.g. admin_cli.toml once per service); returns how many, and
 * fails unless each of TOML_FILES was among them. */
static int write_tomls(const char *yaml, const char *dir)
{
    struct built b;
    build(&b, yaml, 1);
    int files = 0, seen[N_TOML_FILES] = { 0 };
    for (size_t i = 0; i < b.p.n; i++)
        for (size_t k = 0; b.p.steps[i].op == STEP_PUT && k < b.p.steps[i].n; k++) {
            const struct step_target *t = &b.p.steps[i].t[k];
            const char *base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path;
            if (!strcmp(base, "admin_cli_root.toml")) base = "admin_cli.toml"; /* its schema */
            size_t lb = strlen(base);
            if (lb < 5 || strcmp(base + lb - 5, ".toml")) continue;
            for (size_t f = 0; f < N_TOML_FILES; f++)
                if (!strcmp(base, TOML_FILES[f])) seen[f]++;
            char *d = xstrfmt("%s/%zu.%d", dir, t->node, files);
            if (mkdir(d, 0755)) fail_msg("mkdir %s failed", d);
            char *f = xstrfmt("%s/%s", d, base);
            FILE *fp = fopen(f, "w");
            if (!fp) fail_msg("cannot write %s", f);
            assert_int_equal(fwrite(t->content, 1, t->len, fp), t->len);
            assert_int_equal(fclose(fp), 0);
            free(f);
            free(d);
            files++;
        }
    for (size_t f = 0; f < N_TOML_FILES; f++)
        if (!seen[f]) fail_msg("the plan wrote no %s", TOML_FILES[f]);
    built_free(&b);
    return files;
}

/* Every rendered .toml parses with python3's tomllib (or tomli before 3.11) and passes the checks
 * the stand-in 3FS programs make when they load it, against the contract's
 * schema of that very file (tests/contract/check_config.py): a key real 3FS
 * would refuse ("Invalid key") fails here, not at a user's first deploy.
 * For each networkType and with three mgmtd. */
static void test_toml_valid(void **state)
{
    (void)state;
    if (system("python3 -c 'import tomllib' 2>/dev/null || python3 -c 'import tomli' "
               "2>/dev/null") != 0)
        TU_SKIP_UNLESS_CI("python3 with tomllib (3.11+) or tomli (python3-tomli) not found: "
                          "TOML schema check skipped");
    const char *nets[] = { "RDMA", "TCP", "IB", "RXE", "ERDMA" };
    char *dir = tu_tmpdir("test_plan");
    assert_non_null(dir);
    int files = 0;
    for (size_t n = 0; n <= 5; n++) {
        char *y = n < 5 ? cluster_yaml(nets[n], "a") : cluster_yaml_mgmtd("RDMA", "a", "a, b, c");
        char *d = xstrfmt("%s/%s", dir, n < 5 ? nets[n] : "mgmtd3");
        assert_int_equal(mkdir(d, 0755), 0);
        files += write_tomls(y, d);
        free(d);
        free(y);
    }
    char *checker = tu_source_path("tests/contract/check_config.py");
    struct strbuf cmd = STRBUF_INIT;
    sb_adds(&cmd, "python3 ");
    sh_quote(&cmd, checker);
    sb_adds(&cmd, " --quiet ");
    sh_quote(&cmd, dir);
    sb_adds(&cmd, "/*/*/*.toml"); /* prints each file that fails, and why */
    int rc = system(cmd.buf);
    sb_release(&cmd);
    free(checker);
    assert_int_equal(tu_rmtree(dir), 0);
    free(dir);
    assert_int_equal(rc, 0);
    assert_true(files > 6 * (int)N_TOML_FILES);
}

static void test_state_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_plan_state.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *cfgp = xstrfmt("%s/cluster.yml", dir);
    char *path = state_path_for(cfgp, "c1");
    char *want = xstrfmt("%s/.m3fs/c1.state.json", dir);
    assert_string_equal(path, want);
    struct strbuf err = STRBUF_INIT;
    struct m3fs_state *st = state_load(path, &err);
    assert_non_null(st);
    assert_false(st->existed);
    assert_int_equal(strlen(st->token), 24);
    assert_int_equal(strlen(st->fdb_id), 21);
    assert_int_equal(st->fdb_id[10], ':');
    state_set_done(st, "init-cluster", "1");
    assert_int_equal(state_save(st, &err), 0);
    struct stat sbuf;
    assert_int_equal(stat(path, &sbuf), 0);
    assert_int_equal(sbuf.st_mode & 0777, 0600);
    struct m3fs_state *st2 = state_load(path, &err);
    assert_non_null(st2);
    assert_true(st2->existed);
    assert_string_equal(st2->token, st->token);
    assert_string_equal(st2->fdb_id, st->fdb_id);
    assert_string_equal(state_get_done(st2, "init-cluster"), "1");
    assert_null(state_get_done(st2, "user-add"));
    /* a broken file is an error naming it, not a fresh cluster */
    FILE *f = fopen(path, "w");
    fputs("{not json", f);
    fclose(f);
    assert_null(state_load(path, &err));
    assert_non_null(strstr(err.buf, path));
    state_free(st);
    state_free(st2);
    char *rm = xstrfmt("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    free(rm), free(cfgp), free(path), free(want);
    sb_release(&err);
}

/* Found by fuzz_state: a state file edited by hand may repeat a key.
 * Readers take the first item, so what a run records must be the only item
 * of its key afterwards, else a run-once step done now reads as not done. */
static void test_state_repeated_keys(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_plan_state.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xstrfmt("%s/s.json", dir);
    static const char text[] =
        "{\"fdb_cluster_id\":\"a:b\",\"token\":\"tok\",\"done\":1,\"done\":{},"
        "\"started\":[],\"started\":{\"user-add\":\"x\",\"user-add\":\"y\"}}";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct strbuf err = STRBUF_INIT;
    struct m3fs_state *st = state_load(path, &err);
    assert_non_null(st);
    state_set_started(st, "init-cluster");
    assert_true(state_started(st, "init-cluster"));
    state_set_done(st, "init-cluster", "1");
    assert_string_equal(state_get_done(st, "init-cluster"), "1");
    assert_false(state_started(st, "init-cluster"));
    state_set_done(st, "init-cluster", "2"); /* again: still one item */
    assert_string_equal(state_get_done(st, "init-cluster"), "2");
    assert_int_equal(state_save(st, &err), 0);
    struct m3fs_state *st2 = state_load(path, &err);
    assert_non_null(st2);
    assert_string_equal(state_get_done(st2, "init-cluster"), "2");
    state_clear_started(st2, "user-add"); /* every item of the key goes */
    assert_false(state_started(st2, "user-add"));
    state_free(st);
    state_free(st2);
    char *rm = xstrfmt("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    free(rm), free(path);
    sb_release(&err);
    log_clear_secrets();
}

/* Section 5: the .m3fs directory and the state file are m3fs's own: a
 * symlink or a directory others may write is refused, a planted temporary
 * file is not written through.  F6/F7: started marks, the minted ClickHouse
 * password, the lock. */
static void test_state_guarded(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_plan_guard.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *cfgp = xstrfmt("%s/cluster.yml", dir), *mdir = xstrfmt("%s/.m3fs", dir);
    char *path = state_path_for(cfgp, "c1"), *other = xstrfmt("%s/elsewhere", dir);
    struct strbuf err = STRBUF_INIT;
    struct m3fs_state *st = state_load(path, &err);
    assert_non_null(st);
    assert_non_null(st->ch_password); /* F7: minted, 24 random characters */
    assert_int_equal(strlen(st->ch_password), 24);
    /* .m3fs as a symlink to a directory elsewhere: refused */
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(symlink(other, mdir), 0);
    assert_int_equal(state_save(st, &err), -1);
    assert_non_null(strstr(err.buf, "not a directory"));
    assert_int_equal(unlink(mdir), 0);
    /* writable by others: refused */
    sb_reset(&err);
    assert_int_equal(mkdir(mdir, 0777), 0);
    assert_int_equal(chmod(mdir, 0777), 0);
    assert_int_equal(state_save(st, &err), -1);
    assert_non_null(strstr(err.buf, "writable by others"));
    assert_int_equal(chmod(mdir, 0700), 0);
    /* a planted temporary file (a symlink to a victim) is not written through */
    char *victim = xstrfmt("%s/victim", other), *tmp = xstrfmt("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(victim, "w");
    fputs("victim\n", f);
    fclose(f);
    assert_int_equal(symlink(victim, tmp), 0);
    state_set_started(st, "init-cluster");
    assert_int_equal(state_save(st, &err), 0);
    struct strbuf v = STRBUF_INIT;
    assert_int_equal(sb_read_file(&v, victim), 0);
    assert_string_equal(v.buf, "victim\n");
    /* started marks and the password survive a reload; done clears started */
    struct m3fs_state *st2 = state_load(path, &err);
    assert_non_null(st2);
    assert_true(state_started(st2, "init-cluster"));
    assert_string_equal(st2->ch_password, st->ch_password);
    state_set_done(st2, "init-cluster", "1");
    assert_false(state_started(st2, "init-cluster"));
    assert_int_equal(state_unchanged(st, &err), 0);
    /* a state file that is a symlink is not read */
    assert_int_equal(rename(path, victim), 0);
    assert_int_equal(symlink(victim, path), 0);
    sb_reset(&err);
    assert_null(state_load(path, &err));
    assert_non_null(strstr(err.buf, "symlink"));
    assert_int_equal(unlink(path), 0);
    /* the lock: a second holder is refused with the first one's pid,
     * command and host */
    int fd = cluster_lock(cfgp, "c1", "m3fs cluster create", &err);
    assert_true(fd >= 0);
    pid_t kid = fork();
    if (kid == 0) {
        struct strbuf e = STRBUF_INIT;
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        int fd2 = cluster_lock(cfgp, "c1", "m3fs cluster stop", &e);
        char *want = xstrfmt("another m3fs (pid %ld) holds its lock %s/c1.lock (`m3fs cluster "
                             "create` on host %s); nothing was changed", (long)getppid(), mdir,
                             host);
        if (fd2 < 0 && strstr(e.buf, want)) _exit(0);
        fprintf(stderr, "want: %s\ngot: %s\n", want, e.buf);
        _exit(1);
    }
    int ws = 0;
    assert_int_equal(waitpid(kid, &ws, 0), kid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    cluster_unlock(fd);
    fd = cluster_lock(cfgp, "c1", "m3fs cluster destroy", &err);
    assert_true(fd >= 0);
    cluster_unlock(fd);
    state_free(st), state_free(st2);
    sb_release(&v), sb_release(&err);
    char *rm = xstrfmt("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    free(rm), free(cfgp), free(mdir), free(path), free(other), free(victim), free(tmp);
}

/* F7: with no password in cluster.yml, ClickHouse and the monitor get the
 * state's minted one; a password in cluster.yml wins. */
static void test_clickhouse_password(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct strbuf yd = STRBUF_INIT;
    sb_adds(&yd, y);
    sb_replace_all(&yd, ", password: 'pw\"x-s3cret'", "");
    struct built b;
    memset(&b, 0, sizeof(b));
    b.cfg = tu_load_yaml(yd.buf);
    b.st = state_new_fixed("/work/.m3fs/test.state.json", "abcdefghij:0123456789", TOKEN);
    b.st->ch_password = xstrdup("minted0123456789minted01");
    assert_int_equal(plan_ctx_init(&b.ctx, b.cfg, b.st, 1), 0);
    assert_int_equal(plan_build_create(&b.ctx, &b.p), 0);
    assert_non_null(strstr(put_content(&b, 0, "clickhouse.env"),
                           "CLICKHOUSE_PASSWORD=minted0123456789minted01"));
    assert_non_null(strstr(put_content(&b, 1, "monitor_collector_main.toml"),
                           "passwd = \"minted0123456789minted01\""));
    built_free(&b);
    build(&b, y, 1); /* cluster.yml's own password */
    assert_null(strstr(put_content(&b, 0, "clickhouse.env"), "minted"));
    built_free(&b);
    sb_release(&yd);
    free(y);
}

static void test_destroy_order(void **state)
{
    (void)state;
    char *y = cluster_yaml("RDMA", "a");
    struct built b;
    build(&b, y, 0);
    const char *order[] = { "client:", "storage:", "meta:", "mgmtd:", "monitor:", "clickhouse:",
                            "fdb:" };
    size_t at = 0;
    for (size_t i = 0; i < b.p.n && at < ARRAY_SIZE(order); i++)
        if (!strncmp(b.p.steps[i].title, order[at], strlen(order[at]))) at++;
        else if (at + 1 < ARRAY_SIZE(order) &&
                 !strncmp(b.p.steps[i].title, order[at + 1], strlen(order[at + 1])))
            at += 2;
    assert_int_equal(at, ARRAY_SIZE(order));
    assert_null(find_step(&b, "remove images")); /* only with --all */
    built_free(&b);
    free(y);
}

static size_t step_index(const struct built *b, const char *title_part)
{
    const struct step *s = find_step(b, title_part);
    assert_non_null(s);
    return (size_t)(s - b->p.steps);
}

static int waits_for(const struct built *b, size_t i, size_t j)
{
    const struct step *s = &b->p.steps[i];
    for (size_t k = 0; k < s->n_after; k++)
        if (s->after[k] == j) return 1;
    return 0;
}

/* create: lanes per service; files first; cross-service waits only where
 * 3FS needs them; every wait points backwards (no cycle). */
static void test_create_links(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 1);
    for (size_t i = 0; i < b.p.n; i++) {
        const struct step *s = &b.p.steps[i];
        for (size_t k = 0; k < s->n_after; k++) assert_true(s->after[k] < i);
        if (s->op == STEP_PUT)  /* files wait for nothing outside their lane but the mark */
            for (size_t k = 0; k < s->n_after; k++)
                if (s->after[k]) assert_string_equal(b.p.steps[s->after[k]].service, s->service);
        if (i) assert_true(s->n_after > 0); /* F3: nothing before the workDir's marker */
    }
    assert_non_null(strstr(b.p.steps[0].title, "node: mark the workDir"));
    assert_non_null(strstr(b.p.steps[0].t[0].cmd, "m3fs-node mark '/opt/3fs' 't'"));
    size_t fdb = step_index(&b, "fdb: start containers");
    assert_int_equal(b.p.steps[fdb].n_after, 1);
    assert_true(waits_for(&b, fdb, 0));
    assert_true(waits_for(&b, step_index(&b, "clickhouse: write config"), 0));
    size_t init = step_index(&b, "init-cluster");
    assert_true(waits_for(&b, init, step_index(&b, "fdb: wait until the database")));
    assert_false(waits_for(&b, init, step_index(&b, "monitor: start the container")));
    size_t primary = step_index(&b, "wait for the primary mgmtd");
    size_t mgmtd_cfg = step_index(&b, "set-config --type MGMTD");
    assert_true(waits_for(&b, mgmtd_cfg, primary));
    assert_true(waits_for(&b, step_index(&b, "set-config --type META"), mgmtd_cfg));
    assert_true(waits_for(&b, step_index(&b, "set-config --type STORAGE"), mgmtd_cfg));
    size_t hb = step_index(&b, "every meta and storage node is HEARTBEAT_CONNECTED");
    assert_true(waits_for(&b, hb, step_index(&b, "meta: start containers")));
    assert_true(waits_for(&b, hb, step_index(&b, "storage: start containers")));
    assert_true(waits_for(&b, step_index(&b, "set-config --type FUSE"),
                          step_index(&b, "SERVING-UPTODATE")));
    built_free(&b);
    free(y);
}

/* F3: a workDir that is a system directory is refused when planning too
 * (config validate refuses it first: test_config; here the model is
 * changed after loading). */
static void check_workdir_refused(const char *wd, int create, int all)
{
    char *y = cluster_yaml("TCP", "a");
    struct strbuf yd = STRBUF_INIT;
    sb_adds(&yd, y);
    struct m3fs_config *cfg = tu_load_yaml(yd.buf);
    free(cfg->work_dir);
    cfg->work_dir = xstrdup(wd);
    struct m3fs_state *st = state_new_fixed("/x/.m3fs/t.state.json", "abcdefghij:0123456789",
                                            TOKEN);
    struct plan_ctx ctx = { .destroy_all = all };
    struct plan p = { 0 };
    int rc = plan_ctx_init(&ctx, cfg, st, create);
    if (!rc) rc = create ? plan_build_create(&ctx, &p) : plan_build_destroy(&ctx, &p);
    if (rc != -1 || !strstr(ctx.err.buf, "system directory"))
        fail_msg("workDir %s (create %d, all %d) not refused: %s", wd, create, all, ctx.err.buf);
    plan_free(&p);
    plan_ctx_release(&ctx);
    state_free(st);
    config_free(cfg);
    sb_release(&yd);
    free(y);
}

static void test_workdir_guard(void **state)
{
    (void)state;
    const char *bad[] = { "/", "/var/lib", "/var/lib/", "//var//lib", "/usr", "/etc", "/home",
                          "/root", "/boot" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        for (int mode = 0; mode < 3; mode++) check_workdir_refused(bad[i], mode == 0, mode == 2);
    /* destroy checks the marker on every node before anything else */
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 0);
    assert_non_null(strstr(b.p.steps[0].title, "node: check that the workDir is this cluster's"));
    assert_int_equal(b.p.steps[0].n, 5);
    assert_non_null(strstr(b.p.steps[0].t[0].cmd, "m3fs-node owned '/opt/3fs' 't'"));
    assert_string_equal(b.p.steps[0].t[0].skip_if, b.p.steps[0].t[0].cmd); /* a check */
    built_free(&b);
    free(y);
}

/* destroy: strictly one step after another. */
static void test_destroy_links(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 0);
    for (size_t i = 1; i < b.p.n; i++) {
        assert_int_equal(b.p.steps[i].n_after, 1);
        assert_int_equal(b.p.steps[i].after[0], i - 1);
    }
    built_free(&b);
    free(y);
}

/* Every PUT target's content whose path ends in suffix (node any), joined. */
static void contents(const struct built *b, const char *suffix, struct strbuf *out)
{
    for (size_t i = 0; i < b->p.n; i++)
        for (size_t k = 0; b->p.steps[i].op == STEP_PUT && k < b->p.steps[i].n; k++) {
            const char *path = b->p.steps[i].t[k].path;
            size_t lp = strlen(path), ls = strlen(suffix);
            if (lp >= ls && !strcmp(path + lp - ls, suffix)) sb_adds(out, b->p.steps[i].t[k].content);
        }
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* What real 3FS needs from the rendered files (contract B1, B4, B11, the
 * event trace): every ib_devices section allows no RDMA device in TCP mode
 * only (the monitor's [common.ib_devices] too); every log goes to the
 * mounted /var/log/3fs (monitor, admin_cli included); mgmtd accepts
 * heartbeats from unregistered nodes; meta's event trace is kept there. */
static void test_real_3fs_settings(void **state)
{
    (void)state;
    const char *nets[] = { "TCP", "RDMA" };
    for (size_t n = 0; n < 2; n++) {
        char *y = cluster_yaml(nets[n], "a");
        struct built b;
        build(&b, y, 1);
        struct strbuf all = STRBUF_INIT, f = STRBUF_INIT;
        contents(&b, ".toml", &all);
        int sections = count_of(all.buf, "[ib_devices]\n") + count_of(all.buf, "[common.ib_devices]\n");
        assert_true(sections >= 14); /* launchers, admin_cli per service, monitor */
        assert_int_equal(count_of(all.buf, n ? "allow_no_usable_devices = false"
                                             : "allow_no_usable_devices = true"), sections);
        contents(&b, "monitor_collector_main.toml", &f);
        assert_non_null(strstr(f.buf, n ? "[common.ib_devices]\nallow_no_usable_devices = false"
                                        : "[common.ib_devices]\nallow_no_usable_devices = true"));
        assert_non_null(strstr(f.buf, "file_path = '/var/log/3fs/monitor_collector_main.log'"));
        assert_int_equal(count_of(all.buf, "file_path = '"),
                         count_of(all.buf, "file_path = '/var/log/3fs/"));
        sb_reset(&f);
        contents(&b, "admin_cli.toml", &f);
        assert_int_equal(count_of(f.buf, "log = 'INFO:normal; normal=file:path=/var/log/3fs/cli.log,"),
                         count_of(f.buf, "cluster_id ="));
        sb_reset(&f);
        contents(&b, "mgmtd_main.toml", &f);
        assert_non_null(strstr(f.buf, "[server.service]\n"));
        assert_non_null(strstr(f.buf, "\nallow_heartbeat_from_unregistered = true\n"));
        sb_reset(&f);
        contents(&b, "meta_main.toml", &f);
        assert_non_null(strstr(f.buf, "[server.meta.event_trace_log]\n"
                                      "trace_file_dir = '/var/log/3fs/event-trace'\n"));
        /* every 3FS container (monitor included) mounts its log directory */
        for (size_t i = 0; i < b.p.n; i++)
            for (size_t k = 0; k < b.p.steps[i].n; k++) {
                const char *cmd = b.p.steps[i].t[k].cmd;
                if (cmd && strstr(cmd, "docker run --detach") && strstr(cmd, "/opt/3fs/bin/"))
                    assert_non_null(strstr(cmd, "/log:/var/log/3fs'"));
            }
        sb_release(&all), sb_release(&f);
        built_free(&b);
        free(y);
    }
}

/* B1 on an existing cluster: mgmtd's main config is uploaded again when it
 * changed (set-config --type MGMTD, hot-updated), once per content; a new
 * cluster's init-cluster stored that content already and records it. */
static void test_mgmtd_config_upload(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 1);
    const struct step *up = find_step(&b, "set-config --type MGMTD");
    const struct step *init = find_step(&b, "init-cluster");
    assert_non_null(up);
    assert_non_null(init);
    assert_true(up > find_step(&b, "wait for the primary mgmtd"));
    assert_non_null(strstr(up->t[0].cmd, "'set-config --type MGMTD --file "
                                         "/opt/3fs/etc/mgmtd_main.toml'"));
    const char *main = put_content(&b, 0, "mgmtd/config.d/mgmtd_main.toml");
    assert_non_null(main);
    char hex[SHA256_HEX_LEN + 1];
    sha256_buf_hex(main, strlen(main), hex);
    assert_string_equal(up->state_key, "set-config MGMTD");
    assert_string_equal(up->state_val, hex);
    assert_string_equal(init->also_key, "set-config MGMTD");
    assert_string_equal(init->also_val, hex);
    built_free(&b);
    free(y);
}

/* B13: storage is stopped with SIGTERM and 5 minutes before its container
 * is replaced or removed; the others get docker stop's own grace. */
static void test_storage_graceful_stop(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    for (int create = 1; create >= 0; create--) {
        struct built b;
        build(&b, y, create);
        int storage_stops = 0;
        for (size_t i = 0; i < b.p.n; i++)
            for (size_t k = 0; k < b.p.steps[i].n; k++) {
                const char *cmd = b.p.steps[i].t[k].cmd;
                if (!cmd) continue;
                /* every removal or replacement of a storage container
                 * (templates/m3fs-ctr.sh) gives it 300 s */
#define RUN_OF(ctr) "m3fs-ctr run '" PLAN_DONE_MARK "' '" ctr "' "
                const char *run = strstr(cmd, RUN_OF("3fs-storage"));
                const char *rm = strstr(cmd, "m3fs-ctr remove '3fs-storage'");
                if (rm) assert_non_null(strstr(rm, "'3fs-storage' 't' 300"));
                if (run) assert_non_null(strstr(run, " 300 '"));
                if (rm || run) {
                    assert_true(b.p.steps[i].timeout_ms > 300000);
                    storage_stops++;
                }
                const char *rm_meta = strstr(cmd, "m3fs-ctr remove '3fs-meta' 't'");
                if (rm_meta) /* no STOP_S argument: docker stop's own grace */
                    assert_true(strncmp(rm_meta + strlen("m3fs-ctr remove '3fs-meta' 't'"), " 3",
                                        2));
                const char *run_meta = strstr(cmd, RUN_OF("3fs-meta"));
                if (run_meta) assert_non_null(strstr(run_meta, "'' '"));
#undef RUN_OF
            }
        assert_int_equal(storage_stops, create ? 3 : 6); /* replace; destroy: both steps */
        built_free(&b);
    }
    free(y);
}

/* The heartbeat wait: one check on the first mgmtd node for every meta and
 * storage id (guarding the 3FS containers there), a watch on each other
 * meta/storage node; lasting evidence of refused heartbeats stops it; its
 * hints name the B1 setting and the B5 config check. */
static void test_heartbeat_wait(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a");
    struct built b;
    build(&b, y, 1);
    const struct step *s = find_step(&b, "HEARTBEAT_CONNECTED");
    assert_non_null(s);
    assert_int_equal(s->op, STEP_WAIT);
    assert_int_equal(s->n, 3);
    assert_int_equal(s->t[0].node, 0);
    assert_false(s->t[0].watch);
    assert_non_null(strstr(s->t[0].cmd, "m3fs-heartbeat check '3fs-mgmtd' '100 101 10001 10002 10003'"));
    assert_non_null(strstr(s->t[0].cmd, "'storage on a' '/opt/3fs/storage/log' 'storage_main'"));
    assert_null(strstr(s->t[0].cmd, "'3fs-meta'")); /* a runs no meta */
    assert_non_null(strstr(s->t[0].cmd, "keeps restarting"));
    for (size_t k = 1; k < 3; k++) {
        assert_true(s->t[k].watch);
        assert_int_equal(s->t[k].node, k);
        assert_non_null(strstr(s->t[k].cmd, "m3fs-heartbeat watch 'meta on "));
        assert_non_null(strstr(s->t[k].cmd, " m3fs-wait then 'm3fs: give up: ' 4 "));
        assert_non_null(strstr(s->t[k].cmd, "'3fs-storage' sh -c ")); /* the guard, then the watch */
        assert_null(strstr(s->t[k].cmd, "\n#")); /* the script's comments stay home */
    }
    assert_true(s->suspect_ms >= 30000 && s->suspect_ms < s->timeout_ms);
    assert_true(sv_contains(&s->hint_match, "not registered"));
    assert_true(sv_contains(&s->hint_match, "keeps restarting"));
    assert_non_null(strstr(s->hint_text.v[0], "allow_heartbeat_from_unregistered = true"));
    built_free(&b);
    free(y);
}

/* --- the runner's watches and lasting evidence, on this machine --------- */

static struct m3fs_node run_nodes[2];

/* Run plan p on two "nodes" that are this machine; 0 or -1, err set. */
/* Run p on two local nodes with state st (saved where its path says). */
static int run_local_st(struct plan *p, struct m3fs_state *st, struct strbuf *err)
{
    for (size_t i = 0; i < 2; i++) {
        memset(&run_nodes[i], 0, sizeof(run_nodes[i]));
        run_nodes[i].name = i ? "n1" : "n0";
        run_nodes[i].host = "127.0.0.1";
        run_nodes[i].port = 1;
        run_nodes[i].username = "root";
    }
    struct remote_opts o = { .allow_local = 1 };
    struct remote_ctx *rc = remote_ctx_new(run_nodes, 2, &o);
    struct run_stats stats;
    int r = plan_run(p, st, rc, 8, &stats, err);
    remote_ctx_free(rc);
    return r;
}

static int run_local(struct plan *p, struct strbuf *err, double *secs)
{
    struct m3fs_state *st = state_new_fixed("/nonexistent/x.json", "abcdefghij:0123456789", TOKEN);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = run_local_st(p, st, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    state_free(st);
    return r;
}

static struct step *wait_step(struct plan *p, const char *check, const char *watch)
{
    memset(p, 0, sizeof(*p));
    struct step *s = plan_add_step(p, "t", STEP_WAIT, "wait");
    s->timeout_ms = 60000;
    s->interval_ms = 200;
    s->wait_for = xstrdup("the test");
    step_add_run(s, 0, check, NULL);
    step_add_watch(s, 1, watch);
    return s;
}

static void test_run_watch_and_suspect(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* local runs go through sudo otherwise */
    char dir[] = "/tmp/test_plan_run.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct plan p;
    struct strbuf err = STRBUF_INIT;
    double secs;
    /* a watch that gives up stops the wait at once, with its reason */
    wait_step(&p, "false", "echo '" PLAN_GIVE_UP_MARK "the watch saw a crash loop'");
    assert_int_equal(run_local(&p, &err, &secs), -1);
    assert_non_null(strstr(err.buf, "the watch saw a crash loop"));
    assert_true(secs < 10);
    plan_free(&p);
    /* evidence that lasts suspect_ms stops it, with the hint that matches */
    sb_reset(&err);
    struct step *s = wait_step(&p, "echo '" PLAN_SUSPECT_MARK "node 7 not registered'; false", "true");
    s->suspect_ms = 1000;
    step_add_hint(s, "not registered", "register it");
    step_add_hint(s, "never printed", "not this one");
    assert_int_equal(run_local(&p, &err, &secs), -1);
    assert_non_null(strstr(err.buf, "node 7 not registered"));
    assert_non_null(strstr(err.buf, "hint: register it"));
    assert_null(strstr(err.buf, "not this one"));
    assert_true(secs >= 1 && secs < 10);
    plan_free(&p);
    /* evidence that does not last does not stop it; a watch that saw
     * nothing ends when the check succeeds */
    sb_reset(&err);
    char *check = xstrfmt("if test -e %s/ok; then exit 0; fi; n=$(ls %s | wc -l); touch %s/$n; "
                          "if test $n -ge 3; then touch %s/ok; else echo '" PLAN_SUSPECT_MARK
                          "old line'; fi; false", dir, dir, dir, dir);
    s = wait_step(&p, check, "echo quiet; false");
    s->suspect_ms = 60000;
    assert_int_equal(run_local(&p, &err, &secs), 0);
    assert_true(secs < 20);
    plan_free(&p);
    free(check);
    sb_release(&err);
    char *rm = xstrfmt("rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
    free(rm);
}

/* A RUN target's skip_if decides on the node (templates/m3fs-step.sh): the
 * command runs, quotes intact, until the check passes, then never. */
static void test_run_skip_if(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* local runs go through sudo otherwise */
    char dir[] = "/tmp/test_plan_skip.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *skip_if = xstrfmt("test -e %s/done", dir);
    char *cmd = xstrfmt("echo \"it's $((1 + 1))\" >> %s/ran", dir);
    char *ran = xstrfmt("%s/ran", dir), *done = xstrfmt("%s/done", dir);
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    double secs;
    for (int round = 0; round < 2; round++) {
        struct plan p = { 0 };
        step_add_run(plan_add_step(&p, "t", STEP_RUN, "run"), 0, cmd, skip_if);
        assert_int_equal(run_local(&p, &err, &secs), 0);
        plan_free(&p);
        if (!round) assert_int_equal(close(open(done, O_CREAT | O_WRONLY, 0600)), 0);
    }
    assert_int_equal(sb_read_file(&out, ran), 0);
    assert_string_equal(out.buf, "it's 2\n"); /* once: the second round was skipped */
    unlink(ran), unlink(done), rmdir(dir);
    free(skip_if), free(cmd), free(ran), free(done);
    sb_release(&err), sb_release(&out);
}

/* A step whose output has its fresh_mark (fdb's "Database created") makes
 * the state file's records of the one-time steps after it void: they run
 * again.  Without the mark ("already exists") they stay skipped. */
static void test_run_fresh_forgets(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* local runs go through sudo otherwise */
    char dir[] = "/tmp/test_plan_fresh.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *ran = xstrfmt("%s/ran", dir), *sdir = xstrfmt("%s/.m3fs", dir);
    char *spath = xstrfmt("%s/x.state.json", sdir), *once = xstrfmt("echo once >> %s", ran);
    static const char *const says[] = { "echo 'Database already exists'",
                                        "echo x; echo 'Database created'" };
    static const char *const want[] = { "", "once\n" };
    for (int k = 0; k < 2; k++) {
        struct plan p = { 0 };
        struct step *a = plan_add_step(&p, "fdb", STEP_RUN, "configure");
        step_add_run(a, 0, says[k], NULL);
        a->fresh_mark = "Database created";
        struct step *b = plan_add_step(&p, "mgmtd", STEP_RUN, "init");
        step_add_run(b, 0, once, NULL);
        step_set_state(b, "init-cluster", "1");
        struct step *c = plan_add_step(&p, "x", STEP_RUN, "unrelated later step, not once");
        step_add_run(c, 1, "true", NULL);
        struct m3fs_state *st = state_new_fixed(spath, "abcdefghij:0123456789", TOKEN);
        state_set_done(st, "init-cluster", "1");
        state_set_done(st, "elsewhere", "1"); /* no step of this plan: kept */
        struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
        assert_int_equal(run_local_st(&p, st, &err), 0);
        assert_string_equal(state_get_done(st, "init-cluster"), "1"); /* ran: recorded anew */
        assert_string_equal(state_get_done(st, "elsewhere"), "1");
        sb_read_file(&out, ran);
        assert_string_equal(out.buf ? out.buf : "", want[k]);
        unlink(ran), unlink(spath), rmdir(sdir);
        state_free(st);
        plan_free(&p);
        sb_release(&err), sb_release(&out);
    }
    rmdir(dir);
    free(ran), free(once), free(sdir), free(spath);
}

/* --- CALL steps: C code per node, nodes chosen when the step starts ---- */

struct call_facts {
    int seen[2];     /* set by the first step's on_node */
    int ran[4][2];   /* step k ran on node i */
    int local[4];    /* step k's local part ran */
};

static int call_takes_all(void *arg, size_t node)
{
    (void)arg, (void)node;
    return 1;
}

static int call_takes_seen(void *arg, size_t node)
{
    return ((struct call_facts *)arg)->seen[node];
}

static int call_takes_none(void *arg, size_t node)
{
    (void)arg, (void)node;
    return 0;
}

static int call_local(void *arg, struct strbuf *err)
{
    (void)err;
    struct call_facts *f = arg;
    for (int k = 0; k < 4; k++)
        if (!f->local[k]) return f->local[k] = 1, 0;
    return 0;
}

/* Step 0: learns that only node 1 has something to do. */
static int call_learn(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    (void)rs, (void)err;
    struct call_facts *f = arg;
    f->ran[0][node] = 1;
    f->seen[node] = node == 1;
    return 0;
}

static int call_act(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    (void)rs, (void)err;
    ((struct call_facts *)arg)->ran[1][node] = 1;
    return 0;
}

static int call_fail(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    (void)rs;
    ((struct call_facts *)arg)->ran[2][node] = 1;
    if (node == 1) sb_adds(err, "the disk is on fire");
    return node == 1;
}

static void add_call(struct plan *p, const char *title, int (*takes)(void *, size_t),
                     remote_step_fn fn, struct call_facts *f)
{
    struct step_call c = { .takes_part = takes, .local = call_local, .on_node = fn, .arg = f,
                           .only_if = "the test says so", .local_what = "count" };
    struct step *s = plan_add_call(p, "c", title, &c);
    step_add_call(s, 0, "do the thing");
    step_add_call(s, 1, "do the thing");
}

static void test_run_call(void **state)
{
    (void)state;
    struct call_facts f = { 0 };
    struct plan p = { 0 };
    add_call(&p, "learn", call_takes_all, call_learn, &f);
    add_call(&p, "idle", call_takes_none, call_act, &f);
    add_call(&p, "act", call_takes_seen, call_act, &f);
    add_call(&p, "fail", call_takes_all, call_fail, &f);
    add_call(&p, "never", call_takes_all, call_act, &f);
    struct strbuf out = STRBUF_INIT;
    struct m3fs_config cfg = { .nodes = run_nodes, .n_nodes = 2 };
    run_nodes[0].name = "n0", run_nodes[1].name = "n1";
    run_nodes[0].host = run_nodes[1].host = "127.0.0.1";
    plan_print(&p, &cfg, &out);
    assert_non_null(strstr(out.buf, "[3] c: act\n    call on 2 nodes, only where the test says "
                                    "so; after 2\n  here, before the nodes:\n      count\n"
                                    "  n0 (127.0.0.1):\n      call: do the thing\n"));
    sb_release(&out);
    if (geteuid() != 0) { /* local runs go through sudo otherwise */
        plan_free(&p);
        skip();
    }
    struct strbuf err = STRBUF_INIT;
    double secs;
    assert_int_equal(run_local(&p, &err, &secs), -1);
    /* the second step's nodes were chosen from what the first one learned */
    assert_true(f.ran[0][0] && f.ran[0][1]);
    assert_true(!f.ran[1][0] && f.ran[1][1]);
    /* a step no node takes part in runs nothing, not even its local part:
     * learn, act and fail ran theirs, "never" did not start */
    assert_true(f.local[0] && f.local[1] && f.local[2] && !f.local[3]);
    assert_true(f.ran[2][0] && f.ran[2][1]);
    assert_non_null(strstr(err.buf, "step 4/5 'c: fail' failed on 1 of 2 nodes:\n  n1: the disk "
                                    "is on fire"));
    assert_null(strstr(err.buf, "never"));
    sb_release(&err);
    plan_free(&p);
}

static void check_golden(const char *name)
{
    char *yml = xstrfmt("%s.yml", name), *txt = xstrfmt("%s.txt", name);
    char *yaml = read_golden(yml);
    struct built b;
    build(&b, yaml, 1);
    struct strbuf out = STRBUF_INIT;
    plan_print(&b.p, b.cfg, &out);
    char *rel = xstrfmt("tests/golden/plan/%s", txt);
    tu_check_golden(rel, out.buf, out.len);
    free(rel), free(yaml), free(yml), free(txt);
    sb_release(&out);
    built_free(&b);
}

/* issue 20 F5: each node's disk prepare gets --consent for its own
 * consented disks only (entries "NODE:DEV"); a node with none gets none,
 * and the check and clear commands never carry consent. */
static void test_disk_consent(void **state)
{
    (void)state;
    char *y = cluster_yaml("TCP", "a"), *at = strstr(y, "diskType: dir");
    assert_non_null(at);
    memcpy(at, "diskType: nvm", 13); /* "dir" -> "nvme" needs one more byte */
    char *y2 = xstrfmt("%.*se%s", (int)(at + 13 - y), y, at + 13);
    struct strvec consent = STRVEC_INIT;
    sv_push(&consent, "a:/dev/nvme1n1");
    sv_push(&consent, "b:/dev/nvme0n1");
    sv_push(&consent, "a:/dev/nvme2n1");
    sv_push(&consent, "ab:/dev/nvme7n1"); /* not node a's */
    struct built b;
    memset(&b, 0, sizeof(b));
    b.cfg = tu_load_yaml(y2);
    b.st = state_new_fixed("/work/.m3fs/test.state.json", "abcdefghij:0123456789", TOKEN);
    b.ctx.disk_consent = &consent;
    assert_int_equal(plan_ctx_init(&b.ctx, b.cfg, b.st, 1), 0);
    assert_int_equal(plan_build_create(&b.ctx, &b.p), 0);
    const struct step *s = find_step(&b, "prepare 1 data disks per node (nvme)");
    assert_non_null(s);
    assert_int_equal(s->n, 3);
    for (size_t k = 0; k < s->n; k++) {
        const char *cmd = s->t[k].cmd, *cons = strstr(cmd, " --consent");
        assert_non_null(strstr(cmd, " prepare '"));
        assert_null(strstr(s->t[k].skip_if, "--consent"));
        if (s->t[k].node == 0)
            assert_string_equal(cons, " --consent '/dev/nvme1n1' --consent '/dev/nvme2n1'");
        else if (s->t[k].node == 1)
            assert_string_equal(cons, " --consent '/dev/nvme0n1'");
        else
            assert_null(cons);
    }
    built_free(&b);
    sv_clear(&consent);
    free(y), free(y2);
}

static void test_golden(void **state)
{
    (void)state;
    check_golden("tcp3");
    check_golden("rdma1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_mgmtd_addresses),
        cmocka_unit_test(test_addresses_and_network_keys),
        cmocka_unit_test(test_node_ids_and_monitor),
        cmocka_unit_test(test_fdb_redundancy),
        cmocka_unit_test(test_secrets_masked),
        cmocka_unit_test(test_toml_valid),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_state_repeated_keys),
        cmocka_unit_test(test_state_guarded),
        cmocka_unit_test(test_clickhouse_password),
        cmocka_unit_test(test_destroy_order),
        cmocka_unit_test(test_create_links),
        cmocka_unit_test(test_destroy_links),
        cmocka_unit_test(test_workdir_guard),
        cmocka_unit_test(test_real_3fs_settings),
        cmocka_unit_test(test_mgmtd_config_upload),
        cmocka_unit_test(test_storage_graceful_stop),
        cmocka_unit_test(test_disk_consent),
        cmocka_unit_test(test_heartbeat_wait),
        cmocka_unit_test(test_run_watch_and_suspect),
        cmocka_unit_test(test_run_skip_if),
        cmocka_unit_test(test_run_fresh_forgets),
        cmocka_unit_test(test_run_call),
        cmocka_unit_test(test_golden),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    log_clear_secrets();
    return rc;
}
