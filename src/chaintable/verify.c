/* Verifying a chain table: the hard rules 3FS and the upstream generator
 * enforce, and the balance numbers (docs/chain-table.md). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

#define MAX_LISTED 20 /* error/warning lines printed in the report */

struct vctx {
    const struct ct_table *t;
    const struct ct_expect *exp;
    struct ct_stats *st;
    struct strbuf *rep;
    long listed;
};

static void note(struct vctx *c, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct vctx *c, int error, const char *fmt, ...)
{
    if (error) c->st->errors++;
    else c->st->warnings++;
    if (!c->rep || c->listed++ >= MAX_LISTED) return;
    va_list ap;
    va_start(ap, fmt);
    sb_adds(c->rep, error ? "error: " : "warning: ");
    sb_vaddf(c->rep, fmt, ap);
    sb_addch(c->rep, '\n');
    va_end(ap);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted copy of the chain ids. */
static uint32_t *sorted_chain_ids(const struct ct_table *t)
{
    uint32_t *ids = xmalloc((t->n_chains + 1) * sizeof(*ids));
    for (size_t i = 0; i < t->n_chains; i++) ids[i] = t->chains[i].chain_id;
    qsort(ids, t->n_chains, sizeof(*ids), ct_cmp_u32);
    return ids;
}

/* Rule 3 for chains: ids unique and non-zero (uint32 by type). */
static void check_chain_ids(struct vctx *c, const uint32_t *ids)
{
    for (size_t i = 0; i < c->t->n_chains; i++) {
        if (!ids[i]) note(c, 1, "chain id 0 is not allowed");
        if (i && ids[i] == ids[i - 1]) note(c, 1, "chain %u is listed more than once", ids[i]);
    }
}

/* Rules 1 and 2 (and 4): same size, distinct nodes, disk index in range. */
static void check_chains(struct vctx *c)
{
    const struct ct_table *t = c->t;
    long k = t->n_chains ? (long)t->chains[0].n : 0;
    uint32_t *nodes = NULL;
    size_t alloc = 0;
    c->st->k = k;
    if (c->exp && c->exp->k && k != c->exp->k)
        note(c, 1, "chains have %ld targets but the replication factor is %ld", k, c->exp->k);
    for (size_t i = 0; i < t->n_chains; i++) {
        const struct ct_chain *ch = &t->chains[i];
        if ((long)ch->n != k) {
            note(c, 1, "chain %u has %zu targets, chain %u has %ld (all chains of a table "
                 "need the same count)", ch->chain_id, ch->n, t->chains[0].chain_id, k);
            c->st->k = -1;
        }
        while (alloc < ch->n) ALLOC_GROW(nodes, alloc, alloc);
        size_t n = 0;
        for (size_t j = 0; j < ch->n; j++) {
            const struct ct_target *x = &t->targets[ch->first + j];
            if (x->node_id) nodes[n++] = x->node_id;
            if (c->exp && c->exp->disks && x->disk_index >= (uint32_t)c->exp->disks)
                note(c, 1, "target %llu uses disk index %u but nodes have %ld disks",
                     (unsigned long long)x->target_id, x->disk_index, c->exp->disks);
        }
        qsort(nodes, n, sizeof(*nodes), ct_cmp_u32);
        for (size_t j = 1; j < n; j++)
            if (nodes[j] == nodes[j - 1])
                note(c, 1, "chain %u has two targets on node %u (replicas need distinct "
                     "nodes)", ch->chain_id, nodes[j]);
    }
    free(nodes);
}

/* Rule 3 for targets: unique, non-zero. */
static void check_target_ids(struct vctx *c)
{
    const struct ct_table *t = c->t;
    uint64_t *ids = xmalloc((t->n_targets + 1) * sizeof(*ids));
    for (size_t i = 0; i < t->n_targets; i++) ids[i] = t->targets[i].target_id;
    qsort(ids, t->n_targets, sizeof(*ids), cmp_u64);
    for (size_t i = 0; i < t->n_targets; i++) {
        if (!ids[i]) note(c, 1, "target id 0 is not allowed");
        if (i && ids[i] == ids[i - 1])
            note(c, 1, "target %llu belongs to more than one chain (or twice to one)",
                 (unsigned long long)ids[i]);
    }
    free(ids);
}

/* The chain table lists existing chains once; rule 5 (stripe size). */
static void check_order(struct vctx *c, const uint32_t *ids)
{
    const struct ct_table *t = c->t;
    uint32_t *seen = xmalloc((t->n_order + 1) * sizeof(*seen));
    if (t->n_order) memcpy(seen, t->order, t->n_order * sizeof(*seen)); /* order may be NULL */
    qsort(seen, t->n_order, sizeof(*seen), ct_cmp_u32);
    if (!t->n_order) note(c, 1, "the chain table lists no chains");
    for (size_t i = 0; i < t->n_order; i++) {
        size_t at = ct_find_u32(ids, t->n_chains, seen[i]);
        if (at >= t->n_chains || ids[at] != seen[i])
            note(c, 1, "the chain table lists chain %u, which is not defined", seen[i]);
        if (i && seen[i] == seen[i - 1])
            note(c, 1, "the chain table lists chain %u more than once", seen[i]);
    }
    if (c->exp && c->exp->stripe_size && (long)t->n_order < c->exp->stripe_size)
        note(c, 1, "the chain table has %zu chains, fewer than the stripe size %ld",
             t->n_order, c->exp->stripe_size);
    size_t unlisted = 0;
    for (size_t i = 0; i < t->n_chains; i++) {
        size_t at = ct_find_u32(seen, t->n_order, ids[i]);
        if (at >= t->n_order || seen[at] != ids[i]) unlisted++;
    }
    if (unlisted) note(c, 0, "%zu defined chains are not in the chain table", unlisted);
    free(seen);
}

/* Ids that do not follow the upstream formulas work, but other tools that
 * decode them (migration scripts) will not. */
static void check_id_scheme(struct vctx *c)
{
    const struct ct_table *t = c->t;
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < t->n_targets; i++) {
        const struct ct_target *x = &t->targets[i];
        uint64_t node = x->target_id / 100000 % 1000000, disk = x->target_id / 100 % 1000;
        if (x->node_id && (node != x->node_id || disk != (uint64_t)x->disk_index + 1) &&
            !bad++)
            first = i;
    }
    if (bad)
        note(c, 0, "%zu target ids do not encode their node id and disk index as upstream "
             "does (e.g. %llu on node %u, disk index %u)", bad,
             (unsigned long long)t->targets[first].target_id, t->targets[first].node_id,
             t->targets[first].disk_index);
}

static void summarize(struct vctx *c)
{
    const struct ct_stats *s = c->st;
    struct strbuf *r = c->rep;
    sb_addf(r, "chains: %zu (%ld targets each), targets: %zu on %zu nodes, %zu disk indices\n",
            s->n_chains, s->k, s->n_targets, s->n_nodes, s->n_disks);
    sb_addf(r, "targets per node: %ld..%ld; per node and disk index: %ld..%ld\n",
            s->tgt_node_min, s->tgt_node_max, s->tgt_disk_min, s->tgt_disk_max);
    if (s->lambda_min >= 0)
        sb_addf(r, "pair co-occurrence per disk index (lambda): %ld..%ld, mean mu = %.3f, "
                "ideal band [%ld, %ld]: %s\n", s->lambda_min, s->lambda_max, s->mu,
                s->band_lo, s->band_hi,
                s->lambda_min >= s->band_lo && s->lambda_max <= s->band_hi ? "within"
                                                                           : "outside");
    else
        sb_adds(r, "pair co-occurrence: not measured (fewer than 2 or too many nodes)\n");
    sb_addf(r, "chain heads per node: %ld..%ld (ideal %.2f)\n", s->head_min, s->head_max,
            s->head_ideal);
    sb_addf(r, "%s: %ld errors, %ld warnings\n", s->errors ? "INVALID" : "valid", s->errors,
            s->warnings);
}

long ct_verify(const struct ct_table *t, const struct ct_expect *exp, struct ct_stats *st,
               struct strbuf *report)
{
    struct ct_stats local;
    struct vctx c = { t, exp, st ? st : &local, report, 0 };
    memset(c.st, 0, sizeof(*c.st));
    c.st->n_chains = t->n_chains;
    c.st->n_targets = t->n_targets;
    for (size_t i = 0; i < t->problems.n; i++) note(&c, 1, "%s", t->problems.v[i]);
    uint32_t *ids = sorted_chain_ids(t);
    check_chain_ids(&c, ids);
    check_chains(&c);
    check_target_ids(&c);
    check_order(&c, ids);
    check_id_scheme(&c);
    free(ids);
    ct_measure_balance(t, c.st);
    if (c.st->tgt_disk_min != c.st->tgt_disk_max)
        note(&c, 0, "nodes hold unequal numbers of targets per disk index (%ld..%ld); "
             "upstream requires equal counts", c.st->tgt_disk_min, c.st->tgt_disk_max);
    if (report) {
        if (c.listed > MAX_LISTED)
            sb_addf(report, "(%ld more errors/warnings not listed)\n", c.listed - MAX_LISTED);
        summarize(&c);
    }
    return c.st->errors;
}
