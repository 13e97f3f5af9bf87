/* opt: one declarative option parser for every command.
 *
 * A command describes its options as a table ending with OPT_END().  The
 * parser writes values through the pointers in the table; strings point into
 * argv (not copied, caller does not free).  Non-option words are collected
 * into `rest` (borrowed pointers into argv; the array itself is owned by the
 * caller's strvec-like struct opt_rest and freed with opt_rest_free()). */
#ifndef M3FS_OPT_H
#define M3FS_OPT_H

#include <stdio.h>

struct strbuf;

enum opt_type {
    OPT_T_END,
    OPT_T_BOOL,   /* int*, set to 1 */
    OPT_T_STRING, /* const char**  */
    OPT_T_INT,    /* long*, decimal */
    OPT_T_LIST,   /* struct strvec*: repeatable, also comma-separated */
};

#define OPT_REQUIRED 1

struct opt_spec {
    enum opt_type type;
    char short_name;          /* 0 for none */
    const char *long_name;    /* without dashes */
    const char *alias;        /* second long name, or NULL */
    void *value;
    const char *argh;         /* placeholder in help, e.g. "FILE" */
    const char *help;
    int flags;
};

#define OPT_BOOL(s, l, v, h) { OPT_T_BOOL, (s), (l), NULL, (v), NULL, (h), 0 }
#define OPT_STRING(s, l, v, a, h) { OPT_T_STRING, (s), (l), NULL, (v), (a), (h), 0 }
#define OPT_STRING_REQ(s, l, v, a, h) { OPT_T_STRING, (s), (l), NULL, (v), (a), (h), OPT_REQUIRED }
#define OPT_INT(s, l, v, a, h) { OPT_T_INT, (s), (l), NULL, (v), (a), (h), 0 }
#define OPT_LIST(s, l, v, a, h) { OPT_T_LIST, (s), (l), NULL, (v), (a), (h), 0 }
#define OPT_END() { OPT_T_END, 0, NULL, NULL, NULL, NULL, NULL, 0 }

struct opt_rest {
    const char **v;
    int n;
};

/* Parse argv[0..argc) (argv[0] is the first word after the command name)
 * against the given tables (NULL-terminated list of tables, searched in
 * order).  Stops option processing at "--" (the words after it go to rest,
 * with rest_after_dashdash set to the index in rest where they start).
 * `want_help` is set when -h/--help is seen.
 * Returns 0, or -1 with a message in err (a usage error). */
int opt_parse(const struct opt_spec *const *tables, int argc, char **argv,
              struct opt_rest *rest, int *dashdash_at, int *want_help,
              struct strbuf *err);
void opt_rest_free(struct opt_rest *rest);

/* Append the option help lines for a table to sb. */
void opt_usage(const struct opt_spec *table, struct strbuf *sb);

#endif
