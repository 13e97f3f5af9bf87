/* status/fdb.c: the fields of fdbcli's `status json` that status reads.
 * FoundationDB's status schema (fdbclient/Schemas.cpp, "status json"):
 * client.database_status.{available,healthy}, client.coordinators
 * .{quorum_reachable, coordinators[].{address,reachable}},
 * cluster.configuration.{redundancy_mode,storage_engine}, and
 * {client,cluster}.messages[].{name,description}.  Anything else is
 * ignored; a missing field is unknown, never a crash. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

static const cJSON *path(const cJSON *j, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

/* 1 true, 0 false, -1 absent or not a boolean. */
static int flag(const cJSON *j)
{
    return cJSON_IsBool(j) ? cJSON_IsTrue(j) : -1;
}

static char *str_or_null(const cJSON *j)
{
    return cJSON_IsString(j) && j->valuestring ? xstrdup(j->valuestring) : NULL;
}

static void coords(const cJSON *client, struct st_fdb *f)
{
    const cJSON *c = path(client, "coordinators", NULL), *e;
    f->quorum = flag(cJSON_GetObjectItemCaseSensitive(c, "quorum_reachable"));
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(c, "coordinators");
    if (!cJSON_IsArray(list)) list = NULL;
    size_t n = list ? (size_t)cJSON_GetArraySize(list) : 0, k = 0;
    f->coords = xcalloc(n ? n : 1, sizeof(*f->coords));
    cJSON_ArrayForEach(e, list) {
        char *addr = str_or_null(cJSON_GetObjectItemCaseSensitive(e, "address"));
        if (!addr || k == n) {
            free(addr);
            continue;
        }
        f->coords[k].address = addr;
        f->coords[k++].reachable = flag(cJSON_GetObjectItemCaseSensitive(e, "reachable")) == 1;
    }
    f->n_coords = k;
}

static void messages(const cJSON *section, struct strvec *out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(section, "messages"), *e;
    if (!cJSON_IsArray(list)) list = NULL;
    cJSON_ArrayForEach(e, list) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "description");
        if (!cJSON_IsString(d)) d = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(d) && d->valuestring && out->n < 20) sv_push(out, d->valuestring);
    }
}

int st_parse_fdb_status(const char *json, size_t len, struct st_fdb *f, struct strbuf *err)
{
    memset(f, 0, sizeof(*f));
    f->healthy = f->quorum = -1;
    const char *brace = memchr(json, '{', len);
    cJSON *root = brace ? cJSON_ParseWithLength(brace, len - (size_t)(brace - json)) : NULL;
    const cJSON *client = path(root, "client", NULL);
    if (!cJSON_IsObject(client)) {
        sb_adds(err, root ? "fdbcli status json has no \"client\" object"
                          : "fdbcli did not print status json");
        cJSON_Delete(root);
        return -1;
    }
    f->available = flag(path(client, "database_status", "available")) == 1;
    f->healthy = flag(path(client, "database_status", "healthy"));
    coords(client, f);
    const cJSON *conf = path(path(root, "cluster", NULL), "configuration", NULL);
    f->redundancy = str_or_null(cJSON_GetObjectItemCaseSensitive(conf, "redundancy_mode"));
    f->engine = str_or_null(cJSON_GetObjectItemCaseSensitive(conf, "storage_engine"));
    messages(client, &f->messages);
    messages(path(root, "cluster", NULL), &f->messages);
    cJSON_Delete(root);
    return 0;
}

void st_fdb_release(struct st_fdb *f)
{
    for (size_t i = 0; i < f->n_coords; i++) free(f->coords[i].address);
    free(f->coords);
    free(f->redundancy), free(f->engine);
    sv_clear(&f->messages);
    memset(f, 0, sizeof(*f));
}
