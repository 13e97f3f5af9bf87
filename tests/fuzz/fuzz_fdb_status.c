/* fuzz_fdb_status: libFuzzer target for the reader of fdbcli's `status
 * json` (cJSON; untrusted: the output of a program on a node).  Whatever
 * was read is judged and rendered.  Seeds: tests/fuzz/corpus/fdb_status/. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_report r;
    struct strbuf err = STRBUF_INIT;
    st_report_init(&r, fuzz_cfg());
    if (st_parse_fdb_status((const char *)data, size, &r.fdb_status, &err))
        r.fdb.error = sb_detach(&err);
    r.fdb.node = 0;
    fuzz_judge_render(&r);
    st_report_release(&r);
    sb_release(&err);
    return 0;
}
