/* logs/archive.c: the tar.gz being written (libarchive, pax, gzip), one
 * entry at a time under a mutex, into a partial file that is renamed at
 * the end.  SIGINT/SIGTERM remove the partial file, then end the process
 * as the signal would have. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logs-int.h"

static char g_partial[PATH_MAX]; /* read by the signal handler */
static struct sigaction g_old_int, g_old_term;

static void on_signal(int sig)
{
    if (g_partial[0]) unlink(g_partial);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void signals_install(const char *tmp)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    snprintf(g_partial, sizeof(g_partial), "%s", tmp);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
}

static void signals_restore(void)
{
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
    g_partial[0] = 0;
}

static int start_archive(struct logs_archive *ar, struct strbuf *err)
{
    ar->a = archive_write_new();
    if (!ar->a) abort();
    if (archive_write_add_filter_gzip(ar->a) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(ar->a) != ARCHIVE_OK ||
        archive_write_open_fd(ar->a, ar->fd) != ARCHIVE_OK) {
        sb_addf(err, "cannot start the archive %s: %s", ar->tmp, archive_error_string(ar->a));
        return -1;
    }
    return 0;
}

int la_open(struct logs_archive *ar, const char *out, int force, struct strbuf *err)
{
    memset(ar, 0, sizeof(*ar));
    ar->fd = -1;
    sb_init(&ar->err, 0);
    pthread_mutex_init(&ar->mu, NULL);
    struct stat st;
    if (!force && lstat(out, &st) == 0) {
        sb_addf(err, "%s exists; use --force to replace it, or -o to name another file", out);
        return -1;
    }
    ar->out = xstrdup(out);
    ar->force = force;
    ar->top = logs_top_dir(out);
    ar->tmp = xstrfmt("%s.partial-XXXXXX", out);
    if (strlen(ar->tmp) >= sizeof(g_partial)) {
        sb_addf(err, "%s: the path is too long", out);
        return -1;
    }
    ar->fd = mkostemp(ar->tmp, O_CLOEXEC); /* mode 0600 */
    if (ar->fd < 0) {
        sb_addf(err, "cannot create a file beside %s: %s", out, strerror(errno));
        return -1;
    }
    ar->created = 1;
    signals_install(ar->tmp);
    return start_archive(ar, err);
}

static int write_entry(struct logs_archive *ar, const char *name, const char *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) abort();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    int rc = archive_write_header(ar->a, e);
    archive_entry_free(e);
    if (rc == ARCHIVE_OK && len) {
        la_ssize_t w = archive_write_data(ar->a, data, len);
        if (w < 0 || (size_t)w != len) rc = ARCHIVE_FATAL;
    }
    if (rc != ARCHIVE_OK) {
        sb_addf(&ar->err, "writing %s into %s: %s", name, ar->tmp, archive_error_string(ar->a));
        return -1;
    }
    ar->bytes += len;
    return 0;
}

int la_add(struct logs_archive *ar, const char *rel, const char *data, size_t len)
{
    char *name = xstrfmt("%s/%s", ar->top, rel);
    pthread_mutex_lock(&ar->mu);
    int rc = -1;
    if (!ar->broken && ar->a) rc = write_entry(ar, name, data, len);
    if (rc) ar->broken = 1;
    pthread_mutex_unlock(&ar->mu);
    free(name);
    return rc;
}

static int close_archive(struct logs_archive *ar, struct strbuf *err)
{
    int rc = 0;
    if (ar->a && archive_write_close(ar->a) != ARCHIVE_OK && !ar->broken) {
        sb_addf(&ar->err, "finishing %s: %s", ar->tmp, archive_error_string(ar->a));
        ar->broken = 1;
    }
    if (ar->a) archive_write_free(ar->a);
    ar->a = NULL;
    if (ar->fd >= 0) {
        int bad = fsync(ar->fd) && errno != EINVAL;
        int e = errno;
        if (close(ar->fd)) bad = 1, e = errno;
        if (bad && !ar->broken) {
            sb_addf(&ar->err, "writing %s: %s", ar->tmp, strerror(e));
            ar->broken = 1;
        }
    }
    ar->fd = -1;
    if (ar->broken) {
        sb_add(err, ar->err.buf, ar->err.len);
        rc = -1;
    }
    return rc;
}

/* Without force an out that appeared meanwhile is kept (link fails). */
static int put_in_place(struct logs_archive *ar, struct strbuf *err)
{
    if (ar->force) {
        if (!rename(ar->tmp, ar->out)) return 0;
    } else if (!link(ar->tmp, ar->out)) {
        unlink(ar->tmp);
        return 0;
    } else if (errno == EEXIST) {
        sb_addf(err, "%s appeared while collecting; use --force to replace it", ar->out);
        return -1;
    } else if ((errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) &&
               access(ar->out, F_OK) && !rename(ar->tmp, ar->out)) {
        return 0; /* a file system without hard links */
    }
    sb_addf(err, "cannot rename %s to %s: %s", ar->tmp, ar->out, strerror(errno));
    return -1;
}

int la_finish(struct logs_archive *ar, struct strbuf *err)
{
    int rc = close_archive(ar, err);
    if (!rc) rc = put_in_place(ar, err);
    if (!rc) ar->created = 0;
    la_discard(ar);
    return rc;
}

void la_discard(struct logs_archive *ar)
{
    struct strbuf scratch = STRBUF_INIT;
    if (ar->a || ar->fd >= 0) close_archive(ar, &scratch);
    if (ar->created) unlink(ar->tmp);
    if (g_partial[0]) signals_restore();
    sb_release(&scratch);
    free(ar->top), free(ar->tmp), free(ar->out);
    ar->top = ar->tmp = ar->out = NULL;
    sb_release(&ar->err);
    pthread_mutex_destroy(&ar->mu);
}
