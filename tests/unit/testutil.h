/* testutil.h: helpers shared by the unit tests (header only; every function
 * is static inline, so a test includes this and uses what it needs).
 *
 * Ownership: functions returning char * return heap strings the caller
 * frees; configs are freed with config_free(). */
#ifndef M3FS_TESTUTIL_H
#define M3FS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "m3fs/config.h"
#include "m3fs/diag.h"
#include "m3fs/strbuf.h"

/* Five lines of a "services:" map: fdb, clickhouse, monitor, mgmtd and meta,
 * each on node n1 (callers add storage and client). */
#define TU_SVCS_N1                  \
    "  fdb: {nodes: [n1]}\n"        \
    "  clickhouse: {nodes: [n1]}\n" \
    "  monitor: {nodes: [n1]}\n"    \
    "  mgmtd: {nodes: [n1]}\n"      \
    "  meta: {nodes: [n1]}\n"

/* A cluster.yml named name (a string literal) of four nodes n1..n4
 * (198.18.0.11-14, root): fdb, clickhouse, monitor, mgmtd (stripeSize 2)
 * and meta on n1, storage on all four (diskType dir, 1 disk per node,
 * replicationFactor 2, 2 targets per disk); more services may follow (the
 * scale tests: test_create_case, test_drained). */
#define TU_YAML_STORAGE4(name)                            \
    "name: \"" name "\"\n"                                 \
    "workDir: \"/opt/3fs\"\n"                             \
    "networkType: \"TCP\"\n"                              \
    "nodes:\n"                                            \
    "  - {name: n1, host: 198.18.0.11, username: root}\n" \
    "  - {name: n2, host: 198.18.0.12, username: root}\n" \
    "  - {name: n3, host: 198.18.0.13, username: root}\n" \
    "  - {name: n4, host: 198.18.0.14, username: root}\n" \
    "services:\n"                                         \
    "  fdb: {nodes: [n1]}\n"                              \
    "  clickhouse: {nodes: [n1]}\n"                       \
    "  monitor: {nodes: [n1]}\n"                          \
    "  mgmtd: {nodes: [n1], stripeSize: 2}\n"             \
    "  meta: {nodes: [n1]}\n"                             \
    "  storage:\n"                                        \
    "    nodes: [n1, n2, n3, n4]\n"                       \
    "    diskType: dir\n"                                 \
    "    diskNumPerNode: 1\n"                             \
    "    replicationFactor: 2\n"                          \
    "    targetNumPerDisk: 2\n"

/* A check that needs a tool this machine lacks: skipped here, but a failure
 * under CI (CI=true), where every check must run. */
#define TU_SKIP_UNLESS_CI(why)                                        \
    do {                                                              \
        const char *ci_ = getenv("CI");                               \
        if (ci_ && !strcmp(ci_, "true")) fail_msg("%s (CI=true)", (why)); \
        fprintf(stderr, "skipped: %s\n", (why));                     \
        skip();                                                       \
    } while (0)

/* $M3FS_SOURCE_DIR/rel (ctest sets the variable). */
static inline char *tu_source_path(const char *rel)
{
    const char *root = getenv("M3FS_SOURCE_DIR");
    if (!root) fail_msg("M3FS_SOURCE_DIR is not set (run the tests through ctest)");
    return xstrfmt("%s/%s", root, rel);
}

/* The one golden-file check: `got` must equal the file at rel (a path below
 * $M3FS_SOURCE_DIR); with M3FS_UPDATE_GOLDEN set the file is rewritten
 * first (review the diff before committing it). */
static inline void tu_check_golden(const char *rel, const char *got, size_t len)
{
    char *path = tu_source_path(rel);
    const char *upd = getenv("M3FS_UPDATE_GOLDEN");
    if (upd && *upd) {
        FILE *f = fopen(path, "w");
        if (!f || fwrite(got, 1, len, f) != len || fclose(f)) fail_msg("cannot write %s", path);
    }
    struct strbuf want = STRBUF_INIT;
    if (sb_read_file(&want, path)) fail_msg("cannot read %s", path);
    if (want.len != len || memcmp(want.buf, got, len))
        fail_msg("output differs from %s; review it and rerun with M3FS_UPDATE_GOLDEN=1 to "
                 "accept. Got:\n%.*s", rel, (int)len, got);
    sb_release(&want);
    free(path);
}

/* A new directory /tmp/<prefix>-XXXXXX, or NULL when it cannot be made. */
static inline char *tu_tmpdir(const char *prefix)
{
    char *d = xstrfmt("/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(d)) return d;
    free(d);
    return NULL;
}

/* rm -rf dir; returns system()'s status (0 when it worked). */
static inline int tu_rmtree(const char *dir)
{
    char *cmd = xstrfmt("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* A scratch directory for a whole test file: defines `static char *tmpdir`
 * and the group fixtures `setup` (makes /tmp/<prefix>-XXXXXX) and
 * `teardown` (removes it with everything in it), for
 * cmocka_run_group_tests(tests, setup, teardown). */
#define TU_TMPDIR_FIXTURE(prefix)                \
    static char *tmpdir;                         \
    static int setup(void **state)               \
    {                                            \
        (void)state;                             \
        tmpdir = tu_tmpdir(prefix);              \
        return tmpdir ? 0 : -1;                  \
    }                                            \
    static int teardown(void **state)            \
    {                                            \
        (void)state;                             \
        int rc = tu_rmtree(tmpdir);              \
        free(tmpdir);                            \
        return rc;                               \
    }

/* Write len bytes to path (created or truncated); any failure fails the test. */
static inline void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Write text to dir/name. */
static inline void tu_write(const char *dir, const char *name, const char *text)
{
    char *path = xstrfmt("%s/%s", dir, name);
    tu_write_file(path, text, strlen(text));
    free(path);
}

/* Write text to dir/name and make it executable (a fake program). */
static inline void tu_write_exec(const char *dir, const char *name, const char *text)
{
    char *path = xstrfmt("%s/%s", dir, name);
    tu_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, 0755), 0);
    free(path);
}

/* The contents of dir/name, which must be readable. */
static inline char *tu_read(const char *dir, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    char *path = xstrfmt("%s/%s", dir, name);
    assert_int_equal(sb_read_file(&sb, path), 0);
    free(path);
    return sb_detach(&sb);
}

/* Load yaml as "cluster.yml"; it must load (warnings allowed).  The
 * diagnostics are printed when it does not. */
static inline struct m3fs_config *tu_load_yaml(const char *yaml)
{
    struct diag_list dl = { 0 };
    struct m3fs_config *cfg = config_load_buffer(yaml, strlen(yaml), "cluster.yml", NULL, &dl);
    if (!cfg) diag_print(&dl, stderr);
    diag_list_free(&dl);
    assert_non_null(cfg);
    return cfg;
}

/* Load the file at path; it must load with no error and no warning.  The
 * diagnostics are printed when it does not. */
static inline struct m3fs_config *tu_load_file_clean(const char *path)
{
    struct diag_list dl = { 0 };
    struct m3fs_config *c = config_load_file(path, NULL, &dl);
    if (!c || dl.errors || dl.warnings) {
        diag_print(&dl, stderr);
        fprintf(stderr, "%s must load without errors or warnings\n", path);
    }
    assert_non_null(c);
    assert_int_equal(dl.errors, 0);
    assert_int_equal(dl.warnings, 0);
    diag_list_free(&dl);
    return c;
}

#endif
