/* plan/print.c: the --dry-run text of a plan (see include/m3fs/plan.h). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/plan.h"
#include "plan-int.h"

static const char *op_name(enum step_op op)
{
    return op == STEP_RUN ? "run" : op == STEP_PUT ? "put" : op == STEP_WAIT ? "wait" : "call";
}

static const char *target_verb(const struct step *s, const struct step_target *t)
{
    if (s->op == STEP_CALL) return "call";
    return s->op == STEP_RUN ? "run" : t->watch ? "watch" : "until";
}

/* Length of the shell word at w as sh_quote() writes it ('...' runs joined
 * by \'), and whether it spans lines. */
static size_t quoted_len(const char *w, int *multiline)
{
    const char *p = w;
    while (*p == '\'' || !strncmp(p, "\\'", 2)) {
        if (*p == '\\') {
            p += 2;
            continue;
        }
        const char *e = strchr(p + 1, '\'');
        if (!e) return 0;
        if (memchr(p, '\n', (size_t)(e - p))) *multiline = 1;
        p = e + 1;
    }
    return (size_t)(p - w);
}

/* cmd with each embedded script (`sh -c 'CODE' m3fs-NAME ...`, services'
 * script_call) shown as <templates/m3fs-NAME.sh>: its text is in the
 * source tree, and repeating it in every command would bury the arguments. */
static void add_cmd(struct strbuf *out, const char *cmd)
{
    static const char lead[] = "sh -c ";
    for (const char *p = cmd; *p;) {
        const char *hit = strstr(p, lead);
        int multi = 0;
        size_t n = hit ? quoted_len(hit + strlen(lead), &multi) : 0;
        const char *name = hit ? hit + strlen(lead) + n : NULL;
        if (!hit || !n || !multi || strncmp(name, " m3fs-", 6)) {
            size_t upto = hit ? (size_t)(hit - p) + strlen(lead) : strlen(p);
            sb_add(out, p, upto);
            p += upto;
            continue;
        }
        size_t nl = strcspn(name + 1, " ");
        sb_add(out, p, (size_t)(hit - p) + strlen(lead));
        sb_addf(out, "<templates/%.*s.sh>", (int)nl, name + 1);
        p = name;
    }
}

static void fmt_ms(long ms, struct strbuf *out)
{
    format_duration_ms(ms, out);
}

static void print_header(const struct step *s, size_t idx, struct strbuf *out)
{
    size_t n;
    free(step_nodes(s, &n));
    sb_addf(out, "\n[%zu] %s\n    %s on %zu node%s", idx, s->title, op_name(s->op), n,
            n == 1 ? "" : "s");
    if (s->op == STEP_WAIT) {
        sb_adds(out, ", every ");
        fmt_ms(s->interval_ms, out);
        sb_adds(out, " for up to ");
        fmt_ms(s->timeout_ms, out);
        sb_addf(out, ", waiting for %s", s->wait_for ? s->wait_for : "success");
    } else if (s->op == STEP_CALL) {
        if (s->call.only_if) sb_addf(out, ", only where %s", s->call.only_if);
    } else {
        sb_adds(out, ", timeout ");
        fmt_ms(s->timeout_ms, out);
    }
    if (s->state_key) sb_addf(out, "; once (state: %s%s%s)", s->state_key,
                              s->also_key ? "; also records " : "",
                              s->also_key ? s->also_key : "");
    sb_adds(out, s->n_after ? "; after" : "; at the start");
    for (size_t k = 0; k < s->n_after; k++)
        sb_addf(out, "%s %zu", k ? "," : "", s->after[k] + 1);
    sb_addch(out, '\n');
}

/* Index of an earlier PUT target with the same path and content, or -1. */
static long same_as(const struct step *s, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (s->t[j].path && !strcmp(s->t[j].path, s->t[i].path) && s->t[j].len == s->t[i].len &&
            !memcmp(s->t[j].content, s->t[i].content, s->t[i].len))
            return (long)j;
    return -1;
}

/* The content, indented, with the target's masks and the registered
 * secrets masked. */
static void print_content(const struct step_target *t, struct strbuf *out)
{
    struct strbuf text = STRBUF_INIT;
    sb_add(&text, t->content, t->len);
    log_mask_with(&text, &t->masks);
    const char *p = text.buf, *end = text.buf + text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        sb_adds(out, "        | ");
        sb_add(out, p, n);
        sb_addch(out, '\n');
        p += n + (nl ? 1 : 0);
    }
    sb_release(&text);
}

static void print_put(const struct step *s, size_t i, const struct m3fs_config *cfg,
                      struct strbuf *out)
{
    const struct step_target *t = &s->t[i];
    sb_addf(out, "      put %s (mode %04o, %zu bytes; skipped when the node's copy has the "
            "same sha256 and mode)\n", t->path, t->mode, t->len);
    long j = same_as(s, i);
    if (j >= 0) sb_addf(out, "        (same content as on %s)\n", cfg->nodes[s->t[j].node].name);
    else print_content(t, out);
}

void plan_print(const struct plan *p, const struct m3fs_config *cfg, struct strbuf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < p->n; i++) {
        const struct step *s = &p->steps[i];
        print_header(s, i + 1, out);
        if (s->op == STEP_CALL && s->call.local_what)
            sb_addf(out, "  here, before the nodes:\n      %s\n", s->call.local_what);
        for (size_t k = 0; k < s->n; k++) {
            const struct step_target *t = &s->t[k];
            if (!k || s->t[k - 1].node != t->node)
                sb_addf(out, "  %s (%s):\n", cfg->nodes[t->node].name, cfg->nodes[t->node].host);
            if (t->skip_if) {
                sb_adds(out, "      skip if: ");
                add_cmd(out, t->skip_if);
                sb_addch(out, '\n');
            }
            if (s->op == STEP_PUT) print_put(s, k, cfg, out);
            else {
                sb_addf(out, "      %s: ", target_verb(s, t));
                add_cmd(out, t->cmd);
                sb_addch(out, '\n');
            }
        }
    }
    /* Mask every registered secret in what was added (belt and braces). */
    struct strbuf tail = STRBUF_INIT;
    sb_add(&tail, out->buf + start, out->len - start);
    log_mask(&tail);
    sb_setlen(out, start);
    sb_add(out, tail.buf, tail.len);
    sb_release(&tail);
}
