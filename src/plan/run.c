/* plan/run.c: the runner (see include/m3fs/plan.h).  Steps run in order;
 * a step's nodes run in parallel through remote_ctx_run(), each node's
 * targets in order.  Every wait has a deadline and reports what it waited
 * for and the last output it saw. */
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/log.h"
#include "m3fs/plan.h"
#include "m3fs/remote.h"
#include "m3fs/shquote.h"

#define SKIP_TIMEOUT_MS 60000L
#define ATTEMPT_MAX_MS 60000L
#define TAIL_LINES 12
#define WAIT_FIRST_PAUSE_MS 200L

static volatile sig_atomic_t g_intr;
static struct sigaction g_old_int;

static void on_sigint(int sig)
{
    (void)sig;
    g_intr = 1;
}

void plan_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    g_intr = 0;
    sigaction(SIGINT, &sa, &g_old_int);
}

void plan_signals_restore(void)
{
    sigaction(SIGINT, &g_old_int, NULL);
}

int plan_interrupted(void)
{
    return g_intr != 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    while (ms > 0 && !g_intr) {
        long d = ms < 100 ? ms : 100;
        struct timespec ts = { 0, d * 1000000L };
        nanosleep(&ts, NULL);
        ms -= d;
    }
}

/* The last TAIL_LINES lines of stdout then stderr, indented. */
static void output_tail(const struct exec_result *r, struct strbuf *out)
{
    struct strbuf all = STRBUF_INIT;
    sb_add(&all, r->out.buf, r->out.len);
    if (all.len && all.buf[all.len - 1] != '\n') sb_addch(&all, '\n');
    sb_add(&all, r->err.buf, r->err.len);
    sb_rtrim(&all);
    const char *start = all.buf;
    int lines = 0;
    for (const char *p = all.buf + all.len; p > all.buf; p--)
        if (p[-1] == '\n' && ++lines == TAIL_LINES) {
            start = p;
            break;
        }
    if (!all.len) sb_adds(out, "    (no output)");
    for (const char *p = start; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        sb_addf(out, "%s    %.*s", p == start ? "" : "\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
    sb_release(&all);
}

static void status_text(const struct exec_result *r, struct strbuf *out)
{
    if (r->timed_out) sb_adds(out, "timed out");
    else if (r->exit_status < 0) sb_addf(out, "killed by signal %s", r->signal);
    else sb_addf(out, "exit status %d", r->exit_status);
}

/* Report "note: ..." lines of stderr as warnings. */
static void show_notes(const struct m3fs_node *n, const struct exec_result *r)
{
    for (const char *p = r->err.buf; (p = strstr(p, "note: ")) != NULL;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        log_warn("%s: %.*s", n->name, (int)(len - 6), p + 6);
        p += len;
    }
}

struct job {
    const struct step *s;
    const struct m3fs_config *cfg;
    atomic_size_t changed, skipped;
};

static int exec_cmd(struct remote_session *rs, const char *cmd, long timeout_ms,
                    struct exec_result *r, struct strbuf *err)
{
    struct exec_opts eo = { .timeout_ms = timeout_ms, .as_root = 1 };
    log_debug("%s: run: %s", remote_node(rs)->name, cmd);
    exec_result_release(r);
    exec_result_init(r);
    int rc = remote_exec(rs, cmd, &eo, r, err);
    if (!rc) log_debug("%s: exit %d", remote_node(rs)->name, r->exit_status);
    return rc;
}

static int do_run(struct remote_session *rs, struct job *j, const struct step_target *t,
                  struct strbuf *err)
{
    struct exec_result r;
    exec_result_init(&r);
    int rc = exec_cmd(rs, t->cmd, j->s->timeout_ms, &r, err);
    if (!rc) {
        show_notes(remote_node(rs), &r);
        if (r.exit_status != 0 || r.timed_out) {
            sb_adds(err, "command failed (");
            status_text(&r, err);
            sb_adds(err, "); output:\n");
            output_tail(&r, err);
            rc = -1;
        }
    }
    exec_result_release(&r);
    return rc;
}

struct mem_reader {
    const char *p;
    size_t left;
};

static ssize_t mem_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    (void)err;
    struct mem_reader *m = arg;
    size_t n = len < m->left ? len : m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (ssize_t)n;
}

static int do_put(struct remote_session *rs, struct job *j, const struct step_target *t,
                  struct strbuf *err)
{
    char *copy = xstrdup(t->path);
    struct strbuf mk = STRBUF_INIT;
    sb_adds(&mk, "mkdir -p ");
    sh_quote(&mk, dirname(copy));
    free(copy);
    int rc = remote_run(rs, mk.buf, 1, j->s->timeout_ms, NULL, err);
    sb_release(&mk);
    if (rc) return rc;
    struct mem_reader m = { t->content, t->len };
    struct upload_opts uo = { .mode = t->mode, .as_root = 1 };
    log_debug("%s: put %s (%zu bytes, mode %04o)", remote_node(rs)->name, t->path, t->len,
              t->mode);
    return remote_upload_stream(rs, mem_read, &m, t->len, t->path, &uo, err);
}

/* Pause before the next check of a wait: short at first (most waits end
 * within a second or two), doubling up to the step's interval. */
static long wait_pause(long interval_ms, int attempt)
{
    long pause = WAIT_FIRST_PAUSE_MS << (attempt < 8 ? attempt : 8);
    return pause < interval_ms ? pause : interval_ms;
}

static int do_wait(struct remote_session *rs, struct job *j, const struct step_target *t,
                   struct strbuf *err)
{
    const struct step *s = j->s;
    long start = now_ms(), deadline = start + s->timeout_ms;
    struct exec_result r;
    struct strbuf last = STRBUF_INIT, e = STRBUF_INIT;
    exec_result_init(&r);
    int rc = -1, attempt = 0;
    for (;;) {
        long left = deadline - now_ms();
        long tmo = left < ATTEMPT_MAX_MS ? left : ATTEMPT_MAX_MS;
        sb_reset(&e);
        if (exec_cmd(rs, t->cmd, tmo > 1000 ? tmo : 1000, &r, &e) == 0) {
            if (r.exit_status == 0 && !r.timed_out) {
                rc = 0;
                break;
            }
            sb_reset(&last);
            status_text(&r, &last);
            sb_adds(&last, "; output:\n");
            output_tail(&r, &last);
        } else {
            sb_reset(&last);
            sb_addf(&last, "could not run the check: %s", e.buf);
        }
        long pause = wait_pause(s->interval_ms, attempt++);
        if (g_intr || now_ms() + pause > deadline) break;
        sleep_ms(pause);
    }
    if (rc && !g_intr) {
        struct strbuf d = STRBUF_INIT;
        format_duration_ms(now_ms() - start, &d);
        sb_addf(err, "gave up after %s waiting for %s; last check: %s", d.buf,
                s->wait_for ? s->wait_for : t->cmd, last.buf);
        sb_release(&d);
    } else if (rc) {
        sb_adds(err, "interrupted while waiting");
    }
    exec_result_release(&r);
    sb_release(&last);
    sb_release(&e);
    return rc;
}

/* 1 when the node's copy of a PUT file has the same sha256 and mode (the
 * comparison is made here: no digest of a secret file goes to the node). */
static int same_file(struct remote_session *rs, const struct step_target *t)
{
    struct strbuf q = STRBUF_INIT, cmd = STRBUF_INIT, e = STRBUF_INIT, want = STRBUF_INIT;
    struct exec_result r;
    exec_result_init(&r);
    sh_quote(&q, t->path);
    sb_addf(&cmd, "sha256sum < %s 2>/dev/null | cut -d ' ' -f 1; stat -c %%a %s 2>/dev/null",
            q.buf, q.buf);
    sb_addf(&want, "%s\n%o\n", t->sha, t->mode);
    int same = exec_cmd(rs, cmd.buf, SKIP_TIMEOUT_MS, &r, &e) == 0 && !strcmp(r.out.buf, want.buf);
    exec_result_release(&r);
    sb_release(&q), sb_release(&cmd), sb_release(&e), sb_release(&want);
    return same;
}

/* 1 when skip_if says the target is already done. */
static int already_done(struct remote_session *rs, const struct step *s,
                        const struct step_target *t)
{
    if (s->op == STEP_PUT) return same_file(rs, t);
    if (!t->skip_if) return 0;
    struct exec_result r;
    struct strbuf e = STRBUF_INIT;
    exec_result_init(&r);
    int done = exec_cmd(rs, t->skip_if, SKIP_TIMEOUT_MS, &r, &e) == 0 && r.exit_status == 0 &&
               !r.timed_out;
    exec_result_release(&r);
    sb_release(&e);
    return done;
}

static int node_fn(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    struct job *j = arg;
    for (size_t i = 0; i < j->s->n; i++) {
        const struct step_target *t = &j->s->t[i];
        if (t->node != node) continue;
        if (g_intr) return sb_adds(err, "not started: interrupted"), 1;
        if (already_done(rs, j->s, t)) {
            atomic_fetch_add(&j->skipped, 1);
            continue;
        }
        int rc = j->s->op == STEP_RUN ? do_run(rs, j, t, err)
               : j->s->op == STEP_PUT ? do_put(rs, j, t, err) : do_wait(rs, j, t, err);
        if (rc) return 1;
        if (j->s->op != STEP_WAIT) atomic_fetch_add(&j->changed, 1);
    }
    return 0;
}

/* Distinct nodes of a step, in target order; caller frees. */
static size_t *step_nodes(const struct step *s, size_t *n)
{
    size_t *idx = xcalloc(s->n ? s->n : 1, sizeof(*idx));
    *n = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = 0;
        while (k < *n && idx[k] != s->t[i].node) k++;
        if (k == *n) idx[(*n)++] = s->t[i].node;
    }
    return idx;
}

static void report_failure(const struct step *s, size_t i, size_t total, size_t nfail,
                           size_t n, struct strbuf *errs, struct strbuf *err)
{
    sb_addf(err, "step %zu/%zu '%s' failed on %zu of %zu node%s:", i + 1, total, s->title, nfail,
            n, n == 1 ? "" : "s");
    int hinted = 0;
    for (size_t k = 0; k < n; k++) {
        if (!errs[k].len) continue;
        sb_addf(err, "\n  %s", errs[k].buf);
        if (s->fail_match && strstr(errs[k].buf, s->fail_match)) hinted = 1;
    }
    if (hinted) sb_addf(err, "\n  hint: %s", s->fail_hint);
}

static int run_step(const struct step *s, size_t i, size_t total, const struct m3fs_config *cfg,
                    struct remote_ctx *rc, long parallel, struct run_stats *stats,
                    struct strbuf *err)
{
    size_t n;
    size_t *idx = step_nodes(s, &n);
    struct strbuf *errs = xcalloc(n ? n : 1, sizeof(*errs));
    for (size_t k = 0; k < n; k++) sb_init(&errs[k], 0);
    struct job j = { .s = s, .cfg = cfg };
    long t0 = now_ms();
    size_t nfail = remote_ctx_run(rc, idx, n, parallel, node_fn, &j, errs);
    size_t ch = atomic_load(&j.changed), sk = atomic_load(&j.skipped);
    stats->changed += ch;
    stats->skipped += sk;
    if (nfail && !g_intr) report_failure(s, i, total, nfail, n, errs, err);
    else if (!nfail) {
        struct strbuf d = STRBUF_INIT;
        format_duration_ms(now_ms() - t0, &d);
        if (s->op == STEP_WAIT) log_info("    ready (%s)", d.buf);
        else log_info("    %zu changed, %zu already done (%s)", ch, sk, d.buf);
        sb_release(&d);
    }
    for (size_t k = 0; k < n; k++) sb_release(&errs[k]);
    free(errs);
    free(idx);
    return nfail ? -1 : 0;
}

int plan_run(const struct plan *p, const struct m3fs_config *cfg, struct m3fs_state *st,
             struct remote_ctx *rc, long parallel, struct run_stats *stats, struct strbuf *err)
{
    memset(stats, 0, sizeof(*stats));
    for (size_t i = 0; i < p->n; i++) {
        const struct step *s = &p->steps[i];
        if (g_intr) return PLAN_INTERRUPTED;
        const char *v = s->state_key ? state_get_done(st, s->state_key) : NULL;
        if (v && !strcmp(v, s->state_val)) {
            log_info("[%zu/%zu] %s: already done (state file)", i + 1, p->n, s->title);
            stats->skipped += s->n;
            continue;
        }
        log_info("[%zu/%zu] %s", i + 1, p->n, s->title);
        int r = run_step(s, i, p->n, cfg, rc, parallel, stats, err);
        if (g_intr) return PLAN_INTERRUPTED;
        if (r) return -1;
        if (s->state_key) {
            state_set_done(st, s->state_key, s->state_val);
            if (state_save(st, err) < 0) return -1;
        }
    }
    return 0;
}
