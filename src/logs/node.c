/* logs/node.c: the parts of one node: its m3fs containers (docker logs,
 * docker inspect), the log files and rendered configs of its services
 * under workDir, and kernel messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs-int.h"
#include "m3fs/clock.h"
#include "m3fs/log.h"

/* Where each service keeps its files under workDir, as src/services/
 * writes them (each service's wd_path() calls): logs (its containers'
 * /var/log/3fs, /var/fdb/logs, /var/log/clickhouse-server) and configs. */
static const struct svc_files {
    enum svc_kind k;
    int first_only; /* runs on the first node of the service only */
    const char *logs;
    const char *configs[3];
} svc_files[] = {
    { SVC_FDB, 0, "fdb/logs", { NULL } },
    { SVC_CLICKHOUSE, 1, "clickhouse/log", { "clickhouse/config.d", "clickhouse/clickhouse.env", NULL } },
    { SVC_MONITOR, 1, "monitor/log", { "monitor/etc", NULL } },
    { SVC_MGMTD, 0, "mgmtd/log", { "mgmtd/config.d", "admin_cli.sh", NULL } },
    { SVC_META, 0, "meta/log", { "meta/config.d", NULL } },
    { SVC_STORAGE, 0, "storage/log", { "storage/config.d", NULL } },
    { SVC_CLIENT, 0, "client/log", { "client/config.d", NULL } },
};
/* Written by cluster prepare on every node (the network's docker args). */
#define NODE_CONFIG_DIR "network"

struct node_job {
    struct logs_run *r;
    struct remote_session *s;
    size_t node;
    const char *name;
    char *comp; /* the node's path component */
    struct logs_tally t;
};

static int runs_here(const struct logs_run *r, size_t node, const struct svc_files *f)
{
    const struct m3fs_config *cfg = r->o->cfg;
    if (r->o->roles && !(r->o->roles & (1u << f->k))) return 0;
    if (!config_node_has(cfg, node, f->k)) return 0;
    return !f->first_only || cfg->svc[f->k].member[0] == node;
}

void node_read_tokens(struct logs_run *r, struct remote_session *s, const char *node,
                      struct logs_tally *t)
{
    const char *args[] = { "tokens", r->o->cfg->work_dir, NULL };
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    if (run_capture(r, s, args, &out, &err)) {
        struct ix_part p = { .what = "token files (read to mask them)", .node = node,
                             .source = "<workDir>/*/config.d/*token.txt", .status = "failed",
                             .error = err.buf };
        run_record(r, &p, t);
    }
    struct strvec tokens = STRVEC_INIT;
    logs_parse_tokens(out.buf, out.len, &tokens);
    for (size_t i = 0; i < tokens.n; i++) run_add_secret(r, tokens.v[i]);
    sv_clear(&tokens);
    sb_release(&out);
    sb_release(&err);
}

static void container_parts(struct node_job *j, const char *ctr)
{
    struct logs_run *r = j->r;
    char max[24], since[24];
    snprintf(max, sizeof(max), "%zu", r->o->max_bytes);
    snprintf(since, sizeof(since), "%lld", (long long)r->o->since_s);
    char *c = logs_component(ctr);
    char *path = xstrfmt("nodes/%s/docker/%s.log", j->comp, c);
    char *src = r->o->since_s ? xstrfmt("docker logs --timestamps --since %ss %s", since, ctr)
                              : xstrfmt("docker logs --timestamps %s", ctr);
    const char *la[] = { "logs", ctr, since, max, NULL };
    struct part_spec ps = { "container log (stdout and stderr)", j->name, path, src, la, &j->t };
    run_part(r, j->s, &ps);
    free(path), free(src);
    path = xstrfmt("nodes/%s/docker/%s.inspect.json", j->comp, c);
    src = xstrfmt("docker inspect --type container %s", ctr);
    const char *ia[] = { "inspect", ctr, max, NULL };
    ps = (struct part_spec){ "docker inspect", j->name, path, src, ia, &j->t };
    run_part(r, j->s, &ps);
    free(path), free(src), free(c);
}

static void one_file(struct node_job *j, const char *rel, int is_log)
{
    struct logs_run *r = j->r;
    const char *base = strrchr(rel, '/');
    char *src = xstrfmt("%s/%s", r->o->cfg->work_dir, rel);
    const char *fname = base ? base + 1 : rel;
    size_t fl = strlen(fname);
    if (fl >= 9 && !strcmp(fname + fl - 9, "token.txt")) { /* token.txt, client_token.txt */
        struct ix_part p = { .what = "config file", .node = j->name, .source = src,
                             .status = "skipped", .error = "not collected: the file holds a token" };
        run_record(r, &p, &j->t);
        free(src);
        return;
    }
    char max[24];
    snprintf(max, sizeof(max), "%zu", r->o->max_bytes);
    char *path = xstrfmt("nodes/%s/workdir/%s", j->comp, rel);
    const char *args[] = { "file", r->o->cfg->work_dir, rel, max, NULL };
    struct part_spec ps = { is_log ? "log file" : "config file", j->name, path, src, args, &j->t };
    run_part(r, j->s, &ps);
    free(path), free(src);
}

/* What the list left out, in the index. */
static void list_gaps(struct node_job *j, const char *src, size_t bad, size_t more)
{
    if (!bad && !more) return;
    char *why = more ? xstrfmt("%zu more files not collected (at most %d per list)", more,
                               LOGS_MAX_FILES)
                     : xstrfmt("%zu file names unusable (control bytes, '..')", bad);
    struct ix_part p = { .what = "file list", .node = j->name, .source = src,
                         .status = "skipped", .error = why };
    run_record(j->r, &p, &j->t);
    free(why);
}

static void file_parts(struct node_job *j, const struct strvec *dirs, int logs)
{
    struct logs_run *r = j->r;
    int64_t min = logs && r->o->since_s ? (r->o->since_s + 59) / 60 : 0;
    struct strvec args = STRVEC_INIT, names = STRVEC_INIT;
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT, src = STRBUF_INIT;
    sv_push(&args, "list"), sv_push(&args, r->o->cfg->work_dir);
    sv_pushf(&args, "%lld", (long long)min);
    sb_addf(&src, "find under %s:", r->o->cfg->work_dir);
    for (size_t i = 0; i < dirs->n; i++) sv_push(&args, dirs->v[i]), sb_addf(&src, " %s", dirs->v[i]);
    if (min) sb_addf(&src, " (modified in the last %lld min)", (long long)min);
    if (run_capture(r, j->s, (const char *const *)args.v, &out, &err)) {
        struct ix_part p = { .what = "file list", .node = j->name, .source = src.buf,
                             .status = "failed", .error = err.buf };
        run_record(r, &p, &j->t);
    } else {
        size_t bad, more;
        logs_parse_list(out.buf, out.len, LOGS_MAX_FILES, &names, &bad, &more);
        list_gaps(j, src.buf, bad, more);
        for (size_t i = 0; i < names.n; i++) one_file(j, names.v[i], logs);
    }
    sv_clear(&args), sv_clear(&names);
    sb_release(&out), sb_release(&err), sb_release(&src);
}

static void service_parts(struct node_job *j)
{
    struct strvec logs = STRVEC_INIT, cfgs = STRVEC_INIT;
    if (!j->r->o->roles) sv_push(&cfgs, NODE_CONFIG_DIR);
    for (size_t i = 0; i < ARRAY_SIZE(svc_files); i++) {
        const struct svc_files *f = &svc_files[i];
        if (!runs_here(j->r, j->node, f)) continue;
        container_parts(j, j->r->o->cfg->svc[f->k].container_name);
        sv_push(&logs, f->logs);
        for (const char *const *c = f->configs; *c; c++) sv_push(&cfgs, *c);
    }
    if (logs.n) file_parts(j, &logs, 1);
    if (cfgs.n) file_parts(j, &cfgs, 0);
    sv_clear(&logs), sv_clear(&cfgs);
}

static void kernel_part(struct node_job *j)
{
    char max[24];
    snprintf(max, sizeof(max), "%zu", j->r->o->max_bytes);
    char *path = xstrfmt("nodes/%s/kernel.txt", j->comp);
    const char *args[] = { "kernel", max, NULL };
    struct part_spec ps = { "kernel messages (RDMA, FUSE, NVMe)", j->name, path,
                            "dmesg -T | grep -iE 'rdma|rxe|siw|erdma|mlx|infiniband|ib_|ibverbs|fuse|nvme'",
                            args, &j->t };
    run_part(j->r, j->s, &ps);
    free(path);
}

static void progress(const struct node_job *j)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s: %zu part%s, %.1f MiB", j->name, j->t.parts, plural_s(j->t.parts),
            (double)j->t.bytes / (1024.0 * 1024.0));
    if (j->t.failed) sb_addf(&sb, ", %zu not collected (see index.json)", j->t.failed);
    log_info("%s", sb.buf);
    sb_release(&sb);
}

int node_collect(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)err;
    struct logs_run *r = arg;
    struct node_job j = { r, s, node, r->o->cfg->nodes[node].name, NULL, { 0 } };
    r->reached[node] = 1;
    j.comp = logs_component(j.name);
    node_read_tokens(r, s, j.name, &j.t);
    service_parts(&j);
    kernel_part(&j);
    progress(&j);
    free(j.comp);
    return 0;
}
