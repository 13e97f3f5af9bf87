/* admincli: admin_cli's tables, read by column name (src/admincli/).
 * Both `cluster status` (src/status/) and the storage-node changes
 * (src/scale/) read what 3FS's admin_cli prints; this reader is theirs in
 * common, so neither includes the other.  Uses core only.
 *
 * Ownership: admin_table_parse() fills a caller-owned struct admin_table
 * (every string and row inside it owned by the table), released with
 * admin_table_release().  The text is untrusted (remote output): no
 * length or count in it is trusted. */
#ifndef M3FS_ADMINCLI_H
#define M3FS_ADMINCLI_H

#include <stddef.h>

#include "m3fs/strbuf.h"

/* A table as admin_cli prints it (upstream src/client/cli/common/Printer.cc):
 * each column as wide as its widest cell plus two spaces, left-aligned; the
 * first line names the columns.  Cells are cut at the header's column
 * starts, so a cell may hold a space ("2025-04-10 12:00:00"). */
struct admin_table {
    struct strvec head;
    struct strvec *rows; /* rows[i].n <= head.n */
    size_t n_rows, n_rows_alloc_;
};
/* 0, or -1 with why in err: admin_cli's "Encounter error: ..." and its
 * message (src/client/cli/common/Dispatcher.cc), no table, or a table not
 * aligned with its header.  t is filled either way: release it. */
int admin_table_parse(const char *text, struct admin_table *t, struct strbuf *err);
void admin_table_release(struct admin_table *t);
/* Index of the first column called name at or after `from`, or -1. */
int admin_table_col(const struct admin_table *t, const char *name, int from);

#endif
