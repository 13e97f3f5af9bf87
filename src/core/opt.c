#include "m3fs/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/strbuf.h"

static const struct opt_spec *find_long(const struct opt_spec *const *tables,
                                        const char *name, size_t len)
{
    for (; *tables; tables++)
        for (const struct opt_spec *o = *tables; o->type != OPT_T_END; o++) {
            if (o->long_name && strlen(o->long_name) == len &&
                !strncmp(o->long_name, name, len))
                return o;
            if (o->alias && strlen(o->alias) == len && !strncmp(o->alias, name, len))
                return o;
        }
    return NULL;
}

static const struct opt_spec *find_short(const struct opt_spec *const *tables, char c)
{
    for (; *tables; tables++)
        for (const struct opt_spec *o = *tables; o->type != OPT_T_END; o++)
            if (o->short_name == c) return o;
    return NULL;
}

static void opt_name(const struct opt_spec *o, struct strbuf *sb)
{
    if (o->long_name) sb_addf(sb, "--%s", o->long_name);
    else sb_addf(sb, "-%c", o->short_name);
}

static int store_value(const struct opt_spec *o, const char *val, struct strbuf *err)
{
    switch (o->type) {
    case OPT_T_STRING:
        *(const char **)o->value = val;
        return 0;
    case OPT_T_INT: {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end) {
            sb_adds(err, "option ");
            opt_name(o, err);
            sb_addf(err, " expects a whole number, not '%s'", val);
            return -1;
        }
        *(long *)o->value = v;
        return 0;
    }
    case OPT_T_LIST: {
        struct strvec *sv = o->value;
        const char *p = val;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n) sv_push_owned(sv, xstrndup(p, n));
            p += n + (c ? 1 : 0);
        }
        return 0;
    }
    default:
        return -1;
    }
}

static void push_rest(struct opt_rest *rest, const char *w)
{
    rest->v = xrealloc(rest->v, (size_t)(rest->n + 2) * sizeof(*rest->v));
    rest->v[rest->n++] = w;
    rest->v[rest->n] = NULL;
}

static int parse_long(const struct opt_spec *const *tables, int argc, char **argv,
                      int *i, struct strbuf *err)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_spec *o = find_long(tables, arg, len);
    if (!o) {
        sb_addf(err, "unknown option '--%.*s'", (int)len, arg);
        return -1;
    }
    if (o->type == OPT_T_BOOL) {
        if (eq) {
            sb_addf(err, "option --%s takes no value", o->long_name);
            return -1;
        }
        *(int *)o->value = 1;
        return 0;
    }
    if (eq) return store_value(o, eq + 1, err);
    if (*i + 1 >= argc) {
        sb_addf(err, "option --%s needs a value (%s)", o->long_name, o->argh ? o->argh : "VALUE");
        return -1;
    }
    return store_value(o, argv[++*i], err);
}

static int parse_short(const struct opt_spec *const *tables, int argc, char **argv,
                       int *i, struct strbuf *err)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        const struct opt_spec *o = find_short(tables, *p);
        if (!o) {
            sb_addf(err, "unknown option '-%c'", *p);
            return -1;
        }
        if (o->type == OPT_T_BOOL) {
            *(int *)o->value = 1;
            continue;
        }
        if (p[1]) return store_value(o, p + 1, err);
        if (*i + 1 >= argc) {
            sb_addf(err, "option -%c needs a value (%s)", *p, o->argh ? o->argh : "VALUE");
            return -1;
        }
        return store_value(o, argv[++*i], err);
    }
    return 0;
}

static int check_required(const struct opt_spec *const *tables, struct strbuf *err)
{
    for (; *tables; tables++)
        for (const struct opt_spec *o = *tables; o->type != OPT_T_END; o++)
            if ((o->flags & OPT_REQUIRED) && o->type == OPT_T_STRING &&
                !*(const char **)o->value) {
                sb_adds(err, "missing required option ");
                opt_name(o, err);
                if (o->argh) sb_addf(err, " %s", o->argh);
                return -1;
            }
    return 0;
}

int opt_parse(const struct opt_spec *const *tables, int argc, char **argv,
              struct opt_rest *rest, int *dashdash_at, int *want_help,
              struct strbuf *err)
{
    if (dashdash_at) *dashdash_at = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            if (dashdash_at) *dashdash_at = rest->n;
            for (i++; i < argc; i++) push_rest(rest, argv[i]);
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *want_help = 1;
            continue;
        }
        int r = 0;
        if (a[0] == '-' && a[1] == '-') r = parse_long(tables, argc, argv, &i, err);
        else if (a[0] == '-' && a[1]) r = parse_short(tables, argc, argv, &i, err);
        else push_rest(rest, a);
        if (r) return -1;
    }
    if (*want_help) return 0;
    return check_required(tables, err);
}

void opt_rest_free(struct opt_rest *rest)
{
    free(rest->v);
    rest->v = NULL;
    rest->n = 0;
}

void opt_usage(const struct opt_spec *o, struct strbuf *sb)
{
    for (; o->type != OPT_T_END; o++) {
        size_t start = sb->len;
        sb_adds(sb, "  ");
        if (o->short_name) sb_addf(sb, "-%c%s", o->short_name, o->long_name ? ", " : "");
        else sb_adds(sb, "    ");
        if (o->long_name) sb_addf(sb, "--%s", o->long_name);
        if (o->alias) sb_addf(sb, ", --%s", o->alias);
        if (o->type != OPT_T_BOOL) sb_addf(sb, " %s", o->argh ? o->argh : "VALUE");
        size_t w = sb->len - start;
        sb_addchars(sb, ' ', w < 32 ? 32 - w : 1);
        sb_adds(sb, o->help ? o->help : "");
        if (o->flags & OPT_REQUIRED) sb_adds(sb, " (required)");
        sb_addch(sb, '\n');
    }
}
