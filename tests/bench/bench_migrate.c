/* bench_migrate: time, move count and balance of the migration planner at
 * k = 3, 16 disks, 32 targets per disk requested: 900 nodes + 2 and + 100
 * (1000 is the most the id scheme allows), 1000 nodes - 1 and - 10.  Prints each case's moves against the minimum a
 * balanced result needs (the new nodes' share, or the drained replicas) and
 * lambda of the new table; exits 1 if a plan fails its replay check or
 * takes more than 10 s. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "m3fs/chaintable.h"

#define K 3
#define D 16
#define R 32

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct ct_table *table(long v)
{
    struct ct_params p;
    struct strbuf err = STRBUF_INIT;
    struct ct_table *t = NULL;
    ct_params_init(&p);
    p.v = v, p.k = K, p.disks = D, p.r_min = R;
    if (ct_generate(&p, &t, &err)) {
        fprintf(stderr, "generate: %s\n", err.buf);
        exit(1);
    }
    sb_release(&err);
    return t;
}

static int run(const struct ct_table *cur, const char *what, const uint32_t *add, size_t n_add,
               const uint32_t *rm, size_t n_rm)
{
    struct ct_migrate_params p = { add, n_add, rm, n_rm, K, D, R };
    struct strbuf err = STRBUF_INIT;
    struct ct_migration *m = NULL;
    double t0 = now();
    if (ct_plan_migration(cur, &p, &m, &err)) {
        fprintf(stderr, "%s: %s\n", what, err.buf);
        sb_release(&err);
        return 1;
    }
    double t1 = now();
    long bad = ct_check_migration(cur, m, K, D, NULL);
    struct ct_stats st;
    ct_verify(m->after, &(struct ct_expect){ K, D, 0 }, &st, NULL);
    long bk = (long)cur->n_chains / D * K;
    /* drained: every replica of the drained nodes; added: their floor share */
    long need = n_rm ? (long)n_rm * (long)(cur->n_targets / (size_t)m->v_before)
                     : (long)n_add * (bk / m->v_after) * D;
    printf("%-10s v %ld -> %ld: r' %ld, %zu moves (minimum about %ld), %zu detours, %ld moves "
           "max per chain, %zu new chains; plan %.2f s; lambda %ld..%ld (mu %.3f); %s\n",
           what, m->v_before, m->v_after, m->r_after, m->n_moves, need, m->n_detours,
           m->max_steps, m->n_new_chains, t1 - t0, st.lambda_min, st.lambda_max, st.mu,
           bad ? "CHECK FAILED" : "check ok");
    int rc = bad || t1 - t0 > 10.0;
    ct_migration_free(m);
    sb_release(&err);
    return rc;
}

int main(void)
{
    uint32_t add[100], rm[10];
    int rc = 0;
    struct ct_table *t = table(900);
    for (int i = 0; i < 100; i++) add[i] = (uint32_t)(CT_DEFAULT_NODE_ID_BEGIN + 900 + i);
    for (int i = 0; i < 10; i++) rm[i] = (uint32_t)(CT_DEFAULT_NODE_ID_BEGIN + 97 * i);
    rc |= run(t, "add 2", add, 2, NULL, 0);
    rc |= run(t, "add 100", add, 100, NULL, 0);
    ct_table_free(t);
    t = table(1000);
    rc |= run(t, "drain 1", NULL, 0, rm, 1);
    rc |= run(t, "drain 10", NULL, 0, rm, 10);
    ct_table_free(t);
    return rc;
}
