/* tmpl: the one small template module.  A template is text with
 * {{ key }} placeholders; every key must be set, or rendering fails naming
 * the key and its line.  Values are inserted verbatim: callers escape for
 * the target format (TOML, YAML, shell) before setting them.
 *
 * struct tmpl_vars owns copies of keys and values; tmpl_vars_free(). */
#ifndef M3FS_TMPL_H
#define M3FS_TMPL_H

#include "m3fs/strbuf.h"

struct tmpl_vars {
    struct strvec keys, vals;
};
#define TMPL_VARS_INIT { STRVEC_INIT, STRVEC_INIT }

void tmpl_set(struct tmpl_vars *tv, const char *key, const char *val);
void tmpl_setf(struct tmpl_vars *tv, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tmpl_vars_free(struct tmpl_vars *tv);

/* Render `text` (name is used in errors) into out.  Returns 0, or -1 with a
 * message in err. */
int tmpl_render(const char *name, const char *text, const struct tmpl_vars *tv,
                struct strbuf *out, struct strbuf *err);
/* Render an embedded template from templates/. */
int tmpl_render_embedded(const char *name, const struct tmpl_vars *tv, struct strbuf *out,
                         struct strbuf *err);

#endif
