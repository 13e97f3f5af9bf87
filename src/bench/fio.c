#include "m3fs/bench.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "m3fs/shquote.h"

/* quick: each workload runs 5 s on 64 MiB files; all three run in about
 * 20 s after the files are written. */
static const struct bench_workload quick[] = {
    { "seq-write-1m", "1 MiB sequential write", "write", "1m", 2, 8, 5, "64m", 1 },
    { "seq-read-1m", "1 MiB sequential read", "read", "1m", 2, 8, 5, "64m", 0 },
    { "rand-read-4k", "4 KiB random read", "randread", "4k", 4, 32, 5, "64m", 0 },
};
/* full: the shapes of the 3FS evaluation write-ups (large sequential
 * transfers with many jobs, deep-queue 4 KiB random reads), 60 s each. */
static const struct bench_workload full[] = {
    { "seq-write-1m", "1 MiB sequential write", "write", "1m", 16, 32, 60, "4g", 1 },
    { "seq-read-1m", "1 MiB sequential read", "read", "1m", 16, 32, 60, "4g", 0 },
    { "rand-read-4k", "4 KiB random read", "randread", "4k", 32, 64, 60, "4g", 0 },
};

const struct bench_workload *bench_profile(const char *name, size_t *n)
{
    if (!strcmp(name, "quick")) return *n = ARRAY_SIZE(quick), quick;
    if (!strcmp(name, "full")) return *n = ARRAY_SIZE(full), full;
    return NULL;
}

void bench_fio_cmd(const struct bench_workload *w, const char *fio, const char *dir, int direct,
                   struct strbuf *out)
{
    sh_quote(out, fio);
    sb_addf(out, " --name=%s --directory=", w->name);
    sh_quote(out, dir);
    /* Reads use the files the write workload of the same name left behind. */
    sb_addf(out, " --filename_format='m3fs-bench.$jobnum' --rw=%s --bs=%s --size=%s"
                 " --numjobs=%d --iodepth=%d --runtime=%d --time_based --ioengine=libaio"
                 " --direct=%d%s --group_reporting --output-format=json",
            w->rw, w->bs, w->size, w->numjobs, w->iodepth, w->runtime_s, direct ? 1 : 0,
            direct ? "" : (w->is_write ? " --end_fsync=1" : " --invalidate=1"));
}

int bench_max_jobs(const struct bench_workload *ws, size_t n)
{
    int jobs = 0;
    for (size_t i = 0; i < n; i++)
        if (ws[i].numjobs > jobs) jobs = ws[i].numjobs;
    return jobs;
}

void bench_fill_cmd(const struct bench_workload *ws, size_t n, const char *fio, const char *dir,
                    int direct, struct strbuf *out)
{
    int jobs = bench_max_jobs(ws, n);
    sh_quote(out, fio);
    sb_adds(out, " --name=fill --directory=");
    sh_quote(out, dir);
    sb_addf(out, " --filename_format='m3fs-bench.$jobnum' --rw=write --bs=1m --size=%s"
                 " --numjobs=%d --iodepth=8 --ioengine=libaio --direct=%d%s"
                 " --group_reporting --output-format=json",
            ws[0].size, jobs, direct ? 1 : 0, direct ? "" : " --end_fsync=1");
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* fio may print warnings before the JSON document. */
static const char *json_start(const char *s)
{
    const char *p = strstr(s, "\n{");
    if (s[0] == '{') return s;
    return p ? p + 1 : NULL;
}

int bench_parse_fio(const char *json, int is_write, double *iops, double *bw_bytes,
                    double *lat_ns, struct strbuf *err)
{
    const char *start = json_start(json);
    cJSON *root = start ? cJSON_Parse(start) : NULL;
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
    const cJSON *job = cJSON_IsArray(jobs) ? cJSON_GetArrayItem(jobs, 0) : NULL;
    const cJSON *side = cJSON_GetObjectItemCaseSensitive(job, is_write ? "write" : "read");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(side, "lat_ns");
    int rc = -1;
    if (!root) sb_adds(err, "fio output is not JSON");
    else if (!side || !lat) sb_adds(err, "fio JSON has no jobs[0].read/write.lat_ns");
    else if (num(job, "error") > 0) sb_addf(err, "fio reported error %.0f", num(job, "error"));
    else {
        *iops = num(side, "iops");
        *bw_bytes = num(side, "bw_bytes");
        *lat_ns = num(lat, "mean");
        if (*iops < 0 || *bw_bytes < 0 || *lat_ns < 0) sb_adds(err, "fio JSON lacks iops, bw_bytes or lat_ns.mean");
        else rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

void bench_row_add(struct bench_row *r, double iops, double bw_bytes, double lat_ns)
{
    r->clients++;
    r->iops += iops;
    r->bw_bytes += bw_bytes;
    r->lat_ns_sum += lat_ns;
}

static void fmt_lat(double ns, struct strbuf *sb)
{
    if (ns >= 1e6) sb_addf(sb, "%.2f ms", ns / 1e6);
    else sb_addf(sb, "%.1f us", ns / 1e3);
}

void bench_table(const struct bench_row *rows, size_t n, struct strbuf *out)
{
    sb_addf(out, "%-24s %7s %7s %7s %12s %10s %12s\n", "OPERATION", "CLIENTS", "NUMJOBS",
            "IODEPTH", "IOPS", "MiB/s", "MEAN LAT");
    struct strbuf lat = STRBUF_INIT, label = STRBUF_INIT;
    int any_buffered = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bench_row *r = &rows[i];
        sb_reset(&lat);
        fmt_lat(r->clients ? r->lat_ns_sum / r->clients : 0, &lat);
        sb_reset(&label);
        sb_addf(&label, "%s%s", r->w->label, r->buffered ? " *" : "");
        any_buffered |= r->buffered;
        sb_addf(out, "%-24s %7d %7d %7d %12.0f %10.1f %12s\n", label.buf, r->clients,
                r->w->numjobs, r->w->iodepth, r->iops, r->bw_bytes / (1024.0 * 1024.0), lat.buf);
    }
    if (any_buffered)
        sb_adds(out, "* the mount refused O_DIRECT (EINVAL), so this ran buffered I/O: writes end "
                     "with fsync, reads may be served from the page cache\n");
    sb_release(&lat);
    sb_release(&label);
}
