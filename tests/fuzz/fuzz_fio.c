/* fuzz_fio: libFuzzer target for the reader of fio's JSON output
 * (bench_parse_fio; untrusted: printed by fio in a container on a node,
 * maybe after warnings), both sides, then added to a row and tabled as
 * `cluster bench` does.  Seeds: tests/fuzz/corpus/fio/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/bench.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    const struct bench_workload *w = bench_profile("quick", &n);
    char *json = malloc(size + 1);
    if (!json || !w) abort();
    memcpy(json, data, size);
    json[size] = 0;
    struct bench_row rows[2] = { { .w = &w[0] }, { .w = &w[1] } };
    struct strbuf err = STRBUF_INIT, table = STRBUF_INIT;
    for (int side = 0; side < 2; side++) {
        double iops = -1, bw = -1, lat = -1;
        if (bench_parse_fio(json, !side, &iops, &bw, &lat, &err) == 0) {
            if (!(iops >= 0 && bw >= 0 && lat >= 0)) abort();
            bench_row_add(&rows[side], iops, bw, lat);
            rows[side].buffered = side;
        } else if (!err.len) {
            abort();
        }
        sb_reset(&err);
    }
    bench_table(rows, 2, &table);
    sb_release(&err);
    sb_release(&table);
    free(json);
    return 0;
}
