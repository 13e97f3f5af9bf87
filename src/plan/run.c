/* plan/run.c: the runner (see include/m3fs/plan.h).  A step starts when
 * the steps it waits for have ended; its nodes run in parallel through
 * remote_ctx_run_errs(), each node's targets in order.  Every wait has a
 * deadline and reports what it waited for and the last output it saw. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "m3fs/sigstop.h"
#include "m3fs/plan.h"
#include "m3fs/remote.h"
#include "plan-int.h"

#define ATTEMPT_MAX_MS 60000L
#define TAIL_LINES 12
#define WAIT_FIRST_PAUSE_MS 200L

static atomic_int g_abort; /* a step failed: running waits stop, nothing new starts */

#define STOPPED_MSG "stopped: another step failed"

/* SIGINT, SIGTERM and SIGHUP (sigstop.h, installed by plan_run for the time
 * it runs) stop a run: running commands finish, the state file is saved, a
 * second run resumes. */
static int stopping(void)
{
    return sigstop_caught() || atomic_load(&g_abort);
}

int plan_interrupted(void)
{
    return sigstop_caught() != 0;
}

static void stop_reason(struct strbuf *err)
{
    sb_adds(err, sigstop_caught() ? "interrupted" : STOPPED_MSG);
}

int plan_stopping(struct strbuf *why)
{
    if (!stopping()) return 0;
    if (why) stop_reason(why);
    return 1;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Per node index: how long its part of a step took, and how much of that
 * was remote commands and pauses (plan_run_traced). */
struct node_times {
    long *node_ms, *remote_ms, *pause_ms;
    size_t n;
};

struct job {
    const struct step *s;
    struct node_times *times; /* NULL when not traced */
    atomic_size_t changed, skipped;
    atomic_size_t main_left; /* WAIT: targets that are not watches, not yet done */
    atomic_int failed;       /* WAIT: a target failed: the others stop */
    atomic_int fresh;        /* a target's output had the step's fresh_mark */
};

static const char *marked(const struct exec_result *r, const char *mark);

/* Does a successful target's output say that what the step made is new
 * (a line that is the step's fresh_mark)? */
static void note_fresh(struct job *j, const struct exec_result *r)
{
    const char *end = j->s->fresh_mark ? marked(r, j->s->fresh_mark) : NULL;
    if (end && strchr("\r\n", *end)) atomic_store(&j->fresh, 1); /* also *end == '\0' */
}

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

void run_cmd_with_skip(const struct step_target *t, struct strbuf *out)
{
    if (!t->skip_if) {
        sb_adds(out, t->cmd);
        return;
    }
    script_call(out, "m3fs-step.sh");
    sh_quote(out, PLAN_DONE_MARK);
    sb_addch(out, ' ');
    sh_quote(out, t->skip_if);
    sb_addch(out, ' ');
    sh_quote(out, t->cmd);
}

int run_output_says_done(const char *out)
{
    return !strcmp(out, PLAN_DONE_MARK "\n");
}

static int do_run(struct remote_session *rs, struct job *j, const struct step_target *t,
                  int *done, struct strbuf *err)
{
    struct exec_result r;
    struct strbuf cmd = STRBUF_INIT;
    exec_result_init(&r);
    run_cmd_with_skip(t, &cmd);
    int rc = exec_cmd(rs, cmd.buf, j->s->timeout_ms, &r, err);
    sb_release(&cmd);
    if (!rc && r.exit_status == 0 && run_output_says_done(r.out.buf)) *done = 1;
    if (!rc && r.exit_status == 0 && !r.timed_out && !*done) note_fresh(j, &r);
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

/* Pause before the next check of a wait: short at first (most waits end
 * within a second or two), growing by half up to the step's interval. */
static long wait_pause(long interval_ms, int attempt)
{
    long pause = WAIT_FIRST_PAUSE_MS;
    for (int i = 0; i < attempt && pause < interval_ms; i++) pause += pause / 2;
    return pause < interval_ms ? pause : interval_ms;
}

/* What follows `mark` at the start of a line of a check's output, or NULL. */
static const char *marked(const struct exec_result *r, const char *mark)
{
    for (const char *m = r->out.buf; (m = strstr(m, mark)) != NULL; m++)
        if (m == r->out.buf || m[-1] == '\n') return m + strlen(mark);
    return NULL;
}

/* A wait target need not poll on: another target failed, or it is a
 * watch and every other target succeeded. */
static int wait_over(struct job *j, const struct step_target *t)
{
    return atomic_load(&j->failed) || (t->watch && !atomic_load(&j->main_left));
}

/* Time this thread spent in sleep_wait during the current node's part of
 * a step (node_fn; for plan_run_traced). */
static _Thread_local long tl_pause_ms;

static void sleep_wait(long ms, struct job *j, const struct step_target *t)
{
    long t0 = now_ms();
    while (ms > 0 && !stopping() && !wait_over(j, t)) {
        long d = ms < 100 ? ms : 100;
        struct timespec ts = { 0, d * 1000000L };
        nanosleep(&ts, NULL);
        ms -= d;
    }
    tl_pause_ms += now_ms() - t0;
}

/* Whether the evidence of PLAN_SUSPECT_MARK has lasted the step's
 * suspect_ms (*since: when it was first seen in a row, 0 when not). */
static int suspect_lasted(const struct step *s, const struct exec_result *r, long *since)
{
    if (!s->suspect_ms || !marked(r, PLAN_SUSPECT_MARK)) {
        *since = 0;
        return 0;
    }
    if (!*since) *since = now_ms();
    return now_ms() - *since >= s->suspect_ms;
}

/* Poll a WAIT target until its check succeeds (a watch: until the other
 * targets succeeded), the deadline passes, or it gives up. */
static int do_wait(struct remote_session *rs, struct job *j, const struct step_target *t,
                   int *done, struct strbuf *err)
{
    const struct step *s = j->s;
    long start = now_ms(), deadline = start + s->timeout_ms, since = 0;
    struct exec_result r;
    struct strbuf last = STRBUF_INIT, e = STRBUF_INIT, cmd = STRBUF_INIT, why = STRBUF_INIT;
    exec_result_init(&r);
    run_cmd_with_skip(t, &cmd);
    int rc = -1, attempt = 0, peer = 0;
    for (;;) {
        if ((peer = wait_over(j, t)) != 0) break;
        long left = deadline - now_ms();
        long tmo = left < ATTEMPT_MAX_MS ? left : ATTEMPT_MAX_MS;
        sb_reset(&e);
        if (exec_cmd(rs, cmd.buf, tmo > 1000 ? tmo : 1000, &r, &e) == 0) {
            if (!t->watch && r.exit_status == 0 && !r.timed_out) {
                *done = run_output_says_done(r.out.buf);
                if (!*done) note_fresh(j, &r);
                rc = 0;
                break;
            }
            sb_reset(&last);
            status_text(&r, &last);
            sb_adds(&last, "; output:\n");
            output_tail(&r, &last);
            const char *m = marked(&r, PLAN_GIVE_UP_MARK);
            if (!m && suspect_lasted(s, &r, &since)) m = marked(&r, PLAN_SUSPECT_MARK);
            if (m) {
                sb_adds(&why, m);
                break;
            }
        } else {
            sb_reset(&last);
            sb_addf(&last, "could not run the check: %s", e.buf);
        }
        long pause = wait_pause(s->interval_ms, attempt++);
        if (stopping() || now_ms() + pause > deadline) break;
        sleep_wait(pause, j, t);
    }
    if (peer || (rc && t->watch && !why.len && !stopping())) {
        rc = 0; /* the other targets decide (a watch's own timeout says nothing) */
    } else if (why.len) {
        sb_add(err, why.buf, why.len);
        sb_rtrim(err);
    } else if (rc && !stopping()) {
        struct strbuf d = STRBUF_INIT;
        format_duration_ms(now_ms() - start, &d);
        sb_addf(err, "gave up after %s waiting for %s; last check: %s", d.buf,
                s->wait_for ? s->wait_for : t->cmd, last.buf);
        sb_release(&d);
    } else if (rc) {
        stop_reason(err);
    }
    if (rc) atomic_store(&j->failed, 1);
    else if (!t->watch && !peer) atomic_fetch_sub(&j->main_left, 1);
    exec_result_release(&r);
    sb_release(&last), sb_release(&e), sb_release(&cmd), sb_release(&why);
    return rc;
}

static int node_part(struct remote_session *rs, size_t node, struct job *j, struct strbuf *err)
{
    if (stopping()) return stop_reason(err), 1;
    if (j->s->op == STEP_CALL) {
        if (j->s->call.on_node(rs, node, j->s->call.arg, err)) return 1;
        atomic_fetch_add(&j->changed, 1);
        return 0;
    }
    if (j->s->op == STEP_PUT) {
        size_t ch = 0, sk = 0;
        if (put_node_files(rs, j->s, node, &ch, &sk, err)) return 1;
        atomic_fetch_add(&j->changed, ch);
        atomic_fetch_add(&j->skipped, sk);
        return 0;
    }
    for (size_t i = 0; i < j->s->n; i++) {
        const struct step_target *t = &j->s->t[i];
        if (t->node != node) continue;
        if (stopping()) return stop_reason(err), 1;
        int done = 0;
        int rc = j->s->op == STEP_RUN ? do_run(rs, j, t, &done, err)
                                      : do_wait(rs, j, t, &done, err);
        if (rc) return 1;
        if (done) atomic_fetch_add(&j->skipped, 1);
        else if (j->s->op != STEP_WAIT) atomic_fetch_add(&j->changed, 1);
    }
    return 0;
}

/* The node's part of the step; timed when traced (one thread per node
 * and step, so each node's slots have one writer). */
static int node_fn(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    struct job *j = arg;
    if (!j->times || node >= j->times->n) return node_part(rs, node, j, err);
    struct remote_counts before, after;
    remote_session_counts(rs, &before);
    tl_pause_ms = 0;
    long t0 = now_ms();
    int rc = node_part(rs, node, j, err);
    remote_session_counts(rs, &after);
    j->times->node_ms[node] = now_ms() - t0;
    j->times->remote_ms[node] = (long)(after.exec_ms - before.exec_ms);
    j->times->pause_ms[node] = tl_pause_ms;
    return rc;
}

static void report_failure(const struct step *s, size_t i, size_t total, size_t nfail,
                           size_t n, struct strbuf *errs, struct strbuf *err)
{
    sb_addf(err, "step %zu/%zu '%s' failed on %zu of %zu node%s:", i + 1, total, s->title, nfail,
            n, n == 1 ? "" : "s");
    for (size_t k = 0; k < n; k++)
        if (errs[k].len) sb_addf(err, "\n  %s", errs[k].buf);
    for (size_t h = 0; h < s->hint_match.n; h++)
        for (size_t k = 0; k < n; k++)
            if (errs[k].len && strstr(errs[k].buf, s->hint_match.v[h])) {
                sb_addf(err, "\n  hint: %s", s->hint_text.v[h]);
                break;
            }
}

/* 1 when every node error only says the step was stopped. */
static int only_stopped(const struct strbuf *errs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (errs[k].len && !strstr(errs[k].buf, STOPPED_MSG) && !strstr(errs[k].buf, "interrupted"))
            return 0;
    return 1;
}

enum step_state { ST_PENDING, ST_RUNNING, ST_DONE, ST_FAILED };

/* The scheduler's shared state (lock guards everything below it). */
struct sched {
    const struct plan *p;
    struct m3fs_state *st;
    struct remote_ctx *rc;
    long parallel;
    pthread_mutex_t lock;
    pthread_cond_t ended;
    enum step_state *state;
    struct strbuf *errs;      /* per step: why it failed */
    struct run_stats *stats;
    size_t running;
    struct plan_trace *tr; /* NULL when not traced */
    long t0;               /* now_ms() when the run began */
};

struct step_arg {
    struct sched *sc;
    size_t i;
    int started; /* a thread was created (join it) */
};

static void log_end(const struct step *s, size_t i, size_t total, size_t ch, size_t sk, long ms)
{
    struct strbuf d = STRBUF_INIT;
    format_duration_ms(ms, &d);
    if (s->op == STEP_CALL) log_info("[%zu/%zu] %s: done (%s)", i + 1, total, s->title, d.buf);
    else if (s->op == STEP_WAIT)
        log_info("[%zu/%zu] %s: ready (%s)", i + 1, total, s->title, d.buf);
    else log_info("[%zu/%zu] %s: %zu changed, %zu already done (%s)", i + 1, total, s->title, ch,
                  sk, d.buf);
    sb_release(&d);
}

static struct node_times *times_new(struct node_times *t, const size_t *idx, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (idx[k] + 1 > t->n) t->n = idx[k] + 1;
    t->node_ms = xcalloc(t->n ? t->n : 1, sizeof(long));
    t->remote_ms = xcalloc(t->n ? t->n : 1, sizeof(long));
    t->pause_ms = xcalloc(t->n ? t->n : 1, sizeof(long));
    return t;
}

/* The slowest node's times into the step's trace; frees t's arrays. */
static void times_take(struct node_times *t, struct plan_trace_step *ts)
{
    for (size_t k = 0; k < t->n; k++)
        if (ts->node < 0 || t->node_ms[k] > ts->node_ms) {
            ts->node = (long)k;
            ts->node_ms = t->node_ms[k];
            ts->remote_ms = t->remote_ms[k];
            ts->pause_ms = t->pause_ms[k];
        }
    free(t->node_ms), free(t->remote_ms), free(t->pause_ms);
}

/* A CALL step's nodes: those of idx[0..*n) its takes_part accepts. */
static void call_filter(const struct step *s, size_t *idx, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (!s->call.takes_part || s->call.takes_part(s->call.arg, idx[i])) idx[k++] = idx[i];
    *n = k;
}

/* A CALL step's local part; 0, or -1 with the report in err. */
static int call_local(const struct sched *sc, size_t i, struct strbuf *err)
{
    const struct step *s = &sc->p->steps[i];
    struct strbuf e = STRBUF_INIT;
    int rc = s->call.local && s->call.local(s->call.arg, &e) ? -1 : 0;
    if (rc) {
        log_mask(&e);
        sb_addf(err, "step %zu/%zu '%s' failed: %s", i + 1, sc->p->n, s->title, e.buf);
    }
    sb_release(&e);
    return rc;
}

/* Step i made something new (its fresh_mark): forget the state file's
 * records of the one-time steps that depend on it, directly or not (they
 * have not started: they wait for it).  Called with sc->lock held. */
static void forget_after(struct sched *sc, size_t i)
{
    const struct plan *p = sc->p;
    unsigned char *dep = xcalloc(p->n, 1);
    struct strbuf names = STRBUF_INIT, err = STRBUF_INIT;
    dep[i] = 1;
    for (size_t k = i + 1; k < p->n; k++) { /* a step waits only for earlier ones */
        const struct step *s = &p->steps[k];
        for (size_t a = 0; a < s->n_after && !dep[k]; a++) dep[k] = dep[s->after[a]];
        if (!dep[k] || !s->state_key) continue;
        if (!state_get_done(sc->st, s->state_key) && !state_started(sc->st, s->state_key))
            continue;
        state_forget(sc->st, s->state_key);
        if (s->also_key) state_forget(sc->st, s->also_key);
        sb_addf(&names, "%s[%zu] %s", names.len ? ", " : "", k + 1, s->title);
    }
    if (names.len) {
        log_warn("[%zu/%zu] %s: \"%s\": what it made is new, so the state file's records "
                 "of the one-time steps after it belong to a cluster that is gone; they run "
                 "again: %s", i + 1, p->n, p->steps[i].title, p->steps[i].fresh_mark, names.buf);
        if (state_save(sc->st, &err) < 0) log_warn("%s", err.buf);
    }
    free(dep);
    sb_release(&names), sb_release(&err);
}

/* Run step i on its nodes; 0, or -1 with the report in err (left empty
 * when the step only stopped because another failed or SIGINT). */
static int run_step(struct sched *sc, size_t i, struct strbuf *err)
{
    const struct step *s = &sc->p->steps[i];
    size_t n, nfail = 0;
    size_t *idx = step_nodes(s, &n);
    long t0 = now_ms();
    if (s->op == STEP_CALL) {
        call_filter(s, idx, &n);
        if (!n) log_info("[%zu/%zu] %s: nothing to do", i + 1, sc->p->n, s->title);
        else log_info("[%zu/%zu] %s (%zu node%s)", i + 1, sc->p->n, s->title, n, plural_s(n));
        if (!n || call_local(sc, i, err) || !s->call.on_node) {
            if (n && !err->len) log_end(s, i, sc->p->n, 0, 0, now_ms() - t0);
            free(idx);
            return err->len ? -1 : 0;
        }
    }
    struct job j = { .s = s };
    for (size_t k = 0; k < s->n; k++)
        if (!s->t[k].watch) atomic_fetch_add(&j.main_left, 1);
    struct node_times times = { 0 };
    if (sc->tr) j.times = times_new(&times, idx, n);
    struct strbuf *errs = remote_ctx_run_errs(sc->rc, idx, n, sc->parallel, node_fn, &j, &nfail);
    if (sc->tr) times_take(&times, &sc->tr->steps[i]);
    for (size_t k = 0; s->call.node_errs && k < n; k++)
        sb_add(&s->call.node_errs[idx[k]], errs[k].buf, errs[k].len);
    size_t ch = atomic_load(&j.changed), sk = atomic_load(&j.skipped);
    pthread_mutex_lock(&sc->lock);
    if (!nfail && atomic_load(&j.fresh)) forget_after(sc, i);
    sc->stats->changed += ch;
    sc->stats->skipped += sk;
    pthread_mutex_unlock(&sc->lock);
    if (nfail && !only_stopped(errs, n)) report_failure(s, i, sc->p->n, nfail, n, errs, err);
    else if (!nfail) log_end(s, i, sc->p->n, ch, sk, now_ms() - t0);
    remote_errs_free(errs, n);
    free(idx);
    return nfail ? -1 : 0;
}

/* Record in the state file that one-time step s starts (state_started()). */
static int mark_started(struct sched *sc, const struct step *s, struct strbuf *err)
{
    pthread_mutex_lock(&sc->lock);
    state_set_started(sc->st, s->state_key);
    int rc = state_save(sc->st, err);
    pthread_mutex_unlock(&sc->lock);
    return rc;
}

/* A step's thread: skip a one-time step the state file records, else run
 * it and record it; then mark it ended. */
static void *step_thread(void *arg)
{
    struct step_arg *a = arg;
    struct sched *sc = a->sc;
    const struct step *s = &sc->p->steps[a->i];
    struct strbuf err = STRBUF_INIT;
    pthread_mutex_lock(&sc->lock);
    const char *v = s->state_key ? state_get_done(sc->st, s->state_key) : NULL;
    int once_done = v && !strcmp(v, s->state_val);
    if (once_done) sc->stats->skipped += s->n;
    if (sc->tr) sc->tr->steps[a->i].start_ms = now_ms() - sc->t0;
    if (sc->tr) sc->tr->steps[a->i].skipped = once_done;
    pthread_mutex_unlock(&sc->lock);
    int rc = 0;
    if (once_done) {
        log_info("[%zu/%zu] %s: already done (state file)", a->i + 1, sc->p->n, s->title);
    } else {
        if (s->op != STEP_CALL) log_info("[%zu/%zu] %s", a->i + 1, sc->p->n, s->title);
        if (s->state_key) rc = mark_started(sc, s, &err);
        if (!rc) rc = run_step(sc, a->i, &err);
    }
    pthread_mutex_lock(&sc->lock);
    if (rc && !once_done && s->state_key && strstr(err.buf, "exit status ")) {
        /* it ended on the node: nothing was lost mid-way */
        state_clear_started(sc->st, s->state_key);
        state_save(sc->st, &err);
    }
    if (!rc && !once_done && s->state_key) {
        state_set_done(sc->st, s->state_key, s->state_val);
        if (s->also_key) state_set_done(sc->st, s->also_key, s->also_val);
        if (state_save(sc->st, &err) < 0) rc = -1;
    }
    if (rc) atomic_store(&g_abort, 1);
    if (sc->tr) sc->tr->steps[a->i].end_ms = now_ms() - sc->t0;
    sc->state[a->i] = rc ? ST_FAILED : ST_DONE;
    sb_add(&sc->errs[a->i], err.buf, err.len);
    sc->running--;
    pthread_cond_signal(&sc->ended);
    pthread_mutex_unlock(&sc->lock);
    sb_release(&err);
    return NULL;
}

static int ready(const struct sched *sc, size_t i)
{
    const struct step *s = &sc->p->steps[i];
    for (size_t k = 0; k < s->n_after; k++)
        if (sc->state[s->after[k]] != ST_DONE) return 0;
    return 1;
}

/* Start every pending step whose predecessors are done (lock held). */
static void start_ready(struct sched *sc, pthread_t *th, struct step_arg *args)
{
    for (size_t i = 0; i < sc->p->n && !stopping(); i++) {
        if (sc->state[i] != ST_PENDING || !ready(sc, i)) continue;
        sc->state[i] = ST_RUNNING;
        sc->running++;
        args[i] = (struct step_arg){ sc, i, 0 };
        if (pthread_create(&th[i], NULL, step_thread, &args[i])) {
            sc->running--;
            sc->state[i] = ST_FAILED;
            sb_addf(&sc->errs[i], "step %zu/%zu '%s': cannot start a thread", i + 1, sc->p->n,
                    sc->p->steps[i].title);
            atomic_store(&g_abort, 1);
            continue;
        }
        args[i].started = 1;
    }
}

static void trace_begin(struct plan_trace *tr, size_t n, struct rusage *ru)
{
    memset(tr, 0, sizeof(*tr));
    tr->n = n;
    tr->steps = xcalloc(n ? n : 1, sizeof(*tr->steps));
    for (size_t i = 0; i < n; i++)
        tr->steps[i] = (struct plan_trace_step){ .start_ms = -1, .end_ms = -1, .node = -1 };
    getrusage(RUSAGE_SELF, ru);
}

static double tv_s(struct timeval a, struct timeval b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
}

static void trace_end(struct plan_trace *tr, long t0, const struct rusage *ru0)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    tr->wall_ms = now_ms() - t0;
    tr->cpu_user_s = tv_s(ru0->ru_utime, ru.ru_utime);
    tr->cpu_sys_s = tv_s(ru0->ru_stime, ru.ru_stime);
}

void plan_trace_release(struct plan_trace *tr)
{
    free(tr->steps);
    memset(tr, 0, sizeof(*tr));
}

int plan_run(const struct plan *p, struct m3fs_state *st,
             struct remote_ctx *rc, long parallel, struct run_stats *stats, struct strbuf *err)
{
    return plan_run_traced(p, st, rc, parallel, stats, NULL, err);
}

int plan_run_traced(const struct plan *p, struct m3fs_state *st, struct remote_ctx *rc,
                    long parallel, struct run_stats *stats, struct plan_trace *tr,
                    struct strbuf *err)
{
    memset(stats, 0, sizeof(*stats));
    atomic_store(&g_abort, 0);
    struct sigstop sigs;
    sigstop_install(&sigs);
    struct rusage ru0;
    if (tr) trace_begin(tr, p->n, &ru0);
    struct sched sc = { .p = p, .st = st, .rc = rc, .parallel = parallel,
                        .stats = stats, .tr = tr, .t0 = now_ms() };
    size_t n = p->n ? p->n : 1;
    pthread_t *th = xcalloc(n, sizeof(*th));
    struct step_arg *args = xcalloc(n, sizeof(*args));
    sc.state = xcalloc(n, sizeof(*sc.state));
    sc.errs = xcalloc(n, sizeof(*sc.errs));
    for (size_t i = 0; i < n; i++) sb_init(&sc.errs[i], 0);
    pthread_mutex_init(&sc.lock, NULL);
    pthread_cond_init(&sc.ended, NULL);
    pthread_mutex_lock(&sc.lock);
    for (;;) {
        start_ready(&sc, th, args);
        if (!sc.running) break;
        pthread_cond_wait(&sc.ended, &sc.lock);
    }
    pthread_mutex_unlock(&sc.lock);
    int result = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (args[i].started) pthread_join(th[i], NULL);
        if (sc.state[i] == ST_FAILED) result = -1;
        if (sc.errs[i].len) sb_addf(err, "%s%s", err->len ? "\n" : "", sc.errs[i].buf);
        sb_release(&sc.errs[i]);
    }
    sigstop_restore(&sigs);
    if (tr) trace_end(tr, sc.t0, &ru0);
    if (sigstop_caught()) result = PLAN_INTERRUPTED;
    else if (result == 0 && !err->len)
        for (size_t i = 0; i < p->n; i++)
            if (sc.state[i] != ST_DONE) result = -1; /* cannot happen: a cycle */
    pthread_cond_destroy(&sc.ended);
    pthread_mutex_destroy(&sc.lock);
    free(th), free(args), free(sc.state), free(sc.errs);
    return result;
}
