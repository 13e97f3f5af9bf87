/* log: messages to stderr, with colour when stderr is a terminal and colour
 * is not disabled (--no-color or NO_COLOR).
 *
 * Secrets: every string registered with log_add_secret() is replaced by
 * "******" in everything the log prints, so a password that slips into a
 * command line still never reaches the terminal or --debug output.  The log
 * keeps its own copies of secrets; log_clear_secrets() zeroes and frees them. */
#ifndef M3FS_LOG_H
#define M3FS_LOG_H

#include <stdarg.h>
#include <stdio.h>

struct strbuf;

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_color(int on);
int log_color(void);
/* Decide colour for a stream from --no-color, NO_COLOR and isatty. */
int log_color_wanted(FILE *stream, int no_color_flag);

/* Copies secret (nothing for NULL or ""). */
void log_add_secret(const char *secret);
/* Zeroes and frees every registered secret. */
void log_clear_secrets(void);
/* Shortest secret the config accepts: masking is by substring, and a short
 * secret would garble every message holding it and reveal it by the pattern
 * (config validate refuses shorter passwords). */
#define LOG_SECRET_MIN 8
/* What a secret is replaced by. */
#define LOG_MASK "******"
/* Replace every registered secret in sb by LOG_MASK (binary-safe). */
void log_mask(struct strbuf *sb);
struct strvec;
/* The same with more secret texts (extra may be NULL): every text of extra
 * and every registered secret, longest first, so a secret that is part of
 * a longer one cannot leave the rest of the longer one visible.  The one
 * masking function for secret values (--dry-run, cluster logs). */
void log_mask_with(struct strbuf *sb, const struct strvec *extra);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* ANSI helpers: return the escape when colour is on, "" otherwise. */
const char *c_bold(void);
const char *c_red(void);
const char *c_green(void);
const char *c_yellow(void);
const char *c_blue(void);
const char *c_cyan(void);
const char *c_magenta(void);
const char *c_reset(void);

#endif
