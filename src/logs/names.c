/* logs/names.c: the archive's names and the two parsers of node output,
 * the file list and the token files (see include/m3fs/logs.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/logs.h"

char *logs_default_name(const char *cluster, time_t now)
{
    struct tm tm;
    char ts[32];
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
    char *c = logs_component(cluster);
    char *name = xstrfmt("m3fs-logs-%s-%s.tar.gz", c, ts);
    free(c);
    return name;
}

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && !strcmp(s + n - k, suf);
}

char *logs_top_dir(const char *out_path)
{
    const char *base = strrchr(out_path, '/');
    base = base ? base + 1 : out_path;
    size_t n = strlen(base);
    if (ends_with(base, n, ".tar.gz")) n -= 7;
    else if (ends_with(base, n, ".tgz")) n -= 4;
    char *raw = xstrndup(base, n);
    char *top = logs_component(*raw ? raw : "m3fs-logs");
    free(raw);
    return top;
}

char *logs_component(const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    for (const char *p = name; *p; p++) {
        int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || (*p == '.' && p != name);
        sb_addch(&sb, keep ? *p : '_');
    }
    if (!sb.len) sb_addch(&sb, '_');
    return sb_detach(&sb);
}

int logs_rel_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (!n || n >= 1024 || p[0] == '/') return 0;
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return 0;
    for (const char *s = p;;) {
        const char *e = strchr(s, '/');
        size_t k = e ? (size_t)(e - s) : strlen(s);
        if (!k || (k == 1 && s[0] == '.') || (k == 2 && s[0] == '.' && s[1] == '.')) return 0;
        if (!e) return 1;
        s = e + 1;
    }
}

void logs_parse_list(const char *text, size_t len, size_t max, struct strvec *out,
                     size_t *bad, size_t *more)
{
    const char *p = text, *end = text + len;
    *bad = *more = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n) {
            char *line = xstrndup(p, n);
            if (strlen(line) != n || !logs_rel_path_ok(line)) ++*bad;
            else if (out->n >= max) ++*more;
            else sv_push(out, line);
            free(line);
        }
        p += n + 1;
    }
}

void logs_parse_tokens(const char *text, size_t len, struct strvec *out)
{
    const char *p = text, *end = text + len;
    size_t n = 0;
    while (p < end && n < LOGS_MAX_TOKENS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end, *s = p;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        size_t k = (size_t)(e - s);
        if (k >= LOGS_TOKEN_MIN && k <= LOGS_TOKEN_MAX && !memchr(s, '\0', k)) {
            char *t = xstrndup(s, k);
            sv_push(out, t);
            free(t);
            n++;
        }
        p = nl ? nl + 1 : end;
    }
}
