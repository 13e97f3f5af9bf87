/* test_remote_local: the remote layer's local path (a node whose host is
 * this machine runs without SSH): exec with stdout/stderr/exit status,
 * stdin, a timeout that really kills, uploads/downloads through a temporary
 * name with modes and size checks, and remote_ctx error collection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/plan.h"
#include "m3fs/remote.h"
#include "../../src/remote/remote-int.h"

static char dir[] = "/tmp/m3fs-test-remote-XXXXXX";

static struct m3fs_node local_node(void)
{
    struct m3fs_node n;
    memset(&n, 0, sizeof(n));
    n.name = "me";
    n.host = "127.0.0.1";
    n.port = 1; /* nothing listens there: only the local path can work */
    n.username = getpwuid(geteuid())->pw_name;
    return n;
}

static struct remote_session *open_local(const struct m3fs_node *n)
{
    struct remote_opts o = { .allow_local = 1 };
    struct strbuf err = STRBUF_INIT;
    struct remote_session *s = remote_open(n, &o, &err);
    assert_non_null(s);
    assert_true(remote_is_local(s));
    sb_release(&err);
    return s;
}

/* Run cmd in a session on this machine; r receives the result (release it
 * with exec_result_release()). */
static void exec_local(const char *cmd, const struct exec_opts *eo, struct exec_result *r)
{
    struct m3fs_node n = local_node();
    struct remote_session *s = open_local(&n);
    struct strbuf err = STRBUF_INIT;
    exec_result_init(r);
    assert_int_equal(remote_exec(s, cmd, eo, r, &err), 0);
    sb_release(&err);
    remote_close(s);
}

/* Issue 20: a host NAME never takes the local path, even one that resolves
 * to this machine (DNS or /etc/hosts must not decide it); IP literals do. */
static void test_local_only_for_ip_literals(void **state)
{
    (void)state;
    struct m3fs_node n = local_node();
    n.host = "localhost";
    struct remote_opts o = { .allow_local = 1, .connect_timeout_s = 3 };
    struct strbuf err = STRBUF_INIT;
    struct remote_session *s = remote_open(&n, &o, &err);
    if (s) {
        assert_false(remote_is_local(s));
        remote_close(s);
    }
    assert_null(s); /* over SSH to port 1, where nothing listens */
    sb_release(&err);
    n.host = "::1";
    s = open_local(&n);
    remote_close(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_exec_captures_streams_and_status(void **state)
{
    (void)state;
    struct exec_result r;
    exec_local("echo out; echo err >&2; exit 7", NULL, &r);
    assert_int_equal(r.exit_status, 7);
    assert_string_equal(r.out.buf, "out\n");
    assert_string_equal(r.err.buf, "err\n");
    assert_false(r.timed_out);
    exec_result_release(&r);
}

static void test_exec_stdin(void **state)
{
    (void)state;
    struct exec_result r;
    struct exec_opts eo = { .stdin_data = "line1\nline2", .stdin_len = 11 };
    exec_local("cat; echo; wc -c </dev/null", &eo, &r);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.out.buf, "line1\nline2\n0\n");
    exec_result_release(&r);
}

/* A streamed stdin (the relay's feed): 3 MiB in reader chunks after the
 * fixed bytes, EOF at its end; a failing reader ends the command. */
struct counting_reader {
    size_t left;
    int fail_at_end;
};

static ssize_t counting_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    struct counting_reader *cr = arg;
    if (!cr->left && cr->fail_at_end) {
        sb_adds(err, "reader broke");
        return -1;
    }
    if (len > cr->left) len = cr->left;
    memset(buf, 'x', len);
    cr->left -= len;
    return (ssize_t)len;
}

static void test_exec_stdin_reader(void **state)
{
    (void)state;
    struct exec_result r;
    struct counting_reader cr = { 3u << 20, 0 };
    struct exec_opts eo = { .stdin_data = "ab", .stdin_len = 2, .stdin_reader = counting_read,
                            .stdin_reader_arg = &cr };
    exec_local("wc -c", &eo, &r);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(strtol(r.out.buf, NULL, 10), (3L << 20) + 2);
    exec_result_release(&r);

    struct m3fs_node n = local_node();
    struct remote_session *s = open_local(&n);
    struct strbuf err = STRBUF_INIT;
    struct counting_reader bad = { 100000, 1 };
    eo = (struct exec_opts){ .stdin_reader = counting_read, .stdin_reader_arg = &bad };
    exec_result_init(&r);
    assert_int_equal(remote_exec(s, "cat >/dev/null", &eo, &r, &err), -1);
    assert_non_null(strstr(err.buf, "reader broke"));
    exec_result_release(&r);
    sb_release(&err);
    remote_close(s);
}

/* 1 when pid exists and is not a zombie (an unreaped zombie is dead). */
static int process_running(pid_t pid)
{
    struct strbuf path = STRBUF_INIT, stat = STRBUF_INIT;
    sb_addf(&path, "/proc/%ld/stat", (long)pid);
    int running = 0;
    if (sb_read_file(&stat, path.buf) == 0) {
        const char *rp = strrchr(stat.buf, ')');
        running = rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
    }
    sb_release(&path);
    sb_release(&stat);
    return running;
}

static void test_timeout_kills_the_command(void **state)
{
    (void)state;
    struct exec_result r;
    struct exec_opts eo = { .timeout_ms = 1000 };
    double t0 = now_s();
    exec_local("sleep 600 & echo $!; wait", &eo, &r);
    double took = now_s() - t0;
    assert_true(r.timed_out);
    assert_true(took < 5.0);
    pid_t child = (pid_t)atol(r.out.buf);
    assert_true(child > 0);
    usleep(200000);
    assert_false(process_running(child)); /* the sleep is gone, not orphaned */
    exec_result_release(&r);
}

struct gen {
    uint64_t left;
    unsigned char next;
};

static ssize_t gen_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    (void)err;
    struct gen *g = arg;
    size_t n = len < g->left ? len : (size_t)g->left;
    for (size_t i = 0; i < n; i++) ((unsigned char *)buf)[i] = g->next++;
    g->left -= n;
    return (ssize_t)n;
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void check_pattern(const char *path, uint64_t size)
{
    struct strbuf sb = STRBUF_INIT;
    assert_int_equal(sb_read_file(&sb, path), 0);
    assert_int_equal(sb.len, size);
    for (size_t i = 0; i < sb.len; i++) assert_int_equal((unsigned char)sb.buf[i], i & 0xff);
    sb_release(&sb);
}

static void test_upload_download(void **state)
{
    (void)state;
    struct m3fs_node n = local_node();
    struct remote_session *s = open_local(&n);
    struct strbuf err = STRBUF_INIT, up = STRBUF_INIT, down = STRBUF_INIT;
    const uint64_t size = 1000003; /* not a multiple of the chunk size */
    struct gen g = { size, 0 };
    struct upload_opts uo = { .mode = 0640 };
    struct stat st;
    sb_addf(&up, "%s/up.bin", dir);
    sb_addf(&down, "%s/down.bin", dir);
    assert_int_equal(remote_upload_stream(s, gen_read, &g, size, up.buf, &uo, &err), 0);
    assert_int_equal(stat(up.buf, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    check_pattern(up.buf, size);
    assert_int_equal(remote_download(s, up.buf, down.buf, NULL, NULL, &err), 0);
    assert_int_equal(stat(down.buf, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    check_pattern(down.buf, size);
    assert_int_equal(count_entries(dir), 2); /* no temporary files left */
    unlink(up.buf);
    unlink(down.buf);
    sb_release(&err);
    sb_release(&up);
    sb_release(&down);
    remote_close(s);
}

static void test_short_source_is_refused(void **state)
{
    (void)state;
    struct m3fs_node n = local_node();
    struct remote_session *s = open_local(&n);
    struct strbuf err = STRBUF_INIT, up = STRBUF_INIT;
    struct gen g = { 100, 0 };
    struct upload_opts uo = { .mode = 0600 };
    sb_addf(&up, "%s/short.bin", dir);
    assert_int_equal(remote_upload_stream(s, gen_read, &g, 200, up.buf, &uo, &err), -1);
    assert_non_null(strstr(err.buf, "100 of 200 bytes"));
    assert_int_equal(count_entries(dir), 0); /* neither the file nor a temporary */
    sb_release(&err);
    sb_release(&up);
    remote_close(s);
}

static int run_true(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)node, (void)arg;
    return remote_run(s, "test -d /", 0, 0, NULL, err);
}

static void test_ctx_reports_every_unreachable_node(void **state)
{
    (void)state;
    struct m3fs_node nodes[3] = { local_node(), local_node(), local_node() };
    nodes[1].name = "nossh1";
    nodes[2].name = "nossh2";
    struct remote_opts o = { .connect_timeout_s = 3 };
    struct remote_ctx *ctx = remote_ctx_new(nodes, 3, &o);
    size_t idx[3] = { 0, 1, 2 };
    struct strbuf errs[3] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
    /* allow_local is off: all three try SSH to port 1 and fail. */
    assert_int_equal(remote_ctx_run(ctx, idx, 3, 2, run_true, NULL, errs), 3);
    assert_non_null(strstr(errs[0].buf, "cannot connect to me"));
    assert_non_null(strstr(errs[1].buf, "cannot connect to nossh1"));
    assert_non_null(strstr(errs[2].buf, "cannot connect to nossh2"));
    remote_ctx_free(ctx);
    o.allow_local = 1;
    ctx = remote_ctx_new(nodes, 3, &o);
    for (int i = 0; i < 3; i++) sb_reset(&errs[i]);
    assert_int_equal(remote_ctx_run(ctx, idx, 3, 2, run_true, NULL, errs), 0);
    remote_ctx_free(ctx);
    for (int i = 0; i < 3; i++) sb_release(&errs[i]);
}

/* Issue 22: a traced run says when each step ran, where its slowest node's
 * time went (remote commands, pauses between a wait's checks) and the
 * critical path; the session counts say how many round trips and bytes. */
static void test_traced_run(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* steps run as root: sudo otherwise */
    struct m3fs_node nodes[2] = { local_node(), local_node() };
    nodes[1].name = "me2";
    struct remote_opts o = { .allow_local = 1 };
    struct remote_ctx *ctx = remote_ctx_new(nodes, 2, &o);
    char *flag = xstrfmt("%s/flag", dir);
    char *check = xstrfmt("test -e %s || { touch %s; exit 1; }", flag, flag);
    struct plan p = { 0 };
    struct step *s = plan_add_step(&p, "a", STEP_RUN, "sleep on me");
    step_add_run(s, 0, "sleep 0.3", NULL);
    step_add_run(s, 1, "true", NULL);
    s = plan_add_step(&p, "a", STEP_WAIT, "wait for the flag");
    s->interval_ms = 300;
    step_add_run(s, 1, check, NULL);
    struct run_stats rs;
    struct plan_trace tr;
    struct strbuf err = STRBUF_INIT, json = STRBUF_INIT;
    assert_int_equal(plan_run_traced(&p, NULL, ctx, 4, &rs, &tr, &err), 0);
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.steps[0].node, 0);
    assert_true(tr.steps[0].remote_ms >= 250 && tr.steps[0].node_ms >= tr.steps[0].remote_ms);
    assert_int_equal(tr.steps[1].node, 1);
    assert_true(tr.steps[1].pause_ms >= 150); /* one failed check, then a pause */
    assert_true(tr.steps[1].start_ms >= tr.steps[0].end_ms);
    assert_true(tr.wall_ms >= tr.steps[1].end_ms);
    size_t path[2], np;
    plan_trace_critical(&p, &tr, path, &np);
    assert_int_equal(np, 2);
    assert_int_equal(path[0], 0);
    assert_int_equal(path[1], 1);
    struct remote_counts c;
    remote_ctx_counts(ctx, 1, &c);
    assert_int_equal(c.execs, 3); /* true, the failed check, the check */
    assert_true(c.bytes_out >= strlen("true") + 2 * strlen(check));
    struct m3fs_config cfg = { .nodes = nodes, .n_nodes = 2 };
    plan_trace_json(&p, &tr, ctx, &cfg, &json);
    assert_non_null(strstr(json.buf, "\"critical_path\""));
    assert_non_null(strstr(json.buf, "\"slowest_node\":\t\"me\""));
    assert_non_null(strstr(json.buf, "\"round_trips\":\t3"));
    plan_trace_release(&tr);
    plan_free(&p);
    remote_ctx_free(ctx);
    unlink(flag);
    free(flag), free(check);
    sb_release(&err), sb_release(&json);
}

/* Issue 22: the nothing-to-do pass runs every check of the plan on a node
 * in one exchange and says whether the plan would change anything. */
static void test_verify_pass(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* steps run as root: sudo otherwise */
    struct m3fs_node nodes[1] = { local_node() };
    struct remote_opts o = { .allow_local = 1 };
    struct remote_ctx *ctx = remote_ctx_new(nodes, 1, &o);
    char *file = xstrfmt("%s/conf", dir), *flag = xstrfmt("%s/flag", dir);
    char *mk = xstrfmt("touch %s", flag), *has = xstrfmt("test -e %s", flag);
    struct plan p = { 0 };
    struct step *s = plan_add_step(&p, "a", STEP_PUT, "write conf");
    step_add_put(s, 0, file, "x = 1\n", 6, 0644);
    s = plan_add_step(&p, "a", STEP_RUN, "make the flag");
    step_add_run(s, 0, mk, has);
    s = plan_add_step(&p, "a", STEP_WAIT, "the flag is there");
    step_add_run(s, 0, has, NULL);
    struct strbuf why = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 0);
    assert_non_null(strstr(why.buf, "step 1 'a: write conf' is not in place"));
    struct run_stats rs;
    assert_int_equal(plan_run(&p, NULL, ctx, 4, &rs, &err), 0);
    sb_reset(&why);
    struct remote_counts before, after;
    remote_ctx_counts(ctx, 0, &before);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 1);
    remote_ctx_counts(ctx, 0, &after);
    assert_int_equal(after.execs - before.execs, 1); /* one exchange for every check */
    FILE *f = fopen(file, "w"); /* the file changed on the node */
    assert_non_null(f);
    fputs("x = 2\n", f);
    fclose(f);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 0);
    assert_non_null(strstr(why.buf, "'a: write conf'"));
    unlink(flag); /* and the run step's work is gone */
    assert_int_equal(plan_run(&p, NULL, ctx, 4, &rs, &err), 0);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 1);
    /* a check two steps share runs once, and its failure names the first */
    char *count = xstrfmt("%s/count", dir), *counted = xstrfmt("echo x >>%s; %s", count, has);
    s = plan_add_step(&p, "a", STEP_WAIT, "counted once");
    step_add_run(s, 0, counted, NULL);
    s = plan_add_step(&p, "a", STEP_WAIT, "counted twice");
    step_add_run(s, 0, counted, NULL);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 1);
    struct strbuf runs = STRBUF_INIT;
    assert_int_equal(sb_read_file(&runs, count), 0);
    assert_string_equal(runs.buf, "x\n");
    unlink(flag);
    sb_reset(&why);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 0);
    assert_non_null(strstr(why.buf, "step 2 'a: make the flag' is not in place"));
    assert_int_equal(plan_run(&p, NULL, ctx, 4, &rs, &err), 0);
    unlink(count);
    sb_release(&runs);
    free(count), free(counted);
    s = plan_add_step(&p, "a", STEP_RUN, "always runs"); /* no check vouches for it */
    step_add_run(s, 0, "true", NULL);
    sb_reset(&why);
    remote_ctx_counts(ctx, 0, &before);
    assert_int_equal(plan_verify(&p, NULL, ctx, 4, &why), 0);
    remote_ctx_counts(ctx, 0, &after);
    assert_int_equal(after.execs, before.execs); /* decided without asking the node */
    assert_non_null(strstr(why.buf, "'a: always runs' has no check"));
    plan_free(&p);
    remote_ctx_free(ctx);
    unlink(flag), unlink(file);
    free(file), free(flag), free(mk), free(has);
    sb_release(&why), sb_release(&err);
}

/* A sudo on PATH that, by $FAKE_SUDO, needs no password (and reads
 * nothing), or prompts with -p's text and wants "secret" (one retry). */
static const char FAKE_SUDO[] =
    "#!/bin/sh\n"
    "prompt='' n=0\n"
    "while [ $# -gt 0 ]; do\n"
    "    case $1 in -n) n=1 ;; -k | -S) ;; -p) prompt=$2; shift ;; --) shift; break ;; esac\n"
    "    shift\n"
    "done\n"
    "if [ \"$FAKE_SUDO\" != nopass ]; then\n"
    "    if [ $n = 1 ]; then echo 'sudo: a password is required' >&2; exit 1; fi\n"
    "    printf '%s' \"$prompt\" >&2\n"
    "    IFS= read -r pw || { echo 'sudo: no password' >&2; exit 1; }\n"
    "    if [ \"$pw\" != secret ]; then\n"
    "        echo 'Sorry, try again.' >&2; printf '%s' \"$prompt\" >&2\n"
    "        IFS= read -r pw || { echo 'sudo: 1 incorrect password attempt' >&2; exit 1; }\n"
    "        [ \"$pw\" = secret ] || exit 1\n"
    "    fi\n"
    "fi\n"
    "exec \"$@\"\n";

/* `cat` as root through the fake sudo, with the session's sudo mode. */
static void sudo_cat(const char *mode, const char *pw, enum sudo_mode sm, struct exec_result *r)
{
    setenv("FAKE_SUDO", mode, 1);
    struct m3fs_node n = local_node();
    n.password = (char *)pw;
    struct remote_session *s = open_local(&n);
    s->is_root = 0, s->sudo = sm;
    struct strbuf err = STRBUF_INIT;
    struct exec_opts eo = { .as_root = 1, .stdin_data = "data\n", .stdin_len = 5,
                            .timeout_ms = 20000 };
    exec_result_init(r);
    assert_int_equal(remote_exec(s, "cat", &eo, r, &err), 0);
    sb_release(&err);
    remote_close(s);
}

/* Issue 20: the password goes to sudo only when sudo prompts; a sudo that
 * does not prompt (NOPASSWD for this command) never gets it as the
 * command's input, and the command's stdin waits until sudo granted. */
static void test_sudo_password_only_when_prompted(void **state)
{
    (void)state;
    char bin[] = "/tmp/m3fs-test-sudo-XXXXXX";
    assert_non_null(mkdtemp(bin));
    struct strbuf p = STRBUF_INIT;
    sb_addf(&p, "%s/sudo", bin);
    FILE *f = fopen(p.buf, "w");
    assert_non_null(f);
    fputs(FAKE_SUDO, f);
    fclose(f);
    assert_int_equal(chmod(p.buf, 0755), 0);
    const char *old = getenv("PATH");
    char *path_saved = strdup(old ? old : "/usr/bin:/bin");
    struct strbuf np = STRBUF_INIT;
    sb_addf(&np, "%s:%s", bin, path_saved);
    setenv("PATH", np.buf, 1);
    struct exec_result r;
    /* the password mode was learned, but this command needs none */
    sudo_cat("nopass", "secret", SUDO_PASSWORD, &r);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.out.buf, "data\n");
    exec_result_release(&r);
    /* it prompts: the password answers the prompt, the command gets stdin */
    sudo_cat("prompt", "secret", SUDO_PASSWORD, &r);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.out.buf, "data\n");
    assert_null(strstr(r.err.buf, "m3fs"));
    exec_result_release(&r);
    /* a refused password is sent once; the retry prompt gets EOF, not stdin */
    sudo_cat("prompt", "wrong", SUDO_PASSWORD, &r);
    assert_int_equal(r.exit_status, 1);
    assert_string_equal(r.out.buf, "");
    assert_non_null(strstr(r.err.buf, "1 incorrect password attempt"));
    exec_result_release(&r);
    /* NOPASSWD mode is sudo -n: a sudo that wants a password fails instead
     * of reading the command's stdin as one */
    sudo_cat("prompt", NULL, SUDO_NOPASSWD, &r);
    assert_int_equal(r.exit_status, 1);
    assert_non_null(strstr(r.err.buf, "a password is required"));
    exec_result_release(&r);
    /* the probe learns the mode */
    setenv("FAKE_SUDO", "prompt", 1);
    struct m3fs_node n = local_node();
    n.password = "secret";
    struct remote_session *s = open_local(&n);
    s->is_root = 0, s->sudo = SUDO_UNKNOWN;
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(remote_sudo_prepare(s, &err), 0);
    assert_int_equal(s->sudo, SUDO_PASSWORD);
    remote_close(s);
    setenv("FAKE_SUDO", "nopass", 1);
    s = open_local(&n);
    s->is_root = 0, s->sudo = SUDO_UNKNOWN;
    assert_int_equal(remote_sudo_prepare(s, &err), 0);
    assert_int_equal(s->sudo, SUDO_NOPASSWD);
    remote_close(s);
    setenv("PATH", path_saved, 1);
    unlink(p.buf);
    rmdir(bin);
    free(path_saved);
    sb_release(&p), sb_release(&np), sb_release(&err);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_only_for_ip_literals),
        cmocka_unit_test(test_exec_captures_streams_and_status),
        cmocka_unit_test(test_exec_stdin),
        cmocka_unit_test(test_exec_stdin_reader),
        cmocka_unit_test(test_timeout_kills_the_command),
        cmocka_unit_test(test_upload_download),
        cmocka_unit_test(test_short_source_is_refused),
        cmocka_unit_test(test_ctx_reports_every_unreachable_node),
        cmocka_unit_test(test_traced_run),
        cmocka_unit_test(test_verify_pass),
        cmocka_unit_test(test_sudo_password_only_when_prompted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
