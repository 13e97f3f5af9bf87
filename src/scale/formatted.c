/* scale/formatted.c: the list of disks m3fs formatted on a storage node
 * (<workDir>/storage/3fsdata.formatted, written by templates/m3fs-disks.sh
 * prepare), read for the consent of remove-storage-nodes --clear-disks
 * (include/m3fs/scale.h sc_parse_formatted, docs/scale.md "Clearing the
 * drained nodes' disks").  The text comes from a node: untrusted, every
 * byte checked; pure, nothing remote. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"

#define DEV_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:+"
#define PREFIX_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"

/* How many of p[0..len) are in set (a NUL is in none). */
static size_t span(const char *p, size_t len, const char *set)
{
    size_t i = 0;
    while (i < len && p[i] && strchr(set, p[i])) i++;
    return i;
}

/* DEV as m3fs-disks.sh writes it: "/dev/NAME" (the lsblk name of an NVMe
 * disk, or a node's nvmeDisks entry, config/validate.c is_dev_path). */
static int dev_ok(const char *p, size_t len)
{
    return len > 5 && len < sizeof(((struct sc_fmt_disk *)0)->dev) &&
           !memcmp(p, "/dev/", 5) && span(p, len, DEV_CHARS) == len;
}

/* LABEL as m3fs-disks.sh writes it: <prefix>-<i>, prefix 1 to 8 of
 * [A-Za-z0-9-] (its --label-prefix check), i a data index below 1000. */
static int label_ok(const char *p, size_t len)
{
    size_t d = 0;
    while (d < len && p[len - 1 - d] >= '0' && p[len - 1 - d] <= '9') d++;
    if (d < 1 || d > 3 || len < d + 2 || p[len - 1 - d] != '-') return 0;
    size_t prefix = len - d - 1;
    return prefix <= 8 && span(p, prefix, PREFIX_CHARS) == prefix;
}

/* One line p[0..len) (without its '\n'): 0 and appended to out, or -1. */
static int parse_line(const char *p, size_t len, struct sc_fmt_list *out)
{
    const char *sp = memchr(p, ' ', len);
    if (!sp) return -1;
    size_t dl = (size_t)(sp - p), ll = len - dl - 1;
    if (!dev_ok(p, dl) || !label_ok(sp + 1, ll)) return -1;
    ALLOC_GROW(out->v, out->n, out->alloc);
    struct sc_fmt_disk *d = &out->v[out->n++];
    memcpy(d->dev, p, dl);
    d->dev[dl] = '\0';
    memcpy(d->label, sp + 1, ll);
    d->label[ll] = '\0';
    return 0;
}

void sc_parse_formatted(const char *text, size_t len, struct sc_fmt_list *out)
{
    memset(out, 0, sizeof(*out));
    if (!text) return;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || parse_line(p, (size_t)(nl - p), out)) out->skipped++;
        p = nl ? nl + 1 : end;
    }
}

void sc_fmt_list_release(struct sc_fmt_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}
