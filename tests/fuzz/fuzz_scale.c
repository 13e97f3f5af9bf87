/* fuzz_scale: libFuzzer target for what add-storage-nodes /
 * remove-storage-nodes read (src/scale/): the admin_cli listings of
 * templates/m3fs-scale.sh observe (list-targets, list-targets --orphan,
 * list-chains; untrusted: the output of a program on a node), the chain
 * table built from them, the next sub-step of a move judged on them, and
 * the migration plan text of the state file (edited by hand, possibly),
 * and the df output of templates/m3fs-scale.sh space (sc_parse_space) with
 * the room judged on what was read (sc_room_judge), and a node's
 * <workDir>/storage/3fsdata.formatted (sc_parse_formatted, the raw bytes).
 * The input is NUL-terminated and read as each of these.
 * Seeds: tests/fuzz/corpus/scale/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The raw bytes as <base>.formatted: every line read or counted left out,
 * and each disk read a whole line "DEV LABEL" of the input. */
static void formatted(const char *data, size_t size)
{
    struct sc_fmt_list f;
    sc_parse_formatted(data, size, &f);
    size_t lines = size && data[size - 1] != '\n';
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    if (f.n + f.skipped != lines) abort();
    for (size_t i = 0; i < f.n; i++) {
        const struct sc_fmt_disk *d = &f.v[i];
        size_t dl = strnlen(d->dev, sizeof(d->dev)), ll = strnlen(d->label, sizeof(d->label));
        if (dl >= sizeof(d->dev) || ll > 12 || ll < 3 || strncmp(d->dev, "/dev/", 5) ||
            strpbrk(d->dev, " \t\r\n") || strpbrk(d->label, " \t\r\n"))
            abort();
        char line[sizeof(d->dev) + sizeof(d->label) + 2];
        int n = snprintf(line, sizeof(line), "%s %s\n", d->dev, d->label);
        if (!memmem(data, size, line, (size_t)n)) abort();
    }
    sc_fmt_list_release(&f);
    if (f.v || f.n) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    formatted((const char *)data, size);
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
