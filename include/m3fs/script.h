/* script: shell beyond one simple command lives in a script under
 * templates/ (embedded in the binary) and is called as
 * `sh -c CODE NAME ARG...`, CODE being the script without its comment lines.
 * These append `sh -c CODE NAME ` (NAME: the file name without ".sh") to
 * out; callers append the arguments, each sh_quote()d.  --dry-run shows the
 * call as `sh -c <templates/NAME.sh> NAME ...` (src/plan/print.c).  Comment
 * lines (first non-blank character '#') are left out, so a script with a
 * here-document must not have lines in it that start with '#'. */
#ifndef M3FS_SCRIPT_H
#define M3FS_SCRIPT_H

#include "m3fs/strbuf.h"

/* templates/<file> as it is (aborts when the binary lacks it: a build defect). */
void script_call(struct strbuf *out, const char *file);
/* text: templates/<file> already rendered (see tmpl.h). */
void script_call_text(struct strbuf *out, const char *file, const char *text);

#endif
