/* fuzz_split.h: cut one fuzz input into parts at NUL bytes, for targets
 * whose parser reads several files or outputs.  Header only. */
#ifndef M3FS_FUZZ_SPLIT_H
#define M3FS_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* part[i], len[i] for i < n: the input up to the first NUL, then up to the
 * next, ...; the last part takes the rest (NULs and all).  Missing parts are
 * empty.  The parts point into data (never NULL). */
static void fuzz_split(const uint8_t *data, size_t size, size_t n, const char **part,
                       size_t *len)
{
    const char *p = size ? (const char *)data : "", *end = p + size;
    for (size_t i = 0; i < n; i++) {
        const char *z = i + 1 < n ? memchr(p, 0, (size_t)(end - p)) : NULL;
        part[i] = p;
        len[i] = (size_t)((z ? z : end) - p);
        p = z ? z + 1 : end;
    }
}

#endif
