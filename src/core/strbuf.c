#include "m3fs/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char sb_empty_[1];

static void die_oom(void)
{
    fputs("m3fs: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die_oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die_oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die_oom();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int str_to_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!len || len > 20) return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

char *xstrfmt(const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    return sb_detach(&sb);
}

void sb_init(struct strbuf *sb, size_t hint)
{
    sb->buf = sb_empty_;
    sb->len = sb->alloc = 0;
    if (hint) sb_grow(sb, hint);
}

void sb_release(struct strbuf *sb)
{
    if (sb->alloc) free(sb->buf);
    sb_init(sb, 0);
}

char *sb_detach(struct strbuf *sb)
{
    char *p = sb->alloc ? sb->buf : xstrdup("");
    sb_init(sb, 0);
    return p;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need < sb->len) die_oom();
    if (need <= sb->alloc) return;
    size_t n = sb->alloc ? sb->alloc : 32;
    while (n < need) n *= 2;
    if (!sb->alloc) {
        sb->buf = xmalloc(n);
        sb->buf[0] = '\0';
    } else {
        sb->buf = xrealloc(sb->buf, n);
    }
    sb->alloc = n;
}

void sb_setlen(struct strbuf *sb, size_t len)
{
    if (!sb->alloc) {
        if (len) abort();
        return;
    }
    sb->len = len;
    sb->buf[len] = '\0';
}

void sb_reset(struct strbuf *sb)
{
    sb_setlen(sb, 0);
}

void sb_add(struct strbuf *sb, const void *data, size_t len)
{
    if (!len) return;
    sb_grow(sb, len);
    memcpy(sb->buf + sb->len, data, len);
    sb_setlen(sb, sb->len + len);
}

void sb_adds(struct strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_addch(struct strbuf *sb, char c)
{
    sb_grow(sb, 1);
    sb->buf[sb->len] = c;
    sb_setlen(sb, sb->len + 1);
}

void sb_addchars(struct strbuf *sb, char c, size_t n)
{
    sb_grow(sb, n);
    memset(sb->buf + sb->len, c, n);
    sb_setlen(sb, sb->len + n);
}

void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return;
    sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb_setlen(sb, sb->len + (size_t)n);
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sb_replace_all(struct strbuf *sb, const char *from, const char *to)
{
    size_t flen = strlen(from);
    if (!flen || !sb->len || !memmem(sb->buf, sb->len, from, flen)) return;
    struct strbuf out = STRBUF_INIT;
    const char *p = sb->buf, *end = sb->buf + sb->len, *hit;
    /* memmem, not strstr: bytes after a NUL (binary logs) are searched too */
    while ((hit = memmem(p, (size_t)(end - p), from, flen)) != NULL) {
        sb_add(&out, p, (size_t)(hit - p));
        sb_adds(&out, to);
        p = hit + flen;
    }
    sb_add(&out, p, (size_t)(end - p));
    sb_release(sb);
    *sb = out;
}

void sb_rtrim(struct strbuf *sb)
{
    size_t n = sb->len;
    while (n && (sb->buf[n - 1] == ' ' || sb->buf[n - 1] == '\n' ||
                 sb->buf[n - 1] == '\r' || sb->buf[n - 1] == '\t'))
        n--;
    if (n != sb->len) sb_setlen(sb, n);
}

void sb_add_backslashed(struct strbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') sb_addf(sb, "\\%c", *p);
        else if (*p == '\n') sb_adds(sb, "\\n");
        else if (*p == '\t') sb_adds(sb, "\\t");
        else if (*p < 0x20 || *p == 0x7f) sb_addf(sb, "\\u%04x", *p);
        else sb_addch(sb, (char)*p);
    }
}

int sb_read_file(struct strbuf *sb, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    for (;;) {
        sb_grow(sb, 8192);
        ssize_t n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0) break;
        sb_setlen(sb, sb->len + (size_t)n);
    }
    close(fd);
    return 0;
}

void sv_push_owned(struct strvec *sv, char *s)
{
    if (sv->n + 2 > sv->alloc) {
        sv->alloc = sv->alloc ? sv->alloc * 2 : 8;
        sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void sv_push(struct strvec *sv, const char *s)
{
    sv_push_owned(sv, xstrdup(s));
}

void sv_pushf(struct strvec *sv, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    sv_push_owned(sv, sb_detach(&sb));
}

int sv_contains(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->v[i], s)) return 1;
    return 0;
}

int sb_read_file_max(struct strbuf *sb, const char *path, size_t max, struct strbuf *err)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        sb_addf(err, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    int rc = -1;
    if (!S_ISREG(st.st_mode))
        sb_addf(err, "cannot read %s: not a regular file", path);
    else if ((uint64_t)st.st_size > max)
        sb_addf(err, "cannot read %s: larger than %zu bytes", path, max);
    else
        rc = 0;
    size_t start = sb->len;
    while (!rc) {
        sb_grow(sb, 8192);
        size_t room = sb->alloc - sb->len - 1, left = max - (sb->len - start) + 1;
        ssize_t n = read(fd, sb->buf + sb->len, room < left ? room : left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n < 0) sb_addf(err, "cannot read %s: %s", path, strerror(errno));
            rc = n < 0 ? -1 : 1;
            break;
        }
        sb_setlen(sb, sb->len + (size_t)n);
        if (sb->len - start > max) { /* grew while read */
            sb_addf(err, "cannot read %s: larger than %zu bytes", path, max);
            rc = -1;
        }
    }
    close(fd);
    return rc < 0 ? -1 : 0;
}

void free_secret(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void sv_clear(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->alloc = 0;
}

void sv_join(const struct strvec *sv, const char *sep, struct strbuf *sb)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (i) sb_adds(sb, sep);
        sb_adds(sb, sv->v[i]);
    }
}
