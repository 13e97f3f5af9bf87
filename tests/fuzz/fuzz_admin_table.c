/* fuzz_admin_table: libFuzzer target for the admin_cli table reader
 * (src/admincli/, admincli.h) and status's parsers on top of it
 * (list-nodes, list-targets, list-chains, read by column name; untrusted:
 * the output of a program on a node).  The input is NUL-terminated, cut
 * into the three outputs of one admin_cli run, and each part (the whole
 * input when its part is empty) is read into one report, which is then
 * judged and rendered.  Seeds: tests/fuzz/corpus/admin_table/. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_status.h"
#include "m3fs/admincli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    struct st_report r;
    struct strbuf err = STRBUF_INIT;
    struct admin_table t;
    st_report_init(&r, fuzz_cfg());
    if (!admin_table_parse(text, &t, &err)) (void)admin_table_col(&t, "Target", 1);
    admin_table_release(&t);
    long tz = 0;
    (void)st_parse_tz(text, &tz);
    struct strbuf parts[ST_LISTS];
    for (int k = 0; k < ST_LISTS; k++) sb_init(&parts[k], 0);
    st_split_admin_lists(text, parts);
    (void)st_parse_list_nodes(parts[ST_LIST_NODES].len ? parts[ST_LIST_NODES].buf : text,
                              1700000000, tz, &r.m, &err);
    (void)st_parse_list_targets(parts[ST_LIST_TARGETS].len ? parts[ST_LIST_TARGETS].buf : text,
                                &r.m, &err);
    (void)st_parse_list_chains(parts[ST_LIST_CHAINS].len ? parts[ST_LIST_CHAINS].buf : text,
                               &r.m, &err);
    for (int k = 0; k < ST_LISTS; k++) sb_release(&parts[k]);
    r.mgmtd.node = 0;
    fuzz_judge_render(&r);
    st_report_release(&r);
    sb_release(&err);
    free(text);
    return 0;
}
