#include "m3fs/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/strbuf.h"

void diag_add(struct diag_list *dl, enum diag_sev sev, const char *file, int line, int col,
              const char *hint, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    ALLOC_GROW(dl->v, dl->n, dl->alloc);
    struct diag *d = &dl->v[dl->n++];
    d->sev = sev;
    d->file = xstrdup(file ? file : "<input>");
    d->line = line;
    d->col = col;
    d->msg = sb_detach(&sb);
    d->hint = hint ? xstrdup(hint) : NULL;
    if (sev == DIAG_ERROR) dl->errors++;
    else dl->warnings++;
}

static int cmp_diag(const void *a, const void *b)
{
    const struct diag *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return 0;
}

void diag_print(struct diag_list *dl, FILE *out)
{
    /* mergesort-like stability is not needed: equal positions keep no order */
    if (dl->n) qsort(dl->v, dl->n, sizeof(*dl->v), cmp_diag);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < dl->n; i++) {
        const struct diag *d = &dl->v[i];
        sb_addf(&sb, "%s%s", c_bold(), d->file);
        if (d->line) sb_addf(&sb, ":%d:%d", d->line, d->col);
        sb_addf(&sb, ":%s %s%s%s: %s\n", c_reset(),
                d->sev == DIAG_ERROR ? c_red() : c_yellow(),
                d->sev == DIAG_ERROR ? "error" : "warning", c_reset(), d->msg);
        if (d->hint) sb_addf(&sb, "    hint: %s\n", d->hint);
    }
    /* no log_mask(): diagnostics quote the file's keys, never secret values */
    fwrite(sb.buf, 1, sb.len, out);
    sb_release(&sb);
}

void diag_list_free(struct diag_list *dl)
{
    for (size_t i = 0; i < dl->n; i++) {
        free(dl->v[i].file);
        free(dl->v[i].msg);
        free(dl->v[i].hint);
    }
    free(dl->v);
    memset(dl, 0, sizeof(*dl));
}

int diag_find(const struct diag_list *dl, const char *needle)
{
    for (size_t i = 0; i < dl->n; i++)
        if (strstr(dl->v[i].msg, needle)) return (int)i;
    return -1;
}
