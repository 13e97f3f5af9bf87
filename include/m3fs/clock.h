/* clock: the one monotonic clock of m3fs (durations, deadlines, rates).
 * Nothing to free. */
#ifndef M3FS_CLOCK_H
#define M3FS_CLOCK_H

#include <stdint.h>

/* Milliseconds and seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
int64_t mono_ms(void);
double mono_s(void);

/* "" for 1, "s" otherwise: "3 node%s". */
static inline const char *plural_s(long long n)
{
    return n == 1 ? "" : "s";
}

#endif
