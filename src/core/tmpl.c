#include "m3fs/tmpl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/embedded.h"

void tmpl_set(struct tmpl_vars *tv, const char *key, const char *val)
{
    for (size_t i = 0; i < tv->keys.n; i++)
        if (!strcmp(tv->keys.v[i], key)) {
            free(tv->vals.v[i]);
            tv->vals.v[i] = xstrdup(val);
            return;
        }
    sv_push(&tv->keys, key);
    sv_push(&tv->vals, val);
}

void tmpl_setf(struct tmpl_vars *tv, const char *key, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    tmpl_set(tv, key, sb.buf);
    sb_release(&sb);
}

void tmpl_vars_free(struct tmpl_vars *tv)
{
    sv_clear(&tv->keys);
    sv_clear(&tv->vals);
}

static const char *lookup(const struct tmpl_vars *tv, const char *k, size_t n)
{
    for (size_t i = 0; i < tv->keys.n; i++)
        if (strlen(tv->keys.v[i]) == n && !strncmp(tv->keys.v[i], k, n)) return tv->vals.v[i];
    return NULL;
}

static int line_of(const char *text, const char *p)
{
    int line = 1;
    for (; text < p; text++) line += *text == '\n';
    return line;
}

int tmpl_render(const char *name, const char *text, const struct tmpl_vars *tv,
                struct strbuf *out, struct strbuf *err)
{
    const char *p = text, *open;
    while ((open = strstr(p, "{{")) != NULL) {
        sb_add(out, p, (size_t)(open - p));
        const char *close = strstr(open, "}}");
        if (!close) {
            sb_addf(err, "%s:%d: '{{' without '}}'", name, line_of(text, open));
            return -1;
        }
        const char *k = open + 2, *e = close;
        while (k < e && *k == ' ') k++;
        while (e > k && e[-1] == ' ') e--;
        const char *val = lookup(tv, k, (size_t)(e - k));
        if (!val) {
            sb_addf(err, "%s:%d: template variable '%.*s' is not set", name,
                    line_of(text, open), (int)(e - k), k);
            return -1;
        }
        sb_adds(out, val);
        p = close + 2;
    }
    sb_adds(out, p);
    return 0;
}

int tmpl_render_embedded(const char *name, const struct tmpl_vars *tv, struct strbuf *out,
                         struct strbuf *err)
{
    const struct m3fs_embedded_file *f = embedded_find(name);
    if (!f) {
        sb_addf(err, "template '%s' is not built into this m3fs", name);
        return -1;
    }
    return tmpl_render(name, f->data, tv, out, err);
}
