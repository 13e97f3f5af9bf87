/* bench_chaintable: time and balance of native chain-table generation for
 * v = 100, 500, 1000 storage nodes at k = 3, 16 disks, 32 targets per disk.
 * Target: the 1000-node case generates in under 1 s with lambda within
 * [floor(mu)-1, ceil(mu)] (goal [floor(mu), ceil(mu)]).  Prints the ratio of
 * each time to the 1 s target; exits 1 if a case misses the target. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "m3fs/chaintable.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(long v)
{
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = NULL;
    struct ct_stats st;
    ct_params_init(&p);
    p.v = v, p.k = 3, p.disks = 16, p.r_min = 32;
    p.rotate_heads = 1; /* the extra pass is included in the time */
    double t0 = now();
    if (ct_generate(&p, &t, &err)) {
        fprintf(stderr, "v=%ld: %s\n", v, err.buf);
        return 1;
    }
    double t1 = now();
    long errors = ct_verify(t, &(struct ct_expect){ 3, 16, 0 }, &st, NULL);
    double t2 = now();
    int ideal = st.lambda_min >= st.band_lo && st.lambda_max <= st.band_hi;
    int ok = !errors && st.lambda_min >= st.band_lo - 1 && st.lambda_max <= st.band_hi &&
             t1 - t0 < 1.0;
    printf("v=%-5ld k=3 d=16 r=%ld b=%ld chains=%zu targets=%zu  generate %.3f s (%.2f of 1 s "
           "target)  verify %.3f s  lambda %ld..%ld mu=%.3f band [%ld,%ld] %s  heads %ld..%ld  "
           "%s\n", v, t->r, t->b, t->n_chains, t->n_targets, t1 - t0, (t1 - t0) / 1.0, t2 - t1,
           st.lambda_min, st.lambda_max, st.mu, st.band_lo, st.band_hi,
           ideal ? "ideal" : "relaxed", st.head_min, st.head_max, ok ? "OK" : "MISSED");
    ct_table_free(t);
    sb_release(&err);
    return !ok;
}

int main(void)
{
    static const long sizes[] = { 100, 500, 1000 };
    int bad = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) bad |= bench(sizes[i]);
    return bad;
}
