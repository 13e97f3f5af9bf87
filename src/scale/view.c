/* scale/view.c: the chain table a struct sc_view shows, and which
 * sub-step of a replica move comes next (docs/scale.md "One replica move").
 * Every sub-step is judged done or not from what the cluster shows, so a
 * move stopped anywhere (Ctrl-C, a failure, a lost connection) continues
 * with the first sub-step not yet done. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"

static int cmp_chain(const void *a, const void *b)
{
    const struct sc_chain *x = *(const struct sc_chain *const *)a,
                          *y = *(const struct sc_chain *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int fill_chain(const struct sc_view *v, const struct sc_chain *c, struct ct_table *t,
                      struct strbuf *err)
{
    struct ct_chain *cc = &t->chains[t->n_chains++];
    cc->chain_id = c->id, cc->first = t->n_targets, cc->n = c->n, cc->disk_index = 0;
    for (size_t j = 0; j < c->n; j++) {
        const struct sc_target *s = sc_find(v, c->targets[j]);
        if (!s || s->node < 0 || s->disk < 0) {
            sb_addf(err, "target %llu of chain %u has no node or disk index in list-targets",
                    (unsigned long long)c->targets[j], c->id);
            return -1;
        }
        struct ct_target *tg = &t->targets[t->n_targets++];
        tg->target_id = s->id, tg->node_id = (uint32_t)s->node;
        tg->disk_index = (uint32_t)s->disk, tg->chain_id = c->id;
        if (!j) cc->disk_index = tg->disk_index;
    }
    return 0;
}

int sc_view_table(const struct sc_view *v, struct ct_table **out, struct strbuf *err)
{
    struct ct_table *t = xcalloc(1, sizeof(*t));
    size_t nt = 0;
    const struct sc_chain **sorted = xcalloc(v->n_chains + 1, sizeof(*sorted));
    for (size_t i = 0; i < v->n_chains; i++) nt += v->c[i].n, sorted[i] = &v->c[i];
    qsort(sorted, v->n_chains, sizeof(*sorted), cmp_chain);
    t->chains = xcalloc(v->n_chains + 1, sizeof(*t->chains));
    t->targets = xcalloc(nt + 1, sizeof(*t->targets));
    t->order = xcalloc(v->n_chains + 1, sizeof(*t->order));
    int rc = 0;
    for (size_t i = 0; !rc && i < v->n_chains; i++) {
        if (i && sorted[i]->id == sorted[i - 1]->id) {
            sb_addf(err, "chain %u is listed twice by list-chains", sorted[i]->id);
            rc = -1;
        } else {
            rc = fill_chain(v, sorted[i], t, err);
        }
    }
    for (size_t i = 0; i < v->n_chains; i++) t->order[t->n_order++] = v->c[i].id;
    free(sorted);
    if (rc) ct_table_free(t);
    else *out = t;
    return rc;
}

/* Answers to sub-step sub that mean "done already, wait until the
 * listings show it", not a failure:
 *  - offline-target of a target its node offlined already ("target is
 *    already offline", kTargetOffline): mgmtd's listing shows the local
 *    state only after the node's next heartbeat (upstream
 *    src/storage/service/StorageOperator.cc offlineTarget);
 *  - remove-target before the node saw the new routing info ("target is
 *    still in a chain!"), or of a target the node removed already but
 *    mgmtd still lists as an orphan until the node stops reporting it
 *    ("target ... not found", a routing error of the storage node), or of
 *    a target mgmtd still lists OFFLINE while its node, just restarted,
 *    has it ONLINE ("target is not offline!": the next listing shows it
 *    ONLINE and the move offlines it again; StorageOperator::removeTarget).
 * create-target has none: the same target again succeeds
 * (allowExistingTarget, true by default: src/fbs/storage/Common.h), and
 * the move polls the listing after it (services/scale.c CREATED_POLL_MS).
 * Seen in the lab against the stand-ins. */
int sc_answer_waits(enum sc_sub sub, const char *text)
{
    if (sub == SC_OFFLINE)
        return strstr(text, "Storage::TargetOffline") || strstr(text, "target is already offline");
    if (sub == SC_REMOVE_TARGET)
        return strstr(text, "still in a chain") || strstr(text, "target is not offline") ||
               (strstr(text, "RoutingError") && strstr(text, "not found"));
    return 0;
}

const char *sc_sub_name(enum sc_sub s)
{
    static const char *const names[] = { "offline-target", "wait until OFFLINE",
                                         "update-chain --mode remove", "remove-target",
                                         "create-target", "update-chain --mode add",
                                         "wait until SERVING-UPTODATE", "done", "stuck" };
    return (unsigned)s <= SC_STUCK ? names[s] : "?";
}

/* What the cluster shows of one target. */
struct seen {
    int exists;   /* listed at all (in a chain or as an orphan) */
    int in_chain; /* in the move's chain */
    int serving;  /* SERVING-UPTODATE */
    int pub_off;  /* public OFFLINE */
    int local_off;
};

static struct seen see(const struct sc_view *v, uint64_t id, uint32_t chain)
{
    struct seen s = { 0 };
    const struct sc_target *t = sc_find(v, id);
    if (!t) return s;
    s.exists = 1;
    s.in_chain = !t->orphan && t->chain == chain;
    s.serving = !strcmp(t->pub, "SERVING") && !strcmp(t->local, "UPTODATE");
    s.pub_off = !strcmp(t->pub, "OFFLINE");
    s.local_off = !strcmp(t->local, "OFFLINE");
    return s;
}

/* Steps 1-3: take A out of the chain and delete it.  A out of the chain
 * but not OFFLINE is offlined (again) first: its storage node restarted
 * (a stopped dockerd, a reboot) after update-chain --mode remove, and a
 * restart forgets offline-target (upstream TargetMap::offlineTarget sets
 * offlineUponUserRequest in memory only, src/storage/service/TargetMap.cc),
 * while StorageOperator::removeTarget accepts only a target offlined so
 * (src/storage/service/StorageOperator.cc). */
static enum sc_sub take_out(struct seen a)
{
    if (a.in_chain) {
        if (a.pub_off) return SC_CHAIN_REMOVE;
        return a.local_off ? SC_WAIT_OFFLINE : SC_OFFLINE;
    }
    if (!a.exists) return SC_DONE;
    return a.local_off ? SC_REMOVE_TARGET : SC_OFFLINE;
}

/* Steps 4-6: create B, put it in the chain, wait until it serves. */
static enum sc_sub put_in(struct seen b)
{
    if (!b.exists) return SC_CREATE_TARGET;
    if (!b.in_chain) return SC_CHAIN_ADD;
    return b.serving ? SC_DONE : SC_WAIT_SERVING;
}

enum sc_sub sc_next_sub(const struct ct_move *m, const struct sc_view *v, int add_first,
                        struct strbuf *why)
{
    struct seen a = see(v, m->from_target, m->chain_id), b = see(v, m->to_target, m->chain_id);
    const struct sc_target *bt = sc_find(v, m->to_target);
    if (b.exists && !b.in_chain && bt && !bt->orphan) {
        if (why) sb_addf(why, "target %llu is in chain %u, not in chain %u",
                         (unsigned long long)m->to_target, bt->chain, m->chain_id);
        return SC_STUCK;
    }
    enum sc_sub first = add_first ? put_in(b) : take_out(a);
    if (first != SC_DONE) {
        /* the second half started already: the first must have ended */
        int second_started = add_first ? (!a.in_chain || a.local_off) : b.in_chain;
        if (second_started) {
            if (why) sb_addf(why, "chain %u shows target %llu at '%s' while target %llu "
                             "is not yet there", m->chain_id,
                             (unsigned long long)(add_first ? m->from_target : m->to_target),
                             add_first ? "taken out" : "in the chain",
                             (unsigned long long)(add_first ? m->to_target : m->from_target));
            return SC_STUCK;
        }
        return first;
    }
    return add_first ? take_out(a) : put_in(b);
}
