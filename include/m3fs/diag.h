/* diag: a list of file:line:col diagnostics (errors and warnings), each with
 * a hint saying what to do.  The list owns its strings; diag_list_free(). */
#ifndef M3FS_DIAG_H
#define M3FS_DIAG_H

#include <stdio.h>

enum diag_sev { DIAG_WARN, DIAG_ERROR };

struct diag {
    enum diag_sev sev;
    char *file;
    int line, col; /* 1-based, 0 = whole file */
    char *msg;
    char *hint;    /* may be NULL */
};

struct diag_list {
    struct diag *v;
    size_t n, alloc;
    int errors, warnings;
};

void diag_add(struct diag_list *dl, enum diag_sev sev, const char *file, int line, int col,
              const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Print sorted by position: "file:line:col: error: msg\n    hint: ...". */
void diag_print(struct diag_list *dl, FILE *out);
void diag_list_free(struct diag_list *dl);
/* Index of the first diagnostic whose message contains `needle`, or -1. */
int diag_find(const struct diag_list *dl, const char *needle);

#endif
