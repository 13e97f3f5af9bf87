/* bstream: turn the push-style bundle reader (artifact_bundle_each calls us
 * with chunks) into the pull-style reader remote_upload_stream wants.
 *
 * A producer thread runs artifact_bundle_each on its own reader of the
 * bundle.  For a wanted image it publishes the image, then each chunk, and
 * waits until the consumer has copied the chunk (no copy of the data is
 * kept: memory stays one chunk of the bundle reader).  The image's end is
 * published only when the bundle reader has checked its size and sha256,
 * so the consumer's reader returns 0 (end of data) only for good bytes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "prepare-int.h"

struct bstream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    char *path;
    const struct strvec *want;

    const struct artifact_image *cur; /* wanted image being handed over */
    const char *chunk;                /* producer's buffer, valid while published */
    size_t chunk_len, chunk_off;
    int img_end;                      /* cur ended and matched the manifest */
    int finished, prod_rc;            /* producer thread is done */
    struct strbuf prod_err;
    int stop;                         /* consumer wants the producer to stop */
    int skipping;                     /* producer: current image is not wanted */
};

static int cb_begin(const struct artifact_image *img, void *ud, struct strbuf *err)
{
    struct bstream *bs = ud;
    bs->skipping = !sv_contains(bs->want, img->file);
    if (bs->skipping) return __atomic_load_n(&bs->stop, __ATOMIC_RELAXED) ? -1 : 0;
    pthread_mutex_lock(&bs->mu);
    while (bs->cur && !bs->stop) pthread_cond_wait(&bs->cv, &bs->mu);
    int rc = bs->stop ? -1 : 0;
    if (!rc) {
        bs->cur = img;
        bs->img_end = 0;
        pthread_cond_broadcast(&bs->cv);
    }
    pthread_mutex_unlock(&bs->mu);
    if (rc) sb_adds(err, "stopped");
    return rc;
}

static int cb_data(const struct artifact_image *img, const void *buf, size_t len, void *ud,
                   struct strbuf *err)
{
    struct bstream *bs = ud;
    (void)img;
    if (bs->skipping) return __atomic_load_n(&bs->stop, __ATOMIC_RELAXED) ? -1 : 0;
    pthread_mutex_lock(&bs->mu);
    bs->chunk = buf, bs->chunk_len = len, bs->chunk_off = 0;
    pthread_cond_broadcast(&bs->cv);
    while (bs->chunk_off < bs->chunk_len && !bs->stop) pthread_cond_wait(&bs->cv, &bs->mu);
    bs->chunk = NULL, bs->chunk_len = bs->chunk_off = 0;
    int rc = bs->stop ? -1 : 0;
    pthread_mutex_unlock(&bs->mu);
    if (rc) sb_adds(err, "stopped");
    return rc;
}

static int cb_end(const struct artifact_image *img, void *ud, struct strbuf *err)
{
    struct bstream *bs = ud;
    (void)img, (void)err;
    if (bs->skipping) return 0;
    pthread_mutex_lock(&bs->mu);
    bs->img_end = 1;
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->mu);
    return 0;
}

static void *producer(void *p)
{
    struct bstream *bs = p;
    static const struct artifact_entry_cb cb = { cb_begin, cb_data, cb_end };
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open(bs->path, &err);
    int rc = b ? artifact_bundle_each(b, &cb, bs, &err) : -1;
    pthread_mutex_lock(&bs->mu);
    bs->finished = 1;
    bs->prod_rc = rc;
    sb_add(&bs->prod_err, err.buf, err.len);
    pthread_cond_broadcast(&bs->cv);
    /* The consumer may still hold `cur`, which lives in b: keep b until stop. */
    pthread_mutex_unlock(&bs->mu);
    sb_release(&err);
    return b;
}

struct bstream *bstream_start(const char *path, const struct strvec *want, struct strbuf *err)
{
    struct bstream *bs = xcalloc(1, sizeof(*bs));
    pthread_mutex_init(&bs->mu, NULL);
    pthread_cond_init(&bs->cv, NULL);
    bs->path = xstrdup(path);
    bs->want = want;
    sb_init(&bs->prod_err, 0);
    int e = pthread_create(&bs->th, NULL, producer, bs);
    if (e) {
        sb_addf(err, "cannot start a reader thread for %s: %s", path, strerror(e));
        pthread_mutex_destroy(&bs->mu);
        pthread_cond_destroy(&bs->cv);
        sb_release(&bs->prod_err);
        free(bs->path);
        free(bs);
        return NULL;
    }
    return bs;
}

const struct artifact_image *bstream_next(struct bstream *bs)
{
    pthread_mutex_lock(&bs->mu);
    while (!bs->cur && !bs->finished) pthread_cond_wait(&bs->cv, &bs->mu);
    const struct artifact_image *img = bs->cur;
    pthread_mutex_unlock(&bs->mu);
    return img;
}

ssize_t bstream_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    struct bstream *bs = arg;
    ssize_t n = -1;
    pthread_mutex_lock(&bs->mu);
    for (;;) {
        if (bs->chunk && bs->chunk_off < bs->chunk_len) {
            size_t k = bs->chunk_len - bs->chunk_off;
            if (k > len) k = len;
            memcpy(buf, bs->chunk + bs->chunk_off, k);
            bs->chunk_off += k;
            if (bs->chunk_off == bs->chunk_len) pthread_cond_broadcast(&bs->cv);
            n = (ssize_t)k;
            break;
        }
        if (bs->img_end) {
            n = 0;
            break;
        }
        if (bs->finished) {
            sb_add(err, bs->prod_err.buf, bs->prod_err.len);
            if (!bs->prod_err.len) sb_adds(err, "the bundle ended early");
            break;
        }
        pthread_cond_wait(&bs->cv, &bs->mu);
    }
    pthread_mutex_unlock(&bs->mu);
    return n;
}

void bstream_image_done(struct bstream *bs)
{
    pthread_mutex_lock(&bs->mu);
    bs->cur = NULL;
    bs->img_end = 0;
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->mu);
}

int bstream_stop(struct bstream *bs, struct strbuf *err)
{
    pthread_mutex_lock(&bs->mu);
    int failed_first = bs->finished && bs->prod_rc;
    __atomic_store_n(&bs->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->mu);
    void *b = NULL;
    pthread_join(bs->th, &b);
    artifact_bundle_close(b);
    if (failed_first) sb_add(err, bs->prod_err.buf, bs->prod_err.len);
    pthread_mutex_destroy(&bs->mu);
    pthread_cond_destroy(&bs->cv);
    sb_release(&bs->prod_err);
    free(bs->path);
    free(bs);
    return failed_first ? -1 : 0;
}
