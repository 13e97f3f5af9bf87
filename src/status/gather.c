/* status/gather.c: one run of templates/m3fs-facts.sh per node over the
 * worker pool (remote_ctx_run), the cluster probes riding along on the
 * nodes probes.c places them on, then one more round for probes whose
 * node could not run them.  --debug logs each node's time. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/script.h"
#include "status-int.h"

struct round {
    char **cmd;               /* per node index: the command, NULL when not in this round */
    struct exec_result *res;  /* per node index */
    double *before, *after;   /* this machine's clock around the run */
    char *ran;                /* the script ran and exited 0 */
    double start;             /* this machine's clock when the round began */
};

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_one(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct round *rd = arg;
    struct exec_opts eo = { .timeout_ms = ST_EXEC_TIMEOUT_MS, .as_root = 1 };
    struct exec_result *res = &rd->res[node];
    rd->before[node] = real_now();
    int rc = remote_exec(s, rd->cmd[node], &eo, res, err);
    rd->after[node] = real_now();
    log_debug("%s: status script ran in %.3f s, %.3f s after the round began (connect)",
              remote_node(s)->name, rd->after[node] - rd->before[node],
              rd->before[node] - rd->start);
    if (rc) return 1;
    if (res->timed_out || res->exit_status) {
        sb_rtrim(&res->err);
        sb_addf(err, "the status script %s", res->timed_out ? "timed out" : "failed");
        if (!res->timed_out) sb_addf(err, " (exit %d)", res->exit_status);
        if (res->err.len) sb_addf(err, ": %.300s", res->err.buf);
        return 1;
    }
    rd->ran[node] = 1;
    return 0;
}

static void round_init(struct round *rd, size_t n)
{
    rd->cmd = xcalloc(n ? n : 1, sizeof(*rd->cmd));
    rd->res = xcalloc(n ? n : 1, sizeof(*rd->res));
    rd->before = xcalloc(n ? n : 1, sizeof(double));
    rd->after = xcalloc(n ? n : 1, sizeof(double));
    rd->ran = xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) exec_result_init(&rd->res[i]);
}

static void round_release(struct round *rd, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rd->cmd[i]);
        exec_result_release(&rd->res[i]);
    }
    free(rd->cmd), free(rd->res), free(rd->before), free(rd->after), free(rd->ran);
}

/* Run the round's commands; errs[k] gets the error of the k-th node run. */
static struct strbuf *run_round(const struct st_report *r, struct round *rd,
                                const struct remote_opts *ro, long parallel, size_t **idx,
                                size_t *n_idx)
{
    *n_idx = 0;
    *idx = xcalloc(r->cfg->n_nodes ? r->cfg->n_nodes : 1, sizeof(**idx));
    for (size_t i = 0; i < r->cfg->n_nodes; i++)
        if (rd->cmd[i]) (*idx)[(*n_idx)++] = i;
    struct strbuf *errs = xcalloc(*n_idx ? *n_idx : 1, sizeof(*errs));
    for (size_t k = 0; k < *n_idx; k++) sb_init(&errs[k], 0);
    struct remote_ctx *ctx = remote_ctx_new(r->cfg->nodes, r->cfg->n_nodes, ro);
    rd->start = real_now();
    remote_ctx_run(ctx, *idx, *n_idx, parallel, run_one, rd, errs);
    double ran = real_now();
    remote_ctx_free(ctx);
    log_debug("status round on %zu node%s: %.3f s, closing the sessions %.3f s", *n_idx,
              plural_s(*n_idx), ran - rd->start, real_now() - ran);
    for (size_t k = 0; k < *n_idx; k++) log_mask(&errs[k]);
    return errs;
}

/* The node clock's offset from this machine's, NTP-style from the script's
 * start and end times and ours around the run. */
static void clock_offset(struct st_node *n, double before, double after)
{
    const struct st_facts *f = &n->facts;
    if (!f->t0 || !f->t1 || f->t1 < f->t0 || after < before) {
        n->offset_err_s = -1;
        return;
    }
    n->offset_s = ((f->t0 - before) + (f->t1 - after)) / 2;
    n->offset_err_s = ((after - before) - (f->t1 - f->t0)) / 2;
    if (n->offset_err_s < 0) n->offset_err_s = 0;
}

static void read_node(struct st_report *r, struct round *rd, size_t i, struct strbuf *err)
{
    struct st_node *n = &r->nodes[i];
    if (!rd->ran[i]) {
        n->error = xstrdup(err->len ? err->buf : "no answer");
        return;
    }
    struct strbuf perr = STRBUF_INIT;
    n->reachable = 1;
    if (st_parse_facts(rd->res[i].out.buf, rd->res[i].out.len, &n->facts, &perr))
        n->error = xstrfmt("%s: cannot read the status script's output: %s",
                           r->cfg->nodes[i].name, perr.buf);
    clock_offset(n, rd->before[i], rd->after[i]);
    sb_release(&perr);
}

/* The round's command of each node with bits[node] set (every node when
 * with_facts): the script with the node's facts options when with_facts,
 * and the probes of bits[node]. */
static void round_cmds(const struct st_report *r, struct round *rd, const unsigned *bits,
                       int with_facts)
{
    struct strbuf base = STRBUF_INIT;
    sb_adds(&base, "exec "); /* no shell left waiting between timeout and the script */
    script_call(&base, "m3fs-facts.sh");
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        if (!with_facts && !bits[i]) continue;
        struct strbuf c = STRBUF_INIT;
        sb_add(&c, base.buf, base.len);
        if (with_facts) st_fact_args(r, i, &c);
        st_probe_args(r, i, bits[i], &c);
        rd->cmd[i] = sb_detach(&c);
    }
    sb_release(&base);
}

static unsigned first_round(struct st_report *r, const struct remote_opts *ro, long parallel)
{
    size_t nn = r->cfg->n_nodes, *idx, n_idx;
    unsigned *bits = xcalloc(nn ? nn : 1, sizeof(*bits)), left = 0;
    struct round rd;
    round_init(&rd, nn);
    for (size_t i = 0; i < nn; i++) bits[i] = st_probe_first_at(r, i);
    round_cmds(r, &rd, bits, 1);
    struct strbuf *errs = run_round(r, &rd, ro, parallel, &idx, &n_idx);
    for (size_t k = 0; k < n_idx; k++) {
        size_t i = idx[k];
        read_node(r, &rd, i, &errs[k]);
        left |= st_probe_take(r, (long)i, &r->nodes[i].facts, bits[i]);
        sb_release(&errs[k]);
    }
    free(errs), free(idx), free(bits);
    round_release(&rd, nn);
    return left;
}

/* Probes whose first node could not run them, on another node of theirs:
 * returns those that still ran nowhere. */
static unsigned second_round(struct st_report *r, unsigned want, const struct remote_opts *ro,
                             long parallel)
{
    size_t nn = r->cfg->n_nodes, *idx, n_idx;
    unsigned *bits = xcalloc(nn ? nn : 1, sizeof(*bits)), b;
    long node;
    struct round rd;
    round_init(&rd, nn);
    for (unsigned w = want; (node = st_probe_fallback(r, w, &b)) >= 0; w &= ~b) bits[node] |= b;
    round_cmds(r, &rd, bits, 0);
    struct strbuf *errs = run_round(r, &rd, ro, parallel, &idx, &n_idx);
    for (size_t k = 0; k < n_idx; k++) {
        size_t i = idx[k];
        struct st_facts f = { 0 };
        struct strbuf perr = STRBUF_INIT;
        if (rd.ran[i] && !st_parse_facts(rd.res[i].out.buf, rd.res[i].out.len, &f, &perr))
            want = (want & ~bits[i]) | st_probe_take(r, (long)i, &f, bits[i]);
        st_facts_release(&f);
        sb_release(&perr), sb_release(&errs[k]);
    }
    free(errs), free(idx), free(bits);
    round_release(&rd, nn);
    return want;
}

void st_gather(struct st_report *r, const struct remote_opts *ro, long parallel)
{
    unsigned left = first_round(r, ro, parallel);
    if (left) left = second_round(r, left, ro, parallel);
    if (left) st_probe_give_up(r, left);
}
