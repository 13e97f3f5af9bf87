/* test_disks: templates/m3fs-disks.sh run against stand-in lsblk, blkid,
 * wipefs and mkfs.xfs (shell stubs on PATH in a temp dir), for what it
 * decides before it formats.  The mkfs.xfs stub records its arguments and
 * fails, so the script never gets as far as /etc/fstab or mount. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "m3fs/disks.h"
#include "m3fs/scale.h"
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
      "'-dn -o SIZE '*) echo ' 1.8T' ;;\n"
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
      "case \"$*\" in *-a*) [ -n \"${WIPE_OK:-}\" ] && exit 0\n"
      "    echo 'wipefs stub: no -a here' >&2; exit 1 ;; esac\n"
      "for a; do dev=$a; done\n"
      "awk -v d=\"${dev#/dev/}\" '$1 == d && $2 != \"-\" {print $2}' \"$FAKE\" | tr , '\\n'\n" },
    { "mkfs.xfs", "#!/bin/sh\necho \"mkfs.xfs $*\" >>\"$MKFS_LOG\"\nexit 1\n" },
    { "mountpoint", "#!/bin/sh\nexit 1\n" },
    { "udevadm", "#!/bin/sh\nexit 0\n" },
};

static void write_stubs(const char *bin)
{
    mkdir(bin, 0755);
    for (size_t i = 0; i < ARRAY_SIZE(stubs); i++) tu_write_exec(bin, stubs[i][0], stubs[i][1]);
}

struct run {
    int rc;
    char *out;  /* the script's stdout */
    char *err;  /* the script's stderr */
    char *mkfs; /* what mkfs.xfs was asked, "" if nothing */
};

/* More environment for the next run_op ("NAME=VALUE "), e.g. WIPE_OK=1: the
 * wipefs stub then takes -a (and wipes nothing). */
static const char *run_env = "";

/* Run `m3fs-disks OP BASE count nvme 4096 ARGS` on a node with `disks`. */
static struct run run_op(const char *op, const char *disks, int count, const char *args)
{
    char *bin = xstrfmt("%s/bin", tmpdir);
    write_stubs(bin);
    tu_write(tmpdir, "fake", disks);
    tu_write(tmpdir, "mkfs.log", "");
    char *script = tu_source_path("templates/m3fs-disks.sh");
    char *cmd = xstrfmt("cd '%s' && %sPATH='%s':\"$PATH\" FAKE=fake MKFS_LOG='%s/mkfs.log' "
                        "M3FS_FSTAB='%s/fstab' sh '%s' %s '%s/base' %d nvme 4096 %s "
                        ">out.txt 2>err.txt",
                        tmpdir, run_env, bin, tmpdir, tmpdir, script, op, tmpdir, count, args);
    int st = system(cmd);
    struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : -1, tu_read(tmpdir, "out.txt"),
                     tu_read(tmpdir, "err.txt"), tu_read(tmpdir, "mkfs.log") };
    free(cmd), free(script), free(bin);
    return r;
}

static struct run run_disks(const char *disks, int count, const char *args)
{
    return run_op("prepare", disks, count, args);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    free(r->mkfs);
}

/* F5: with consent, a free disk holding a filesystem, LVM or md
 * signature, or partitions, is passed over; a blank one is taken. */
static void test_auto_pick_skips_held_disks(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 ext4 -\nnvme1n1 LVM2_member -\nnvme2n1 - nvme2n1p1\n"
                             "nvme3n1 - -\n", 1, "--consent /dev/nvme3n1");
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
                             "--consent /dev/nvme0n1 --consent /dev/nvme1n1");
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
                             "nvme2n1 - -\n", 1, "--consent /dev/nvme2n1 --label-prefix 3fs-c0de");
    if (!strstr(r.mkfs, "-L 3fs-c0de-0")) fprintf(stderr, "mkfs: %s\nerr: %s\n", r.mkfs, r.err);
    assert_non_null(strstr(r.mkfs, "-L 3fs-c0de-0 -s size=4096 /dev/nvme2n1"));
    run_free(&r);
    /* only disks carrying 3fs-* labels: nothing left, nothing formatted */
    r = run_disks("nvme0n1 xfs - 3fs-beef-0\n", 1, "--consent /dev/nvme0n1 --label-prefix 3fs-c0de");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "no blank NVMe disk left for 3fs-c0de-0"));
    run_free(&r);
    r = run_disks("nvme0n1 - -\n", 1, "--label-prefix 'a b'");
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
    struct run r = run_disks("nvme0n1 - -\nnvme1n1 ext4 -\n", 2, "--consent /dev/nvme0n1");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, ""); /* nvme0n1 was formatted before the run stopped */
    assert_non_null(strstr(r.err, "no blank NVMe disk left for 3fs-data-1 (need 2)"));
    run_free(&r);
    r = run_disks("nvme0n1 - -\nnvme1n1 - -\n", 2, "");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "/dev/nvme0n1 would be formatted as 3fs-data-0 (it holds: "
                                  "nothing); /dev/nvme1n1 would be formatted as 3fs-data-1"));
    assert_non_null(strstr(r.err, "no consent to format it"));
    run_free(&r);
}

/* F5: consent names each disk; consent to one of the two disks of a node
 * formats neither, and the refusal names only the one left out. */
static void test_consent_per_disk(void **state)
{
    (void)state;
    struct run r = run_disks("nvme0n1 - -\nnvme1n1 - -\n", 2, "--consent /dev/nvme1n1");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "/dev/nvme0n1 would be formatted as 3fs-data-0"));
    assert_null(strstr(r.err, "/dev/nvme1n1 would be"));
    run_free(&r);
    /* the old blanket flag is no consent at all */
    r = run_disks("nvme0n1 - -\n", 1, "--format-disks");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.mkfs, "");
    assert_non_null(strstr(r.err, "unknown argument --format-disks"));
    run_free(&r);
    r = run_disks("nvme0n1 - -\nnvme1n1 - -\n", 2,
                  "--consent /dev/nvme0n1 --consent /dev/nvme1n1");
    assert_non_null(strstr(r.mkfs, "-L 3fs-data-0 -s size=4096 /dev/nvme0n1"));
    run_free(&r);
}

/* F5: `list` changes nothing and prints what prepare would format, with
 * size and what it holds, and the disks reused by label. */
static void test_list(void **state)
{
    (void)state;
    struct run r = run_op("list", "nvme0n1 xfs - 3fs-c0de-0\nnvme1n1 ext4 -\n"
                          "nvme2n1 - nvme2n1p1\nnvme3n1 - -\nnvme4n1 - -\n", 3,
                          "--label-prefix 3fs-c0de");
    if (r.rc) fprintf(stderr, "err: %s\n", r.err);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "reuse /dev/nvme0n1 3fs-c0de-0\n"
                               "format /dev/nvme3n1 3fs-c0de-1 1.8T -\n"
                               "format /dev/nvme4n1 3fs-c0de-2 1.8T -\n");
    assert_string_equal(r.mkfs, "");
    run_free(&r);
    /* a node that cannot get its disks fails the listing, naming why */
    r = run_op("list", "nvme0n1 ext4 -\n", 1, "");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "/dev/nvme0n1 (holds: ext4)"));
    run_free(&r);
}

/* The parser of the list output (untrusted: it comes from a node). */
static void test_list_parse(void **state)
{
    (void)state;
    struct disk_list l = { 0 };
    struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT;
    assert_int_equal(disk_list_parse(&l, "n1", "format /dev/nvme1n1 3fs-ab12-0 1.8T -\n"
                                     "format /dev/disk/by-id/nvme-X_1 3fs-ab12-1 3.5T ext4 "
                                     "LVM2_member partitions nvme2n1p1\n"
                                     "reuse /dev/nvme3n1 3fs-ab12-2\n\n", &err), 0);
    assert_int_equal(disk_list_parse(&l, "n2", "", &err), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(disk_list_count(&l), 2);
    assert_string_equal(l.v[1].dev, "/dev/disk/by-id/nvme-X_1");
    assert_string_equal(l.v[1].holds, "ext4 LVM2_member partitions nvme2n1p1");
    assert_string_equal(l.v[0].holds, "");
    assert_true(l.v[2].reuse);
    disk_list_print(&l, &sb);
    assert_non_null(strstr(sb.buf, "  n1  /dev/nvme1n1 "));
    assert_non_null(strstr(sb.buf, " 1.8T  as 3fs-ab12-0  blank\n"));
    assert_non_null(strstr(sb.buf, "HOLDS: ext4 LVM2_member partitions nvme2n1p1\n"));
    assert_null(strstr(sb.buf, "nvme3n1"));
    sb_reset(&sb);
    disk_list_consent_value(&l, &sb);
    assert_string_equal(sb.buf, "n1:/dev/nvme1n1,n1:/dev/disk/by-id/nvme-X_1");
    static const char *const bad[] = {
        "formatted /dev/nvme1n1 L 1T -",         /* unknown kind */
        "format nvme1n1 L 1T -",                 /* not under /dev/ */
        "format /dev/ L 1T -",                   /* no device */
        "format /dev/nvme1n1 L 1T",              /* holds missing */
        "format /dev/nvme1n1 'L' 1T -",          /* label characters */
        "format /dev/nvme1n1;rm L 1T -",         /* device characters */
        "format /dev/nvme1n1 L 1T ext4\x1b[2J",  /* control characters */
        "reuse /dev/nvme1n1 L extra",            /* field in excess */
        "format /dev/nvme1n1 L 1$T -",           /* size characters */
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        sb_reset(&err);
        size_t before = l.n;
        assert_int_equal(disk_list_parse(&l, "n3", bad[i], &err), -1);
        assert_int_equal(l.n, before);
        assert_non_null(strstr(err.buf, "in the disk list of n3"));
    }
    disk_list_free(&l);
    sb_release(&err), sb_release(&sb);
}

/* The consent check: exactly the disks to be formatted, in any order;
 * a disk already formatted (reused) may stay named, so the same command
 * resumes; anything else named, or anything left out, is refused. */
static void test_consent_check(void **state)
{
    (void)state;
    struct disk_list l = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(disk_list_parse(&l, "n1", "format /dev/nvme1n1 3fs-ab12-0 1T -\n"
                                     "reuse /dev/nvme0n1 3fs-ab12-1\n", &err), 0);
    assert_int_equal(disk_list_parse(&l, "n2", "format /dev/nvme1n1 3fs-ab12-0 1T ext4\n",
                                     &err), 0);
    struct strvec g = STRVEC_INIT;
    sv_push(&g, "n2:/dev/nvme1n1");
    sv_push(&g, "n1:/dev/nvme1n1");
    assert_int_equal(disk_consent_check(&l, &g, &err), 0);
    sv_push(&g, "n1:/dev/nvme1n1"); /* duplicates */
    sv_push(&g, "n1:/dev/nvme0n1"); /* already formatted: reused */
    assert_int_equal(disk_consent_check(&l, &g, &err), 0);
    assert_string_equal(err.buf, "");
    sv_push(&g, "n1:/dev/nvme2n1");
    assert_int_equal(disk_consent_check(&l, &g, &err), -1);
    assert_string_equal(err.buf, "named but not to be formatted: n1:/dev/nvme2n1");
    sv_clear(&g);
    sb_reset(&err);
    sv_push(&g, "n1:/dev/nvme1n1");
    sv_push(&g, "n3:/dev/nvme1n1");
    assert_int_equal(disk_consent_check(&l, &g, &err), -1);
    assert_string_equal(err.buf, "not named but would be formatted: n2:/dev/nvme1n1; "
                                 "named but not to be formatted: n3:/dev/nvme1n1");
    sb_reset(&err);
    assert_int_equal(disk_consent_check(&l, NULL, &err), -1);
    sv_clear(&g);
    disk_list_free(&l);
    sb_release(&err);
}

/* issue 20: clear drops this BASE's fstab lines by writing a new file and
 * renaming it over the old one (never rewritten in place), keeping the
 * other lines, the mode and a backup. */
static void test_fstab_replaced_whole(void **state)
{
    (void)state;
    char *tagged = xstrfmt("LABEL=3fs-data-0 %s/base/data0 xfs noatime,nodiratime,nofail 0 0 "
                           "# m3fs %s/base\n", tmpdir, tmpdir);
    char *text = xstrfmt("UUID=1 / ext4 defaults 0 1\n%s/dev/sdb /srv xfs defaults 0 0\n",
                         tagged);
    tu_write(tmpdir, "fstab", text);
    char *path = xstrfmt("%s/fstab", tmpdir);
    assert_int_equal(chmod(path, 0640), 0);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    struct run r = run_op("clear", "nvme0n1 - -\n", 1, "");
    if (r.rc) fprintf(stderr, "err: %s\n", r.err);
    assert_int_equal(r.rc, 0);
    char *now = tu_read(tmpdir, "fstab"), *bak = tu_read(tmpdir, "fstab.m3fs.bak");
    assert_string_equal(now, "UUID=1 / ext4 defaults 0 1\n/dev/sdb /srv xfs defaults 0 0\n");
    assert_string_equal(bak, text);
    assert_int_equal(stat(path, &after), 0);
    assert_true(after.st_ino != before.st_ino); /* a new file, renamed into place */
    assert_int_equal(after.st_mode & 07777, 0640);
    run_free(&r);
    /* nothing of this BASE in it: left alone */
    r = run_op("clear", "nvme0n1 - -\n", 1, "");
    assert_int_equal(r.rc, 0);
    struct stat again;
    assert_int_equal(stat(path, &again), 0);
    assert_true(again.st_ino == after.st_ino);
    run_free(&r);
    free(tagged), free(text), free(path), free(now), free(bak);
}

/* clear wipes exactly the disks of BASE.formatted that m3fs listed when it
 * asked (sc_parse_formatted): lines not as nvme_prepare writes them are
 * left alone by both. */
static void test_clear_wipes_what_was_listed(void **state)
{
    (void)state;
    static const char text[] = "/dev/nvme0n1 3fs-data-0\n"
                               "/dev/nvme1n1  3fs-data-1\n" /* two spaces */
                               "/dev/nvme2n1 abc-2 \n"      /* trailing space */
                               "/dev/nvme3n1 3fs-data-3\r\n"
                               "/dev/nvme4n1 ab-4\n"
                               "/dev/nvme5n1 3fs-data-5";    /* no newline */
    char *f = xstrfmt("%s/base.formatted", tmpdir);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    run_env = "WIPE_OK=1 ";
    struct run r = run_op("clear",
                          "nvme0n1 - - 3fs-data-0\nnvme1n1 - - 3fs-data-1\nnvme2n1 - - abc-2\n"
                          "nvme3n1 - - 3fs-data-3\nnvme4n1 - - ab-4\nnvme5n1 - - 3fs-data-5\n",
                          1, "");
    run_env = "";
    if (r.rc) fprintf(stderr, "err: %s\n", r.err);
    assert_int_equal(r.rc, 0);
    struct sc_fmt_list l;
    sc_parse_formatted(text, sizeof(text) - 1, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.skipped, 4);
    size_t wiped = 0;
    for (const char *p = r.err; (p = strstr(p, "m3fs-disks: wiping ")); p++) wiped++;
    assert_int_equal(wiped, l.n);
    for (size_t i = 0; i < l.n; i++) {
        char *line = xstrfmt("wiping %s (%s, formatted by m3fs as %s)",
                             l.v[i].dev, l.v[i].label, l.v[i].dev);
        if (!strstr(r.err, line)) fprintf(stderr, "err: %s\nmissing: %s\n", r.err, line);
        assert_non_null(strstr(r.err, line));
        free(line);
    }
    sc_fmt_list_release(&l);
    run_free(&r);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_pick_skips_held_disks),
        cmocka_unit_test(test_held_disks_refused),
        cmocka_unit_test(test_labels_per_cluster),
        cmocka_unit_test(test_all_decided_first),
        cmocka_unit_test(test_consent_per_disk),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_parse),
        cmocka_unit_test(test_consent_check),
        cmocka_unit_test(test_fstab_replaced_whole),
        cmocka_unit_test(test_clear_wipes_what_was_listed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
