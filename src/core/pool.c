/* pool: bounded worker pool (see include/m3fs/pool.h). */
#include "m3fs/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct pool_state {
    pthread_mutex_t lock;
    size_t next, n, failed;
    pool_fn fn;
    void *arg;
    struct strbuf *errs;
};

/* Take the next item index; returns 0 when none is left. */
static int take_item(struct pool_state *ps, size_t *item)
{
    int got = 0;
    pthread_mutex_lock(&ps->lock);
    if (ps->next < ps->n) {
        *item = ps->next++;
        got = 1;
    }
    pthread_mutex_unlock(&ps->lock);
    return got;
}

static void *worker(void *p)
{
    struct pool_state *ps = p;
    size_t i;
    while (take_item(ps, &i)) {
        struct strbuf scratch = STRBUF_INIT;
        struct strbuf *err = ps->errs ? &ps->errs[i] : &scratch;
        int rc = ps->fn(ps->arg, i, err);
        sb_release(&scratch);
        if (rc) {
            pthread_mutex_lock(&ps->lock);
            ps->failed++;
            pthread_mutex_unlock(&ps->lock);
        }
    }
    return NULL;
}

size_t pool_run(size_t n, long parallel, pool_fn fn, void *arg, struct strbuf *errs)
{
    struct pool_state ps = { .n = n, .fn = fn, .arg = arg, .errs = errs };
    size_t want = parallel < 1 ? 1 : (size_t)parallel;
    if (want > n) want = n;
    pthread_mutex_init(&ps.lock, NULL);
    pthread_t *tids = want > 1 ? xcalloc(want - 1, sizeof(*tids)) : NULL;
    size_t started = 0;
    /* The calling thread is worker number `want`; a thread that cannot be
     * created only lowers the parallelism. */
    for (size_t t = 0; t + 1 < want; t++) {
        if (pthread_create(&tids[started], NULL, worker, &ps) == 0)
            started++;
    }
    worker(&ps);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
    pthread_mutex_destroy(&ps.lock);
    return ps.failed;
}
