/* disks: consent to format NVMe data disks (issue 20 F5).
 *
 * Before `cluster create` changes anything, every storage node runs
 * `m3fs-disks list` (templates/m3fs-disks.sh, read-only), which prints one
 * line per disk it would format:  "format DEV LABEL SIZE HOLDS"  (HOLDS:
 * the signatures wipefs/blkid see and the partitions; "-" for none), and
 * "reuse DEV LABEL" per disk that already carries its label.  The
 * whole list, every node, is shown; the user consents to exactly that list
 * (`--yes-format NODE:DEV,...` equal to it as a set, or `--format-disks`
 * and typing the number of disks).  The consented "NODE:DEV" entries go to
 * each node's `m3fs-disks prepare --consent DEV`, which formats nothing on
 * a node where a disk it would format is not named.
 *
 * Ownership: a struct disk_list owns its entries and their strings; free
 * with disk_list_free(). */
#ifndef M3FS_DISKS_H
#define M3FS_DISKS_H

#include <stddef.h>

#include "m3fs/strbuf.h"

struct disk_fmt {
    char *node;  /* node name */
    char *dev;   /* as the node named it, e.g. /dev/nvme1n1 */
    char *label; /* the XFS label it would get */
    char *size;  /* lsblk's SIZE, "?" when unknown */
    char *holds; /* "" when blank */
    int reuse;   /* a "reuse DEV LABEL" line: already formatted, kept as it is
                  * (size and holds are "") */
};

struct disk_list {
    struct disk_fmt *v;
    size_t n;
};

/* Append the disks in `out` (the list output of node `node`, untrusted) to
 * l.  Returns 0, or -1 with what is wrong in err (l keeps what came
 * before the bad line). */
int disk_list_parse(struct disk_list *l, const char *node, const char *out, struct strbuf *err);
void disk_list_free(struct disk_list *l);

/* The number of disks to be formatted (the reused ones not counted). */
size_t disk_list_count(const struct disk_list *l);
/* One line per disk to be formatted: "  NODE  DEV  SIZE  as LABEL  HOLDS: ..."
 * ("blank"). */
void disk_list_print(const struct disk_list *l, struct strbuf *sb);
/* "NODE:DEV,NODE:DEV" of the disks to be formatted, in list order: the
 * value --yes-format takes. */
void disk_list_consent_value(const struct disk_list *l, struct strbuf *sb);
/* The disks to be formatted as "NODE:DEV" entries (appended to sv). */
void disk_list_entries(const struct disk_list *l, struct strvec *sv);

/* 0 when `given` ("NODE:DEV" entries, any order, duplicates allowed) names
 * exactly the disks of l to be formatted, but for entries naming a disk l
 * reuses (so the same command resumes after some nodes formatted theirs);
 * else -1 with the entries missing from it and those it has in excess in
 * why. */
int disk_consent_check(const struct disk_list *l, const struct strvec *given,
                       struct strbuf *why);

#endif
