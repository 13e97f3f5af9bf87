/* scale/planio.c: a migration plan as text in the state file, so that a
 * rerun of add-storage-nodes / remove-storage-nodes continues the plan it
 * started (the cluster's table is half moved by then: planning again from
 * it would give another plan).
 *
 *   m3fs-scale 1 OP K DISKS NODE,...
 *   M CHAIN STEP DISK FROM_NODE TO_NODE FROM_TARGET TO_TARGET   (a move)
 *   N CHAIN                                                     (a new chain)
 *   C CHAIN TARGET:NODE:DISK ...          (a chain of the new table, head first)
 *   O CHAIN ...                           (the new table's order)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"

void sc_plan_encode(const struct sc_plan_info *pi, const struct ct_migration *m,
                    struct strbuf *out)
{
    sb_addf(out, "m3fs-scale 1 %s %ld %ld ", pi->op, pi->k, pi->disks);
    for (size_t i = 0; i < pi->n_nodes; i++) sb_addf(out, "%s%u", i ? "," : "", pi->nodes[i]);
    sb_addch(out, '\n');
    for (size_t i = 0; i < m->n_moves; i++) {
        const struct ct_move *v = &m->moves[i];
        sb_addf(out, "M %u %u %u %u %u %llu %llu\n", v->chain_id, v->step, v->disk_index,
                v->from_node, v->to_node, (unsigned long long)v->from_target,
                (unsigned long long)v->to_target);
    }
    for (size_t i = 0; i < m->n_new_chains; i++) sb_addf(out, "N %u\n", m->new_chains[i]);
    const struct ct_table *t = m->after;
    for (size_t i = 0; i < t->n_chains; i++) {
        const struct ct_chain *c = &t->chains[i];
        sb_addf(out, "C %u", c->chain_id);
        for (size_t j = 0; j < c->n; j++) {
            const struct ct_target *g = &t->targets[c->first + j];
            sb_addf(out, " %llu:%u:%u", (unsigned long long)g->target_id, g->node_id,
                    g->disk_index);
        }
        sb_addch(out, '\n');
    }
    sb_adds(out, "O");
    for (size_t i = 0; i < t->n_order; i++) sb_addf(out, " %u", t->order[i]);
    sb_addch(out, '\n');
}

struct rd {
    const char *p;
    int bad;
};

/* The next unsigned number (after spaces) up to hi, ending at sep or a
 * space, newline or end. */
static uint64_t next_num(struct rd *r, uint64_t hi)
{
    while (*r->p == ' ') r->p++;
    if (*r->p < '0' || *r->p > '9') {
        r->bad = 1;
        return 0;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(r->p, &end, 10);
    if (errno || v > hi) r->bad = 1;
    r->p = end;
    return v;
}

static int at_eol(const struct rd *r)
{
    const char *p = r->p;
    while (*p == ' ') p++;
    return !*p || *p == '\n';
}

static int head(struct rd *r, struct sc_plan_info *pi)
{
    if (strncmp(r->p, "m3fs-scale 1 ", 13)) return -1;
    r->p += 13;
    size_t n = strcspn(r->p, " \n");
    if (!n || n >= sizeof(pi->op)) return -1;
    memcpy(pi->op, r->p, n), pi->op[n] = 0;
    r->p += n;
    pi->k = (long)next_num(r, 100);
    pi->disks = (long)next_num(r, CT_MAX_DISKS);
    pi->n_nodes = 0;
    do {
        if (*r->p == ',') r->p++;
        if (pi->n_nodes == sizeof(pi->nodes) / sizeof(pi->nodes[0])) return -1;
        pi->nodes[pi->n_nodes++] = (uint32_t)next_num(r, CT_MAX_NODE_ID);
    } while (!r->bad && *r->p == ',');
    return r->bad || !at_eol(r) ? -1 : 0;
}

static void move_line(struct rd *r, struct ct_migration *m, size_t *alloc)
{
    ALLOC_GROW(m->moves, m->n_moves, *alloc);
    struct ct_move *v = &m->moves[m->n_moves++];
    v->chain_id = (uint32_t)next_num(r, UINT32_MAX);
    v->step = (uint32_t)next_num(r, UINT32_MAX);
    v->disk_index = (uint32_t)next_num(r, CT_MAX_DISKS);
    v->from_node = (uint32_t)next_num(r, CT_MAX_NODE_ID);
    v->to_node = (uint32_t)next_num(r, CT_MAX_NODE_ID);
    v->from_target = next_num(r, INT64_MAX);
    v->to_target = next_num(r, INT64_MAX);
}

static void expect_colon(struct rd *r)
{
    if (*r->p == ':') r->p++;
    else r->bad = 1;
}

static void chain_line(struct rd *r, struct ct_table *t, size_t *ca, size_t *ta)
{
    ALLOC_GROW(t->chains, t->n_chains, *ca);
    struct ct_chain *c = &t->chains[t->n_chains++];
    c->chain_id = (uint32_t)next_num(r, UINT32_MAX);
    c->first = t->n_targets, c->n = 0;
    while (!r->bad && !at_eol(r) && t->n_targets < (size_t)CT_MAX_TARGETS) {
        ALLOC_GROW(t->targets, t->n_targets, *ta);
        struct ct_target *g = &t->targets[t->n_targets++];
        g->target_id = next_num(r, INT64_MAX);
        expect_colon(r);
        g->node_id = (uint32_t)next_num(r, CT_MAX_NODE_ID);
        expect_colon(r);
        g->disk_index = (uint32_t)next_num(r, CT_MAX_DISKS);
        g->chain_id = c->chain_id;
        if (!c->n++) c->disk_index = g->disk_index;
    }
}

static void order_line(struct rd *r, struct ct_table *t, size_t *oa)
{
    while (!r->bad && !at_eol(r) && t->n_order < (size_t)CT_MAX_TARGETS) {
        ALLOC_GROW(t->order, t->n_order, *oa);
        t->order[t->n_order++] = (uint32_t)next_num(r, UINT32_MAX);
    }
}

static int body(struct rd *r, struct ct_migration *m)
{
    size_t ma = 0, na = 0, ca = 0, ta = 0, oa = 0;
    struct ct_table *t = m->after;
    while (!r->bad && *r->p) {
        char kind = *r->p++;
        if (kind == 'M') move_line(r, m, &ma);
        else if (kind == 'N') {
            ALLOC_GROW(m->new_chains, m->n_new_chains, na);
            m->new_chains[m->n_new_chains++] = (uint32_t)next_num(r, UINT32_MAX);
        } else if (kind == 'C') chain_line(r, t, &ca, &ta);
        else if (kind == 'O') order_line(r, t, &oa);
        else r->bad = 1;
        if (!r->bad && !at_eol(r)) r->bad = 1;
        while (*r->p == ' ') r->p++;
        if (*r->p == '\n') r->p++;
    }
    return r->bad ? -1 : 0;
}

int sc_plan_decode(const char *text, struct sc_plan_info *pi, struct ct_migration **out,
                   struct strbuf *err)
{
    struct rd r = { text, 0 };
    memset(pi, 0, sizeof(*pi));
    struct ct_migration *m = xcalloc(1, sizeof(*m));
    m->after = xcalloc(1, sizeof(*m->after));
    int rc = head(&r, pi);
    if (!rc) {
        r.p = strchr(r.p, '\n');
        r.p = r.p ? r.p + 1 : "";
        rc = body(&r, m);
    }
    for (size_t i = 0; !rc && i < m->n_moves; i++)
        if (m->moves[i].step + 1 > (uint32_t)m->max_steps) m->max_steps = m->moves[i].step + 1;
    if (rc) {
        sb_addf(err, "the migration plan in the state file (key %s) cannot be read near "
                "offset %zu", SC_STATE_PLAN, (size_t)(r.p - text));
        ct_migration_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

char *sc_move_key(const struct ct_move *mv)
{
    return xstrfmt("scale-move %u/%u", mv->chain_id, mv->step);
}
