/* Streaming bundle reader: manifest first, then each image verified while
 * its bytes flow through the caller's callbacks. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/artifact.h"

#define READ_CHUNK (256 * 1024)
#define MANIFEST_MAX (1024 * 1024)

struct artifact_bundle {
    struct archive *a;
    char *path;
    struct artifact_manifest m;
    int used;
};

static const char *entry_name(struct archive_entry *e)
{
    const char *n = archive_entry_pathname(e);
    if (!n) return "";
    while (n[0] == '.' && n[1] == '/') n += 2;
    return n;
}

static int read_manifest(struct artifact_bundle *b, struct strbuf *err)
{
    struct archive_entry *e;
    int r = archive_read_next_header(b->a, &e);
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        sb_addf(err, "%s is not a readable tar bundle: %s", b->path,
                r == ARCHIVE_EOF ? "it is empty" : archive_error_string(b->a));
        return -1;
    }
    if (strcmp(entry_name(e), ARTIFACT_MANIFEST_NAME) || archive_entry_filetype(e) != AE_IFREG) {
        sb_addf(err, "%s does not start with %s (first entry: '%s'); bundles from the Go m3fs "
                "have no manifest: create it again with 'm3fs artifact download'",
                b->path, ARTIFACT_MANIFEST_NAME, entry_name(e));
        return -1;
    }
    if (archive_entry_size(e) > MANIFEST_MAX) {
        sb_addf(err, "%s: %s is larger than %d bytes", b->path, ARTIFACT_MANIFEST_NAME,
                MANIFEST_MAX);
        return -1;
    }
    struct strbuf json = STRBUF_INIT;
    sb_grow(&json, (size_t)archive_entry_size(e) + 1);
    la_int64_t want = archive_entry_size(e), n = 0;
    la_ssize_t got = 1;
    while (n < want && (got = archive_read_data(b->a, json.buf + n, (size_t)(want - n))) > 0)
        n += got;
    int rc = -1;
    if (got < 0 || n != want) {
        sb_addf(err, "%s: cannot read %s: %s", b->path, ARTIFACT_MANIFEST_NAME,
                got < 0 ? archive_error_string(b->a) : "truncated");
    } else {
        struct strbuf perr = STRBUF_INIT;
        sb_setlen(&json, (size_t)n);
        rc = artifact_manifest_parse(json.buf, json.len, &b->m, &perr);
        if (rc) sb_addf(err, "%s: %s: %s", b->path, ARTIFACT_MANIFEST_NAME, perr.buf);
        sb_release(&perr);
    }
    sb_release(&json);
    return rc;
}

/* A reader of what m3fs writes only (tar, optionally gzip, read with zlib):
 * "all" would let a file that looks like lrzip, lzop, grzip, ... run an
 * external program found on PATH (issue 20). */
static struct artifact_bundle *bundle_new(const char *path)
{
    struct artifact_bundle *b = xcalloc(1, sizeof(*b));
    b->path = xstrdup(path);
    b->a = archive_read_new();
    if (!b->a) abort();
    archive_read_support_filter_gzip(b->a);
    archive_read_support_format_tar(b->a);
    return b;
}

/* After archive_read_open_*() returned r: the manifest, or NULL (b freed). */
static struct artifact_bundle *bundle_start(struct artifact_bundle *b, int r, struct strbuf *err)
{
    if (r != ARCHIVE_OK) {
        sb_addf(err, "cannot open bundle %s: %s (expected a tar or tar.gz written by "
                "'m3fs artifact download')", b->path, archive_error_string(b->a));
        artifact_bundle_close(b);
        return NULL;
    }
    if (read_manifest(b, err)) {
        artifact_bundle_close(b);
        return NULL;
    }
    return b;
}

struct artifact_bundle *artifact_bundle_open(const char *path, struct strbuf *err)
{
    struct artifact_bundle *b = bundle_new(path);
    return bundle_start(b, archive_read_open_filename(b->a, path, READ_CHUNK), err);
}

struct artifact_bundle *artifact_bundle_open_memory(const void *buf, size_t len,
                                                    const char *name, struct strbuf *err)
{
    struct artifact_bundle *b = bundle_new(name);
    return bundle_start(b, archive_read_open_memory(b->a, buf, len), err);
}

const struct artifact_manifest *artifact_bundle_manifest(const struct artifact_bundle *b)
{
    return &b->m;
}

void artifact_bundle_close(struct artifact_bundle *b)
{
    if (!b) return;
    if (b->a) archive_read_free(b->a);
    artifact_manifest_free(&b->m);
    free(b->path);
    free(b);
}

/* Stream the current entry's bytes; check size and digest. */
static int stream_image(struct artifact_bundle *b, const struct artifact_image *im,
                        const struct artifact_entry_cb *cb, void *ud, char *buf,
                        struct strbuf *err)
{
    struct sha256 h;
    uint64_t total = 0;
    la_ssize_t n;
    sha256_init(&h);
    while ((n = archive_read_data(b->a, buf, READ_CHUNK)) > 0) {
        sha256_update(&h, buf, (size_t)n);
        total += (uint64_t)n;
        if (cb && cb->data && cb->data(im, buf, (size_t)n, ud, err)) break;
    }
    if (n != 0) {
        if (n < 0) sb_addf(err, "%s: reading %s: %s", b->path, im->file, archive_error_string(b->a));
        sha256_free(&h);
        return -1;
    }
    char sum[SHA256_HEX_LEN + 1];
    sha256_final_hex(&h, sum);
    if (total != im->size) {
        sb_addf(err, "%s: %s has %llu bytes but the manifest says %llu; the bundle is damaged, "
                "create or copy it again", b->path, im->file, (unsigned long long)total,
                (unsigned long long)im->size);
        return -1;
    }
    if (strcmp(sum, im->sha256)) {
        sb_addf(err, "%s: %s sha256 mismatch: manifest %s, content %s; the bundle is damaged, "
                "create or copy it again", b->path, im->file, im->sha256, sum);
        return -1;
    }
    return cb && cb->end ? cb->end(im, ud, err) : 0;
}

static const struct artifact_image *match_entry(struct artifact_bundle *b, struct archive_entry *e,
                                                unsigned char *seen, struct strbuf *err)
{
    const char *name = entry_name(e);
    const struct artifact_image *im = artifact_manifest_find(&b->m, name);
    if (!im) {
        sb_addf(err, "%s: entry '%s' is not listed in %s", b->path, name, ARTIFACT_MANIFEST_NAME);
        return NULL;
    }
    size_t idx = (size_t)(im - b->m.img);
    if (seen[idx] || archive_entry_filetype(e) != AE_IFREG) {
        sb_addf(err, "%s: entry '%s' is %s", b->path, name,
                seen[idx] ? "repeated" : "not a regular file");
        return NULL;
    }
    seen[idx] = 1;
    return im;
}

static int check_all_seen(struct artifact_bundle *b, const unsigned char *seen, struct strbuf *err)
{
    for (size_t i = 0; i < b->m.n; i++)
        if (!seen[i]) {
            sb_addf(err, "%s: %s lists %s but the bundle does not contain it", b->path,
                    ARTIFACT_MANIFEST_NAME, b->m.img[i].file);
            return -1;
        }
    return 0;
}

static int each_entry(struct artifact_bundle *b, const struct artifact_entry_cb *cb, void *ud,
                      unsigned char *seen, char *buf, struct strbuf *err)
{
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(b->a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const struct artifact_image *im = match_entry(b, e, seen, err);
        if (!im) return -1;
        if (cb && cb->begin && cb->begin(im, ud, err)) return -1;
        if (stream_image(b, im, cb, ud, buf, err)) return -1;
    }
    if (r != ARCHIVE_EOF) {
        sb_addf(err, "%s: %s", b->path, archive_error_string(b->a));
        return -1;
    }
    return check_all_seen(b, seen, err);
}

int artifact_bundle_each(struct artifact_bundle *b, const struct artifact_entry_cb *cb, void *ud,
                         struct strbuf *err)
{
    if (b->used) {
        sb_addf(err, "%s: the bundle was already read; open it again", b->path);
        return -1;
    }
    b->used = 1;
    unsigned char *seen = xcalloc(b->m.n + 1, 1);
    char *buf = xmalloc(READ_CHUNK);
    int rc = each_entry(b, cb, ud, seen, buf, err);
    free(buf);
    free(seen);
    return rc;
}
