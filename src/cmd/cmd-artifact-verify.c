/* m3fs artifact verify: check every image of a bundle against its manifest
 * and print what the bundle holds. */
#include <stdio.h>

#include "m3fs/clock.h"
#include "m3fs/artifact.h"
#include "m3fs/cmd.h"
#include "m3fs/log.h"

static struct {
    const char *artifact;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING_REQ('a', "artifact", &o.artifact, "FILE", "bundle written by 'artifact download'"),
    OPT_END(),
};

static int print_row(const struct artifact_image *im, void *ud, struct strbuf *err)
{
    struct strbuf sb = STRBUF_INIT;
    (void)err;
    artifact_human_size(&sb, (double)im->size);
    printf("  %-12s %-14s %-6s %10s  %s  ok\n", im->name, im->tag, im->arch, sb.buf, im->sha256);
    fflush(stdout);
    (*(size_t *)ud)++;
    sb_release(&sb);
    return 0;
}

static int exec_verify(struct cmd_ctx *ctx)
{
    (void)ctx;
    struct strbuf err = STRBUF_INIT;
    struct artifact_bundle *b = artifact_bundle_open(o.artifact, &err);
    if (!b) {
        log_error("%s", err.buf);
        sb_release(&err);
        return EXIT_FAIL;
    }
    const struct artifact_manifest *m = artifact_bundle_manifest(b);
    printf("%s: bundle format %d, %zu image%s\n", o.artifact, ARTIFACT_FORMAT, m->n,
           plural_s(m->n));
    printf("  %-12s %-14s %-6s %10s  %-64s  %s\n", "IMAGE", "TAG", "ARCH", "SIZE", "SHA256",
           "CHECK");
    size_t ok = 0;
    const struct artifact_entry_cb cb = { .end = print_row };
    int rc = artifact_bundle_each(b, &cb, &ok, &err);
    if (rc) log_error("%s", err.buf);
    else printf("all %zu image%s match the manifest\n", ok, plural_s(ok));
    artifact_bundle_close(b);
    sb_release(&err);
    return rc ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_artifact_verify_entry = {
    .name = "verify",
    .usage = "-a FILE",
    .summary = "Check a bundle against its manifest and list its images",
    .opts = opts,
    .exec = exec_verify,
};
