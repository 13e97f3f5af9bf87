/* Reading a chain table from its upstream files, for `chain-table verify`.
 * Format errors stop the read ("file:line: what"); inconsistencies between
 * the files are collected in table->problems for ct_verify(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ct-int.h"
#include "m3fs/chaintable.h"

#define MAX_PROBLEMS 100

struct cursor {
    const char *p, *end;
    const char *file;
    long line;
};

/* Next non-blank line without its line end; 0 at the end of the data. */
static int next_line(struct cursor *c, const char **s, size_t *len)
{
    while (c->p < c->end) {
        const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        const char *e = nl ? nl : c->end;
        *s = c->p;
        *len = (size_t)(e - c->p);
        c->p = nl ? nl + 1 : c->end;
        c->line++;
        if (*len && (*s)[*len - 1] == '\r') (*len)--;
        if (*len) return 1;
    }
    return 0;
}

static int fail(struct strbuf *err, const struct cursor *c, const char *fmt, const char *s,
                size_t len)
{
    sb_addf(err, "%s:%ld: ", c->file, c->line);
    sb_addf(err, fmt, (int)(len > 40 ? 40 : len), s);
    return -1;
}

static void problem(struct ct_table *t, char *msg)
{
    if (t->problems.n < MAX_PROBLEMS) {
        sv_push_owned(&t->problems, msg);
        return;
    }
    if (t->problems.n == MAX_PROBLEMS)
        sv_push(&t->problems, "(further inconsistencies are not listed)");
    free(msg);
}

static int load(const char *dir, const char *name, struct strbuf *data, struct strbuf *err)
{
    char *path = xstrfmt("%s/%s", dir, name);
    int rc = sb_read_file_max(data, path, CT_FILE_MAX, err);
    free(path);
    return rc;
}

/* ---- generated_chains.csv ---- */

static int chains_header(struct cursor *c, size_t *ncol, struct strbuf *err)
{
    const char *s;
    size_t len;
    if (!next_line(c, &s, &len)) {
        sb_addf(err, "%s: empty file (expected the header ChainId,TargetId,...)", c->file);
        return -1;
    }
    if (len < 7 || memcmp(s, "ChainId", 7))
        return fail(err, c, "header must start with ChainId, not '%.*s'", s, len);
    *ncol = 0;
    for (size_t i = 7; i < len; i += 9, (*ncol)++)
        if (len - i < 9 || memcmp(s + i, ",TargetId", 9))
            return fail(err, c, "header must be ChainId followed by ,TargetId columns: '%.*s'",
                        s, len);
    if (!*ncol) return fail(err, c, "header '%.*s' has no TargetId column", s, len);
    return 0;
}

static void add_target(struct ct_table *t, size_t *alloc, uint64_t id, uint32_t chain)
{
    ALLOC_GROW(t->targets, t->n_targets, *alloc);
    t->targets[t->n_targets++] = (struct ct_target){ id, 0, 0, chain };
}

static int chains_row(struct ct_table *t, struct cursor *c, const char *s, size_t len,
                      size_t *alloc, struct strbuf *err)
{
    const char *e = s + len, *f = s;
    uint64_t v;
    size_t n = 0;
    struct ct_chain ch = { 0, 0, t->n_targets, 0 };
    while (f <= e) {
        const char *comma = memchr(f, ',', (size_t)(e - f));
        size_t flen = (size_t)((comma ? comma : e) - f);
        if (n == 0 && str_to_u64(f, flen, UINT32_MAX, &v))
            return fail(err, c, "chain id '%.*s' is not a number in 0..4294967295 (3FS "
                        "ChainId is uint32)", f, flen);
        if (n > 0 && str_to_u64(f, flen, UINT64_MAX, &v))
            return fail(err, c, "target id '%.*s' is not a whole number", f, flen);
        if (n == 0) ch.chain_id = (uint32_t)v;
        else add_target(t, &alloc[1], v, ch.chain_id);
        if (t->n_targets > (size_t)CT_MAX_TARGETS)
            return fail(err, c, "too many targets (more than 20000000)%.*s", "", 0);
        n++;
        if (!comma) break;
        f = comma + 1;
    }
    if (n < 2) return fail(err, c, "row '%.*s' has no target", s, len);
    ch.n = n - 1;
    ALLOC_GROW(t->chains, t->n_chains, alloc[0]);
    t->chains[t->n_chains++] = ch;
    return 0;
}

static int read_chains(struct ct_table *t, struct cursor *c, struct strbuf *err)
{
    const char *s;
    size_t len, ncol, alloc[2] = { 0, 0 }; /* chains, targets */
    if (chains_header(c, &ncol, err)) return -1;
    while (next_line(c, &s, &len)) {
        if (chains_row(t, c, s, len, alloc, err)) return -1;
        if (t->n_chains == 1 && t->chains[0].n != ncol) {
            sb_addf(err, "%s:%ld: the header has %zu TargetId columns but the first chain "
                    "has %zu targets", c->file, c->line, ncol, t->chains[0].n);
            return -1;
        }
    }
    if (!t->n_chains) {
        sb_addf(err, "%s: no chains after the header", c->file);
        return -1;
    }
    return 0;
}

/* ---- create_target_cmd.txt ---- */

struct cmd_line {
    uint64_t target_id, node_id, disk_index, chain_id;
    long line;
    int used;
};

struct cmd_list {
    struct cmd_line *v;
    size_t n, alloc;
};

static int word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(w, lit, n);
}

/* Split a line into words at runs of spaces; returns the count (<= max). */
static size_t split_words(const char *s, size_t len, const char **w, size_t *wl, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && s[i] == ' ') i++;
        if (i >= len) break;
        size_t st = i;
        while (i < len && s[i] != ' ') i++;
        w[n] = s + st;
        wl[n++] = i - st;
    }
    return n;
}

/* Value option of a create-target line; returns 1 when w[i] was one. */
static int cmd_value(struct cmd_line *cl, const char *const *w, const size_t *wl, size_t n,
                     size_t *i, int *seen, struct cursor *c, struct strbuf *err)
{
    static const char *const names[] = { "--node-id", "--disk-index", "--target-id",
                                         "--chain-id" };
    static const uint64_t max[] = { UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT32_MAX };
    uint64_t *dst[] = { &cl->node_id, &cl->disk_index, &cl->target_id, &cl->chain_id };
    for (int k = 0; k < 4; k++) {
        if (!word_is(w[*i], wl[*i], names[k])) continue;
        if (*i + 1 >= n || str_to_u64(w[*i + 1], wl[*i + 1], max[k], dst[k]))
            return fail(err, c, "%.*s needs a whole number in range", names[k],
                        strlen(names[k]));
        *seen |= 1 << k;
        (*i)++;
        return 1;
    }
    return 0;
}

static int cmd_row(struct cmd_list *cl, struct cursor *c, const char *s, size_t len,
                   struct strbuf *err)
{
    const char *w[64];
    size_t wl[64], n = split_words(s, len, w, wl, 64);
    struct cmd_line x = { .line = c->line };
    int seen = 0;
    if (n == 64) return fail(err, c, "too many words in '%.*s'", s, len);
    if (!n || !word_is(w[0], wl[0], "create-target"))
        return fail(err, c, "expected a create-target line, not '%.*s'", s, len);
    for (size_t i = 1; i < n; i++) {
        int r = cmd_value(&x, w, wl, n, &i, &seen, c, err);
        if (r < 0) return -1;
        if (r || word_is(w[i], wl[i], "--use-new-chunk-engine")) continue;
        if (word_is(w[i], wl[i], "--chunk-size")) {
            while (i + 1 < n && w[i + 1][0] != '-') i++;
            continue;
        }
        return fail(err, c, "unknown word '%.*s' in create-target line", w[i], wl[i]);
    }
    if (seen != 15)
        return fail(err, c, "create-target line lacks one of --node-id, --disk-index, "
                    "--target-id, --chain-id: '%.*s'", s, len);
    ALLOC_GROW(cl->v, cl->n, cl->alloc);
    cl->v[cl->n++] = x;
    return cl->n > (size_t)CT_MAX_TARGETS ? fail(err, c, "too many lines%.*s", "", 0) : 0;
}

static int cmp_cmd(const void *a, const void *b)
{
    const struct cmd_line *x = a, *y = b;
    if (x->target_id != y->target_id) return x->target_id < y->target_id ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static struct cmd_line *find_cmd(struct cmd_list *cl, uint64_t tid)
{
    size_t lo = 0, hi = cl->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cl->v[mid].target_id < tid) lo = mid + 1;
        else hi = mid;
    }
    return lo < cl->n && cl->v[lo].target_id == tid ? &cl->v[lo] : NULL;
}

/* Give every target its node and disk index from its create-target line. */
static void join_cmds(struct ct_table *t, struct cmd_list *cl)
{
    if (cl->n) qsort(cl->v, cl->n, sizeof(*cl->v), cmp_cmd); /* v is NULL when empty */
    for (size_t i = 1; i < cl->n; i++)
        if (cl->v[i].target_id == cl->v[i - 1].target_id)
            problem(t, xstrfmt(CT_FILE_CREATE ":%ld: target %llu is created again (first at "
                               "line %ld)", cl->v[i].line,
                               (unsigned long long)cl->v[i].target_id, cl->v[i - 1].line));
    for (size_t i = 0; i < t->n_targets; i++) {
        struct ct_target *x = &t->targets[i];
        struct cmd_line *m = find_cmd(cl, x->target_id);
        if (!m) {
            problem(t, xstrfmt("target %llu of chain %u has no line in " CT_FILE_CREATE,
                               (unsigned long long)x->target_id, x->chain_id));
            continue;
        }
        m->used = 1;
        x->node_id = (uint32_t)m->node_id;
        x->disk_index = (uint32_t)m->disk_index;
        if (m->chain_id != x->chain_id)
            problem(t, xstrfmt(CT_FILE_CREATE ":%ld: target %llu is created for chain %llu "
                               "but " CT_FILE_CHAINS " puts it in chain %u", m->line,
                               (unsigned long long)x->target_id,
                               (unsigned long long)m->chain_id, x->chain_id));
    }
    for (size_t i = 0; i < cl->n; i++)
        if (!cl->v[i].used)
            problem(t, xstrfmt(CT_FILE_CREATE ":%ld: target %llu is not in any chain of "
                               CT_FILE_CHAINS, cl->v[i].line,
                               (unsigned long long)cl->v[i].target_id));
    for (size_t c = 0; c < t->n_chains; c++)
        t->chains[c].disk_index = t->targets[t->chains[c].first].disk_index;
}

static int read_cmds(struct ct_table *t, struct cursor *c, struct strbuf *err)
{
    struct cmd_list cl = { 0 };
    const char *s;
    size_t len;
    int rc = 0;
    while (!rc && next_line(c, &s, &len)) rc = cmd_row(&cl, c, s, len, err);
    if (!rc) join_cmds(t, &cl);
    free(cl.v);
    return rc;
}

/* ---- generated_chain_table.csv ---- */

static int read_order(struct ct_table *t, struct cursor *c, struct strbuf *err)
{
    const char *s;
    size_t len, alloc = 0;
    uint64_t v;
    if (!next_line(c, &s, &len) || !word_is(s, len, "ChainId")) {
        sb_addf(err, "%s:%ld: the first line must be the header ChainId", c->file, c->line);
        return -1;
    }
    while (next_line(c, &s, &len)) {
        if (str_to_u64(s, len, UINT32_MAX, &v))
            return fail(err, c, "chain id '%.*s' is not a number in 0..4294967295", s, len);
        ALLOC_GROW(t->order, t->n_order, alloc);
        t->order[t->n_order++] = (uint32_t)v;
        if (t->n_order > (size_t)CT_MAX_TARGETS) return fail(err, c, "too many lines%.*s", "", 0);
    }
    return 0;
}

static const char *const file_names[CT_READ_FILES] = { CT_FILE_CHAINS, CT_FILE_CREATE,
                                                       CT_FILE_TABLE };

/* Read the i-th file's bytes into t; 0 or -1 with err. */
static int read_one(struct ct_table *t, int i, const char *data, size_t len, struct strbuf *err)
{
    static int (*const readers[CT_READ_FILES])(struct ct_table *, struct cursor *,
                                               struct strbuf *) = {
        read_chains, read_cmds, read_order
    };
    struct cursor c = { data, data + len, file_names[i], 0 };
    return readers[i](t, &c, err);
}

int ct_read_data(const char *const data[CT_READ_FILES], const size_t len[CT_READ_FILES],
                 struct ct_table **out, struct strbuf *err)
{
    struct ct_table *t = xcalloc(1, sizeof(*t));
    *out = NULL;
    for (int i = 0; i < CT_READ_FILES; i++)
        if (read_one(t, i, data[i], len[i], err)) {
            ct_table_free(t);
            return -1;
        }
    *out = t;
    return 0;
}

int ct_read_files(const char *dir, struct ct_table **out, struct strbuf *err)
{
    struct ct_table *t = xcalloc(1, sizeof(*t));
    *out = NULL;
    for (int i = 0; i < CT_READ_FILES; i++) {
        struct strbuf data = STRBUF_INIT;
        int rc = load(dir, file_names[i], &data, err) || read_one(t, i, data.buf, data.len, err);
        sb_release(&data);
        if (rc) {
            ct_table_free(t);
            return -1;
        }
    }
    *out = t;
    return 0;
}
