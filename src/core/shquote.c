/* shquote: POSIX-shell single quoting (see include/m3fs/shquote.h). */
#include "m3fs/shquote.h"

#include <string.h>

void sh_quote(struct strbuf *sb, const char *s)
{
    sb_addch(sb, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_adds(sb, "'\\''");
        else
            sb_addch(sb, *p);
    }
    sb_addch(sb, '\'');
}

void sh_quote_argv(struct strbuf *sb, const char *const *argv)
{
    for (size_t i = 0; argv && argv[i]; i++) {
        if (i)
            sb_addch(sb, ' ');
        sh_quote(sb, argv[i]);
    }
}
