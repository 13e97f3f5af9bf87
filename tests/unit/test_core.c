/* test_core: the small foundation modules: strbuf/strvec, the option parser,
 * the template module and Go-style durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/config.h"
#include "m3fs/opt.h"
#include "m3fs/strbuf.h"
#include "m3fs/tmpl.h"

/* ---- strbuf ---- */

static void test_sb_init_empty(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_non_null(sb.buf);
    assert_string_equal(sb.buf, "");
    assert_int_equal(sb.len, 0);
    sb_reset(&sb); /* legal on a never-grown buffer */
    sb_rtrim(&sb);
    sb_release(&sb);
    assert_string_equal(sb.buf, "");
    sb_init(&sb, 100);
    assert_true(sb.alloc >= 101);
    assert_string_equal(sb.buf, "");
    sb_release(&sb);
}

static void test_sb_growth(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 10000; i++) {
        sb_addch(&sb, (char)('a' + i % 26));
        assert_true(sb.alloc > sb.len);
        assert_int_equal(sb.buf[sb.len], '\0');
    }
    assert_int_equal(sb.len, 10000);
    assert_int_equal(sb.buf[0], 'a');
    assert_int_equal(sb.buf[9999], (char)('a' + 9999 % 26));
    sb_addchars(&sb, '-', 5000);
    assert_int_equal(sb.len, 15000);
    assert_int_equal(sb.buf[14999], '-');
    sb_add(&sb, "xyz", 0); /* no-op */
    assert_int_equal(sb.len, 15000);
    sb_setlen(&sb, 3);
    assert_string_equal(sb.buf, "abc");
    sb_release(&sb);
}

static void test_sb_addf(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s=%d", "port", 22);
    assert_string_equal(sb.buf, "port=22");
    /* longer than the first allocation */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sb_addf(&sb, "[%s]%05.1f", big, 3.14159);
    assert_int_equal(sb.len, 7 + 1 + 299 + 1 + 5);
    assert_string_equal(sb.buf + sb.len - 6, "]003.1");
    sb_addf(&sb, "%s", "");
    assert_int_equal(sb.len, 313);
    char *s = xstrfmt("%s-%zu", "n", (size_t)7);
    assert_string_equal(s, "n-7");
    free(s);
    sb_release(&sb);
}

static void test_sb_replace_all(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "aXbXXc");
    sb_replace_all(&sb, "X", "YY");
    assert_string_equal(sb.buf, "aYYbYYYYc");
    sb_replace_all(&sb, "YY", "");
    assert_string_equal(sb.buf, "abc");
    sb_replace_all(&sb, "", "Z"); /* empty pattern: no-op */
    assert_string_equal(sb.buf, "abc");
    sb_replace_all(&sb, "nothing", "Z");
    assert_string_equal(sb.buf, "abc");
    sb_reset(&sb);
    sb_adds(&sb, "aaaa");
    sb_replace_all(&sb, "aa", "a"); /* non-overlapping, left to right */
    assert_string_equal(sb.buf, "aa");
    sb_reset(&sb);
    sb_adds(&sb, "secret secret");
    sb_replace_all(&sb, "secret", "******");
    assert_string_equal(sb.buf, "****** ******");
    assert_int_equal(sb.len, 13);
    sb_release(&sb);
    sb_replace_all(&sb, "a", "b"); /* empty buffer */
    assert_string_equal(sb.buf, "");
}

static void test_sb_detach(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    char *empty = sb_detach(&sb);
    assert_string_equal(empty, "");
    free(empty); /* must be a heap string even when nothing was added */
    sb_adds(&sb, "hello");
    char *s = sb_detach(&sb);
    assert_string_equal(s, "hello");
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    sb_adds(&sb, "again"); /* usable after detach */
    assert_string_equal(sb.buf, "again");
    free(s);
    sb_release(&sb);
}

static void test_sb_rtrim_read_file(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "text \t\r\n\n");
    sb_rtrim(&sb);
    assert_string_equal(sb.buf, "text");
    sb_reset(&sb);
    char path[] = "/tmp/m3fs-test-core-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct strbuf big = STRBUF_INIT;
    for (int i = 0; i < 5000; i++) sb_addf(&big, "line %d\n", i);
    assert_int_equal(write(fd, big.buf, big.len), (ssize_t)big.len);
    close(fd);
    sb_adds(&sb, "prefix:");
    assert_int_equal(sb_read_file(&sb, path), 0);
    assert_int_equal(sb.len, 7 + big.len);
    assert_memory_equal(sb.buf + 7, big.buf, big.len);
    unlink(path);
    sb_reset(&sb);
    assert_int_equal(sb_read_file(&sb, path), -1);
    sb_release(&sb);
    sb_release(&big);
}

static void test_str_to_u64(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(str_to_u64("0", 1, 0, &v), 0);
    assert_true(v == 0);
    assert_int_equal(str_to_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(str_to_u64("18446744073709551616", 20, UINT64_MAX, &v), -1);
    assert_int_equal(str_to_u64("4294967296", 10, UINT32_MAX, &v), -1);
    assert_int_equal(str_to_u64("123x", 4, UINT64_MAX, &v), -1);
    assert_int_equal(str_to_u64("-1", 2, UINT64_MAX, &v), -1);
    assert_int_equal(str_to_u64("", 0, UINT64_MAX, &v), -1);
    assert_int_equal(str_to_u64("000000000000000000001", 21, UINT64_MAX, &v), -1);
    assert_true(v == 7); /* untouched on failure */
    assert_int_equal(str_to_u64("12345", 3, UINT64_MAX, &v), 0); /* len, not the NUL */
    assert_true(v == 123);
}

static void test_strvec(void **state)
{
    (void)state;
    struct strvec sv = STRVEC_INIT;
    assert_int_equal(sv_contains(&sv, "a"), 0);
    for (int i = 0; i < 20; i++) sv_pushf(&sv, "item%d", i);
    sv_push(&sv, "last");
    sv_push_owned(&sv, xstrdup("owned"));
    assert_int_equal(sv.n, 22);
    assert_null(sv.v[sv.n]);
    assert_string_equal(sv.v[0], "item0");
    assert_string_equal(sv.v[19], "item19");
    assert_true(sv_contains(&sv, "last"));
    assert_true(sv_contains(&sv, "owned"));
    assert_false(sv_contains(&sv, "item20"));
    struct strbuf sb = STRBUF_INIT;
    struct strvec three = STRVEC_INIT;
    sv_push(&three, "a");
    sv_push(&three, "b");
    sv_push(&three, "c");
    sv_join(&three, ", ", &sb);
    assert_string_equal(sb.buf, "a, b, c");
    sv_clear(&three);
    sb_reset(&sb);
    sv_join(&three, ",", &sb);
    assert_string_equal(sb.buf, "");
    sv_clear(&sv);
    assert_int_equal(sv.n, 0);
    assert_null(sv.v);
    sb_release(&sb);
}

/* ---- opt ---- */

static struct {
    int all, brief, verbose;
    const char *config, *name;
    long num;
    struct strvec list;
} ov;

static const struct opt_spec t_opts[] = {
    OPT_BOOL('a', "all", &ov.all, "all"),
    OPT_BOOL('b', "brief", &ov.brief, "brief"),
    OPT_STRING_REQ('c', "config", &ov.config, "FILE", "config"),
    OPT_INT('n', "num", &ov.num, "N", "a number"),
    OPT_LIST('l', "list", &ov.list, "A,B", "a list"),
    { OPT_T_STRING, 0, "name", "cluster-name", &ov.name, "NAME", "name", 0 },
    OPT_END(),
};
static const struct opt_spec t_global[] = {
    OPT_BOOL(0, "verbose", &ov.verbose, "more output"),
    OPT_END(),
};

struct parsed {
    int rc, help, dashdash;
    struct opt_rest rest;
    struct strbuf err;
};

static void parse(struct parsed *p, int argc, const char **argv)
{
    const struct opt_spec *const tables[] = { t_opts, t_global, NULL };
    sv_clear(&ov.list);
    memset(&ov, 0, sizeof ov);
    memset(p, 0, sizeof *p);
    p->err = (struct strbuf)STRBUF_INIT;
    p->rc = opt_parse(tables, argc, (char **)argv, &p->rest, &p->dashdash, &p->help, &p->err);
}

static void parsed_free(struct parsed *p)
{
    opt_rest_free(&p->rest);
    sb_release(&p->err);
    sv_clear(&ov.list);
}

#define PARSE(p, ...)                                               \
    do {                                                            \
        const char *argv_[] = { __VA_ARGS__ };                      \
        parse((p), (int)ARRAY_SIZE(argv_), argv_);                  \
    } while (0)

static void test_opt_long(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "--config", "c.yml", "word", "--num", "42", "--all", "--verbose", "--name=x");
    assert_int_equal(p.rc, 0);
    assert_string_equal(ov.config, "c.yml");
    assert_int_equal(ov.num, 42);
    assert_int_equal(ov.all, 1);
    assert_int_equal(ov.brief, 0);
    assert_int_equal(ov.verbose, 1);
    assert_string_equal(ov.name, "x");
    assert_int_equal(p.rest.n, 1);
    assert_string_equal(p.rest.v[0], "word");
    assert_int_equal(p.dashdash, -1);
    parsed_free(&p);

    PARSE(&p, "--config=a=b.yml", "--cluster-name", "y");
    assert_int_equal(p.rc, 0);
    assert_string_equal(ov.config, "a=b.yml"); /* only the first '=' splits */
    assert_string_equal(ov.name, "y");         /* second long name */
    parsed_free(&p);
}

static void test_opt_short(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "-c", "c.yml", "-n", "-7");
    assert_int_equal(p.rc, 0);
    assert_string_equal(ov.config, "c.yml");
    assert_int_equal(ov.num, -7);
    parsed_free(&p);

    PARSE(&p, "-cFILE");
    assert_int_equal(p.rc, 0);
    assert_string_equal(ov.config, "FILE");
    parsed_free(&p);

    PARSE(&p, "-ab", "-c", "f");
    assert_int_equal(p.rc, 0);
    assert_int_equal(ov.all, 1);
    assert_int_equal(ov.brief, 1);
    parsed_free(&p);

    PARSE(&p, "-bacX.yml");
    assert_int_equal(p.rc, 0);
    assert_int_equal(ov.all, 1);
    assert_int_equal(ov.brief, 1);
    assert_string_equal(ov.config, "X.yml");
    parsed_free(&p);

    PARSE(&p, "-", "-c", "f"); /* a lone dash is a word (stdin convention) */
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.rest.n, 1);
    assert_string_equal(p.rest.v[0], "-");
    parsed_free(&p);
}

static void test_opt_list(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "-c", "f", "--list", "a,b", "-l", "c", "--list=,d,,e,");
    assert_int_equal(p.rc, 0);
    assert_int_equal(ov.list.n, 5);
    assert_string_equal(ov.list.v[0], "a");
    assert_string_equal(ov.list.v[1], "b");
    assert_string_equal(ov.list.v[2], "c");
    assert_string_equal(ov.list.v[3], "d");
    assert_string_equal(ov.list.v[4], "e");
    parsed_free(&p);
}

static void test_opt_errors(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "--config");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.buf, "--config needs a value (FILE)"));
    parsed_free(&p);

    PARSE(&p, "-c");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.buf, "-c needs a value"));
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--nope");
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.buf, "unknown option '--nope'");
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--nope=3");
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.buf, "unknown option '--nope'");
    parsed_free(&p);

    PARSE(&p, "-az", "-c", "f");
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.buf, "unknown option '-z'");
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--num", "12x");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.buf, "--num expects a whole number, not '12x'"));
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--num=");
    assert_int_equal(p.rc, -1);
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--num", "99999999999999999999999");
    assert_int_equal(p.rc, -1);
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--all=yes");
    assert_int_equal(p.rc, -1);
    assert_non_null(strstr(p.err.buf, "--all takes no value"));
    parsed_free(&p);
}

static void test_opt_required_help(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "--all");
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.buf, "missing required option --config FILE");
    parsed_free(&p);

    /* help wins over a missing required option */
    PARSE(&p, "--all", "--help");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.help, 1);
    parsed_free(&p);

    PARSE(&p, "-h");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.help, 1);
    parsed_free(&p);

    /* no arguments at all: only the required option is missing */
    const struct opt_spec *const tables[] = { t_opts, NULL };
    struct opt_rest rest = { 0 };
    struct strbuf err = STRBUF_INIT;
    int help = 0;
    memset(&ov, 0, sizeof ov);
    assert_int_equal(opt_parse(tables, 0, NULL, &rest, NULL, &help, &err), -1);
    assert_non_null(strstr(err.buf, "--config"));
    opt_rest_free(&rest);
    sb_release(&err);
}

static void test_opt_dashdash(void **state)
{
    (void)state;
    struct parsed p;
    PARSE(&p, "-c", "f", "before", "--", "--all", "-x", "after");
    assert_int_equal(p.rc, 0);
    assert_int_equal(ov.all, 0);
    assert_int_equal(p.rest.n, 4);
    assert_int_equal(p.dashdash, 1);
    assert_string_equal(p.rest.v[0], "before");
    assert_string_equal(p.rest.v[1], "--all");
    assert_string_equal(p.rest.v[2], "-x");
    assert_string_equal(p.rest.v[3], "after");
    assert_null(p.rest.v[4]);
    parsed_free(&p);

    PARSE(&p, "-c", "f", "--");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.rest.n, 0);
    assert_int_equal(p.dashdash, 0);
    parsed_free(&p);
}

static void test_opt_usage(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    opt_usage(t_opts, &sb);
    assert_non_null(strstr(sb.buf, "  -a, --all"));
    assert_non_null(strstr(sb.buf, "  -c, --config FILE"));
    assert_non_null(strstr(sb.buf, "config (required)\n"));
    assert_non_null(strstr(sb.buf, "      --name, --cluster-name NAME"));
    /* help texts start in one column */
    const char *a = strstr(sb.buf, "  -a, --all"), *n = strstr(sb.buf, "  -n, --num N");
    assert_int_equal(strstr(a, "all\n") - a, strstr(n, "a number") - n);
    sb_release(&sb);
}

/* ---- tmpl ---- */

static void test_tmpl_render(void **state)
{
    (void)state;
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    tmpl_set(&tv, "name", "first");
    tmpl_set(&tv, "name", "node1"); /* replaces */
    tmpl_setf(&tv, "port", "%d", 8000);
    tmpl_set(&tv, "empty", "");
    assert_int_equal(tmpl_render("t", "host {{name}}:{{ port }}{{  empty }} {{name}}\n", &tv, &out, &err), 0);
    assert_string_equal(out.buf, "host node1:8000 node1\n");
    assert_string_equal(err.buf, "");
    sb_reset(&out);
    assert_int_equal(tmpl_render("t", "no placeholders { } }}", &tv, &out, &err), 0);
    assert_string_equal(out.buf, "no placeholders { } }}");
    sb_reset(&out);
    /* values are inserted verbatim and not rescanned */
    tmpl_set(&tv, "tricky", "{{ name }}");
    assert_int_equal(tmpl_render("t", "[{{tricky}}]", &tv, &out, &err), 0);
    assert_string_equal(out.buf, "[{{ name }}]");
    tmpl_vars_free(&tv);
    sb_release(&out);
    sb_release(&err);
}

static void test_tmpl_errors(void **state)
{
    (void)state;
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    tmpl_set(&tv, "a", "1");
    assert_int_equal(tmpl_render("mgmtd.toml", "x = {{ a }}\n\ny = {{ missing }}\n", &tv, &out, &err), -1);
    assert_string_equal(err.buf, "mgmtd.toml:3: template variable 'missing' is not set");
    sb_reset(&err);
    sb_reset(&out);
    assert_int_equal(tmpl_render("t", "line\n{{ a", &tv, &out, &err), -1);
    assert_string_equal(err.buf, "t:2: '{{' without '}}'");
    sb_reset(&err);
    sb_reset(&out);
    assert_int_equal(tmpl_render_embedded("no-such.tmpl", &tv, &out, &err), -1);
    assert_non_null(strstr(err.buf, "no-such.tmpl"));
    sb_reset(&err);
    /* the embedded sample names every variable it needs */
    assert_int_equal(tmpl_render_embedded("cluster.yml.tmpl", &tv, &out, &err), -1);
    assert_non_null(strstr(err.buf, "cluster.yml.tmpl:"));
    assert_non_null(strstr(err.buf, "'name' is not set"));
    tmpl_vars_free(&tv);
    sb_release(&out);
    sb_release(&err);
}

/* ---- durations ---- */

static int64_t dur(const char *s)
{
    int64_t ms = -999;
    assert_int_equal(parse_duration_ms(s, &ms), 0);
    return ms;
}

static void test_duration_parse(void **state)
{
    (void)state;
    assert_int_equal(dur("1h30m"), 5400000);
    assert_int_equal(dur("300ms"), 300);
    assert_int_equal(dur("1.5s"), 1500);
    assert_int_equal(dur(".5s"), 500);
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("0s"), 0);
    assert_int_equal(dur("1h2m3.5s"), 3723500);
    assert_int_equal(dur("10m"), 600000);
    assert_int_equal(dur("2m1ms"), 120001);
    assert_int_equal(dur("-5s"), -5000);
    assert_int_equal(dur("+5s"), 5000);
    assert_int_equal(dur("1500us"), 2); /* rounded to the millisecond */
    assert_int_equal(dur("1000000ns"), 1);
    assert_int_equal(dur("3000\xc2\xb5s"), 3);
    static const char *const bad[] = {
        "", "-", "10", "5x", "h", "1h30", "ms", "1..5s", "1 s", " 1s", "1s ",
        "1S", "1hh", ".s", "99999999999999h", "1e3s", "0x10s",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t ms = 0;
        if (parse_duration_ms(bad[i], &ms) != -1) fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct { int64_t ms; const char *s; } cases[] = {
        { 0, "0s" },          { 300, "300ms" },       { 1000, "1s" },
        { 1500, "1s500ms" },  { 61000, "1m1s" },      { 600000, "10m" },
        { 3600000, "1h" },    { 5400000, "1h30m" },   { 3723500, "1h2m3s500ms" },
        { -5000, "-5s" },     { 90000000, "25h" },    { 3600001, "1h1ms" },
    };
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        sb_reset(&sb);
        format_duration_ms(cases[i].ms, &sb);
        assert_string_equal(sb.buf, cases[i].s);
        assert_int_equal(dur(sb.buf), cases[i].ms); /* round trip */
    }
    for (int64_t ms = 1; ms < 100000000; ms = ms * 7 + 3) {
        sb_reset(&sb);
        format_duration_ms(ms, &sb);
        assert_int_equal(dur(sb.buf), ms);
    }
    sb_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sb_init_empty),
        cmocka_unit_test(test_sb_growth),
        cmocka_unit_test(test_sb_addf),
        cmocka_unit_test(test_sb_replace_all),
        cmocka_unit_test(test_sb_detach),
        cmocka_unit_test(test_sb_rtrim_read_file),
        cmocka_unit_test(test_strvec),
        cmocka_unit_test(test_opt_long),
        cmocka_unit_test(test_opt_short),
        cmocka_unit_test(test_opt_list),
        cmocka_unit_test(test_opt_errors),
        cmocka_unit_test(test_opt_required_help),
        cmocka_unit_test(test_opt_dashdash),
        cmocka_unit_test(test_opt_usage),
        cmocka_unit_test(test_tmpl_render),
        cmocka_unit_test(test_tmpl_errors),
        cmocka_unit_test(test_str_to_u64),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
