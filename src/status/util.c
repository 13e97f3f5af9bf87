/* status/util.c: splitting, numbers and times for the parsers; sizes and
 * durations for the renderers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status-int.h"

size_t st_split(char *line, char sep, char **fld, size_t max)
{
    size_t n = 0;
    if (!max) return 0;
    fld[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p != sep) continue;
        *p = '\0';
        fld[n++] = p + 1;
    }
    return n;
}

int st_num(const char *s, long long lo, long long hi, long long *out)
{
    const char *p = s;
    if (*p == '-') p++;
    if (*p < '0' || *p > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int st_num_or_dash(const char *s, long long *out)
{
    if (!strcmp(s, "-")) {
        *out = -1;
        return 0;
    }
    return st_num(s, 0, INT64_MAX, out);
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The fraction and zone after the seconds: "", ".123Z", "Z". */
static int time_tail(const char *p)
{
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'Z') p++;
    return *p ? -1 : 0;
}

int st_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y, mo, d, h, mi, se;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) ||
        time_tail(s + 19))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = se;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int st_parse_tz(const char *s, long *offset_s)
{
    int h, m;
    if (strlen(s) != 5 || (s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &h) ||
        digits(s + 3, 2, &m) || h > 23 || m > 59)
        return -1;
    *offset_s = (s[0] == '-' ? -1L : 1L) * (h * 3600L + m * 60L);
    return 0;
}

void st_kib(struct strbuf *sb, int64_t kib)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    if (kib < 0) {
        sb_adds(sb, "?");
        return;
    }
    double v = (double)kib;
    size_t u = 0;
    while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) v /= 1024, u++;
    sb_addf(sb, v < 10 && u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

void st_secs(struct strbuf *sb, int64_t s)
{
    if (s < 0) sb_adds(sb, "?");
    else if (s < 120) sb_addf(sb, "%llds", (long long)s);
    else if (s < 7200) sb_addf(sb, "%lldm", (long long)(s / 60));
    else if (s < 172800) sb_addf(sb, "%lldh", (long long)(s / 3600));
    else sb_addf(sb, "%lldd", (long long)(s / 86400));
}
