/* cttest.h: the chain table the unit tests of the migration planner and of
 * the scale commands start from (static inline; include after testutil.h). */
#ifndef M3FS_TESTS_CTTEST_H
#define M3FS_TESTS_CTTEST_H

#include "m3fs/chaintable.h"

/* The native generator's table for v nodes, k replicas, r_min, d disks per
 * node, other parameters at their defaults; fails the test when refused.
 * Caller frees with ct_table_free(). */
static inline struct ct_table *tu_ct_gen(long v, long k, long r, long d)
{
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = NULL;
    ct_params_init(&p);
    p.v = v, p.k = k, p.r_min = r, p.disks = d;
    if (ct_generate(&p, &t, &err)) fail_msg("v=%ld k=%ld r=%ld d=%ld: %s", v, k, r, d, err.buf);
    sb_release(&err);
    return t;
}

#endif
