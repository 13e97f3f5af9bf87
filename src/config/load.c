/* Loads cluster.yml with libyaml's document API and walks it against the
 * declarative schema in schema.c.  Every problem becomes a file:line:col
 * diagnostic; loading goes on after an error so all of them are reported. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "m3fs/config.h"
#include "strindex.h"
#include "schema.h"

struct loader {
    yaml_document_t doc;
    const char *file;
    struct diag_list *dl;
    struct m3fs_config *cfg;
    struct strbuf path;
};

static void report(struct loader *L, enum diag_sev sev, const yaml_node_t *n, const char *hint,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct loader *L, enum diag_sev sev, const yaml_node_t *n, const char *hint,
                   const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    diag_add(L->dl, sev, L->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1,
             hint, "%s", sb.buf);
    sb_release(&sb);
}

static void record_pos(struct loader *L, const yaml_node_t *n)
{
    struct m3fs_config *c = L->cfg;
    ALLOC_GROW(c->pos, c->n_pos, c->n_alloc_pos_);
    c->pos[c->n_pos].path = xstrdup(L->path.buf);
    c->pos[c->n_pos].pos = (struct yml_pos){ (int)n->start_mark.line + 1,
                                             (int)n->start_mark.column + 1 };
    if (!c->pos_index_) c->pos_index_ = xcalloc(1, sizeof(struct strindex));
    strindex_add(c->pos_index_, c->pos[c->n_pos].path, c->n_pos); /* the first one counts */
    c->n_pos++;
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a single value";
    }
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + ((a[i - 1] | 32) != (b[j - 1] | 32));
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const char *did_you_mean(const struct field *fields, const char *key)
{
    const char *best = NULL;
    size_t best_d = 99, len = strlen(key);
    for (const struct field *f = fields; f->key; f++) {
        if (f->kind == FK_LEGACY) continue;
        size_t d = edit_distance(key, f->key);
        if (d < best_d) best_d = d, best = f->key;
    }
    size_t limit = len < 6 ? 2 : len / 3 + 1;
    return best_d <= limit ? best : NULL;
}

static void unknown_key(struct loader *L, const yaml_node_t *k, const struct field *fields)
{
    const char *s = scalar(k), *sug = did_you_mean(fields, s);
    struct strbuf hint = STRBUF_INIT;
    if (sug) sb_addf(&hint, "did you mean '%s'?", sug);
    else {
        sb_adds(&hint, "known keys here:");
        for (const struct field *f = fields; f->key; f++)
            if (f->kind != FK_LEGACY) sb_addf(&hint, " %s", f->key);
    }
    report(L, DIAG_ERROR, k, hint.buf, "unknown key '%s'%s%s", s, L->path.len ? " in " : "",
           L->path.buf);
    sb_release(&hint);
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = xstrdup(s);
}

static int want_scalar(struct loader *L, const yaml_node_t *v, const char *what)
{
    if (v->type == YAML_SCALAR_NODE) return 1;
    report(L, DIAG_ERROR, v, "write a single value on the same line as the key",
           "'%s' must be %s, not %s", L->path.buf, what, kind_name(v));
    return 0;
}

static int parse_int(struct loader *L, const yaml_node_t *v, long long *out)
{
    if (!want_scalar(L, v, "a whole number")) return -1;
    const char *s = scalar(v);
    if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        report(L, DIAG_ERROR, v, "remove the quotes",
               "'%s' must be a number, but \"%s\" is a quoted string", L->path.buf, s);
        return -1;
    }
    char *end;
    errno = 0;
    int hex = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'));
    long long x = strtoll(s, &end, hex ? 16 : 10);
    if (!*s || errno || *end || (s[0] == '0' && s[1] && !hex)) {
        report(L, DIAG_ERROR, v, "write a whole number such as 8000",
               "'%s' must be a whole number, not '%s'", L->path.buf, s);
        return -1;
    }
    *out = x;
    return 0;
}

static void load_duration(struct loader *L, const yaml_node_t *v, int64_t *dst)
{
    if (!want_scalar(L, v, "a duration")) return;
    const char *s = scalar(v);
    int64_t ms;
    if (s[strspn(s, "0123456789")] == '\0' && strcmp(s, "0") && *s) {
        report(L, DIAG_ERROR, v, "add a unit, e.g. \"30s\", \"5m\" or \"1h\"",
               "'%s' is a duration and needs a unit: '%s'", L->path.buf, s);
        return;
    }
    if (parse_duration_ms(s, &ms) || ms < 0) {
        report(L, DIAG_ERROR, v, "use Go duration syntax such as \"300ms\", \"30s\", \"10m\", \"1h30m\"",
               "'%s' is not a valid duration: '%s'", L->path.buf, s);
        return;
    }
    *dst = ms;
}

/* One item of a list: L->path is the list's path (its first list_len
 * bytes) plus ".<index>". */
typedef void (*item_fn)(struct loader *L, const yaml_node_t *e, size_t list_len, void *arg);

/* Call fn for every item of the list v, with the item's path set and its
 * position recorded.  An empty value is an empty list; any other non-list
 * is an error with `hint`. */
static void each_item(struct loader *L, const yaml_node_t *v, const char *hint, item_fn fn,
                      void *arg)
{
    if (is_null(v)) return;
    if (v->type != YAML_SEQUENCE_NODE) {
        report(L, DIAG_ERROR, v, hint, "'%s' must be a list, not %s", L->path.buf, kind_name(v));
        return;
    }
    size_t base = L->path.len;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(&L->doc, *it);
        sb_addf(&L->path, ".%zu", (size_t)(it - v->data.sequence.items.start));
        record_pos(L, e);
        fn(L, e, base, arg);
        sb_setlen(&L->path, base);
    }
}

static void strlist_item(struct loader *L, const yaml_node_t *e, size_t list_len, void *arg)
{
    if (e->type != YAML_SCALAR_NODE || is_null(e))
        report(L, DIAG_ERROR, e, "each list item must be a plain name",
               "item of '%.*s' must be a single value, not %s", (int)list_len, L->path.buf,
               is_null(e) ? "empty" : kind_name(e));
    else
        sv_push(arg, scalar(e));
}

static void load_strlist(struct loader *L, const yaml_node_t *v, struct strvec *sv)
{
    sv_clear(sv);
    each_item(L, v, "write a list, e.g. [node1, node2] or one '- name' per line", strlist_item, sv);
}

static void walk_map(struct loader *L, const yaml_node_t *map, const struct field *fields, void *base);

typedef void *(*new_item_fn)(struct m3fs_config *c);

static void *new_node(struct m3fs_config *c)
{
    ALLOC_GROW(c->nodes, c->n_nodes, c->n_alloc_nodes_);
    struct m3fs_node *n = &c->nodes[c->n_nodes++];
    memset(n, 0, sizeof(*n));
    n->port = 22;
    c->n_explicit_nodes = c->n_nodes;
    return n;
}

static void *new_group(struct m3fs_config *c)
{
    ALLOC_GROW(c->groups, c->n_groups, c->n_alloc_groups_);
    struct m3fs_node_group *g = &c->groups[c->n_groups++];
    memset(g, 0, sizeof(*g));
    g->port = 22;
    return g;
}

struct item_kind {
    const struct field *fields;
    new_item_fn mk;
    size_t pos_off; /* offset of the item's struct yml_pos */
};

static void mapping_item(struct loader *L, const yaml_node_t *e, size_t list_len, void *arg)
{
    const struct item_kind *k = arg;
    if (e->type != YAML_MAPPING_NODE) {
        report(L, DIAG_ERROR, e, "each entry is a mapping such as '- name: node1'",
               "entry of '%.*s' must be a mapping, not %s", (int)list_len, L->path.buf,
               kind_name(e));
        return;
    }
    char *item = k->mk(L->cfg);
    struct yml_pos *p = (struct yml_pos *)(item + k->pos_off);
    p->line = (int)e->start_mark.line + 1;
    p->col = (int)e->start_mark.column + 1;
    walk_map(L, e, k->fields, item);
}

static void load_items(struct loader *L, const yaml_node_t *v, const struct field *fields,
                       new_item_fn mk, size_t pos_off)
{
    struct item_kind k = { fields, mk, pos_off };
    each_item(L, v, "write one '- name: ...' entry per item", mapping_item, &k);
}

static void load_field(struct loader *L, const struct field *f, const yaml_node_t *k,
                       const yaml_node_t *v, void *base)
{
    char *p = (char *)base + f->off;
    long long x;
    switch (f->kind) {
    case FK_STR:
        if (!want_scalar(L, v, "a single value")) return;
        set_str((char **)p, is_null(v) ? "" : scalar(v));
        return;
    case FK_LONG:
        if (!parse_int(L, v, &x)) *(long *)p = (long)x;
        return;
    case FK_I64:
        if (!parse_int(L, v, &x)) *(int64_t *)p = (int64_t)x;
        return;
    case FK_DUR:
        load_duration(L, v, (int64_t *)p);
        return;
    case FK_STRLIST:
        load_strlist(L, v, (struct strvec *)p);
        return;
    case FK_NODES:
        load_items(L, v, node_fields, new_node, offsetof(struct m3fs_node, pos));
        return;
    case FK_GROUPS:
        load_items(L, v, group_fields, new_group, offsetof(struct m3fs_node_group, pos));
        return;
    case FK_MAP:
        if (is_null(v)) return;
        walk_map(L, v, f->sub, base);
        return;
    case FK_LEGACY: {
        const char *bar = strchr(f->note, '|');
        char *msg = xstrndup(f->note, (size_t)(bar - f->note));
        report(L, DIAG_WARN, k, bar + 1, "%s", msg);
        free(msg);
        return;
    }
    }
}

static int seen_before(const yaml_node_pair_t *start, const yaml_node_pair_t *cur,
                       yaml_document_t *doc, const char *key)
{
    for (const yaml_node_pair_t *q = start; q < cur; q++) {
        yaml_node_t *k = yaml_document_get_node(doc, q->key);
        if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), key)) return 1;
    }
    return 0;
}

static void walk_map(struct loader *L, const yaml_node_t *map, const struct field *fields, void *base)
{
    if (map->type != YAML_MAPPING_NODE) {
        report(L, DIAG_ERROR, map, "indent the keys below it, one 'key: value' per line",
               "'%s' must be a mapping, not %s", L->path.len ? L->path.buf : "the file",
               kind_name(map));
        return;
    }
    size_t plen = L->path.len;
    const yaml_node_pair_t *start = map->data.mapping.pairs.start;
    for (const yaml_node_pair_t *pr = start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(&L->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&L->doc, pr->value);
        if (k->type != YAML_SCALAR_NODE) {
            report(L, DIAG_ERROR, k, "keys are plain words", "a key must be a single word, not %s",
                   kind_name(k));
            continue;
        }
        const struct field *f = fields;
        while (f->key && strcmp(f->key, scalar(k))) f++;
        if (!f->key) {
            unknown_key(L, k, fields);
            continue;
        }
        if (seen_before(start, pr, &L->doc, f->key)) {
            report(L, DIAG_ERROR, k, "remove one of the two", "key '%s' appears twice", f->key);
            continue;
        }
        sb_addf(&L->path, "%s%s", plen ? "." : "", f->key);
        record_pos(L, k);
        load_field(L, f, k, v, base);
        sb_setlen(&L->path, plen);
    }
}

static void parse_error(struct loader *L, yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    struct strbuf msg = STRBUF_INIT;
    sb_addf(&msg, "YAML syntax error: %s", p->problem ? p->problem : "unknown problem");
    if (p->context) sb_addf(&msg, " (%s, line %zu)", p->context, p->context_mark.line + 1);
    diag_add(L->dl, DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
             "check indentation (spaces only), quotes and colons around this place", "%s", msg.buf);
    sb_release(&msg);
}

static int parse_document(struct loader *L, const char *data, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) abort();
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    int ok = yaml_parser_load(&p, &L->doc);
    if (!ok) parse_error(L, &p);
    yaml_parser_delete(&p);
    return ok ? 0 : -1;
}

struct m3fs_config *config_load_buffer(const char *data, size_t len, const char *name,
                                       const struct config_overrides *ov, struct diag_list *dl)
{
    struct loader L = { .file = name, .dl = dl, .path = STRBUF_INIT };
    int before = dl->errors;
    if (parse_document(&L, data, len)) return NULL;
    L.cfg = xcalloc(1, sizeof(*L.cfg));
    config_set_defaults(L.cfg);
    L.cfg->file = xstrdup(name);
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (!root || is_null(root))
        diag_add(dl, DIAG_ERROR, name, 0, 0, "run 'm3fs config create' for a commented sample",
                 "the file is empty");
    else
        walk_map(&L, root, root_fields, L.cfg);
    yaml_document_delete(&L.doc);
    sb_release(&L.path);
    if (ov && ov->work_dir) set_str(&L.cfg->work_dir, ov->work_dir);
    if (ov && ov->registry) set_str(&L.cfg->images.registry, ov->registry);
    config_validate(L.cfg, dl);
    if (dl->errors != before) {
        config_free(L.cfg);
        return NULL;
    }
    return L.cfg;
}

struct m3fs_config *config_load_file(const char *path, const struct config_overrides *ov,
                                     struct diag_list *dl)
{
    struct strbuf sb = STRBUF_INIT;
    if (sb_read_file(&sb, path)) {
        diag_add(dl, DIAG_ERROR, path, 0, 0,
                 "give the path of your cluster.yml with -c, or create one with 'm3fs config create'",
                 "cannot read the config file: %s", strerror(errno));
        sb_release(&sb);
        return NULL;
    }
    struct m3fs_config *c = config_load_buffer(sb.buf, sb.len, path, ov, dl);
    sb_release(&sb);
    return c;
}
