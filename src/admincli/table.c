/* admincli/table.c: admin_cli's tables, read by column name (admincli.h).
 *
 * admin_cli prints a table with each column as wide as its widest cell plus
 * two spaces, cells left-aligned, the last cell of a row unpadded (upstream
 * src/client/cli/common/Printer.cc); the first row names the columns, and
 * no column name holds a space.  So the header's words give every column's
 * start, and a row's cell is the text from its column's start to the next
 * one's (a cell may hold a space: LastHeartbeatTime "2025-04-10 12:00:00").
 * A failed command prints "Encounter error: <code>(<name>)" and its message
 * instead (src/client/cli/common/Dispatcher.cc). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/admincli.h"

#define MAX_COLS 1024

struct cols {
    size_t start[MAX_COLS];
    size_t n;
};

static void rtrim_push(struct strvec *sv, const char *s, size_t n)
{
    while (n && *s == ' ') s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
    char *c = xstrndup(s, n);
    sv_push_owned(sv, c);
}

static int read_head(const char *line, size_t len, struct admin_table *t, struct cols *c,
                     struct strbuf *err)
{
    for (size_t i = 0; i < len;) {
        if (line[i] == ' ') {
            i++;
            continue;
        }
        if (c->n == MAX_COLS) {
            sb_adds(err, "admin_cli table has too many columns");
            return -1;
        }
        if (c->n && (i < 2 || line[i - 2] != ' ')) {
            sb_adds(err, "admin_cli table header is not column-aligned");
            return -1;
        }
        size_t j = i;
        while (j < len && line[j] != ' ') j++;
        c->start[c->n++] = i;
        rtrim_push(&t->head, line + i, j - i);
        i = j;
    }
    if (!c->n || c->start[0]) {
        sb_adds(err, "no admin_cli table header");
        return -1;
    }
    return 0;
}

/* A cell of a later column starts after two spaces (its left neighbour's
 * padding); an empty cell is all spaces. */
static int read_row(const char *line, size_t len, const struct cols *c, struct strvec *row,
                    struct strbuf *err)
{
    for (size_t k = 0; k < c->n && c->start[k] < len; k++) {
        size_t a = c->start[k], b = k + 1 < c->n && c->start[k + 1] < len ? c->start[k + 1] : len;
        if (k && (line[a - 1] != ' ' || line[a - 2] != ' ')) {
            sb_addf(err, "admin_cli table row is not aligned with its header: '%.80s'", line);
            return -1;
        }
        rtrim_push(row, line + a, b - a);
    }
    return 0;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\r' && s[i] != '\t') return 0;
    return 1;
}

/* "Encounter error: ..." and the message line after it. */
static int admin_error(const char *text, struct strbuf *err)
{
    const char *e = strstr(text, "Encounter error:");
    if (!e || (e != text && e[-1] != '\n')) return 0;
    const char *end = strchr(e, '\n');
    if (end && end[1]) {
        const char *end2 = strchr(end + 1, '\n');
        end = end2 ? end2 : end + 1 + strlen(end + 1);
    }
    size_t n = end ? (size_t)(end - e) : strlen(e);
    sb_addf(err, "admin_cli: %.*s", (int)(n > 400 ? 400 : n), e);
    sb_replace_all(err, "\n", " ");
    return -1;
}

static int table_lines(const char *text, struct admin_table *t, struct cols *c, struct strbuf *err)
{
    int have_head = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!is_blank(p, n)) {
            if (!have_head) {
                if (read_head(p, n, t, c, err)) return -1;
                have_head = 1;
            } else {
                ALLOC_GROW(t->rows, t->n_rows, t->n_rows_alloc_);
                struct strvec *row = &t->rows[t->n_rows++];
                memset(row, 0, sizeof(*row));
                if (read_row(p, n, c, row, err)) return -1;
            }
        }
        p += n + (nl != NULL);
    }
    if (!have_head) sb_adds(err, "admin_cli printed no table");
    return have_head ? 0 : -1;
}

int admin_table_parse(const char *text, struct admin_table *t, struct strbuf *err)
{
    memset(t, 0, sizeof(*t));
    if (admin_error(text, err)) return -1;
    struct cols *c = xcalloc(1, sizeof(*c));
    int rc = table_lines(text, t, c, err);
    free(c);
    return rc;
}

void admin_table_release(struct admin_table *t)
{
    sv_clear(&t->head);
    for (size_t i = 0; i < t->n_rows; i++) sv_clear(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

int admin_table_col(const struct admin_table *t, const char *name, int from)
{
    for (size_t i = from < 0 ? 0 : (size_t)from; i < t->head.n; i++)
        if (!strcmp(t->head.v[i], name)) return (int)i;
    return -1;
}
