/* fuzz_df: libFuzzer target for the reader of `df -Pk DIR` output
 * (prepare_parse_df; untrusted: printed on a node by templates/m3fs-prep.sh
 * df), followed by the free-space rule of `cluster prepare`
 * (prepare_space_check) on what was read.  Seeds: tests/fuzz/corpus/df/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/prepare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = malloc(size + 1);
    if (!out) abort();
    memcpy(out, data, size);
    out[size] = 0;
    struct strbuf mount = STRBUF_INIT, err = STRBUF_INIT;
    uint64_t avail = 0;
    if (prepare_parse_df(out, &avail, &mount) == 0) {
        if (mount.buf[0] != '/' || strchr(mount.buf, '\n')) abort();
        (void)prepare_space_check("n1", "workDir", "/w", mount.buf, avail, 1u << 30, &err);
        (void)prepare_space_check("n1", "Docker's root", "/var/lib/docker", mount.buf, avail,
                                  UINT64_MAX, &err);
    }
    sb_release(&mount);
    sb_release(&err);
    free(out);
    return 0;
}
