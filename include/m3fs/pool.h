/* pool: a bounded worker pool (pthreads) that runs one function on every
 * item of a range and collects every item's error, not only the first.
 *
 * pool_run(n, parallel, fn, arg, errs) calls fn(arg, i, &errs[i]) once for
 * each i in [0, n) on at most `parallel` threads (the calling thread is one
 * of them).  Items are handed out in index order.  fn returns 0 on success
 * or non-zero on failure, and may describe the failure in its strbuf.
 *
 * Ownership: `errs` is a caller-owned array of n initialised strbufs (or
 * NULL: errors are then written to a scratch buffer and dropped).  The pool
 * allocates nothing that outlives the call. */
#ifndef M3FS_POOL_H
#define M3FS_POOL_H

#include <stddef.h>

#include "m3fs/strbuf.h"

typedef int (*pool_fn)(void *arg, size_t item, struct strbuf *err);

/* Returns the number of items whose fn returned non-zero.
 * parallel < 1 is treated as 1. */
size_t pool_run(size_t n, long parallel, pool_fn fn, void *arg, struct strbuf *errs);

#endif
