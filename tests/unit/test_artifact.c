/* test_artifact: sha256 helpers, the manifest, and the bundle writer/reader
 * (real libarchive tar/gzip files in a temp dir), including damaged,
 * foreign and hostile bundles. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m3fs/artifact.h"
#include "m3fs/config.h"
#include "m3fs/sha256.h"
#include "m3fs/strbuf.h"
#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-test-artifact")

static char *tpath(const char *name)
{
    return xstrfmt("%s/%s", tmpdir, name);
}

/* ---- sha256 ---- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    char out[SHA256_HEX_LEN + 1];
    sha256_buf_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_buf_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* streaming in pieces equals one shot */
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, "a", 1);
    sha256_update(&h, "bc", 2);
    sha256_final_hex(&h, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char *p = tpath("abc");
    tu_write_file(p, "abc", 3);
    uint64_t size = 0;
    memset(out, 0, sizeof(out));
    assert_int_equal(sha256_file_hex(p, out, &size), 0);
    assert_int_equal(size, 3);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(p);
    assert_int_equal(sha256_file_hex(p, out, &size), -1);
    free(p);
}

static void test_sumfile_parse(void **state)
{
    (void)state;
    char out[SHA256_HEX_LEN + 1];
    const char *ok = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  3fs.docker\n";
    assert_int_equal(sha256_parse_sumfile(ok, strlen(ok), out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *ws = "\n  e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_int_equal(sha256_parse_sumfile(ws, strlen(ws), out), 0);
    const char *bad[] = { "", "abc", "<html>404</html>",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(sha256_parse_sumfile(bad[i], strlen(bad[i]), out), -1);
    /* embedded NUL stops parsing: not a digest */
    assert_int_equal(sha256_parse_sumfile("e3b0\0c442", 9, out), -1);
    assert_true(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(sha256_hex_valid("e3b0"));
}

/* ---- manifest ---- */

static void fill(struct artifact_manifest *m)
{
    struct artifact_image *a =
        artifact_manifest_add(m, "3fs", "open3fs/3fs", "20250410", "amd64", "3fs_20250410_amd64.docker");
    a->size = 5000000000ULL;
    strcpy(a->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    struct artifact_image *b = artifact_manifest_add(m, "fdb", "open3fs/foundationdb", "7.3.63",
                                                     "amd64", "foundationdb_7.3.63_amd64.docker");
    b->size = 0;
    strcpy(b->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_manifest_roundtrip(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 }, back;
    struct strbuf err = STRBUF_INIT;
    fill(&m);
    char *json = artifact_manifest_to_json(&m);
    assert_int_equal(artifact_manifest_parse(json, strlen(json), &back, &err), 0);
    assert_int_equal(back.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(back.img[i].name, m.img[i].name);
        assert_string_equal(back.img[i].repo, m.img[i].repo);
        assert_string_equal(back.img[i].tag, m.img[i].tag);
        assert_string_equal(back.img[i].arch, m.img[i].arch);
        assert_string_equal(back.img[i].file, m.img[i].file);
        assert_string_equal(back.img[i].sha256, m.img[i].sha256);
        assert_true(back.img[i].size == m.img[i].size);
    }
    assert_non_null(artifact_manifest_find(&back, "foundationdb_7.3.63_amd64.docker"));
    assert_null(artifact_manifest_find(&back, "nope"));
    free(json);
    artifact_manifest_free(&m);
    artifact_manifest_free(&back);
    sb_release(&err);
}

#define SUM "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
#define IMG(file, size) \
    "{\"name\":\"n" file "\",\"repo\":\"r\",\"tag\":\"t\",\"arch\":\"amd64\",\"file\":\"" file \
    "\",\"size\":" size ",\"sha256\":" SUM "}"

static void test_manifest_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "", "not valid JSON" },
        { "{\"format\":1,\"images\":[", "not valid JSON" },
        { "[1,2]", "not a JSON object" },
        { "{\"format\":2,\"images\":[]}", "unsupported manifest format" },
        { "{\"images\":[]}", "unsupported manifest format" },
        { "{\"format\":1}", "no \"images\" array" },
        { "{\"format\":1,\"images\":[7]}", "images[0] is not an object" },
        { "{\"format\":1,\"images\":[{\"name\":\"x\"}]}", "images[0].repo" },
        { "{\"format\":1,\"images\":[" IMG("../etc/passwd", "1") "]}", "not a plain file name" },
        { "{\"format\":1,\"images\":[" IMG("..", "1") "]}", "not a plain file name" },
        { "{\"format\":1,\"images\":[" IMG("manifest.json", "1") "]}", "not a plain file name" },
        { "{\"format\":1,\"images\":[" IMG("a", "-1") "]}", "images[0].size" },
        { "{\"format\":1,\"images\":[" IMG("a", "1.5") "]}", "images[0].size" },
        { "{\"format\":1,\"images\":[" IMG("a", "1e300") "]}", "images[0].size" },
        { "{\"format\":1,\"images\":[" IMG("a", "\"1\"") "]}", "images[0].size" },
        { "{\"format\":1,\"images\":[" IMG("a", "1") "," IMG("a", "2") "]}", "repeats images[0]" },
        { "{\"format\":1,\"images\":[{\"name\":\"x\",\"repo\":\"r\",\"tag\":\"t\",\"arch\":\"a\","
          "\"file\":\"f\",\"size\":1,\"sha256\":\"xyz\"}]}", "not 64 hex digits" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct artifact_manifest m;
        struct strbuf err = STRBUF_INIT;
        assert_int_equal(artifact_manifest_parse(cases[i].json, strlen(cases[i].json), &m, &err), -1);
        if (!strstr(err.buf, cases[i].needle)) fail_msg("case %zu: got '%s'", i, err.buf);
        assert_int_equal(m.n, 0);
        assert_null(m.img);
        sb_release(&err);
    }
}

/* ---- plan ---- */

static void test_plan(void **state)
{
    (void)state;
    struct m3fs_config *cfg = xcalloc(1, sizeof(*cfg));
    config_set_defaults(cfg);
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    struct strvec names = STRVEC_INIT;
    assert_int_equal(artifact_plan(cfg, &names, &m, &err), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.img[0].name, "3fs");
    assert_string_equal(m.img[0].file, "3fs_20250410_amd64.docker");
    assert_string_equal(m.img[1].file, "foundationdb_7.3.63_amd64.docker");
    assert_string_equal(m.img[2].file, "clickhouse_25.1-jammy_amd64.docker");
    artifact_manifest_free(&m);
    sv_push(&names, "postgresql");
    sv_push(&names, "grafana");
    sv_push(&names, "postgresql");
    assert_int_equal(artifact_plan(cfg, &names, &m, &err), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.img[0].file, "postgresql_17.5.0_amd64.docker");
    assert_string_equal(m.img[1].repo, "open3fs/grafana");
    artifact_manifest_free(&m);
    sv_push(&names, "foundationdb");
    assert_int_equal(artifact_plan(cfg, &names, &m, &err), -1);
    assert_non_null(strstr(err.buf, "unknown image 'foundationdb'"));
    assert_non_null(strstr(err.buf, "3fs, fdb, clickhouse, grafana, postgresql"));
    artifact_manifest_free(&m);
    sv_clear(&names);
    sb_release(&err);
    config_free(cfg);
}

/* ---- bundles ---- */

/* A cache with two images of pseudo-random bytes; m describes them. */
static void make_cache(struct artifact_manifest *m, const char *cache, size_t big)
{
    mkdir(cache, 0755);
    const char *files[] = { "3fs_t_amd64.docker", "foundationdb_t_amd64.docker" };
    const char *names[] = { "3fs", "fdb" };
    size_t sizes[] = { big, 1234 };
    for (size_t i = 0; i < 2; i++) {
        unsigned char *buf = xmalloc(sizes[i] + 1);
        uint32_t x = 2463534242u + (uint32_t)i;
        for (size_t j = 0; j < sizes[i]; j++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf[j] = (unsigned char)x;
        }
        char *p = xstrfmt("%s/%s", cache, files[i]);
        tu_write_file(p, buf, sizes[i]);
        struct artifact_image *im = artifact_manifest_add(m, names[i], "open3fs/x", "t", "amd64", files[i]);
        im->size = sizes[i];
        sha256_buf_hex(buf, sizes[i], im->sha256);
        free(p);
        free(buf);
    }
}

struct seen {
    int begins, ends;
    struct sha256 h;
    uint64_t bytes;
    char last[SHA256_HEX_LEN + 1];
    int fail_data;
};

static int cb_begin(const struct artifact_image *im, void *ud, struct strbuf *err)
{
    (void)im, (void)err;
    struct seen *s = ud;
    s->begins++;
    sha256_init(&s->h);
    return 0;
}

static int cb_data(const struct artifact_image *im, const void *buf, size_t len, void *ud,
                   struct strbuf *err)
{
    (void)im;
    struct seen *s = ud;
    assert_true(len <= 1024 * 1024); /* bounded chunks */
    sha256_update(&s->h, buf, len);
    s->bytes += len;
    if (s->fail_data) {
        sb_adds(err, "consumer refused");
        sha256_free(&s->h);
        return -1;
    }
    return 0;
}

static int cb_end(const struct artifact_image *im, void *ud, struct strbuf *err)
{
    (void)err;
    struct seen *s = ud;
    sha256_final_hex(&s->h, s->last);
    assert_string_equal(s->last, im->sha256);
    s->ends++;
    return 0;
}

static const struct artifact_entry_cb seen_cb = { cb_begin, cb_data, cb_end };

static void roundtrip(int gzip)
{
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *cache = tpath(gzip ? "cache-gz" : "cache"), *out = tpath(gzip ? "b.tar.gz" : "b.tar");
    make_cache(&m, cache, 3 * 1024 * 1024 + 7);
    assert_int_equal(artifact_bundle_write(out, &m, cache, gzip, 0, &err), 0);
    struct artifact_bundle *b = artifact_bundle_open(out, &err);
    if (!b) fail_msg("%s", err.buf);
    const struct artifact_manifest *bm = artifact_bundle_manifest(b);
    assert_int_equal(bm->n, 2);
    assert_string_equal(bm->img[0].sha256, m.img[0].sha256);
    struct seen s = { 0 };
    assert_int_equal(artifact_bundle_each(b, &seen_cb, &s, &err), 0);
    assert_int_equal(s.begins, 2);
    assert_int_equal(s.ends, 2);
    assert_true(s.bytes == m.img[0].size + m.img[1].size);
    /* the stream is one-shot */
    assert_int_equal(artifact_bundle_each(b, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.buf, "already read"));
    artifact_bundle_close(b);
    /* the same bytes from memory (the reader the fuzz target uses) */
    struct strbuf bytes = STRBUF_INIT;
    assert_int_equal(sb_read_file_max(&bytes, out, 64L << 20, &err), 0);
    b = artifact_bundle_open_memory(bytes.buf, bytes.len, "mem.tar", &err);
    if (!b) fail_msg("%s", err.buf);
    assert_int_equal(artifact_bundle_manifest(b)->n, 2);
    memset(&s, 0, sizeof(s));
    assert_int_equal(artifact_bundle_each(b, &seen_cb, &s, &err), 0);
    assert_int_equal(s.ends, 2);
    artifact_bundle_close(b);
    /* cut short: the manifest reads, the last image does not */
    b = artifact_bundle_open_memory(bytes.buf, bytes.len / 2, "half.tar", &err);
    if (!b) fail_msg("%s", err.buf);
    assert_int_equal(artifact_bundle_each(b, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.buf, "half.tar"));
    artifact_bundle_close(b);
    sb_release(&bytes);
    sb_reset(&err);
    /* an existing output needs force */
    sb_reset(&err);
    assert_int_equal(artifact_bundle_write(out, &m, cache, gzip, 0, &err), -1);
    assert_non_null(strstr(err.buf, "already exists; use --force"));
    assert_int_equal(artifact_bundle_write(out, &m, cache, gzip, 1, &err), 0);
    artifact_manifest_free(&m);
    sb_release(&err);
    free(cache);
    free(out);
}

static void test_bundle_roundtrip_tar(void **state)
{
    (void)state;
    roundtrip(0);
}

static void test_bundle_roundtrip_gzip(void **state)
{
    (void)state;
    roundtrip(1);
}

/* Open + stream a bundle; expect failure containing needle. */
static void expect_bad(const char *path, const char *needle)
{
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open(path, &err);
    int rc = -1;
    if (b) {
        rc = artifact_bundle_each(b, NULL, NULL, &err);
        artifact_bundle_close(b);
    }
    assert_int_equal(rc, -1);
    if (!strstr(err.buf, needle)) fail_msg("%s: expected '%s', got '%s'", path, needle, err.buf);
    sb_release(&err);
}

static void test_bundle_damaged(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *cache = tpath("cache-d"), *out = tpath("d.tar");
    make_cache(&m, cache, 200000);
    assert_int_equal(artifact_bundle_write(out, &m, cache, 0, 0, &err), 0);
    /* flip one byte inside the first image's data (after manifest header+data+image header) */
    int fd = open(out, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    off_t at = 100000;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    expect_bad(out, "sha256 mismatch");
    /* truncated */
    assert_int_equal(truncate(out, 150000), 0);
    expect_bad(out, "d.tar");
    /* empty and garbage */
    tu_write_file(out, "", 0);
    expect_bad(out, "cannot open bundle");
    tu_write_file(out, "garbage garbage garbage\n", 24);
    expect_bad(out, "d.tar");
    /* missing file */
    unlink(out);
    expect_bad(out, "cannot open bundle");
    artifact_manifest_free(&m);
    sb_release(&err);
    free(cache);
    free(out);
}

/* Write a tar by hand with the given entries (name, data). */
static void raw_tar(const char *path, const char *const *names, const char *const *data, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(data[i]));
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, data[i], strlen(data[i])), (la_ssize_t)strlen(data[i]));
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static char *manifest_for(const char *file, const char *content)
{
    struct artifact_manifest m = { 0 };
    struct artifact_image *im = artifact_manifest_add(&m, "3fs", "r", "t", "amd64", file);
    im->size = strlen(content);
    sha256_buf_hex(content, strlen(content), im->sha256);
    char *json = artifact_manifest_to_json(&m);
    artifact_manifest_free(&m);
    return json;
}

static void test_bundle_foreign(void **state)
{
    (void)state;
    char *p = tpath("f.tar");
    char *mj = manifest_for("a.docker", "hello");
    /* Go m3fs bundle: images only */
    raw_tar(p, (const char *[]){ "a.docker" }, (const char *[]){ "hello" }, 1);
    expect_bad(p, "does not start with manifest.json");
    /* ./ prefix accepted, content fine */
    raw_tar(p, (const char *[]){ "./manifest.json", "./a.docker" }, (const char *[]){ mj, "hello" }, 2);
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open(p, &err);
    assert_non_null(b);
    assert_int_equal(artifact_bundle_each(b, NULL, NULL, &err), 0);
    artifact_bundle_close(b);
    /* an entry the manifest does not list (path traversal attempt) */
    raw_tar(p, (const char *[]){ "manifest.json", "a.docker", "../evil" },
            (const char *[]){ mj, "hello", "x" }, 3);
    expect_bad(p, "'../evil' is not listed");
    /* repeated entry */
    raw_tar(p, (const char *[]){ "manifest.json", "a.docker", "a.docker" },
            (const char *[]){ mj, "hello", "hello" }, 3);
    expect_bad(p, "repeated");
    /* listed image missing */
    raw_tar(p, (const char *[]){ "manifest.json" }, (const char *[]){ mj }, 1);
    expect_bad(p, "does not contain it");
    /* wrong size */
    raw_tar(p, (const char *[]){ "manifest.json", "a.docker" }, (const char *[]){ mj, "hello!" }, 2);
    expect_bad(p, "has 6 bytes but the manifest says 5");
    /* bad manifest JSON */
    raw_tar(p, (const char *[]){ "manifest.json" }, (const char *[]){ "{" }, 1);
    expect_bad(p, "manifest.json: the manifest is not valid JSON");
    /* consumer stops the stream */
    raw_tar(p, (const char *[]){ "manifest.json", "a.docker" }, (const char *[]){ mj, "hello" }, 2);
    b = artifact_bundle_open(p, &err);
    assert_non_null(b);
    struct seen s = { .fail_data = 1 };
    sb_reset(&err);
    assert_int_equal(artifact_bundle_each(b, &seen_cb, &s, &err), -1);
    assert_string_equal(err.buf, "consumer refused");
    assert_int_equal(s.ends, 0);
    artifact_bundle_close(b);
    sb_release(&err);
    free(mj);
    free(p);
}

static void test_write_cache_changed(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *cache = tpath("cache-c"), *out = tpath("c.tar");
    make_cache(&m, cache, 5000);
    m.img[1].sha256[0] = m.img[1].sha256[0] == '0' ? '1' : '0';
    assert_int_equal(artifact_bundle_write(out, &m, cache, 0, 0, &err), -1);
    assert_non_null(strstr(err.buf, "changed in the cache"));
    struct stat st;
    assert_int_equal(stat(out, &st), -1); /* nothing published */
    sb_reset(&err);
    m.img[1].size++;
    assert_int_equal(artifact_bundle_write(out, &m, cache, 0, 0, &err), -1);
    assert_non_null(strstr(err.buf, "were verified"));
    /* no temporary files left behind */
    char *cmd = xstrfmt("ls '%s' | grep -q tmp-", tmpdir);
    assert_int_not_equal(system(cmd), 0);
    free(cmd);
    artifact_manifest_free(&m);
    sb_release(&err);
    free(cache);
    free(out);
}

/* ---- download (file:// base URL, so no server is needed) ---- */

/* A server dir holding one image and its .sha256sum; m describes it. */
static char *make_server(struct artifact_manifest *m, const char *name)
{
    char *srv = tpath(name);
    const char *file = "3fs_t_amd64.docker", *data = "image bytes\n";
    assert_int_equal(mkdir(srv, 0755), 0);
    char *p = xstrfmt("%s/%s", srv, file), *ps = xstrfmt("%s.sha256sum", p);
    tu_write_file(p, data, strlen(data));
    char sum[SHA256_HEX_LEN + 1];
    sha256_buf_hex(data, strlen(data), sum);
    char *line = xstrfmt("%s  %s\n", sum, file);
    tu_write_file(ps, line, strlen(line));
    artifact_manifest_add(m, "3fs", "open3fs/3fs", "t", "amd64", file);
    free(line);
    free(ps);
    free(p);
    return srv;
}

static int dl(struct artifact_manifest *m, const char *srv, const char *cache, struct strbuf *err)
{
    struct artifact_dl_opts o;
    artifact_dl_opts_init(&o);
    char *url = xstrfmt("file://%s", srv);
    o.base_url = url;
    o.cache_dir = cache;
    o.retries = 0;
    o.progress = ARTIFACT_PROGRESS_NONE;
    int rc = artifact_download(m, &o, err);
    free(url);
    return rc;
}

static void test_download_file_url(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *srv = make_server(&m, "srv-ok"), *cache = tpath("cache-ok/sub");
    assert_int_equal(dl(&m, srv, cache, &err), 0);
    assert_int_equal(m.img[0].size, strlen("image bytes\n"));
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* created private */
    artifact_manifest_free(&m);
    sb_release(&err);
    free(srv);
    free(cache);
}

/* F1: a symlink planted as <file>.part must not be followed. */
static void test_download_part_symlink(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *srv = make_server(&m, "srv-ln"), *cache = tpath("cache-ln");
    char *victim = tpath("victim"), *part = xstrfmt("%s/%s.part", cache, m.img[0].file);
    assert_int_equal(mkdir(cache, 0700), 0);
    tu_write_file(victim, "precious", 8);
    assert_int_equal(symlink(victim, part), 0);
    assert_int_equal(dl(&m, srv, cache, &err), -1);
    assert_non_null(strstr(err.buf, part));
    assert_non_null(strstr(err.buf, "not a regular file"));
    char *got = tu_read(tmpdir, "victim");
    assert_string_equal(got, "precious");
    free(got);
    artifact_manifest_free(&m);
    sb_release(&err);
    free(srv);
    free(cache);
    free(victim);
    free(part);
}

/* F1: a cache dir others can write to (or owned by someone else) is refused. */
static void test_download_cache_unsafe(void **state)
{
    (void)state;
    struct artifact_manifest m = { 0 };
    struct strbuf err = STRBUF_INIT;
    char *srv = make_server(&m, "srv-un"), *cache = tpath("cache-un");
    assert_int_equal(mkdir(cache, 0700), 0);
    assert_int_equal(chmod(cache, 01777), 0);
    assert_int_equal(dl(&m, srv, cache, &err), -1);
    assert_non_null(strstr(err.buf, cache));
    assert_non_null(strstr(err.buf, "writable by"));
    if (geteuid() == 0) {
        sb_reset(&err);
        assert_int_equal(chmod(cache, 0755), 0);
        assert_int_equal(chown(cache, 65534, 65534), 0);
        assert_int_equal(dl(&m, srv, cache, &err), -1);
        assert_non_null(strstr(err.buf, "owned by uid 65534"));
    }
    char *f = xstrfmt("%s/%s", cache, m.img[0].file);
    struct stat st;
    assert_int_equal(lstat(f, &st), -1); /* nothing written */
    free(f);
    artifact_manifest_free(&m);
    sb_release(&err);
    free(srv);
    free(cache);
}

/* Issue 20: a bundle is a tar, optionally gzip; a file that looks like
 * another compression must not make libarchive run an external program
 * (here an lrzip found first on PATH). */
static void test_bundle_no_external_filter(void **state)
{
    (void)state;
    char *bin = tpath("fakebin"), *marker = tpath("ran-lrzip"), *f = tpath("x.tar.lrz");
    assert_int_equal(mkdir(bin, 0755), 0);
    char *prog = xstrfmt("%s/lrzip", bin);
    char *text = xstrfmt("#!/bin/sh\ntouch '%s'\ncat >/dev/null\n", marker);
    tu_write_file(prog, text, strlen(text));
    assert_int_equal(chmod(prog, 0755), 0);
    static const char lrz[24] = "LRZI\0\6"; /* lrzip magic, major 0 minor 6; rest 0 */
    tu_write_file(f, lrz, sizeof(lrz));
    const char *old = getenv("PATH");
    char *saved = xstrdup(old ? old : "/usr/bin:/bin"), *path = xstrfmt("%s:%s", bin, saved);
    setenv("PATH", path, 1);
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open(f, &err);
    setenv("PATH", saved, 1);
    if (b) artifact_bundle_close(b);
    assert_null(b);
    struct stat st;
    assert_int_equal(stat(marker, &st), -1); /* no program was run */
    sb_release(&err);
    free(bin), free(marker), free(f), free(prog), free(text), free(saved), free(path);
}

/* Issue 20: an https download follows redirects to https only (no
 * downgrade to http), and a file:// one nothing else. */
static void test_url_protocols(void **state)
{
    (void)state;
    assert_string_equal(artifact_url_protocols("https://artifactory.open3fs.com/3fs/x"), "https");
    assert_string_equal(artifact_url_protocols("HTTPS://Example.com/"), "https");
    assert_string_equal(artifact_url_protocols("http://127.0.0.1:8080/x"), "http,https");
    assert_string_equal(artifact_url_protocols("file:///srv/x"), "file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sumfile_parse),
        cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test(test_manifest_rejects),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_bundle_roundtrip_tar),
        cmocka_unit_test(test_bundle_roundtrip_gzip),
        cmocka_unit_test(test_bundle_damaged),
        cmocka_unit_test(test_bundle_foreign),
        cmocka_unit_test(test_write_cache_changed),
        cmocka_unit_test(test_bundle_no_external_filter),
        cmocka_unit_test(test_url_protocols),
        cmocka_unit_test(test_download_file_url),
        cmocka_unit_test(test_download_part_symlink),
        cmocka_unit_test(test_download_cache_unsafe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
