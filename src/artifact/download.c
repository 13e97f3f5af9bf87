/* artifact_download(): published checksums first, then the cache check,
 * then the missing files through the transfer engine (xfer.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    o->cache_dir = ARTIFACT_DEFAULT_CACHE_DIR;
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

static int mkdir_p(const char *dir, struct strbuf *err)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) {
            sb_addf(err, "cannot create cache directory %s: %s", p, strerror(errno));
            rc = -1;
            break;
        }
        if (!(*s = c)) break;
    }
    struct stat st;
    if (!rc && (stat(dir, &st) || !S_ISDIR(st.st_mode))) {
        sb_addf(err, "cache directory %s is not a directory", dir);
        rc = -1;
    }
    free(p);
    return rc;
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

/* 1 when the cache already holds the file with the published digest. */
static int cached_ok(struct artifact_image *im, const char *cache_dir)
{
    char *path = xstrfmt("%s/%s", cache_dir, im->file);
    char sum[SHA256_HEX_LEN + 1];
    uint64_t size;
    int ok = 0;
    if (access(path, F_OK)) {
        free(path);
        return 0;
    }
    log_info("checking cached %s", path);
    if (sha256_file_hex(path, sum, &size)) {
        log_warn("cannot read cached %s (%s); downloading it again", path, strerror(errno));
    } else if (strcmp(sum, im->sha256)) {
        log_warn("cached %s has sha256 %s but the published one is %s; downloading it again",
                 path, sum, im->sha256);
    } else {
        im->size = size;
        ok = 1;
    }
    if (!ok) unlink(path);
    free(path);
    return ok;
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
    if (mkdir_p(o->cache_dir, err) || fetch_sums(m, o, err)) return -1;
    unsigned char *need = xcalloc(m->n + 1, 1);
    size_t missing = 0;
    for (size_t i = 0; i < m->n; i++) {
        need[i] = !cached_ok(&m->img[i], o->cache_dir);
        missing += need[i];
        if (!need[i]) log_info("%s: cached copy matches the published sha256", m->img[i].file);
    }
    int rc = missing ? fetch_files(m, need, o, err) : 0;
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
