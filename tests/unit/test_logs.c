/* test_logs: `cluster logs` pieces that need no node: names, the secret
 * masks (forms, keys, binary data, cut parts), the file-list parser, the
 * index, the archive writer (partial file, overwrite refusal), the node
 * script run by /bin/sh, and one whole run against this machine (a node
 * at 127.0.0.1 runs locally) whose archive must hold no secret. */
#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "../../src/logs/logs-int.h"
#include "m3fs/embedded.h"
#include "m3fs/script.h"
#include "m3fs/log.h"
#include "m3fs/logs.h"
#include "m3fs/shquote.h"

static void test_names(void **state)
{
    (void)state;
    char *s = logs_default_name("lab", 86400 + 3661);
    assert_string_equal(s, "m3fs-logs-lab-19700102T010101Z.tar.gz");
    free(s);
    s = logs_default_name("a/b c", 0);
    assert_string_equal(s, "m3fs-logs-a_b_c-19700101T000000Z.tar.gz");
    free(s);
    const char *tops[][2] = { { "/x/y/out.tar.gz", "out" }, { "z.tgz", "z" },
                              { "plain", "plain" }, { "dir/.hidden.tar.gz", "_hidden" } };
    for (size_t i = 0; i < ARRAY_SIZE(tops); i++) {
        s = logs_top_dir(tops[i][0]);
        assert_string_equal(s, tops[i][1]);
        free(s);
    }
    const char *comps[][2] = { { "lab-n1", "lab-n1" }, { "../x", "_._x" }, { "", "_" },
                               { "a\nb", "a_b" }, { "v1.2", "v1.2" } };
    for (size_t i = 0; i < ARRAY_SIZE(comps); i++) {
        s = logs_component(comps[i][0]);
        assert_string_equal(s, comps[i][1]);
        free(s);
    }
}

static void test_secret_forms(void **state)
{
    (void)state;
    struct strvec v = STRVEC_INIT;
    logs_secret_forms("a\"b&c'd\\", &v);
    assert_int_equal(v.n, 4);
    assert_string_equal(v.v[0], "a\"b&c'd\\");
    assert_string_equal(v.v[1], "a\\\"b&c'd\\\\");
    assert_string_equal(v.v[2], "a&quot;b&amp;c&apos;d\\");
    assert_string_equal(v.v[3], "a\"b&c''d\\");
    sv_clear(&v);
    logs_secret_forms("plain", &v);
    logs_secret_forms("plain", &v);
    logs_secret_forms("", &v);
    logs_secret_forms(NULL, &v);
    assert_int_equal(v.n, 1); /* each form once; nothing for empty */
    sv_clear(&v);
}

static void check_tail(const char *in, size_t max, const char *want, int cut)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, in);
    assert_int_equal(logs_tail(&sb, max), cut);
    assert_string_equal(sb.buf, want);
    sb_release(&sb);
}

static void test_tail(void **state)
{
    (void)state;
    check_tail("abc\ndef\n", 8, "abc\ndef\n", 0);
    check_tail("abc\ndef\n", 6, "def\n", 1);      /* from the first whole line */
    check_tail("abcdefgh", 3, "fgh", 1);          /* no line break: the bytes */
    check_tail("ab\ncdefgh\n", 9, "cdefgh\n", 1); /* "b\n" dropped */
    check_tail("abcdef\n", 3, "ef\n", 1);         /* a break only at the end: kept */
}

static void check_keys(const char *in, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, in);
    logs_mask_keys(&sb);
    assert_string_equal(sb.buf, want);
    sb_release(&sb);
}

static void test_mask_keys(void **state)
{
    (void)state;
    check_keys("passwd = \"a\\\"b\"\nx = 1\n", "passwd = \"******\"\nx = 1\n");
    check_keys("CLICKHOUSE_PASSWORD=abc\r\nCLICKHOUSE_DB=d\n",
               "CLICKHOUSE_PASSWORD=******\r\nCLICKHOUSE_DB=d\n");
    check_keys("\"Env\": [\"CLICKHOUSE_PASSWORD=a\\\"b\", \"X=1\"],",
               "\"Env\": [\"CLICKHOUSE_PASSWORD=******\", \"X=1\"],");
    check_keys("{\"token\": \"xyz\", \"a\": 1}", "{\"token\": \"******\", \"a\": 1}");
    check_keys("  - {name: n1, password: abc, host: h}", "  - {name: n1, password: ******, host: h}");
    check_keys("    password: 'it''s'\n", "    password: '******'\n");
    check_keys("<password>abc</password> rest", "<password>******</password> rest");
    check_keys("\"error\": \"bad token: xyz\", \"b\": 2", "\"error\": \"bad token: ******\", \"b\": 2");
    check_keys("secret_key: v", "secret_key: ******");
    /* not secrets: paths to them, empty values, prose, masked already */
    const char *same[] = { "token_file = '/opt/3fs/etc/token.txt'", "passwordFile: /root/pw",
                           "passwordEnv: PW", "password=\n", "the password is wrong",
                           "tokenizer", "password: ******", "" };
    for (size_t i = 0; i < ARRAY_SIZE(same); i++) check_keys(same[i], same[i]);
}

static void test_mask_values(void **state)
{
    (void)state;
    struct strvec m = STRVEC_INIT;
    sv_push(&m, "abc");
    sv_push(&m, "xxabcxx");
    sv_push(&m, "s3cret!");
    log_add_secret("registered-pw");
    struct strbuf sb = STRBUF_INIT;
    /* binary: bytes after a NUL are masked too; the longer secret first */
    sb_add(&sb, "a\0xxabcxx\0abc registered-pw\0", 28);
    logs_mask(&sb, &m, 0);
    assert_int_equal(sb.len, 23);
    assert_memory_equal(sb.buf, "a\0******\0****** ******\0", 23);
    /* a part cut on the node may start with the end of a secret */
    sb_reset(&sb);
    sb_adds(&sb, "cret! then");
    logs_mask(&sb, &m, 1);
    assert_string_equal(sb.buf, "****** then");
    sb_reset(&sb);
    sb_adds(&sb, "cret! then");
    logs_mask(&sb, &m, 0);
    assert_string_equal(sb.buf, "cret! then");
    sb_reset(&sb);
    sb_adds(&sb, "t! x"); /* 2 bytes: too short to say */
    logs_mask(&sb, &m, 1);
    assert_string_equal(sb.buf, "t! x");
    sb_release(&sb);
    sv_clear(&m);
    log_clear_secrets();
}

static void test_parse_list(void **state)
{
    (void)state;
    const char text[] = "a/b\n/abs\n../x\na/../b\n\na//b\nc/\x01\nd/e\nf\n";
    struct strvec out = STRVEC_INIT;
    size_t bad, more;
    logs_parse_list(text, sizeof(text) - 1, 2, &out, &bad, &more);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.v[0], "a/b");
    assert_string_equal(out.v[1], "d/e");
    assert_int_equal(bad, 5);
    assert_int_equal(more, 1);
    sv_clear(&out);
    const char nul[] = "ok\nx\0y\nlast";
    logs_parse_list(nul, sizeof(nul) - 1, 10, &out, &bad, &more);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.v[1], "last");
    assert_int_equal(bad, 1);
    sv_clear(&out);
    const char toks[] = " abcd1234 \r\n\nab\nx\0yzzzz\n\tTOKEN2==\t";
    logs_parse_tokens(toks, sizeof(toks) - 1, &out);
    assert_int_equal(out.n, 2); /* too short and NUL-holding lines left out */
    assert_string_equal(out.v[0], "abcd1234");
    assert_string_equal(out.v[1], "TOKEN2==");
    sv_clear(&out);
    struct strbuf many = STRBUF_INIT;
    for (int i = 0; i < 40; i++) sb_addf(&many, "token-%02d\n", i);
    logs_parse_tokens(many.buf, many.len, &out);
    assert_int_equal(out.n, LOGS_MAX_TOKENS);
    sv_clear(&out);
    sb_release(&many);
    assert_true(logs_rel_path_ok("meta/log/meta_main.log"));
    assert_false(logs_rel_path_ok("."));
    assert_false(logs_rel_path_ok(""));
}

static void test_index_json(void **state)
{
    (void)state;
    struct logs_index ix;
    ix_init(&ix);
    struct ix_part b = { .what = "log file", .node = "n2", .path = "nodes/n2/x.log",
                         .source = "/w/x.log", .size = 5, .truncated = 1, .status = "ok" };
    struct ix_part a = { .what = "admin_cli output", .node = NULL, .path = NULL,
                         .source = "admin", .status = "failed", .error = "no mgmtd" };
    ix_add(&ix, &b);
    ix_add(&ix, &a);
    ix_node(&ix, "n2", "10.0.0.2", NULL);
    ix_node(&ix, "n3", "10.0.0.3", "connection refused");
    struct ix_meta m = { "lab", "-c c.yml", 3600, 1024, 0 };
    char *json = ix_json(&ix, &m);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "schema")->valuestring, "m3fs.logs/1");
    assert_string_equal(cJSON_GetObjectItem(root, "created")->valuestring, "1970-01-01T00:00:00Z");
    assert_int_equal(cJSON_GetObjectItem(root, "since_seconds")->valueint, 3600);
    const cJSON *parts = cJSON_GetObjectItem(root, "parts");
    assert_int_equal(cJSON_GetArraySize(parts), 2);
    const cJSON *p0 = cJSON_GetArrayItem(parts, 0), *p1 = cJSON_GetArrayItem(parts, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p0, "node"))); /* cluster parts first */
    assert_string_equal(cJSON_GetObjectItem(p0, "error")->valuestring, "no mgmtd");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p1, "truncated")));
    assert_int_equal(cJSON_GetObjectItem(p1, "size")->valueint, 5);
    const cJSON *n3 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "nodes"), 1);
    assert_string_equal(cJSON_GetObjectItem(n3, "status")->valuestring, "unreachable");
    assert_int_equal(ix.failed, 1);
    cJSON_Delete(root);
    free(json);
    ix_release(&ix);
}

/* The entries of a tar.gz: "name=content\n" each, in order. */
static void read_archive(const char *path, struct strbuf *out)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 16384), ARCHIVE_OK);
    struct archive_entry *e;
    char buf[4096];
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        sb_addf(out, "%s=", archive_entry_pathname(e));
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) sb_add(out, buf, (size_t)n);
        sb_addch(out, '\n');
    }
    archive_read_free(a);
}

static int count_partial(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) n += strstr(de->d_name, ".partial-") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_archive(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("m3fs-test-logs");
    char *out = xstrfmt("%s/x.tar.gz", dir);
    struct logs_archive ar;
    struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
    assert_int_equal(la_open(&ar, out, 0, &err), 0);
    assert_int_equal(count_partial(dir), 1);
    assert_int_equal(la_add(&ar, "a/one.txt", "1\0x", 3), 0);
    assert_int_equal(la_add(&ar, "index.json", "{}", 2), 0);
    assert_int_equal(la_finish(&ar, &err), 0);
    assert_int_equal(count_partial(dir), 0);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    read_archive(out, &got);
    assert_int_equal(got.len, 32);
    assert_memory_equal(got.buf, "x/a/one.txt=1\0x\nx/index.json={}\n", 32);
    /* an existing archive is kept unless forced */
    assert_int_equal(la_open(&ar, out, 0, &err), -1);
    assert_non_null(strstr(err.buf, "exists; use --force"));
    la_discard(&ar);
    sb_reset(&err);
    assert_int_equal(la_open(&ar, out, 1, &err), 0);
    assert_int_equal(la_add(&ar, "b", "2", 1), 0);
    la_discard(&ar); /* given up: no partial file, the old archive intact */
    assert_int_equal(count_partial(dir), 0);
    sb_reset(&got);
    read_archive(out, &got);
    assert_int_equal(got.len, 32);
    assert_int_equal(la_open(&ar, out, 1, &err), 0);
    assert_int_equal(la_finish(&ar, &err), 0); /* replaced */
    sb_reset(&got);
    read_archive(out, &got);
    assert_int_equal(got.len, 0);
    sb_release(&err), sb_release(&got);
    tu_rmtree(dir);
    free(out), free(dir);
}

/* Run /bin/sh with argv: stdout into out, the exit status. */
static int run_argv(const char *const *argv, struct strbuf *out)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        dup2(fds[1], 1);
        close(fds[0]), close(fds[1]);
        execv("/bin/sh", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t k;
    while ((k = read(fds[0], buf, sizeof(buf))) > 0) sb_add(out, buf, (size_t)k);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* /bin/sh -c <m3fs-logs.sh> m3fs-logs ARGS...: stdout into out, the status. */
static int run_script(const char *const *args, struct strbuf *out)
{
    const struct m3fs_embedded_file *f = embedded_find("m3fs-logs.sh");
    assert_non_null(f);
    const char *argv[16] = { "sh", "-c", f->data, "m3fs-logs" };
    size_t n = 4;
    for (; *args && n < 15; args++) argv[n++] = *args;
    argv[n] = NULL;
    return run_argv(argv, out);
}

static void write_file(const char *dir, const char *rel, const char *text, unsigned mode)
{
    char *p = xstrfmt("%s/%s", dir, rel);
    char *cmd = xstrfmt("mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
    free(cmd), free(p);
}

static void test_script(void **state)
{
    (void)state;
    char *wd = tu_tmpdir("m3fs-test-logs-wd");
    struct strbuf out = STRBUF_INIT;
    write_file(wd, "meta/log/meta_main.log", "0123456789\nabcdef\n", 0644);
    write_file(wd, "meta/log/event-trace/t.parquet", "PAR1", 0644);
    write_file(wd, "meta/config.d/token.txt", "TOKEN123\n", 0600);
    write_file(wd, "mgmtd/config.d/token.txt", "OTHER456", 0600);
    write_file(wd, "admin_cli.sh", "#!/bin/sh\nseq 1 1000; echo \"$1\"; exit 3\n", 0755);
    const char *list[] = { "list", wd, "0", "meta", "nosuch", NULL };
    assert_int_equal(run_script(list, &out), 0);
    assert_string_equal(out.buf, "meta/config.d/token.txt\nmeta/log/meta_main.log\n");
    sb_reset(&out);
    const char *recent[] = { "list", wd, "5", "meta/log", NULL };
    assert_int_equal(run_script(recent, &out), 0);
    assert_string_equal(out.buf, "meta/log/meta_main.log\n");
    sb_reset(&out);
    const char *file[] = { "file", wd, "meta/log/meta_main.log", "6", NULL };
    assert_int_equal(run_script(file, &out), 0);
    assert_string_equal(out.buf, "abcdef\n"); /* MAX + 1 bytes: "cut" */
    sb_reset(&out);
    const char *tok[] = { "tokens", wd, NULL };
    assert_int_equal(run_script(tok, &out), 0);
    assert_string_equal(out.buf, "TOKEN123\n\nOTHER456\n");
    sb_reset(&out);
    /* admin_cli's own exit status, its output bounded */
    const char *admin[] = { "admin", wd, "list-nodes", "19", NULL };
    assert_int_equal(run_script(admin, &out), 3);
    assert_string_equal(out.buf, "999\n1000\nlist-nodes\n");
    sb_reset(&out);
    const char *missing[] = { "file", wd, "nope", "6", NULL };
    assert_int_equal(run_script(missing, &out), 1);
    /* the command line the nodes get: comment lines out, $0 named */
    struct strbuf cmd = STRBUF_INIT;
    script_call_text(&cmd, "nm.sh", "# one\necho \"$0:$1\"\n\t# two 'x'\n");
    sb_adds(&cmd, "'a b'");
    assert_null(strstr(cmd.buf, "one"));
    assert_null(strstr(cmd.buf, "two"));
    const char *sh[] = { "sh", "-c", cmd.buf, NULL };
    sb_reset(&out);
    assert_int_equal(run_argv(sh, &out), 0);
    assert_string_equal(out.buf, "nm:a b\n");
    sb_release(&cmd);
    sb_release(&out);
    tu_rmtree(wd);
    free(wd);
}

/* --- one whole run against this machine ----------------------------------- */

#define NODE_PW "n0de\"pw-1"
#define CH_PW "ch\"Secret&1"
#define STATE_TOKEN "STATEtoken0123456789"
#define NODE_TOKEN "NODEtoken0123456789"
#define CLIENT_TOKEN "CLIENTtok0123456789"
#define UNKNOWN_PW "unlisted-Pw-42"

static void whole_files(const char *dir)
{
    char *yml = xstrfmt(
        "name: unit\nworkDir: %s/wd\nnetworkType: TCP\nnodes:\n"
        "  - {name: n1, host: 127.0.0.1, username: root, password: 'n0de\"pw-1'}\n"
        "services:\n"
        "  fdb: {nodes: [n1], containerName: m3fs-unit-fdb}\n"
        "  clickhouse: {nodes: [n1], password: 'ch\"Secret&1', containerName: m3fs-unit-ch}\n"
        "  monitor: {nodes: [n1], containerName: m3fs-unit-mon}\n"
        "  mgmtd: {nodes: [n1], containerName: m3fs-unit-mgmtd}\n"
        "  meta: {nodes: [n1], containerName: m3fs-unit-meta}\n"
        "  storage: {nodes: [n1], diskType: dir, diskNumPerNode: 1, replicationFactor: 1,"
        " containerName: m3fs-unit-storage}\n"
        "  client: {nodes: [n1], hostMountpoint: /mnt/3fs, containerName: m3fs-unit-client}\n",
        dir);
    write_file(dir, "cluster.yml", yml, 0644);
    free(yml);
    write_file(dir, ".m3fs/unit.state.json",
               "{\"fdb_cluster_id\": \"a:b\", \"token\": \"" STATE_TOKEN "\"}\n", 0600);
    write_file(dir, "wd/meta/log/meta_main.log",
               "ok\nlogin with " CH_PW " and " STATE_TOKEN " and " NODE_TOKEN "\n"
               "password: " UNKNOWN_PW " client " CLIENT_TOKEN "\n", 0644);
    write_file(dir, "wd/meta/config.d/token.txt", NODE_TOKEN "\n", 0600);
    write_file(dir, "wd/meta/config.d/client_token.txt", CLIENT_TOKEN "\n", 0600);
    write_file(dir, "wd/monitor/etc/monitor_collector_main.toml",
               "[x]\npasswd = \"ch\\\"Secret&1\"\n", 0600);
    write_file(dir, "wd/clickhouse/clickhouse.env", "CLICKHOUSE_PASSWORD=" CH_PW "\n", 0600);
}

static int whole_run(const char *dir, struct strbuf *got, struct logs_summary *sum)
{
    char *cfgp = xstrfmt("%s/cluster.yml", dir), *out = xstrfmt("%s/o.tar.gz", dir);
    struct diag_list dl = { 0 };
    struct m3fs_config *cfg = config_load_file(cfgp, NULL, &dl);
    assert_non_null(cfg);
    struct remote_opts ro;
    remote_opts_default(&ro);
    ro.allow_local = 1;
    size_t idx[] = { 0 };
    struct logs_opts o = { .cfg = cfg, .config_path = cfgp, .nodes = idx, .n_nodes = 1,
                           .max_bytes = 1 << 20, .out_path = out, .ro = &ro, .parallel = 4,
                           .options = "-c cluster.yml" };
    int rc = logs_collect(&o, sum);
    if (!rc) read_archive(out, got);
    config_free(cfg);
    diag_list_free(&dl);
    free(cfgp), free(out);
    return rc;
}

static void test_whole_run(void **state)
{
    (void)state;
    if (geteuid()) TU_SKIP_UNLESS_CI("the parts run as root: run this test as root");
    char *dir = tu_tmpdir("m3fs-test-logs-run");
    struct strbuf got = STRBUF_INIT;
    struct logs_summary sum;
    whole_files(dir);
    assert_int_equal(whole_run(dir, &got, &sum), 0);
    assert_int_equal(sum.reached, 1);
    const char *entries[] = { "o/index.json=", "o/local/cluster.yml=", "o/local/state.json=",
                              "o/nodes/n1/workdir/meta/log/meta_main.log=ok\n",
                              "o/nodes/n1/workdir/monitor/etc/monitor_collector_main.toml=",
                              "o/nodes/n1/workdir/clickhouse/clickhouse.env=" };
    for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
        if (!memmem(got.buf, got.len, entries[i], strlen(entries[i])))
            fail_msg("no entry %s in:\n%s", entries[i], got.buf);
    assert_null(memmem(got.buf, got.len, "token.txt=", 10));
    assert_non_null(strstr(got.buf, "not collected: the file holds a token"));
    const char *secrets[] = { NODE_PW, "n0de\\\"pw-1", CH_PW, "ch\\\"Secret&1", STATE_TOKEN,
                              NODE_TOKEN, UNKNOWN_PW, CLIENT_TOKEN };
    for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
        if (memmem(got.buf, got.len, secrets[i], strlen(secrets[i])))
            fail_msg("secret %s in the archive:\n%s", secrets[i], got.buf);
    assert_int_equal(count_partial(dir), 0);
    /* a second run without --force keeps the first archive */
    struct strbuf again = STRBUF_INIT;
    assert_int_equal(whole_run(dir, &again, &sum), 1);
    sb_release(&again), sb_release(&got);
    log_clear_secrets();
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_secret_forms),
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_mask_keys),
        cmocka_unit_test(test_mask_values),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_index_json),
        cmocka_unit_test(test_archive),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_whole_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
