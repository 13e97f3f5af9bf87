/* fuzz_chaintable: libFuzzer target for the chain-table reader of `m3fs
 * chain-table verify` (ct_read_data(), what ct_read_files() does with the
 * bytes of generated_chains.csv, create_target_cmd.txt and
 * generated_chain_table.csv, which may be made anywhere).  The input holds
 * the three files in that order, separated by NUL bytes.  A table that
 * reads is verified (with and without expectations) and written back in
 * every upstream format, as `chain-table verify` and create do.  Seeds:
 * tests/fuzz/corpus/chaintable/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/chaintable/ct-int.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const outs[] = { CT_FILE_CHAINS, CT_FILE_TABLE, CT_FILE_CREATE,
                                        CT_FILE_REMOVE };
    const char *part[CT_READ_FILES];
    size_t len[CT_READ_FILES];
    fuzz_split(data, size, CT_READ_FILES, part, len);
    struct ct_table *t = NULL;
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    if (ct_read_data(part, len, &t, &err) == 0) {
        struct ct_expect none = { 0, 0, 0 }, some = { 3, 2, 16 };
        struct ct_stats st;
        long e1 = ct_verify(t, &none, &st, &out);
        long e2 = ct_verify(t, &some, NULL, &out);
        if (e1 < 0 || e2 < e1 || (t->problems.n && !e1)) abort();
        for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
            if (ct_format(t, outs[i], &out)) abort();
    } else if (t || !err.len) {
        abort();
    }
    ct_table_free(t);
    sb_release(&err);
    sb_release(&out);
    return 0;
}
