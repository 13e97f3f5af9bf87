/* fuzz_bundle: libFuzzer target for the bundle reader (a tar or tar.gz
 * that may come from anywhere), through the same libarchive path as
 * `cluster prepare -a` and `artifact verify`: artifact_bundle_open_memory()
 * reads the manifest, artifact_bundle_each() streams and verifies every
 * image.  Seeds: tests/fuzz/corpus/bundle/ (how they were made:
 * tests/fuzz/corpus/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    const struct artifact_image *cur;
    uint64_t bytes;
    size_t ended;
};

static int on_begin(const struct artifact_image *im, void *ud, struct strbuf *err)
{
    struct seen *s = ud;
    (void)err;
    s->cur = im;
    s->bytes = 0;
    return 0;
}

static int on_data(const struct artifact_image *im, const void *buf, size_t len, void *ud,
                   struct strbuf *err)
{
    struct seen *s = ud;
    (void)buf;
    (void)err;
    if (im != s->cur) abort();
    s->bytes += len;
    return 0;
}

/* An image is only ever declared good with exactly its manifest size. */
static int on_end(const struct artifact_image *im, void *ud, struct strbuf *err)
{
    struct seen *s = ud;
    (void)err;
    if (im != s->cur || s->bytes != im->size) abort();
    s->ended++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct artifact_entry_cb cb = { on_begin, on_data, on_end };
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open_memory(data, size, "fuzz.tar", &err);
    if (b) {
        struct seen s = { 0 };
        int rc = artifact_bundle_each(b, &cb, &s, &err);
        if (rc == 0 && s.ended != artifact_bundle_manifest(b)->n) abort();
        if (artifact_bundle_each(b, NULL, NULL, &err) == 0) abort(); /* read once only */
        artifact_bundle_close(b);
    }
    sb_release(&err);
    return 0;
}
