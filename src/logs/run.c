/* logs/run.c: logs_collect() - this machine's files, then every selected
 * node in parallel and the cluster parts beside them, then index.json; the
 * archive is renamed into place at the end (see include/m3fs/logs.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logs-int.h"
#include "m3fs/clock.h"
#include "m3fs/log.h"

static void run_init(struct logs_run *r, const struct logs_opts *o)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    ix_init(&r->ix);
    pthread_mutex_init(&r->mu, NULL);
    r->script = run_script_prefix();
    r->reached = xcalloc(o->cfg->n_nodes ? o->cfg->n_nodes : 1, 1);
}

static void run_release(struct logs_run *r)
{
    ix_release(&r->ix);
    pthread_mutex_destroy(&r->mu);
    sv_clear(&r->masks);
    free(r->script);
    free(r->reached);
}

/* Every selected node in parallel; the unreachable ones into the index. */
static void nodes_phase(struct logs_run *r, struct remote_ctx *rc, struct logs_summary *sum)
{
    const struct logs_opts *o = r->o;
    struct strbuf *errs =
        remote_ctx_run_errs(rc, o->nodes, o->n_nodes, o->parallel, node_collect, r, NULL);
    for (size_t k = 0; k < o->n_nodes; k++) {
        const struct m3fs_node *n = &o->cfg->nodes[o->nodes[k]];
        int reached = r->reached[o->nodes[k]];
        run_mask(r, &errs[k], 0);
        if (!reached) log_warn("%s: unreachable, nothing collected: %s", n->name, errs[k].buf);
        ix_node(&r->ix, n->name, n->host, reached ? NULL : errs[k].buf);
        if (reached) sum->reached++;
        else sum->unreachable++;
    }
    remote_errs_free(errs, o->n_nodes);
}

/* index.json, masked, as the archive's last entry. */
static void write_index(struct logs_run *r, struct logs_summary *sum)
{
    struct ix_meta m = { r->o->cfg->name, r->o->options, r->o->since_s, r->o->max_bytes,
                         time(NULL) };
    sum->parts = r->ix.n;
    sum->failed = r->ix.failed;
    char *json = ix_json(&r->ix, &m);
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, json);
    /* values only: every text in it was masked before; masking keys here
     * could cut through the JSON syntax */
    run_mask_values(r, &sb);
    la_add(&r->ar, "index.json", sb.buf, sb.len);
    sum->bytes = r->ar.bytes;
    sb_release(&sb);
    free(json);
}

static void print_summary(const struct logs_opts *o, const struct logs_summary *s)
{
    printf("wrote %s: %zu part%s (%.1f MiB before compression) from %zu of %zu node%s", o->out_path,
           s->parts, plural_s(s->parts), (double)s->bytes / (1024.0 * 1024.0), s->reached,
           o->n_nodes, plural_s(o->n_nodes));
    if (s->failed || s->unreachable)
        printf("; %zu part%s not collected, %zu node%s unreachable (see index.json)", s->failed,
               plural_s(s->failed), s->unreachable, plural_s(s->unreachable));
    printf("\n");
}

struct cluster_thread {
    struct logs_run *r;
    struct remote_ctx *rc;
};

static void *cluster_main(void *p)
{
    struct cluster_thread *ct = p;
    cluster_remote_parts(ct->r, ct->rc);
    return NULL;
}

/* The cluster parts (a few docker exec on one mgmtd and one fdb node) go
 * on beside the nodes' parts: remote_ctx serves both. */
static void remote_phases(struct logs_run *r, struct logs_summary *sum)
{
    const struct logs_opts *o = r->o;
    struct remote_ctx *rc = remote_ctx_new(o->cfg->nodes, o->cfg->n_nodes, o->ro);
    struct cluster_thread ct = { r, rc };
    pthread_t t;
    int started = !pthread_create(&t, NULL, cluster_main, &ct);
    nodes_phase(r, rc, sum);
    if (started) pthread_join(t, NULL);
    else cluster_remote_parts(r, rc);
    remote_ctx_free(rc);
}

static int collect(struct logs_run *r, struct logs_summary *sum)
{
    const struct logs_opts *o = r->o;
    cluster_local_parts(r);
    log_info("collecting from %zu node%s into %s", o->n_nodes, plural_s(o->n_nodes), o->out_path);
    remote_phases(r, sum);
    write_index(r, sum);
    struct strbuf err = STRBUF_INIT;
    int rc2 = la_finish(&r->ar, &err);
    if (rc2) log_error("%s", err.buf);
    sb_release(&err);
    if (rc2) return 1;
    print_summary(o, sum);
    if (!sum->reached) {
        log_error("no selected node could be reached; the archive holds only this machine's "
                  "files and why (index.json)");
        return 1;
    }
    return 0;
}

int logs_collect(const struct logs_opts *o, struct logs_summary *sum)
{
    struct logs_run r;
    struct strbuf err = STRBUF_INIT;
    memset(sum, 0, sizeof(*sum));
    run_init(&r, o);
    int rc;
    if (la_open(&r.ar, o->out_path, o->force, &err)) {
        log_error("%s", err.buf);
        la_discard(&r.ar);
        rc = 1;
    } else {
        rc = collect(&r, sum);
    }
    sb_release(&err);
    run_release(&r);
    return rc;
}
