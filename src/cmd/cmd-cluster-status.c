/* m3fs cluster status: one view of the whole cluster (docs/status.md):
 * gathered by src/status/ in one SSH round per node, judged by the checks
 * marked for status; exit 0 healthy, 1 degraded or down.  --watch gathers
 * again every SECONDS, redrawing in place on a terminal, until SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/log.h"
#include "m3fs/status.h"

#define WATCH_MAX_S 86400L

static struct {
    int json;
    long watch; /* -1: not given */
} o = { 0, -1 };

static const struct opt_spec opts[] = {
    OPT_BOOL(0, "json", &o.json, "print the status as JSON (schema m3fs.status/1, docs/status.md)"),
    OPT_INT(0, "watch", &o.watch, "SECONDS", "gather again every SECONDS, redrawing in place "
            "on a terminal, until Ctrl-C"),
    OPT_END(),
};

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Gather, judge and render one view into out; the exit code it means. */
static int one_round(const struct cmd_ctx *ctx, int color, struct strbuf *out)
{
    struct st_report r;
    struct st_findings fs = { 0 };
    st_report_init(&r, ctx->cfg);
    st_gather(&r, &ctx->ro, ctx->parallel);
    st_judge(&r, ST_IN_STATUS, &fs);
    if (o.json) st_render_json(&r, &fs, out);
    else st_render_text(&r, &fs, color, out);
    int rc = st_health_of(&fs) == ST_H_HEALTHY ? EXIT_OK : EXIT_FAIL;
    st_findings_release(&fs);
    st_report_release(&r);
    return rc;
}

/* A line saying when the view was gathered (not with --json: one JSON
 * document per view), then the view.  On a terminal the first view clears
 * the screen and each later one homes the cursor, overwrites each line and
 * clears what is left of the last view; elsewhere views follow one another. */
static void show(const struct strbuf *view, int tty, int first)
{
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    struct strbuf sb = STRBUF_INIT;
    if (!o.json) sb_addf(&sb, "every %lds, last at %s; Ctrl-C ends\n", o.watch, when);
    sb_add(&sb, view->buf, view->len);
    if (!tty) {
        if (!first) putchar('\n');
        fwrite(sb.buf, 1, sb.len, stdout);
    } else {
        sb_replace_all(&sb, "\n", "\033[K\n");
        printf("%s%s\033[J", first ? "\033[H\033[2J" : "\033[H", sb.buf);
    }
    sb_release(&sb);
    fflush(stdout);
}

static void nap_until(int64_t deadline_ms)
{
    while (!g_stop && mono_ms() < deadline_ms) usleep(100 * 1000);
}

/* A round cut by SIGINT is not shown (its remote waits may have been cut). */
static int watch(const struct cmd_ctx *ctx, int color)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends it at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    int tty = isatty(STDOUT_FILENO), rc = EXIT_FAIL;
    for (int first = 1; !g_stop; first = 0) {
        struct strbuf view = STRBUF_INIT;
        int64_t next = mono_ms() + o.watch * 1000;
        int r = one_round(ctx, color, &view);
        if (!g_stop) {
            rc = r;
            show(&view, tty, first);
        }
        sb_release(&view);
        nap_until(next);
    }
    sigaction(SIGINT, &old, NULL);
    return rc;
}

static int exec_status(struct cmd_ctx *ctx)
{
    if (o.watch != -1 && (o.watch < 1 || o.watch > WATCH_MAX_S))
        return cmd_usage_error(ctx, "--watch must be between 1 and %ld seconds, not %ld",
                               WATCH_MAX_S, o.watch);
    if (!getenv("M3FS_CONNECT_TIMEOUT")) ctx->ro.connect_timeout_s = ST_CONNECT_TIMEOUT_S;
    int color = !o.json && log_color_wanted(stdout, ctx->no_color);
    if (o.watch != -1) return watch(ctx, color);
    struct strbuf view = STRBUF_INIT;
    int rc = one_round(ctx, color, &view);
    fwrite(view.buf, 1, view.len, stdout);
    sb_release(&view);
    return rc;
}

const struct cmd_entry cmd_cluster_status_entry = {
    .name = "status",
    .usage = "-c FILE [--json] [--watch SECONDS]",
    .summary = "Show what runs on every node and what is wrong (exit 0 only when healthy)",
    .opts = opts,
    .exec = exec_status,
    .flags = CMD_CONFIG,
};
