/* status/facts.c: the parser of templates/m3fs-facts.sh's output (one fact
 * per line, tab-separated; docs/status.md).  Untrusted input: every field is
 * checked, nothing is indexed by a number read from it. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

#define MAX_FIELDS 9

struct pstate {
    struct st_facts *f;
    struct st_probe_out *open; /* the probe whose "|" lines come, or NULL */
    struct strbuf *err;
};

static int bad(struct pstate *ps, const char *what, const char *val)
{
    sb_addf(ps->err, "%s '%.80s'", what, val);
    return -1;
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
    return 0;
}

static int f_version(struct pstate *ps, char **a, size_t n)
{
    long long v;
    (void)n;
    if (st_num(a[1], 1, 1000, &v)) return bad(ps, "bad version", a[1]);
    ps->f->version = (int)v;
    return 0;
}

static int clock_field(struct pstate *ps, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0 || v > 1e11) return bad(ps, "bad clock", s);
    *out = v; /* a busybox date leaves "%N" after the seconds: ignored */
    return 0;
}

static int f_t0(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return clock_field(ps, a[1], &ps->f->t0);
}

static int f_t1(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return clock_field(ps, a[1], &ps->f->t1);
}

static int f_host(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return set_str(&ps->f->host, a[1]);
}

static int f_machine(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return set_str(&ps->f->machine, a[1]);
}

static int f_docker(struct pstate *ps, char **a, size_t n)
{
    if (!strcmp(a[1], "ok")) return 0;
    if (strcmp(a[1], "error")) return bad(ps, "bad docker state", a[1]);
    return set_str(&ps->f->docker_error, n > 2 && *a[2] ? a[2] : "docker did not answer");
}

static int ctr_running_fields(struct pstate *ps, struct st_ctr *c, char **a)
{
    long long v;
    if (st_num(a[3], 0, 1000000000, &v)) return bad(ps, "bad restart count", a[3]);
    c->restarts = (long)v;
    c->started_at = xstrdup(a[4]);
    if (st_parse_time(a[4], &c->started) || c->started < 0) c->started = 0;
    c->image = xstrdup(a[5]);
    return 0;
}

static int f_ctr(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    if (n != 3 && n < 7) return bad(ps, "bad container line for", a[1]);
    if (n == 3 && strcmp(a[2], "missing")) return bad(ps, "bad container state", a[2]);
    ALLOC_GROW(f->ctr, f->n_ctr, f->n_ctr_alloc_);
    struct st_ctr *c = &f->ctr[f->n_ctr++];
    memset(c, 0, sizeof(*c));
    c->name = xstrdup(a[1]);
    c->state = xstrdup(a[2]);
    return n == 3 ? 0 : ctr_running_fields(ps, c, a);
}

static const cJSON *docker_config(const cJSON *j)
{
    return cJSON_GetObjectItemCaseSensitive(j, "Config");
}

static const char *json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A Docker Engine API inspect document (GET /containers/NAME/json): the
 * fields `docker inspect -f` would print; {"message": ...} for a name
 * docker does not know. */
static int ctr_from_json(struct pstate *ps, struct st_ctr *c, const cJSON *j)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "State");
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "RestartCount");
    const char *status = json_str(state, "Status");
    if (!cJSON_IsObject(state) && json_str(j, "message")) {
        c->state = xstrdup("missing");
        return 0;
    }
    if (!status || !cJSON_IsNumber(rc) || rc->valuedouble < 0 || rc->valuedouble > 1e9)
        return bad(ps, "docker's inspect document lacks State.Status or RestartCount for", c->name);
    c->state = xstrdup(status);
    c->restarts = (long)rc->valuedouble;
    const char *started = json_str(state, "StartedAt"), *image = json_str(docker_config(j), "Image");
    c->started_at = started ? xstrdup(started) : NULL;
    if (!started || st_parse_time(started, &c->started) || c->started < 0) c->started = 0;
    c->image = image ? xstrdup(image) : NULL;
    return 0;
}

static int f_ctrjson(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    (void)n;
    cJSON *j = cJSON_Parse(a[2]);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return bad(ps, "docker's answer is no JSON object for", a[1]);
    }
    ALLOC_GROW(f->ctr, f->n_ctr, f->n_ctr_alloc_);
    struct st_ctr *c = &f->ctr[f->n_ctr++];
    memset(c, 0, sizeof(*c));
    c->name = xstrdup(a[1]);
    int rc = ctr_from_json(ps, c, j);
    if (rc) c->state = xstrdup("?");
    cJSON_Delete(j);
    return rc;
}

static int f_limits(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    for (size_t i = 0; i < ps->f->n_ctr; i++) {
        struct st_ctr *c = &ps->f->ctr[i];
        if (strcmp(c->name, a[1]) || c->nofile) continue;
        c->nofile = xstrdup(a[2]);
        c->memlock = xstrdup(a[3]);
        return 0;
    }
    return 0; /* limits of a container not listed: nothing to attach them to */
}

static int flag01(struct pstate *ps, const char *s, int *out)
{
    if (strcmp(s, "0") && strcmp(s, "1")) return bad(ps, "expected 0 or 1, got", s);
    *out = s[0] == '1';
    return 0;
}

static int f_fuse(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    int mounted;
    if (flag01(ps, a[2], &mounted)) return -1;
    if (strcmp(a[3], "ok") && strcmp(a[3], "stale") && strcmp(a[3], "timeout") &&
        strcmp(a[3], "-"))
        return bad(ps, "bad FUSE answer", a[3]);
    ALLOC_GROW(f->fuse, f->n_fuse, f->n_fuse_alloc_);
    struct st_fuse *u = &f->fuse[f->n_fuse++];
    u->mountpoint = xstrdup(a[1]);
    u->mounted = mounted;
    u->answer = xstrdup(a[3]);
    u->detail = xstrdup(n > 4 ? a[4] : "");
    return 0;
}

static int f_target(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    long long idx, sz, used, avail;
    int exists, mp;
    (void)n;
    if (st_num(a[1], 0, 100000, &idx)) return bad(ps, "bad target index", a[1]);
    if (flag01(ps, a[3], &exists) || flag01(ps, a[4], &mp)) return -1;
    if (st_num_or_dash(a[5], &sz) || st_num_or_dash(a[6], &used) || st_num_or_dash(a[7], &avail))
        return bad(ps, "bad df numbers for", a[2]);
    ALLOC_GROW(f->tp, f->n_tp, f->n_tp_alloc_);
    struct st_tpath *t = &f->tp[f->n_tp++];
    t->index = (long)idx;
    t->path = xstrdup(a[2]);
    t->exists = exists, t->mount_point = mp;
    t->size_kb = sz, t->used_kb = used, t->avail_kb = avail;
    return 0;
}

static int f_aio(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    if (st_num_or_dash(a[1], &ps->f->aio_nr) || st_num_or_dash(a[2], &ps->f->aio_max))
        return bad(ps, "bad aio numbers", a[1]);
    return 0;
}

static int f_cpu(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return flag01(ps, a[1], &ps->f->avx512f) || flag01(ps, a[2], &ps->f->avx2) ? -1 : 0;
}

static int f_rdma_tool(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    return set_str(&ps->f->rdma_tool, a[1]);
}

static int f_rdma(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    long long port;
    (void)n;
    if (st_num(a[2], 0, 65535, &port)) return bad(ps, "bad RDMA port", a[2]);
    ALLOC_GROW(f->rdma, f->n_rdma, f->n_rdma_alloc_);
    struct st_rdma *l = &f->rdma[f->n_rdma++];
    l->dev = xstrdup(a[1]);
    l->port = (long)port;
    l->state = xstrdup(a[3]);
    l->netdev = xstrdup(a[4]);
    return 0;
}

static int f_nic(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    set_str(&ps->f->nic_addr, a[1]);
    set_str(&ps->f->nic, a[2]);
    return set_str(&ps->f->nic_state, a[3]);
}

static int f_tz(struct pstate *ps, char **a, size_t n)
{
    (void)n;
    if (st_parse_tz(a[2], &ps->f->tz_offset_s)) return bad(ps, "bad UTC offset", a[2]);
    return set_str(&ps->f->tz_ctr, a[1]);
}

static int f_token(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    long long mode = -1;
    (void)n;
    if (strcmp(a[2], "missing")) {
        char *end;
        mode = strtoll(a[2], &end, 8);
        if (end == a[2] || *end || mode < 0 || mode > 07777) return bad(ps, "bad mode", a[2]);
    }
    ALLOC_GROW(f->tok, f->n_tok, f->n_tok_alloc_);
    f->tok[f->n_tok].path = xstrdup(a[1]);
    f->tok[f->n_tok++].mode = (long)mode;
    return 0;
}

static int f_begin(struct pstate *ps, char **a, size_t n)
{
    struct st_facts *f = ps->f;
    (void)n;
    if (ps->open) return bad(ps, "probe begins inside probe", ps->open->name);
    ALLOC_GROW(f->probe, f->n_probe, f->n_probe_alloc_);
    struct st_probe_out *p = &f->probe[f->n_probe++];
    memset(p, 0, sizeof(*p));
    p->name = xstrdup(a[1]);
    sb_init(&p->out, 0);
    sb_init(&p->err, 0);
    ps->open = p;
    return 0;
}

static int f_end(struct pstate *ps, char **a, size_t n)
{
    long long rc;
    struct st_probe_out *p = ps->open;
    (void)n;
    if (!p || strcmp(p->name, a[1])) return bad(ps, "end of a probe that did not begin:", a[1]);
    ps->open = NULL;
    if (!strcmp(a[2], "not-running")) return 0;
    if (st_num(a[2], 0, 255, &rc)) return bad(ps, "bad probe exit status", a[2]);
    p->ran = 1;
    p->rc = (int)rc;
    return 0;
}

typedef int (*fact_fn)(struct pstate *ps, char **a, size_t n);
static const struct {
    const char *key;
    size_t min, max; /* fields, the key included */
    fact_fn fn;
} kinds[] = {
    { "m3fs-facts", 2, 2, f_version }, { "t0", 2, 2, f_t0 },          { "t1", 2, 2, f_t1 },
    { "host", 2, 2, f_host },          { "machine", 2, 2, f_machine }, { "docker", 2, 3, f_docker },
    { "ctr", 3, 7, f_ctr },            { "limits", 4, 4, f_limits },   { "fuse", 4, 5, f_fuse },
    { "target", 8, 8, f_target },      { "aio", 3, 3, f_aio },         { "cpu", 3, 3, f_cpu },
    { "rdma-tool", 2, 2, f_rdma_tool }, { "rdma", 5, 5, f_rdma },      { "nic", 4, 4, f_nic },
    { "token", 3, 3, f_token },        { "begin", 2, 2, f_begin },     { "end", 3, 3, f_end },
    { "tz", 3, 3, f_tz },              { "ctrjson", 3, 3, f_ctrjson },
};

static int one_line(struct pstate *ps, char *line, size_t len)
{
    if (line[0] == '|' || line[0] == '!') {
        if (!ps->open) return bad(ps, "probe output outside a probe:", line);
        struct strbuf *to = line[0] == '|' ? &ps->open->out : &ps->open->err;
        sb_add(to, line + 1, len - 1);
        sb_addch(to, '\n');
        return 0;
    }
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\r')) line[--len] = '\0';
    char *a[MAX_FIELDS];
    size_t n = st_split(line, '\t', a, MAX_FIELDS);
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        if (strcmp(a[0], kinds[k].key)) continue;
        if (n < kinds[k].min || n > kinds[k].max) return bad(ps, "wrong number of fields in", a[0]);
        return kinds[k].fn(ps, a, n);
    }
    return 0; /* a fact this m3fs does not know */
}

int st_parse_facts(const char *text, size_t len, struct st_facts *f, struct strbuf *err)
{
    struct pstate ps = { f, NULL, err };
    f->aio_nr = f->aio_max = -1;
    f->avx512f = f->avx2 = -1;
    size_t lineno = 0, start = err->len;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line = xstrndup(text + pos, n);
        lineno++;
        int rc = strlen(line) != n ? bad(&ps, "NUL byte in", "output") : n ? one_line(&ps, line, n) : 0;
        free(line);
        pos += n + (nl != NULL);
        if (rc) {
            sb_addf(err, " (line %zu)", lineno);
            return -1;
        }
    }
    if (ps.open) return bad(&ps, "output ends inside probe", ps.open->name);
    if (!f->version) {
        sb_setlen(err, start);
        sb_adds(err, "no m3fs-facts header: the script did not run");
        return -1;
    }
    return 0;
}

void st_facts_release(struct st_facts *f)
{
    for (size_t i = 0; i < f->n_ctr; i++) {
        struct st_ctr *c = &f->ctr[i];
        free(c->name), free(c->state), free(c->started_at), free(c->image);
        free(c->nofile), free(c->memlock);
    }
    for (size_t i = 0; i < f->n_fuse; i++)
        free(f->fuse[i].mountpoint), free(f->fuse[i].answer), free(f->fuse[i].detail);
    for (size_t i = 0; i < f->n_tp; i++) free(f->tp[i].path);
    for (size_t i = 0; i < f->n_rdma; i++)
        free(f->rdma[i].dev), free(f->rdma[i].state), free(f->rdma[i].netdev);
    for (size_t i = 0; i < f->n_tok; i++) free(f->tok[i].path);
    for (size_t i = 0; i < f->n_probe; i++) {
        free(f->probe[i].name);
        sb_release(&f->probe[i].out), sb_release(&f->probe[i].err);
    }
    free(f->ctr), free(f->fuse), free(f->tp), free(f->rdma), free(f->tok), free(f->probe);
    free(f->host), free(f->machine), free(f->docker_error), free(f->rdma_tool);
    free(f->nic_addr), free(f->nic), free(f->nic_state), free(f->tz_ctr);
    memset(f, 0, sizeof(*f));
}

const struct st_ctr *st_facts_ctr(const struct st_facts *f, const char *name)
{
    for (size_t i = 0; i < f->n_ctr; i++)
        if (!strcmp(f->ctr[i].name, name)) return &f->ctr[i];
    return NULL;
}

const struct st_probe_out *st_facts_probe(const struct st_facts *f, const char *name)
{
    for (size_t i = 0; i < f->n_probe; i++)
        if (!strcmp(f->probe[i].name, name)) return &f->probe[i];
    return NULL;
}
