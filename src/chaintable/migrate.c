/* Planning a chain-table migration: add and/or drain storage nodes of a table
 * in use (docs/scale.md, "The planner").
 *
 * Per disk index, independently:
 *  1. share: the b*k replicas of the existing chains are spread so that every
 *     remaining node holds floor(b*k/v') or ceil(b*k/v') of them; the +1
 *     goes to the nodes that hold the most now (fewest moves).
 *  2. moves: while a node holds more than its share (every node being
 *     removed holds more than 0), one of its replicas moves to a node below
 *     its share.  Each move is the cheapest (chain, receiver) among the
 *     donor's chains and the receivers with the largest deficit: chains
 *     without a move first, then the smallest increase of pair
 *     co-occurrence lambda.  The count is sum(max(0, held - share)), the
 *     fewest any balanced result needs, plus a detour (one extra move) each
 *     time every receiver is already in all of the donor's chains.
 *  3. new chains: b' - b chains fill every node up to r' targets, built by
 *     the generator's greedy (forced nodes first, then fewest shared chains),
 *     then pairs sharing more than ceil(mu) chains are repaired by swapping
 *     nodes between new chains.
 * A moved replica is appended at the chain's tail, as update-chain --mode
 * add does in 3FS (src/mgmtd/ops/UpdateChainOperation.cc). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

#define RCAND 32            /* receivers scored per move */
#define DCAND 4             /* donors scored per move */
#define MOVED_WEIGHT 100000L /* a chain's second move costs more than any lambda */
#define SLOT_FREE 0
#define SLOT_USED 1
#define SLOT_FREED 2

struct newchain {
    uint32_t id, disk, g;
    size_t first; /* into plan.nrow */
};

struct plan {
    const struct ct_table *cur;
    long k, disks, r, v_after;
    uint64_t tprefix, cprefix;
    uint32_t *ids;   /* all node ids (old and added), ascending */
    size_t n;
    uint8_t *gone;   /* per node: being drained */
    uint64_t *old_tids; /* existing target ids, ascending */
    struct ct_target *rows; /* copy of cur->targets, edited in place */
    uint32_t *ni;    /* node index of each row */
    /* per disk */
    uint32_t disk;
    size_t *cl;      /* chains (index into cur->chains) on this disk */
    size_t b;
    uint8_t *lam;    /* n*n */
    long *cnt, *share;
    uint32_t *nmoved; /* per chain of the disk */
    uint8_t *slot;   /* n*CT_MAX_R target-index use */
    size_t **nc;     /* per node: disk-local chain indices holding it */
    size_t *nnc, *anc;
    uint32_t rot;
    size_t detours;
    /* results */
    struct ct_move *moves;
    size_t n_moves, a_moves;
    struct newchain *newc;
    size_t n_newc, a_newc;
    struct ct_target *nrow; /* targets of new chains */
    size_t n_nrow, a_nrow;
    struct strbuf *err;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t node_index(const struct plan *pl, uint32_t id)
{
    return ct_find_u32(pl->ids, pl->n, id);
}

static int has_id(const uint32_t *v, size_t n, uint32_t x)
{
    size_t at = ct_find_u32(v, n, x);
    return at < n && v[at] == x;
}

static int old_tid_exists(const struct plan *pl, uint64_t id)
{
    return bsearch(&id, pl->old_tids, pl->cur->n_targets, sizeof(id), cmp_u64) != NULL;
}

/* ---- input checks and the node set ---- */

static int check_chains(struct plan *pl)
{
    const struct ct_table *t = pl->cur;
    if (!t->n_chains) {
        sb_adds(pl->err, "the current chain table has no chains");
        return -1;
    }
    for (size_t c = 0; c < t->n_chains; c++) {
        const struct ct_chain *ch = &t->chains[c];
        if ((long)ch->n != pl->k) {
            sb_addf(pl->err, "chain %u has %zu targets but the replication factor is %ld",
                    ch->chain_id, ch->n, pl->k);
            return -1;
        }
        for (size_t j = 0; j < ch->n; j++) {
            const struct ct_target *x = &t->targets[ch->first + j];
            if (x->disk_index != ch->disk_index || x->disk_index >= (uint32_t)pl->disks) {
                sb_addf(pl->err, "target %llu of chain %u is on disk index %u; the planner "
                        "needs every chain on one disk index below %ld (disks per node)",
                        (unsigned long long)x->target_id, ch->chain_id, x->disk_index,
                        pl->disks);
                return -1;
            }
        }
    }
    return 0;
}

static uint32_t *sorted_unique(const uint32_t *v, size_t n, size_t *out_n)
{
    uint32_t *s = xmalloc((n + 1) * sizeof(*s));
    if (n) memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), ct_cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || s[m - 1] != s[i]) s[m++] = s[i];
    *out_n = m;
    return s;
}

static int check_add(struct plan *pl, const uint32_t *old, size_t n_old,
                     const struct ct_migrate_params *p)
{
    for (size_t i = 0; i < p->n_add; i++) {
        if (p->add[i] < 1 || p->add[i] > CT_MAX_NODE_ID) {
            sb_addf(pl->err, "storage node id %u is out of range: it must be 1..%d",
                    p->add[i], CT_MAX_NODE_ID);
            return -1;
        }
        if (has_id(old, n_old, p->add[i])) {
            sb_addf(pl->err, "storage node %u is already in the chain table", p->add[i]);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (p->add[j] == p->add[i]) {
                sb_addf(pl->err, "storage node %u is listed twice to be added", p->add[i]);
                return -1;
            }
    }
    return 0;
}

static int check_remove(struct plan *pl, const uint32_t *old, size_t n_old,
                        const struct ct_migrate_params *p)
{
    for (size_t i = 0; i < p->n_remove; i++)
        if (!has_id(old, n_old, p->remove[i])) {
            sb_addf(pl->err, "storage node %u holds no target of the chain table, so there "
                    "is nothing to remove", p->remove[i]);
            return -1;
        }
    return 0;
}

/* ids = old nodes and added ones; gone[] marks the ones to drain. */
static int make_nodes(struct plan *pl, const struct ct_migrate_params *p)
{
    const struct ct_table *t = pl->cur;
    uint32_t *all = xmalloc((t->n_targets + p->n_add + 1) * sizeof(*all));
    size_t n_old, m = 0;
    for (size_t i = 0; i < t->n_targets; i++) all[m++] = t->targets[i].node_id;
    uint32_t *old = sorted_unique(all, m, &n_old);
    int rc = check_add(pl, old, n_old, p) || check_remove(pl, old, n_old, p) ? -1 : 0;
    for (size_t i = 0; i < p->n_add; i++) all[m++] = p->add[i];
    free(old);
    pl->ids = sorted_unique(all, m, &pl->n);
    free(all);
    if (rc) return -1;
    size_t n_gone;
    uint32_t *rm = sorted_unique(p->remove, p->n_remove, &n_gone);
    pl->gone = xcalloc(pl->n, 1);
    for (size_t i = 0; i < n_gone; i++) pl->gone[node_index(pl, rm[i])] = 1;
    free(rm);
    pl->v_after = (long)(pl->n - n_gone);
    if (pl->v_after < pl->k) {
        sb_addf(pl->err, "refused: %zu storage node(s) would remain, fewer than the "
                "replication factor %ld (every chain needs its %ld replicas on distinct "
                "nodes); remove fewer nodes or add others first", pl->n - n_gone, pl->k,
                pl->k);
        return -1;
    }
    if (pl->v_after > CT_MAX_NODES) {
        sb_addf(pl->err, "%ld storage nodes: at most %d are supported", pl->v_after,
                CT_MAX_NODES);
        return -1;
    }
    return 0;
}

/* r' = ct_choose_r over the new node count, at least the request and at least
 * what holds the existing chains of the fullest disk index. */
static int choose_r(struct plan *pl, long r_min, char **reason)
{
    long *b = xcalloc((size_t)pl->disks, sizeof(*b)), need = r_min, bmax = 0;
    for (size_t c = 0; c < pl->cur->n_chains; c++) b[pl->cur->chains[c].disk_index]++;
    for (long d = 0; d < pl->disks; d++) {
        long q = (b[d] * pl->k + pl->v_after - 1) / pl->v_after;
        if (q > need) need = q;
        if (b[d] > bmax) bmax = b[d];
    }
    free(b);
    struct strbuf why = STRBUF_INIT;
    if (ct_choose_r(pl->v_after, pl->k, need, &pl->r, &why)) {
        sb_addf(pl->err, "refused: %ld nodes cannot hold the %ld existing chains of a disk "
                "index with equal targets per node: %s", pl->v_after, bmax, why.buf);
        sb_release(&why);
        return -1;
    }
    *reason = sb_detach(&why);
    return 0;
}

/* ---- per-disk state ---- */

static void disk_reset(struct plan *pl, uint32_t disk)
{
    const struct ct_table *t = pl->cur;
    pl->disk = disk;
    pl->b = 0;
    for (size_t c = 0; c < t->n_chains; c++)
        if (t->chains[c].disk_index == disk) pl->cl[pl->b++] = c;
    memset(pl->lam, 0, pl->n * pl->n);
    memset(pl->cnt, 0, pl->n * sizeof(*pl->cnt));
    memset(pl->slot, SLOT_FREE, pl->n * CT_MAX_R);
    for (size_t i = 0; i < pl->n; i++) pl->nnc[i] = 0;
    for (size_t i = 0; i < pl->b; i++) {
        const struct ct_chain *ch = &t->chains[pl->cl[i]];
        pl->nmoved[i] = 0;
        for (size_t j = 0; j < ch->n; j++) {
            uint32_t a = pl->ni[ch->first + j];
            pl->cnt[a]++;
            ALLOC_GROW(pl->nc[a], pl->nnc[a], pl->anc[a]);
            pl->nc[a][pl->nnc[a]++] = i;
            for (size_t m = 0; m < j; m++) {
                pl->lam[(size_t)a * pl->n + pl->ni[ch->first + m]]++;
                pl->lam[(size_t)pl->ni[ch->first + m] * pl->n + a]++;
            }
        }
    }
}

/* Target index of an id that encodes node and disk as upstream does, else -1. */
static long tindex_of(const struct plan *pl, uint64_t id, uint32_t node)
{
    if (id / 100000 % 1000000 != node || id / 100 % 1000 != (uint64_t)pl->disk + 1) return -1;
    long t = (long)(id % 100) - 1;
    return t >= 0 && t < CT_MAX_R ? t : -1;
}

static void mark_slots(struct plan *pl)
{
    for (size_t i = 0; i < pl->cur->n_targets; i++) {
        const struct ct_target *x = &pl->rows[i];
        if (x->disk_index != pl->disk) continue;
        long t = tindex_of(pl, x->target_id, x->node_id);
        if (t >= 0) pl->slot[(size_t)pl->ni[i] * CT_MAX_R + (size_t)t] = SLOT_USED;
    }
}

/* New target id on node a of this disk: a never-used index first, then one
 * freed by this plan; 0 if none is left. */
static uint64_t alloc_tid(struct plan *pl, uint32_t a)
{
    uint8_t *s = pl->slot + (size_t)a * CT_MAX_R;
    for (int pass = 0; pass < 2; pass++)
        for (long t = 0; t < CT_MAX_R; t++) {
            if (s[t] != (pass ? SLOT_FREED : SLOT_FREE)) continue;
            uint64_t id = ct_target_id((long)pl->tprefix, pl->ids[a], pl->disk, t);
            if (old_tid_exists(pl, id)) continue;
            s[t] = SLOT_USED;
            return id;
        }
    sb_addf(pl->err, "storage node %u has no free target index (1..%d) left on disk index "
            "%u", pl->ids[a], CT_MAX_R, pl->disk);
    return 0;
}

/* ---- moves ---- */

static void compute_shares(struct plan *pl)
{
    size_t *ord = xmalloc(pl->n * sizeof(*ord)), m = 0;
    long total = (long)pl->b * pl->k;
    for (size_t i = 0; i < pl->n; i++)
        if (!pl->gone[i]) ord[m++] = i;
    /* insertion sort by count, descending (stable: ascending id on ties) */
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && pl->cnt[ord[j - 1]] < pl->cnt[ord[j]]; j--) {
            size_t x = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = x;
        }
    for (size_t i = 0; i < pl->n; i++) pl->share[i] = 0;
    for (size_t i = 0; i < m; i++)
        pl->share[ord[i]] = total / pl->v_after + ((long)i < total % pl->v_after);
    free(ord);
}

static long surplus(const struct plan *pl, size_t a)
{
    return pl->cnt[a] - pl->share[a];
}

/* Up to max receivers, largest deficit first, scanning from a rotating
 * start so equal ones take turns. */
static size_t receivers(struct plan *pl, size_t *cand, size_t max)
{
    long top = 0;
    size_t m = 0;
    for (size_t i = 0; i < pl->n; i++)
        if (!pl->gone[i] && -surplus(pl, i) > top) top = -surplus(pl, i);
    pl->rot++;
    for (long d = top; d > 0 && m < max; d--)
        for (size_t s = 0; s < pl->n && m < max; s++) {
            size_t i = (s + pl->rot) % pl->n;
            if (!pl->gone[i] && -surplus(pl, i) == d) cand[m++] = i;
        }
    return m;
}

static const struct ct_chain *dchain(const struct plan *pl, size_t i)
{
    return &pl->cur->chains[pl->cl[i]];
}

static int chain_has(const struct plan *pl, size_t i, uint32_t a)
{
    const struct ct_chain *ch = dchain(pl, i);
    for (size_t j = 0; j < ch->n; j++)
        if (pl->ni[ch->first + j] == a) return 1;
    return 0;
}

struct choice {
    size_t chain; /* disk-local */
    uint32_t from, to;
    long cost;
    int found;
};

static void score(const struct plan *pl, size_t i, uint32_t from, uint32_t to,
                  struct choice *best)
{
    const struct ct_chain *ch = dchain(pl, i);
    long cost = (long)pl->nmoved[i] * MOVED_WEIGHT;
    for (size_t j = 0; j < ch->n; j++) {
        uint32_t m = pl->ni[ch->first + j];
        if (m == from) continue;
        if (pl->gone[m]) cost += MOVED_WEIGHT; /* that replica must move too */
        cost += pl->lam[(size_t)to * pl->n + m] - pl->lam[(size_t)from * pl->n + m];
    }
    if (!best->found || cost < best->cost) *best = (struct choice){ i, from, to, cost, 1 };
}

/* Every node below its share is in each of the donor's chains (small
 * tables near the end): give the replica to a node at its share instead; it
 * passes one of its own on later, which costs one extra move (a detour).
 * When even those are all in the chains, a node above its share takes it. */
static void detour(struct plan *pl, uint32_t from, struct choice *best)
{
    for (int any = 0; any < 2 && !best->found; any++) /* nodes above their share last */
        for (size_t a = 0; a < pl->n; a++) {
            if (pl->gone[a] || a == from || (!any && surplus(pl, a) > 0)) continue;
            for (size_t x = 0; x < pl->nnc[from]; x++)
                if (!chain_has(pl, pl->nc[from][x], (uint32_t)a))
                    score(pl, pl->nc[from][x], from, (uint32_t)a, best);
        }
    if (best->found) pl->detours++;
}

/* Best move of a replica of one of the donors to one of the receivers with
 * the largest deficit (all receivers if none of those fits, then a detour). */
static int choose_move(struct plan *pl, const size_t *donors, size_t nd, struct choice *best)
{
    size_t *cand = xmalloc(pl->n * sizeof(*cand));
    best->found = 0;
    for (size_t lim = RCAND; !best->found; lim = pl->n) {
        size_t m = receivers(pl, cand, lim);
        for (size_t d = 0; d < nd; d++) {
            uint32_t from = (uint32_t)donors[d];
            for (size_t c = 0; c < m; c++)
                for (size_t x = 0; x < pl->nnc[from]; x++)
                    if (!chain_has(pl, pl->nc[from][x], (uint32_t)cand[c]))
                        score(pl, pl->nc[from][x], from, (uint32_t)cand[c], best);
        }
        if (lim >= pl->n) break;
    }
    free(cand);
    if (!best->found) detour(pl, (uint32_t)donors[0], best);
    if (!best->found)
        sb_addf(pl->err, "cannot move a replica off storage node %u on disk index %u: every "
                "other node is already in each of its chains", pl->ids[donors[0]], pl->disk);
    return best->found ? 0 : -1;
}

static void unlist_chain(struct plan *pl, uint32_t a, size_t i)
{
    for (size_t x = 0; x < pl->nnc[a]; x++)
        if (pl->nc[a][x] == i) {
            pl->nc[a][x] = pl->nc[a][--pl->nnc[a]];
            return;
        }
}

static void lam_members(struct plan *pl, size_t i, uint32_t a, int delta)
{
    const struct ct_chain *ch = dchain(pl, i);
    for (size_t j = 0; j < ch->n; j++) {
        uint32_t m = pl->ni[ch->first + j];
        if (m == a) continue;
        pl->lam[(size_t)a * pl->n + m] = (uint8_t)(pl->lam[(size_t)a * pl->n + m] + delta);
        pl->lam[(size_t)m * pl->n + a] = (uint8_t)(pl->lam[(size_t)m * pl->n + a] + delta);
    }
}

/* Take c->from out of chain c->chain and append c->to at its tail with a
 * new target id. */
static int apply_move(struct plan *pl, const struct choice *c)
{
    uint32_t from = c->from;
    const struct ct_chain *ch = dchain(pl, c->chain);
    struct ct_target *row = pl->rows + ch->first;
    uint32_t *ni = pl->ni + ch->first;
    size_t j = 0;
    while (ni[j] != from) j++;
    uint64_t tid = alloc_tid(pl, c->to);
    if (!tid) return -1;
    long t = tindex_of(pl, row[j].target_id, row[j].node_id);
    if (t >= 0) pl->slot[(size_t)from * CT_MAX_R + (size_t)t] = SLOT_FREED;
    lam_members(pl, c->chain, from, -1);
    ALLOC_GROW(pl->moves, pl->n_moves, pl->a_moves);
    pl->moves[pl->n_moves++] = (struct ct_move){
        ch->chain_id, pl->nmoved[c->chain]++, pl->disk, pl->ids[from], pl->ids[c->to],
        row[j].target_id, tid
    };
    memmove(row + j, row + j + 1, (ch->n - j - 1) * sizeof(*row));
    memmove(ni + j, ni + j + 1, (ch->n - j - 1) * sizeof(*ni));
    row[ch->n - 1] = (struct ct_target){ tid, pl->ids[c->to], pl->disk, ch->chain_id };
    ni[ch->n - 1] = c->to;
    lam_members(pl, c->chain, c->to, +1);
    pl->cnt[from]--;
    pl->cnt[c->to]++;
    unlist_chain(pl, from, c->chain);
    ALLOC_GROW(pl->nc[c->to], pl->nnc[c->to], pl->anc[c->to]);
    pl->nc[c->to][pl->nnc[c->to]++] = c->chain;
    return 0;
}

/* The moves a disk index needs; detours add one each, and the budget
 * stops a cycle of detours. */
static size_t needed_moves(const struct plan *pl)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->n; i++)
        if (surplus(pl, i) > 0) n += (size_t)surplus(pl, i);
    return n;
}

/* Up to DCAND nodes with the largest surplus (rotating among equals); 0
 * when no node is above its share. */
static size_t donors(struct plan *pl, size_t *dn)
{
    long top = 0;
    size_t m = 0;
    for (size_t i = 0; i < pl->n; i++)
        if (surplus(pl, i) > top) top = surplus(pl, i);
    for (size_t s = 0; top > 0 && s < pl->n && m < DCAND; s++) {
        size_t i = (s + pl->rot) % pl->n;
        if (surplus(pl, i) == top) dn[m++] = i;
    }
    return m;
}

static int plan_moves(struct plan *pl)
{
    size_t budget = 2 * needed_moves(pl) + 16, *dn = xmalloc(DCAND * sizeof(*dn));
    for (size_t done = 0;; done++) {
        if (done > budget) {
            sb_addf(pl->err, "no balanced placement found on disk index %u after %zu moves",
                    pl->disk, done);
            free(dn);
            return -1;
        }
        size_t nd = donors(pl, dn);
        if (!nd) break;
        struct choice c;
        if (choose_move(pl, dn, nd, &c) || apply_move(pl, &c)) {
            free(dn);
            return -1;
        }
    }
    free(dn);
    return 0;
}

/* ---- new chains ---- */

/* Free node for a new chain: fewest chains shared with the ones chosen, then
 * most slots left. */
static long pick(struct plan *pl, const long *rem, const uint32_t *S, long m)
{
    long best = -1, best_cost = 0;
    for (size_t s = 0; s < pl->n; s++) {
        size_t a = (s + pl->rot) % pl->n;
        int taken = 0;
        long cost = 0;
        for (long j = 0; j < m; j++) {
            taken |= S[j] == a;
            cost += pl->lam[a * pl->n + S[j]];
        }
        if (!rem[a] || taken) continue;
        if (best < 0 || cost < best_cost || (cost == best_cost && rem[a] > rem[best])) {
            best = (long)a;
            best_cost = cost;
        }
    }
    pl->rot++;
    return best;
}

static uint32_t next_chain_index(const struct plan *pl)
{
    uint32_t top = 0;
    for (size_t i = 0; i < pl->b; i++) {
        uint32_t id = dchain(pl, i)->chain_id;
        if (id / 100000 % 1000 == pl->disk + 1 && id % 100000 > top) top = id % 100000;
    }
    return top + 1;
}

static int add_chain(struct plan *pl, uint32_t *S, uint32_t g, uint32_t index)
{
    uint64_t cid = ct_chain_id((long)pl->cprefix, pl->disk, index);
    if (index > CT_MAX_CHAIN_INDEX || cid > UINT32_MAX) {
        sb_addf(pl->err, "a new chain on disk index %u would need chain index %u (id %llu): "
                "above the 5 digits or 32 bits a chain id has", pl->disk, index,
                (unsigned long long)cid);
        return -1;
    }
    for (long i = 1; i < pl->k; i++) /* row order: ascending node id, as upstream */
        for (long j = i; j > 0 && S[j - 1] > S[j]; j--) {
            uint32_t x = S[j];
            S[j] = S[j - 1];
            S[j - 1] = x;
        }
    ALLOC_GROW(pl->newc, pl->n_newc, pl->a_newc);
    pl->newc[pl->n_newc++] = (struct newchain){ (uint32_t)cid, pl->disk, g, pl->n_nrow };
    for (long j = 0; j < pl->k; j++) {
        uint64_t tid = alloc_tid(pl, S[j]);
        if (!tid) return -1;
        ALLOC_GROW(pl->nrow, pl->n_nrow, pl->a_nrow);
        pl->nrow[pl->n_nrow++] = (struct ct_target){ tid, pl->ids[S[j]], pl->disk, (uint32_t)cid };
        for (long m = 0; m < j; m++) {
            pl->lam[(size_t)S[j] * pl->n + S[m]]++;
            pl->lam[(size_t)S[m] * pl->n + S[j]]++;
        }
    }
    return 0;
}

/* Invariant (as in design.c's greedy): rem[a] <= chains left and sum(rem) =
 * k * chains left; nodes with rem = chains left are forced in. */
static int plan_new_chains(struct plan *pl)
{
    long total = pl->v_after * pl->r / pl->k - (long)pl->b;
    long *rem = xcalloc(pl->n, sizeof(*rem));
    uint32_t *S = xmalloc((size_t)pl->k * sizeof(*S));
    uint32_t index = next_chain_index(pl);
    int rc = 0;
    for (size_t a = 0; a < pl->n; a++) rem[a] = pl->gone[a] ? 0 : pl->r - pl->cnt[a];
    for (long g = 0; g < total && !rc; g++) {
        long m = 0, left = total - g;
        for (size_t a = 0; a < pl->n && m < pl->k; a++)
            if (rem[a] == left) S[m++] = (uint32_t)a;
        for (; m < pl->k; m++) {
            long a = pick(pl, rem, S, m);
            if (a < 0) break;
            S[m] = (uint32_t)a;
        }
        if (m < pl->k) {
            sb_addf(pl->err, "cannot fill new chain %ld of %ld on disk index %u with %ld "
                    "distinct nodes", g + 1, total, pl->disk, pl->k);
            rc = -1;
            break;
        }
        for (long j = 0; j < pl->k; j++) rem[S[j]]--;
        rc = add_chain(pl, S, (uint32_t)g, index + (uint32_t)g);
    }
    free(rem);
    free(S);
    return rc;
}

/* ---- repair: the greedy's forced picks can leave a pair of nodes sharing
 * more chains than ceil(mu); swapping a node of that new chain with a node
 * of another new chain (both keep their target, so ids stay valid) fixes
 * most of them.  Only new chains change: they hold no data yet. ---- */

static struct ct_target *nrow_of(struct plan *pl, size_t c)
{
    return pl->nrow + pl->newc[c].first;
}

static int row_has(const struct ct_target *row, long k, uint32_t id)
{
    for (long j = 0; j < k; j++)
        if (row[j].node_id == id) return 1;
    return 0;
}

/* Change lambda for node a (index) against every other member of row. */
static void lam_row(struct plan *pl, const struct ct_target *row, uint32_t a, int delta)
{
    for (long j = 0; j < pl->k; j++) {
        uint32_t m = (uint32_t)node_index(pl, row[j].node_id);
        if (m == a) continue;
        pl->lam[(size_t)a * pl->n + m] = (uint8_t)(pl->lam[(size_t)a * pl->n + m] + delta);
        pl->lam[(size_t)m * pl->n + a] = (uint8_t)(pl->lam[(size_t)m * pl->n + a] + delta);
    }
}

static long over_row(const struct plan *pl, const struct ct_target *row, uint32_t a, long hi)
{
    long c = 0;
    for (long j = 0; j < pl->k; j++) {
        uint32_t m = (uint32_t)node_index(pl, row[j].node_id);
        if (m != a && pl->lam[(size_t)a * pl->n + m] > hi) c++;
    }
    return c;
}

static long over_swap(const struct plan *pl, struct ct_target *g, uint32_t x, struct ct_target *h,
                      uint32_t z, long hi)
{
    return over_row(pl, g, x, hi) + over_row(pl, h, x, hi) + over_row(pl, g, z, hi) +
           over_row(pl, h, z, hi);
}

/* Swap row entries gx (node x, in g) and hz (node z, in h), lambda too. */
static void swap_members(struct plan *pl, struct ct_target *g, size_t jx, struct ct_target *h,
                         size_t jz)
{
    uint32_t x = (uint32_t)node_index(pl, g[jx].node_id);
    uint32_t z = (uint32_t)node_index(pl, h[jz].node_id);
    lam_row(pl, g, x, -1);
    lam_row(pl, h, z, -1);
    struct ct_target tx = g[jx], tz = h[jz];
    g[jx] = (struct ct_target){ tz.target_id, tz.node_id, tz.disk_index, tx.chain_id };
    h[jz] = (struct ct_target){ tx.target_id, tx.node_id, tx.disk_index, tz.chain_id };
    lam_row(pl, g, z, +1);
    lam_row(pl, h, x, +1);
}

/* Try to move node g[jx] out of chain g; 1 if a swap lowered the count of
 * over-band pairs. */
static int repair_one(struct plan *pl, size_t first, size_t gi, size_t jx, long hi)
{
    struct ct_target *g = nrow_of(pl, gi);
    for (size_t hi_c = first; hi_c < pl->n_newc; hi_c++) {
        struct ct_target *h = nrow_of(pl, hi_c);
        if (hi_c == gi || row_has(h, pl->k, g[jx].node_id)) continue;
        for (size_t jz = 0; jz < (size_t)pl->k; jz++) {
            if (row_has(g, pl->k, h[jz].node_id)) continue;
            uint32_t x = (uint32_t)node_index(pl, g[jx].node_id);
            uint32_t z = (uint32_t)node_index(pl, h[jz].node_id);
            long before = over_swap(pl, g, x, h, z, hi);
            swap_members(pl, g, jx, h, jz);
            if (over_swap(pl, g, x, h, z, hi) < before) return 1;
            swap_members(pl, g, jx, h, jz); /* undo: the same swap again */
        }
    }
    return 0;
}

static void sort_row(struct ct_target *row, long k)
{
    for (long i = 1; i < k; i++)
        for (long j = i; j > 0 && row[j - 1].node_id > row[j].node_id; j--) {
            struct ct_target x = row[j];
            row[j] = row[j - 1];
            row[j - 1] = x;
        }
}

static void repair_new_chains(struct plan *pl, size_t first)
{
    long hi = pl->v_after > 1 ? (pl->r * (pl->k - 1) + pl->v_after - 2) / (pl->v_after - 1) : 0;
    for (size_t gi = first; gi < pl->n_newc; gi++) {
        struct ct_target *g = nrow_of(pl, gi);
        for (size_t jx = 0; jx < (size_t)pl->k; jx++) {
            uint32_t x = (uint32_t)node_index(pl, g[jx].node_id);
            if (over_row(pl, g, x, hi)) repair_one(pl, first, gi, jx, hi);
        }
    }
    for (size_t gi = first; gi < pl->n_newc; gi++) sort_row(nrow_of(pl, gi), pl->k);
}

/* ---- assembling the result ---- */

static int cmp_move(const void *a, const void *b)
{
    const struct ct_move *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return x->chain_id < y->chain_id ? -1 : x->chain_id > y->chain_id;
}

static int cmp_newc_order(const void *a, const void *b)
{
    const struct newchain *x = a, *y = b;
    if (x->g != y->g) return x->g < y->g ? -1 : 1;
    return x->disk < y->disk ? -1 : x->disk > y->disk;
}

struct src_chain {
    uint32_t id;
    const struct ct_target *row;
};

static int cmp_src(const void *a, const void *b)
{
    const struct src_chain *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void fill_chains(struct ct_table *t, const struct plan *pl)
{
    const struct ct_table *cur = pl->cur;
    struct src_chain *src = xmalloc(t->n_chains * sizeof(*src));
    size_t c = 0, x = 0;
    for (size_t i = 0; i < cur->n_chains; i++)
        src[c++] = (struct src_chain){ cur->chains[i].chain_id, pl->rows + cur->chains[i].first };
    for (size_t i = 0; i < pl->n_newc; i++)
        src[c++] = (struct src_chain){ pl->newc[i].id, pl->nrow + pl->newc[i].first };
    qsort(src, c, sizeof(*src), cmp_src);
    for (size_t i = 0; i < c; i++) {
        t->chains[i] = (struct ct_chain){ src[i].id, src[i].row[0].disk_index, x, (size_t)pl->k };
        memcpy(t->targets + x, src[i].row, (size_t)pl->k * sizeof(*t->targets));
        x += (size_t)pl->k;
    }
    free(src);
}

/* Chain-table order: the current order, then the new chains index-major
 * across disk indices (consecutive ones on different disks). */
static void fill_order(struct ct_table *t, struct plan *pl)
{
    const struct ct_table *cur = pl->cur;
    t->n_order = cur->n_order + pl->n_newc;
    t->order = xmalloc((t->n_order + 1) * sizeof(*t->order));
    if (cur->n_order) memcpy(t->order, cur->order, cur->n_order * sizeof(*t->order));
    if (pl->n_newc) qsort(pl->newc, pl->n_newc, sizeof(*pl->newc), cmp_newc_order);
    for (size_t i = 0; i < pl->n_newc; i++) t->order[cur->n_order + i] = pl->newc[i].id;
}

static struct ct_migration *assemble(struct plan *pl, char *reason, long v_before)
{
    struct ct_migration *m = xcalloc(1, sizeof(*m));
    struct ct_table *t = xcalloc(1, sizeof(*t));
    t->n_chains = pl->cur->n_chains + pl->n_newc;
    t->n_targets = t->n_chains * (size_t)pl->k;
    t->chains = xmalloc(t->n_chains * sizeof(*t->chains));
    t->targets = xmalloc(t->n_targets * sizeof(*t->targets));
    t->v = pl->v_after, t->k = pl->k, t->r = pl->r, t->disks = pl->disks;
    t->b = pl->v_after * pl->r / pl->k;
    t->r_reason = reason;
    fill_chains(t, pl);
    fill_order(t, pl);
    m->after = t;
    if (pl->n_moves) qsort(pl->moves, pl->n_moves, sizeof(*pl->moves), cmp_move);
    m->moves = pl->moves, m->n_moves = pl->n_moves;
    pl->moves = NULL;
    for (size_t i = 0; i < m->n_moves; i++)
        if ((long)m->moves[i].step + 1 > m->max_steps) m->max_steps = m->moves[i].step + 1;
    m->n_new_chains = pl->n_newc;
    m->new_chains = xmalloc((pl->n_newc + 1) * sizeof(*m->new_chains));
    for (size_t i = 0; i < pl->n_newc; i++) m->new_chains[i] = pl->newc[i].id;
    qsort(m->new_chains, m->n_new_chains, sizeof(*m->new_chains), ct_cmp_u32);
    m->v_before = v_before, m->v_after = pl->v_after, m->r_after = pl->r;
    m->n_detours = pl->detours;
    return m;
}

static void plan_init(struct plan *pl, const struct ct_table *cur)
{
    const struct ct_target *t0 = &cur->targets[0];
    pl->tprefix = t0->target_id / 100000000000ull;
    pl->cprefix = cur->chains[0].chain_id / 100000000u;
    pl->old_tids = xmalloc((cur->n_targets + 1) * sizeof(*pl->old_tids));
    pl->rows = xmalloc((cur->n_targets + 1) * sizeof(*pl->rows));
    pl->ni = xmalloc((cur->n_targets + 1) * sizeof(*pl->ni));
    for (size_t i = 0; i < cur->n_targets; i++) {
        pl->old_tids[i] = cur->targets[i].target_id;
        pl->rows[i] = cur->targets[i];
        pl->ni[i] = (uint32_t)node_index(pl, cur->targets[i].node_id);
    }
    qsort(pl->old_tids, cur->n_targets, sizeof(*pl->old_tids), cmp_u64);
    pl->cl = xmalloc((cur->n_chains + 1) * sizeof(*pl->cl));
    pl->nmoved = xmalloc((cur->n_chains + 1) * sizeof(*pl->nmoved));
    pl->lam = xmalloc(pl->n * pl->n);
    pl->cnt = xmalloc(pl->n * sizeof(*pl->cnt));
    pl->share = xmalloc(pl->n * sizeof(*pl->share));
    pl->slot = xmalloc(pl->n * CT_MAX_R);
    pl->nc = xcalloc(pl->n, sizeof(*pl->nc));
    pl->nnc = xcalloc(pl->n, sizeof(*pl->nnc));
    pl->anc = xcalloc(pl->n, sizeof(*pl->anc));
}

static void plan_release(struct plan *pl)
{
    for (size_t i = 0; pl->nc && i < pl->n; i++) free(pl->nc[i]);
    free(pl->nc);
    free(pl->nnc);
    free(pl->anc);
    free(pl->ids);
    free(pl->gone);
    free(pl->old_tids);
    free(pl->rows);
    free(pl->ni);
    free(pl->cl);
    free(pl->nmoved);
    free(pl->lam);
    free(pl->cnt);
    free(pl->share);
    free(pl->slot);
    free(pl->moves);
    free(pl->newc);
    free(pl->nrow);
}

static long count_old_nodes(const struct plan *pl, size_t n_add)
{
    return (long)(pl->n - n_add);
}

int ct_plan_migration(const struct ct_table *cur, const struct ct_migrate_params *p,
                      struct ct_migration **out, struct strbuf *err)
{
    struct plan pl = { .cur = cur, .k = p->k, .disks = p->disks, .err = err };
    char *reason = NULL;
    int rc = -1;
    *out = NULL;
    if (p->k < 1 || p->disks < 1 || p->disks > CT_MAX_DISKS) {
        sb_addf(err, "replication factor %ld / disks per node %ld out of range", p->k,
                p->disks);
        return -1;
    }
    if (check_chains(&pl) || make_nodes(&pl, p) || choose_r(&pl, p->r_min, &reason)) {
        plan_release(&pl);
        return -1;
    }
    plan_init(&pl, cur);
    for (long d = 0; d < p->disks; d++) {
        disk_reset(&pl, (uint32_t)d);
        mark_slots(&pl);
        compute_shares(&pl);
        size_t first = pl.n_newc;
        if (plan_moves(&pl) || plan_new_chains(&pl)) goto done;
        repair_new_chains(&pl, first);
    }
    *out = assemble(&pl, reason, count_old_nodes(&pl, p->n_add));
    reason = NULL;
    rc = 0;
done:
    free(reason);
    plan_release(&pl);
    return rc;
}

void ct_migration_free(struct ct_migration *m)
{
    if (!m) return;
    ct_table_free(m->after);
    free(m->moves);
    free(m->new_chains);
    free(m);
}
