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
#include "m3fs/plan.h"
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

/* `docker exec CONTAINER ` of the client container. */
static void client_exec(const struct m3fs_config *c, struct strbuf *cmd)
{
    sb_adds(cmd, "docker exec ");
    sh_quote(cmd, c->svc[SVC_CLIENT].container_name);
    sb_addch(cmd, ' ');
}

/* The command that runs job j's fio on node, inside the client container,
 * in a per-node directory of the mount (the fill makes it first). */
static void fio_cmd(const struct bench_job *j, size_t node, int direct, struct strbuf *cmd)
{
    struct strbuf dir = STRBUF_INIT;
    node_dir(j->cfg, node, &dir);
    client_exec(j->cfg, cmd);
    if (j->w) bench_fio_cmd(j->w, "/opt/3fs/bin/fio", dir.buf, direct, cmd);
    else bench_fill_cmd(j->ws, j->nw, "/opt/3fs/bin/fio", dir.buf, direct, cmd);
    sb_release(&dir);
}

/* `docker exec CLIENT VERB DIR`, DIR the node's directory of the mount. */
static void dir_cmd(const struct m3fs_config *c, size_t node, const char *verb,
                    struct strbuf *cmd)
{
    struct strbuf dir = STRBUF_INIT;
    node_dir(c, node, &dir);
    client_exec(c, cmd);
    sb_addf(cmd, "%s ", verb);
    sh_quote(cmd, dir.buf);
    sb_release(&dir);
}

static int run_fio(struct remote_session *s, struct bench_job *j, size_t node, int direct,
                   struct strbuf *out, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT;
    int rc = 0;
    if (!j->w) { /* the fill comes first: it makes the directory */
        dir_cmd(j->cfg, node, "mkdir -p", &cmd);
        rc = remote_run(s, cmd.buf, 1, 120000L, NULL, err);
        sb_reset(&cmd);
    }
    fio_cmd(j, node, direct, &cmd);
    long timeout_s = j->w ? j->w->runtime_s + 300 : fill_timeout_s(j->ws, j->nw);
    if (!rc) rc = remote_run(s, cmd.buf, 1, timeout_s * 1000L, out, err);
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
    row->w = j->w;
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

/* One CALL step per fio run (the fill, then each workload) on every
 * client node at once; jobs[k] is step k's. */
static void add_fio_step(struct plan *p, struct bench_job *j, const char *title)
{
    const struct m3fs_service *cl = &j->cfg->svc[SVC_CLIENT];
    struct step_call call = { .on_node = run_one, .arg = j };
    struct step *s = plan_add_call(p, "bench", title, &call);
    for (size_t i = 0; i < cl->n_member; i++) {
        struct strbuf cmd = STRBUF_INIT;
        if (!j->w) {
            dir_cmd(j->cfg, cl->member[i], "mkdir -p", &cmd);
            sb_adds(&cmd, "\n      then: ");
        }
        fio_cmd(j, cl->member[i], 1, &cmd);
        step_add_call(s, cl->member[i], cmd.buf);
        sb_release(&cmd);
    }
}

struct bench_plan {
    const struct m3fs_config *cfg;
    const struct bench_workload *ws;
    size_t nw;
    struct bench_job *jobs; /* nw + 1: the fill, then each workload */
    struct plan run, cleanup;
};

static void bench_plan_init(struct bench_plan *bp, const struct m3fs_config *c,
                            const struct bench_workload *ws, size_t nw)
{
    size_t nc = c->svc[SVC_CLIENT].n_member;
    *bp = (struct bench_plan){ c, ws, nw, xcalloc(nw + 1, sizeof(*bp->jobs)), { 0 }, { 0 } };
    for (size_t k = 0; k <= nw; k++) {
        struct bench_job *j = &bp->jobs[k];
        *j = (struct bench_job){ c, k ? &ws[k - 1] : NULL, ws, nw, xcalloc(nc, sizeof(*j->json)),
                                 xcalloc(nc, sizeof(int)) };
        for (size_t i = 0; i < nc; i++) sb_init(&j->json[i], 0);
        struct strbuf title = STRBUF_INIT;
        if (k) sb_addf(&title, "%s (%d s)", ws[k - 1].label, ws[k - 1].runtime_s);
        else sb_addf(&title, "write the test files (%s each)", ws[0].size);
        add_fio_step(&bp->run, j, title.buf);
        sb_release(&title);
    }
    struct step *s = plan_add_step(&bp->cleanup, "bench", STEP_RUN, "remove the test files");
    for (size_t i = 0; i < nc; i++) {
        struct strbuf cmd = STRBUF_INIT;
        dir_cmd(c, c->svc[SVC_CLIENT].member[i], "rm -rf", &cmd);
        step_add_run(s, c->svc[SVC_CLIENT].member[i], cmd.buf, NULL);
        sb_release(&cmd);
    }
    s->timeout_ms = 120000;
}

static void bench_plan_release(struct bench_plan *bp)
{
    size_t nc = bp->cfg->svc[SVC_CLIENT].n_member;
    for (size_t k = 0; k <= bp->nw; k++) {
        for (size_t i = 0; i < nc; i++) sb_release(&bp->jobs[k].json[i]);
        free(bp->jobs[k].json);
        free(bp->jobs[k].buffered);
    }
    free(bp->jobs);
    plan_free(&bp->run);
    plan_free(&bp->cleanup);
}

/* Run the fio steps, then the cleanup whatever happened (its errors are
 * not fatal); 0, -1 with the report in err, or PLAN_INTERRUPTED. */
static int bench_plan_run(struct bench_plan *bp, struct remote_ctx *ctx, struct strbuf *err)
{
    long n = (long)bp->cfg->svc[SVC_CLIENT].n_member;
    struct run_stats rs;
    struct strbuf cerr = STRBUF_INIT;
    int status = plan_run(&bp->run, NULL, ctx, n, &rs, err);
    if (status != PLAN_INTERRUPTED && plan_run(&bp->cleanup, NULL, ctx, n, &rs, &cerr))
        log_warn("bench: %s", cerr.buf);
    sb_release(&cerr);
    if (status == PLAN_INTERRUPTED) sb_adds(err, "interrupted");
    return status;
}

int bench_run(const struct m3fs_config *c, struct remote_ctx *ctx, const char *profile,
              const char *json_dir, struct strbuf *dry_run, struct strbuf *table,
              struct strbuf *err)
{
    size_t nw;
    const struct bench_workload *ws = bench_profile(profile, &nw);
    if (!ws) return sb_addf(err, "unknown profile '%s' (use quick or full)", profile), -1;
    if (!c->svc[SVC_CLIENT].n_member) return sb_adds(err, "no client nodes in services.client"), -1;
    struct bench_plan bp;
    bench_plan_init(&bp, c, ws, nw);
    int status = 0;
    if (dry_run) {
        plan_print(&bp.run, c, dry_run);
        sb_adds(dry_run, "\nThen, whether those steps succeeded or not:\n");
        plan_print(&bp.cleanup, c, dry_run);
    } else {
        if (json_dir) mkdir(json_dir, 0700);
        struct bench_row *rows = xcalloc(nw, sizeof(*rows));
        status = bench_plan_run(&bp, ctx, err);
        for (size_t w = 0; w < nw && !status; w++)
            status = collect(c, &bp.jobs[w + 1], json_dir, &rows[w], err);
        if (!status) bench_table(rows, nw, table);
        free(rows);
    }
    bench_plan_release(&bp);
    return status ? -1 : 0;
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
