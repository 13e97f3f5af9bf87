/* Go time.Duration syntax: a sequence of decimal numbers with unit suffixes
 * (ns, us, µs, ms, s, m, h), e.g. "1h30m", "1.5s", "300ms"; "0" alone. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "m3fs/config.h"

static double unit_ms(const char **p)
{
    static const struct { const char *u; double ms; } units[] = {
        { "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ms", 1 },
        { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].u);
        /* "m" must not swallow the "m" of "ms" */
        if (!strncmp(*p, units[i].u, n)) {
            *p += n;
            return units[i].ms;
        }
    }
    return -1;
}

int parse_duration_ms(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    double total = 0;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    if (!strcmp(p, "0")) {
        *out = 0;
        return 0;
    }
    if (!*p) return -1;
    while (*p) {
        const char *start = p;
        double v = 0, scale = 1;
        int digits = 0;
        while (isdigit((unsigned char)*p)) { v = v * 10 + (*p++ - '0'); digits++; }
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p)) { scale /= 10; v += (*p++ - '0') * scale; digits++; }
        }
        if (!digits || p == start) return -1;
        double u = unit_ms(&p);
        if (u < 0) return -1;
        total += v * u;
        if (total > 9.2e15) return -1;
    }
    *out = (int64_t)llround(neg ? -total : total);
    return 0;
}

void format_duration_ms(int64_t ms, struct strbuf *sb)
{
    if (ms == 0) { sb_adds(sb, "0s"); return; }
    if (ms < 0) { sb_addch(sb, '-'); ms = -ms; }
    int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, r = ms % 1000;
    if (h) sb_addf(sb, "%lldh", (long long)h);
    if (m) sb_addf(sb, "%lldm", (long long)m);
    if (s || (!h && !m && !r)) sb_addf(sb, "%llds", (long long)s);
    if (r) sb_addf(sb, "%lldms", (long long)r);
}
