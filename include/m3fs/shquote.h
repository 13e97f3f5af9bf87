/* shquote: the one function that turns a value into a POSIX-shell word.
 *
 * Every value that reaches a remote (or local) shell command line goes
 * through sh_quote().  The result is single-quoted; a ' inside becomes
 * '\'' so the word is taken literally by sh: no expansion of $, `, \, no
 * word splitting, no globbing; newlines and non-ASCII bytes pass through
 * unchanged.  The empty string becomes ''.
 *
 * Ownership: both functions append to a caller-owned strbuf. */
#ifndef M3FS_SHQUOTE_H
#define M3FS_SHQUOTE_H

#include "m3fs/strbuf.h"

/* Append s quoted as exactly one shell word. */
void sh_quote(struct strbuf *sb, const char *s);

/* Append every word of the NULL-terminated argv, quoted, separated by one
 * space.  An empty argv appends nothing. */
void sh_quote_argv(struct strbuf *sb, const char *const *argv);

#endif
