/* status/table.c: admin_cli's list-nodes, list-targets and list-chains,
 * read by column name with the admin_cli table reader (admincli.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/admincli.h"
#include "status-int.h"

/* ---- the three tables --------------------------------------------------- */

/* Column indexes of names[0..n) into idx, or -1 naming the missing one. */
static int need_cols(const struct admin_table *t, const char *what, const char *const *names,
                     int *idx, size_t n, struct strbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        idx[i] = admin_table_col(t, names[i], 0);
        if (idx[i] < 0) {
            sb_addf(err, "admin_cli %s: no column %s", what, names[i]);
            return -1;
        }
    }
    return 0;
}

static const char *cell(const struct strvec *row, int i)
{
    return (size_t)i < row->n ? row->v[i] : "";
}

static int row_num(const struct strvec *row, int i, long long lo, long long hi, long long *out,
                   const char *what, struct strbuf *err)
{
    if (!st_num(cell(row, i), lo, hi, out)) return 0;
    sb_addf(err, "admin_cli: bad %s '%.40s'", what, cell(row, i));
    return -1;
}

static int64_t hb_age(const char *last, int64_t now_utc, long tz)
{
    int64_t local;
    if (!now_utc || st_parse_time(last, &local)) return -1;
    int64_t age = now_utc - (local - tz);
    return age < 0 ? 0 : age;
}

int st_parse_list_nodes(const char *text, int64_t now_utc, long tz_offset_s, struct st_mgmtd *m,
                        struct strbuf *err)
{
    static const char *const names[] = { "Id", "Type", "Status", "Hostname", "LastHeartbeatTime" };
    struct admin_table t;
    int c[ARRAY_SIZE(names)];
    int rc = admin_table_parse(text, &t, err);
    if (!rc) rc = need_cols(&t, "list-nodes", names, c, ARRAY_SIZE(names), err);
    for (size_t i = 0; !rc && i < t.n_rows; i++) {
        const struct strvec *row = &t.rows[i];
        long long id;
        if ((rc = row_num(row, c[0], 0, UINT32_MAX, &id, "node id", err))) break;
        ALLOC_GROW(m->nodes, m->n_nodes, m->n_nodes_alloc_);
        struct st_mnode *n = &m->nodes[m->n_nodes++];
        n->id = (long)id;
        n->type = xstrdup(cell(row, c[1]));
        n->status = xstrdup(cell(row, c[2]));
        n->hostname = xstrdup(cell(row, c[3]));
        n->last_hb = xstrdup(cell(row, c[4]));
        n->hb_age_s = hb_age(n->last_hb, now_utc, tz_offset_s);
    }
    admin_table_release(&t);
    return rc;
}

/* NodeId and DiskIndex are "N/A" for a target mgmtd has no location for. */
static int num_or_na(const struct strvec *row, int i, long *out, struct strbuf *err)
{
    long long v;
    if (!strcmp(cell(row, i), "N/A")) {
        *out = -1;
        return 0;
    }
    if (row_num(row, i, 0, UINT32_MAX, &v, "node id or disk index", err)) return -1;
    *out = (long)v;
    return 0;
}

static int target_row(struct st_mgmtd *m, const struct strvec *row, const int *c,
                      struct strbuf *err)
{
    long long id, chain;
    long node, disk;
    if (row_num(row, c[0], 0, INT64_MAX, &id, "target id", err) ||
        row_num(row, c[1], 0, UINT32_MAX, &chain, "chain id", err) ||
        num_or_na(row, c[5], &node, err) || num_or_na(row, c[6], &disk, err))
        return -1;
    ALLOC_GROW(m->targets, m->n_targets, m->n_targets_alloc_);
    struct st_target *t = &m->targets[m->n_targets++];
    t->id = id, t->chain = (long)chain, t->node_id = node, t->disk = disk;
    t->role = xstrdup(cell(row, c[2]));
    t->pub = xstrdup(cell(row, c[3]));
    t->local = xstrdup(cell(row, c[4]));
    return 0;
}

int st_parse_list_targets(const char *text, struct st_mgmtd *m, struct strbuf *err)
{
    static const char *const names[] = { "TargetId", "ChainId",   "Role",     "PublicState",
                                         "LocalState", "NodeId", "DiskIndex" };
    struct admin_table t;
    int c[ARRAY_SIZE(names)];
    int rc = admin_table_parse(text, &t, err);
    if (!rc) rc = need_cols(&t, "list-targets", names, c, ARRAY_SIZE(names), err);
    for (size_t i = 0; !rc && i < t.n_rows; i++) rc = target_row(m, &t.rows[i], c, err);
    admin_table_release(&t);
    return rc;
}

int st_parse_list_chains(const char *text, struct st_mgmtd *m, struct strbuf *err)
{
    static const char *const names[] = { "ChainId", "Status" };
    struct admin_table t;
    int c[ARRAY_SIZE(names)];
    int rc = admin_table_parse(text, &t, err);
    if (!rc) rc = need_cols(&t, "list-chains", names, c, ARRAY_SIZE(names), err);
    for (size_t i = 0; !rc && i < t.n_rows; i++) {
        const struct strvec *row = &t.rows[i];
        long long id;
        if ((rc = row_num(row, c[0], 0, UINT32_MAX, &id, "chain id", err))) break;
        ALLOC_GROW(m->chains, m->n_chains, m->n_chains_alloc_);
        struct st_chain *ch = &m->chains[m->n_chains++];
        memset(ch, 0, sizeof(*ch));
        ch->id = id;
        ch->status = xstrdup(cell(row, c[1]));
        for (int k = admin_table_col(&t, "Target", 0); k >= 0; k = admin_table_col(&t, "Target", k + 1))
            if (*cell(row, k)) sv_push(&ch->targets, cell(row, k));
    }
    admin_table_release(&t);
    return rc;
}

/* Header lines of the three tables: their first two column names. */
static int header_of(const char *line)
{
    static const char *const heads[ST_LISTS][2] = {
        { "Id", "Type" }, { "TargetId", "ChainId" }, { "ChainId", "ReferencedBy" },
    };
    for (int k = 0; k < ST_LISTS; k++) {
        size_t a = strlen(heads[k][0]);
        const char *p = line + a;
        if (strncmp(line, heads[k][0], a) || *p != ' ') continue;
        while (*p == ' ') p++;
        size_t b = strlen(heads[k][1]);
        if (!strncmp(p, heads[k][1], b) && (p[b] == ' ' || !p[b] || p[b] == '\n')) return k;
    }
    return -1;
}

void st_split_admin_lists(const char *text, struct strbuf parts[ST_LISTS])
{
    int cur = -1, next = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        int h = header_of(p);
        if (h >= next) cur = h, next = h + 1;
        else if (!strncmp(p, "Encounter error:", 16) && next < ST_LISTS) cur = next++;
        if (cur >= 0) sb_add(&parts[cur], p, n);
        p += n;
    }
}

void st_mgmtd_release(struct st_mgmtd *m)
{
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct st_mnode *n = &m->nodes[i];
        free(n->type), free(n->status), free(n->hostname), free(n->last_hb);
    }
    for (size_t i = 0; i < m->n_targets; i++)
        free(m->targets[i].role), free(m->targets[i].pub), free(m->targets[i].local);
    for (size_t i = 0; i < m->n_chains; i++) free(m->chains[i].status), sv_clear(&m->chains[i].targets);
    free(m->nodes), free(m->targets), free(m->chains);
    memset(m, 0, sizeof(*m));
}
