/* m3fs cluster destroy (alias delete): stop and remove every service in
 * reverse order, unmount, delete the services' files and data; with --all
 * also images and the workDir.  Asks first unless --yes.  Safe to run twice
 * and on a half-created cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/deploy.h"
#include "m3fs/remote.h"

static struct {
    int all, yes;
} o;

static const struct opt_spec opts[] = {
    OPT_BOOL(0, "all", &o.all, "also remove images, m3fs tools and the whole workDir"),
    OPT_BOOL('y', "yes", &o.yes, "do not ask for confirmation"),
    OPT_END(),
};

static void list_service(const struct m3fs_config *cfg, enum svc_kind k, const char *what,
                         int first_only, FILE *out)
{
    size_t n = cfg->svc[k].n_member;
    if (first_only && n > 1) n = 1;
    if (!n) return;
    fprintf(out, "  %-11s %s on", svc_key(k), what);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s %s", i ? "," : "", cfg->nodes[cfg->svc[k].member[i]].name);
    fputc('\n', out);
}

static void print_consequences(const struct m3fs_config *cfg, FILE *out)
{
    fprintf(out, "This destroys 3FS cluster '%s' and ALL DATA stored in it:\n", cfg->name);
    list_service(cfg, SVC_CLIENT, "unmount and remove the FUSE client", 0, out);
    char *data = xstrfmt("remove containers and delete all data in %s/storage/3fsdata%s",
                         cfg->work_dir, cfg->storage.disk != DISK_NVME ? ""
                         : " (unmount; wipe the NVMe disks m3fs formatted)");
    list_service(cfg, SVC_STORAGE, data, 0, out);
    free(data);
    list_service(cfg, SVC_META, "remove containers", 0, out);
    list_service(cfg, SVC_MGMTD, "remove containers", 0, out);
    list_service(cfg, SVC_MONITOR, "remove the container", 1, out);
    list_service(cfg, SVC_CLICKHOUSE, "remove the container and its metrics", 1, out);
    list_service(cfg, SVC_FDB, "remove containers and the FoundationDB data", 0, out);
    fprintf(out, "  and each service's files under %s on its nodes.\n", cfg->work_dir);
    if (o.all)
        fprintf(out, "  --all: also the 3FS, FoundationDB and ClickHouse images and the whole "
                     "%s directory on every node.\n", cfg->work_dir);
}

static int confirmed(const struct m3fs_config *cfg)
{
    if (o.yes) return 1;
    print_consequences(cfg, stderr);
    fprintf(stderr, "Type the cluster name '%s' to go on: ", cfg->name);
    char line[256];
    if (cmd_read_answer(line, sizeof(line)) < 0) return 0;
    if (strcmp(line, cfg->name)) {
        log_error("'%s' is not '%s'; nothing was changed", line, cfg->name);
        return 0;
    }
    return 1;
}

/* After a successful run: the cluster is gone, and so is its state file. */
static void forget_state(struct m3fs_state *st)
{
    if (st->existed && unlink(st->path) < 0)
        log_warn("could not remove the state file %s", st->path);
}

static int run_destroy(const struct cmd_ctx *cctx, struct m3fs_state *st, const struct plan *p)
{
    char *done = xstrfmt("3FS cluster '%s' was destroyed", cctx->cfg->name);
    struct cmd_run run = { .p = p, .st = st, .done = done, .on_done = forget_state };
    int code = cmd_run_plan(cctx, &run);
    free(done);
    return code;
}

static int exec_destroy(struct cmd_ctx *cctx)
{
    struct m3fs_config *cfg = cctx->cfg;
    struct strbuf err = STRBUF_INIT;
    char *path = state_path_for(cfg->file, cfg->name);
    struct m3fs_state *st = state_load(path, &err);
    struct plan_ctx ctx = { .destroy_all = o.all };
    struct plan p = { 0 };
    int rc = EXIT_FAIL;
    if (!st) log_error("%s", err.buf);
    else if (plan_ctx_init(&ctx, cfg, st, 0) < 0 || plan_build_destroy(&ctx, &p) < 0)
        log_error("cannot plan the removal: %s", ctx.err.buf);
    else if (cctx->dry_run) {
        struct strbuf out = STRBUF_INIT;
        sb_addf(&out, "Plan to destroy cluster '%s' (%zu steps). Nothing was changed.\n",
                cfg->name, p.n);
        plan_print(&p, cfg, &out);
        fwrite(out.buf, 1, out.len, stdout);
        sb_release(&out);
        rc = EXIT_OK;
    } else if (confirmed(cfg)) {
        rc = run_destroy(cctx, st, &p);
    }
    plan_free(&p);
    plan_ctx_release(&ctx);
    state_free(st);
    free(path);
    sb_release(&err);
    return rc;
}

static const char *const aliases[] = { "delete", NULL };

const struct cmd_entry cmd_cluster_destroy_entry = {
    .name = "destroy",
    .aliases = aliases,
    .usage = "-c FILE [--workdir DIR] [--registry R] [--all] [--yes] [--dry-run]",
    .summary = "Remove the cluster's services and data from the nodes (asks first)",
    .opts = opts,
    .exec = exec_destroy,
    .flags = CMD_CONFIG | CMD_OVERRIDES | CMD_DRY_RUN | CMD_LOCK,
};
