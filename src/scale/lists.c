/* scale/lists.c: what admin_cli shows of the chains and targets, read
 * into a struct sc_view (untrusted remote output: every number is range
 * checked, every state bounded).  Tables are read by column name with the
 * admin_cli table reader (admincli.h: admin_cli's Printer.cc layout). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/admincli.h"
#include "m3fs/scale.h"

#define SC_MAX_ROWS 20000000UL /* CT_MAX_TARGETS */

static int num(const char *s, uint64_t hi, uint64_t *out)
{
    if (!*s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > hi) return -1;
    *out = v;
    return 0;
}

static const char *cell(const struct strvec *row, int i)
{
    return i >= 0 && (size_t)i < row->n ? row->v[i] : "";
}

static int bad(struct strbuf *err, const char *what, const char *val)
{
    sb_addf(err, "admin_cli: bad %s '%.40s'", what, val);
    return -1;
}

/* A state word: upper-case letters only, shorter than the field. */
static int state_word(const char *s, char out[16])
{
    size_t n = strlen(s);
    if (!n || n >= 16) return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z') return -1;
    memcpy(out, s, n + 1);
    return 0;
}

static int node_or_na(const char *s, long *out)
{
    uint64_t v;
    if (!strcmp(s, "N/A")) {
        *out = -1;
        return 0;
    }
    if (num(s, UINT32_MAX, &v)) return -1;
    *out = (long)v;
    return 0;
}

static struct sc_target *find_mut(struct sc_view *v, uint64_t id)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->t[i].id == id) return &v->t[i];
    return NULL;
}

const struct sc_target *sc_find(const struct sc_view *v, uint64_t id)
{
    return find_mut((struct sc_view *)v, id);
}

static struct sc_target *add_target(struct sc_view *v, uint64_t id)
{
    struct sc_target *t = find_mut(v, id);
    if (t) return t;
    ALLOC_GROW(v->t, v->n, v->alloc);
    t = &v->t[v->n++];
    memset(t, 0, sizeof(*t));
    t->id = id, t->node = -1, t->disk = -1;
    return t;
}

/* Columns of list-targets; ChainId, Role and PublicState are absent in
 * the --orphan listing. */
enum { C_ID, C_CHAIN, C_PUB, C_LOCAL, C_NODE, C_DISK, C_USED, C_N };

static int target_row(struct sc_view *v, const struct strvec *row, const int *c,
                      struct strbuf *err)
{
    uint64_t id, chain = 0, used;
    long node, disk;
    char pub[16] = "", local[16];
    if (num(cell(row, c[C_ID]), INT64_MAX, &id) || !id) return bad(err, "target id", cell(row, c[C_ID]));
    if (c[C_CHAIN] >= 0 && num(cell(row, c[C_CHAIN]), UINT32_MAX, &chain))
        return bad(err, "chain id", cell(row, c[C_CHAIN]));
    if (c[C_PUB] >= 0 && state_word(cell(row, c[C_PUB]), pub))
        return bad(err, "public state", cell(row, c[C_PUB]));
    if (state_word(cell(row, c[C_LOCAL]), local)) return bad(err, "local state", cell(row, c[C_LOCAL]));
    if (node_or_na(cell(row, c[C_NODE]), &node)) return bad(err, "node id", cell(row, c[C_NODE]));
    if (node_or_na(cell(row, c[C_DISK]), &disk)) return bad(err, "disk index", cell(row, c[C_DISK]));
    if (num(cell(row, c[C_USED]), UINT64_MAX, &used)) return bad(err, "UsedSize", cell(row, c[C_USED]));
    if (v->n >= SC_MAX_ROWS) return bad(err, "listing", "too many targets");
    struct sc_target *t = add_target(v, id);
    t->chain = (uint32_t)chain, t->node = node, t->disk = disk, t->used = used;
    t->orphan = c[C_CHAIN] < 0;
    memcpy(t->pub, pub, sizeof(pub));
    memcpy(t->local, local, sizeof(local));
    return 0;
}

int sc_parse_targets(const char *text, struct sc_view *v, struct strbuf *err)
{
    static const char *const names[C_N] = { "TargetId", "ChainId", "PublicState", "LocalState",
                                            "NodeId",   "DiskIndex", "UsedSize" };
    struct admin_table t;
    int c[C_N];
    int rc = admin_table_parse(text, &t, err);
    for (int i = 0; !rc && i < C_N; i++) c[i] = admin_table_col(&t, names[i], 0);
    if (!rc && (c[C_ID] < 0 || c[C_LOCAL] < 0 || c[C_NODE] < 0 || c[C_DISK] < 0 ||
                c[C_USED] < 0 || (c[C_CHAIN] < 0) != (c[C_PUB] < 0))) {
        sb_adds(err, "admin_cli list-targets: a column is missing (TargetId, ChainId, "
                "PublicState, LocalState, NodeId, DiskIndex, UsedSize)");
        rc = -1;
    }
    for (size_t i = 0; !rc && i < t.n_rows; i++) rc = target_row(v, &t.rows[i], c, err);
    admin_table_release(&t);
    return rc;
}

/* "101000100101(SERVING-UPTODATE)" */
static int chain_target(struct sc_view *v, const char *s, uint64_t *id, struct strbuf *err)
{
    const char *open = strchr(s, '('), *dash = open ? strchr(open, '-') : NULL;
    size_t n = strlen(s);
    if (!open || !dash || n < 2 || s[n - 1] != ')') return bad(err, "chain target", s);
    char buf[64], pub[16], local[16];
    size_t a = (size_t)(open - s), b = (size_t)(dash - open - 1), l = n - 2 - (size_t)(dash - s);
    if (a >= sizeof(buf) || b >= sizeof(pub) || l >= sizeof(local)) return bad(err, "chain target", s);
    memcpy(buf, s, a), buf[a] = 0;
    memcpy(pub, open + 1, b), pub[b] = 0;
    memcpy(local, dash + 1, l), local[l] = 0;
    char p2[16], l2[16];
    if (num(buf, INT64_MAX, id) || !*id || state_word(pub, p2) || state_word(local, l2))
        return bad(err, "chain target", s);
    struct sc_target *t = find_mut(v, *id);
    if (!t) {
        if (v->n >= SC_MAX_ROWS) return bad(err, "listing", "too many targets");
        t = add_target(v, *id);
        memcpy(t->pub, p2, sizeof(p2));
        memcpy(t->local, l2, sizeof(l2));
    }
    return 0;
}

static int chain_row(struct sc_view *v, const struct admin_table *t, const struct strvec *row,
                     int c_id, int c_ver, struct strbuf *err)
{
    uint64_t id, ver;
    if (num(cell(row, c_id), UINT32_MAX, &id) || !id) return bad(err, "chain id", cell(row, c_id));
    if (c_ver >= 0) {
        if (num(cell(row, c_ver), INT32_MAX, &ver)) return bad(err, "ChainTableVersion", cell(row, c_ver));
        v->table_version = (long)ver;
    }
    if (v->n_chains >= SC_MAX_ROWS) return bad(err, "listing", "too many chains");
    ALLOC_GROW(v->c, v->n_chains, v->c_alloc);
    struct sc_chain *ch = &v->c[v->n_chains++];
    memset(ch, 0, sizeof(*ch));
    ch->id = (uint32_t)id;
    for (int k = admin_table_col(t, "Target", 0); k >= 0; k = admin_table_col(t, "Target", k + 1)) {
        if (!*cell(row, k)) continue;
        uint64_t tid;
        if (chain_target(v, cell(row, k), &tid, err)) return -1;
        ch->targets = xrealloc(ch->targets, (ch->n + 1) * sizeof(*ch->targets));
        ch->targets[ch->n++] = tid;
        struct sc_target *tg = find_mut(v, tid);
        tg->chain = ch->id;
    }
    return 0;
}

int sc_parse_chains(const char *text, struct sc_view *v, struct strbuf *err)
{
    struct admin_table t;
    int rc = admin_table_parse(text, &t, err);
    int c_id = rc ? -1 : admin_table_col(&t, "ChainId", 0);
    if (!rc && c_id < 0) {
        sb_adds(err, "admin_cli list-chains: no column ChainId");
        rc = -1;
    }
    int c_ver = rc ? -1 : admin_table_col(&t, "ChainTableVersion", 0);
    for (size_t i = 0; !rc && i < t.n_rows; i++) rc = chain_row(v, &t, &t.rows[i], c_id, c_ver, err);
    admin_table_release(&t);
    return rc;
}

/* Cut text at the "== NAME ==" lines. */
static const char *part(const char *text, const char *name, size_t *len)
{
    char mark[32];
    snprintf(mark, sizeof(mark), "== %s ==\n", name);
    const char *p = strstr(text, mark);
    while (p && p != text && p[-1] != '\n') p = strstr(p + 1, mark);
    if (!p) return NULL;
    p += strlen(mark);
    const char *end = strstr(p, "\n== ");
    *len = end ? (size_t)(end - p) + 1 : strlen(p);
    return p;
}

int sc_parse_observe(const char *text, struct sc_view *v, struct strbuf *err)
{
    static const char *const names[] = { "targets", "orphans", "chains" };
    v->table_version = -1;
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        const char *p = part(text, names[i], &len);
        if (!p) {
            sb_addf(err, "admin_cli output: no %s listing", names[i]);
            return -1;
        }
        char *s = xstrndup(p, len);
        int rc = i < 2 ? sc_parse_targets(s, v, err) : sc_parse_chains(s, v, err);
        free(s);
        if (rc) return -1;
    }
    return 0;
}

void sc_view_release(struct sc_view *v)
{
    for (size_t i = 0; i < v->n_chains; i++) free(v->c[i].targets);
    free(v->c), free(v->t);
    memset(v, 0, sizeof(*v));
}
