/* Helpers shared by the chain-table sources (private to src/chaintable/):
 * sorting and searching arrays of ids. */
#ifndef M3FS_CT_INT_H
#define M3FS_CT_INT_H

#include <stddef.h>
#include <stdint.h>

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
