/* logs/index.c: index.json, the archive's table of contents (schema
 * "m3fs.logs/1", docs/logs.md): every part with what it is, its node, what
 * produced it, its size and whether it was cut, and every failure. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logs-int.h"
#include "m3fs/json.h"
#include "m3fs/log.h"
#include "m3fs/version.h"

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void ix_init(struct logs_index *ix)
{
    memset(ix, 0, sizeof(*ix));
    pthread_mutex_init(&ix->mu, NULL);
}

void ix_release(struct logs_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        struct ix_part *p = &ix->parts[i];
        free((char *)p->node), free((char *)p->path), free((char *)p->source);
        free((char *)p->error);
    }
    for (size_t i = 0; i < ix->n_nodes; i++) {
        free(ix->nodes[i].name), free(ix->nodes[i].host), free(ix->nodes[i].error);
    }
    free(ix->parts);
    free(ix->nodes);
    pthread_mutex_destroy(&ix->mu);
}

void ix_add(struct logs_index *ix, const struct ix_part *p)
{
    struct ix_part c = *p;
    c.node = dup_or_null(p->node);
    c.path = dup_or_null(p->path);
    c.source = dup_or_null(p->source);
    c.error = dup_or_null(p->error);
    pthread_mutex_lock(&ix->mu);
    ALLOC_GROW(ix->parts, ix->n, ix->alloc);
    ix->parts[ix->n++] = c;
    if (strcmp(c.status, "ok")) ix->failed++;
    pthread_mutex_unlock(&ix->mu);
}

void ix_node(struct logs_index *ix, const char *name, const char *host, const char *error)
{
    pthread_mutex_lock(&ix->mu);
    ALLOC_GROW(ix->nodes, ix->n_nodes, ix->alloc_nodes);
    struct ix_node *n = &ix->nodes[ix->n_nodes++];
    n->name = xstrdup(name);
    n->host = xstrdup(host);
    n->status = error ? "unreachable" : "ok";
    n->error = dup_or_null(error);
    pthread_mutex_unlock(&ix->mu);
}

static cJSON *part_json(const struct ix_part *p)
{
    cJSON *o = cJSON_CreateObject();
    json_add_str_or_null(o, "path", p->path);
    json_add_str_or_null(o, "what", p->what);
    json_add_str_or_null(o, "node", p->node);
    json_add_str_or_null(o, "source", p->source);
    cJSON_AddNumberToObject(o, "size", (double)p->size);
    cJSON_AddBoolToObject(o, "truncated", p->truncated);
    json_add_str_or_null(o, "status", p->status);
    json_add_str_or_null(o, "error", p->error);
    return o;
}

static cJSON *node_json(const struct ix_node *n)
{
    cJSON *o = cJSON_CreateObject();
    json_add_str_or_null(o, "name", n->name);
    json_add_str_or_null(o, "host", n->host);
    json_add_str_or_null(o, "status", n->status);
    json_add_str_or_null(o, "error", n->error);
    return o;
}

static void add_head(cJSON *root, const struct ix_meta *m)
{
    char ts[32];
    struct tm tm;
    gmtime_r(&m->created, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(root, "schema", "m3fs.logs/1");
    json_add_str_or_null(root, "cluster", m->cluster);
    cJSON_AddStringToObject(root, "created", ts);
    cJSON_AddStringToObject(root, "m3fs_version", m3fs_version());
    json_add_str_or_null(root, "options", m->options);
    if (m->since_s) cJSON_AddNumberToObject(root, "since_seconds", (double)m->since_s);
    else cJSON_AddNullToObject(root, "since_seconds");
    cJSON_AddNumberToObject(root, "max_bytes_per_part", (double)m->max_bytes);
    cJSON_AddStringToObject(root, "masking",
                            "configured secrets (node passwords, ClickHouse and PostgreSQL "
                            "passwords, the admin token) and values of keys named like "
                            "password/passwd/secret/token are replaced by " LOG_MASK
                            "; token.txt files are not collected");
}

static int cmp_opt(const char *a, const char *b)
{
    return !a || !b ? (a != NULL) - (b != NULL) : strcmp(a, b);
}

/* Cluster parts first, then by node, path and source. */
static int part_order(const void *pa, const void *pb)
{
    const struct ix_part *a = pa, *b = pb;
    int c = cmp_opt(a->node, b->node);
    if (!c) c = cmp_opt(a->path, b->path);
    if (!c) c = cmp_opt(a->source, b->source);
    return c;
}

char *ix_json(struct logs_index *ix, const struct ix_meta *m)
{
    qsort(ix->parts, ix->n, sizeof(*ix->parts), part_order);
    cJSON *root = cJSON_CreateObject();
    add_head(root, m);
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    for (size_t i = 0; i < ix->n_nodes; i++) cJSON_AddItemToArray(nodes, node_json(&ix->nodes[i]));
    cJSON *parts = cJSON_AddArrayToObject(root, "parts");
    for (size_t i = 0; i < ix->n; i++) cJSON_AddItemToArray(parts, part_json(&ix->parts[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) abort();
    char *out = xstrfmt("%s\n", text);
    cJSON_free(text);
    return out;
}
