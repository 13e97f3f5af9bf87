/* fio JSON parsing and the benchmark table, on output of the real fio. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "m3fs/bench.h"
#include "m3fs/strbuf.h"

/* Run the real fio (a Debian package the test command installs) on a
 * small file so the parser sees what fio really prints. */
static int run_fio(const char *rw, struct strbuf *out)
{
    char dir[] = "/tmp/m3fs-bench-XXXXXX";
    if (!mkdtemp(dir)) return -1;
    char *cmd = xstrfmt("fio --name=t --directory=%s --rw=%s --bs=4k --size=2m --numjobs=2 "
                        "--runtime=1 --group_reporting --output-format=json 2>/dev/null; "
                        "rm -rf %s", dir, rw, dir);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) sb_add(out, buf, n);
    return pclose(p) == 0 ? 0 : -1;
}

static void parses_real_fio_write_and_read(void **state)
{
    (void)state;
    struct strbuf js = STRBUF_INIT, err = STRBUF_INIT;
    double iops, bw, lat;
    assert_int_equal(run_fio("write", &js), 0);
    assert_int_equal(bench_parse_fio(js.buf, 1, &iops, &bw, &lat, &err), 0);
    assert_true(iops > 0 && bw > 0 && lat > 0);
    /* The read side of a write job is all zero, not missing. */
    assert_int_equal(bench_parse_fio(js.buf, 0, &iops, &bw, &lat, &err), 0);
    assert_true(iops == 0);
    sb_reset(&js);
    assert_int_equal(run_fio("randread", &js), 0);
    assert_int_equal(bench_parse_fio(js.buf, 0, &iops, &bw, &lat, &err), 0);
    assert_true(iops > 0 && lat > 0);
    sb_release(&js);
    sb_release(&err);
}

static void rejects_garbage_and_fio_errors(void **state)
{
    (void)state;
    struct strbuf err = STRBUF_INIT;
    double a, b, c;
    assert_int_equal(bench_parse_fio("not json", 0, &a, &b, &c, &err), -1);
    assert_non_null(strstr(err.buf, "not JSON"));
    sb_reset(&err);
    assert_int_equal(bench_parse_fio("{\"jobs\":[]}", 0, &a, &b, &c, &err), -1);
    sb_reset(&err);
    const char *e = "{\"jobs\":[{\"error\":5,\"read\":{\"iops\":1,\"bw_bytes\":1,\"lat_ns\":{\"mean\":1}}}]}";
    assert_int_equal(bench_parse_fio(e, 0, &a, &b, &c, &err), -1);
    assert_non_null(strstr(err.buf, "error 5"));
    /* warnings before the JSON document are skipped */
    const char *w = "fio: warning\n{\"jobs\":[{\"error\":0,\"read\":{\"iops\":2,\"bw_bytes\":3,\"lat_ns\":{\"mean\":4}}}]}";
    sb_reset(&err);
    assert_int_equal(bench_parse_fio(w, 0, &a, &b, &c, &err), 0);
    assert_true(a == 2 && b == 3 && c == 4);
    sb_release(&err);
}

static void table_sums_clients(void **state)
{
    (void)state;
    size_t n;
    const struct bench_workload *w = bench_profile("quick", &n);
    assert_non_null(w);
    assert_null(bench_profile("slow", &n));
    struct bench_row r = { .w = &w[0] };
    bench_row_add(&r, 100, 1048576.0 * 100, 2e6);
    bench_row_add(&r, 300, 1048576.0 * 300, 4e6);
    struct strbuf t = STRBUF_INIT;
    bench_table(&r, 1, &t);
    assert_non_null(strstr(t.buf, "OPERATION"));
    assert_non_null(strstr(t.buf, "1 MiB sequential write"));
    assert_non_null(strstr(t.buf, "400.0")); /* MiB/s summed */
    assert_non_null(strstr(t.buf, "3.00 ms")); /* latency averaged */
    assert_null(strstr(t.buf, "O_DIRECT"));
    r.buffered = 1;
    sb_reset(&t);
    bench_table(&r, 1, &t);
    assert_non_null(strstr(t.buf, "1 MiB sequential write *"));
    assert_non_null(strstr(t.buf, "refused O_DIRECT"));
    sb_release(&t);
}

static void fio_command_is_quoted(void **state)
{
    (void)state;
    size_t n;
    const struct bench_workload *w = bench_profile("full", &n);
    struct strbuf cmd = STRBUF_INIT;
    bench_fio_cmd(&w[2], "/opt/3fs/bin/fio", "/mnt/3 fs/m3fs-bench/node'1", 1, &cmd);
    assert_non_null(strstr(cmd.buf, "--directory='/mnt/3 fs/m3fs-bench/node'\\''1'"));
    assert_non_null(strstr(cmd.buf, "--rw=randread --bs=4k"));
    assert_non_null(strstr(cmd.buf, "--direct=1 --group_reporting"));
    assert_non_null(strstr(cmd.buf, "--output-format=json"));
    sb_reset(&cmd);
    bench_fio_cmd(&w[0], "fio", "/mnt/3fs", 0, &cmd);
    assert_non_null(strstr(cmd.buf, "--direct=0 --end_fsync=1"));
    sb_reset(&cmd);
    bench_fio_cmd(&w[1], "fio", "/mnt/3fs", 0, &cmd);
    assert_non_null(strstr(cmd.buf, "--direct=0 --invalidate=1"));
    sb_release(&cmd);
}

/* The fill writes every file of the profile whole: as many jobs as the
 * widest workload, the profile's size, 1 MiB writes, not time-based. */
static void fill_writes_every_file_whole(void **state)
{
    (void)state;
    size_t n;
    struct strbuf cmd = STRBUF_INIT;
    const struct bench_workload *w = bench_profile("full", &n);
    bench_fill_cmd(w, n, "fio", "/mnt/3 fs/d", 1, &cmd);
    assert_non_null(strstr(cmd.buf, "--directory='/mnt/3 fs/d'"));
    assert_non_null(strstr(cmd.buf, "--filename_format='m3fs-bench.$jobnum' --rw=write --bs=1m "
                                    "--size=4g --numjobs=32 "));
    assert_null(strstr(cmd.buf, "time_based"));
    assert_non_null(strstr(cmd.buf, "--direct=1 --group_reporting"));
    sb_reset(&cmd);
    w = bench_profile("quick", &n);
    bench_fill_cmd(w, n, "fio", "/mnt/3fs", 0, &cmd);
    assert_non_null(strstr(cmd.buf, "--size=64m --numjobs=4 "));
    assert_non_null(strstr(cmd.buf, "--direct=0 --end_fsync=1"));
    for (size_t i = 0; i < n; i++) assert_string_equal(w[i].size, "64m");
    sb_release(&cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_real_fio_write_and_read),
        cmocka_unit_test(rejects_garbage_and_fio_errors),
        cmocka_unit_test(table_sums_clients),
        cmocka_unit_test(fio_command_is_quoted),
        cmocka_unit_test(fill_writes_every_file_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
