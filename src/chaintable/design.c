/* The node-level design: b groups of k distinct nodes, each node in r groups,
 * pair co-occurrence lambda balanced toward mu = r(k-1)/(v-1).
 *
 *  k = 1   each (node, target) is its own group.
 *  k = v   every group holds every node.
 *  k = 2   direct: a multigraph of circulant "distance classes" (distance
 *          delta joins i and i+delta mod v).  Taking all classes floor(mu)
 *          times gives floor(mu) copies of K_v; the remaining degree
 *          s = r - floor(mu)(v-1) < v-1 uses distinct classes, so every pair
 *          is in {floor(mu), ceil(mu)}.
 *  k >= 3  greedy start (each group takes the free nodes sharing the fewest
 *          groups with those already chosen), then a local search:
 *          repeatedly take a random pair outside the band
 *          [floor(mu), ceil(mu)], sample swap moves (node a of group g1 <->
 *          node c of group g2, which keeps every row and column sum) that
 *          would fix it, and apply the best by (change of out-of-band
 *          distance, change of sum of lambda^2) unless it adds out-of-band
 *          distance.  Leaving the relaxed band [floor(mu)-1, ceil(mu)]
 *          costs 1000 times more, so where the ideal band is out of reach
 *          the relaxed one is still kept.  Plateau moves let it wander; the work is bounded by a
 *          budget counted in scored moves (not time), so the result is
 *          deterministic for a seed. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

#define DEFAULT_SEED 0x3f5c4a1bd2e6f789ull
#define SAMPLES 16           /* group pairs sampled per step */
#define WORK_BUDGET 100000000L /* ~k*k per scored move; bounds the search */
#define WORK_PER_GROUP 5000L   /* smaller designs get a smaller budget */
#define RELAXED_WEIGHT 1000L
#define BAD_WEIGHT (1L << 24)

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(struct rng *g, uint32_t n)
{
    return (uint32_t)(((rng_next(g) >> 32) * (uint64_t)n) >> 32);
}

struct pair {
    uint32_t x, y;
};

struct move {
    uint32_t g1, a, g2, c; /* a leaves g1 for g2, c leaves g2 for g1 */
    long dbad, score;
};

struct design {
    long v, k, r, b;
    uint32_t *grp;  /* b*k node indices */
    uint32_t *ng;   /* v*r: the groups of each node, unordered */
    uint8_t *lam;   /* v*v pair co-occurrence (lambda <= r <= 99) */
    long lo, hi;    /* wanted band */
    long bad;       /* sum over pairs of band_dist() */
    struct pair *q; /* pairs that may be outside the band */
    size_t nq, aq;
    struct move *mv;
    size_t nmv, amv;
    struct rng rng;
};

/* ---- direct constructions ---- */

static void design_k1(long v, long r, uint32_t *grp)
{
    /* target-major order so consecutive chains sit on different nodes */
    for (long t = 0; t < r; t++)
        for (long n = 0; n < v; n++) grp[t * v + n] = (uint32_t)n;
}

static void design_all(long v, long r, uint32_t *grp)
{
    for (long g = 0; g < r; g++)
        for (long n = 0; n < v; n++) grp[g * v + n] = (uint32_t)n;
}

static size_t add_pair(uint32_t *grp, size_t g, long x, long y)
{
    grp[2 * g] = (uint32_t)(x < y ? x : y);
    grp[2 * g + 1] = (uint32_t)(x < y ? y : x);
    return g + 1;
}

/* Distance classes 1..dmax once each, plus the diameter class if asked. */
static size_t add_classes(long v, long dmax, int diameter, uint32_t *grp, size_t g)
{
    for (long d = 1; d <= dmax; d++)
        for (long i = 0; i < v; i++) g = add_pair(grp, g, i, (i + d) % v);
    if (diameter)
        for (long i = 0; i < v / 2; i++) g = add_pair(grp, g, i, i + v / 2);
    return g;
}

static void design_k2(long v, long r, uint32_t *grp)
{
    long q = r / (v - 1), s = r % (v - 1);
    size_t g = 0;
    for (long i = 0; i < q; i++) g = add_classes(v, (v - 1) / 2, v % 2 == 0, grp, g);
    /* v*s is even, so an odd s means v is even and s <= v-3 */
    add_classes(v, s / 2, s % 2, grp, g);
}

/* ---- helpers on the design state ---- */

static uint32_t *group(struct design *d, uint32_t g)
{
    return d->grp + (size_t)g * (size_t)d->k;
}

static int in_group(struct design *d, uint32_t g, uint32_t n)
{
    const uint32_t *G = group(d, g);
    for (long j = 0; j < d->k; j++)
        if (G[j] == n) return 1;
    return 0;
}

static uint8_t *lam_at(struct design *d, uint32_t x, uint32_t y)
{
    return d->lam + (size_t)x * (size_t)d->v + y;
}

/* Distance outside the wanted band, with leaving the relaxed band
 * [lo-1, hi] weighted so heavily that no move trades it for the ideal. */
static long band_dist(const struct design *d, long l)
{
    long strict = l < d->lo ? d->lo - l : l > d->hi ? l - d->hi : 0;
    long relaxed = l < d->lo - 1 ? d->lo - 1 - l : l > d->hi ? l - d->hi : 0;
    return strict + RELAXED_WEIGHT * relaxed;
}

static void queue_pair(struct design *d, uint32_t x, uint32_t y)
{
    ALLOC_GROW(d->q, d->nq, d->aq);
    d->q[d->nq++] = (struct pair){ x, y };
}

/* Change lambda of a pair, keeping `bad` and the queue up to date. */
static void lam_add(struct design *d, uint32_t x, uint32_t y, int delta)
{
    long before = *lam_at(d, x, y), after = before + delta;
    *lam_at(d, x, y) = (uint8_t)after;
    *lam_at(d, y, x) = (uint8_t)after;
    long db = band_dist(d, after) - band_dist(d, before);
    d->bad += db;
    if (db > 0 && !band_dist(d, before)) queue_pair(d, x, y);
}

/* Build ng, lambda, bad and the queue from grp. */
static void rebuild(struct design *d)
{
    long *cnt = xcalloc((size_t)d->v, sizeof(*cnt));
    memset(d->lam, 0, (size_t)d->v * (size_t)d->v);
    d->bad = 0;
    d->nq = 0;
    for (uint32_t g = 0; g < (uint32_t)d->b; g++) {
        const uint32_t *G = group(d, g);
        for (long j = 0; j < d->k; j++) {
            d->ng[(size_t)G[j] * (size_t)d->r + (size_t)cnt[G[j]]++] = g;
            for (long i = 0; i < j; i++) {
                (*lam_at(d, G[i], G[j]))++;
                (*lam_at(d, G[j], G[i]))++;
            }
        }
    }
    for (uint32_t x = 0; x < (uint32_t)d->v; x++)
        for (uint32_t y = x + 1; y < (uint32_t)d->v; y++) {
            long b = band_dist(d, *lam_at(d, x, y));
            d->bad += b;
            if (b) queue_pair(d, x, y);
        }
    free(cnt);
}

/* ---- greedy start ---- */

/* Best free node for a group slot: fewest shared groups with the nodes
 * already chosen, then most remaining slots; scanned from a random start. */
static long pick_node(struct design *d, const long *rem, const uint32_t *mark, uint32_t stamp,
                      const uint32_t *S, long m)
{
    long best = -1, best_cost = 0, best_rem = 0;
    long start = (long)rng_below(&d->rng, (uint32_t)d->v);
    for (long i = 0; i < d->v; i++) {
        long n = (start + i) % d->v;
        if (!rem[n] || mark[n] == stamp) continue;
        long cost = 0;
        for (long j = 0; j < m; j++) cost += *lam_at(d, S[j], (uint32_t)n);
        if (best < 0 || cost < best_cost || (cost == best_cost && rem[n] > best_rem)) {
            best = n;
            best_cost = cost;
            best_rem = rem[n];
        }
    }
    return best;
}

/* Invariant: rem[n] <= groups left and sum(rem) = k * groups left.  Nodes
 * with rem == groups left are forced into the group, which keeps the
 * invariant and so guarantees that every group can be completed. */
static void greedy(struct design *d)
{
    long *rem = xmalloc((size_t)d->v * sizeof(*rem));
    uint32_t *mark = xcalloc((size_t)d->v, sizeof(*mark));
    for (long n = 0; n < d->v; n++) rem[n] = d->r;
    for (long g = 0; g < d->b; g++) {
        uint32_t *S = group(d, (uint32_t)g);
        long left = d->b - g, m = 0;
        uint32_t stamp = (uint32_t)g + 1;
        for (long n = 0; n < d->v && m < d->k; n++)
            if (rem[n] == left) {
                S[m++] = (uint32_t)n;
                mark[n] = stamp;
            }
        for (; m < d->k; m++) {
            long n = pick_node(d, rem, mark, stamp, S, m);
            S[m] = (uint32_t)n;
            mark[n] = stamp;
            for (long j = 0; j < m; j++) {
                (*lam_at(d, S[j], S[m]))++;
                (*lam_at(d, S[m], S[j]))++;
            }
        }
        for (long j = 0; j < d->k; j++) rem[S[j]]--;
    }
    free(rem);
    free(mark);
}

/* ---- local search ---- */

static void pair_delta(struct design *d, uint32_t x, uint32_t y, int delta, struct move *m)
{
    long l = *lam_at(d, x, y);
    m->dbad += band_dist(d, l + delta) - band_dist(d, l);
    m->score += delta > 0 ? 2 * l + 1 : 1 - 2 * l;
}

/* Score a swap: pairs with nodes in both groups do not change. */
static void score_move(struct design *d, struct move *m)
{
    const uint32_t *G1 = group(d, m->g1), *G2 = group(d, m->g2);
    m->dbad = m->score = 0;
    for (long j = 0; j < d->k; j++) {
        uint32_t x = G1[j], y = G2[j];
        if (x != m->a && !in_group(d, m->g2, x)) {
            pair_delta(d, m->a, x, -1, m);
            pair_delta(d, m->c, x, +1, m);
        }
        if (y != m->c && !in_group(d, m->g1, y)) {
            pair_delta(d, m->c, y, -1, m);
            pair_delta(d, m->a, y, +1, m);
        }
    }
    m->score += m->dbad * BAD_WEIGHT;
}

static void replace_member(struct design *d, uint32_t g, uint32_t from, uint32_t to)
{
    uint32_t *G = group(d, g);
    for (long j = 0; j < d->k; j++)
        if (G[j] == from) G[j] = to;
}

static void move_node_group(struct design *d, uint32_t n, uint32_t from, uint32_t to)
{
    uint32_t *L = d->ng + (size_t)n * (size_t)d->r;
    for (long i = 0; i < d->r; i++)
        if (L[i] == from) {
            L[i] = to;
            return;
        }
}

static void apply_move(struct design *d, const struct move *m)
{
    const uint32_t *G1 = group(d, m->g1), *G2 = group(d, m->g2);
    for (long j = 0; j < d->k; j++) {
        uint32_t x = G1[j], y = G2[j];
        if (x != m->a && !in_group(d, m->g2, x)) {
            lam_add(d, m->a, x, -1);
            lam_add(d, m->c, x, +1);
        }
        if (y != m->c && !in_group(d, m->g1, y)) {
            lam_add(d, m->c, y, -1);
            lam_add(d, m->a, y, +1);
        }
    }
    replace_member(d, m->g1, m->a, m->c);
    replace_member(d, m->g2, m->c, m->a);
    move_node_group(d, m->a, m->g1, m->g2);
    move_node_group(d, m->c, m->g2, m->g1);
}

static void add_move(struct design *d, uint32_t g1, uint32_t a, uint32_t g2, uint32_t c)
{
    ALLOC_GROW(d->mv, d->nmv, d->amv);
    struct move *m = &d->mv[d->nmv++];
    *m = (struct move){ .g1 = g1, .a = a, .g2 = g2, .c = c };
    score_move(d, m);
}

static uint32_t random_group_of(struct design *d, uint32_t n)
{
    return d->ng[(size_t)n * (size_t)d->r + rng_below(&d->rng, (uint32_t)d->r)];
}

/* Moves that put x and y into one more common group. */
static void moves_join(struct design *d, uint32_t x, uint32_t y)
{
    for (int s = 0; s < SAMPLES; s++) {
        uint32_t a = (rng_next(&d->rng) & 1) ? x : y, c = a == x ? y : x;
        uint32_t g1 = random_group_of(d, a), g2 = random_group_of(d, c);
        if (in_group(d, g1, c) || in_group(d, g2, a)) continue;
        const uint32_t *G1 = group(d, g1);
        for (long j = 0; j < d->k; j++)
            if (G1[j] != a && !in_group(d, g2, G1[j])) add_move(d, g1, G1[j], g2, c);
    }
}

/* Moves that take x or y out of one of their common groups. */
static void moves_split(struct design *d, uint32_t x, uint32_t y)
{
    const uint32_t *L = d->ng + (size_t)x * (size_t)d->r;
    uint32_t common = 0, seen = 0;
    for (long i = 0; i < d->r; i++) /* reservoir-pick one common group */
        if (in_group(d, L[i], y) && rng_below(&d->rng, ++seen) == 0) common = L[i];
    if (!seen) return;
    for (int s = 0; s < SAMPLES; s++) {
        uint32_t u = (rng_next(&d->rng) & 1) ? x : y;
        uint32_t g2 = rng_below(&d->rng, (uint32_t)d->b);
        if (in_group(d, g2, u)) continue;
        const uint32_t *G2 = group(d, g2);
        for (long j = 0; j < d->k; j++)
            if (!in_group(d, common, G2[j])) add_move(d, common, u, g2, G2[j]);
    }
}

/* Best sampled move, if it does not add out-of-band distance. */
static const struct move *choose_move(struct design *d)
{
    if (!d->nmv) return NULL;
    const struct move *best = &d->mv[0];
    for (size_t i = 1; i < d->nmv; i++)
        if (d->mv[i].score < best->score) best = &d->mv[i];
    return best->dbad <= 0 ? best : NULL;
}

/* Take a random queued pair that is still outside the band; 0 if none. */
static int pop_bad_pair(struct design *d, struct pair *p)
{
    while (d->nq) {
        size_t i = rng_below(&d->rng, (uint32_t)d->nq);
        *p = d->q[i];
        d->q[i] = d->q[--d->nq];
        if (band_dist(d, *lam_at(d, p->x, p->y))) return 1;
    }
    return 0;
}

/* Descent with plateau moves: never increases the out-of-band distance. */
static void search(struct design *d)
{
    long work = 0, per_move = d->k * d->k + 1;
    long budget = WORK_PER_GROUP * d->b * per_move;
    if (budget > WORK_BUDGET) budget = WORK_BUDGET;
    struct pair p;
    while (d->bad > 0 && work < budget && pop_bad_pair(d, &p)) {
        d->nmv = 0;
        if (*lam_at(d, p.x, p.y) < d->lo) moves_join(d, p.x, p.y);
        else moves_split(d, p.x, p.y);
        work += per_move * (long)(d->nmv + 1);
        const struct move *m = choose_move(d);
        if (m) apply_move(d, m);
        if (band_dist(d, *lam_at(d, p.x, p.y))) queue_pair(d, p.x, p.y);
    }
}

static void design_search(long v, long k, long r, long b, uint64_t seed, uint32_t *grp)
{
    struct design d = { .v = v, .k = k, .r = r, .b = b, .grp = grp };
    d.rng.s = seed ? seed : DEFAULT_SEED;
    d.lo = r * (k - 1) / (v - 1);
    d.hi = (r * (k - 1) + v - 2) / (v - 1);
    d.lam = xcalloc((size_t)v * (size_t)v, 1);
    d.ng = xmalloc((size_t)v * (size_t)r * sizeof(*d.ng));
    greedy(&d);
    rebuild(&d);
    search(&d);
    free(d.lam);
    free(d.ng);
    free(d.q);
    free(d.mv);
}

uint32_t *ct_design(long v, long k, long r, uint64_t seed, long *b_out)
{
    if (k < 1 || v < k || v > CT_MAX_NODES || r < 1 || r > CT_MAX_R || (v * r) % k) return NULL;
    long b = v * r / k;
    uint32_t *grp = xmalloc((size_t)b * (size_t)k * sizeof(*grp));
    *b_out = b;
    if (k == 1) design_k1(v, r, grp);
    else if (k == v) design_all(v, r, grp);
    else if (k == 2) design_k2(v, r, grp);
    else design_search(v, k, r, b, seed, grp);
    for (long g = 0; g < b; g++) qsort(grp + g * k, (size_t)k, sizeof(*grp), ct_cmp_u32);
    return grp;
}
