/* m3fs artifact download: fetch the images a cluster needs (verified against
 * their published sha256) and write them with a manifest into one bundle. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "m3fs/clock.h"
#include "m3fs/artifact.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/sigstop.h"

static struct {
    const char *output, *tmp_dir, *base_url;
    int gzip, force;
    struct strvec images;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING_REQ('o', "output", &o.output, "FILE", "bundle to write (a tar)"),
    OPT_STRING('t', "tmp-dir", &o.tmp_dir, "DIR", "download cache directory (default ~/.cache/m3fs)"),
    OPT_BOOL('z', "gzip", &o.gzip, "gzip the bundle"),
    OPT_STRING(0, "base-url", &o.base_url, "URL",
               "artifact server (default " ARTIFACT_DEFAULT_BASE_URL ")"),
    OPT_LIST(0, "images", &o.images, "LIST",
             "images to bundle: 3fs,fdb,clickhouse,grafana,postgresql (default 3fs,fdb,clickhouse)"),
    OPT_BOOL('f', "force", &o.force, "overwrite an existing output file"),
    OPT_END(),
};

static void print_result(const struct artifact_manifest *m)
{
    struct stat st;
    struct strbuf sb = STRBUF_INIT;
    if (!stat(o.output, &st)) artifact_human_size(&sb, (double)st.st_size);
    printf("wrote %s (%s) with %zu image%s:\n", o.output, sb.buf, m->n, plural_s(m->n));
    for (size_t i = 0; i < m->n; i++) {
        sb_reset(&sb);
        artifact_human_size(&sb, (double)m->img[i].size);
        printf("  %-36s %10s  sha256 %s\n", m->img[i].file, sb.buf, m->img[i].sha256);
    }
    sb_release(&sb);
}

static int run(struct m3fs_config *cfg, long parallel)
{
    struct artifact_manifest m = { 0 };
    struct artifact_dl_opts dl;
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_FAIL;
    artifact_dl_opts_init(&dl);
    char *def = o.tmp_dir ? NULL : artifact_default_cache_dir(&err);
    dl.cache_dir = o.tmp_dir ? o.tmp_dir : def;
    if (o.base_url) dl.base_url = o.base_url;
    dl.parallel = parallel; /* the global --parallel */
    struct sigstop sigs;
    sigstop_install(&sigs); /* Ctrl-C keeps the .part files, removes a partial bundle */
    if (!dl.cache_dir) {
        log_error("%s", err.buf);
    } else if (artifact_plan(cfg, &o.images, &m, &err)) {
        log_error("%s", err.buf);
        rc = EXIT_USAGE;
    } else if (artifact_download(&m, &dl, &err) ||
               artifact_bundle_write(o.output, &m, dl.cache_dir, o.gzip, o.force, &err)) {
        log_error("%s", err.buf);
    } else {
        print_result(&m);
        rc = EXIT_OK;
    }
    sigstop_restore(&sigs);
    artifact_manifest_free(&m);
    sb_release(&err);
    free(def);
    return rc;
}

static int exec_download(struct cmd_ctx *ctx)
{
    struct stat st;
    if (!o.force && !lstat(o.output, &st)) {
        log_error("%s already exists; use --force to overwrite it or choose another --output",
                  o.output);
        return EXIT_FAIL;
    }
    int rc = run(ctx->cfg, ctx->parallel);
    sv_clear(&o.images);
    return rc;
}

static const char *const aliases[] = { "export", "d", "e", NULL };

const struct cmd_entry cmd_artifact_download_entry = {
    .name = "download",
    .aliases = aliases,
    .usage = "-c FILE -o FILE [-t DIR] [--gzip] [--base-url URL] [--images LIST] [--force]",
    .summary = "Download the 3FS images (sha256 verified) into one offline bundle",
    .opts = opts,
    .exec = exec_download,
    .flags = CMD_CONFIG,
    .max_parallel = 64,
};
