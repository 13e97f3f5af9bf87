/* test_disks: templates/m3fs-disks.sh run against stand-in lsblk, blkid,
 * wipefs and mkfs.xfs (shell stubs on PATH in a temp dir), for what it
 * decides before it formats.  The mkfs.xfs stub records its arguments and
 * fails, so the script never gets as far as /etc/fstab or mount. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-test-disks")

/* Stubs read the node's disks from $FAKE: one line per disk,
 * "NAME SIGNATURES PARTITIONS [LABEL]" ("-" for none). */
static const char *const stubs[][2] = {
    { "lsblk",
      "#!/bin/sh\n"
      "case \"$*\" in\n"
      "'-dn -o NAME,TYPE') awk '{print $1, \"disk\"}' \"$FAKE\" ;;\n"
      "'-n -o MOUNTPOINT '*) ;;\n"
      "'-nr -o NAME '*) d=${4#/dev/}; echo \"$d\"\n"
      "    awk -v d=\"$d\" '$1 == d && $3 != \"-\" {print $3}' \"$FAKE\" | tr , '\\n' ;;\n"
      "*) echo \"lsblk stub: $*\" >&2; exit 1 ;;\n"
      "esac\n" },
    { "blkid",
      "#!/bin/sh\n"
      "case \"$1\" in\n"
      "-L) awk -v l=\"$2\" '$4 == l {print \"/dev/\" $1; f = 1} END {exit f ? 0 : 2}' "
      "\"$FAKE\" ;;\n"
      "*) for a; do dev=$a; done\n"
      "    awk -v d=\"${dev#/dev/}\" '$1 == d && $4 != \"\" && $4 != \"-\" {print $4}' "
      "\"$FAKE\" ;;\n"
      "esac\n" },
    { "wipefs",
      "#!/bin/sh\n"
      "case \"$*\" in *-a*) echo 'wipefs stub: no -a here' >&2; exit 1 ;; esac\n"
      "for a; do dev=$a; done\n"
      "awk -v d=\"${dev#/dev/}\" '$1 == d && $2 != \"-\" {print $2}' \"$FAKE\" | tr , '\\n'\n" },
    { "mkfs.xfs", "#!/bin/sh\necho \"mkfs.xfs $*\" >>\"$MKFS_LOG\"\nexit 1\n" },
    { "mountpoint", "#!/bin/sh\nexit 1\n" },
    { "udevadm", "#!/bin/sh\nexit 0\n" },
};

static void write_stubs(const char *bin)
{
    mkdir(bin, 0755);
    for (size_t i = 0; i < ARRAY_SIZE(stubs); i++) {
        char *p = xstrfmt("%s/%s", bin, stubs[i][0]);
        tu_write_file(p, stubs[i][1], strlen(stubs[i][1]));
        assert_int_equal(chmod(p, 0755), 0);
        free(p);
    }
}

struct run {
    int rc;
    char *err;  /* the script's stderr */
    char *mkfs; /* what mkfs.xfs was asked, "" if nothing */
};

/* Run `m3fs-disks prepare BASE count nvme 4096 ARGS` on a node with `disks`. */
static struct run run_disks(const char *disks, int count, const char *args)
{
    char *bin = xstrfmt("%s/bin", tmpdir);
    write_stubs(bin);
    tu_write(tmpdir, "fake", disks);
    tu_write(tmpdir, "mkfs.log", "");
    char *script = tu_source_path("templates/m3fs-disks.sh");
    char *cmd = xstrfmt("cd '%s' && PATH='%s':\"$PATH\" FAKE=fake MKFS_LOG='%s/mkfs.log' "
                        "sh '%s' prepare '%s/base' %d nvme 4096 %s 2>err.txt",
                        tmpdir, bin, tmpdir, script, tmpdir, count, args);
    int st = system(cmd);
    struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : -1, tu_read(tmpdir, "err.txt"),
                     tu_read(tmpdir, "mkfs.log") };
    free(cmd), free(script), free(bin);
    return r;
}

static void run_free(struct run *r)
{
    free(r->err);
    free(r->mkfs);
}

/* F5: with --format-disks, a free disk holding a filesystem, LVM or md
 * signature, or partitions, is passed over; a blank one is taken. */
static void test_auto_pick_skips_held_disks(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 ext4 -\nnvme1n1 LVM2_member -\nnvme2n1 - nvme2n1p1\n"
                             "nvme3n1 - -\n", 1, "--format-disks");
    if (!strstr(r.mkfs, "/dev/nvme3n1")) fprintf(stderr, "mkfs: %s\nerr: %s\n", r.mkfs, r.err);
    assert_non_null(strstr(r.mkfs, "/dev/nvme3n1"));
    assert_null(strstr(r.mkfs, "nvme0n1"));
    assert_null(strstr(r.mkfs, "nvme1n1"));
    assert_null(strstr(r.mkfs, "nvme2n1"));
    run_free(&r);
}

/* No blank disk: nothing is formatted, and the error lists each disk that
 * was passed over with what it holds. */
static void test_held_disks_refused(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 ext4 -\nnvme1n1 linux_raid_member -\n", 1,
                             "--format-disks");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "/dev/nvme0n1 (holds: ext4)"));
    assert_non_null(strstr(r.err, "/dev/nvme1n1 (holds: linux_raid_member)"));
    assert_non_null(strstr(r.err, "nvmeDisks"));
    run_free(&r);
    /* (Naming a disk in nvmeDisks formats it whatever it holds: that needs
     * a real block device, tests/vm/run.sh.) */
}

/* F5: labels are per cluster; a disk carrying another cluster's label
 * (3fs-*) is never taken, and this cluster's label goes on the disk. */
static void test_labels_per_cluster(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 xfs - 3fs-beef-0\nnvme1n1 xfs - 3fs-data-0\n"
                             "nvme2n1 - -\n", 1, "--format-disks --label-prefix 3fs-c0de");
    if (!strstr(r.mkfs, "-L 3fs-c0de-0")) fprintf(stderr, "mkfs: %s\nerr: %s\n", r.mkfs, r.err);
    assert_non_null(strstr(r.mkfs, "-L 3fs-c0de-0 -s size=4096 /dev/nvme2n1"));
    run_free(&r);
    /* only disks carrying 3fs-* labels: nothing left, nothing formatted */
    r = run_disks("nvme0n1 xfs - 3fs-beef-0\n", 1, "--format-disks --label-prefix 3fs-c0de");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "no blank NVMe disk left for 3fs-c0de-0"));
    run_free(&r);
    r = run_disks("nvme0n1 - -\n", 1, "--format-disks --label-prefix 'a b'");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "bad --label-prefix"));
    run_free(&r);
}

/* F5: every index is decided before anything is formatted: a node that
 * cannot get all its disks gets none formatted, and a refusal for lack of
 * consent names every disk that would be formatted. */
static void test_all_decided_first(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 - -\nnvme1n1 ext4 -\n", 2, "--format-disks");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, ""); /* nvme0n1 was formatted before the run stopped */
    assert_non_null(strstr(r.err, "no blank NVMe disk left for 3fs-data-1 (need 2)"));
    run_free(&r);
    r = run_disks("nvme0n1 - -\nnvme1n1 - -\n", 2, "");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "/dev/nvme0n1 would be formatted as 3fs-data-0 (it holds: "
                                  "nothing); /dev/nvme1n1 would be formatted as 3fs-data-1"));
    assert_non_null(strstr(r.err, "run again with --format-disks"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_pick_skips_held_disks),
        cmocka_unit_test(test_held_disks_refused),
        cmocka_unit_test(test_labels_per_cluster),
        cmocka_unit_test(test_all_decided_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
