/* test_shquote: sh_quote()/sh_quote_argv() checked against a real /bin/sh.
 * Each hostile string is quoted, given to `/bin/sh -c "printf %s <word>"`,
 * and the shell's output must equal the original bytes exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "m3fs/shquote.h"
#include "m3fs/strbuf.h"

/* Run /bin/sh -c script; capture stdout into out; return exit status. */
static int run_sh(const char *script, struct strbuf *out)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        sb_add(out, buf, (size_t)n);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *const hostile[] = {
    "",
    "plain",
    "two words",
    "'",
    "''",
    "it's",
    "\"double\"",
    "$(touch /tmp/m3fs-shquote-pwned)",
    "`touch /tmp/m3fs-shquote-pwned`",
    "a; touch /tmp/m3fs-shquote-pwned",
    "a && false || true",
    "line1\nline2\n",
    "\n",
    "$HOME ${PATH} $1 $@ $*",
    "back\\slash\\",
    "*.c ?[a-z] ~root",
    "tab\there",
    "end with quote'",
    "'start with quote",
    "'\\''",
    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    "\x01\x02\x7f\xff\xfe",
    "-n",
    "--",
    "%s %d %%",
    "a|b>c<d&e",
    "#comment",
    "!history",
};

static void test_each_hostile_string_round_trips(void **state)
{
    (void)state;
    unlink("/tmp/m3fs-shquote-pwned");
    for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
        struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
        sb_adds(&cmd, "printf %s ");
        sh_quote(&cmd, hostile[i]);
        assert_int_equal(run_sh(cmd.buf, &out), 0);
        assert_int_equal(out.len, strlen(hostile[i]));
        assert_memory_equal(out.buf, hostile[i], out.len);
        sb_release(&cmd);
        sb_release(&out);
    }
    assert_int_not_equal(access("/tmp/m3fs-shquote-pwned", F_OK), 0);
}

static void test_quoted_word_is_one_word(void **state)
{
    (void)state;
    /* Each quoted value must arrive as exactly one argument. */
    for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
        struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
        sb_adds(&cmd, "set -- ");
        sh_quote(&cmd, hostile[i]);
        sb_adds(&cmd, "; printf %s $#");
        assert_int_equal(run_sh(cmd.buf, &out), 0);
        assert_string_equal(out.buf, "1");
        sb_release(&cmd);
        sb_release(&out);
    }
}

static void test_argv_joins_words(void **state)
{
    (void)state;
    const char *argv[] = { "printf", "[%s]", "a b", "", "it's", "$(id)", "x\ny", NULL };
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    sh_quote_argv(&cmd, argv);
    assert_int_equal(run_sh(cmd.buf, &out), 0);
    assert_string_equal(out.buf, "[a b][][it's][$(id)][x\ny]");
    sb_release(&cmd);
    sb_release(&out);
}

static void test_exact_encoding(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    sh_quote(&sb, "it's");
    assert_string_equal(sb.buf, "'it'\\''s'");
    sb_reset(&sb);
    sh_quote(&sb, "");
    assert_string_equal(sb.buf, "''");
    sb_reset(&sb);
    const char *empty[] = { NULL };
    sh_quote_argv(&sb, empty);
    assert_string_equal(sb.buf, "");
    sh_quote_argv(&sb, NULL);
    assert_string_equal(sb.buf, "");
    sb_release(&sb);
}

static void test_nested_quoting(void **state)
{
    (void)state;
    /* sh -c <quoted script> where the script itself holds a quoted value:
     * the shape used for sudo/timeout wrapping. */
    for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
        struct strbuf inner = STRBUF_INIT, outer = STRBUF_INIT, out = STRBUF_INIT;
        sb_adds(&inner, "printf %s ");
        sh_quote(&inner, hostile[i]);
        sb_adds(&outer, "exec sh -c ");
        sh_quote(&outer, inner.buf);
        assert_int_equal(run_sh(outer.buf, &out), 0);
        assert_int_equal(out.len, strlen(hostile[i]));
        assert_memory_equal(out.buf, hostile[i], out.len);
        sb_release(&inner);
        sb_release(&outer);
        sb_release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_hostile_string_round_trips),
        cmocka_unit_test(test_quoted_word_is_one_word),
        cmocka_unit_test(test_argv_joins_words),
        cmocka_unit_test(test_exact_encoding),
        cmocka_unit_test(test_nested_quoting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
