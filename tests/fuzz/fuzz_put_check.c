/* fuzz_put_check: libFuzzer target for the answer of templates/m3fs-put.sh
 * check (one "sha256 mode" line per file, "- -" for a missing one; read by
 * put_find_stale before a PUT step writes files; untrusted: printed on a
 * node), for 0 to 3 files.  Seeds: tests/fuzz/corpus/put_check/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/plan/plan-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFILES 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct step_target t[NFILES];
    static const struct step_target *tp[NFILES];
    if (!tp[0]) {
        static const char *const sums[NFILES] = {
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
            "0000000000000000000000000000000000000000000000000000000000000000" };
        static const unsigned modes[NFILES] = { 0644, 0755, 0600 };
        for (size_t i = 0; i < NFILES; i++) {
            memcpy(t[i].sha, sums[i], sizeof(t[i].sha));
            t[i].mode = modes[i];
            tp[i] = &t[i];
        }
    }
    char *out = xstrndup((const char *)data, size);
    char stale[NFILES];
    for (size_t n = 0; n <= NFILES; n++) {
        memset(stale, 7, sizeof(stale));
        if (put_find_stale(tp, n, out, stale) == 0)
            for (size_t i = 0; i < n; i++)
                if (stale[i] != 0 && stale[i] != 1) abort();
    }
    free(out);
    return 0;
}
