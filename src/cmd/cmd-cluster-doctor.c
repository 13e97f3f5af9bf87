/* m3fs cluster doctor: run every known-failure check of src/status/ over
 * the cluster and print each finding with its cause and fix
 * (docs/status.md); exit 0 when nothing is wrong. */
#include <stdio.h>
#include <stdlib.h>

#include "m3fs/cmd.h"
#include "m3fs/log.h"
#include "m3fs/status.h"

static int exec_doctor(struct cmd_ctx *ctx)
{
    struct st_report r;
    struct st_findings fs = { 0 };
    struct strbuf out = STRBUF_INIT;
    if (!getenv("M3FS_CONNECT_TIMEOUT")) ctx->ro.connect_timeout_s = ST_CONNECT_TIMEOUT_S;
    st_report_init(&r, ctx->cfg);
    st_gather(&r, &ctx->ro, ctx->parallel);
    st_judge(&r, 0, &fs);
    st_render_doctor(&r, &fs, 0, log_color_wanted(stdout, ctx->no_color), &out);
    fwrite(out.buf, 1, out.len, stdout);
    int rc = fs.n ? EXIT_FAIL : EXIT_OK;
    sb_release(&out);
    st_findings_release(&fs);
    st_report_release(&r);
    return rc;
}

const struct cmd_entry cmd_cluster_doctor_entry = {
    .name = "doctor",
    .usage = "-c FILE",
    .summary = "Check the cluster for known failures; print each with its cause and fix",
    .exec = exec_doctor,
    .flags = CMD_CONFIG,
};
