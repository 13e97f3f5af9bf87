/* The network steps of `cluster prepare` (docs/network.md): preflight,
 * RDMA packages, setup (files, modules, boot unit, sysctl) and
 * verification.  What each node reports goes to stdout, one line each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/shquote.h"
#include "m3fs/tmpl.h"
#include "network-int.h"

static const char *who(struct remote_session *s)
{
    return config_node_label(remote_node(s));
}

/* Run cmd as root with `in` on stdin; non-zero exit is an error naming the
 * node and `what`, with the command's stderr. */
static int run(struct remote_session *s, const char *cmd, const char *in, long timeout_ms,
               const char *what, struct strbuf *out, struct strbuf *err)
{
    struct exec_opts eo = { .timeout_ms = timeout_ms, .as_root = 1, .stdin_data = in,
                            .stdin_len = in ? strlen(in) : 0 };
    struct exec_result res;
    exec_result_init(&res);
    int rc = remote_exec(s, cmd, &eo, &res, err);
    if (!rc && (res.exit_status != 0 || res.timed_out)) {
        sb_rtrim(&res.err);
        sb_addf(err, "%s: %s %s", who(s), what,
                res.timed_out ? "timed out" : "failed");
        if (!res.timed_out) sb_addf(err, " (exit status %d)", res.exit_status);
        if (res.err.len) sb_addf(err, ": %s", res.err.buf);
        rc = -1;
    }
    if (!rc && out) sb_add(out, res.out.buf, res.out.len);
    exec_result_release(&res);
    return rc;
}

static int run_template(struct remote_session *s, const char *name, const char *what,
                        long timeout_ms, struct strbuf *out, struct strbuf *err)
{
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf script = STRBUF_INIT;
    int rc = tmpl_render_embedded(name, &none, &script, err);
    if (!rc) rc = run(s, "sh -s", script.buf, timeout_ms, what, out, err);
    sb_release(&script);
    return rc;
}

/* ---- preflight ------------------------------------------------------------- */

int net_local_host(void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    (void)err;
    if (net_type_of(r->cfg) == NET_TCP)
        log_warn("networkType TCP is experimental: prepare sets up no RDMA, installs no "
                 "ibdev2netdev shim and does not set fs.aio-max-nr on storage nodes (set it "
                 "to %lld yourself)", NET_AIO_MAX_NR);
    return 0;
}

int net_step_host(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct strbuf out = STRBUF_INIT;
    struct net_facts f;
    memset(&f, 0, sizeof(f));
    int rc = run_template(s, "net-facts.sh", "reading the kernel, CPU and OS",
                          PREP_CHECK_TIMEOUT_MS, &out, err);
    if (!rc && net_parse_facts(out.buf, &f)) {
        sb_addf(err, "%s: cannot read the kernel and CPU from: '%s'", who(s), out.buf);
        rc = -1;
    } else if (!rc) {
        log_info("%s: %s, kernel %s, %s%s", who(s), *f.os_name ? f.os_name : "unknown OS",
                 f.kernel, f.machine, f.avx512f ? " with AVX-512" : "");
        rc = net_check_facts(r->cfg, node, &f, err);
    }
    net_facts_release(&f);
    sb_release(&out);
    return rc ? 1 : 0;
}

/* ---- packages -------------------------------------------------------------- */

int net_takes_part_packages(void *arg, size_t node)
{
    const struct prep_run *r = arg;
    (void)node;
    return net_type_of(r->cfg) == NET_RXE;
}

int net_step_packages(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)node, (void)arg;
    struct strbuf out = STRBUF_INIT;
    int rc = run_template(s, "net-packages.sh", "installing the RDMA packages",
                          NET_PKG_TIMEOUT_MS, &out, err);
    if (!rc) {
        sb_rtrim(&out);
        printf("network %s: packages %s\n", who(s),
               !strcmp(out.buf, "unchanged") ? "already installed" : out.buf);
        fflush(stdout);
    }
    sb_release(&out);
    return rc ? 1 : 0;
}

/* ---- setup ----------------------------------------------------------------- */

int net_takes_part(void *arg, size_t node)
{
    const struct prep_run *r = arg;
    (void)node;
    return net_type_of(r->cfg) != NET_TCP;
}

/* Run a command that writes one file and prints "written" or
 * "unchanged"; notes a change in `changes`. */
static int put_run(struct remote_session *s, const char *cmd, const char *content,
                   const char *path, struct strvec *changes, struct strbuf *err)
{
    struct strbuf out = STRBUF_INIT;
    char *what = xstrfmt("writing %s", path);
    int rc = run(s, cmd, content, PREP_CHECK_TIMEOUT_MS, what, &out, err);
    sb_rtrim(&out);
    if (!rc && !strcmp(out.buf, "written")) sv_pushf(changes, "wrote %s", path);
    free(what);
    sb_release(&out);
    return rc;
}

/* Write one file unless it is already so. */
static int put(struct remote_session *s, const struct m3fs_config *cfg, const struct net_file *f,
               struct strvec *changes, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, rec = STRBUF_INIT;
    net_record_path(&rec, cfg);
    net_put_cmd(&cmd, f->path, f->mode, rec.buf);
    int rc = put_run(s, cmd.buf, f->content, f->path, changes, err);
    sb_release(&cmd), sb_release(&rec);
    return rc;
}

/* <workDir>/network/docker-args: the shim mount, for ERDMA also the
 * userspace provider (found on the node, any architecture). */
static int put_docker_args(struct remote_session *s, const struct m3fs_config *cfg,
                           struct strvec *changes, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, path = STRBUF_INIT;
    net_docker_args_path(&path, cfg);
    net_docker_args_cmd(cfg, &cmd);
    int rc = put_run(s, cmd.buf, NULL, path.buf, changes, err);
    sb_release(&cmd), sb_release(&path);
    return rc;
}

static int aio_sysctl(struct remote_session *s, struct strvec *changes, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    net_aio_cmd(&cmd);
    int rc = run(s, cmd.buf, NULL, PREP_CHECK_TIMEOUT_MS, "setting fs.aio-max-nr", &out, err);
    if (!rc && !strncmp(out.buf, "set", 3)) sv_pushf(changes, "set fs.aio-max-nr=%lld",
                                                     NET_AIO_MAX_NR);
    sb_release(&cmd), sb_release(&out);
    return rc;
}

/* Enable and run the boot unit (so it is known to work); every new fact
 * the script reports afterwards (module loaded, link created) is a change. */
static int run_unit(struct remote_session *s, const struct m3fs_config *cfg, int reload,
                    struct strvec *changes, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    net_unit_cmd(cfg, reload, &cmd);
    int rc = run(s, cmd.buf, NULL, NET_SETUP_TIMEOUT_MS, "running " NET_UNIT_NAME, &out, err);
    char *save = NULL;
    for (char *l = strtok_r(out.buf, "\n", &save); !rc && l; l = strtok_r(NULL, "\n", &save))
        sv_push(changes, l);
    sb_release(&cmd), sb_release(&out);
    return rc;
}

static int setup_node(struct remote_session *s, const struct m3fs_config *cfg, size_t node,
                      struct strvec *changes, struct strbuf *err)
{
    struct net_files files = { 0 };
    int rc = net_node_files(cfg, node, &files, err), boot_changed = 0;
    for (size_t i = 0; !rc && i < files.n; i++) {
        size_t before = changes->n;
        rc = put(s, cfg, &files.v[i], changes, err);
        if (changes->n > before && (files.v[i].mode == 0755 || strstr(files.v[i].path, ".service")))
            boot_changed = 1;
    }
    if (!rc) rc = put_docker_args(s, cfg, changes, err);
    if (!rc && config_node_has(cfg, node, SVC_STORAGE)) rc = aio_sysctl(s, changes, err);
    enum net_type t = net_type_of(cfg);
    if (!rc && (t == NET_RXE || t == NET_ERDMA)) rc = run_unit(s, cfg, boot_changed, changes, err);
    net_files_release(&files);
    return rc;
}

int net_step_setup(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct strvec changes = STRVEC_INIT;
    int rc = setup_node(s, r->cfg, node, &changes, err);
    if (!rc) {
        struct strbuf line = STRBUF_INIT;
        if (changes.n) sv_join(&changes, "; ", &line);
        printf("network %s: %s\n", who(s),
               changes.n ? line.buf : "already set up, nothing changed");
        fflush(stdout);
        sb_release(&line);
    }
    sv_clear(&changes);
    return rc ? 1 : 0;
}

/* ---- verification ---------------------------------------------------------- */

int net_step_verify(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct strbuf script = STRBUF_INIT, out = STRBUF_INIT, sum = STRBUF_INIT;
    struct net_check c;
    memset(&c, 0, sizeof(c));
    int rc = net_render_with_lib(r->cfg, node, "net-check.sh", &script, err);
    if (!rc) rc = run(s, "sh -s", script.buf, PREP_CHECK_TIMEOUT_MS, "checking RDMA", &out, err);
    if (!rc && net_parse_check(out.buf, &c)) {
        sb_addf(err, "%s: unexpected output from the RDMA check: '%s'", who(s), out.buf);
        rc = -1;
    }
    if (!rc) rc = net_verify(r->cfg, node, &c, &sum, err);
    if (!rc) {
        printf("network %s: ready (%s)\n", who(s), sum.buf);
        fflush(stdout);
    }
    net_check_release(&c);
    sb_release(&script), sb_release(&out), sb_release(&sum);
    return rc ? 1 : 0;
}

/* ---- the listen preflight step (src/network/nics.c) ---------------------------------- */

int net_takes_part_listen(void *arg, size_t node)
{
    const struct prep_run *r = arg;
    return config_node_runs_3fs(r->cfg, node);
}

int net_step_listen(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    const struct prep_run *r = arg;
    struct strbuf summary = STRBUF_INIT;
    int rc = net_listen_preflight(s, r->cfg, node, &summary, err);
    if (!rc) log_info("%s: 3FS listens %s", r->cfg->nodes[node].name, summary.buf);
    sb_release(&summary);
    return rc ? 1 : 0;
}
