/* remote_ctx: one cached session per node and parallel steps over nodes
 * (see remote.h). */
#include "remote-int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/pool.h"

/* Up to SESS_MAX sessions per node, so steps running at the same time can
 * work on one node at once; each session is used by one thread at a time. */
#define SESS_MAX 4

struct ctx_slot {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct remote_session *sess[SESS_MAX];
    int busy[SESS_MAX];
    size_t n, max;  /* sessions open; how many may be (lowered when one fails) */
    char *error;    /* remembered connection error of the first session */
};

struct remote_ctx {
    const struct m3fs_node *nodes;
    size_t n_nodes;
    struct remote_opts opts;
    struct ctx_slot *slots;
};

struct remote_ctx *remote_ctx_new(const struct m3fs_node *nodes, size_t n_nodes,
                                  const struct remote_opts *o)
{
    struct remote_ctx *c = xcalloc(1, sizeof(*c));
    c->nodes = nodes;
    c->n_nodes = n_nodes;
    c->opts = *o;
    c->slots = xcalloc(n_nodes ? n_nodes : 1, sizeof(*c->slots));
    for (size_t i = 0; i < n_nodes; i++) {
        pthread_mutex_init(&c->slots[i].lock, NULL);
        pthread_cond_init(&c->slots[i].freed, NULL);
        c->slots[i].max = SESS_MAX;
    }
    return c;
}

/* Open session number sl->n (slot lock held).  0, or -1 when none can be
 * opened: the first failure is remembered as the node's error, a later one
 * only stops more sessions from being opened. */
static int open_more(struct remote_ctx *c, size_t node, struct ctx_slot *sl)
{
    struct strbuf e = STRBUF_INIT;
    struct remote_session *s = remote_open(&c->nodes[node], &c->opts, &e);
    int rc = 0;
    if (s) {
        sl->sess[sl->n++] = s;
    } else if (!sl->n) {
        sl->error = sb_detach(&e);
        rc = -1;
    } else {
        log_debug("%s: no extra session (%s); sharing the open ones", c->nodes[node].name,
                  e.buf);
        sl->max = sl->n;
    }
    sb_release(&e);
    return rc;
}

/* A session of the node for this thread alone (wait for one when all are
 * busy); remote_ctx_release() gives it back. */
static struct remote_session *acquire(struct remote_ctx *c, size_t node, struct strbuf *err)
{
    struct ctx_slot *sl = &c->slots[node];
    struct remote_session *s = NULL;
    pthread_mutex_lock(&sl->lock);
    while (!s && !sl->error) {
        for (size_t i = 0; i < sl->n && !s; i++)
            if (!sl->busy[i]) sl->busy[i] = 1, s = sl->sess[i];
        if (s) break;
        if (sl->n < sl->max) {
            if (open_more(c, node, sl) < 0) break;
            continue;
        }
        pthread_cond_wait(&sl->freed, &sl->lock);
    }
    if (!s) sb_adds(err, sl->error);
    pthread_mutex_unlock(&sl->lock);
    return s;
}

static void release(struct remote_ctx *c, size_t node, struct remote_session *s)
{
    struct ctx_slot *sl = &c->slots[node];
    pthread_mutex_lock(&sl->lock);
    for (size_t i = 0; i < sl->n; i++)
        if (sl->sess[i] == s) sl->busy[i] = 0;
    pthread_cond_signal(&sl->freed);
    pthread_mutex_unlock(&sl->lock);
}

struct remote_session *remote_ctx_get(struct remote_ctx *c, size_t node, struct strbuf *err)
{
    if (node >= c->n_nodes) {
        sb_addf(err, "no node with index %zu", node);
        return NULL;
    }
    struct ctx_slot *sl = &c->slots[node];
    pthread_mutex_lock(&sl->lock);
    if (!sl->n && !sl->error) open_more(c, node, sl);
    struct remote_session *s = sl->n ? sl->sess[0] : NULL;
    if (!s) sb_adds(err, sl->error);
    pthread_mutex_unlock(&sl->lock);
    return s;
}

void remote_ctx_free(struct remote_ctx *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        for (size_t k = 0; k < c->slots[i].n; k++) remote_close(c->slots[i].sess[k]);
        free(c->slots[i].error);
        pthread_mutex_destroy(&c->slots[i].lock);
        pthread_cond_destroy(&c->slots[i].freed);
    }
    free(c->slots);
    free(c);
}

void remote_ctx_counts(struct remote_ctx *c, size_t node, struct remote_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (node >= c->n_nodes) return;
    struct ctx_slot *sl = &c->slots[node];
    pthread_mutex_lock(&sl->lock);
    for (size_t i = 0; i < sl->n; i++) {
        const struct remote_counts *k = &sl->sess[i]->counts;
        out->connects += k->connects, out->execs += k->execs, out->uploads += k->uploads;
        out->bytes_out += k->bytes_out, out->bytes_in += k->bytes_in;
        out->connect_ms += k->connect_ms, out->exec_ms += k->exec_ms;
    }
    pthread_mutex_unlock(&sl->lock);
}

struct run_args {
    struct remote_ctx *ctx;
    const size_t *idx;
    remote_step_fn fn;
    void *arg;
};

static int run_one(void *p, size_t item, struct strbuf *err)
{
    struct run_args *ra = p;
    size_t node = ra->idx[item];
    if (node >= ra->ctx->n_nodes) {
        sb_addf(err, "no node with index %zu", node);
        return 1;
    }
    struct remote_session *s = acquire(ra->ctx, node, err);
    if (!s) return 1;
    struct strbuf e = STRBUF_INIT;
    int rc = ra->fn(s, node, ra->arg, &e);
    release(ra->ctx, node, s);
    if (rc) {
        const struct m3fs_node *n = &ra->ctx->nodes[node];
        const char *name = config_node_label(n);
        /* Messages from the remote layer already name the node. */
        if (strncmp(e.buf, name, strlen(name))) sb_addf(err, "%s: ", name);
        sb_add(err, e.buf, e.len);
    }
    sb_release(&e);
    return rc ? 1 : 0;
}

size_t remote_ctx_run(struct remote_ctx *ctx, const size_t *idx, size_t n_idx, long parallel,
                      remote_step_fn fn, void *arg, struct strbuf *errs)
{
    struct run_args ra = { ctx, idx, fn, arg };
    return pool_run(n_idx, parallel, run_one, &ra, errs);
}

struct strbuf *remote_ctx_run_errs(struct remote_ctx *ctx, const size_t *idx, size_t n_idx,
                                   long parallel, remote_step_fn fn, void *arg, size_t *failed)
{
    struct strbuf *errs = xcalloc(n_idx ? n_idx : 1, sizeof(*errs));
    for (size_t k = 0; k < n_idx; k++) sb_init(&errs[k], 0);
    size_t nfail = remote_ctx_run(ctx, idx, n_idx, parallel, fn, arg, errs);
    for (size_t k = 0; k < n_idx; k++) log_mask(&errs[k]);
    if (failed) *failed = nfail;
    return errs;
}

void remote_errs_free(struct strbuf *errs, size_t n)
{
    for (size_t k = 0; errs && k < n; k++) sb_release(&errs[k]);
    free(errs);
}
