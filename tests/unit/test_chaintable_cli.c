/* test_chaintable_cli: runs the real m3fs binary ($M3FS_BIN) for
 * `chain-table generate` and `chain-table verify` and checks exit codes,
 * messages and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "m3fs/chaintable.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

static const char *bin;
static char *tmp;   /* per-test scratch directory */
static struct strbuf out = STRBUF_INIT; /* stdout + stderr of the last run */

/* Run "m3fs ARGS" (ARGS is shell text built from fixed words and tmp paths). */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
    struct strbuf cmd = STRBUF_INIT;
    va_list ap;
    sb_addf(&cmd, "'%s' ", bin);
    va_start(ap, fmt);
    sb_vaddf(&cmd, fmt, ap);
    va_end(ap);
    sb_addf(&cmd, " >'%s/out.txt' 2>&1", tmp);
    int st = system(cmd.buf);
    sb_release(&cmd);
    char *path = xstrfmt("%s/out.txt", tmp);
    sb_reset(&out);
    assert_int_equal(sb_read_file(&out, path), 0);
    free(path);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void expect(const char *needle)
{
    if (needle && !strstr(out.buf, needle)) fail_msg("output lacks '%s':\n%s", needle, out.buf);
}

#define RUN_EXPECT(code, needle, ...)                                                         \
    do {                                                                                      \
        int rc_ = run(__VA_ARGS__);                                                           \
        if (rc_ != (code)) fail_msg("exit %d, wanted %d:\n%s", rc_, (code), out.buf);         \
        expect(needle);                                                                \
    } while (0)

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir("m3fs-ctcli");
    assert_non_null(tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(tu_rmtree(tmp), 0);
    free(tmp);
    return 0;
}

static char *slurp(const char *name)
{
    return tu_read(tmp, name);
}

static void spill(const char *name, const char *text)
{
    tu_write(tmp, name, text);
}

static void test_generate_flags(void **state)
{
    (void)state;
    RUN_EXPECT(0, "r = 12: upstream rule", "chain-table generate --nodes 25 "
               "--replication-factor 3 --targets-per-disk 6 --disks-per-node 2 -o '%s/a/b'", tmp);
    expect("6 was raised because r*(k-1) = 12 < v-1 = 24");
    expect("chains per disk index b = 100, chains = 200, targets = 600");
    expect("ideal band [1, 1]: within");
    expect("valid: 0 errors");
    char *chains = slurp("a/b/" CT_FILE_CHAINS);
    assert_true(!strncmp(chains, "ChainId,TargetId,TargetId,TargetId\n900100001,1010", 49));
    free(chains);
    RUN_EXPECT(0, "valid: 0 errors, 0 warnings", "chain-table verify '%s/a/b' "
               "--replication-factor 3 --disks-per-node 2 --stripe-size 16", tmp);
    RUN_EXPECT(1, "nodes have 1 disks", "chain-table verify '%s/a/b' --disks-per-node 1", tmp);
}

static void test_generate_options(void **state)
{
    (void)state;
    RUN_EXPECT(0, "large-cluster rule", "chain-table generate --nodes 300 "
               "--replication-factor 2 --node-id-begin 20001 --target-id-prefix 2 "
               "--chain-id-prefix 7 --rotate-heads --interleave --disks-per-node 2 -o '%s'",
               tmp);
    expect("heads rotated, chain table interleaved");
    expect("chain heads per node: 32..32");
    char *create = slurp(CT_FILE_CREATE), *table = slurp(CT_FILE_TABLE);
    assert_non_null(strstr(create, "--node-id 20300 --disk-index 1 --target-id 202030000201"));
    assert_non_null(strstr(create, "--chain-id 700100001  --use-new-chunk-engine\n"));
    assert_true(!strncmp(table, "ChainId\n700100001\n700200001\n700100002\n", 38));
    free(create);
    free(table);
}

static void test_generate_usage_errors(void **state)
{
    (void)state;
    RUN_EXPECT(2, "at least 1", "chain-table generate --nodes 3 --replication-factor 0 -o '%s'",
               tmp);
    RUN_EXPECT(2, "needs at least 3 storage nodes",
               "chain-table generate --nodes 2 --replication-factor 3 -o '%s'", tmp);
    RUN_EXPECT(2, "missing required option --output", "chain-table generate --nodes 3");
    RUN_EXPECT(2, "whole number", "chain-table generate --nodes x -o '%s'", tmp);
    RUN_EXPECT(2, "either -c FILE or --nodes", "chain-table generate -o '%s'", tmp);
    RUN_EXPECT(2, "does not fit in 32 bits",
               "chain-table generate --nodes 3 --chain-id-prefix 43 -o '%s'", tmp);
    RUN_EXPECT(2, "1..99", "chain-table generate --nodes 3 --targets-per-disk 100 -o '%s'", tmp);
    RUN_EXPECT(2, "at most 1000", "chain-table generate --nodes 1001 -o '%s'", tmp);
    RUN_EXPECT(2, "do not combine", "chain-table generate -c '%s/x.yml' --nodes 3 -o '%s'", tmp,
               tmp);
    RUN_EXPECT(2, "unexpected argument", "chain-table generate --nodes 3 -o '%s' extra", tmp);
    RUN_EXPECT(1, NULL, "chain-table generate -c '%s/missing.yml' -o '%s'", tmp, tmp);
    spill("plainfile", "x");
    RUN_EXPECT(1, "cannot create directory", "chain-table generate --nodes 3 -o '%s/plainfile/d'",
               tmp);
}

/* -c: the sample from `config create` has 2 storage nodes, k = 2, r = 32. */
static void test_generate_from_config(void **state)
{
    (void)state;
    RUN_EXPECT(0, NULL, "config create -f '%s/cluster.yml'", tmp);
    RUN_EXPECT(0, "storage nodes v = 2, replication factor k = 2",
               "chain-table generate -c '%s/cluster.yml' -o '%s/out'", tmp, tmp);
    char *create = slurp("out/" CT_FILE_CREATE);
    assert_non_null(strstr(create, "create-target --node-id 10002 --disk-index 0 --target-id "
                                   "101000200132 --chain-id 900100032  --use-new-chunk-engine\n"));
    free(create);
    /* the file's own numbers are used */
    char *yml = slurp("cluster.yml");
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, yml);
    sb_replace_all(&sb, "diskNumPerNode: 1", "diskNumPerNode: 3");
    sb_replace_all(&sb, "chainIDPrefix: 9", "chainIDPrefix: 5");
    spill("cluster.yml", sb.buf);
    RUN_EXPECT(0, "disks per node = 3", "chain-table generate -c '%s/cluster.yml' -o '%s/out'",
               tmp, tmp);
    char *table = slurp("out/" CT_FILE_TABLE);
    assert_non_null(strstr(table, "\n500300032\n"));
    free(table);
    free(yml);
    sb_release(&sb);
}

static void test_verify_errors(void **state)
{
    (void)state;
    RUN_EXPECT(2, "missing argument: expected 1, got 0", "chain-table verify");
    RUN_EXPECT(1, "cannot read", "chain-table verify '%s'", tmp);
    RUN_EXPECT(0, NULL, "chain-table generate --nodes 4 --replication-factor 2 "
               "--targets-per-disk 3 -o '%s'", tmp);
    char *chains = slurp(CT_FILE_CHAINS);
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, chains);
    sb_adds(&sb, "900100099,101000100101,101000100101\n"); /* reused target, one node twice */
    spill(CT_FILE_CHAINS, sb.buf);
    RUN_EXPECT(1, "error: chain 900100099 has two targets on node 10001", "chain-table verify '%s'",
               tmp);
    expect("INVALID");
    expect("warning: 1 defined chains are not in the chain table");
    free(chains);
    sb_release(&sb);
}

int main(void)
{
    bin = getenv("M3FS_BIN");
    if (!bin) {
        fprintf(stderr, "M3FS_BIN must be set (run through ctest)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_from_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_errors, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sb_release(&out);
    return rc;
}
