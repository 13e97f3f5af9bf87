/* test_put: templates/m3fs-put.sh clean, which removes what an upload
 * killed mid-way left on a node (issue 20): matching files only, directly
 * in the directory, and with an age only those not written for that long. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-test-put")

static int exists(const char *name)
{
    char *p = xstrfmt("%s/d/%s", tmpdir, name);
    struct stat st;
    int r = stat(p, &st) == 0;
    free(p);
    return r;
}

static char *clean(const char *args)
{
    char *script = tu_source_path("templates/m3fs-put.sh");
    char *cmd = xstrfmt("cd '%s' && sh '%s' clean %s >out.txt 2>&1", tmpdir, script, args);
    assert_int_equal(system(cmd), 0);
    free(cmd), free(script);
    return tu_read(tmpdir, "out.txt");
}

static void test_clean(void **state)
{
    (void)state;
    char *d = xstrfmt("%s/d", tmpdir);
    assert_int_equal(mkdir(d, 0755), 0);
    const char *files[] = { ".m3fs-tmp..3fs.tar.part.1.2.3", ".3fs_x.docker.part", "keep.part",
                            "3fs_x.docker.sha256", ".m3fs-tmp-no", "sub/.old.part" };
    char *sub = xstrfmt("%s/sub", d);
    assert_int_equal(mkdir(sub, 0755), 0);
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) tu_write(d, files[i], "0123456789");
    char *args = xstrfmt("0 '%s' '.m3fs-tmp.*' '.*.part'", d);
    char *out = clean(args);
    assert_non_null(strstr(out, "/d/.3fs_x.docker.part (10 bytes)"));
    assert_false(exists(".m3fs-tmp..3fs.tar.part.1.2.3"));
    assert_false(exists(".3fs_x.docker.part"));
    assert_true(exists("keep.part"));
    assert_true(exists("3fs_x.docker.sha256"));
    assert_true(exists(".m3fs-tmp-no"));
    assert_true(exists("sub/.old.part")); /* not below the directory */
    free(out), free(args);
    /* with an age: a fresh file (an upload of another run) stays */
    tu_write(d, ".m3fs-upload.fresh", "x");
    tu_write(d, ".m3fs-upload.old", "x");
    char *touch = xstrfmt("touch -d '40 minutes ago' '%s/.m3fs-upload.old'", d);
    assert_int_equal(system(touch), 0);
    args = xstrfmt("30 '%s' '.m3fs-upload.*'", d);
    out = clean(args);
    assert_false(exists(".m3fs-upload.old"));
    assert_true(exists(".m3fs-upload.fresh"));
    free(out), free(args), free(touch);
    /* a missing directory is nothing to clean */
    out = clean("0 /nonexistent-m3fs-dir '.*.part'");
    assert_string_equal(out, "");
    free(out), free(sub), free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
