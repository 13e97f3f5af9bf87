/* services/disks.c: the list of NVMe disks create would format and the
 * consent to exactly that list (include/m3fs/disks.h; issue 20 F5). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/disks.h"
#include "m3fs/strbuf.h"

/* Characters a field of the list may hold; the output is untrusted. */
static int field_ok(const char *s, size_t n, const char *extra)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

/* Split off the next space-separated word of *p (length in *n). */
static const char *word(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s == ' ') s++;
    const char *e = s;
    while (*e && *e != ' ') e++;
    *n = (size_t)(e - s);
    *p = e;
    return s;
}

static int parse_line(struct disk_fmt *d, const char *line, struct strbuf *err)
{
    static const char *const extra[] = { "/_.:-", "-", ".,?" };
    const char *p = line, *w[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) w[i] = word(&p, &n[i]);
    d->reuse = n[0] == 5 && !strncmp(w[0], "reuse", 5);
    if (!d->reuse && (n[0] != 6 || strncmp(w[0], "format", 6))) {
        sb_adds(err, "a line that starts with neither 'format' nor 'reuse'");
        return -1;
    }
    if (n[1] < 6 || strncmp(w[1], "/dev/", 5) || !field_ok(w[1], n[1], extra[0]) ||
        !field_ok(w[2], n[2], extra[1]) ||
        (d->reuse ? n[3] != 0 : !field_ok(w[3], n[3], extra[2]))) {
        sb_adds(err, "a device, label or size with characters it cannot have, or a field "
                "missing or in excess");
        return -1;
    }
    while (*p == ' ') p++;
    if (d->reuse) {
        d->dev = xstrndup(w[1], n[1]);
        d->label = xstrndup(w[2], n[2]);
        d->size = xstrdup("");
        d->holds = xstrdup("");
        return 0;
    }
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
            sb_adds(err, "what the disk holds has control or non-ASCII characters");
            return -1;
        }
    if (!*p) {
        sb_adds(err, "a line without what the disk holds ('-' for nothing)");
        return -1;
    }
    d->dev = xstrndup(w[1], n[1]);
    d->label = xstrndup(w[2], n[2]);
    d->size = xstrndup(w[3], n[3]);
    d->holds = xstrdup(strcmp(p, "-") ? p : "");
    return 0;
}

int disk_list_parse(struct disk_list *l, const char *node, const char *out, struct strbuf *err)
{
    struct strbuf line = STRBUF_INIT;
    int rc = 0;
    for (const char *p = out; *p && !rc;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        sb_reset(&line);
        sb_add(&line, p, len);
        p += len + (e != NULL);
        sb_rtrim(&line);
        if (!line.len) continue;
        struct disk_fmt d = { 0 };
        if (parse_line(&d, line.buf, err) < 0) {
            sb_addf(err, " in the disk list of %s", node);
            rc = -1;
            break;
        }
        d.node = xstrdup(node);
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = d;
    }
    sb_release(&line);
    return rc;
}

void disk_list_free(struct disk_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct disk_fmt *d = &l->v[i];
        free(d->node), free(d->dev), free(d->label), free(d->size), free(d->holds);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

size_t disk_list_count(const struct disk_list *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) n += !l->v[i].reuse;
    return n;
}

void disk_list_print(const struct disk_list *l, struct strbuf *sb)
{
    size_t wn = 0, wd = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].reuse) continue;
        if (strlen(l->v[i].node) > wn) wn = strlen(l->v[i].node);
        if (strlen(l->v[i].dev) > wd) wd = strlen(l->v[i].dev);
    }
    for (size_t i = 0; i < l->n; i++) {
        const struct disk_fmt *d = &l->v[i];
        if (d->reuse) continue;
        sb_addf(sb, "  %-*s  %-*s  %6s  as %s  %s%s\n", (int)wn, d->node, (int)wd, d->dev,
                d->size, d->label, *d->holds ? "HOLDS: " : "blank", d->holds);
    }
}

void disk_list_entries(const struct disk_list *l, struct strvec *sv)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].reuse) sv_pushf(sv, "%s:%s", l->v[i].node, l->v[i].dev);
}

void disk_list_consent_value(const struct disk_list *l, struct strbuf *sb)
{
    struct strvec sv = STRVEC_INIT;
    disk_list_entries(l, &sv);
    sv_join(&sv, ",", sb);
    sv_clear(&sv);
}

int disk_consent_check(const struct disk_list *l, const struct strvec *given, struct strbuf *why)
{
    struct strvec want = STRVEC_INIT, reused = STRVEC_INIT;
    disk_list_entries(l, &want);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].reuse) sv_pushf(&reused, "%s:%s", l->v[i].node, l->v[i].dev);
    struct strbuf missing = STRBUF_INIT, extra = STRBUF_INIT;
    for (size_t i = 0; i < want.n; i++)
        if (!given || !sv_contains(given, want.v[i]))
            sb_addf(&missing, "%s%s", missing.len ? ", " : "", want.v[i]);
    for (size_t i = 0; given && i < given->n; i++)
        if (!sv_contains(&want, given->v[i]) && !sv_contains(&reused, given->v[i]))
            sb_addf(&extra, "%s%s", extra.len ? ", " : "", given->v[i]);
    if (missing.len) sb_addf(why, "not named but would be formatted: %s", missing.buf);
    if (extra.len)
        sb_addf(why, "%snamed but not to be formatted: %s", missing.len ? "; " : "", extra.buf);
    int rc = missing.len || extra.len ? -1 : 0;
    sb_release(&missing), sb_release(&extra);
    sv_clear(&want), sv_clear(&reused);
    return rc;
}
