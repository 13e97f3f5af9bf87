/* test_pool: pool_run runs every item once, never more than `parallel` at a
 * time, uses real parallelism, and reports every failing item's error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/pool.h"
#include "m3fs/strbuf.h"

struct probe {
    pthread_mutex_t lock;
    pthread_cond_t met;
    int running, max_running;
    int want;      /* calls that must run at once before any may finish */
    int reached;   /* set once `want` calls were running together */
    int *calls;
};

/* Block until `want` calls run at once (or 10 s pass, so a serial pool fails
 * the max_running check instead of hanging). No timing decides the result. */
static void wait_for_company(struct probe *p)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    if (p->running >= p->want) {
        p->reached = 1;
        pthread_cond_broadcast(&p->met);
    }
    while (!p->reached)
        if (pthread_cond_timedwait(&p->met, &p->lock, &until)) break;
}

static int probe_fn(void *arg, size_t item, struct strbuf *err)
{
    struct probe *p = arg;
    pthread_mutex_lock(&p->lock);
    p->calls[item]++;
    if (++p->running > p->max_running) p->max_running = p->running;
    wait_for_company(p);
    p->running--;
    pthread_mutex_unlock(&p->lock);
    if (item % 3 == 1) {
        sb_addf(err, "item %zu failed", item);
        return 1;
    }
    return 0;
}

static void run_probe(size_t n, long parallel, int expect_max)
{
    struct probe p = { .lock = PTHREAD_MUTEX_INITIALIZER, .met = PTHREAD_COND_INITIALIZER,
                       .want = expect_max };
    p.calls = xcalloc(n ? n : 1, sizeof(int));
    struct strbuf *errs = xcalloc(n ? n : 1, sizeof(*errs));
    for (size_t i = 0; i < n; i++) sb_init(&errs[i], 0);
    size_t failed = pool_run(n, parallel, probe_fn, &p, errs);
    size_t want_failed = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p.calls[i], 1);
        if (i % 3 == 1) {
            want_failed++;
            struct strbuf msg = STRBUF_INIT;
            sb_addf(&msg, "item %zu failed", i);
            assert_string_equal(errs[i].buf, msg.buf);
            sb_release(&msg);
        } else {
            assert_int_equal(errs[i].len, 0);
        }
        sb_release(&errs[i]);
    }
    assert_int_equal(failed, want_failed);
    assert_int_equal(p.max_running, expect_max);
    free(p.calls);
    free(errs);
}

static void test_bounded_parallelism(void **state)
{
    (void)state;
    run_probe(12, 4, 4);   /* the first 4 wait for each other */
}

static void test_serial_when_parallel_is_one_or_less(void **state)
{
    (void)state;
    run_probe(5, 1, 1);
    run_probe(5, 0, 1);
    run_probe(5, -3, 1);
}

static void test_fewer_items_than_threads(void **state)
{
    (void)state;
    run_probe(3, 16, 3);
}

static void test_no_items(void **state)
{
    (void)state;
    run_probe(0, 8, 0);
}

static int always_fail(void *arg, size_t item, struct strbuf *err)
{
    (void)arg;
    sb_addf(err, "boom %zu", item);
    return 1;
}

static void test_null_errs_still_counts(void **state)
{
    (void)state;
    assert_int_equal(pool_run(7, 3, always_fail, NULL, NULL), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_parallelism),
        cmocka_unit_test(test_serial_when_parallel_is_one_or_less),
        cmocka_unit_test(test_fewer_items_than_threads),
        cmocka_unit_test(test_no_items),
        cmocka_unit_test(test_null_errs_still_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
