/* plan: construction and release of steps (see include/m3fs/plan.h). */
#include "m3fs/plan.h"

#include <stdlib.h>
#include <string.h>

#include "m3fs/sha256.h"
#include "plan-int.h"

static void add_after(struct step *s, size_t j)
{
    for (size_t k = 0; k < s->n_after; k++)
        if (s->after[k] == j) return;
    s->after = xrealloc(s->after, (s->n_after + 1) * sizeof(*s->after));
    s->after[s->n_after++] = j;
}

struct step *plan_add_step(struct plan *p, const char *service, enum step_op op,
                           const char *title)
{
    ALLOC_GROW(p->steps, p->n, p->alloc);
    struct step *s = &p->steps[p->n++];
    memset(s, 0, sizeof(*s));
    s->service = service;
    s->op = op;
    s->title = xstrfmt("%s: %s", service, title);
    s->timeout_ms = STEP_DEFAULT_TIMEOUT_MS;
    s->interval_ms = STEP_DEFAULT_INTERVAL_MS;
    s->prep = op == STEP_PUT;
    if (p->n > 1) add_after(s, p->n - 2); /* one after another unless plan_link() */
    return s;
}

static struct step_target *new_target(struct step *s, size_t node)
{
    ALLOC_GROW(s->t, s->n, s->alloc);
    struct step_target *t = &s->t[s->n++];
    memset(t, 0, sizeof(*t));
    t->node = node;
    return t;
}

void step_add_run(struct step *s, size_t node, const char *cmd, const char *skip_if)
{
    struct step_target *t = new_target(s, node);
    t->cmd = xstrdup(cmd);
    t->skip_if = skip_if ? xstrdup(skip_if) : NULL;
}

struct step *plan_add_call(struct plan *p, const char *service, const char *title,
                           const struct step_call *c)
{
    struct step *s = plan_add_step(p, service, STEP_CALL, title);
    s->call = *c;
    return s;
}

void step_add_call(struct step *s, size_t node, const char *what)
{
    new_target(s, node)->cmd = xstrdup(what);
}

void step_mask_last(struct step *s, const char *text)
{
    if (s->n && text && *text) sv_push(&s->t[s->n - 1].masks, text);
}

void step_set_verify(struct step *s, const char *check)
{
    struct step_target *t = &s->t[s->n - 1];
    free(t->verify);
    t->verify = xstrdup(check);
}

void step_add_watch(struct step *s, size_t node, const char *cmd)
{
    struct step_target *t = new_target(s, node);
    t->cmd = xstrdup(cmd);
    t->watch = 1;
}

void step_add_put(struct step *s, size_t node, const char *path, const char *content, size_t len,
                  unsigned mode)
{
    struct step_target *t = new_target(s, node);
    t->path = xstrdup(path);
    t->content = xmalloc(len + 1);
    memcpy(t->content, content, len);
    t->content[len] = '\0';
    t->len = len;
    t->mode = mode;
    sha256_buf_hex(content, len, t->sha);
}

size_t *step_nodes(const struct step *s, size_t *n)
{
    size_t *idx = xcalloc(s->n ? s->n : 1, sizeof(*idx));
    *n = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = 0;
        while (k < *n && idx[k] != s->t[i].node) k++;
        if (k == *n) idx[(*n)++] = s->t[i].node;
    }
    return idx;
}

void step_set_state(struct step *s, const char *key, const char *val)
{
    free(s->state_key);
    free(s->state_val);
    s->state_key = xstrdup(key);
    s->state_val = xstrdup(val);
}

void step_set_state_also(struct step *s, const char *key, const char *val)
{
    free(s->also_key);
    free(s->also_val);
    s->also_key = xstrdup(key);
    s->also_val = xstrdup(val);
}

void step_add_hint(struct step *s, const char *match, const char *hint)
{
    sv_push(&s->hint_match, match);
    sv_push(&s->hint_text, hint);
}

static void target_release(struct step_target *t)
{
    free(t->cmd);
    free(t->skip_if);
    free(t->verify);
    free(t->path);
    free(t->content);
    sv_clear(&t->masks);
}

static void step_release(struct step *s)
{
    for (size_t i = 0; i < s->n; i++) target_release(&s->t[i]);
    free(s->t);
    free(s->title);
    free(s->wait_for);
    free(s->state_key);
    free(s->state_val);
    free(s->also_key);
    free(s->also_val);
    sv_clear(&s->hint_match);
    sv_clear(&s->hint_text);
    free(s->after);
}

void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) step_release(&p->steps[i]);
    free(p->steps);
    memset(p, 0, sizeof(*p));
}

/* Index + 1 of the last step of `service` before step i, or 0. */
static size_t last_of(const struct plan *p, const char *service, size_t i)
{
    size_t last = 0;
    for (size_t j = 0; j < i; j++)
        if (!strcmp(p->steps[j].service, service)) last = j + 1;
    return last;
}

void plan_first_gate(struct plan *p)
{
    for (size_t i = 1; i < p->n; i++)
        if (!p->steps[i].n_after) add_after(&p->steps[i], 0);
}

void plan_link(struct plan *p, const struct svc_dep *deps)
{
    for (size_t i = 0; i < p->n; i++) {
        struct step *s = &p->steps[i];
        s->n_after = 0;
        size_t prev = last_of(p, s->service, i);
        if (prev) add_after(s, prev - 1);
        /* Only the lane's first step that is not prep needs the others. */
        if (s->prep || (prev && !p->steps[prev - 1].prep)) continue;
        for (const struct svc_dep *d = deps; d->service; d++) {
            if (strcmp(d->service, s->service)) continue;
            for (size_t k = 0; k < ARRAY_SIZE(d->deps) && d->deps[k]; k++) {
                size_t j = last_of(p, d->deps[k], i);
                if (j) add_after(s, j - 1);
            }
        }
    }
}

/* Move step src's kept targets into a fresh step of out (strings moved). */
static void keep_step(struct plan *out, struct step *src, const unsigned char *keep)
{
    ALLOC_GROW(out->steps, out->n, out->alloc);
    struct step *s = &out->steps[out->n++];
    *s = *src;
    s->after = NULL, s->n_after = 0;
    if (out->n > 1) add_after(s, out->n - 2);
    size_t k = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (keep[src->t[i].node]) s->t[k++] = src->t[i];
        else target_release(&src->t[i]);
    }
    s->n = k;
    free(src->after);
    memset(src, 0, sizeof(*src));
}

void plan_keep_nodes(struct plan *p, const unsigned char *keep)
{
    struct plan out = { 0 };
    for (size_t i = 0; i < p->n; i++) {
        struct step *src = &p->steps[i];
        size_t kept = 0;
        for (size_t j = 0; j < src->n; j++) kept += keep[src->t[j].node] != 0;
        if (kept) keep_step(&out, src, keep);
        else step_release(src);
    }
    free(p->steps);
    *p = out;
}
