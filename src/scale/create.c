/* scale/create.c: what `cluster create` may do with a cluster's chain table
 * (include/m3fs/scale.h sc_create_case, docs/scale.md "cluster create after
 * add-storage-nodes or remove-storage-nodes").  Pure: it reads the state
 * file's records and cluster.yml's storage nodes, nothing remote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"

const struct sc_node *sc_nodes_find(const struct sc_node *v, size_t n, uint32_t id,
                                    const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id && (!name || !strcmp(v[i].name, name))) return &v[i];
    return NULL;
}

void sc_nodes_release(struct sc_nodes *n)
{
    free(n->hold);
    free(n->drained);
    memset(n, 0, sizeof(*n));
}

static void push(struct sc_node **v, size_t *n, uint32_t id, const char *name, size_t len)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    struct sc_node *e = &(*v)[(*n)++];
    e->id = id;
    snprintf(e->name, sizeof(e->name), "%.*s", (int)len, name);
}

void sc_nodes_add(struct sc_nodes *n, int drained, uint32_t id, const char *name)
{
    if (drained) push(&n->drained, &n->n_drained, id, name, strlen(name));
    else push(&n->hold, &n->n_hold, id, name, strlen(name));
}

static void encode_list(const struct sc_node *v, size_t n, struct strbuf *out)
{
    for (size_t i = 0; i < n; i++) sb_addf(out, "%s%u=%s", i ? "," : "", v[i].id, v[i].name);
}

void sc_nodes_encode(const struct sc_nodes *n, struct strbuf *out)
{
    sb_adds(out, "hold ");
    encode_list(n->hold, n->n_hold, out);
    sb_adds(out, " drained ");
    encode_list(n->drained, n->n_drained, out);
}

/* "ID=NAME,..." up to the end of s or a space; 0, or -1. */
static int decode_list(const char **s, struct sc_node **v, size_t *n)
{
    const char *p = *s;
    while (*p && *p != ' ') {
        char *end;
        unsigned long id = strtoul(p, &end, 10);
        if (end == p || *end != '=' || id == 0 || id > UINT32_MAX) return -1;
        const char *name = end + 1;
        size_t len = strcspn(name, ", ");
        if (!len || len >= sizeof((*v)->name)) return -1;
        push(v, n, (uint32_t)id, name, len);
        p = name + len;
        if (*p == ',') p++;
    }
    *s = p;
    return 0;
}

int sc_nodes_decode(const char *text, struct sc_nodes *n)
{
    memset(n, 0, sizeof(*n));
    const char *p = text;
    int rc = strncmp(p, "hold ", 5) ? -1 : 0;
    if (!rc) p += 5, rc = decode_list(&p, &n->hold, &n->n_hold);
    if (!rc && strncmp(p, " drained ", 9)) rc = -1;
    if (!rc) p += 9, rc = decode_list(&p, &n->drained, &n->n_drained);
    if (!rc && (*p || !n->n_hold)) rc = -1;
    if (rc) sc_nodes_release(n);
    return rc;
}


/* Index in in->ids of id, or SIZE_MAX. */
static size_t cfg_index(const struct sc_create_in *in, uint32_t id)
{
    for (size_t i = 0; i < in->n_ids; i++)
        if (in->ids[i] == id) return i;
    return SIZE_MAX;
}

/* Every node the record says holds targets must be cluster.yml's node of
 * that id and name; every node of cluster.yml must hold targets or (when
 * drained_ok) be one remove-storage-nodes drained, under the same name. */
static enum sc_create_case check_nodes(const struct sc_create_in *in, const struct sc_nodes *r,
                                       int drained_ok, unsigned char *skip, struct strbuf *why)
{
    for (size_t i = 0; i < r->n_hold; i++) {
        size_t k = cfg_index(in, r->hold[i].id);
        if (k != SIZE_MAX && !strcmp(in->names[k], r->hold[i].name)) continue;
        sb_addf(why, "storage node %s (id %u) holds targets, but ", r->hold[i].name,
                r->hold[i].id);
        if (k == SIZE_MAX) sb_adds(why, "services.storage has no node of that id");
        else sb_addf(why, "services.storage gives that id to %s", in->names[k]);
        return SC_CREATE_GONE_NODES;
    }
    enum sc_create_case c = SC_CREATE_KEEP;
    for (size_t k = 0; k < in->n_ids; k++) {
        if (sc_nodes_find(r->hold, r->n_hold, in->ids[k], NULL)) continue;
        const struct sc_node *d =
            drained_ok ? sc_nodes_find(r->drained, r->n_drained, in->ids[k], NULL) : NULL;
        if (d && !strcmp(d->name, in->names[k])) {
            if (skip) skip[k] = 1;
            continue;
        }
        sb_addf(why, "%s%s (id %u)", c == SC_CREATE_NEW_NODES ? ", " : "", in->names[k],
                in->ids[k]);
        c = SC_CREATE_NEW_NODES;
    }
    return c;
}

enum sc_create_case sc_create_case(const struct sc_create_in *in, unsigned char *skip,
                                   struct strbuf *why)
{
    if (skip) memset(skip, 0, in->n_ids);
    if (in->plan && !strncmp(in->plan, "m3fs-scale ", 11)) {
        /* "m3fs-scale 1 OP ..." (src/scale/planio.c) */
        const char *op = in->plan + 11;
        op += strspn(op, "0123456789");
        op += *op == ' ';
        sb_addf(why, "%.*s", (int)strcspn(op, " "), op);
        return SC_CREATE_UNFINISHED;
    }
    struct sc_nodes r;
    int have = in->nodes && sc_nodes_decode(in->nodes, &r) == 0;
    enum sc_create_case c;
    if (in->plan) { /* a finished add- or remove-storage-nodes: its table stays */
        if (!have) return SC_CREATE_UNKNOWN;
        c = check_nodes(in, &r, 1, skip, why);
    } else if (have) { /* create's own record */
        c = check_nodes(in, &r, 0, NULL, why);
        if (c == SC_CREATE_KEEP)
            c = in->uploaded && strcmp(in->uploaded, in->table_hex) ? SC_CREATE_CHANGED
                                                                     : SC_CREATE_OWN;
    } else if (in->uploaded) { /* created by an m3fs that kept no node record */
        c = strcmp(in->uploaded, in->table_hex) ? SC_CREATE_CHANGED : SC_CREATE_OWN;
    } else {
        c = SC_CREATE_NEW;
    }
    if (have) sc_nodes_release(&r);
    if (skip && c != SC_CREATE_KEEP) memset(skip, 0, in->n_ids);
    return c;
}

size_t sc_drained_nodes(const struct sc_create_in *in, unsigned char *skip)
{
    memset(skip, 0, in->n_ids);
    struct sc_nodes r;
    if (!in->nodes || sc_nodes_decode(in->nodes, &r)) return 0;
    size_t n = 0;
    for (size_t k = 0; k < in->n_ids; k++) {
        const struct sc_node *d = sc_nodes_find(r.drained, r.n_drained, in->ids[k], NULL);
        if (d && !strcmp(d->name, in->names[k]) &&
            !sc_nodes_find(r.hold, r.n_hold, in->ids[k], NULL))
            skip[k] = 1, n++;
    }
    sc_nodes_release(&r);
    return n;
}

void sc_nodes_next(const char *old, const struct sc_nodes *now, struct strbuf *out)
{
    struct sc_nodes before = { 0 }, next = { 0 };
    if (old && sc_nodes_decode(old, &before)) memset(&before, 0, sizeof(before));
    for (size_t i = 0; i < now->n_hold; i++)
        sc_nodes_add(&next, 0, now->hold[i].id, now->hold[i].name);
    for (size_t i = 0; i < before.n_drained; i++) {
        const struct sc_node *d = &before.drained[i];
        if (!sc_nodes_find(now->hold, now->n_hold, d->id, NULL) &&
            !sc_nodes_find(now->drained, now->n_drained, d->id, NULL))
            sc_nodes_add(&next, 1, d->id, d->name);
    }
    for (size_t i = 0; i < now->n_drained; i++)
        if (!sc_nodes_find(now->hold, now->n_hold, now->drained[i].id, NULL))
            sc_nodes_add(&next, 1, now->drained[i].id, now->drained[i].name);
    sc_nodes_encode(&next, out);
    sc_nodes_release(&next);
    sc_nodes_release(&before);
}
