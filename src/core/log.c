#include "m3fs/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/strbuf.h"

static enum log_level level = LOG_INFO;
static int color;
static struct strvec secrets = STRVEC_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level lvl) { level = lvl; }
enum log_level log_get_level(void) { return level; }
void log_set_color(int on) { color = on; }
int log_color(void) { return color; }

int log_color_wanted(FILE *stream, int no_color_flag)
{
    const char *nc = getenv("NO_COLOR");
    if (no_color_flag || (nc && *nc)) return 0;
    return isatty(fileno(stream));
}

void log_add_secret(const char *secret)
{
    if (!secret || !*secret) return;
    pthread_mutex_lock(&lock);
    if (!sv_contains(&secrets, secret)) sv_push(&secrets, secret);
    pthread_mutex_unlock(&lock);
}

void log_clear_secrets(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < secrets.n; i++) explicit_bzero(secrets.v[i], strlen(secrets.v[i]));
    sv_clear(&secrets);
    pthread_mutex_unlock(&lock);
}

static int longer_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

void log_mask_with(struct strbuf *sb, const struct strvec *extra)
{
    size_t n_extra = extra ? extra->n : 0;
    pthread_mutex_lock(&lock);
    size_t n = n_extra + secrets.n;
    char **all = xcalloc(n ? n : 1, sizeof(*all));
    for (size_t i = 0; i < n_extra; i++) all[i] = extra->v[i];
    for (size_t i = 0; i < secrets.n; i++) all[n_extra + i] = secrets.v[i];
    /* A secret inside a longer one must not break the longer one's match. */
    qsort(all, n, sizeof(*all), longer_first);
    for (size_t i = 0; i < n; i++)
        if (*all[i]) sb_replace_all(sb, all[i], LOG_MASK);
    pthread_mutex_unlock(&lock);
    free(all);
}

void log_mask(struct strbuf *sb)
{
    log_mask_with(sb, NULL);
}

#define ESC(code) (color ? "\033[" code "m" : "")
const char *c_bold(void) { return ESC("1"); }
const char *c_red(void) { return ESC("31"); }
const char *c_green(void) { return ESC("32"); }
const char *c_yellow(void) { return ESC("33"); }
const char *c_blue(void) { return ESC("34"); }
const char *c_magenta(void) { return ESC("35"); }
const char *c_cyan(void) { return ESC("36"); }
const char *c_reset(void) { return ESC("0"); }

static const char *level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "info";
    case LOG_WARN: return "warning";
    default: return "error";
    }
}

static const char *level_color(enum log_level lvl)
{
    switch (lvl) {
    case LOG_DEBUG: return c_blue();
    case LOG_INFO: return c_green();
    case LOG_WARN: return c_yellow();
    default: return c_red();
    }
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    if (lvl < level) return;
    struct strbuf msg = STRBUF_INIT, line = STRBUF_INIT;
    sb_vaddf(&msg, fmt, ap);
    log_mask(&msg);
    sb_rtrim(&msg);
    if (level == LOG_DEBUG) {
        time_t now = time(NULL);
        struct tm tm;
        char ts[16];
        localtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%H:%M:%S", &tm);
        sb_addf(&line, "%s ", ts);
    }
    sb_addf(&line, "%s%s%s: %s\n", level_color(lvl), level_name(lvl), c_reset(), msg.buf);
    pthread_mutex_lock(&lock);
    fwrite(line.buf, 1, line.len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&lock);
    sb_release(&msg);
    sb_release(&line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}
