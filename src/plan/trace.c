/* plan/trace.c: what plan_run_traced() measured, read back: the critical
 * path through the step graph and the JSON of `cluster create --trace`
 * (docs/deploy.md "Where the time goes"; tests/bench/bench_create.sh). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "m3fs/plan.h"
#include "m3fs/remote.h"

/* The step that ended last among `cand` (n of them); -1 when none ran. */
static long last_ended(const struct plan_trace *tr, const size_t *cand, size_t n)
{
    long best = -1;
    for (size_t k = 0; k < n; k++) {
        const struct plan_trace_step *t = &tr->steps[cand[k]];
        if (t->end_ms >= 0 && (best < 0 || t->end_ms > tr->steps[best].end_ms))
            best = (long)cand[k];
    }
    return best;
}

void plan_trace_critical(const struct plan *p, const struct plan_trace *tr, size_t *path,
                         size_t *n)
{
    size_t *all = xcalloc(p->n ? p->n : 1, sizeof(*all));
    for (size_t i = 0; i < p->n; i++) all[i] = i;
    long at = tr->n == p->n ? last_ended(tr, all, p->n) : -1;
    free(all);
    *n = 0;
    while (at >= 0 && *n < p->n) {
        path[(*n)++] = (size_t)at;
        const struct step *s = &p->steps[at];
        at = last_ended(tr, s->after, s->n_after);
    }
    for (size_t k = 0; k < *n / 2; k++) { /* run order */
        size_t t = path[k];
        path[k] = path[*n - 1 - k];
        path[*n - 1 - k] = t;
    }
}

static const char *op_name(enum step_op op)
{
    switch (op) {
    case STEP_RUN: return "run";
    case STEP_WAIT: return "wait";
    case STEP_PUT: return "put";
    default: return "call";
    }
}

static cJSON *step_json(const struct plan *p, const struct plan_trace *tr, size_t i,
                        const struct m3fs_config *cfg)
{
    const struct plan_trace_step *t = &tr->steps[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)(i + 1));
    cJSON_AddStringToObject(o, "title", p->steps[i].title);
    cJSON_AddStringToObject(o, "service", p->steps[i].service);
    cJSON_AddStringToObject(o, "op", op_name(p->steps[i].op));
    cJSON_AddBoolToObject(o, "ran", t->end_ms >= 0);
    cJSON_AddBoolToObject(o, "skipped", t->skipped);
    cJSON_AddNumberToObject(o, "start_ms", (double)t->start_ms);
    cJSON_AddNumberToObject(o, "end_ms", (double)t->end_ms);
    long wall = t->end_ms >= 0 ? t->end_ms - t->start_ms : 0;
    cJSON_AddNumberToObject(o, "wall_ms", (double)wall);
    if (t->node >= 0 && (size_t)t->node < cfg->n_nodes)
        cJSON_AddStringToObject(o, "slowest_node", cfg->nodes[t->node].name);
    else
        cJSON_AddNullToObject(o, "slowest_node");
    cJSON_AddNumberToObject(o, "remote_ms", (double)t->remote_ms);
    cJSON_AddNumberToObject(o, "pause_ms", (double)t->pause_ms);
    long own = wall - t->remote_ms - t->pause_ms;
    cJSON_AddNumberToObject(o, "m3fs_ms", (double)(own > 0 ? own : 0));
    return o;
}

static cJSON *node_json(struct remote_ctx *rc, const struct m3fs_config *cfg, size_t i)
{
    struct remote_counts c;
    remote_ctx_counts(rc, i, &c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", cfg->nodes[i].name);
    cJSON_AddNumberToObject(o, "connects", (double)c.connects);
    cJSON_AddNumberToObject(o, "connect_ms", (double)c.connect_ms);
    cJSON_AddNumberToObject(o, "round_trips", (double)c.execs);
    cJSON_AddNumberToObject(o, "remote_ms", (double)c.exec_ms);
    cJSON_AddNumberToObject(o, "uploads", (double)c.uploads);
    cJSON_AddNumberToObject(o, "bytes_out", (double)c.bytes_out);
    cJSON_AddNumberToObject(o, "bytes_in", (double)c.bytes_in);
    return o;
}

void plan_trace_json(const struct plan *p, const struct plan_trace *tr, struct remote_ctx *rc,
                     const struct m3fs_config *cfg, struct strbuf *out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddNumberToObject(root, "wall_ms", (double)tr->wall_ms);
    cJSON_AddNumberToObject(root, "cpu_user_s", tr->cpu_user_s);
    cJSON_AddNumberToObject(root, "cpu_sys_s", tr->cpu_sys_s);
    cJSON *steps = cJSON_AddArrayToObject(root, "steps");
    for (size_t i = 0; i < p->n && i < tr->n; i++)
        cJSON_AddItemToArray(steps, step_json(p, tr, i, cfg));
    size_t *path = xcalloc(p->n ? p->n : 1, sizeof(*path)), np = 0;
    plan_trace_critical(p, tr, path, &np);
    cJSON *cp = cJSON_AddArrayToObject(root, "critical_path");
    for (size_t k = 0; k < np; k++)
        cJSON_AddItemToArray(cp, cJSON_CreateNumber((double)(path[k] + 1)));
    free(path);
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    for (size_t i = 0; rc && i < cfg->n_nodes; i++)
        cJSON_AddItemToArray(nodes, node_json(rc, cfg, i));
    char *text = cJSON_Print(root);
    if (!text) abort();
    sb_adds(out, text);
    sb_addch(out, '\n');
    cJSON_free(text);
    cJSON_Delete(root);
}
