/* Writes the bundle tar: manifest.json first, then the image files, streamed
 * from the cache in bounded chunks (libarchive, pax format, optional gzip). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "m3fs/sigstop.h"
#include "m3fs/artifact.h"

#define COPY_CHUNK (256 * 1024)

static struct archive_entry *file_entry(const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) abort();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, time(NULL), 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    return e;
}

static int write_header(struct archive *a, const char *name, uint64_t size, struct strbuf *err)
{
    struct archive_entry *e = file_entry(name, size);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) {
        sb_addf(err, "writing the tar header of %s: %s", name, archive_error_string(a));
        return -1;
    }
    return 0;
}

static int write_all(struct archive *a, const void *buf, size_t len, const char *name,
                     struct strbuf *err)
{
    la_ssize_t w = archive_write_data(a, buf, len);
    if (w < 0 || (size_t)w != len) {
        sb_addf(err, "writing %s into the bundle: %s", name, archive_error_string(a));
        return -1;
    }
    return 0;
}

static int write_manifest(struct archive *a, const struct artifact_manifest *m,
                          struct strbuf *err)
{
    char *json = artifact_manifest_to_json(m);
    size_t len = strlen(json);
    int rc = write_header(a, ARTIFACT_MANIFEST_NAME, len, err);
    if (!rc) rc = write_all(a, json, len, ARTIFACT_MANIFEST_NAME, err);
    free(json);
    return rc;
}

/* Copy one image while hashing it; the digest must still match. */
static int copy_image(struct archive *a, int fd, const struct artifact_image *im,
                      const char *path, char *buf, struct strbuf *err)
{
    struct sha256 h;
    uint64_t done = 0;
    sha256_init(&h);
    while (done < im->size) {
        if (sigstop_caught()) {
            sb_addf(err, "interrupted while writing the bundle; the downloads are kept: run the "
                    "same command again");
            sha256_free(&h);
            return -1;
        }
        size_t want = im->size - done < COPY_CHUNK ? (size_t)(im->size - done) : COPY_CHUNK;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            sb_addf(err, "reading %s: %s", path, r ? strerror(errno) : "file shrank while copying");
            sha256_free(&h);
            return -1;
        }
        sha256_update(&h, buf, (size_t)r);
        if (write_all(a, buf, (size_t)r, im->file, err)) {
            sha256_free(&h);
            return -1;
        }
        done += (uint64_t)r;
    }
    char sum[SHA256_HEX_LEN + 1];
    sha256_final_hex(&h, sum);
    if (strcmp(sum, im->sha256)) {
        sb_addf(err, "%s changed in the cache after it was verified (expected sha256 %s, now %s); "
                "run the command again", path, im->sha256, sum);
        return -1;
    }
    return 0;
}

static int write_image(struct archive *a, const char *cache_dir, const struct artifact_image *im,
                       char *buf, struct strbuf *err)
{
    char *path = xstrfmt("%s/%s", cache_dir, im->file);
    size_t had = err->len;
    int rc = -1, fd = cache_open(path, O_RDONLY, err);
    struct stat st;
    if (fd < 0) {
        if (err->len == had) sb_addf(err, "cannot read %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st)) {
        sb_addf(err, "cannot read %s: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size != im->size) {
        sb_addf(err, "%s has %lld bytes but %llu were verified; run the command again", path,
                (long long)st.st_size, (unsigned long long)im->size);
    } else if (!write_header(a, im->file, im->size, err)) {
        rc = copy_image(a, fd, im, path, buf, err);
    }
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

static int write_archive(int fd, const struct artifact_manifest *m, const char *cache_dir,
                         int gzip, struct strbuf *err)
{
    struct archive *a = archive_write_new();
    if (!a) abort();
    int rc = -1;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        (gzip && archive_write_add_filter_gzip(a) != ARCHIVE_OK) ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        sb_addf(err, "cannot start the bundle: %s", archive_error_string(a));
        archive_write_free(a);
        return -1;
    }
    char *buf = xmalloc(COPY_CHUNK);
    if (!write_manifest(a, m, err)) {
        size_t i = 0;
        while (i < m->n && !write_image(a, cache_dir, &m->img[i], buf, err)) i++;
        rc = i == m->n ? 0 : -1;
    }
    free(buf);
    if (archive_write_close(a) != ARCHIVE_OK && !rc) {
        sb_addf(err, "finishing the bundle: %s", archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    return rc;
}

static int publish(const char *tmp, const char *out, int force, struct strbuf *err)
{
    int r = force ? rename(tmp, out) : renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE);
    if (r) {
        if (errno == EEXIST)
            sb_addf(err, "%s already exists; use --force to overwrite it", out);
        else
            sb_addf(err, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
        return -1;
    }
    return 0;
}

int artifact_bundle_write(const char *out_path, const struct artifact_manifest *m,
                          const char *cache_dir, int gzip, int force, struct strbuf *err)
{
    struct stat st;
    if (!force && !lstat(out_path, &st)) {
        sb_addf(err, "%s already exists; use --force to overwrite it", out_path);
        return -1;
    }
    char *tmp = xstrfmt("%s.tmp-XXXXXX", out_path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        sb_addf(err, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = write_archive(fd, m, cache_dir, gzip, err);
    if (!rc && (fchmod(fd, 0644) || fsync(fd))) {
        sb_addf(err, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (close(fd) && !rc) {
        sb_addf(err, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (!rc) rc = publish(tmp, out_path, force, err);
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}
