/* test_prepare: the pure parts of `cluster prepare` (reading sha256sum, df,
 * docker load and inventory output; matching a bundle to cluster.yml; the
 * free-space rule; node paths) and the bundle-to-upload bridge (bstream)
 * on real bundles written with the artifact writer, including a damaged
 * bundle and a consumer that stops early. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/prepare/prepare-int.h"
#include "m3fs/artifact.h"
#include "m3fs/config.h"
#include "m3fs/prepare.h"
#include "m3fs/sha256.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

#define SUM_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

TU_TMPDIR_FIXTURE("m3fs-test-prepare")

/* ---- parsers ---- */

static void test_parse_sha256sum(void **state)
{
    (void)state;
    char h[SHA256_HEX_LEN + 1];
    assert_int_equal(prepare_parse_sha256sum(SUM_A "  /opt/3fs/images/.x.part\n", h), 0);
    assert_string_equal(h, SUM_A);
    assert_int_equal(prepare_parse_sha256sum("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  f\n", h), 0);
    assert_string_equal(h, SUM_A);
    assert_int_equal(prepare_parse_sha256sum("ba7816bf  f\n", h), -1);
    assert_int_equal(prepare_parse_sha256sum("", h), -1);
    assert_int_equal(prepare_parse_sha256sum(NULL, h), -1);
    assert_int_equal(prepare_parse_sha256sum("sha256sum: f: No such file or directory\n", h), -1);
    assert_int_equal(prepare_parse_sha256sum(SUM_A "0  f\n", h), -1); /* 65 digits */
    assert_int_equal(prepare_parse_sha256sum("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad f", h), -1);
}

static void test_parse_df(void **state)
{
    (void)state;
    struct strbuf m = STRBUF_INIT;
    uint64_t kb = 0;
    assert_int_equal(prepare_parse_df("Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
                                      "/dev/sda1        102400000 51200000  46080000      53% /\n", &kb, &m), 0);
    assert_true(kb == 46080000);
    assert_string_equal(m.buf, "/");
    sb_reset(&m);
    assert_int_equal(prepare_parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                      "tmpfs 100 1 99 1% /mnt/my disk \n", &kb, &m), 0);
    assert_true(kb == 99);
    assert_string_equal(m.buf, "/mnt/my disk");
    sb_reset(&m);
    assert_int_equal(prepare_parse_df("df: /x: No such file or directory\n", &kb, &m), -1);
    assert_int_equal(prepare_parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n", &kb, &m), -1);
    assert_int_equal(prepare_parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                      "tmpfs 100 1 -5 1% /\n", &kb, &m), -1);
    assert_int_equal(prepare_parse_df("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                                      "tmpfs 100 1 99\n", &kb, &m), -1);
    assert_int_equal(prepare_parse_df(NULL, &kb, &m), -1);
    assert_int_equal(m.len, 0);
    sb_release(&m);
}

static void test_loaded_image(void **state)
{
    (void)state;
    char *s = prepare_loaded_image("Loaded image: open3fs/3fs:20250410\n");
    assert_string_equal(s, "open3fs/3fs:20250410");
    free(s);
    s = prepare_loaded_image("Loaded image ID: sha256:abcd\r\nLoaded image: reg:5000/a/b:1\n");
    assert_string_equal(s, "reg:5000/a/b:1");
    free(s);
    s = prepare_loaded_image("Loaded image ID: sha256:abcd\n");
    assert_string_equal(s, "sha256:abcd");
    free(s);
    assert_null(prepare_loaded_image(""));
    assert_null(prepare_loaded_image("Loaded image: \nsomething else\n"));
    assert_null(prepare_loaded_image(NULL));
}

static void test_parse_inventory(void **state)
{
    (void)state;
    int have = -1;
    char m[SHA256_HEX_LEN + 1];
    assert_int_equal(prepare_parse_inventory("1 " SUM_A "\n", &have, m), 0);
    assert_int_equal(have, 1);
    assert_string_equal(m, SUM_A);
    assert_int_equal(prepare_parse_inventory("0 \n", &have, m), 0);
    assert_int_equal(have, 0);
    assert_string_equal(m, "");
    /* an edited or truncated marker is no marker */
    assert_int_equal(prepare_parse_inventory("1 " SUM_A " extra\n", &have, m), 0);
    assert_string_equal(m, "");
    assert_int_equal(prepare_parse_inventory("1 ba7816\n", &have, m), 0);
    assert_string_equal(m, "");
    assert_int_equal(prepare_parse_inventory("2 x\n", &have, m), -1);
    assert_int_equal(prepare_parse_inventory("", &have, m), -1);
    assert_int_equal(prepare_parse_inventory("1", &have, m), -1);
}

/* ---- config + bundle matching ---- */

static const char yaml[] =
    "workDir: /data/3fs/\n"
    "nodes:\n"
    "  - {name: a, host: 10.0.0.1, username: root}\n"
    "  - {name: b, host: 10.0.0.2, username: root}\n"
    "  - {name: c, host: 10.0.0.3, username: root}\n"
    "services:\n"
    "  fdb: {nodes: [a]}\n"
    "  clickhouse: {nodes: [b]}\n"
    "  monitor: {nodes: [a]}\n"
    "  mgmtd: {nodes: [a]}\n"
    "  meta: {nodes: [a]}\n"
    "  client: {nodes: [c]}\n"
    "  storage: {nodes: [c], replicationFactor: 1}\n";

static struct m3fs_config *load_cfg(void)
{
    return tu_load_yaml(yaml);
}

static void add_img(struct artifact_manifest *m, const char *name, const char *repo,
                    const char *tag, const char *arch, const char *file)
{
    struct artifact_image *a = artifact_manifest_add(m, name, repo, tag, arch, file);
    a->size = 10;
    strcpy(a->sha256, SUM_A);
}

static void test_node_images_and_paths(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load_cfg();
    assert_int_equal(config_node_images(cfg, 0), (1u << IMG_3FS) | (1u << IMG_FDB));
    assert_int_equal(config_node_images(cfg, 1), 1u << IMG_CLICKHOUSE);
    assert_int_equal(config_node_images(cfg, 2), 1u << IMG_3FS);
    struct strbuf sb = STRBUF_INIT;
    prepare_marker_path(&sb, cfg, "3fs_20250410_amd64.docker");
    assert_string_equal(sb.buf, "/data/3fs/images/3fs_20250410_amd64.docker.sha256");
    sb_reset(&sb);
    prepare_part_path(&sb, cfg, "3fs_20250410_amd64.docker");
    assert_string_equal(sb.buf, "/data/3fs/images/.3fs_20250410_amd64.docker.part");
    sb_release(&sb);
    config_free(cfg);
}

static void test_match_bundle(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load_cfg();
    struct artifact_manifest m = { 0 };
    const struct artifact_image *out[IMG_COUNT];
    struct strbuf err = STRBUF_INIT;
    unsigned all = (1u << IMG_3FS) | (1u << IMG_FDB) | (1u << IMG_CLICKHOUSE);
    add_img(&m, "3fs", "open3fs/3fs", "20250410", "amd64", "3fs_20250410_amd64.docker");
    add_img(&m, "fdb", "open3fs/foundationdb", "7.3.62", "amd64", "foundationdb_7.3.62_amd64.docker");
    /* fdb has the wrong tag, clickhouse is missing: both reported */
    assert_int_equal(prepare_match_bundle(cfg, &m, "b.tar", all, out, &err), -1);
    assert_non_null(strstr(err.buf, "b.tar holds fdb 7.3.62 for amd64, but cluster.yml wants 7.3.63"));
    assert_non_null(strstr(err.buf, "\nb.tar has no clickhouse image"));
    assert_non_null(strstr(err.buf, "m3fs artifact download -c cluster.yml"));
    /* only what is needed is looked at */
    sb_reset(&err);
    assert_int_equal(prepare_match_bundle(cfg, &m, "b.tar", 1u << IMG_3FS, out, &err), 0);
    assert_ptr_equal(out[IMG_3FS], &m.img[0]);
    assert_null(out[IMG_FDB]);
    assert_int_equal(err.len, 0);
    add_img(&m, "fdb", "open3fs/foundationdb", "7.3.63", "amd64", "foundationdb_7.3.63_amd64.docker");
    add_img(&m, "clickhouse", "open3fs/clickhouse", "25.1-jammy", "arm64", "ch.docker");
    assert_int_equal(prepare_match_bundle(cfg, &m, "b.tar", all, out, &err), -1);
    assert_non_null(strstr(err.buf, "clickhouse 25.1-jammy for arm64"));
    assert_null(strstr(err.buf, "fdb"));
    strcpy(m.img[3].arch, "amd64");
    sb_reset(&err);
    assert_int_equal(prepare_match_bundle(cfg, &m, "b.tar", all, out, &err), 0);
    assert_ptr_equal(out[IMG_FDB], &m.img[2]);
    assert_ptr_equal(out[IMG_CLICKHOUSE], &m.img[3]);
    sb_release(&err);
    artifact_manifest_free(&m);
    config_free(cfg);
}

static void test_space_rule(void **state)
{
    (void)state;
    struct strbuf err = STRBUF_INIT;
    /* 2 x 1 GiB needed */
    assert_int_equal(prepare_space_check("n1", "workDir", "/opt/3fs", "/", 2u << 20, 1u << 30, &err), 0);
    assert_int_equal(prepare_space_check("n1", "workDir", "/opt/3fs", "/", (2u << 20) - 1, 1u << 30, &err), -1);
    assert_non_null(strstr(err.buf, "n1: not enough free space for the images in workDir /opt/3fs (filesystem /)"));
    assert_non_null(strstr(err.buf, "2.0 GiB needed (2 x 1.0 GiB to send"));
    assert_non_null(strstr(err.buf, "set workDir to a larger filesystem"));
    sb_reset(&err);
    assert_int_equal(prepare_space_check("n2", "Docker's root", "/var/lib/docker", "/var", 0, 1, &err), -1);
    assert_non_null(strstr(err.buf, "move Docker's data-root"));
    sb_reset(&err);
    assert_int_equal(prepare_space_check("n", "workDir", "/", "/", UINT64_MAX, UINT64_MAX, &err), 0);
    assert_int_equal(prepare_space_check("n", "workDir", "/", "/", 0, 0, &err), 0);
    sb_release(&err);
}

/* ---- bstream on real bundles ---- */

struct files {
    struct artifact_manifest m;
    char *bundle;
};

static void make_file(const char *dir, const char *name, size_t size, unsigned seed,
                      struct artifact_image *a)
{
    char *p = xstrfmt("%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++) fputc((int)((i * 131 + seed * 7 + i / 977) & 0xff), f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(sha256_file_hex(p, a->sha256, &a->size), 0);
    free(p);
}

static void make_bundle(struct files *fs, const char *name)
{
    memset(fs, 0, sizeof(*fs));
    static const struct { const char *name, *file; size_t size; } spec[] = {
        { "3fs", "3fs_1_amd64.docker", 700 * 1024 + 13 },
        { "fdb", "foundationdb_1_amd64.docker", 5 },
        { "clickhouse", "clickhouse_1_amd64.docker", 300 * 1024 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
        struct artifact_image *a =
            artifact_manifest_add(&fs->m, spec[i].name, "r", "1", "amd64", spec[i].file);
        make_file(tmpdir, spec[i].file, spec[i].size, (unsigned)i, a);
    }
    fs->bundle = xstrfmt("%s/%s", tmpdir, name);
    struct strbuf err = STRBUF_INIT;
    int rc = artifact_bundle_write(fs->bundle, &fs->m, tmpdir, 0, 1, &err);
    if (rc) fprintf(stderr, "%s\n", err.buf);
    assert_int_equal(rc, 0);
    sb_release(&err);
}

static void files_free(struct files *fs)
{
    artifact_manifest_free(&fs->m);
    free(fs->bundle);
}

/* Read one image through bstream_read in odd-sized pieces; digest it. */
static ssize_t drain(struct bstream *bs, char sum[SHA256_HEX_LEN + 1], struct strbuf *err)
{
    char buf[4099];
    struct sha256 h;
    ssize_t n, total = 0;
    size_t want = 1;
    sha256_init(&h);
    while ((n = bstream_read(bs, buf, want, err)) > 0) {
        sha256_update(&h, buf, (size_t)n);
        total += n;
        want = (want + 1000) % sizeof(buf) + 1;
    }
    sha256_final_hex(&h, sum);
    return n < 0 ? -1 : total;
}

static void test_bstream_wanted_images(void **state)
{
    (void)state;
    struct files fs;
    make_bundle(&fs, "ok.tar");
    struct strvec want = STRVEC_INIT;
    sv_push(&want, "clickhouse_1_amd64.docker");
    sv_push(&want, "3fs_1_amd64.docker");
    struct strbuf err = STRBUF_INIT;
    struct bstream *bs = bstream_start(fs.bundle, &want, &err);
    assert_non_null(bs);
    char sum[SHA256_HEX_LEN + 1];
    /* bundle order, only the wanted ones */
    const struct artifact_image *img = bstream_next(bs);
    assert_non_null(img);
    assert_string_equal(img->file, "3fs_1_amd64.docker");
    assert_int_equal(drain(bs, sum, &err), 700 * 1024 + 13);
    assert_string_equal(sum, fs.m.img[0].sha256);
    bstream_image_done(bs);
    img = bstream_next(bs);
    assert_non_null(img);
    assert_string_equal(img->file, "clickhouse_1_amd64.docker");
    assert_int_equal(drain(bs, sum, &err), 300 * 1024);
    assert_string_equal(sum, fs.m.img[2].sha256);
    bstream_image_done(bs);
    assert_null(bstream_next(bs));
    assert_int_equal(bstream_stop(bs, &err), 0);
    assert_int_equal(err.len, 0);
    sb_release(&err);
    sv_clear(&want);
    files_free(&fs);
}

static void test_bstream_damaged_bundle(void **state)
{
    (void)state;
    struct files fs;
    make_bundle(&fs, "bad.tar");
    /* flip one byte in the middle of the first image's data */
    FILE *f = fopen(fs.bundle, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 200 * 1024, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, 200 * 1024, SEEK_SET), 0);
    fputc(c ^ 0x55, f);
    assert_int_equal(fclose(f), 0);
    struct strvec want = STRVEC_INIT;
    sv_push(&want, "3fs_1_amd64.docker");
    struct strbuf err = STRBUF_INIT;
    struct bstream *bs = bstream_start(fs.bundle, &want, &err);
    assert_non_null(bs);
    assert_non_null(bstream_next(bs));
    char sum[SHA256_HEX_LEN + 1];
    /* all bytes flow, but the end is never reported as good */
    assert_int_equal(drain(bs, sum, &err), -1);
    assert_non_null(strstr(err.buf, "3fs_1_amd64.docker sha256 mismatch"));
    bstream_image_done(bs);
    assert_null(bstream_next(bs));
    sb_reset(&err);
    assert_int_equal(bstream_stop(bs, &err), -1);
    assert_non_null(strstr(err.buf, "sha256 mismatch"));
    sb_release(&err);
    sv_clear(&want);
    files_free(&fs);
}

static void test_bstream_stop_early(void **state)
{
    (void)state;
    struct files fs;
    make_bundle(&fs, "stop.tar");
    struct strvec want = STRVEC_INIT;
    sv_push(&want, "3fs_1_amd64.docker");
    sv_push(&want, "clickhouse_1_amd64.docker");
    struct strbuf err = STRBUF_INIT;
    struct bstream *bs = bstream_start(fs.bundle, &want, &err);
    assert_non_null(bs);
    assert_non_null(bstream_next(bs));
    char buf[100];
    assert_int_equal(bstream_read(bs, buf, sizeof(buf), &err), 100);
    /* the consumer gives up mid-image (say the upload failed): no hang, no error */
    assert_int_equal(bstream_stop(bs, &err), 0);
    /* a missing bundle: next says no more, stop says why */
    bs = bstream_start("/nonexistent/bundle.tar", &want, &err);
    assert_non_null(bs);
    assert_null(bstream_next(bs));
    assert_int_equal(bstream_stop(bs, &err), -1);
    assert_non_null(strstr(err.buf, "/nonexistent/bundle.tar"));
    sb_release(&err);
    sv_clear(&want);
    files_free(&fs);
}

/* Chains cut where a node could not reach its next (issue 19). */
static void test_relay_split(void **state)
{
    (void)state;
    size_t st[8], len[8];
    int all_ok[5] = { 1, 1, 1, 1, 1 };
    assert_int_equal(prep_relay_split(all_ok, 6, st, len), 1);
    assert_int_equal(st[0], 0);
    assert_int_equal(len[0], 6);
    int cut[5] = { 1, 0, 1, 1, 0 }; /* 0-1 | 2-3-4 | 5 */
    assert_int_equal(prep_relay_split(cut, 6, st, len), 3);
    assert_int_equal(st[0], 0), assert_int_equal(len[0], 2);
    assert_int_equal(st[1], 2), assert_int_equal(len[1], 3);
    assert_int_equal(st[2], 5), assert_int_equal(len[2], 1);
    int none[3] = { 0, 0, 0 }; /* nobody reaches anybody: 4 direct pushes */
    assert_int_equal(prep_relay_split(none, 4, st, len), 4);
    for (size_t i = 0; i < 4; i++) assert_int_equal(st[i], i), assert_int_equal(len[i], 1);
    assert_int_equal(prep_relay_split(none, 1, st, len), 1);
    assert_int_equal(len[0], 1);
    assert_int_equal(prep_relay_split(none, 0, st, len), 0);
}

/* What may travel in a hop word and the forced command= path. */
static void test_relay_words(void **state)
{
    (void)state;
    assert_true(prep_relay_word_ok("lab-n1"));
    assert_true(prep_relay_word_ok("198.18.0.11"));
    assert_true(prep_relay_word_ok("fe80::1"));
    assert_false(prep_relay_word_ok(""));
    assert_false(prep_relay_word_ok("a b"));
    assert_false(prep_relay_word_ok("$(id)"));
    assert_false(prep_relay_word_ok("a;b"));
    assert_false(prep_relay_word_ok("a'b"));
    assert_true(prep_relay_dir_ok("/data/3fs/images/.m3fs-relay"));
    assert_false(prep_relay_dir_ok("relative/dir"));
    assert_false(prep_relay_dir_ok("/with space"));
    assert_false(prep_relay_dir_ok("/q\"x"));
    struct m3fs_config *cfg = load_cfg();
    struct strbuf sb = STRBUF_INIT;
    prep_relay_dir(&sb, cfg);
    assert_string_equal(sb.buf, "/data/3fs/images/.m3fs-relay");
    sb_release(&sb);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sha256sum),
        cmocka_unit_test(test_parse_df),
        cmocka_unit_test(test_loaded_image),
        cmocka_unit_test(test_parse_inventory),
        cmocka_unit_test(test_node_images_and_paths),
        cmocka_unit_test(test_match_bundle),
        cmocka_unit_test(test_space_rule),
        cmocka_unit_test(test_bstream_wanted_images),
        cmocka_unit_test(test_bstream_damaged_bundle),
        cmocka_unit_test(test_bstream_stop_early),
        cmocka_unit_test(test_relay_split),
        cmocka_unit_test(test_relay_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
