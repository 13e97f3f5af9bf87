/* Helpers shared by the chain-table sources (private to src/chaintable/):
 * sorting and searching arrays of ids, and the reader of the files' bytes. */
#ifndef M3FS_CT_INT_H
#define M3FS_CT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/chaintable.h"

/* read.c: ct_read_files() on the files' bytes, given in the order
 * CT_FILE_CHAINS, CT_FILE_CREATE, CT_FILE_TABLE (data[i] borrowed, need not
 * be NUL-terminated). */
#define CT_READ_FILES 3
int ct_read_data(const char *const data[CT_READ_FILES], const size_t len[CT_READ_FILES],
                 struct ct_table **out, struct strbuf *err);

/* qsort comparator for uint32_t, ascending. */
static inline int ct_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* First position in the ascending v[0..n) whose value is not below x
 * (n when every value is below x). */
static inline size_t ct_find_u32(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

#endif
