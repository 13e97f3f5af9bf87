/* fuzz_scale: libFuzzer target for what add-storage-nodes /
 * remove-storage-nodes read (src/scale/): the admin_cli listings of
 * templates/m3fs-scale.sh observe (list-targets, list-targets --orphan,
 * list-chains; untrusted: the output of a program on a node), the chain
 * table built from them, the next sub-step of a move judged on them, and
 * the migration plan text of the state file (edited by hand, possibly).
 * The input is NUL-terminated and read as each of these.
 * Seeds: tests/fuzz/corpus/scale/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "m3fs/scale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(const struct sc_view *v)
{
    struct ct_table *t = NULL;
    struct strbuf err = STRBUF_INIT;
    if (!sc_view_table(v, &t, &err)) ct_table_free(t);
    for (size_t i = 0; i < v->n && i < 4; i++) {
        struct ct_move mv = { v->t[i].chain, 0, 0, 1, 2, v->t[i].id, v->t[(i + 1) % v->n].id };
        (void)sc_next_sub(&mv, v, 0, &err);
        (void)sc_next_sub(&mv, v, 1, &err);
    }
    sb_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    struct strbuf err = STRBUF_INIT;
    struct sc_view v = { 0 };
    if (!sc_parse_observe(text, &v, &err)) judge(&v);
    sc_view_release(&v);
    if (!sc_parse_targets(text, &v, &err)) judge(&v);
    sc_view_release(&v);
    if (!sc_parse_chains(text, &v, &err)) judge(&v);
    sc_view_release(&v);
    struct sc_plan_info pi;
    struct ct_migration *m = NULL;
    if (!sc_plan_decode(text, &pi, &m, &err)) {
        struct strbuf again = STRBUF_INIT;
        sc_plan_encode(&pi, m, &again);
        sb_release(&again);
        ct_migration_free(m);
    }
    sb_release(&err);
    free(text);
    return 0;
}
