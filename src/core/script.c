/* core/script.c: calls of the scripts under templates/ (see include/m3fs/script.h). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/embedded.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"

void script_call_text(struct strbuf *out, const char *file, const char *text)
{
    struct strbuf code = STRBUF_INIT;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (p[strspn(p, " \t")] != '#') sb_add(&code, p, n);
        p += n;
    }
    size_t len = strlen(file);
    if (len > 3 && !strcmp(file + len - 3, ".sh")) len -= 3;
    sb_adds(out, "sh -c ");
    sh_quote(out, code.buf);
    sb_addf(out, " %.*s ", (int)len, file);
    sb_release(&code);
}

void script_call(struct strbuf *out, const char *file)
{
    const struct m3fs_embedded_file *f = embedded_find(file);
    if (!f) abort(); /* a script missing from templates/: a build defect */
    script_call_text(out, file, f->data);
}
