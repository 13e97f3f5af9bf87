/* m3fs config create: write a commented sample cluster.yml. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/tmpl.h"

static struct {
    const char *name, *registry, *file, *arch;
    int force;
} o;

static const struct opt_spec opts[] = {
    OPT_STRING('n', "name", &o.name, "NAME", "cluster name (default open3fs)"),
    OPT_STRING('r', "registry", &o.registry, "REGISTRY", "image registry prefix"),
    OPT_STRING('f', "file", &o.file, "FILE", "output file (default cluster.yml)"),
    { OPT_T_STRING, 0, "arch", "architecture", &o.arch, "ARCH", "amd64 or arm64 (default: this machine's)", 0 },
    OPT_BOOL(0, "force", &o.force, "overwrite an existing file"),
    OPT_END(),
};

static const char *host_arch(void)
{
#if defined(__aarch64__)
    return "arm64";
#else
    return "amd64";
#endif
}

static int render_sample(struct strbuf *out, struct strbuf *err)
{
    int arm = !strcmp(o.arch, "arm64");
    struct tmpl_vars tv = TMPL_VARS_INIT;
    tmpl_set(&tv, "name", o.name);
    tmpl_set(&tv, "registry", o.registry);
    tmpl_set(&tv, "arch", o.arch);
    tmpl_set(&tv, "tag_3fs", arm ? "20250617" : "20250410");
    tmpl_set(&tv, "tag_note", arm ? "arm64 build of 3FS."
             : "Needs AVX-512; on CPUs without it use the tag with the suffix -avx2.");
    tmpl_set(&tv, "clickhouse_note", arm ? "On CPUs without ARMv8.2-A (RCpc) use tag 22.9."
             : "ClickHouse server image.");
    int r = tmpl_render_embedded("cluster.yml.tmpl", &tv, out, err);
    tmpl_vars_free(&tv);
    return r;
}

static int write_file(const char *path, const struct strbuf *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (o.force ? O_TRUNC : O_EXCL), 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            log_error("%s already exists; use --force to overwrite it or --file to pick another name", path);
        else
            log_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = write(fd, data->buf, data->len);
    if (close(fd) || n != (ssize_t)data->len) {
        log_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int exec_create(struct cmd_ctx *ctx)
{
    if (!o.name) o.name = "open3fs";
    if (!o.registry) o.registry = "";
    if (!o.file) o.file = "cluster.yml";
    if (!o.arch) o.arch = host_arch();
    if (strcmp(o.arch, "amd64") && strcmp(o.arch, "arm64"))
        return cmd_usage_error(ctx, "--arch must be amd64 or arm64, not '%s'", o.arch);
    if (!*o.name) return cmd_usage_error(ctx, "cluster name is required (--name)");
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    struct diag_list dl = { 0 };
    int rc = EXIT_FAIL;
    if (render_sample(&out, &err)) {
        log_error("%s", err.buf);
        goto done;
    }
    /* The sample must load cleanly; this catches a bad --name or --registry. */
    struct m3fs_config *cfg = config_load_buffer(out.buf, out.len, o.file, NULL, &dl);
    if (!cfg) {
        diag_print(&dl, stderr);
        log_error("refusing to write a config that does not validate (check --name and --registry)");
        goto done;
    }
    config_free(cfg);
    if (write_file(o.file, &out)) goto done;
    printf("Wrote %s. Edit the nodes and services, then run: m3fs config validate -c %s\n", o.file, o.file);
    rc = EXIT_OK;
done:
    diag_list_free(&dl);
    sb_release(&out);
    sb_release(&err);
    return rc;
}

const struct cmd_entry cmd_config_create_entry = {
    .name = "create",
    .usage = "[--name N] [--registry R] [--file F] [--arch amd64|arm64] [--force]",
    .summary = "Write a commented sample cluster.yml",
    .opts = opts,
    .exec = exec_create,
};
