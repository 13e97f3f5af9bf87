/* Download progress: on a terminal one redrawn line per file (bytes, rate,
 * ETA); off a terminal a plain log line per running file every interval. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "xfer.h"

void progress_init(struct progress *p, enum artifact_progress mode, long interval_ms)
{
    memset(p, 0, sizeof(*p));
    if (mode == ARTIFACT_PROGRESS_AUTO)
        mode = isatty(STDERR_FILENO) ? ARTIFACT_PROGRESS_TTY : ARTIFACT_PROGRESS_LOG;
    p->mode = mode;
    p->interval_ms = mode == ARTIFACT_PROGRESS_TTY ? 200 : interval_ms;
    p->last_ms = mono_ms();
}

static void add_duration(struct strbuf *sb, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) sb_addf(sb, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else sb_addf(sb, "%ld:%02ld", t / 60, t % 60);
}

static void running_text(const struct xfer *x, int64_t now, struct strbuf *sb)
{
    double secs = (double)(now - x->attempt_ms) / 1000;
    double rate = secs > 0.05 ? (double)(x->have - x->attempt_bytes) / secs : 0;
    artifact_human_size(sb, (double)x->have);
    if (x->total > 0) {
        sb_adds(sb, " / ");
        artifact_human_size(sb, (double)x->total);
        sb_addf(sb, " %3d%%", (int)((double)x->have * 100 / (double)x->total));
    }
    sb_adds(sb, "  ");
    artifact_human_size(sb, rate);
    sb_adds(sb, "/s");
    if (x->total > 0 && rate > 0) {
        sb_adds(sb, "  ETA ");
        add_duration(sb, (double)((uint64_t)x->total - x->have) / rate);
    }
}

static void status_text(const struct xfer *x, int64_t now, struct strbuf *sb)
{
    switch (x->state) {
    case XS_RUN:
        running_text(x, now, sb);
        break;
    case XS_WAIT:
        sb_adds(sb, x->note ? x->note : x->tries ? "stopped" : "waiting");
        break;
    case XS_DONE:
        sb_adds(sb, "done, ");
        artifact_human_size(sb, (double)x->have);
        sb_adds(sb, ", sha256 verified");
        break;
    case XS_FAIL:
        sb_adds(sb, "failed");
        break;
    }
}

void progress_clear(struct progress *p)
{
    if (p->mode != ARTIFACT_PROGRESS_TTY || !p->drawn) return;
    fprintf(stderr, "\033[%zuA\r\033[J", p->drawn);
    fflush(stderr);
    p->drawn = 0;
}

static void draw_tty(struct progress *p, const struct xfer *xs, size_t n, int64_t now)
{
    struct strbuf sb = STRBUF_INIT;
    size_t width = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(xs[i].label) > width) width = strlen(xs[i].label);
    if (p->drawn) sb_addf(&sb, "\033[%zuA", p->drawn);
    for (size_t i = 0; i < n; i++) {
        sb_addf(&sb, "\r\033[K  %-*s  ", (int)width, xs[i].label);
        status_text(&xs[i], now, &sb);
        sb_addch(&sb, '\n');
    }
    fwrite(sb.buf, 1, sb.len, stderr);
    fflush(stderr);
    p->drawn = n;
    sb_release(&sb);
}

static void log_lines(const struct xfer *xs, size_t n, int64_t now)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (xs[i].state != XS_RUN) continue;
        sb_reset(&sb);
        running_text(&xs[i], now, &sb);
        log_info("downloading %s: %s", xs[i].label, sb.buf);
    }
    sb_release(&sb);
}

void progress_tick(struct progress *p, const struct xfer *xs, size_t n, int force)
{
    int64_t now = mono_ms();
    if (p->mode == ARTIFACT_PROGRESS_NONE) return;
    if (!force && now - p->last_ms < p->interval_ms) return;
    p->last_ms = now;
    if (p->mode == ARTIFACT_PROGRESS_TTY) draw_tty(p, xs, n, now);
    else if (!force) log_lines(xs, n, now);
}
