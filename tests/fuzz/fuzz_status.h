/* fuzz_status.h: shared by the status fuzz targets: a fixed two-node
 * cluster (every service) and a report to put fuzzed remote output into,
 * then judged by every check and rendered in every form, as the commands
 * do.  Header only (static functions). */
#ifndef M3FS_FUZZ_STATUS_H
#define M3FS_FUZZ_STATUS_H

#include <stdlib.h>
#include <string.h>

#include "m3fs/config.h"
#include "m3fs/status.h"

static const char fuzz_yaml[] =
    "name: fz\nworkDir: /w\nnetworkType: RXE\n"
    "nodes:\n  - {name: n1, host: 10.0.0.1, username: root}\n"
    "  - {name: n2, host: 10.0.0.2, username: root}\n"
    "services:\n  fdb: {nodes: [n1]}\n  clickhouse: {nodes: [n1]}\n  monitor: {nodes: [n1]}\n"
    "  mgmtd: {nodes: [n1]}\n  meta: {nodes: [n1]}\n"
    "  storage: {nodes: [n1, n2], diskType: nvme, diskNumPerNode: 2}\n"
    "  client: {nodes: [n2], hostMountpoint: /mnt/3fs}\n";

static struct m3fs_config *fuzz_cfg(void)
{
    static struct m3fs_config *cfg;
    if (!cfg) {
        struct diag_list dl = { 0 };
        cfg = config_load_buffer(fuzz_yaml, strlen(fuzz_yaml), "fuzz.yml", NULL, &dl);
        diag_list_free(&dl);
        if (!cfg) abort();
    }
    return cfg;
}

/* Judge r with every check and render it every way. */
static void fuzz_judge_render(struct st_report *r)
{
    struct st_findings fs = { 0 };
    struct strbuf out = STRBUF_INIT;
    st_judge(r, 0, &fs);
    st_render_text(r, &fs, 1, &out);
    st_render_json(r, &fs, &out);
    st_render_doctor(r, &fs, 0, 0, &out);
    st_findings_release(&fs);
    sb_release(&out);
}

#endif
