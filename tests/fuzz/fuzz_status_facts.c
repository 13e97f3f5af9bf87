/* fuzz_status_facts: libFuzzer target for the parser of
 * templates/m3fs-facts.sh's output (untrusted: it comes from the nodes).
 * The input is parsed as node n1's facts and, from its second half, n2's;
 * whatever was read is then judged by every check and rendered.  Seeds:
 * tests/fuzz/corpus/status_facts/. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_report r;
    struct strbuf err = STRBUF_INIT;
    st_report_init(&r, fuzz_cfg());
    const char *text = (const char *)data;
    r.nodes[0].reachable = !st_parse_facts(text, size, &r.nodes[0].facts, &err);
    r.nodes[1].reachable = !st_parse_facts(text + size / 2, size - size / 2, &r.nodes[1].facts,
                                           &err);
    r.nodes[1].offset_s = r.nodes[1].facts.t0 - r.nodes[0].facts.t0;
    fuzz_judge_render(&r);
    st_report_release(&r);
    sb_release(&err);
    return 0;
}
