/* test_scale_room: the room check of add-storage-nodes /
 * remove-storage-nodes (docs/scale.md "Room for the moved bytes"): the df
 * output of templates/m3fs-scale.sh space read (remote, untrusted), the
 * needs summed per filesystem and judged with the margin 3FS keeps free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"
#include "testutil.h"

#define GIB (1024ull * 1024 * 1024)
#define BASE "/w/storage/3fsdata"

/* What `m3fs-scale.sh space /w/storage/3fsdata 2` prints: disk 0 on its
 * own filesystem, disk 1 still on the root one. */
static const char two_disks[] =
    "== 0 ==\n"
    "Filesystem        1-blocks        Used   Available Capacity Mounted on\n"
    "/dev/nvme0n1  107374182400 10737418240 96636764160      10% /w/storage/3fsdata/data0\n"
    "== 1 ==\r\n"
    "Filesystem     1-blocks     Used Available Capacity Mounted on\r\n"
    "overlay     53687091200 1073741824 52613349376       2% /\r\n";

static void test_space_parse(void **state)
{
    (void)state;
    struct sc_space sp[2];
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(sc_parse_space(two_disks, 2, NULL, sp, &err), 0);
    assert_int_equal(sp[0].disk, 0);
    assert_true(sp[0].size == 107374182400ull);
    assert_true(sp[0].avail == 96636764160ull);
    assert_string_equal(sp[0].mount, BASE "/data0");
    assert_true(sp[1].size == 53687091200ull);
    assert_true(sp[1].avail == 52613349376ull);
    assert_string_equal(sp[1].mount, "/");
    assert_true(sp[0].known && sp[1].known);
    /* NVMe: a path counts only on its own disk's filesystem */
    assert_int_equal(sc_parse_space(two_disks, 2, BASE, sp, &err), 0);
    assert_true(sp[0].known);
    assert_false(sp[1].known);
    /* a mount point with a space is kept whole */
    assert_int_equal(sc_parse_space("== 0 ==\nFilesystem x\nd 100 1 99 1% /mnt/a b\n", 1, NULL,
                                    sp, &err), 0);
    assert_string_equal(sp[0].mount, "/mnt/a b");
    sb_release(&err);
}

static void test_space_rejects(void **state)
{
    (void)state;
    static const struct { const char *text, *says; } bad[] = {
        { "", "no df output for disk index 0" },
        { "garbage\n", "expected '== DISK-INDEX =='" },
        { "== 0 ==\ndf: /w: No such file\n", "no df header line" },
        { "== 0 ==\nFilesystem x\n", "disk index 0: no df data line" },
        { "== 0 ==\nFilesystem x\nd 1k 1 99 1% /\n", "not a df -P -B1 data line" },
        { "== 0 ==\nFilesystem x\nd -100 1 99 1% /\n", "not a df -P -B1 data line" },
        { "== 0 ==\nFilesystem x\nd 100 1 99999999999999999999 1% /\n", "not a df -P -B1" },
        { "== 0 ==\nFilesystem x\nd 100 1 101 1% /\n", "bad df numbers" },
        { "== 0 ==\nFilesystem x\nd 100 1 99 1% relative\n", "bad df numbers" },
        { "== 0 ==\nFilesystem x\nd 100 1 99 1%\n", "not a df -P -B1 data line" },
        { "== 0 ==\nFilesystem x\nd 100 1 99 1% /a\x1b\n", "control character" },
        { "== 0 ==\nFilesystem x\nd 100 1 99 1% /\n== 0 ==\n", "expected '== DISK-INDEX =='" },
        { "== 2 ==\nFilesystem x\nd 100 1 99 1% /\n", "expected '== DISK-INDEX =='" },
        { "== 0 ==\nFilesystem x\nd 100 1 99 1% /\n", "no df output for disk index 1" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sc_space sp[2];
        struct strbuf err = STRBUF_INIT;
        assert_int_equal(sc_parse_space(bad[i].text, 2, NULL, sp, &err), -1);
        if (!strstr(err.buf, bad[i].says)) fail_msg("case %zu: %s", i, err.buf);
        sb_release(&err);
    }
    struct sc_space sp[1];
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(sc_parse_space("== 0 ==\n", 0, NULL, sp, &err), -1);
    sb_release(&err);
}

/* Node 10004 ("n4"): disk 0 alone on a 100 GiB filesystem with avail
 * free, disks 1 and 2 sharing a 50 GiB one with 40 GiB free. */
static void spaces(struct sc_space sp[3], uint64_t avail)
{
    memset(sp, 0, 3 * sizeof(*sp));
    for (uint32_t d = 0; d < 3; d++) {
        sp[d].node = 10004, sp[d].disk = d, sp[d].name = "n4", sp[d].known = 1, sp[d].seen = 1;
        sp[d].size = d ? 50 * GIB : 100 * GIB;
        sp[d].avail = d ? 40 * GIB : avail;
        snprintf(sp[d].mount, sizeof(sp[d].mount), "%s", d ? "/" : BASE "/data0");
    }
}

static void test_room_enough(void **state)
{
    (void)state;
    struct sc_space sp[3];
    spaces(sp, 60 * GIB);
    const struct sc_need need[] = { { 10004, 0, 10 * GIB }, { 10004, 1, 1 * GIB } };
    struct strbuf rep = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(sc_room_judge(need, 2, sp, 3, BASE, &rep, &err), 0);
    assert_int_equal(err.len, 0);
    assert_non_null(strstr(rep.buf, "n4 (node 10004) " BASE "/data0/3fs (filesystem " BASE
                                    "/data0): 1 move, 10737418240 bytes (10.0 GiB) to receive"));
    assert_non_null(strstr(rep.buf, BASE "/data1/3fs (filesystem /)"));
    assert_null(strstr(rep.buf, "NOT ENOUGH"));
    sb_release(&rep), sb_release(&err);
}

static void test_room_not_enough(void **state)
{
    (void)state;
    struct sc_space sp[3];
    spaces(sp, 5 * GIB);
    const struct sc_need need[] = { { 10004, 0, 6 * GIB } };
    struct strbuf rep = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(sc_room_judge(need, 1, sp, 3, BASE, &rep, &err), -1);
    assert_non_null(strstr(rep.buf, "NOT ENOUGH ROOM"));
    assert_non_null(strstr(err.buf, "storage node n4 (node 10004), target path(s) " BASE
                                    "/data0/3fs (filesystem " BASE "/data0): the moves put "
                                    "6442450944 bytes (6.0 GiB) there, but 5368709120 bytes "
                                    "(5.0 GiB) are free"));
    assert_non_null(strstr(err.buf, "add storage nodes or disks, or free space"));
    assert_non_null(strstr(err.buf, "CheckWorker.cc"));
    sb_release(&rep), sb_release(&err);
}

/* Several moves to one path are summed, and so are paths sharing one
 * filesystem: each fits alone, together they do not. */
static void test_room_summed(void **state)
{
    (void)state;
    struct sc_space sp[3];
    spaces(sp, 60 * GIB);
    const struct sc_need one_path[] = { { 10004, 0, 30 * GIB }, { 10004, 0, 30 * GIB } };
    struct strbuf rep = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(sc_room_judge(one_path, 1, sp, 3, BASE, NULL, &err), 0);
    assert_int_equal(sc_room_judge(one_path, 2, sp, 3, BASE, &rep, &err), -1);
    assert_non_null(strstr(rep.buf, "2 moves, 64424509440 bytes"));
    sb_release(&rep), sb_release(&err);
    const struct sc_need shared[] = { { 10004, 1, 20 * GIB }, { 10004, 2, 20 * GIB } };
    assert_int_equal(sc_room_judge(shared, 1, sp, 3, BASE, NULL, &err), 0);
    assert_int_equal(sc_room_judge(shared, 2, sp, 3, BASE, &rep, &err), -1);
    assert_non_null(strstr(err.buf, "target path(s) " BASE "/data1/3fs, " BASE "/data2/3fs "
                                    "(filesystem /): the moves put 42949672960 bytes"));
    /* one line per filesystem */
    assert_int_equal(strstr(rep.buf, "\n")[1], 0);
    sb_release(&rep), sb_release(&err);
}

/* 4 % of the size stays free (3FS's low-space mark, 96 % used). */
static void test_room_margin(void **state)
{
    (void)state;
    struct sc_space sp[3];
    spaces(sp, 60 * GIB);
    uint64_t keep = sc_room_reserve(100 * GIB);
    assert_true(keep == 4 * GIB);
    assert_true(sc_room_reserve(101) == 5); /* rounded up */
    assert_true(sc_room_reserve(UINT64_MAX) > UINT64_MAX / 100 * 3);
    struct sc_need need = { 10004, 0, 60 * GIB - keep };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(sc_room_judge(&need, 1, sp, 3, BASE, NULL, &err), 0);
    need.bytes++;
    assert_int_equal(sc_room_judge(&need, 1, sp, 3, BASE, NULL, &err), -1);
    assert_non_null(strstr(err.buf, "4294967296 bytes (4.0 GiB, 4 % of 100.0 GiB) must stay free"));
    sb_release(&err);
    /* a filesystem already past the mark takes not even an empty target */
    sp[0].avail = keep - 1;
    need.bytes = 0;
    assert_int_equal(sc_room_judge(&need, 1, sp, 3, BASE, NULL, &err), -1);
    sb_release(&err);
    /* sums that would overflow are refused, not wrapped */
    const struct sc_need huge[] = { { 10004, 0, UINT64_MAX }, { 10004, 0, 2 } };
    assert_int_equal(sc_room_judge(huge, 2, sp, 3, BASE, NULL, &err), -1);
    sb_release(&err);
}

/* A not yet mounted NVMe disk is reported, not judged; a need with no df
 * figure is an error. */
static void test_room_unknown(void **state)
{
    (void)state;
    struct sc_space sp[3];
    spaces(sp, 1);
    sp[0].known = 0;
    const struct sc_need need[] = { { 10004, 0, 10 * GIB } };
    struct strbuf rep = STRBUF_INIT, err = STRBUF_INIT;
    assert_int_equal(sc_room_judge(need, 1, sp, 3, BASE, &rep, &err), 0);
    assert_non_null(strstr(rep.buf, "free space not known"));
    sb_release(&rep);
    const struct sc_need other[] = { { 10005, 0, 1 } };
    assert_int_equal(sc_room_judge(other, 1, sp, 3, BASE, &rep, &err), -1);
    assert_non_null(strstr(err.buf, "no free-space figure for storage node 10005, disk index 0"));
    sb_release(&rep), sb_release(&err);
}

/* Parsed output judged: the two go together as the command uses them. */
static void test_room_from_df(void **state)
{
    (void)state;
    struct sc_space sp[2];
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(sc_parse_space(two_disks, 2, NULL, sp, &err), 0);
    sp[0].node = sp[1].node = 10007, sp[0].name = sp[1].name = "n7";
    /* disk 1: 52613349376 free, 2147483648 (4 % of 50 GiB) kept */
    const struct sc_need fits = { 10007, 1, 52613349376ull - 2147483648ull };
    const struct sc_need over = { 10007, 1, 52613349376ull - 2147483648ull + 1 };
    assert_int_equal(sc_room_judge(&fits, 1, sp, 2, BASE, NULL, &err), 0);
    assert_int_equal(sc_room_judge(&over, 1, sp, 2, BASE, NULL, &err), -1);
    assert_non_null(strstr(err.buf, "storage node n7 (node 10007)"));
    sb_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_parse),   cmocka_unit_test(test_space_rejects),
        cmocka_unit_test(test_room_enough),   cmocka_unit_test(test_room_not_enough),
        cmocka_unit_test(test_room_summed),   cmocka_unit_test(test_room_margin),
        cmocka_unit_test(test_room_unknown),  cmocka_unit_test(test_room_from_df),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
