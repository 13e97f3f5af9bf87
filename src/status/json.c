/* status/json.c: `cluster status --json`, schema "m3fs.status/1"
 * (docs/status.md).  Fields are only ever added within a schema version;
 * an unknown value is null. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/json.h"
#include "status-int.h"

static void num_or_null(cJSON *o, const char *k, double v, int known)
{
    if (known) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* cJSON_CreateStringArray gives NULL for an empty list. */
static cJSON *str_array(const struct strvec *sv)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < sv->n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
    return a;
}

static const char *node_name(const struct st_report *r, long node)
{
    return node >= 0 ? r->cfg->nodes[node].name : NULL;
}

static cJSON *problems(const struct st_report *r, const struct st_findings *fs)
{
    static const char *const sev[] = { "warning", "degraded", "down" };
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < fs->n; i++) {
        const struct st_finding *f = &fs->v[i];
        const struct st_check *c = st_check_find(f->check);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "check", f->check);
        cJSON_AddStringToObject(o, "severity", sev[f->sev]);
        json_add_str_or_null(o, "node", node_name(r, f->node));
        cJSON_AddStringToObject(o, "what", f->what);
        cJSON_AddStringToObject(o, "fix", f->fix ? f->fix : c ? c->fix : "");
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *container(const struct st_report *r, size_t node, enum svc_kind k)
{
    const struct st_node *n = &r->nodes[node];
    const struct st_ctr *c = n->reachable ? st_facts_ctr(&n->facts, r->cfg->svc[k].container_name)
                                          : NULL;
    cJSON *o = cJSON_CreateObject();
    char *want = st_role_image(r->cfg, k);
    int64_t up = c ? st_ctr_uptime(r, node, c) : -1;
    cJSON_AddStringToObject(o, "role", svc_key(k));
    cJSON_AddStringToObject(o, "name", r->cfg->svc[k].container_name);
    json_add_str_or_null(o, "state", c ? c->state : NULL);
    num_or_null(o, "restarts", c ? (double)c->restarts : 0, c && strcmp(c->state, "missing"));
    json_add_str_or_null(o, "started_at", c ? c->started_at : NULL);
    num_or_null(o, "uptime_s", (double)up, up >= 0);
    json_add_str_or_null(o, "image", c ? c->image : NULL);
    cJSON_AddStringToObject(o, "expected_image", want);
    json_add_str_or_null(o, "nofile", c ? c->nofile : NULL);
    json_add_str_or_null(o, "memlock", c ? c->memlock : NULL);
    free(want);
    return o;
}

static cJSON *fuse_of(const struct st_fuse *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mountpoint", u->mountpoint);
    cJSON_AddBoolToObject(o, "mounted", u->mounted);
    cJSON_AddStringToObject(o, "answer", u->answer);
    cJSON_AddStringToObject(o, "detail", u->detail);
    return o;
}

static cJSON *tpath_of(const struct st_tpath *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)t->index);
    cJSON_AddStringToObject(o, "path", t->path);
    cJSON_AddBoolToObject(o, "exists", t->exists);
    cJSON_AddBoolToObject(o, "mount_point", t->mount_point);
    num_or_null(o, "size_kib", (double)t->size_kb, t->size_kb >= 0);
    num_or_null(o, "used_kib", (double)t->used_kb, t->used_kb >= 0);
    num_or_null(o, "free_kib", (double)t->avail_kb, t->avail_kb >= 0);
    return o;
}

static cJSON *node_of(const struct st_report *r, size_t i)
{
    const struct st_node *n = &r->nodes[i];
    const struct st_facts *f = &n->facts;
    cJSON *o = cJSON_CreateObject(), *a;
    enum svc_kind roles[SVC_COUNT];
    size_t nr = st_node_roles(r->cfg, i, roles);
    cJSON_AddStringToObject(o, "name", r->cfg->nodes[i].name);
    cJSON_AddStringToObject(o, "host", r->cfg->nodes[i].host);
    cJSON_AddBoolToObject(o, "reachable", n->reachable);
    json_add_str_or_null(o, "error", n->error);
    json_add_str_or_null(o, "hostname", f->host);
    num_or_null(o, "clock_offset_s", n->offset_s, n->reachable && n->offset_err_s >= 0);
    cJSON_AddItemToObject(o, "containers", a = cJSON_CreateArray());
    for (size_t k = 0; k < nr; k++) cJSON_AddItemToArray(a, container(r, i, roles[k]));
    cJSON_AddItemToObject(o, "fuse", a = cJSON_CreateArray());
    for (size_t k = 0; k < f->n_fuse; k++) cJSON_AddItemToArray(a, fuse_of(&f->fuse[k]));
    cJSON_AddItemToObject(o, "target_paths", a = cJSON_CreateArray());
    for (size_t k = 0; k < f->n_tp; k++) cJSON_AddItemToArray(a, tpath_of(&f->tp[k]));
    return o;
}

static void where(cJSON *o, const struct st_report *r, const struct st_where *w)
{
    json_add_str_or_null(o, "node", node_name(r, w->node));
    json_add_str_or_null(o, "error", w->error);
}

static cJSON *mnodes(const struct st_mgmtd *m)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct st_mnode *n = &m->nodes[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)n->id);
        cJSON_AddStringToObject(o, "type", n->type);
        cJSON_AddStringToObject(o, "status", n->status);
        cJSON_AddStringToObject(o, "hostname", n->hostname);
        cJSON_AddStringToObject(o, "last_heartbeat", n->last_hb);
        num_or_null(o, "heartbeat_age_s", (double)n->hb_age_s, n->hb_age_s >= 0);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* {"total": n, "by_<what>": {key: count}} */
static cJSON *counts(const char *by, const char *const *keys, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)n);
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(m, keys[i]);
        if (c) cJSON_SetNumberValue(c, c->valuedouble + 1);
        else cJSON_AddNumberToObject(m, keys[i], 1);
    }
    cJSON_AddItemToObject(o, by, m);
    return o;
}

static cJSON *targets(const struct st_mgmtd *m)
{
    struct strvec keys = STRVEC_INIT;
    for (size_t i = 0; i < m->n_targets; i++)
        sv_pushf(&keys, "%s-%s", m->targets[i].pub, m->targets[i].local);
    cJSON *o = counts("by_state", (const char *const *)keys.v, keys.n);
    sv_clear(&keys);
    return o;
}

static cJSON *chains(const struct st_mgmtd *m)
{
    const char **keys = xcalloc(m->n_chains + 1, sizeof(*keys));
    for (size_t i = 0; i < m->n_chains; i++) keys[i] = m->chains[i].status;
    cJSON *o = counts("by_status", keys, m->n_chains), *a = cJSON_CreateArray();
    free(keys);
    for (size_t i = 0; i < m->n_chains; i++) {
        const struct st_chain *c = &m->chains[i];
        if (!strcmp(c->status, "SERVING")) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", (double)c->id);
        cJSON_AddStringToObject(e, "status", c->status);
        cJSON_AddItemToObject(e, "targets", str_array(&c->targets));
        cJSON_AddItemToArray(a, e);
    }
    cJSON_AddItemToObject(o, "not_serving", a);
    return o;
}

static cJSON *mgmtd(const struct st_report *r)
{
    if (!r->cfg->svc[SVC_MGMTD].n_member) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    where(o, r, &r->mgmtd);
    cJSON_AddItemToObject(o, "nodes", mnodes(&r->m));
    cJSON_AddItemToObject(o, "targets", targets(&r->m));
    cJSON_AddItemToObject(o, "chains", chains(&r->m));
    return o;
}

static cJSON *fdb(const struct st_report *r)
{
    const struct st_fdb *f = &r->fdb_status;
    if (!r->cfg->svc[SVC_FDB].n_member) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *a;
    int ok = !r->fdb.error;
    where(o, r, &r->fdb);
    if (ok) cJSON_AddBoolToObject(o, "available", f->available);
    else cJSON_AddNullToObject(o, "available");
    if (ok && f->healthy >= 0) cJSON_AddBoolToObject(o, "healthy", f->healthy);
    else cJSON_AddNullToObject(o, "healthy");
    json_add_str_or_null(o, "redundancy_mode", f->redundancy);
    json_add_str_or_null(o, "storage_engine", f->engine);
    cJSON_AddItemToObject(o, "coordinators", a = cJSON_CreateArray());
    for (size_t i = 0; i < f->n_coords; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "address", f->coords[i].address);
        cJSON_AddBoolToObject(c, "reachable", f->coords[i].reachable);
        cJSON_AddItemToArray(a, c);
    }
    cJSON_AddItemToObject(o, "messages", str_array(&f->messages));
    return o;
}

static cJSON *clickhouse(const struct st_report *r)
{
    if (!r->cfg->svc[SVC_CLICKHOUSE].n_member) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    where(o, r, &r->clickhouse);
    cJSON_AddBoolToObject(o, "reachable", !r->clickhouse.error && r->clickhouse.node >= 0);
    return o;
}

void st_render_json(const struct st_report *r, const struct st_findings *fs, struct strbuf *out)
{
    cJSON *root = cJSON_CreateObject(), *a;
    cJSON_AddStringToObject(root, "schema", "m3fs.status/1");
    cJSON_AddStringToObject(root, "cluster", r->cfg->name);
    cJSON_AddNumberToObject(root, "time", (double)r->when);
    cJSON_AddStringToObject(root, "health", st_health_name(st_health_of(fs)));
    cJSON_AddItemToObject(root, "problems", problems(r, fs));
    cJSON_AddItemToObject(root, "nodes", a = cJSON_CreateArray());
    for (size_t i = 0; i < r->cfg->n_nodes; i++) cJSON_AddItemToArray(a, node_of(r, i));
    cJSON_AddItemToObject(root, "mgmtd", mgmtd(r));
    cJSON_AddItemToObject(root, "fdb", fdb(r));
    cJSON_AddItemToObject(root, "clickhouse", clickhouse(r));
    char *s = cJSON_Print(root);
    sb_adds(out, s ? s : "{}");
    sb_addch(out, '\n');
    free(s);
    cJSON_Delete(root);
}
