/* Network preparation: paths, the files a node gets and the commands that
 * write and remove them (no I/O here; see network.c for the steps). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/network.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "m3fs/tmpl.h"

enum net_type net_type_of(const struct m3fs_config *cfg)
{
    return cfg->net;
}

static void wd_path(struct strbuf *sb, const struct m3fs_config *cfg, const char *rel)
{
    size_t n = strlen(cfg->work_dir);
    while (n > 1 && cfg->work_dir[n - 1] == '/') n--;
    sb_add(sb, cfg->work_dir, n);
    sb_addf(sb, "/%s", rel);
}

void net_script_path(struct strbuf *sb, const struct m3fs_config *cfg)
{
    wd_path(sb, cfg, "bin/m3fs-network-setup");
}

void net_shim_path(struct strbuf *sb, const struct m3fs_config *cfg)
{
    wd_path(sb, cfg, "bin/ibdev2netdev");
}

void net_record_path(struct strbuf *sb, const struct m3fs_config *cfg)
{
    wd_path(sb, cfg, "network/files");
}

void net_docker_args_path(struct strbuf *sb, const struct m3fs_config *cfg)
{
    wd_path(sb, cfg, "network/docker-args");
}

void net_unit_path(struct strbuf *sb, const struct m3fs_config *cfg)
{
    const char *base = cfg->service_base_path && *cfg->service_base_path
                           ? cfg->service_base_path : "/etc/systemd/system";
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/') n--;
    sb_add(sb, base, n);
    sb_adds(sb, "/" NET_UNIT_NAME);
}

/* A path as one systemd command-line word: "..." with \ and " escaped,
 * % doubled (specifier). */
static void systemd_quote(struct strbuf *sb, const char *s)
{
    sb_addch(sb, '"');
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') sb_addch(sb, '\\');
        if (*s == '%') sb_addch(sb, '%');
        sb_addch(sb, *s);
    }
    sb_addch(sb, '"');
}

int net_render_lib(const struct m3fs_config *cfg, size_t node, struct strbuf *out,
                   struct strbuf *err)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf words = STRBUF_INIT;
    const struct strvec *f = &cfg->nodes[node].rdma_addresses;
    sh_quote_argv(&words, (const char *const *)f->v);
    tmpl_set(&tv, "filter", words.buf);
    tmpl_set(&tv, "link_types", net_type_of(cfg) == NET_IB ? "1 32" : "1");
    int rc = tmpl_render_embedded("net-lib.sh", &tv, out, err);
    sb_release(&words);
    tmpl_vars_free(&tv);
    return rc;
}

int net_render_with_lib(const struct m3fs_config *cfg, size_t node, const char *name,
                        struct strbuf *out, struct strbuf *err)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf lib = STRBUF_INIT;
    int rc = net_render_lib(cfg, node, &lib, err);
    if (!rc) {
        tmpl_set(&tv, "lib", lib.buf);
        rc = tmpl_render_embedded(name, &tv, out, err);
    }
    sb_release(&lib);
    tmpl_vars_free(&tv);
    return rc;
}

static void add_file(struct net_files *f, const char *path, char *content, unsigned mode)
{
    ALLOC_GROW(f->v, f->n, f->alloc);
    f->v[f->n].path = xstrdup(path);
    f->v[f->n].content = content;
    f->v[f->n].mode = mode;
    f->n++;
}

void net_files_release(struct net_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].content);
    }
    free(f->v);
    f->v = NULL;
    f->n = f->alloc = 0;
}

/* The boot script and its unit (RXE, ERDMA). */
static int boot_files(const struct m3fs_config *cfg, size_t node, struct net_files *out,
                      struct strbuf *err)
{
    int rxe = net_type_of(cfg) == NET_RXE;
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf lib = STRBUF_INIT, script = STRBUF_INIT, unit = STRBUF_INIT;
    struct strbuf spath = STRBUF_INIT, upath = STRBUF_INIT, exec = STRBUF_INIT;
    net_script_path(&spath, cfg);
    net_unit_path(&upath, cfg);
    systemd_quote(&exec, spath.buf);
    tmpl_set(&tv, "type", cfg->network_type);
    tmpl_set(&tv, "unit", NET_UNIT_NAME);
    tmpl_set(&tv, "mode", rxe ? "rxe" : "erdma");
    tmpl_set(&tv, "exec", exec.buf);
    int rc = net_render_lib(cfg, node, &lib, err);
    if (!rc) {
        tmpl_set(&tv, "lib", lib.buf);
        rc = tmpl_render_embedded("net-setup.sh", &tv, &script, err);
    }
    if (!rc) rc = tmpl_render_embedded("net-unit.service", &tv, &unit, err);
    if (!rc) {
        add_file(out, spath.buf, sb_detach(&script), 0755);
        add_file(out, upath.buf, sb_detach(&unit), 0644);
        if (rxe)
            add_file(out, NET_MODULES_FILE,
                     xstrdup("# written by m3fs cluster prepare (networkType RXE)\nrdma_rxe\n"),
                     0644);
        else
            add_file(out, NET_MODPROBE_FILE,
                     xstrdup("# written by m3fs cluster prepare (networkType ERDMA): 3FS needs "
                             "eRDMA in compat mode\noptions erdma compat_mode=Y\n"), 0644);
    }
    sb_release(&lib), sb_release(&script), sb_release(&unit);
    sb_release(&spath), sb_release(&upath), sb_release(&exec);
    tmpl_vars_free(&tv);
    return rc;
}

int net_node_files(const struct m3fs_config *cfg, size_t node, struct net_files *out,
                   struct strbuf *err)
{
    enum net_type t = net_type_of(cfg);
    if (t == NET_TCP) return 0;
    struct strbuf path = STRBUF_INIT;
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf text = STRBUF_INIT;
    int rc = tmpl_render_embedded("net-ibdev2netdev.sh", &none, &text, err);
    if (rc) return -1;
    net_shim_path(&path, cfg);
    add_file(out, path.buf, sb_detach(&text), 0755);
    sb_release(&path);
    if ((t == NET_RXE || t == NET_ERDMA) && boot_files(cfg, node, out, err)) return -1;
    if (config_node_has(cfg, node, SVC_STORAGE))
        add_file(out, NET_SYSCTL_FILE,
                 xstrfmt("# written by m3fs cluster prepare: 3FS storage needs many AIO "
                         "contexts\nfs.aio-max-nr = %lld\n", NET_AIO_MAX_NR), 0644);
    return 0;
}

/* `sh -c <m3fs-net.sh> m3fs-net SUB ` */
static void net_script(struct strbuf *cmd, const char *sub)
{
    script_call(cmd, "m3fs-net.sh");
    sb_addf(cmd, "%s ", sub);
}

void net_put_cmd(struct strbuf *cmd, const char *path, unsigned mode, const char *record)
{
    net_script(cmd, "put");
    sh_quote(cmd, path);
    sb_addf(cmd, " %o ", mode);
    sh_quote(cmd, record);
}

void net_docker_args_cmd(const struct m3fs_config *cfg, struct strbuf *cmd)
{
    struct strbuf path = STRBUF_INIT, rec = STRBUF_INIT, shim = STRBUF_INIT, vol = STRBUF_INIT;
    net_docker_args_path(&path, cfg);
    net_record_path(&rec, cfg);
    net_shim_path(&shim, cfg);
    sb_addf(&vol, "--volume=%s:" NET_SHIM_IN_CONTAINER ":ro", shim.buf);
    net_script(cmd, "docker-args");
    const char *words[] = { path.buf, rec.buf, vol.buf, NULL };
    sh_quote_argv(cmd, words);
    if (net_type_of(cfg) == NET_ERDMA) sb_adds(cmd, " erdma");
    sb_release(&path), sb_release(&rec), sb_release(&shim), sb_release(&vol);
}

void net_aio_cmd(struct strbuf *cmd)
{
    net_script(cmd, "aio");
    sb_addf(cmd, "%lld", NET_AIO_MAX_NR);
}

void net_unit_cmd(const struct m3fs_config *cfg, int reload, struct strbuf *cmd)
{
    struct strbuf sp = STRBUF_INIT;
    net_script_path(&sp, cfg);
    net_script(cmd, "unit");
    sh_quote(cmd, sp.buf);
    sb_addf(cmd, " " NET_UNIT_NAME " %d", reload ? 1 : 0);
    sb_release(&sp);
}

void net_destroy_skip_if(const struct m3fs_config *cfg, struct strbuf *cmd)
{
    struct strbuf rec = STRBUF_INIT;
    net_record_path(&rec, cfg);
    sb_adds(cmd, "! test -f ");
    sh_quote(cmd, rec.buf);
    sb_release(&rec);
}

void net_destroy_cmd(const struct m3fs_config *cfg, struct strbuf *cmd)
{
    struct strbuf rec = STRBUF_INIT, bin = STRBUF_INIT, unit = STRBUF_INIT;
    net_record_path(&rec, cfg);
    wd_path(&bin, cfg, "bin/");
    net_unit_path(&unit, cfg);
    net_script(cmd, "destroy");
    const char *words[] = { rec.buf, unit.buf, bin.buf, NULL };
    sh_quote_argv(cmd, words);
    sb_adds(cmd, " " NET_UNIT_NAME " " NET_SYSCTL_FILE " " NET_MODULES_FILE " " NET_MODPROBE_FILE);
    sb_release(&rec), sb_release(&bin), sb_release(&unit);
}
