/* libcurl multi engine: parallel transfers, HTTP-range resume, retries with
 * exponential backoff for transient failures, 4xx fails at once. */
#include "xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "m3fs/sigstop.h"
#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/version.h"

static void xfer_common_init(struct xfer *x, const char *label, char *url)
{
    memset(x, 0, sizeof(*x));
    x->label = label;
    x->url = url;
    x->fd = -1;
    x->total = -1;
    sb_init(&x->mem, 0);
}

void xfer_init_mem(struct xfer *x, const char *label, char *url)
{
    xfer_common_init(x, label, url);
}

void xfer_init_file(struct xfer *x, const char *label, char *url, char *part_path,
                    char *final_path, const char *want_sha)
{
    xfer_common_init(x, label, url);
    x->to_file = 1;
    x->part_path = part_path;
    x->final_path = final_path;
    x->want_sha = want_sha;
}

void xfer_release(struct xfer *x)
{
    if (x->easy) curl_easy_cleanup(x->easy);
    if (x->fd >= 0) close(x->fd);
    if (x->h.md_ctx) sha256_free(&x->h);
    sb_release(&x->mem);
    free(x->url);
    free(x->part_path);
    free(x->final_path);
    free(x->note);
    memset(x, 0, sizeof(*x));
    x->fd = -1;
}

static void set_note(struct xfer *x, char *note)
{
    free(x->note);
    x->note = note;
}

/* ---- .part file handling ---- */

/* Open (and lock) the .part file and hash what it already holds. */
static int part_open(struct xfer *x, struct strbuf *err)
{
    x->fd = cache_open(x->part_path, O_RDWR | O_CREAT, err);
    if (x->fd < 0) return -1;
    if (flock(x->fd, LOCK_EX | LOCK_NB)) {
        sb_addf(err, "%s is locked: another m3fs is downloading into this cache directory; "
                "wait for it or use another --tmp-dir", x->part_path);
        return -1;
    }
    sha256_init(&x->h);
    int64_t n = sha256_fd_update(&x->h, x->fd, UINT64_MAX);
    if (n < 0) {
        sb_addf(err, "cannot read %s: %s", x->part_path, strerror(errno));
        return -1;
    }
    x->have = (uint64_t)n;
    return 0;
}

static int part_truncate(struct xfer *x, struct strbuf *err)
{
    if (ftruncate(x->fd, 0) || lseek(x->fd, 0, SEEK_SET) < 0) {
        sb_addf(err, "cannot truncate %s: %s", x->part_path, strerror(errno));
        return -1;
    }
    sha256_reset(&x->h);
    x->have = 0;
    return 0;
}

static size_t write_file_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb, off = 0;
    while (off < len) {
        ssize_t w = write(x->fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            x->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    sha256_update(&x->h, data, len);
    x->have += len;
    return len;
}

static size_t write_mem_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nmemb;
    if (x->mem.len + len > XFER_MEM_MAX) {
        x->write_errno = EFBIG;
        return 0;
    }
    sb_add(&x->mem, data, len);
    return len;
}

/* ---- starting an attempt ---- */

const char *artifact_url_protocols(const char *url)
{
    if (!strncasecmp(url, "https://", 8)) return "https";
    if (!strncasecmp(url, "file://", 7)) return "file";
    return "http,https";
}

static void easy_setup(struct xfer *x, const struct artifact_dl_opts *o)
{
    CURL *e = x->easy;
    char *ua = xstrfmt("m3fs/%s", m3fs_version());
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_USERAGENT, ua); /* libcurl copies it */
    free(ua);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL); /* credentials off argv */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, artifact_url_protocols(x->url));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, artifact_url_protocols(x->url));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* bytes/s, averaged by libcurl over ~5 s */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, x->to_file ? write_file_cb : write_mem_cb);
    if (x->to_file) curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->have);
}

static int xfer_start(CURLM *multi, struct xfer *x, const struct artifact_dl_opts *o,
                      struct progress *p, struct strbuf *err)
{
    if (x->to_file && x->fd < 0 && part_open(x, err)) return -1;
    sb_reset(&x->mem);
    x->easy = curl_easy_init();
    if (!x->easy) {
        sb_addf(err, "cannot start a transfer for %s (libcurl out of memory)", x->url);
        return -1;
    }
    x->errbuf[0] = '\0';
    x->write_errno = 0;
    easy_setup(x, o);
    x->tries++;
    x->attempt_bytes = x->have;
    x->attempt_ms = mono_ms();
    x->state = XS_RUN;
    set_note(x, NULL);
    log_debug("GET %s%s", x->url, x->have ? " (resuming)" : "");
    if (x->have) {
        progress_clear(p);
        log_info("%s: resuming at byte %" PRIu64, x->url, x->have);
    }
    if (curl_multi_add_handle(multi, x->easy) != CURLM_OK) {
        sb_addf(err, "cannot start a transfer for %s", x->url);
        return -1;
    }
    return 0;
}

/* ---- finishing an attempt ---- */

static int transient(CURLcode rc, long http)
{
    switch (rc) {
    case CURLE_HTTP_RETURNED_ERROR:
        return http >= 500 || http == 408 || http == 429;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static void describe(const struct xfer *x, CURLcode rc, long http, struct strbuf *sb)
{
    if (rc == CURLE_HTTP_RETURNED_ERROR)
        sb_addf(sb, "HTTP %ld", http);
    else if (x->write_errno == EFBIG && !x->to_file)
        sb_addf(sb, "response larger than %d bytes, not a checksum file", XFER_MEM_MAX);
    else if (x->write_errno)
        sb_addf(sb, "writing %s: %s", x->part_path, strerror(x->write_errno));
    else
        sb_adds(sb, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

/* The body is complete: check the digest and move the file into place. */
static int finish_ok(struct xfer *x, struct progress *p, struct strbuf *err)
{
    x->done_ms = mono_ms();
    if (!x->to_file) {
        x->state = XS_DONE;
        return 0;
    }
    char sum[SHA256_HEX_LEN + 1];
    sha256_final_hex(&x->h, sum);
    x->total = (int64_t)x->have;
    if (strcmp(sum, x->want_sha)) {
        unlink(x->part_path);
        x->state = XS_FAIL;
        sb_addf(err, "%s: sha256 mismatch: published %s, downloaded %s; the file was deleted. "
                "Check --base-url, or retry later if the server is being updated",
                x->url, x->want_sha, sum);
        return -1;
    }
    if (rename(x->part_path, x->final_path)) {
        x->state = XS_FAIL;
        sb_addf(err, "cannot rename %s to %s: %s", x->part_path, x->final_path, strerror(errno));
        return -1;
    }
    close(x->fd);
    x->fd = -1;
    x->state = XS_DONE;
    progress_clear(p);
    log_info("%s: downloaded %" PRIu64 " bytes, sha256 verified", x->label, x->have);
    return 0;
}

static int schedule_retry(struct xfer *x, const struct artifact_dl_opts *o, struct progress *p,
                          struct strbuf *why, struct strbuf *err)
{
    if (x->tries > o->retries) {
        sb_addf(err, "giving up on %s after %ld attempts: %s", x->url, x->tries, why->buf);
        x->state = XS_FAIL;
        return -1;
    }
    int shift = x->tries - 1 > 16 ? 16 : (int)x->tries - 1;
    int64_t delay = (int64_t)o->retry_delay_ms << shift;
    if (delay > 60000) delay = 60000;
    x->not_before_ms = mono_ms() + delay;
    x->state = XS_WAIT;
    set_note(x, xstrfmt("retrying in %.1fs: %s", (double)delay / 1000, why->buf));
    progress_clear(p);
    log_warn("%s: %s; retrying in %.1fs (attempt %ld of %ld)", x->url, why->buf,
             (double)delay / 1000, x->tries + 1, o->retries + 1);
    return 0;
}

/* The server would not resume: start the file again from byte 0. */
static int restart(struct xfer *x, struct progress *p, struct strbuf *err)
{
    progress_clear(p);
    log_info("%s: the server did not resume at byte %" PRIu64 "; downloading it from the start",
             x->url, x->attempt_bytes);
    if (part_truncate(x, err)) {
        x->state = XS_FAIL;
        return -1;
    }
    x->state = XS_WAIT;
    x->not_before_ms = 0;
    return 0;
}

static int finish(CURLM *multi, struct xfer *x, CURLcode rc, const struct artifact_dl_opts *o,
                  struct progress *p, struct strbuf *err)
{
    long http = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
    curl_multi_remove_handle(multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    if (rc == CURLE_OK) return finish_ok(x, p, err);
    if (x->to_file && x->attempt_bytes &&
        (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && http == 416)))
        return restart(x, p, err);
    struct strbuf why = STRBUF_INIT;
    int r;
    describe(x, rc, http, &why);
    if (transient(rc, http) && !x->write_errno) {
        r = schedule_retry(x, o, p, &why, err);
    } else {
        r = -1;
        x->state = XS_FAIL;
        sb_addf(err, "%s: %s (not retried)", x->url, why.buf);
    }
    sb_release(&why);
    return r;
}

/* Handle finished transfers; returns how many finished, or -1. */
static int reap(CURLM *multi, const struct artifact_dl_opts *o, struct progress *p,
                struct strbuf *err)
{
    CURLMsg *msg;
    int left, done = 0;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct xfer *x = NULL;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (finish(multi, x, rc, o, p, err)) return -1;
        done++;
    }
    return done;
}

/* ---- the loop ---- */

/* Start waiting transfers up to the parallel limit; *wake gets the earliest
 * backoff deadline.  Returns running+waiting count, or -1 on error. */
static long start_due(CURLM *multi, struct xfer *xs, size_t n, const struct artifact_dl_opts *o,
                      struct progress *p, int64_t *wake, struct strbuf *err)
{
    long running = 0, pending = 0;
    int64_t now = mono_ms();
    for (size_t i = 0; i < n; i++) running += xs[i].state == XS_RUN;
    for (size_t i = 0; i < n; i++) {
        struct xfer *x = &xs[i];
        if (x->state != XS_WAIT) continue;
        pending++;
        if (x->not_before_ms > now) {
            if (x->not_before_ms < *wake) *wake = x->not_before_ms;
        } else if (running < o->parallel) {
            if (xfer_start(multi, x, o, p, err)) {
                x->state = XS_FAIL;
                return -1;
            }
            running++;
            pending--;
        }
    }
    return running + pending;
}

static void update_totals(struct xfer *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        curl_off_t cl = -1;
        if (xs[i].state != XS_RUN || xs[i].total >= 0) continue;
        if (!curl_easy_getinfo(xs[i].easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) && cl >= 0)
            xs[i].total = (int64_t)(xs[i].attempt_bytes + (uint64_t)cl);
    }
}

static void abandon_all(CURLM *multi, struct xfer *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!xs[i].easy) continue;
        curl_multi_remove_handle(multi, xs[i].easy);
        curl_easy_cleanup(xs[i].easy);
        xs[i].easy = NULL;
        if (xs[i].state == XS_RUN) xs[i].state = XS_WAIT;
    }
}

/* What the interrupted run leaves: every started .part and its size. */
static void interrupted(const struct xfer *xs, size_t n, int sig, struct strbuf *err)
{
    const char *name = sigabbrev_np(sig);
    sb_addf(err, "interrupted by SIG%s; ", name ? name : "?");
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!xs[i].to_file || xs[i].state == XS_DONE || !xs[i].have) continue;
        sb_addf(err, "%s%s (%" PRIu64 " bytes)", kept++ ? ", " : "kept to resume: ",
                xs[i].part_path, xs[i].have);
    }
    sb_addf(err, "%srun the same command again to resume%s", kept ? "; " : "",
            kept ? " from there" : "");
}

int xfer_run(struct xfer *xs, size_t n, const struct artifact_dl_opts *o, struct progress *p,
             struct strbuf *err)
{
    CURLM *multi = curl_multi_init();
    if (!multi) abort();
    int rc = 0;
    for (;;) {
        if (sigstop_caught()) {
            rc = -1;
            break;
        }
        int64_t now = mono_ms(), wake = now + 250;
        long active = start_due(multi, xs, n, o, p, &wake, err);
        if (active <= 0) {
            rc = active < 0 ? -1 : 0;
            break;
        }
        int still = 0;
        curl_multi_perform(multi, &still);
        int finished = reap(multi, o, p, err);
        if (finished < 0) {
            rc = -1;
            break;
        }
        update_totals(xs, n);
        progress_tick(p, xs, n, 0);
        if (finished) continue; /* start the next ones or compute the backoff now */
        int64_t wait = wake - mono_ms();
        curl_multi_poll(multi, NULL, 0, wait < 0 ? 0 : wait > 250 ? 250 : (int)wait, NULL);
    }
    abandon_all(multi, xs, n);
    progress_tick(p, xs, n, 1);
    curl_multi_cleanup(multi);
    /* SIGINT, SIGTERM, SIGHUP (include/m3fs/sigstop.h): each .part is
     * kept as far as it got, flushed, and the run says how to resume */
    int sig = sigstop_caught();
    if (sig) {
        for (size_t i = 0; i < n; i++)
            if (xs[i].fd >= 0) fsync(xs[i].fd);
        sb_reset(err);
        interrupted(xs, n, sig, err);
    }
    return rc;
}
