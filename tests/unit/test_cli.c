/* test_cli: runs the real m3fs binary ($M3FS_BIN) and checks exit codes,
 * where output goes (stdout/stderr), help at every level of the command
 * table, --version, aliases, `config create` / `config validate`, colour
 * (through a pseudo-terminal, so isatty() is true) and --debug. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"
#include "m3fs/version.h"
#include "testutil.h"

static const char *bin;
static char tmpdir[] = "/tmp/m3fs-test-cli-XXXXXX";
static char *sample_path;

struct run {
    int code;
    struct strbuf out, err;
};

static void run_free(struct run *r)
{
    sb_release(&r->out);
    sb_release(&r->err);
}

/* env: "K=V" sets, "K" unsets; applied in the child only. */
static void child_setup(const char *const *env)
{
    if (chdir(tmpdir)) _exit(126);
    for (; env && *env; env++) {
        if (strchr(*env, '=')) putenv((char *)*env);
        else unsetenv(*env);
    }
}

static int wait_child(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) fail_msg("waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void slurp_fd(int fd, struct strbuf *sb)
{
    char buf[4096];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf, sizeof buf)) > 0) sb_add(sb, buf, (size_t)n);
    close(fd);
}

static int temp_fd(void)
{
    char path[] = "/tmp/m3fs-test-cli-out-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* Run m3fs with args (NULL-terminated); stdout and stderr go to files. */
static void run_argv(struct run *r, const char *const *env, const char *const *args)
{
    memset(r, 0, sizeof *r);
    r->out = (struct strbuf)STRBUF_INIT;
    r->err = (struct strbuf)STRBUF_INIT;
    int fo = temp_fd(), fe = temp_fd();
    const char *argv[32] = { bin };
    size_t n = 1;
    for (; *args; args++) {
        assert_true(n < ARRAY_SIZE(argv) - 1);
        argv[n++] = *args;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        child_setup(env);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    r->code = wait_child(pid);
    slurp_fd(fo, &r->out);
    slurp_fd(fe, &r->err);
}

#define RUN(r, ...) RUN_ENV(r, NULL, __VA_ARGS__)
#define RUN_ENV(r, env, ...)                                    \
    do {                                                        \
        const char *const args_[] = { __VA_ARGS__, NULL };      \
        run_argv((r), (env), args_);                            \
    } while (0)

/* Run with stdout and stderr on a pseudo-terminal; returns exit code. */
static int run_tty(const char *const *env, const char *const *args, struct strbuf *out)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        fprintf(stderr, "skipping: no pseudo-terminal (posix_openpt: %s)\n", strerror(errno));
        skip();
    }
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char *slave_name = xstrdup(ptsname(master));
    const char *argv[32] = { bin };
    size_t n = 1;
    for (; *args; args++) argv[n++] = *args;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        int s = open(slave_name, O_RDWR);
        if (s < 0) _exit(126);
        dup2(s, 1);
        dup2(s, 2);
        close(s);
        close(master);
        child_setup(env);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    free(slave_name);
    char buf[4096];
    ssize_t got;
    /* read until the child's side is closed (EIO on Linux) */
    while ((got = read(master, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR))
        if (got > 0) sb_add(out, buf, (size_t)got);
    close(master);
    return wait_child(pid);
}

static void assert_contains(const struct strbuf *sb, const char *needle)
{
    if (!strstr(sb->buf, needle)) fail_msg("\"%s\" not found in:\n%s", needle, sb->buf);
}

static void assert_lacks(const struct strbuf *sb, const char *needle)
{
    if (strstr(sb->buf, needle)) fail_msg("\"%s\" unexpectedly found in:\n%s", needle, sb->buf);
}

static char *tmp_file(const char *name)
{
    return xstrfmt("%s/%s", tmpdir, name);
}

/* ---- tests ---- */

static void test_no_args(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out.buf, "");
    assert_contains(&r.err, "Usage: m3fs COMMAND");
    assert_contains(&r.err, "config (cfg)");
    run_free(&r);
}

static void check_help(const char *const *args, const char *path)
{
    struct run r;
    run_argv(&r, NULL, args);
    if (r.code != 0) fail_msg("%s --help: exit %d\n%s", path, r.code, r.err.buf);
    assert_string_equal(r.err.buf, "");
    char *usage = xstrfmt("Usage: %s", path);
    assert_contains(&r.out, usage);
    assert_contains(&r.out, "-h, --help");
    free(usage);
    run_free(&r);
}

/* Walk the command table: `<path> --help` and `<path> -h` for every listed entry. */
static void help_tree(const struct cmd_entry *e, const char **words, size_t depth, struct strbuf *path)
{
    const char *args[16];
    for (size_t i = 0; i < depth; i++) args[i] = words[i];
    args[depth] = "--help";
    args[depth + 1] = NULL;
    check_help(args, path->buf);
    args[depth] = "-h";
    check_help(args, path->buf);
    for (const struct cmd_entry *const *c = e->children; c && *c; c++) {
        if ((*c)->children && !(*c)->children[0]) continue; /* hidden empty group */
        size_t len = path->len;
        sb_addf(path, " %s", (*c)->name);
        words[depth] = (*c)->name;
        help_tree(*c, words, depth + 1, path);
        sb_setlen(path, len);
    }
}

static void test_help_every_level(void **state)
{
    (void)state;
    struct strbuf path = STRBUF_INIT;
    const char *words[16];
    sb_adds(&path, "m3fs");
    help_tree(&cmd_root_entry, words, 0, &path);
    sb_release(&path);
    /* help through aliases, and help given before the command words */
    const char *const a1[] = { "cfg", "--help", NULL };
    check_help(a1, "m3fs config");
    const char *const a2[] = { "c", "arch", "-h", NULL };
    check_help(a2, "m3fs cluster architecture");
    const char *const a3[] = { "--help", "config", "validate", NULL };
    check_help(a3, "m3fs config validate");
    const char *const a4[] = { "config", "validate", "--help", "--bogus-after-help", NULL };
    struct run r;
    run_argv(&r, NULL, a4);
    assert_int_equal(r.code, 2); /* an unknown option is still an error */
    run_free(&r);
}

/* Whether a usage line names an option: "-x" or "--long" as a whole word. */
static int usage_names(const char *usage, const struct opt_spec *o)
{
    char word[64];
    if (o->long_name) {
        snprintf(word, sizeof word, "--%s", o->long_name);
        for (const char *p = usage; (p = strstr(p, word)); p++) {
            char after = p[strlen(word)];
            if (after != '-' && (after < 'a' || after > 'z')) return 1;
        }
    }
    if (o->short_name) {
        snprintf(word, sizeof word, "-%c", o->short_name);
        for (const char *p = usage; (p = strstr(p, word)); p++)
            if ((p == usage || p[-1] == ' ' || p[-1] == '[' || p[-1] == '(' || p[-1] == '|') &&
                (p[2] == ' ' || p[2] == ']' || p[2] == '\0'))
                return 1;
    }
    return 0;
}

/* Every --word of e's usage line is an option of e (its setup options, its
 * own or a global one): the others are added to `unknown`. */
static void usage_known(const struct cmd_entry *e, struct strbuf *unknown)
{
    const struct opt_spec *tables[CMD_SETUP_TABLES + 2];
    size_t n = cmd_setup_opts(e, tables);
    tables[n++] = e->opts;
    tables[n++] = cmd_global_opts();
    for (const char *p = e->usage; p && (p = strstr(p, "--")); ) {
        p += 2;
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
        int found = len == 0; /* a bare "--" ends the options */
        for (size_t t = 0; t < n && !found; t++)
            for (const struct opt_spec *o = tables[t]; o && o->type != OPT_T_END; o++)
                if (o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, p, len))
                    found = 1;
        if (!found) sb_addf(unknown, "%s: --%.*s\n", e->name, (int)len, p);
        p += len;
    }
}

static void usage_tree(const struct cmd_entry *e, struct strbuf *missing)
{
    if (e->exec) {
        const struct opt_spec *tables[CMD_SETUP_TABLES + 1];
        size_t n = cmd_setup_opts(e, tables);
        tables[n++] = e->opts;
        for (size_t t = 0; t < n; t++)
            for (const struct opt_spec *o = tables[t]; o && o->type != OPT_T_END; o++)
                if (!e->usage || !usage_names(e->usage, o))
                    sb_addf(missing, "%s: --%s\n", e->name, o->long_name);
        usage_known(e, missing);
    }
    for (const struct cmd_entry *const *c = e->children; c && *c; c++) usage_tree(*c, missing);
}

/* Every usage line names every option of its command, and no other (help
 * stays honest). */
static void test_usage_names_every_option(void **state)
{
    (void)state;
    struct strbuf missing = STRBUF_INIT;
    usage_tree(&cmd_root_entry, &missing);
    if (missing.len) fprintf(stderr, "usage lines and options disagree:\n%s", missing.buf);
    assert_int_equal(missing.len, 0);
    sb_release(&missing);
}

/* Option help texts start in one column, -h/--help included. */
static void test_help_columns(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "config", "validate", "--help");
    assert_int_equal(r.code, 0);
    const char *h = strstr(r.out.buf, "  -h, --help"), *v = strstr(r.out.buf, "  -v, --version");
    const char *c = strstr(r.out.buf, "  -c, --config FILE");
    assert_non_null(h);
    assert_non_null(v);
    assert_non_null(c);
    size_t col_h = (size_t)(strstr(h, "show this help") - h);
    assert_int_equal(col_h, strstr(v, "print version") - v);
    assert_int_equal(col_h, strstr(c, "cluster config") - c);
    run_free(&r);
}

static void test_version(void **state)
{
    (void)state;
    static const char *const flags[] = { "--version", "-v" };
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        struct run r;
        RUN(&r, flags[i]);
        assert_int_equal(r.code, 0);
        char *v = xstrfmt("m3fs %s\n", m3fs_version());
        assert_contains(&r.out, v);
        free(v);
        static const char *const parts[] = { "Git SHA", "libyaml", "libssh", "libcurl",
                                             "OpenSSL", "libarchive", "cJSON" };
        for (size_t j = 0; j < ARRAY_SIZE(parts); j++) assert_contains(&r.out, parts[j]);
        assert_string_equal(r.err.buf, "");
        run_free(&r);
    }
}

/* Output that cannot be written is a failure, not a silent exit 0. */
static void test_stdout_full(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK)) TU_SKIP_UNLESS_CI("/dev/full is missing");
    char *cmd = xstrfmt("'%s' --version >/dev/full 2>/dev/null", bin);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    free(cmd);
}

static void test_unknown_command_and_flag(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "frobnicate");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "unknown command 'frobnicate'");
    assert_string_equal(r.out.buf, "");
    run_free(&r);
    RUN(&r, "config", "frob");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "m3fs config: unknown command 'frob'");
    run_free(&r);
    RUN(&r, "--bogus");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "unknown option '--bogus'");
    run_free(&r);
    RUN(&r, "config", "validate", "-c", sample_path, "--bogus");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "unknown option '--bogus'");
    assert_contains(&r.err, "Usage: m3fs config validate");
    run_free(&r);
    RUN(&r, "config", "validate", "-c", sample_path, "-Z");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "unknown option '-Z'");
    run_free(&r);
    RUN(&r, "config", "validate", "-c", sample_path, "extra");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "unexpected argument 'extra'");
    run_free(&r);
    RUN(&r, "--parallel", "many", "config", "validate", "-c", sample_path);
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "expects a whole number");
    run_free(&r);
    /* global options with a value, before and after the command words */
    RUN(&r, "--parallel", "4", "--known-hosts", "/dev/null", "config", "--parallel=2",
        "validate", "-c", sample_path, "--parallel", "3");
    assert_int_equal(r.code, 0);
    run_free(&r);
    RUN(&r, "--known-hosts");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "--known-hosts needs a value");
    run_free(&r);
    /* one --parallel range for every command, checked before anything runs */
    static const char *const cmds[][2] = { { "cluster", "create" }, { "cluster", "exec" },
                                           { "config", "validate" } };
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        RUN(&r, cmds[i][0], cmds[i][1], "-c", sample_path, "--parallel", "0", "--", "true");
        assert_int_equal(r.code, 2);
        assert_contains(&r.err, "--parallel must be between 1 and 1024, not 0");
        run_free(&r);
    }
}

static void test_missing_required(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "config", "validate");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "missing required option --config FILE");
    assert_string_equal(r.out.buf, "");
    run_free(&r);
    RUN(&r, "cluster", "architecture");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "missing required option --config");
    run_free(&r);
    RUN(&r, "config", "validate", "-c");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "needs a value");
    run_free(&r);
}

static void test_aliases(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "cfg", "validate", "-c", sample_path);
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "is valid: cluster 'open3fs'");
    run_free(&r);
    RUN(&r, "c", "arch", "-c", sample_path);
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "Cluster: open3fs");
    run_free(&r);
    struct run full;
    RUN(&full, "cluster", "architecture", "--config", sample_path);
    assert_int_equal(full.code, 0);
    RUN(&r, "c", "arch", "-c", sample_path);
    assert_string_equal(full.out.buf, r.out.buf);
    run_free(&r);
    run_free(&full);
}

static void test_config_create(void **state)
{
    (void)state;
    char *p = tmp_file("cluster.yml");
    unlink(p);
    struct run r;
    RUN(&r, "config", "create");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "Wrote cluster.yml");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    run_free(&r);

    tu_write(tmpdir, "cluster.yml", "my own edits\n");
    RUN(&r, "config", "create");
    assert_int_equal(r.code, 1);
    assert_contains(&r.err, "cluster.yml already exists; use --force");
    run_free(&r);
    struct strbuf kept = STRBUF_INIT;
    assert_int_equal(sb_read_file(&kept, p), 0);
    assert_string_equal(kept.buf, "my own edits\n"); /* untouched */
    sb_reset(&kept);

    RUN(&r, "cfg", "create", "--force", "-n", "other", "-r", "reg.local:5000");
    assert_int_equal(r.code, 0);
    run_free(&r);
    assert_int_equal(sb_read_file(&kept, p), 0);
    assert_contains(&kept, "name: \"other\"");
    assert_contains(&kept, "registry: \"reg.local:5000\"");
    sb_release(&kept);

    RUN(&r, "config", "create", "-f", "x.yml", "--arch", "sparc");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "--arch must be amd64 or arm64, not 'sparc'");
    run_free(&r);
    RUN(&r, "config", "create", "-f", "x.yml", "--name", "");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "cluster name is required");
    run_free(&r);
    /* a name the loader rejects: nothing is written */
    RUN(&r, "config", "create", "-f", "bad.yml", "--name", "has space");
    assert_int_equal(r.code, 1);
    assert_contains(&r.err, "refusing to write");
    run_free(&r);
    char *bad = tmp_file("bad.yml");
    assert_int_equal(access(bad, F_OK), -1);
    free(bad);
    free(p);
}

/* cluster.yml.sample in the repository is exactly what config create writes. */
static void test_sample_is_generated(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "config", "create", "--name", "open3fs", "--arch", "amd64", "--file", "s.yml", "--force");
    assert_int_equal(r.code, 0);
    run_free(&r);
    char *p = tmp_file("s.yml");
    struct strbuf gen = STRBUF_INIT, repo = STRBUF_INIT;
    assert_int_equal(sb_read_file(&gen, p), 0);
    assert_int_equal(sb_read_file(&repo, sample_path), 0);
    if (gen.len != repo.len || memcmp(gen.buf, repo.buf, gen.len))
        fail_msg("cluster.yml.sample differs from `m3fs config create --name open3fs --arch amd64`; "
                 "regenerate it with that command");
    sb_release(&gen);
    sb_release(&repo);
    free(p);

    /* the arm64 sample loads cleanly too */
    RUN(&r, "config", "create", "--architecture", "arm64", "-f", "arm.yml", "--force");
    assert_int_equal(r.code, 0);
    run_free(&r);
    p = tmp_file("arm.yml");
    struct m3fs_config *c = tu_load_file_clean(p);
    assert_string_equal(c->images.arch, "arm64");
    assert_string_equal(c->images.img[IMG_3FS].tag, "20250617");
    char *f = config_artifact_file(c, IMG_3FS);
    assert_string_equal(f, "3fs_20250617_arm64.docker");
    free(f);
    config_free(c);
    free(p);
}

static const char bad_yaml[] =
    "name: bad\n"
    "nodes:\n"
    "  - name: n1\n"
    "    hots: 10.0.0.1\n"
    "    username: root\n"
    "services:\n"
    "  storage:\n"
    "    nodes: [n1]\n"
    "    replicationFactor: 0\n";

static void test_config_validate(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "config", "validate", "-c", sample_path);
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "is valid: cluster 'open3fs', networkType RDMA, workDir /opt/3fs");
    assert_contains(&r.out, "mgmtd(1),meta(100),storage(10001)");
    assert_contains(&r.out, "open3fs/3fs:20250410 (artifact 3fs_20250410_amd64.docker)");
    assert_string_equal(r.err.buf, "");
    run_free(&r);

    RUN(&r, "config", "validate", "-c", sample_path, "--workdir", "/srv/3fs", "-r", "reg:5000");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "workDir /srv/3fs");
    assert_contains(&r.out, "reg:5000/open3fs/3fs:20250410");
    run_free(&r);

    tu_write(tmpdir, "bad.yml", bad_yaml);
    RUN(&r, "config", "validate", "-c", "bad.yml");
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out.buf, "");
    assert_contains(&r.err, "bad.yml:4:5: error: unknown key 'hots' in nodes.0");
    assert_contains(&r.err, "hint: did you mean 'host'?");
    assert_contains(&r.err, "bad.yml:9:5: error: replicationFactor 0 must be at least 1");
    assert_contains(&r.err, "error: services.fdb needs at least one node");
    assert_contains(&r.err, "bad.yml has 8 errors; nothing was changed");
    assert_contains(&r.err, "bad.yml:3:5: error: node 'n1' has no host");
    /* sorted by position: line 4 comes before line 9 */
    assert_true(strstr(r.err.buf, "bad.yml:4:5") < strstr(r.err.buf, "bad.yml:9:5"));
    run_free(&r);

    RUN(&r, "config", "validate", "-c", "missing.yml");
    assert_int_equal(r.code, 1);
    assert_contains(&r.err, "missing.yml: error: cannot read the config file: No such file");
    run_free(&r);

    RUN(&r, "cluster", "architecture", "-c", "bad.yml");
    assert_int_equal(r.code, 1);
    assert_contains(&r.err, "bad.yml:4:5: error:");
    assert_string_equal(r.out.buf, "");
    run_free(&r);
}

static void test_color(void **state)
{
    (void)state;
    tu_write(tmpdir, "bad.yml", bad_yaml);
    struct {
        const char *env[3];
        const char *args[8];
        int want_color;
    } cases[] = {
        { { "NO_COLOR", NULL }, { "cluster", "architecture", "-c", "SAMPLE", NULL }, 1 },
        { { "NO_COLOR=1", NULL }, { "cluster", "architecture", "-c", "SAMPLE", NULL }, 0 },
        { { "NO_COLOR", NULL }, { "cluster", "architecture", "-c", "SAMPLE", "--no-color", NULL }, 0 },
        { { "NO_COLOR", NULL }, { "--no-color", "c", "arch", "-c", "SAMPLE", NULL }, 0 },
        { { "NO_COLOR", NULL }, { "config", "validate", "-c", "bad.yml", NULL }, 1 },
        { { "NO_COLOR=yes", NULL }, { "config", "validate", "-c", "bad.yml", NULL }, 0 },
        { { "NO_COLOR", NULL }, { "config", "validate", "--no-color", "-c", "bad.yml", NULL }, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        for (size_t j = 0; cases[i].args[j]; j++)
            if (!strcmp(cases[i].args[j], "SAMPLE")) cases[i].args[j] = sample_path;
        struct strbuf out = STRBUF_INIT;
        int code = run_tty(cases[i].env, cases[i].args, &out);
        assert_true(code == 0 || code == 1);
        if (cases[i].want_color) assert_contains(&out, "\033[");
        else assert_lacks(&out, "\033[");
        sb_release(&out);
    }
    /* not a terminal: never colour */
    struct run r;
    const char *const env[] = { "NO_COLOR", NULL };
    RUN_ENV(&r, env, "cluster", "architecture", "-c", sample_path);
    assert_int_equal(r.code, 0);
    assert_lacks(&r.out, "\033[");
    run_free(&r);
}

static void test_debug(void **state)
{
    (void)state;
    tu_write(tmpdir, "pw.yml", "nodes:\n"
                               "  - {name: n1, host: 10.0.0.1, username: root, password: hunter2-secret}\n"
                               "  - {name: n2, host: 10.0.0.2, username: root, password: hunter2-secret}\n"
                               "services:\n"
                               TU_SVCS_N1
                               "  storage: {nodes: [n1, n2]}\n"
                               "  client: {nodes: [n1]}\n");
    struct run r;
    RUN(&r, "--debug", "config", "validate", "-c", "pw.yml");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "pw.yml is valid");
    assert_lacks(&r.out, "hunter2-secret");
    assert_lacks(&r.err, "hunter2-secret");
    run_free(&r);
    RUN(&r, "config", "validate", "-c", "pw.yml", "--debug");
    assert_int_equal(r.code, 0);
    assert_lacks(&r.err, "hunter2-secret");
    run_free(&r);
    RUN(&r, "--debug", "cluster", "architecture", "-c", "pw.yml");
    assert_int_equal(r.code, 0);
    assert_lacks(&r.out, "hunter2-secret");
    assert_lacks(&r.err, "hunter2-secret");
    run_free(&r);
}

/* exec, copy and bench are plans too: --dry-run prints each node's call, runs nothing. */
static void test_exec_copy_dry_run(void **state)
{
    (void)state;
    struct run r;
    RUN(&r, "cluster", "exec", "-c", sample_path, "--dry-run", "--role", "storage", "--",
        "echo \"$HOME\"; false");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "Plan to run a command on ");
    assert_contains(&r.out, "call: run: echo \"$HOME\"; false (timeout 1h)"); /* the default */
    run_free(&r);
    RUN(&r, "cluster", "exec", "-c", sample_path, "--dry-run", "--timeout", "0", "--", "true");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "call: run: true (timeout none)");
    run_free(&r);
    RUN(&r, "cluster", "copy", "-c", sample_path, "--dry-run", "--mode", "0600", sample_path,
        "/opt/x/");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "Plan to upload a file on ");
    assert_contains(&r.out, "/opt/x/cluster.yml.sample (mode 0600)");
    run_free(&r);
    RUN(&r, "cluster", "bench", "-c", sample_path, "--dry-run");
    assert_int_equal(r.code, 0);
    assert_contains(&r.out, "bench: write the test files");
    assert_contains(&r.out, "--rw=randread");
    assert_contains(&r.out, "rm -rf '/mnt/3fs/m3fs-bench/");
    run_free(&r);
}

/* The entries that change a cluster, and only those, take its lock
 * (CMD_LOCK, which needs the config: CMD_CONFIG). */
static void test_lock_flags(void **state)
{
    (void)state;
    static const char *const locked[] = {
        "prepare", "create", "destroy", "stop", "start", "restart", "upgrade", "add-client",
        "delete-client", "add-storage-nodes", "remove-storage-nodes", NULL,
    };
    const struct cmd_entry *cluster = NULL;
    for (const struct cmd_entry *const *g = cmd_root_entry.children; *g; g++) {
        if (!strcmp((*g)->name, "cluster")) cluster = *g;
        for (const struct cmd_entry *const *c = (*g)->children; c && *c; c++)
            if (((*c)->flags & CMD_LOCK) && !((*c)->flags & CMD_CONFIG))
                fail_msg("%s %s: CMD_LOCK without CMD_CONFIG", (*g)->name, (*c)->name);
    }
    assert_non_null(cluster);
    for (const struct cmd_entry *const *c = cluster->children; *c; c++) {
        int want = 0;
        for (const char *const *l = locked; *l && !want; l++) want = !strcmp(*l, (*c)->name);
        if (want != !!((*c)->flags & CMD_LOCK))
            fail_msg("cluster %s: %s the cluster's lock", (*c)->name,
                     want ? "changes the cluster but does not take" : "takes");
    }
}

/* While another m3fs holds the cluster's lock, every command that changes
 * the cluster exits 1 at once naming the holder, before it reads a node
 * (the nodes are in TEST-NET-1, RFC 5737: nothing answers there, and a
 * connection would give up after 1 s), leaving the holder's record;
 * --dry-run is not refused.  Once the lock is free, a command takes it
 * (its record is in the file) and lets it go when it ends. */
static void test_lock_refuses(void **state)
{
    (void)state;
    tu_write(tmpdir, "lk.yml", "name: lk\n"
                               "nodes:\n"
                               "  - {name: n1, host: 192.0.2.1, username: root, password: pw-lock-x}\n"
                               "  - {name: n2, host: 192.0.2.2, username: root, password: pw-lock-x}\n"
                               "services:\n"
                               TU_SVCS_N1
                               "  storage: {nodes: [n1, n2]}\n"
                               "  client: {nodes: [n1]}\n");
    char *cfg = tmp_file("lk.yml"), *mdir = tmp_file(".m3fs");
    char *lockf = xstrfmt("%s/lk.lock", mdir);
    struct strbuf err = STRBUF_INIT, rec = STRBUF_INIT;
    int fd = cluster_lock(cfg, "lk", "m3fs cluster create", &err);
    if (fd < 0) fail_msg("cluster_lock: %s", err.buf);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    char *holder = xstrfmt("cluster 'lk' is in use: another m3fs (pid %ld) holds its lock %s "
                           "(`m3fs cluster create` on host %s); nothing was changed",
                           (long)getpid(), lockf, host);
    static const char *const cmds[][3] = {
        { "stop" }, { "start" }, { "restart" }, { "upgrade" }, { "add-client" },
        { "delete-client" }, { "create" }, { "destroy" }, { "prepare" },
        { "add-storage-nodes" }, { "remove-storage-nodes", "--node", "n2" },
    };
    const char *const env[] = { "M3FS_LOCAL_EXEC=0", "M3FS_CONNECT_TIMEOUT=1", NULL };
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
        struct run r;
        const char *args[] = { "cluster", cmds[i][0], "-c", cfg, cmds[i][1], cmds[i][2], NULL };
        run_argv(&r, env, args);
        if (r.code != 1 || !strstr(r.err.buf, holder) || r.out.len)
            fail_msg("cluster %s while the lock is held: exit %d\nstdout: %s\nstderr: %s\n"
                     "wanted exit 1 and: %s", cmds[i][0], r.code, r.out.buf, r.err.buf, holder);
        run_free(&r);
    }
    /* the refused runs left the holder's record */
    int rfd = open(lockf, O_RDONLY);
    assert_true(rfd >= 0);
    slurp_fd(rfd, &rec);
    char *mine = xstrfmt("%ld\n%s\nm3fs cluster create\n", (long)getpid(), host);
    assert_string_equal(rec.buf, mine);
    /* --dry-run touches nothing and takes no lock */
    struct run r;
    RUN_ENV(&r, env, "cluster", "stop", "-c", cfg, "--dry-run");
    if (r.code != 0) fail_msg("stop --dry-run under the lock: exit %d\n%s", r.code, r.err.buf);
    assert_contains(&r.out, "Plan to stop cluster 'lk'");
    run_free(&r);
    cluster_unlock(fd);
    /* free: stop takes it (a usage error in exec, which runs under it: no node) */
    RUN_ENV(&r, env, "cluster", "stop", "-c", cfg, "--role", "nosuch");
    assert_int_equal(r.code, 2);
    assert_contains(&r.err, "--role: unknown service 'nosuch'");
    assert_lacks(&r.err, "in use");
    run_free(&r);
    sb_reset(&rec);
    rfd = open(lockf, O_RDONLY);
    assert_true(rfd >= 0);
    slurp_fd(rfd, &rec);
    assert_contains(&rec, "\nm3fs cluster stop\n");
    fd = cluster_lock(cfg, "lk", "m3fs cluster start", &err); /* and let it go */
    if (fd < 0) fail_msg("cluster_lock after stop ended: %s", err.buf);
    cluster_unlock(fd);
    unlink(lockf), rmdir(mdir), unlink(cfg);
    free(cfg), free(mdir), free(lockf), free(holder), free(mine);
    sb_release(&err), sb_release(&rec);
}

static int setup(void **state)
{
    (void)state;
    bin = getenv("M3FS_BIN");
    const char *src = getenv("M3FS_SOURCE_DIR");
    if (!bin || !src) {
        fprintf(stderr, "M3FS_BIN and M3FS_SOURCE_DIR must be set (run through ctest)\n");
        return -1;
    }
    if (!mkdtemp(tmpdir)) return -1;
    sample_path = xstrfmt("%s/cluster.yml.sample", src);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    static const char *const files[] = { "cluster.yml", "bad.yml", "s.yml", "arm.yml", "pw.yml", "x.yml" };
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        char *p = tmp_file(files[i]);
        unlink(p);
        free(p);
    }
    rmdir(tmpdir);
    free(sample_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_args),
        cmocka_unit_test(test_help_every_level),
        cmocka_unit_test(test_help_columns),
        cmocka_unit_test(test_usage_names_every_option),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_unknown_command_and_flag),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_config_create),
        cmocka_unit_test(test_sample_is_generated),
        cmocka_unit_test(test_config_validate),
        cmocka_unit_test(test_color),
        cmocka_unit_test(test_debug),
        cmocka_unit_test(test_exec_copy_dry_run),
        cmocka_unit_test(test_lock_flags),
        cmocka_unit_test(test_lock_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
