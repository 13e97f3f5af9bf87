/* fuzz_scale: libFuzzer target for what add-storage-nodes /
 * remove-storage-nodes read (src/scale/): the admin_cli listings of
 * templates/m3fs-scale.sh observe (list-targets, list-targets --orphan,
 * list-chains; untrusted: the output of a program on a node), the chain
 * table built from them, the next sub-step of a move judged on them, and
 * the migration plan text of the state file (edited by hand, possibly),
 * and the df output of templates/m3fs-scale.sh space (sc_parse_space) with
 * the room judged on what was read (sc_room_judge).
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

/* The df of `m3fs-scale.sh space` for 3 disks, each judged with a move
 * of the filesystem's free bytes and one byte more (plus a sum). */
static void room(const char *text)
{
    struct sc_space sp[3];
    struct strbuf err = STRBUF_INIT, rep = STRBUF_INIT;
    for (int nvme = 0; nvme < 2; nvme++) {
        if (sc_parse_space(text, 3, nvme ? "/w/storage/3fsdata" : NULL, sp, &err)) continue;
        struct sc_need need[6];
        for (uint32_t d = 0; d < 3; d++) {
            if (sp[d].avail > sp[d].size || sp[d].mount[0] != '/') abort();
            sp[d].node = 10001, sp[d].name = "n1";
            need[2 * d] = (struct sc_need){ 10001, d, sp[d].avail };
            need[2 * d + 1] = (struct sc_need){ 10001, d, 1 };
        }
        int rc = sc_room_judge(need, 6, sp, 3, "/w/storage/3fsdata", &rep, &err);
        if (!rc && sp[0].known) abort(); /* all its free space and a byte more: no room */
    }
    sb_release(&err);
    sb_release(&rep);
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
    room(text);
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
