/* artifact_download(): published checksums first, then the cache check,
 * then the missing files through the transfer engine (xfer.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "m3fs/log.h"
#include "xfer.h"

static void env_long(const char *name, long *out, long min)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v) return;
    long n = strtol(v, &end, 10);
    if (*end || n < min) {
        log_warn("ignoring %s=%s (want a whole number >= %ld)", name, v, min);
        return;
    }
    *out = n;
}

void artifact_dl_opts_init(struct artifact_dl_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->base_url = ARTIFACT_DEFAULT_BASE_URL;
    o->parallel = 4;
    o->retries = 5;
    o->retry_delay_ms = 1000;
    o->connect_timeout_s = 30;
    o->stall_timeout_s = 60;
    o->log_interval_ms = 10000;
    o->progress = ARTIFACT_PROGRESS_AUTO;
    env_long("M3FS_ARTIFACT_RETRIES", &o->retries, 0);
    env_long("M3FS_ARTIFACT_RETRY_DELAY_MS", &o->retry_delay_ms, 0);
    env_long("M3FS_ARTIFACT_STALL_TIMEOUT", &o->stall_timeout_s, 1);
    env_long("M3FS_ARTIFACT_PROGRESS_INTERVAL_MS", &o->log_interval_ms, 1);
}

static char *file_url(const char *base, const char *file, const char *suffix)
{
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/') blen--;
    char *esc = curl_easy_escape(NULL, file, 0);
    if (!esc) abort();
    char *url = xstrfmt("%.*s/%s%s", (int)blen, base, esc, suffix);
    curl_free(esc);
    return url;
}

/* Fetch every "<file>.sha256sum" and store the digest in im->sha256. */
static int fetch_sums(struct artifact_manifest *m, const struct artifact_dl_opts *o,
                      struct strbuf *err)
{
    struct xfer *xs = xcalloc(m->n, sizeof(*xs));
    struct progress p;
    progress_init(&p, ARTIFACT_PROGRESS_NONE, 0);
    for (size_t i = 0; i < m->n; i++)
        xfer_init_mem(&xs[i], m->img[i].file, file_url(o->base_url, m->img[i].file, ".sha256sum"));
    int rc = xfer_run(xs, m->n, o, &p, err);
    for (size_t i = 0; !rc && i < m->n; i++) {
        if (sha256_parse_sumfile(xs[i].mem.buf, xs[i].mem.len, m->img[i].sha256)) {
            sb_addf(err, "%s does not start with a SHA-256 digest; check --base-url", xs[i].url);
            rc = -1;
        }
    }
    for (size_t i = 0; i < m->n; i++) xfer_release(&xs[i]);
    free(xs);
    return rc;
}

/* Hash the cached file (opened safely); 0, 1 when absent, -1 with err set. */
static int cached_sum(const char *path, char sum[SHA256_HEX_LEN + 1], uint64_t *size,
                      struct strbuf *err)
{
    size_t had = err->len;
    int fd = cache_open(path, O_RDONLY, err);
    if (fd < 0) return err->len == had ? 1 : -1; /* absent: nothing said */
    log_info("checking cached %s", path);
    struct sha256 h;
    sha256_init(&h);
    int64_t n = sha256_fd_update(&h, fd, UINT64_MAX);
    close(fd);
    if (n < 0) {
        sb_addf(err, "cannot read cached %s: %s", path, strerror(errno));
        sha256_free(&h);
        return -1;
    }
    sha256_final_hex(&h, sum);
    *size = (uint64_t)n;
    return 0;
}

/* 1 when the cache already holds the file with the published digest; 0 when
 * it must be downloaded; -1 (err set) when the cache holds something unsafe. */
static int cached_ok(struct artifact_image *im, const char *cache_dir, struct strbuf *err)
{
    char *path = xstrfmt("%s/%s", cache_dir, im->file);
    char sum[SHA256_HEX_LEN + 1];
    uint64_t size;
    int rc = cached_sum(path, sum, &size, err);
    if (rc) {
        free(path);
        return rc > 0 ? 0 : -1;
    }
    if (strcmp(sum, im->sha256)) {
        log_warn("cached %s has sha256 %s but the published one is %s; downloading it again",
                 path, sum, im->sha256);
        unlink(path);
    } else {
        im->size = size;
        rc = 1;
    }
    free(path);
    return rc;
}

static int fetch_files(struct artifact_manifest *m, const unsigned char *need,
                       const struct artifact_dl_opts *o, struct strbuf *err)
{
    struct xfer *xs = xcalloc(m->n, sizeof(*xs));
    size_t *idx = xcalloc(m->n, sizeof(*idx)), n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!need[i]) continue;
        const struct artifact_image *im = &m->img[i];
        xfer_init_file(&xs[n], im->file, file_url(o->base_url, im->file, ""),
                       xstrfmt("%s/%s.part", o->cache_dir, im->file),
                       xstrfmt("%s/%s", o->cache_dir, im->file), im->sha256);
        idx[n++] = i;
    }
    struct progress p;
    progress_init(&p, o->progress, o->log_interval_ms);
    log_info("downloading %zu file(s) from %s (%ld at a time)", n, o->base_url, o->parallel);
    int rc = n ? xfer_run(xs, n, o, &p, err) : 0;
    for (size_t j = 0; j < n; j++) {
        if (!rc) m->img[idx[j]].size = xs[j].have;
        xfer_release(&xs[j]);
    }
    free(idx);
    free(xs);
    return rc;
}

static int download(struct artifact_manifest *m, const struct artifact_dl_opts *o,
                    struct strbuf *err)
{
    if (cache_dir_prepare(o->cache_dir, err) || fetch_sums(m, o, err)) return -1;
    unsigned char *need = xcalloc(m->n + 1, 1);
    size_t missing = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < m->n; i++) {
        int ok = cached_ok(&m->img[i], o->cache_dir, err);
        rc = ok < 0 ? -1 : 0;
        need[i] = !ok;
        missing += need[i];
        if (ok > 0) log_info("%s: cached copy matches the published sha256", m->img[i].file);
    }
    if (!rc && missing) rc = fetch_files(m, need, o, err);
    free(need);
    return rc;
}

/* A password written into the base URL must not reach the log. */
static void mask_url_password(const char *url)
{
    CURLU *u = curl_url();
    char *pw = NULL;
    if (!u) abort();
    if (!curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_PASSWORD, &pw, 0)) {
        log_add_secret(pw);
        curl_free(pw);
    }
    curl_url_cleanup(u);
}

int artifact_download(struct artifact_manifest *m, const struct artifact_dl_opts *o,
                      struct strbuf *err)
{
    mask_url_password(o->base_url);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        sb_adds(err, "cannot initialise libcurl");
        return -1;
    }
    int rc = download(m, o, err);
    curl_global_cleanup();
    return rc;
}
