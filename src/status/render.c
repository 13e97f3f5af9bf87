/* status/render.c: the text views of a report: status (header, node/role
 * table, service sections, problems) and doctor (every check with its
 * findings, cause and fix). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "status-int.h"

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *sev_name(enum st_severity s)
{
    return s == ST_SEV_DOWN ? "down" : s == ST_SEV_DEGRADED ? "degraded" : "warning";
}

/* ---- a table printed like admin_cli's: columns padded to their widest cell */

struct grid {
    struct strvec *rows;
    size_t n, alloc;
};

static struct strvec *grid_row(struct grid *g)
{
    ALLOC_GROW(g->rows, g->n, g->alloc);
    memset(&g->rows[g->n], 0, sizeof(g->rows[0]));
    return &g->rows[g->n++];
}

static void grid_print(struct grid *g, struct strbuf *out)
{
    size_t w[16] = { 0 };
    for (size_t i = 0; i < g->n; i++)
        for (size_t c = 0; c < g->rows[i].n && c < 16; c++)
            if (strlen(g->rows[i].v[c]) > w[c]) w[c] = strlen(g->rows[i].v[c]);
    for (size_t i = 0; i < g->n; i++) {
        struct strbuf line = STRBUF_INIT;
        for (size_t c = 0; c < g->rows[i].n && c < 16; c++)
            sb_addf(&line, "%-*s  ", (int)w[c], g->rows[i].v[c]);
        sb_rtrim(&line);
        sb_addf(out, "%s\n", line.buf);
        sb_release(&line);
    }
    for (size_t i = 0; i < g->n; i++) sv_clear(&g->rows[i]);
    free(g->rows);
    memset(g, 0, sizeof(*g));
}

/* ---- status ---------------------------------------------------------------- */

static const char *where_name(const struct st_report *r, const struct st_where *w)
{
    return w->node >= 0 ? r->cfg->nodes[w->node].name : "?";
}

void st_render_header(const struct st_report *r, const struct st_findings *fs, struct strbuf *out)
{
    enum st_health h = st_health_of(fs);
    sb_addf(out, "cluster %s: %s", r->cfg->name, st_health_name(h));
    if (h == ST_H_HEALTHY) return;
    sb_adds(out, " (");
    size_t shown = 0;
    for (int pass = 0; pass < 2; pass++) /* the down findings first */
        for (size_t i = 0; i < fs->n; i++) {
            if ((fs->v[i].sev == ST_SEV_DOWN) != !pass || shown++ >= 3) continue;
            const char *w = fs->v[i].what, *colon = strstr(w, ": ");
            sb_addf(out, "%s%.*s", shown > 1 ? "; " : "", (int)(colon ? colon - w : (long)strlen(w)),
                    w);
        }
    if (shown > 3) sb_addf(out, "; and %zu more", shown - 3);
    sb_addch(out, ')');
}

static const struct st_mnode *mnode_of(const struct st_report *r, size_t node, enum svc_kind k)
{
    long id = config_node_id(r->cfg, node, k);
    for (size_t i = 0; id && i < r->m.n_nodes; i++)
        if (r->m.nodes[i].id == id) return &r->m.nodes[i];
    return NULL;
}

/* The 3FS column: node id, its status in list-nodes, its last heartbeat. */
static void col_3fs(const struct st_report *r, size_t node, enum svc_kind k, struct strvec *row)
{
    long id = config_node_id(r->cfg, node, k);
    const struct st_mnode *m = mnode_of(r, node, k);
    struct strbuf sb = STRBUF_INIT;
    if (id) sb_addf(&sb, "%ld %s", id, m ? m->status : r->mgmtd.error ? "?" : "not in list-nodes");
    if (m && m->hb_age_s >= 0) {
        sb_adds(&sb, " (heartbeat ");
        st_secs(&sb, m->hb_age_s);
        sb_adds(&sb, " ago)");
    }
    sv_push(row, sb.buf);
    sb_release(&sb);
}

static void ctr_row(const struct st_report *r, size_t node, enum svc_kind k, struct grid *g)
{
    const struct st_node *n = &r->nodes[node];
    const char *name = r->cfg->svc[k].container_name;
    const struct st_ctr *c = n->reachable ? st_facts_ctr(&n->facts, name) : NULL;
    struct strvec *row = grid_row(g);
    struct strbuf up = STRBUF_INIT;
    sv_push(row, r->cfg->nodes[node].name);
    sv_push(row, svc_key(k));
    sv_push(row, name);
    sv_push(row, c ? c->state : n->reachable ? "?" : "unreachable");
    if (c && strcmp(c->state, "missing")) sv_pushf(row, "%ld", c->restarts);
    else sv_push(row, "-");
    if (c && st_ctr_uptime(r, node, c) >= 0) st_secs(&up, st_ctr_uptime(r, node, c));
    sv_push(row, up.len ? up.buf : "-");
    sv_push(row, c && c->image ? c->image : "-");
    col_3fs(r, node, k, row);
    sb_release(&up);
}

static void node_table(const struct st_report *r, struct strbuf *out)
{
    struct grid g = { 0 };
    struct strvec *h = grid_row(&g);
    const char *head[] = { "NODE", "ROLE", "CONTAINER", "STATE", "RESTARTS", "UP", "IMAGE", "3FS" };
    for (size_t i = 0; i < ARRAY_SIZE(head); i++) sv_push(h, head[i]);
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        enum svc_kind roles[SVC_COUNT];
        size_t n = st_node_roles(r->cfg, i, roles);
        for (size_t k = 0; k < n; k++) ctr_row(r, i, roles[k], &g);
        if (!n && r->nodes[i].error) {
            struct strvec *row = grid_row(&g);
            sv_push(row, r->cfg->nodes[i].name), sv_push(row, "-"), sv_push(row, "-");
            sv_push(row, "unreachable");
        }
    }
    grid_print(&g, out);
}

/* "48: 40 SERVING-UPTODATE, 8 OFFLINE-OFFLINE" from distinct keys. */
static void count_by(struct strbuf *out, const char *const *keys, size_t n)
{
    struct strvec seen = STRVEC_INIT;
    sb_addf(out, "%zu", n);
    for (size_t i = 0; i < n; i++) {
        if (sv_contains(&seen, keys[i])) continue;
        size_t c = 0;
        for (size_t j = i; j < n; j++) c += !strcmp(keys[j], keys[i]);
        sb_addf(out, "%s%zu %s", seen.n ? ", " : ": ", c, keys[i]);
        sv_push(&seen, keys[i]);
    }
    sv_clear(&seen);
}

static void mgmtd_section(const struct st_report *r, struct strbuf *out)
{
    const struct st_mgmtd *m = &r->m;
    if (!r->cfg->svc[SVC_MGMTD].n_member) return;
    if (r->mgmtd.error) {
        sb_addf(out, "mgmtd:       no answer: %s\n", r->mgmtd.error);
        return;
    }
    const char **keys = xcalloc(m->n_targets + m->n_chains + m->n_nodes + 1, sizeof(*keys));
    for (size_t i = 0; i < m->n_nodes; i++) keys[i] = m->nodes[i].status;
    sb_addf(out, "mgmtd:       list-nodes on %s: ", where_name(r, &r->mgmtd));
    count_by(out, keys, m->n_nodes);
    struct strbuf *ts = xcalloc(m->n_targets ? m->n_targets : 1, sizeof(*ts));
    for (size_t i = 0; i < m->n_targets; i++) {
        sb_init(&ts[i], 0);
        sb_addf(&ts[i], "%s-%s", m->targets[i].pub, m->targets[i].local);
        keys[i] = ts[i].buf;
    }
    sb_adds(out, " nodes\ntargets:     ");
    count_by(out, keys, m->n_targets);
    for (size_t i = 0; i < m->n_chains; i++) keys[i] = m->chains[i].status;
    sb_adds(out, "\nchains:      ");
    count_by(out, keys, m->n_chains);
    sb_addch(out, '\n');
    for (size_t i = 0; i < m->n_targets; i++) sb_release(&ts[i]);
    free(ts), free(keys);
}

static void fdb_section(const struct st_report *r, struct strbuf *out)
{
    const struct st_fdb *f = &r->fdb_status;
    if (!r->cfg->svc[SVC_FDB].n_member) return;
    if (r->fdb.error) {
        sb_addf(out, "fdb:         no answer: %s\n", r->fdb.error);
        return;
    }
    sb_addf(out, "fdb:         %s (on %s), redundancy %s, engine %s, coordinators",
            f->available ? "available" : "UNAVAILABLE", where_name(r, &r->fdb),
            f->redundancy ? f->redundancy : "?", f->engine ? f->engine : "?");
    for (size_t i = 0; i < f->n_coords; i++)
        sb_addf(out, "%s %s (%s)", i ? "," : "", f->coords[i].address,
                f->coords[i].reachable ? "reachable" : "UNREACHABLE");
    if (!f->n_coords) sb_adds(out, " ?");
    sb_addch(out, '\n');
}

static void ch_section(const struct st_report *r, struct strbuf *out)
{
    if (!r->cfg->svc[SVC_CLICKHOUSE].n_member) return;
    if (r->clickhouse.error) sb_addf(out, "clickhouse:  no answer: %s\n", r->clickhouse.error);
    else sb_addf(out, "clickhouse:  answers SELECT 1 (on %s)\n", where_name(r, &r->clickhouse));
}

static void fuse_lines(const struct st_report *r, struct strbuf *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = r->nodes[i].reachable ? &r->nodes[i].facts : NULL;
        for (size_t k = 0; f && k < f->n_fuse; k++)
            sb_addf(out, "fuse:        %s %s: %s\n", r->cfg->nodes[i].name, f->fuse[k].mountpoint,
                    !f->fuse[k].mounted ? "NOT MOUNTED"
                    : !strcmp(f->fuse[k].answer, "ok") ? "mounted, answers"
                    : !strcmp(f->fuse[k].answer, "stale") ? "STALE" : "NO ANSWER");
    }
}

static void storage_lines(const struct st_report *r, struct strbuf *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = r->nodes[i].reachable ? &r->nodes[i].facts : NULL;
        for (size_t k = 0; f && k < f->n_tp; k++) {
            const struct st_tpath *t = &f->tp[k];
            sb_addf(out, "storage:     %s %s: ", r->cfg->nodes[i].name, t->path);
            if (!t->exists) {
                sb_adds(out, "MISSING\n");
                continue;
            }
            st_kib(out, t->used_kb);
            sb_adds(out, " used, ");
            st_kib(out, t->avail_kb);
            sb_adds(out, " free\n");
        }
    }
}

void st_render_text(const struct st_report *r, const struct st_findings *fs, int color,
                    struct strbuf *out)
{
    enum st_health h = st_health_of(fs);
    if (color) sb_adds(out, h == ST_H_HEALTHY ? GREEN BOLD : h == ST_H_DOWN ? RED BOLD : YELLOW BOLD);
    st_render_header(r, fs, out);
    sb_adds(out, color ? RESET "\n\n" : "\n\n");
    node_table(r, out);
    sb_addch(out, '\n');
    mgmtd_section(r, out);
    fdb_section(r, out);
    ch_section(r, out);
    fuse_lines(r, out);
    storage_lines(r, out);
    if (fs->n) sb_adds(out, "\nproblems:\n");
    for (size_t i = 0; i < fs->n; i++)
        sb_addf(out, "  %-8s  %s: %s\n", sev_name(fs->v[i].sev), fs->v[i].check, fs->v[i].what);
    if (fs->n) sb_adds(out, "(m3fs cluster doctor -c FILE says why and what to do)\n");
}

/* ---- doctor ---------------------------------------------------------------- */

static void doctor_check(const struct st_check *c, const struct st_findings *fs, int color,
                         struct strbuf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < fs->n; i++) n += !strcmp(fs->v[i].check, c->name);
    if (!n) {
        sb_addf(out, "%sok%s    %s\n", color ? GREEN : "", color ? RESET : "", c->name);
        return;
    }
    sb_addf(out, "%sFAIL%s  %s\n", color ? RED BOLD : "", color ? RESET : "", c->name);
    int general = 0; /* a finding without a fix of its own */
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->v[i].check, c->name)) continue;
        sb_addf(out, "      %s: %s\n", sev_name(fs->v[i].sev), fs->v[i].what);
        if (fs->v[i].fix) sb_addf(out, "        fix: %s\n", fs->v[i].fix);
        else general = 1;
    }
    sb_addf(out, "      cause: %s\n", c->cause);
    if (general) sb_addf(out, "      fix:   %s\n", c->fix);
}

void st_render_doctor(const struct st_report *r, const struct st_findings *fs, unsigned ran,
                      int color, struct strbuf *out)
{
    size_t up = 0, checks = 0;
    for (size_t i = 0; i < r->cfg->n_nodes; i++) up += r->nodes[i].reachable;
    for (const struct st_check *c = st_checks; c->name; c++) checks += !ran || (c->flags & ran);
    sb_addf(out, "cluster %s: %zu node%s (%zu answered), %zu checks\n\n", r->cfg->name,
            r->cfg->n_nodes, plural_s((long long)r->cfg->n_nodes), up, checks);
    for (const struct st_check *c = st_checks; c->name; c++)
        if (!ran || (c->flags & ran)) doctor_check(c, fs, color, out);
    if (fs->n) sb_addf(out, "\n%zu problem%s found\n", fs->n, plural_s((long long)fs->n));
    else sb_adds(out, "\nno problems found\n");
}
