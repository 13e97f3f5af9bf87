/* remote_ctx: one cached session per node and parallel steps over nodes
 * (see remote.h). */
#include "remote-int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/pool.h"

struct ctx_slot {
    pthread_mutex_t lock;
    struct remote_session *sess;
    char *error;   /* remembered connection error, or NULL */
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
    for (size_t i = 0; i < n_nodes; i++) pthread_mutex_init(&c->slots[i].lock, NULL);
    return c;
}

struct remote_session *remote_ctx_get(struct remote_ctx *c, size_t node, struct strbuf *err)
{
    if (node >= c->n_nodes) {
        sb_addf(err, "no node with index %zu", node);
        return NULL;
    }
    struct ctx_slot *sl = &c->slots[node];
    pthread_mutex_lock(&sl->lock);
    if (!sl->sess && !sl->error) {
        struct strbuf e = STRBUF_INIT;
        sl->sess = remote_open(&c->nodes[node], &c->opts, &e);
        if (!sl->sess) sl->error = sb_detach(&e);
        sb_release(&e);
    }
    struct remote_session *s = sl->sess;
    if (!s) sb_adds(err, sl->error);
    pthread_mutex_unlock(&sl->lock);
    return s;
}

void remote_ctx_free(struct remote_ctx *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        remote_close(c->slots[i].sess);
        free(c->slots[i].error);
        pthread_mutex_destroy(&c->slots[i].lock);
    }
    free(c->slots);
    free(c);
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
    struct remote_session *s = remote_ctx_get(ra->ctx, node, err);
    if (!s) return 1;
    struct strbuf e = STRBUF_INIT;
    int rc = ra->fn(s, node, ra->arg, &e);
    if (rc) {
        const struct m3fs_node *n = &ra->ctx->nodes[node];
        const char *name = n->name ? n->name : n->host;
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
