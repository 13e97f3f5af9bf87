/* plan/put.c: a PUT step's files on one node in two commands: one reads
 * the sha256 and mode of every file, one writes the files that differ (a
 * tar stream on stdin, extracted under temporary names next to each file,
 * then chmod + rename, so a file is replaced whole or not at all).
 * Contents travel on stdin only: never in argv, never in a log. */
#include <archive.h>
#include <archive_entry.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/plan.h"
#include "m3fs/remote.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "plan-int.h"

#define PUT_TMP_PREFIX ".m3fs-put."

void put_check_cmd(const struct step_target *const *t, size_t n, struct strbuf *cmd)
{
    script_call(cmd, "m3fs-put.sh");
    sb_adds(cmd, "check");
    for (size_t i = 0; i < n; i++) {
        sb_addch(cmd, ' ');
        sh_quote(cmd, t[i]->path);
    }
}

int put_find_stale(const struct step_target *const *t, size_t n, const char *out, char *stale)
{
    const char *p = out;
    for (size_t i = 0; i < n; i++) {
        const char *nl = strchr(p, '\n');
        if (!nl) return -1;
        char want[96];
        int w = snprintf(want, sizeof(want), "%s %o", t[i]->sha, t[i]->mode);
        stale[i] = !(nl - p == w && !memcmp(p, want, (size_t)w));
        p = nl + 1;
    }
    return 0;
}

static void tmp_path(const char *path, struct strbuf *out)
{
    char *d = xstrdup(path), *b = xstrdup(path);
    sb_addf(out, "%s/" PUT_TMP_PREFIX "%s", dirname(d), basename(b));
    free(d), free(b);
}

static la_ssize_t to_strbuf(struct archive *a, void *arg, const void *buf, size_t len)
{
    (void)a;
    sb_add(arg, buf, len);
    return (la_ssize_t)len;
}

/* A ustar stream of the stale files under their temporary names (relative
 * to /).  Returns 0, or -1 with a message in err. */
static int make_tar(const struct step_target *const *t, size_t n, const char *stale,
                    struct strbuf *tar, struct strbuf *err)
{
    struct archive *a = archive_write_new();
    int rc = archive_write_set_format_ustar(a) == ARCHIVE_OK &&
             archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK &&
             archive_write_open(a, tar, NULL, to_strbuf, NULL) == ARCHIVE_OK ? 0 : -1;
    struct archive_entry *e = archive_entry_new();
    struct strbuf name = STRBUF_INIT;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!stale[i]) continue;
        sb_reset(&name);
        tmp_path(t[i]->path + 1, &name);
        archive_entry_clear(e);
        archive_entry_set_pathname(e, name.buf);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0600);
        archive_entry_set_size(e, (la_int64_t)t[i]->len);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            archive_write_data(a, t[i]->content, t[i]->len) != (la_ssize_t)t[i]->len)
            rc = -1;
    }
    if (archive_write_close(a) != ARCHIVE_OK) rc = -1;
    if (rc) sb_addf(err, "cannot pack the files: %s", archive_error_string(a));
    sb_release(&name);
    archive_entry_free(e);
    archive_write_free(a);
    return rc;
}

/* mkdir the directories, extract, then chmod and rename each file
 * (templates/m3fs-put.sh write). */
static void write_cmd(const struct step_target *const *t, size_t n, const char *stale,
                      struct strbuf *cmd)
{
    struct strbuf tmp = STRBUF_INIT;
    script_call(cmd, "m3fs-put.sh");
    sb_adds(cmd, "write");
    for (size_t i = 0; i < n; i++) {
        if (!stale[i]) continue;
        char *d = xstrdup(t[i]->path);
        sb_addch(cmd, ' ');
        sh_quote(cmd, dirname(d));
        free(d);
    }
    sb_adds(cmd, " --");
    for (size_t i = 0; i < n; i++) {
        if (!stale[i]) continue;
        sb_reset(&tmp);
        tmp_path(t[i]->path, &tmp);
        sb_addch(cmd, ' ');
        sh_quote(cmd, tmp.buf);
        sb_addf(cmd, " %04o ", t[i]->mode & 07777);
        sh_quote(cmd, t[i]->path);
    }
    sb_release(&tmp);
}

int put_node_files(struct remote_session *rs, const struct step *s, size_t node,
                   size_t *changed, size_t *skipped, struct strbuf *err)
{
    const struct step_target **t = xcalloc(s->n ? s->n : 1, sizeof(*t));
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i].node == node) t[n++] = &s->t[i];
    char *stale = xcalloc(n ? n : 1, 1);
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT, tar = STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (t[i]->path[0] != '/') rc = -1, sb_addf(err, "not an absolute path: %s", t[i]->path);
    if (!rc) put_check_cmd(t, n, &cmd);
    if (!rc) rc = remote_run(rs, cmd.buf, 1, s->timeout_ms, &out, err);
    if (!rc && put_find_stale(t, n, out.buf, stale) < 0) {
        sb_addf(err, "unexpected answer to the file check: %s", out.buf);
        rc = -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += stale[i] != 0;
    if (!rc && k) {
        for (size_t i = 0; i < n; i++)
            if (stale[i]) log_debug("%s: put %s (%zu bytes, mode %04o)", remote_node(rs)->name,
                                    t[i]->path, t[i]->len, t[i]->mode);
        sb_reset(&cmd);
        write_cmd(t, n, stale, &cmd);
        rc = make_tar(t, n, stale, &tar, err);
        if (!rc)
            rc = remote_run_input(rs, cmd.buf, 1, s->timeout_ms, tar.buf, tar.len, NULL, err);
    }
    if (!rc) *changed += k, *skipped += n - k;
    sb_release(&cmd), sb_release(&out), sb_release(&tar);
    free(stale);
    free(t);
    return rc;
}
