/* Runs the fio workloads of a profile on the client nodes. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/bench.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"
#include "m3fs/shquote.h"

struct bench_job {
    const struct m3fs_config *cfg;
    const struct bench_workload *w; /* NULL: the fill before the workloads */
    const struct bench_workload *ws; /* all workloads of the profile */
    size_t nw;
    struct strbuf *json; /* one per client, indexed like the client list */
    int *buffered;       /* per client: O_DIRECT was refused, ran buffered */
};

static void node_dir(const struct m3fs_config *cfg, size_t node, struct strbuf *sb)
{
    sb_addf(sb, "%s/m3fs-bench/%s", cfg->client.host_mountpoint, cfg->nodes[node].name);
}

static size_t client_slot(const struct m3fs_config *c, size_t node)
{
    size_t slot = 0;
    while (c->svc[SVC_CLIENT].member[slot] != node) slot++;
    return slot;
}

/* The fill writes numjobs x size per client: allow 10 MiB/s, at least 10 min. */
static long fill_timeout_s(const struct bench_workload *ws, size_t n)
{
    int jobs = bench_max_jobs(ws, n);
    char *end;
    double mib = strtod(ws[0].size, &end);
    mib *= *end == 'g' ? 1024 : *end == 'k' ? 1.0 / 1024 : 1;
    return 600 + (long)(mib * jobs / 10);
}

/* Inside the client container: fio in a per-node directory of the mount. */
static int run_fio(struct remote_session *s, struct bench_job *j, size_t node, int direct,
                   struct strbuf *out, struct strbuf *err)
{
    const struct m3fs_config *c = j->cfg;
    struct strbuf dir = STRBUF_INIT, inner = STRBUF_INIT, cmd = STRBUF_INIT;
    node_dir(c, node, &dir);
    sb_adds(&inner, "mkdir -p ");
    sh_quote(&inner, dir.buf);
    sb_adds(&inner, " && ");
    if (j->w) bench_fio_cmd(j->w, "/opt/3fs/bin/fio", dir.buf, direct, &inner);
    else bench_fill_cmd(j->ws, j->nw, "/opt/3fs/bin/fio", dir.buf, direct, &inner);
    sb_adds(&cmd, "docker exec ");
    sh_quote(&cmd, c->svc[SVC_CLIENT].container_name);
    sb_adds(&cmd, " bash -c ");
    sh_quote(&cmd, inner.buf);
    long timeout_s = j->w ? j->w->runtime_s + 300 : fill_timeout_s(j->ws, j->nw);
    int rc = remote_run(s, cmd.buf, 1, timeout_s * 1000L, out, err);
    sb_release(&dir);
    sb_release(&inner);
    sb_release(&cmd);
    return rc;
}

/* O_DIRECT first; a mount that refuses it (EINVAL) gets buffered I/O, and
 * the table says so. */
static int run_one(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct bench_job *j = arg;
    size_t slot = client_slot(j->cfg, node);
    struct strbuf out = STRBUF_INIT;
    int rc = run_fio(s, j, node, 1, &out, err);
    if (rc && strstr(err->buf, "Invalid argument")) {
        log_warn("%s: the mount refused O_DIRECT; running %s with buffered I/O",
                 j->cfg->nodes[node].name, j->w ? j->w->name : "the fill");
        sb_reset(err);
        sb_reset(&out);
        rc = run_fio(s, j, node, 0, &out, err);
        j->buffered[slot] = 1;
    }
    if (!rc) sb_add(&j->json[slot], out.buf, out.len);
    sb_release(&out);
    return rc;
}

static int cleanup_one(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    const struct m3fs_config *c = arg;
    struct strbuf dir = STRBUF_INIT, cmd = STRBUF_INIT;
    node_dir(c, node, &dir);
    sb_adds(&cmd, "docker exec ");
    sh_quote(&cmd, c->svc[SVC_CLIENT].container_name);
    sb_adds(&cmd, " rm -rf ");
    sh_quote(&cmd, dir.buf);
    int rc = remote_run(s, cmd.buf, 1, 120000, NULL, err);
    sb_release(&dir);
    sb_release(&cmd);
    return rc;
}

static void save_json(const char *dir, const char *node, const char *wl, const struct strbuf *j)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s-%s.json", dir, node, wl);
    FILE *f = fopen(path.buf, "w");
    if (!f || fwrite(j->buf, 1, j->len, f) != j->len)
        log_warn("cannot save %s: %s", path.buf, strerror(errno));
    if (f) fclose(f);
    sb_release(&path);
}

static int collect(const struct m3fs_config *c, struct bench_job *j, const char *json_dir,
                   struct bench_row *row, struct strbuf *err)
{
    const struct m3fs_service *cl = &c->svc[SVC_CLIENT];
    int bad = 0;
    for (size_t i = 0; i < cl->n_member; i++) {
        const char *name = c->nodes[cl->member[i]].name;
        double iops, bw, lat;
        struct strbuf e = STRBUF_INIT;
        if (json_dir) save_json(json_dir, name, j->w->name, &j->json[i]);
        if (bench_parse_fio(j->json[i].buf, j->w->is_write, &iops, &bw, &lat, &e)) {
            sb_addf(err, "%s: %s: %s\n", name, j->w->name, e.buf);
            bad = 1;
        } else {
            bench_row_add(row, iops, bw, lat);
            row->buffered |= j->buffered[i];
        }
        sb_release(&e);
    }
    return bad ? -1 : 0;
}

/* One fio run on every client at once (w NULL: the fill); 0 or -1 with
 * the failing clients' messages in err. The JSON outputs go to json[]. */
static int run_all(const struct m3fs_config *c, struct remote_ctx *ctx, struct bench_job *j,
                   struct strbuf *err)
{
    const struct m3fs_service *cl = &c->svc[SVC_CLIENT];
    size_t failed;
    for (size_t i = 0; i < cl->n_member; i++) sb_init(&j->json[i], 0);
    struct strbuf *errs = remote_ctx_run_errs(ctx, cl->member, cl->n_member, (long)cl->n_member,
                                              run_one, j, &failed);
    for (size_t i = 0; failed && i < cl->n_member; i++)
        if (errs[i].len) sb_addf(err, "%s\n", errs[i].buf);
    remote_errs_free(errs, cl->n_member);
    return failed ? -1 : 0;
}

static void job_release(struct bench_job *j, size_t n)
{
    for (size_t i = 0; i < n; i++) sb_release(&j->json[i]);
    free(j->json);
    free(j->buffered);
}

int bench_run(const struct m3fs_config *c, struct remote_ctx *ctx, const char *profile,
              const char *json_dir, struct strbuf *table, struct strbuf *err)
{
    size_t nw;
    const struct bench_workload *ws = bench_profile(profile, &nw);
    const struct m3fs_service *cl = &c->svc[SVC_CLIENT];
    if (!ws) return sb_addf(err, "unknown profile '%s' (use quick or full)", profile), -1;
    if (!cl->n_member) return sb_adds(err, "no client nodes in services.client"), -1;
    if (json_dir) mkdir(json_dir, 0700);
    struct bench_row *rows = xcalloc(nw, sizeof(*rows));
    log_info("bench: writing the test files (%s each) on %zu client node%s", ws[0].size,
             cl->n_member, plural_s(cl->n_member));
    struct bench_job fill = { c, NULL, ws, nw, xcalloc(cl->n_member, sizeof(struct strbuf)),
                              xcalloc(cl->n_member, sizeof(int)) };
    int status = run_all(c, ctx, &fill, err);
    job_release(&fill, cl->n_member);
    for (size_t w = 0; w < nw && !status; w++) {
        struct bench_job j = { c, &ws[w], ws, nw, xcalloc(cl->n_member, sizeof(struct strbuf)),
                               xcalloc(cl->n_member, sizeof(int)) };
        log_info("bench: %s on %zu client node%s (%d s)", ws[w].label, cl->n_member,
                 plural_s(cl->n_member), ws[w].runtime_s);
        rows[w].w = &ws[w];
        status = run_all(c, ctx, &j, err);
        if (!status) status = collect(c, &j, json_dir, &rows[w], err);
        job_release(&j, cl->n_member);
    }
    /* remove the benchmark files whatever happened (errors here are not fatal) */
    remote_ctx_run(ctx, cl->member, cl->n_member, (long)cl->n_member, cleanup_one, (void *)c, NULL);
    if (!status) bench_table(rows, nw, table);
    free(rows);
    return status;
}

/* <dir of cluster.yml>/.m3fs/<name>.bench-<time>; caller frees. */
char *bench_json_dir(const struct m3fs_config *cfg)
{
    char *copy = xstrdup(cfg->file), stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    char *base = xstrfmt("%s/.m3fs", dirname(copy));
    mkdir(base, 0700);
    char *dir = xstrfmt("%s/%s.bench-%s", base, cfg->name, stamp);
    free(base);
    free(copy);
    return dir;
}
