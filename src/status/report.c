/* status/report.c: the report's life and what a node should run. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status-int.h"

void st_report_init(struct st_report *r, const struct m3fs_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->when = (int64_t)time(NULL);
    r->nodes = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(*r->nodes));
    r->mgmtd.node = r->fdb.node = r->clickhouse.node = -1;
}

void st_report_release(struct st_report *r)
{
    for (size_t i = 0; r->nodes && i < r->cfg->n_nodes; i++) {
        free(r->nodes[i].error);
        st_facts_release(&r->nodes[i].facts);
    }
    free(r->nodes);
    free(r->mgmtd.error), free(r->fdb.error), free(r->clickhouse.error);
    st_mgmtd_release(&r->m);
    st_fdb_release(&r->fdb_status);
    memset(r, 0, sizeof(*r));
}

/* The services m3fs runs in containers, in the order of the table; the
 * ClickHouse and monitor containers run on the first node of theirs only
 * (src/services/clickhouse.c, monitor.c).  Grafana and PostgreSQL are not
 * deployed by cluster create. */
static const struct {
    enum svc_kind k;
    int first_only;
} roles[] = {
    { SVC_FDB, 0 },  { SVC_CLICKHOUSE, 1 }, { SVC_MONITOR, 1 }, { SVC_MGMTD, 0 },
    { SVC_META, 0 }, { SVC_STORAGE, 0 },    { SVC_CLIENT, 0 },
};

size_t st_node_roles(const struct m3fs_config *cfg, size_t node, enum svc_kind out[SVC_COUNT])
{
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
        const struct m3fs_service *s = &cfg->svc[roles[i].k];
        int has = roles[i].first_only ? s->n_member && s->member[0] == node
                                      : config_node_has(cfg, node, roles[i].k);
        if (has) out[n++] = roles[i].k;
    }
    return n;
}

char *st_role_image(const struct m3fs_config *cfg, enum svc_kind k)
{
    enum img_kind img = k == SVC_FDB ? IMG_FDB : k == SVC_CLICKHOUSE ? IMG_CLICKHOUSE : IMG_3FS;
    return config_image_ref(cfg, img);
}

int64_t st_ctr_uptime(const struct st_report *r, size_t node, const struct st_ctr *c)
{
    const struct st_facts *f = &r->nodes[node].facts;
    if (!c->started || !f->t0 || strcmp(c->state, "running")) return -1;
    int64_t up = (int64_t)f->t0 - c->started;
    return up < 0 ? 0 : up;
}
