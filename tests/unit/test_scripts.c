/* test_scripts: every shell script under templates/ passes shellcheck as it
 * is sent: rendered by the template module with values like the ones m3fs
 * sets, then checked as POSIX sh (every script runs under `sh`).  A key
 * without a sample here fails the test, so a new templated script gets
 * one.  Without shellcheck the test is skipped, and fails under CI=true. */
#include "testutil.h"

#include <dirent.h>

#include "m3fs/tmpl.h"

/* Sample values, in the shapes their callers render (src/prepare/
 * network-gen.c, src/services/). */
static const char *const samples[][2] = {
    { "admin_cli", "/opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml" },
    { "admin_cli_root", "/opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli_root.toml" },
    { "container", "'3fs-mgmtd'" },
    { "filter", "'eth0' '10.0.0.5'" },
    { "link_types", "1 32" },
    { "mode", "rxe" },
    { "suspect", "m3fs-suspect: " },
    { "type", "RXE" },
    { "unit", "m3fs-rdma.service" },
};

/* Sets every {{ key }} of text; a key without a sample fails. */
static void set_samples(const char *name, const char *text, struct tmpl_vars *tv,
                        const char *lib)
{
    for (const char *p = strstr(text, "{{ "); p; p = strstr(p + 3, "{{ ")) {
        const char *k = p + 3, *e = strstr(k, " }}");
        if (!e) break;
        char *key = xstrfmt("%.*s", (int)(e - k), k);
        const char *val = !strcmp(key, "lib") ? lib : NULL;
        for (size_t i = 0; !val && i < sizeof(samples) / sizeof(samples[0]); i++)
            if (!strcmp(samples[i][0], key)) val = samples[i][1];
        if (!val) fail_msg("%s: no sample value for {{ %s }} in tests/unit/test_scripts.c", name, key);
        tmpl_set(tv, key, val);
        free(key);
    }
}

static char *render_script(const char *dir, const char *name, const char *lib)
{
    char *path = xstrfmt("%s/%s", dir, name);
    struct strbuf text = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(sb_read_file(&text, path), 0);
    struct tmpl_vars tv = TMPL_VARS_INIT;
    set_samples(name, text.buf, &tv, lib);
    /* Scripts without a {{ key }} are sent as they are (m3fs-facts.sh
     * holds docker's own {{.Name}} formats). */
    if (!tv.keys.n) sb_add(&out, text.buf, text.len);
    else if (tmpl_render(name, text.buf, &tv, &out, &err)) fail_msg("%s", err.buf);
    tmpl_vars_free(&tv);
    sb_release(&text), sb_release(&err), free(path);
    return sb_detach(&out);
}

static int check_one(const char *tmp, const char *name, const char *script)
{
    char *path = xstrfmt("%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(script, f);
    assert_int_equal(fclose(f), 0);
    char *cmd = xstrfmt("shellcheck -s sh -f gcc '%s'", path);
    int rc = system(cmd);
    if (rc) fprintf(stderr, "shellcheck: templates/%s (rendered, as above) fails\n", name);
    free(cmd), free(path);
    return rc != 0;
}

static void test_shellcheck_templates(void **state)
{
    (void)state;
    if (system("command -v shellcheck >/dev/null 2>&1"))
        TU_SKIP_UNLESS_CI("shellcheck not found (scripts/install-deps.sh installs it)");
    char *dir = tu_source_path("templates"), *tmp = tu_tmpdir("m3fs-shellcheck");
    assert_non_null(tmp);
    char *lib = render_script(dir, "net-lib.sh", NULL);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int bad = 0, n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".sh")) continue;
        char *script = render_script(dir, e->d_name, lib);
        bad += check_one(tmp, e->d_name, script);
        n++;
        free(script);
    }
    closedir(d);
    tu_rmtree(tmp);
    free(lib), free(dir), free(tmp);
    assert_true(n >= 5);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shellcheck_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
