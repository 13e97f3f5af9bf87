/* status/checks-cluster.c: the judges of the cluster probes: mgmtd's
 * list-nodes/list-chains, FoundationDB's status and ClickHouse (rows of the
 * check table in checks.c). */
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

static const char *where(const struct st_report *r, const struct st_where *w)
{
    return w->node >= 0 ? r->cfg->nodes[w->node].name : "no node";
}

/* list-nodes answered: mgmtd is up enough to judge by. */
static int have_mgmtd(const struct st_report *r)
{
    return r->cfg->svc[SVC_MGMTD].n_member && !r->mgmtd.error;
}

void st_judge_mgmtd(const struct st_report *r, struct st_findings *out)
{
    if (!r->cfg->svc[SVC_MGMTD].n_member) return;
    if (r->mgmtd.error) {
        st_add(out, "mgmtd", ST_SEV_DOWN, r->mgmtd.node,
               r->mgmtd.node >= 0 ? xstrfmt("mgmtd does not answer: %s (admin_cli on %s)",
                                            r->mgmtd.error, where(r, &r->mgmtd))
                                  : xstrfmt("mgmtd does not answer: %s", r->mgmtd.error),
               NULL);
        return;
    }
    for (size_t i = 0; i < r->m.n_nodes; i++)
        if (!strcmp(r->m.nodes[i].status, "PRIMARY_MGMTD")) return;
    st_add(out, "mgmtd", ST_SEV_DOWN, -1, xstrdup("no mgmtd is PRIMARY_MGMTD in list-nodes"),
           NULL);
}

static const struct st_mnode *mnode(const struct st_report *r, long id)
{
    for (size_t i = 0; i < r->m.n_nodes; i++)
        if (r->m.nodes[i].id == id) return &r->m.nodes[i];
    return NULL;
}

/* NodeStatus (upstream src/fbs/mgmtd/MgmtdTypes.h): mgmtd marks a node
 * HEARTBEAT_FAILED when it sent no heartbeat for heartbeat_fail_interval
 * (60 s; src/mgmtd/background/MgmtdHeartbeatChecker.cc). */
static int connected(const struct st_mnode *n, enum svc_kind k)
{
    return n && (!strcmp(n->status, "HEARTBEAT_CONNECTED") ||
                 (k == SVC_MGMTD && !strcmp(n->status, "PRIMARY_MGMTD")));
}

static void heartbeat_of(const struct st_report *r, enum svc_kind k, size_t node, long id,
                         struct st_findings *out)
{
    const struct st_mnode *n = mnode(r, id);
    const char *name = r->cfg->nodes[node].name;
    if (!n) {
        st_add(out, "heartbeat", ST_SEV_DEGRADED, (long)node,
               xstrfmt("%s on %s (node %ld) is not in list-nodes: mgmtd never had its heartbeat",
                       svc_key(k), name, id), NULL);
        return;
    }
    struct strbuf age = STRBUF_INIT;
    if (n->hb_age_s >= 0) {
        sb_adds(&age, ", last heartbeat ");
        st_secs(&age, n->hb_age_s);
        sb_adds(&age, " ago");
    }
    st_add(out, "heartbeat", ST_SEV_DEGRADED, (long)node,
           xstrfmt("%s on %s (node %ld) is %s%s", svc_key(k), name, id, n->status, age.buf), NULL);
    sb_release(&age);
}

void st_judge_heartbeats(const struct st_report *r, struct st_findings *out)
{
    static const enum svc_kind ks[] = { SVC_MGMTD, SVC_META, SVC_STORAGE };
    if (!have_mgmtd(r)) return;
    for (size_t j = 0; j < ARRAY_SIZE(ks); j++) {
        const struct m3fs_service *s = &r->cfg->svc[ks[j]];
        size_t up = 0;
        for (size_t m = 0; m < s->n_member; m++) {
            long id = config_node_id(r->cfg, s->member[m], ks[j]);
            if (connected(mnode(r, id), ks[j])) up++;
            else heartbeat_of(r, ks[j], s->member[m], id, out);
        }
        if (ks[j] == SVC_META && s->n_member && !up)
            st_add(out, "heartbeat", ST_SEV_DOWN, -1,
                   xstrdup("no meta node is HEARTBEAT_CONNECTED: file system operations fail"),
                   NULL);
    }
}

/* Up to 10 chains with the given kind of status, "id status" each. */
static char *chain_list(const struct st_report *r, int unavailable, size_t *count)
{
    struct strbuf sb = STRBUF_INIT;
    *count = 0;
    for (size_t i = 0; i < r->m.n_chains; i++) {
        const struct st_chain *c = &r->m.chains[i];
        if (!strcmp(c->status, "SERVING") || unavailable != !strcmp(c->status, "UNAVAILABLE"))
            continue;
        if ((*count)++ < 10) sb_addf(&sb, "%s%lld %s", sb.len ? ", " : "", c->id, c->status);
    }
    if (*count > 10) sb_addf(&sb, ", ... (%zu more)", *count - 10);
    return sb_detach(&sb);
}

/* A chain's Status (upstream src/client/cli/admin/ListChains.cc): SERVING
 * when every target is SERVING, UNAVAILABLE when none is (its data cannot
 * be read), SYNCING while a target catches up, else SERVING(n/m). */
void st_judge_chains(const struct st_report *r, struct st_findings *out)
{
    if (!have_mgmtd(r)) return;
    size_t n_bad, n_down;
    if (r->cfg->svc[SVC_STORAGE].n_member && !r->m.n_chains) {
        st_add(out, "chains", ST_SEV_DEGRADED, -1,
               xstrdup("mgmtd has no chains: storage targets were never created"), NULL);
        return;
    }
    char *down = chain_list(r, 1, &n_down), *bad = chain_list(r, 0, &n_bad);
    if (n_down)
        st_add(out, "chains", ST_SEV_DOWN, -1,
               xstrfmt("%zu of %zu chains UNAVAILABLE (no target serving): %s", n_down,
                       r->m.n_chains, down), NULL);
    if (n_bad)
        st_add(out, "chains", ST_SEV_DEGRADED, -1,
               xstrfmt("%zu of %zu chains not SERVING: %s", n_bad, r->m.n_chains, bad), NULL);
    free(down), free(bad);
}

void st_judge_fdb(const struct st_report *r, struct st_findings *out)
{
    const struct st_fdb *f = &r->fdb_status;
    if (!r->cfg->svc[SVC_FDB].n_member) return;
    if (r->fdb.error) {
        st_add(out, "fdb", ST_SEV_DOWN, r->fdb.node,
               xstrfmt("FoundationDB does not answer: %s", r->fdb.error), NULL);
        return;
    }
    if (!f->available) {
        struct strbuf why = STRBUF_INIT;
        sv_join(&f->messages, "; ", &why);
        st_add(out, "fdb", ST_SEV_DOWN, r->fdb.node,
               xstrfmt("FoundationDB is unavailable%s%s", why.len ? ": " : "", why.buf), NULL);
        sb_release(&why);
    }
    for (size_t i = 0; i < f->n_coords; i++)
        if (!f->coords[i].reachable)
            st_add(out, "fdb", ST_SEV_DEGRADED, r->fdb.node,
                   xstrfmt("FoundationDB coordinator %s is unreachable", f->coords[i].address),
                   NULL);
}

void st_judge_clickhouse(const struct st_report *r, struct st_findings *out)
{
    if (!r->cfg->svc[SVC_CLICKHOUSE].n_member || !r->clickhouse.error) return;
    st_add(out, "clickhouse", ST_SEV_DEGRADED, r->clickhouse.node,
           xstrfmt("ClickHouse does not answer: %s", r->clickhouse.error),
           NULL);
}
