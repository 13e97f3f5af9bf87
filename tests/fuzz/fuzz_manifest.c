/* fuzz_manifest: libFuzzer target for the bundle manifest reader
 * (artifact_manifest_parse; untrusted: manifest.json inside a bundle that
 * may come from anywhere).  A manifest that is accepted must hold only safe,
 * unique file names and 64-hex digests, and must read back the same from
 * its own JSON form: that is checked, not only the absence of crashes.
 * The input is also read as the other file `artifact download` takes from
 * the server, a ".sha256sum" (sha256_parse_sumfile).  Seeds:
 * tests/fuzz/corpus/manifest/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/artifact.h"
#include "m3fs/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct artifact_manifest *a, const struct artifact_manifest *b)
{
    if (a->n != b->n) abort();
    for (size_t i = 0; i < a->n; i++) {
        const struct artifact_image *x = &a->img[i], *y = &b->img[i];
        if (strcmp(x->name, y->name) || strcmp(x->repo, y->repo) || strcmp(x->tag, y->tag) ||
            strcmp(x->arch, y->arch) || strcmp(x->file, y->file) || x->size != y->size ||
            strcmp(x->sha256, y->sha256))
            abort();
    }
}

/* An accepted sum is 64 lower-case hex digits. */
static void sumfile(const uint8_t *data, size_t size)
{
    char sum[SHA256_HEX_LEN + 1];
    if (sha256_parse_sumfile((const char *)data, size, sum)) return;
    if (!sha256_hex_valid(sum)) abort();
    for (const char *p = sum; *p; p++)
        if (*p >= 'A' && *p <= 'F') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct artifact_manifest m, back;
    sumfile(data, size);
    struct strbuf err = STRBUF_INIT, human = STRBUF_INIT;
    if (artifact_manifest_parse((const char *)data, size, &m, &err) == 0) {
        for (size_t i = 0; i < m.n; i++) {
            if (!artifact_safe_file_name(m.img[i].file) || !sha256_hex_valid(m.img[i].sha256) ||
                artifact_manifest_find(&m, m.img[i].file) != &m.img[i])
                abort();
            artifact_human_size(&human, (double)m.img[i].size);
        }
        char *json = artifact_manifest_to_json(&m);
        if (artifact_manifest_parse(json, strlen(json), &back, &err)) abort();
        same(&m, &back);
        artifact_manifest_free(&back);
        free(json);
        artifact_manifest_free(&m);
    }
    sb_release(&err);
    sb_release(&human);
    return 0;
}
