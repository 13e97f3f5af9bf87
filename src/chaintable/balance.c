/* Balance numbers of a chain table: targets per node and per (node, disk
 * index), pair co-occurrence lambda per disk index, chain heads per node. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

#define MAX_LAMBDA_NODES 4096
#define MAX_LAMBDA_WORK 4000000000.0 /* disks * nodes^2 */
#define MAX_NODE_DISK_CELLS 50000000.0

struct ids {
    uint32_t *v;
    size_t n;
};

static void make_unique(struct ids *s)
{
    qsort(s->v, s->n, sizeof(*s->v), ct_cmp_u32);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!w || s->v[w - 1] != s->v[i]) s->v[w++] = s->v[i];
    s->n = w;
}

static size_t slot(const struct ids *s, uint32_t x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void range(long x, long *mn, long *mx, int first)
{
    if (first || x < *mn) *mn = x;
    if (first || x > *mx) *mx = x;
}

static void count_targets(const struct ct_table *t, const struct ids *nodes,
                          const struct ids *disks, struct ct_stats *st)
{
    long *per_node = xcalloc(nodes->n + 1, sizeof(*per_node));
    int cells_ok = (double)nodes->n * (double)disks->n <= MAX_NODE_DISK_CELLS;
    long *cell = cells_ok ? xcalloc(nodes->n * disks->n + 1, sizeof(*cell)) : NULL;
    for (size_t i = 0; i < t->n_targets; i++) {
        const struct ct_target *x = &t->targets[i];
        if (!x->node_id) continue;
        size_t n = slot(nodes, x->node_id);
        per_node[n]++;
        if (cell) cell[n * disks->n + slot(disks, x->disk_index)]++;
    }
    st->tgt_disk_min = st->tgt_disk_max = -1;
    for (size_t n = 0; n < nodes->n; n++) {
        range(per_node[n], &st->tgt_node_min, &st->tgt_node_max, n == 0);
        for (size_t d = 0; cell && d < disks->n; d++)
            range(cell[n * disks->n + d], &st->tgt_disk_min, &st->tgt_disk_max,
                  n == 0 && d == 0);
    }
    free(per_node);
    free(cell);
}

static void count_heads(const struct ct_table *t, const struct ids *nodes, struct ct_stats *st)
{
    long *heads = xcalloc(nodes->n + 1, sizeof(*heads));
    for (size_t c = 0; c < t->n_chains; c++) {
        uint32_t id = t->targets[t->chains[c].first].node_id;
        if (id) heads[slot(nodes, id)]++;
    }
    for (size_t n = 0; n < nodes->n; n++) range(heads[n], &st->head_min, &st->head_max, n == 0);
    st->head_ideal = nodes->n ? (double)t->n_chains / (double)nodes->n : 0;
    free(heads);
}

static int cmp_chain_disk(const void *a, const void *b, void *arg)
{
    const struct ct_table *t = arg;
    uint32_t x = t->chains[*(const size_t *)a].disk_index;
    uint32_t y = t->chains[*(const size_t *)b].disk_index;
    return x < y ? -1 : x > y;
}

/* Add one chain's pairs to the upper triangle of lam (saturating). */
static void add_chain_pairs(const struct ct_table *t, const struct ct_chain *ch,
                            const struct ids *nodes, uint16_t *lam)
{
    size_t nn = nodes->n;
    for (size_t i = 0; i < ch->n; i++)
        for (size_t j = i + 1; j < ch->n; j++) {
            uint32_t a = t->targets[ch->first + i].node_id, b = t->targets[ch->first + j].node_id;
            if (!a || !b || a == b) continue;
            size_t x = slot(nodes, a < b ? a : b), y = slot(nodes, a < b ? b : a);
            if (lam[x * nn + y] < UINT16_MAX) lam[x * nn + y]++;
        }
}

/* Scan and clear the upper triangle after one disk index. */
static void scan_pairs(uint16_t *lam, size_t nn, struct ct_stats *st, double *sum, int *first)
{
    for (size_t x = 0; x < nn; x++)
        for (size_t y = x + 1; y < nn; y++) {
            long l = lam[x * nn + y];
            range(l, &st->lambda_min, &st->lambda_max, *first);
            *first = 0;
            *sum += (double)l;
            lam[x * nn + y] = 0;
        }
}

static void measure_lambda(const struct ct_table *t, const struct ids *nodes,
                           const struct ids *disks, struct ct_stats *st)
{
    size_t nn = nodes->n;
    st->lambda_min = st->lambda_max = -1;
    if (nn < 2 || nn > MAX_LAMBDA_NODES ||
        (double)disks->n * (double)nn * (double)nn > MAX_LAMBDA_WORK)
        return;
    size_t *idx = xmalloc((t->n_chains + 1) * sizeof(*idx));
    for (size_t c = 0; c < t->n_chains; c++) idx[c] = c;
    qsort_r(idx, t->n_chains, sizeof(*idx), cmp_chain_disk, (void *)t);
    uint16_t *lam = xcalloc(nn * nn, sizeof(*lam));
    double sum = 0, pairs = (double)nn * (double)(nn - 1) / 2;
    int first = 1;
    for (size_t c = 0; c < t->n_chains; c++) {
        add_chain_pairs(t, &t->chains[idx[c]], nodes, lam);
        if (c + 1 == t->n_chains || t->chains[idx[c + 1]].disk_index !=
                                        t->chains[idx[c]].disk_index)
            scan_pairs(lam, nn, st, &sum, &first);
    }
    st->mu = sum / (pairs * (double)disks->n);
    long total = (long)sum, denom = (long)pairs * (long)disks->n;
    st->band_lo = total / denom;
    st->band_hi = (total + denom - 1) / denom;
    free(lam);
    free(idx);
}

void ct_measure_balance(const struct ct_table *t, struct ct_stats *st)
{
    struct ids nodes = { xmalloc((t->n_targets + 1) * sizeof(uint32_t)), 0 };
    struct ids disks = { xmalloc((t->n_targets + 1) * sizeof(uint32_t)), 0 };
    for (size_t i = 0; i < t->n_targets; i++) {
        if (!t->targets[i].node_id) continue; /* unknown: reported by ct_verify */
        nodes.v[nodes.n++] = t->targets[i].node_id;
        disks.v[disks.n++] = t->targets[i].disk_index;
    }
    make_unique(&nodes);
    make_unique(&disks);
    st->n_nodes = nodes.n;
    st->n_disks = disks.n;
    count_targets(t, &nodes, &disks, st);
    count_heads(t, &nodes, st);
    measure_lambda(t, &nodes, &disks, st);
    free(nodes.v);
    free(disks.v);
}
