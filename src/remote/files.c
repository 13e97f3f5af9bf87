/* remote file transfer: SFTP (or plain files for a local node) through a
 * temporary name, size check, final mode, rename (see remote.h). */
#include "remote-int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/log.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"

#define XFER_CHUNK 65536

/* Where bytes go: an SFTP file or a local descriptor. */
struct sink {
    sftp_file sf;
    int fd;
    sftp_session ses; /* borrowed, with the path: to ask why a write failed */
    const char *path;
};

static void dir_of(const char *path, struct strbuf *sb)
{
    char *copy = xstrdup(path);
    sb_adds(sb, dirname(copy));
    free(copy);
}

static void base_of(const char *path, struct strbuf *sb)
{
    char *copy = xstrdup(path);
    sb_adds(sb, basename(copy));
    free(copy);
}

/* A fresh temporary name beside `path` (.m3fs-tmp.NAME.*), or in /var/tmp
 * when `staged` (.m3fs-upload.NAME.*): NAME lets a later run find and remove
 * what a dropped connection left (cluster prepare does). */
static void temp_name(struct remote_session *s, const char *path, int staged, struct strbuf *sb)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (staged) {
        sb_adds(sb, "/var/tmp/.m3fs-upload.");
    } else {
        dir_of(path, sb);
        sb_adds(sb, "/.m3fs-tmp.");
    }
    base_of(path, sb);
    sb_addf(sb, ".%ld.%lu.%ld", (long)getpid(), ++s->tmp_seq, (long)ts.tv_nsec);
}

static int sink_open(struct remote_session *s, const char *path, struct sink *k,
                     struct strbuf *err)
{
    k->sf = NULL, k->fd = -1, k->ses = NULL, k->path = path;
    if (s->local) {
        k->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (k->fd < 0) sb_addf(err, "cannot create %s: %s", path, strerror(errno));
        return k->fd < 0 ? -1 : 0;
    }
    sftp_session sf = remote_sftp(s, err);
    if (!sf) return -1;
    k->ses = sf;
    k->sf = sftp_open(sf, path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!k->sf)
        sb_addf(err, "cannot create %s: %s (SFTP error %d)", path, ssh_get_error(s->ssh),
                sftp_get_error(sf));
    return k->sf ? 0 : -1;
}

/* Why an SFTP write failed.  OpenSSH's sftp-server reports a full disk as a
 * bare "Failure" (ENOSPC has no SFTP v3 code), so the filesystem is asked
 * (statvfs@openssh.com) whether it has room left for the write. */
static void sftp_write_why(struct sink *k, size_t want, struct strbuf *err)
{
    int code = sftp_get_error(k->ses);
    sftp_statvfs_t v = sftp_statvfs(k->ses, k->path);
    uint64_t avail = v ? v->f_bavail * v->f_frsize : UINT64_MAX;
    if (v) sftp_statvfs_free(v);
    struct strbuf dir = STRBUF_INIT;
    dir_of(k->path, &dir);
    if (avail < (uint64_t)want + XFER_CHUNK)
        sb_addf(err, "write failed: no space left on device (the node's filesystem holding %s "
                "has %llu KiB free)", dir.buf, (unsigned long long)(avail / 1024));
    else
        sb_addf(err, "write failed: SFTP write error (SFTP status %d: %s)", code,
                ssh_get_error(k->ses->session));
    sb_release(&dir);
}

static int sink_write(struct sink *k, const char *buf, size_t len, struct strbuf *err)
{
    while (len) {
        ssize_t n = k->sf ? sftp_write(k->sf, buf, len) : write(k->fd, buf, len);
        if (n < 0 && !k->sf && errno == EINTR) continue;
        if (n <= 0 && k->sf) {
            sftp_write_why(k, len, err);
            return -1;
        }
        if (n <= 0) {
            sb_addf(err, "write failed: %s", n < 0 ? strerror(errno) : "nothing written");
            return -1;
        }
        buf += n, len -= (size_t)n;
    }
    return 0;
}

/* Close the sink and return the size of what was written, or -1. */
static int64_t sink_close(struct remote_session *s, struct sink *k, const char *path)
{
    int64_t size = -1;
    if (k->fd >= 0) {
        struct stat st;
        if (!fstat(k->fd, &st)) size = st.st_size;
        if (close(k->fd)) size = -1;
    }
    if (k->sf) {
        if (sftp_close(k->sf) == SSH_OK) {
            sftp_attributes a = sftp_stat(s->sftp, path);
            if (a) size = (int64_t)a->size, sftp_attributes_free(a);
        }
    }
    k->sf = NULL, k->fd = -1;
    return size;
}

static void temp_remove(struct remote_session *s, const char *path)
{
    if (s->local) unlink(path);
    else if (s->sftp) sftp_unlink(s->sftp, path);
}

/* Stream reader output into the sink; returns bytes copied or -1. */
static int64_t pump(remote_reader_fn reader, void *rarg, uint64_t size, struct sink *k,
                    const struct upload_opts *uo, struct strbuf *err)
{
    char *buf = xmalloc(XFER_CHUNK);
    uint64_t done = 0;
    int64_t rc = -1;
    for (;;) {
        ssize_t n = reader(rarg, buf, XFER_CHUNK, err);
        if (n < 0) break;
        if (n == 0) {
            rc = (int64_t)done;
            break;
        }
        if (size != UINT64_MAX && done + (uint64_t)n > size) {
            sb_addf(err, "source is larger than the expected %llu bytes",
                    (unsigned long long)size);
            break;
        }
        if (uo->cancel && uo->cancel()) {
            sb_adds(err, "interrupted");
            break;
        }
        if (sink_write(k, buf, (size_t)n, err)) break;
        done += (uint64_t)n;
        if (uo->progress) uo->progress(uo->progress_arg, done, size);
    }
    free(buf);
    return rc;
}

/* Give the temporary file its mode (and root ownership when staged) and
 * move it over the destination. */
static int finalize(struct remote_session *s, const char *tmp, const char *dst, unsigned mode,
                    int staged, struct strbuf *err)
{
    if (s->local && !staged) {
        if (chmod(tmp, mode & 07777) || rename(tmp, dst)) {
            sb_addf(err, "cannot move %s to %s: %s", tmp, dst, strerror(errno));
            return -1;
        }
        return 0;
    }
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-put.sh");
    sb_adds(&cmd, "place ");
    sh_quote(&cmd, tmp);
    sb_addf(&cmd, " %04o ", mode & 07777);
    sh_quote(&cmd, dst);
    if (staged) sb_adds(&cmd, " root");
    int rc = remote_run(s, cmd.buf, staged, 120000, NULL, err);
    sb_release(&cmd);
    return rc;
}

static int upload_fail(struct remote_session *s, const char *dst, struct strbuf *msg,
                       struct strbuf *err)
{
    struct strbuf who = STRBUF_INIT;
    remote_describe(s, &who);
    sb_addf(err, "upload to %s:%s failed: %s", who.buf, dst, msg->buf);
    sb_release(&who);
    return -1;
}

int remote_upload_stream(struct remote_session *s, remote_reader_fn reader, void *reader_arg,
                         uint64_t size, const char *remote_path, const struct upload_opts *uo,
                         struct strbuf *err)
{
    int staged = uo->as_root && !s->is_root;
    struct strbuf tmp = STRBUF_INIT, msg = STRBUF_INIT;
    struct sink k;
    int rc = -1;
    if (staged && remote_sudo_prepare(s, err)) goto out_quiet;
    temp_name(s, remote_path, staged, &tmp);
    if (sink_open(s, tmp.buf, &k, &msg)) goto out;
    int64_t sent = pump(reader, reader_arg, size, &k, uo, &msg);
    int64_t have = sink_close(s, &k, tmp.buf);
    s->counts.uploads++;
    if (sent > 0) s->counts.bytes_out += (uint64_t)sent;
    if (sent < 0) goto out_rm;
    if (size != UINT64_MAX && (uint64_t)sent != size) {
        sb_addf(&msg, "source ended after %lld of %llu bytes", (long long)sent,
                (unsigned long long)size);
        goto out_rm;
    }
    if (have != sent) {
        sb_addf(&msg, "size check failed: sent %lld bytes, the node has %lld", (long long)sent,
                (long long)have);
        goto out_rm;
    }
    if (finalize(s, tmp.buf, remote_path, uo->mode, staged, &msg)) goto out_rm;
    log_debug("uploaded %lld bytes to %s", (long long)sent, remote_path);
    rc = 0;
    goto out_quiet;
out_rm:
    temp_remove(s, tmp.buf);
out:
    upload_fail(s, remote_path, &msg, err);
out_quiet:
    sb_release(&tmp);
    sb_release(&msg);
    return rc;
}

struct fd_reader {
    int fd;
    const char *path;
};

static ssize_t read_fd(void *arg, void *buf, size_t len, struct strbuf *err)
{
    struct fd_reader *r = arg;
    for (;;) {
        ssize_t n = read(r->fd, buf, len);
        if (n >= 0) return n;
        if (errno != EINTR) {
            sb_addf(err, "cannot read %s: %s", r->path, strerror(errno));
            return -1;
        }
    }
}

int remote_upload(struct remote_session *s, const char *local_path, const char *remote_path,
                  const struct upload_opts *uo, struct strbuf *err)
{
    struct fd_reader r = { open(local_path, O_RDONLY | O_CLOEXEC), local_path };
    struct stat st;
    if (r.fd < 0 || fstat(r.fd, &st)) {
        sb_addf(err, "cannot upload %s: %s", local_path, strerror(errno));
        if (r.fd >= 0) close(r.fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        sb_addf(err, "cannot upload %s: not a regular file", local_path);
        close(r.fd);
        return -1;
    }
    int rc = remote_upload_stream(s, read_fd, &r, (uint64_t)st.st_size, remote_path, uo, err);
    close(r.fd);
    return rc;
}

/* Where downloaded bytes come from: an SFTP file or a local descriptor. */
struct source {
    sftp_file sf;
    int fd;
    uint64_t size;
    unsigned mode;
};

static int source_open(struct remote_session *s, const char *path, struct source *src,
                       struct strbuf *err)
{
    src->sf = NULL, src->fd = -1;
    if (s->local) {
        struct stat st;
        src->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (src->fd < 0 || fstat(src->fd, &st)) {
            sb_addf(err, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        src->size = (uint64_t)st.st_size, src->mode = st.st_mode & 07777;
        return 0;
    }
    sftp_session sf = remote_sftp(s, err);
    if (!sf) return -1;
    src->sf = sftp_open(sf, path, O_RDONLY, 0);
    sftp_attributes a = src->sf ? sftp_fstat(src->sf) : NULL;
    if (!a) {
        sb_addf(err, "cannot open %s: %s (SFTP error %d)", path, ssh_get_error(s->ssh),
                sftp_get_error(sf));
        return -1;
    }
    src->size = a->size, src->mode = a->permissions & 07777;
    sftp_attributes_free(a);
    return 0;
}

static void source_close(struct source *src)
{
    if (src->sf) sftp_close(src->sf);
    if (src->fd >= 0) close(src->fd);
}

static ssize_t source_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    struct source *src = arg;
    ssize_t n = src->sf ? sftp_read(src->sf, buf, len) : read(src->fd, buf, len);
    if (n < 0) sb_addf(err, "read failed: %s", src->sf ? "SFTP read error" : strerror(errno));
    return n;
}

static int download_into(struct source *src, int fd, const char *tmp,
                         remote_progress_fn progress, void *parg, struct strbuf *err)
{
    struct sink k = { .sf = NULL, .fd = fd };
    struct upload_opts uo = { .progress = progress, .progress_arg = parg };
    int64_t got = pump(source_read, src, src->size, &k, &uo, err);
    if (got < 0) return -1;
    if ((uint64_t)got != src->size) {
        sb_addf(err, "size check failed: got %lld of %llu bytes", (long long)got,
                (unsigned long long)src->size);
        return -1;
    }
    if (fchmod(fd, src->mode) || fsync(fd)) {
        sb_addf(err, "cannot finish %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int remote_download(struct remote_session *s, const char *remote_path, const char *local_path,
                    remote_progress_fn progress, void *progress_arg, struct strbuf *err)
{
    struct source src;
    struct strbuf tmp = STRBUF_INIT, msg = STRBUF_INIT;
    struct remote_session local = { .local = 1 };
    int rc = -1, fd = -1;
    temp_name(&local, local_path, 0, &tmp);
    if (source_open(s, remote_path, &src, &msg)) goto out;
    fd = open(tmp.buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sb_addf(&msg, "cannot create %s: %s", tmp.buf, strerror(errno));
        goto out;
    }
    if (download_into(&src, fd, tmp.buf, progress, progress_arg, &msg) == 0 &&
        rename(tmp.buf, local_path) == 0)
        rc = 0;
    else if (!msg.len)
        sb_addf(&msg, "cannot rename %s to %s: %s", tmp.buf, local_path, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (rc && fd >= 0) unlink(tmp.buf);
    source_close(&src);
    if (rc) {
        struct strbuf who = STRBUF_INIT;
        remote_describe(s, &who);
        sb_addf(err, "download of %s:%s failed: %s", who.buf, remote_path, msg.buf);
        sb_release(&who);
    }
    sb_release(&tmp);
    sb_release(&msg);
    return rc;
}
