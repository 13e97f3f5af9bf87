/* logs/mask.c: nothing secret in a part (see include/m3fs/logs.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "m3fs/log.h"
#include "m3fs/logs.h"

static void push_new(struct strvec *out, const char *s)
{
    if (*s && !sv_contains(out, s)) sv_push(out, s);
}

/* A YAML single-quoted scalar: ' doubled. */
static void yaml_sq_form(const char *s, struct strbuf *sb)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\'') sb_addch(sb, '\'');
        sb_addch(sb, *p);
    }
}

static void xml_form(const char *s, struct strbuf *sb)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&': sb_adds(sb, "&amp;"); break;
        case '<': sb_adds(sb, "&lt;"); break;
        case '>': sb_adds(sb, "&gt;"); break;
        case '"': sb_adds(sb, "&quot;"); break;
        case '\'': sb_adds(sb, "&apos;"); break;
        default: sb_addch(sb, *p);
        }
    }
}

void logs_secret_forms(const char *secret, struct strvec *out)
{
    if (!secret || !*secret) return;
    struct strbuf sb = STRBUF_INIT;
    push_new(out, secret);
    sb_add_backslashed(&sb, secret); /* as TOML basic strings (toml_str) and JSON */
    push_new(out, sb.buf);
    sb_reset(&sb);
    xml_form(secret, &sb);
    push_new(out, sb.buf);
    sb_reset(&sb);
    yaml_sq_form(secret, &sb);
    push_new(out, sb.buf);
    sb_release(&sb);
}

int logs_tail(struct strbuf *sb, size_t max)
{
    if (sb->len <= max) return 0;
    size_t from = sb->len - max;
    const char *nl = memchr(sb->buf + from, '\n', max);
    if (nl && (size_t)(nl - sb->buf) + 1 < sb->len) from = (size_t)(nl - sb->buf) + 1;
    memmove(sb->buf, sb->buf + from, sb->len - from);
    sb_setlen(sb, sb->len - from);
    return 1;
}

/* --- values of keys named like secrets ------------------------------------ */

static int word_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.';
}

static int has_word(const char *w, size_t n, const char *const *list)
{
    for (; *list; list++) {
        size_t k = strlen(*list);
        for (size_t i = 0; i + k <= n; i++)
            if (!strncasecmp(w + i, *list, k)) return 1;
    }
    return 0;
}

static int secret_key(const char *w, size_t n)
{
    static const char *const secret[] = { "password", "passwd", "secret", "token", NULL };
    static const char *const harmless[] = { "file", "path", "env", NULL };
    return has_word(w, n, secret) && !has_word(w, n, harmless);
}

/* End of a value starting at v: at the closing quote q (unescaped when q
 * is '"'), at stop bytes, or at the end of the line. */
static size_t value_end(const char *b, size_t len, size_t v, char q, const char *stop)
{
    size_t i = v;
    for (; i < len && b[i] != '\n'; i++) {
        if (q == '\'' && b[i] == q && i + 1 < len && b[i + 1] == q) i++; /* YAML '' */
        else if (q && b[i] == q) return i;
        if (q == '"' && b[i] == '\\' && i + 1 < len && b[i + 1] != '\n') i++;
        else if (!q && stop && strchr(stop, b[i])) return i;
    }
    while (!q && i > v && b[i - 1] == '\r') i--;
    return i;
}

/* A '{' earlier on the line: a YAML/JSON flow mapping, where a plain value
 * ends at ',' or '}'. */
static int in_flow(const char *b, size_t at)
{
    while (at > 0 && b[at - 1] != '\n')
        if (b[--at] == '{') return 1;
    return 0;
}

/* Inside a double-quoted string: an odd number of unescaped '"' between
 * the start of the line and at (a JSON string such as "KEY=value"). */
static int in_string(const char *b, size_t at)
{
    size_t start = at, n = 0;
    while (start > 0 && b[start - 1] != '\n') start--;
    for (size_t k = start; k < at; k++) {
        if (b[k] == '\\') k++;
        else if (b[k] == '"') n++;
    }
    return n % 2;
}

/* After the key word [i, j): where its value starts and ends; 0 when what
 * follows is no assignment. */
static int find_value(const char *b, size_t len, size_t i, size_t j, size_t *v, size_t *e)
{
    int in_str = in_string(b, i);
    size_t k = j;
    if (i > 1 && b[i - 1] == '/' && b[i - 2] == '<') return 0; /* </password> */
    if (k < len && (b[k] == '"' || b[k] == '\'')) in_str = 0, k++;
    while (k < len && (b[k] == ' ' || b[k] == '\t')) k++;
    if (k >= len) return 0;
    if (b[k] == '>') {
        *v = k + 1;
        *e = value_end(b, len, *v, 0, "<");
        return 1;
    }
    if (b[k] != '=' && b[k] != ':') return 0;
    k++;
    while (k < len && (b[k] == ' ' || b[k] == '\t')) k++;
    if (k < len && (b[k] == '"' || b[k] == '\'') && !in_str) {
        *v = k + 1;
        *e = value_end(b, len, *v, b[k], NULL);
    } else {
        *v = k;
        *e = in_str ? value_end(b, len, k, '"', NULL)
                    : value_end(b, len, k, 0, in_flow(b, i) ? ",}" : NULL);
    }
    return 1;
}

void logs_mask_keys(struct strbuf *sb)
{
    const char *b = sb->buf;
    size_t len = sb->len, i = 0, done = 0;
    struct strbuf out = STRBUF_INIT;
    while (i < len) {
        if (!word_byte((unsigned char)b[i]) || (i > 0 && word_byte((unsigned char)b[i - 1]))) {
            i++;
            continue;
        }
        size_t j = i, v, e;
        while (j < len && word_byte((unsigned char)b[j])) j++;
        size_t mlen = strlen(LOG_MASK);
        if (secret_key(b + i, j - i) && find_value(b, len, i, j, &v, &e) && e > v &&
            !(e - v == mlen && !memcmp(b + v, LOG_MASK, mlen))) {
            sb_add(&out, b + done, v - done);
            sb_adds(&out, LOG_MASK);
            done = e;
            i = e;
            continue;
        }
        i = j;
    }
    if (!done) {
        sb_release(&out);
        return;
    }
    sb_add(&out, b + done, len - done);
    sb_release(sb);
    *sb = out;
}

/* sb starts with the last k >= 3 bytes of a form: a secret cut by the tail. */
static void mask_cut_start(struct strbuf *sb, const struct strvec *masks)
{
    size_t best = 0;
    for (size_t i = 0; masks && i < masks->n; i++) {
        size_t n = strlen(masks->v[i]);
        for (size_t k = n > 0 ? n - 1 : 0; k >= 3 && k > best; k--)
            if (k <= sb->len && !memcmp(sb->buf, masks->v[i] + n - k, k)) {
                best = k;
                break;
            }
    }
    if (!best) return;
    struct strbuf out = STRBUF_INIT;
    sb_adds(&out, LOG_MASK);
    sb_add(&out, sb->buf + best, sb->len - best);
    sb_release(sb);
    *sb = out;
}

void logs_mask(struct strbuf *sb, const struct strvec *masks, int cut)
{
    log_mask_with(sb, masks);
    if (cut) mask_cut_start(sb, masks);
    logs_mask_keys(sb);
}
