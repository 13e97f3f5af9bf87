/* strbuf: the one growable string buffer used everywhere instead of fixed
 * arrays and sprintf.
 *
 * Ownership: a strbuf owns its heap buffer.  Initialise with STRBUF_INIT or
 * sb_init(); release with sb_release().  sb_detach() hands the buffer to the
 * caller (who frees it with free()) and leaves the strbuf empty.
 * buf is always NUL-terminated, never NULL.  Allocation failure aborts. */
#ifndef M3FS_STRBUF_H
#define M3FS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
    char *buf;
    size_t len;
    size_t alloc;
};

extern char sb_empty_[];
#define STRBUF_INIT { sb_empty_, 0, 0 }

void sb_init(struct strbuf *sb, size_t hint);
/* Zero a NUL-terminated secret, then free it (NULL is fine). */
void free_secret(char *s);
void sb_release(struct strbuf *sb);
char *sb_detach(struct strbuf *sb);
void sb_grow(struct strbuf *sb, size_t extra);
void sb_reset(struct strbuf *sb);
void sb_setlen(struct strbuf *sb, size_t len);

void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addch(struct strbuf *sb, char c);
void sb_addchars(struct strbuf *sb, char c, size_t n);
void sb_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Replace every occurrence of `from` by `to` in all sb->len bytes (binary-safe). */
void sb_replace_all(struct strbuf *sb, const char *from, const char *to);
void sb_rtrim(struct strbuf *sb);
/* Append s as the inside of a TOML basic string or a JSON string: '"' and
 * '\\' escaped with a backslash, \n and \t, other control bytes as \uXXXX
 * (the one escaper: services' TOML files and the masking of logs use it). */
void sb_add_backslashed(struct strbuf *sb, const char *s);

/* Read a whole file; returns 0 or -1 with errno set. */
int sb_read_file(struct strbuf *sb, const char *path);
/* Read a whole regular file of at most max bytes into sb: a FIFO, device or
 * directory is refused without blocking, a larger file without reading it.
 * Returns 0, or -1 with a message naming path appended to err. */
int sb_read_file_max(struct strbuf *sb, const char *path, size_t max, struct strbuf *err);

/* strvec: a growable NULL-terminated array of owned strings. */
struct strvec {
    char **v;
    size_t n;
    size_t alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void sv_push(struct strvec *sv, const char *s);
void sv_push_owned(struct strvec *sv, char *s);
void sv_pushf(struct strvec *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sv_contains(const struct strvec *sv, const char *s);
void sv_clear(struct strvec *sv);
/* Join elements with sep into sb. */
void sv_join(const struct strvec *sv, const char *sep, struct strbuf *sb);

/* Memory helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The decimal number s[0..len) (digits only, 1 to 20 of them, no sign or
 * space) into *out when it is at most max; 0, or -1 (*out untouched). */
int str_to_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Grow an array `x` of `nr` used / `alloc` allocated elements to hold nr+1. */
#define ALLOC_GROW(x, nr, alloc)                                          \
    do {                                                                  \
        if ((nr) + 1 > (alloc)) {                                         \
            (alloc) = (alloc) ? (alloc) * 2 : 8;                          \
            if ((alloc) < (nr) + 1) (alloc) = (nr) + 1;                   \
            (x) = xrealloc((x), (alloc) * sizeof(*(x)));                  \
        }                                                                 \
    } while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
