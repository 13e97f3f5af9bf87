/* Checking a planned migration by replaying it (docs/scale.md): every move
 * replaces one replica of its chain, in step order, with a new target on a
 * node the chain does not use; the result is the planned table, which is
 * valid (ct_verify) and balanced. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"

#include "ct-int.h"

#define MAX_LISTED 20

struct mctx {
    struct strbuf *rep;
    long errors;
};

static void bad(struct mctx *c, const char *fmt, ...)
{
    va_list ap;
    if (c->rep && c->errors < MAX_LISTED) {
        sb_adds(c->rep, "error: ");
        va_start(ap, fmt);
        sb_vaddf(c->rep, fmt, ap);
        va_end(ap);
        sb_addch(c->rep, '\n');
    }
    c->errors++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Index of chain id in t->chains (ascending ids), or n_chains. */
static size_t find_chain(const struct ct_table *t, uint32_t id)
{
    size_t lo = 0, hi = t->n_chains;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->chains[mid].chain_id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->n_chains && t->chains[lo].chain_id == id ? lo : t->n_chains;
}

/* New target ids: unique and not an existing one. */
static void check_new_ids(struct mctx *c, const struct ct_table *cur, const struct ct_migration *m)
{
    size_t n = cur->n_targets + m->n_moves;
    uint64_t *ids = xmalloc((n + 1) * sizeof(*ids));
    for (size_t i = 0; i < cur->n_targets; i++) ids[i] = cur->targets[i].target_id;
    for (size_t i = 0; i < m->n_moves; i++) ids[cur->n_targets + i] = m->moves[i].to_target;
    qsort(ids, n, sizeof(*ids), cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (ids[i] == ids[i - 1])
            bad(c, "target id %llu is used twice (a move must create a new target)",
                (unsigned long long)ids[i]);
    free(ids);
}

static void replay_one(struct mctx *c, const struct ct_table *cur, struct ct_target *rows,
                       uint32_t *steps, const struct ct_move *mv)
{
    size_t ci = find_chain(cur, mv->chain_id);
    if (ci == cur->n_chains) {
        bad(c, "move of chain %u: no such chain", mv->chain_id);
        return;
    }
    const struct ct_chain *ch = &cur->chains[ci];
    struct ct_target *row = rows + ch->first;
    if (mv->step != steps[ci]++)
        bad(c, "chain %u: move step %u out of order", mv->chain_id, mv->step);
    if (mv->disk_index != ch->disk_index)
        bad(c, "chain %u: move to disk index %u, the chain is on %u", mv->chain_id,
            mv->disk_index, ch->disk_index);
    size_t at = ch->n;
    for (size_t j = 0; j < ch->n; j++) {
        if (row[j].target_id == mv->from_target && row[j].node_id == mv->from_node) at = j;
        else if (row[j].node_id == mv->to_node)
            bad(c, "chain %u: node %u would hold two replicas", mv->chain_id, mv->to_node);
    }
    if (at == ch->n) {
        bad(c, "chain %u: target %llu on node %u is not in the chain at step %u",
            mv->chain_id, (unsigned long long)mv->from_target, mv->from_node, mv->step);
        return;
    }
    memmove(row + at, row + at + 1, (ch->n - at - 1) * sizeof(*row));
    row[ch->n - 1] = (struct ct_target){ mv->to_target, mv->to_node, mv->disk_index,
                                         mv->chain_id };
}

static int same_row(const struct ct_target *a, const struct ct_target *b, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (a[j].target_id != b[j].target_id || a[j].node_id != b[j].node_id ||
            a[j].disk_index != b[j].disk_index)
            return 0;
    return 1;
}

static void compare(struct mctx *c, const struct ct_table *cur, const struct ct_target *rows,
                    const struct ct_migration *m)
{
    const struct ct_table *after = m->after;
    for (size_t i = 0; i < cur->n_chains; i++) {
        const struct ct_chain *ch = &cur->chains[i];
        size_t a = find_chain(after, ch->chain_id);
        if (a == after->n_chains) bad(c, "chain %u is missing from the new table", ch->chain_id);
        else if (after->chains[a].n != ch->n ||
                 !same_row(rows + ch->first, after->targets + after->chains[a].first, ch->n))
            bad(c, "chain %u: the moves do not give the new table's targets", ch->chain_id);
    }
    size_t fresh = 0;
    for (size_t i = 0; i < after->n_chains; i++) {
        uint32_t id = after->chains[i].chain_id;
        if (find_chain(cur, id) < cur->n_chains) continue;
        fresh++;
        size_t at = ct_find_u32(m->new_chains, m->n_new_chains, id);
        if (at >= m->n_new_chains || m->new_chains[at] != id)
            bad(c, "chain %u is new but not listed as new", id);
    }
    if (fresh != m->n_new_chains)
        bad(c, "%zu new chains in the table, %zu listed", fresh, m->n_new_chains);
}

/* Existing chains' replicas per (node, disk index) must differ by at most
 * one over the nodes of the new table. */
static void check_share(struct mctx *c, const struct ct_table *cur, const struct ct_migration *m,
                        long disks)
{
    const struct ct_table *after = m->after;
    uint32_t *ids = xmalloc((after->n_targets + 1) * sizeof(*ids));
    size_t n = 0;
    for (size_t i = 0; i < after->n_targets; i++) ids[n++] = after->targets[i].node_id;
    qsort(ids, n, sizeof(*ids), ct_cmp_u32);
    size_t v = 0;
    for (size_t i = 0; i < n; i++)
        if (!v || ids[v - 1] != ids[i]) ids[v++] = ids[i];
    long *cnt = xcalloc(v * (size_t)disks + 1, sizeof(*cnt));
    for (size_t i = 0; i < after->n_chains; i++) {
        const struct ct_chain *ch = &after->chains[i];
        if (find_chain(cur, ch->chain_id) == cur->n_chains) continue;
        for (size_t j = 0; j < ch->n; j++) {
            const struct ct_target *x = &after->targets[ch->first + j];
            if ((long)x->disk_index < disks)
                cnt[ct_find_u32(ids, v, x->node_id) * (size_t)disks + x->disk_index]++;
        }
    }
    for (long d = 0; d < disks; d++) {
        long lo = -1, hi = -1;
        for (size_t a = 0; a < v; a++) {
            long x = cnt[a * (size_t)disks + (size_t)d];
            if (lo < 0 || x < lo) lo = x;
            if (x > hi) hi = x;
        }
        if (hi - lo > 1)
            bad(c, "disk index %ld: nodes hold %ld..%ld replicas of the existing chains "
                "(unbalanced)", d, lo, hi);
    }
    free(cnt);
    free(ids);
}

long ct_check_migration(const struct ct_table *cur, const struct ct_migration *m, long k,
                        long disks, struct strbuf *report)
{
    struct mctx c = { report, 0 };
    struct ct_target *rows = xmalloc((cur->n_targets + 1) * sizeof(*rows));
    uint32_t *steps = xcalloc(cur->n_chains + 1, sizeof(*steps));
    if (cur->n_targets) memcpy(rows, cur->targets, cur->n_targets * sizeof(*rows));
    check_new_ids(&c, cur, m);
    for (size_t i = 0; i < m->n_moves; i++) replay_one(&c, cur, rows, steps, &m->moves[i]);
    compare(&c, cur, rows, m);
    check_share(&c, cur, m, disks);
    free(rows);
    free(steps);
    struct ct_expect exp = { .k = k, .disks = disks };
    struct ct_stats st;
    struct strbuf vrep = STRBUF_INIT;
    long verr = ct_verify(m->after, &exp, &st, &vrep);
    if (verr) bad(&c, "the new table is invalid:\n%s", vrep.buf);
    if (st.tgt_disk_min != st.tgt_disk_max)
        bad(&c, "nodes hold %ld..%ld targets per disk index in the new table (unbalanced)",
            st.tgt_disk_min, st.tgt_disk_max);
    sb_release(&vrep);
    return c.errors;
}
