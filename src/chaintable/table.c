/* Turning a node-level design into a chain table: IDs, row order, optional
 * head rotation and interleaved chain-table order. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

void ct_table_free(struct ct_table *t)
{
    if (!t) return;
    free(t->chains);
    free(t->targets);
    free(t->order);
    free(t->r_reason);
    sv_clear(&t->problems);
    free(t);
}

static uint32_t node_id_of(const struct ct_params *p, uint32_t n)
{
    return p->node_ids ? p->node_ids[n] : (uint32_t)(p->node_id_begin + n);
}

/* Row order is ascending node id (upstream); with explicit node ids the
 * design's index order may differ, so sort each group by id. */
static void sort_group_by_id(const struct ct_params *p, uint32_t *G, long k)
{
    for (long i = 1; i < k; i++)
        for (long j = i; j > 0 && node_id_of(p, G[j - 1]) > node_id_of(p, G[j]); j--) {
            uint32_t x = G[j];
            G[j] = G[j - 1];
            G[j - 1] = x;
        }
}

/* tidx[g*k+j]: index of group g among the groups of its j-th node (the
 * node's t-th smallest group gets target index t, as upstream). */
static uint32_t *target_indices(const uint32_t *grp, long v, long k, long b)
{
    uint32_t *cnt = xcalloc((size_t)v, sizeof(*cnt));
    uint32_t *tidx = xmalloc((size_t)b * (size_t)k * sizeof(*tidx));
    for (size_t i = 0; i < (size_t)b * (size_t)k; i++) tidx[i] = cnt[grp[i]]++;
    free(cnt);
    return tidx;
}

static void fill(struct ct_table *t, const struct ct_params *p, const uint32_t *grp,
                 const uint32_t *tidx)
{
    size_t c = 0, x = 0;
    for (long disk = 0; disk < p->disks; disk++)
        for (long g = 0; g < t->b; g++) {
            uint32_t cid = (uint32_t)ct_chain_id(p->chain_prefix, disk, g + 1);
            t->chains[c++] = (struct ct_chain){ cid, (uint32_t)disk, x, (size_t)p->k };
            for (long j = 0; j < p->k; j++) {
                size_t at = (size_t)g * (size_t)p->k + (size_t)j;
                uint32_t nid = node_id_of(p, grp[at]);
                t->targets[x++] = (struct ct_target){
                    ct_target_id(p->target_prefix, nid, disk, tidx[at]), nid, (uint32_t)disk, cid
                };
            }
        }
}

/* ---- head rotation ---- */

/* Position (within the chain) of its member with the fewest heads. */
static size_t least_loaded(const struct ct_table *t, const struct ct_chain *ch,
                           const uint32_t *ids, size_t v, const long *heads)
{
    size_t best = 0;
    for (size_t j = 1; j < ch->n; j++)
        if (heads[ct_find_u32(ids, v, t->targets[ch->first + j].node_id)] <
            heads[ct_find_u32(ids, v, t->targets[ch->first + best].node_id)])
            best = j;
    return best;
}

static void reverse(struct ct_target *a, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        struct ct_target x = a[i];
        a[i] = a[n - 1 - i];
        a[n - 1 - i] = x;
    }
}

/* Rotate left so row[head] comes first, keeping the cyclic order. */
static void rotate_row(struct ct_target *row, size_t n, size_t head)
{
    reverse(row, head);
    reverse(row + head, n - head);
    reverse(row, n);
}

/* Greedy (each chain's head = its member with the fewest heads so far), then
 * passes that move a head to a member with at least two fewer heads; each
 * move lowers sum(heads^2), so the passes end. */
static void rotate_heads(struct ct_table *t, const struct ct_params *p)
{
    size_t v = (size_t)p->v;
    uint32_t *ids = xmalloc(v * sizeof(*ids));
    long *heads = xcalloc(v, sizeof(*heads));
    size_t *head = xmalloc(t->n_chains * sizeof(*head));
    for (size_t i = 0; i < v; i++) ids[i] = node_id_of(p, (uint32_t)i);
    qsort(ids, v, sizeof(*ids), ct_cmp_u32);
    for (size_t c = 0; c < t->n_chains; c++) {
        head[c] = least_loaded(t, &t->chains[c], ids, v, heads);
        heads[ct_find_u32(ids, v, t->targets[t->chains[c].first + head[c]].node_id)]++;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t c = 0; c < t->n_chains; c++) {
            const struct ct_chain *ch = &t->chains[c];
            size_t h = ct_find_u32(ids, v, t->targets[ch->first + head[c]].node_id);
            size_t j = least_loaded(t, ch, ids, v, heads);
            size_t m = ct_find_u32(ids, v, t->targets[ch->first + j].node_id);
            if (heads[m] + 1 >= heads[h]) continue;
            heads[h]--;
            heads[m]++;
            head[c] = j;
            changed = 1;
        }
    }
    for (size_t c = 0; c < t->n_chains; c++)
        rotate_row(t->targets + t->chains[c].first, t->chains[c].n, head[c]);
    free(ids);
    free(heads);
    free(head);
}

static void make_order(struct ct_table *t, const struct ct_params *p)
{
    t->n_order = t->n_chains;
    t->order = xmalloc(t->n_order * sizeof(*t->order));
    size_t i = 0;
    if (!p->interleave) {
        for (size_t c = 0; c < t->n_chains; c++) t->order[i++] = t->chains[c].chain_id;
        return;
    }
    for (long g = 0; g < t->b; g++)
        for (long disk = 0; disk < p->disks; disk++)
            t->order[i++] = t->chains[(size_t)disk * (size_t)t->b + (size_t)g].chain_id;
}

int ct_generate(const struct ct_params *p, struct ct_table **out, struct strbuf *err)
{
    struct strbuf why = STRBUF_INIT;
    long r, b;
    *out = NULL;
    if (ct_choose_r(p->v, p->k, p->r_min, &r, &why)) {
        sb_add(err, why.buf, why.len);
        sb_release(&why);
        return -1;
    }
    if (ct_check_params(p, r, err)) {
        sb_release(&why);
        return -1;
    }
    uint32_t *grp = ct_design(p->v, p->k, r, p->seed, &b);
    for (long g = 0; g < b; g++) sort_group_by_id(p, grp + g * p->k, p->k);
    uint32_t *tidx = target_indices(grp, p->v, p->k, b);
    struct ct_table *t = xcalloc(1, sizeof(*t));
    t->v = p->v, t->k = p->k, t->r = r, t->b = b, t->disks = p->disks;
    t->r_reason = sb_detach(&why);
    t->n_chains = (size_t)b * (size_t)p->disks;
    t->n_targets = t->n_chains * (size_t)p->k;
    t->chains = xmalloc(t->n_chains * sizeof(*t->chains));
    t->targets = xmalloc(t->n_targets * sizeof(*t->targets));
    fill(t, p, grp, tidx);
    free(grp);
    free(tidx);
    if (p->rotate_heads) rotate_heads(t, p);
    make_order(t, p);
    *out = t;
    return 0;
}
