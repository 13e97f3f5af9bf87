/* services/common.c: pieces shared by the service modules. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/script.h"
#include "m3fs/sha256.h"
#include "m3fs/network.h"
#include "m3fs/shquote.h"
#include "services.h"

void toml_str(struct strbuf *sb, const char *s)
{
    sb_addch(sb, '"');
    sb_add_backslashed(sb, s);
    sb_addch(sb, '"');
}

void toml_str_list(struct strbuf *sb, const struct strvec *sv)
{
    sb_adds(sb, sv->n ? "[ " : "[]");
    for (size_t i = 0; i < sv->n; i++) {
        if (i) sb_adds(sb, ", ");
        toml_str(sb, sv->v[i]);
    }
    if (sv->n) sb_adds(sb, " ]");
}

void net_vars(const struct plan_ctx *ctx, size_t node, struct tmpl_vars *tv)
{
    struct strbuf sb = STRBUF_INIT;
    toml_str_list(&sb, &ctx->cfg->listen_nics);
    tmpl_set(tv, "listen_nics", sb.buf);
    sb_reset(&sb);
    toml_str_list(&sb, config_node_rdma_devices(ctx->cfg, node));
    tmpl_set(tv, "rdma_devices", sb.buf);
    sb_release(&sb);
}

char *wd_path(const struct plan_ctx *ctx, const char *sub)
{
    const char *wd = ctx->cfg->work_dir;
    size_t n = strlen(wd);
    while (n > 1 && wd[n - 1] == '/') n--;
    return xstrfmt("%.*s/%s", (int)n, wd, sub);
}

int render(struct plan_ctx *ctx, const char *name, const struct tmpl_vars *tv, struct strbuf *out)
{
    return tmpl_render_embedded(name, tv, out, &ctx->err);
}

int script_call_tmpl(struct plan_ctx *ctx, const char *name, const struct tmpl_vars *tv,
                     struct strbuf *out)
{
    struct strbuf script = STRBUF_INIT;
    int rc = render(ctx, name, tv, &script);
    if (!rc) script_call_text(out, name, script.buf);
    sb_release(&script);
    return rc;
}

void common_vars(const struct plan_ctx *ctx, struct tmpl_vars *tv)
{
    struct strbuf sb = STRBUF_INIT;
    toml_str(&sb, ctx->cfg->name);
    tmpl_set(tv, "cluster_id", ctx->cfg->name);
    tmpl_set(tv, "cluster_id_toml", sb.buf);
    tmpl_set(tv, "mgmtd_addresses", ctx->mgmtd_addrs);
    tmpl_set(tv, "allow_no_ib", ctx->tcp ? "true" : "false");
    tmpl_set(tv, "force_use_tcp", ctx->tcp ? "true" : "false");
    tmpl_set(tv, "log_level", ctx->cfg->log_level);
    sb_release(&sb);
}

int log_part(struct plan_ctx *ctx, const char *log_name, struct tmpl_vars *into)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf sb = STRBUF_INIT;
    tmpl_set(&tv, "log_level", ctx->cfg->log_level);
    tmpl_set(&tv, "log_name", log_name);
    int rc = render(ctx, "log.toml.part", &tv, &sb);
    if (!rc) tmpl_set(into, "log", sb.buf);
    tmpl_vars_free(&tv);
    sb_release(&sb);
    return rc;
}

int svc_node_selected(const struct plan_ctx *ctx, size_t node)
{
    return !ctx->only_nodes || ctx->only_nodes[node];
}

const size_t *svc_nodes(const struct plan_ctx *ctx, enum svc_kind k, size_t *n)
{
    *n = ctx->cfg->svc[k].n_member;
    return ctx->cfg->svc[k].member;
}

int svc_runs(const struct plan_ctx *ctx, size_t node, enum svc_kind k)
{
    if (!config_node_has(ctx->cfg, node, k)) return 0;
    return k != SVC_STORAGE || !ctx->storage_skip || !ctx->storage_skip[node];
}

/* --- file sets ---------------------------------------------------------- */

void fs_add(struct file_set *fs, const char *name, struct strbuf *content, unsigned mode)
{
    size_t n = fs->names.n;
    if (n + 1 > fs->alloc) {
        fs->alloc = fs->alloc ? fs->alloc * 2 : 8;
        fs->data = xrealloc(fs->data, fs->alloc * sizeof(*fs->data));
        fs->mode = xrealloc(fs->mode, fs->alloc * sizeof(*fs->mode));
    }
    sv_push(&fs->names, name);
    fs->data[n] = *content; /* takes the buffer */
    sb_init(content, 0);
    fs->mode[n] = mode;
}

void fs_release(struct file_set *fs)
{
    for (size_t i = 0; i < fs->names.n; i++) sb_release(&fs->data[i]);
    sv_clear(&fs->names);
    free(fs->data);
    free(fs->mode);
    memset(fs, 0, sizeof(*fs));
}

const struct strbuf *fs_get(const struct file_set *fs, const char *name)
{
    for (size_t i = 0; i < fs->names.n; i++)
        if (!strcmp(fs->names.v[i], name)) return &fs->data[i];
    return NULL;
}

void fs_put(struct step *s, size_t node, const char *dir, const struct file_set *fs)
{
    for (size_t i = 0; i < fs->names.n; i++) {
        char *path = xstrfmt("%s/%s", dir, fs->names.v[i]);
        step_add_put(s, node, path, fs->data[i].buf, fs->data[i].len, fs->mode[i]);
        free(path);
    }
}

void fs_digest_text(const struct file_set *fs, struct strbuf *out)
{
    for (size_t i = 0; i < fs->names.n; i++)
        sb_addf(out, "file %s %o %zu\n%s\n", fs->names.v[i], fs->mode[i], fs->data[i].len,
                fs->data[i].buf);
}

/* --- containers --------------------------------------------------------- */

void ctr_init(const struct plan_ctx *ctx, struct ctr_spec *c, const char *name,
              const char *image)
{
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->image = image;
    c->cluster = ctx->cfg->name;
    sb_init(&c->digest_text, 0);
    sb_addf(&c->digest_text, "salt %s\n", ctx->st->token);
}

void ctr_release(struct ctr_spec *c)
{
    free(c->net_args_file);
    sv_clear(&c->opts);
    sv_clear(&c->cmd);
    sb_release(&c->digest_text);
    sv_clear(&c->dirs);
}

/* ctr_3fs_opts(), with --restart unless-stopped or not (a --rm container). */
static void ctr_3fs_opts_restart(struct plan_ctx *ctx, struct ctr_spec *c, const char *svc,
                                 int restart)
{
    char *dir = wd_path(ctx, svc);
    sv_push(&c->opts, "--network");
    sv_push(&c->opts, "host");
    if (restart) {
        sv_push(&c->opts, "--restart");
        sv_push(&c->opts, "unless-stopped");
    }
    sv_push(&c->opts, "--privileged");
    sv_push(&c->opts, "--ulimit");
    sv_push(&c->opts, "nofile=1048576:1048576");
    sv_push(&c->opts, "--ulimit");
    sv_push(&c->opts, "memlock=-1:-1");
    sv_push(&c->opts, "--volume");
    sv_push(&c->opts, "/dev:/dev");
    sv_pushf(&c->opts, "--volume");
    sv_pushf(&c->opts, "%s/config.d:/opt/3fs/etc", dir);
    sv_pushf(&c->opts, "--volume");
    sv_pushf(&c->opts, "%s/log:/var/log/3fs", dir);
    sv_pushf(&c->dirs, "%s/log", dir);
    free(dir);
    struct strbuf na = STRBUF_INIT;
    net_docker_args_path(&na, ctx->cfg);
    c->net_args_file = sb_detach(&na);
}

void ctr_3fs_opts(struct plan_ctx *ctx, struct ctr_spec *c, const char *svc)
{
    ctr_3fs_opts_restart(ctx, c, svc, 1);
}

static void ctr_digest(const struct ctr_spec *c, char hex[SHA256_HEX_LEN + 1])
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "name %s\nimage %s\n", c->name, c->image);
    if (c->stop_s) sb_addf(&sb, "stop %ld\n", c->stop_s);
    for (size_t i = 0; i < c->opts.n; i++) sb_addf(&sb, "opt %s\n", c->opts.v[i]);
    for (size_t i = 0; i < c->cmd.n; i++) sb_addf(&sb, "cmd %s\n", c->cmd.v[i]);
    sb_add(&sb, c->digest_text.buf, c->digest_text.len);
    sha256_buf_hex(sb.buf, sb.len, hex);
    sb_release(&sb);
}

/* m3fs-ctr.sh's NET_ARGS_FILE PRE NDIRS DIR... OPTION... IMAGE [ARG]... for c. */
static void ctr_add_args(struct strbuf *cmd, const struct ctr_spec *c)
{
    sh_quote(cmd, c->net_args_file ? c->net_args_file : "");
    sb_addch(cmd, ' ');
    sh_quote(cmd, c->pre ? c->pre : "");
    sb_addf(cmd, " %zu", c->dirs.n);
    for (size_t i = 0; i < c->dirs.n; i++) {
        sb_addch(cmd, ' ');
        sh_quote(cmd, c->dirs.v[i]);
    }
    for (size_t i = 0; i < c->opts.n; i++) {
        sb_addch(cmd, ' ');
        sh_quote(cmd, c->opts.v[i]);
    }
    sb_addch(cmd, ' ');
    sh_quote(cmd, c->image);
    for (size_t i = 0; i < c->cmd.n; i++) {
        sb_addch(cmd, ' ');
        sh_quote(cmd, c->cmd.v[i]);
    }
}

/* The container's command checks for itself (templates/m3fs-ctr.sh run):
 * same digest and running is PLAN_DONE_MARK; otherwise an old container
 * is replaced. */
void ctr_add_run(struct step *s, size_t node, struct ctr_spec *c)
{
    char hex[SHA256_HEX_LEN + 1];
    ctr_digest(c, hex);
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-ctr.sh");
    sb_adds(&cmd, "run ");
    sh_quote(&cmd, PLAN_DONE_MARK);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, c->name);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, c->cluster);
    sb_addf(&cmd, " %s ", hex);
    if (c->stop_s) sb_addf(&cmd, "%ld ", c->stop_s);
    else sb_adds(&cmd, "'' ");
    ctr_add_args(&cmd, c);
    step_add_run(s, node, cmd.buf, NULL);
    sb_reset(&cmd);
    script_call(&cmd, "m3fs-ctr.sh");
    sb_adds(&cmd, "running ");
    sh_quote(&cmd, c->name);
    sb_addf(&cmd, " %s", hex);
    step_set_verify(s, cmd.buf);
    sb_release(&cmd);
}

char *ctr_remove_cmd(const struct plan_ctx *ctx, const char *name, long stop_s, const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-ctr.sh");
    sb_adds(&sb, "remove ");
    sh_quote(&sb, name);
    sb_addch(&sb, ' ');
    sh_quote(&sb, ctx->cfg->name);
    if (stop_s) sb_addf(&sb, " %ld", stop_s);
    else if (path) sb_adds(&sb, " ''");
    if (path) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, path);
    }
    return sb_detach(&sb);
}

char *ctr_absent_cmd(const char *name, const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-ctr.sh");
    sb_adds(&sb, "absent ");
    sh_quote(&sb, name);
    if (path) {
        sb_addch(&sb, ' ');
        sh_quote(&sb, path);
    }
    return sb_detach(&sb);
}

/* --- admin_cli ------------------------------------------------------------ */


char *admin_cli_cmd(const char *container, const char *cli_cmd, int with_token)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "docker exec ");
    sh_quote(&sb, container);
    sb_adds(&sb, with_token ? " " ADMIN_CLI_ROOT " " : " " ADMIN_CLI " ");
    sh_quote(&sb, cli_cmd);
    return sb_detach(&sb);
}

/* admin_cli in a throw-away container (m3fs-ctr.sh once): the options of
 * every 3FS container (ctr_3fs_opts) but --restart, on mgmtd's directories. */
char *admin_cli_once_cmd(struct plan_ctx *ctx, const char *cli_cmd)
{
    struct ctr_spec c;
    char *name = xstrfmt("%s-admin", ctx->cfg->svc[SVC_MGMTD].container_name);
    ctr_init(ctx, &c, name, ctx->image[IMG_3FS]);
    ctr_3fs_opts_restart(ctx, &c, "mgmtd", 0);
    sv_push(&c.opts, "--entrypoint");
    sv_push(&c.opts, "/opt/3fs/bin/admin_cli");
    sv_push(&c.cmd, "-cfg");
    sv_push(&c.cmd, "/opt/3fs/etc/admin_cli.toml");
    sv_push(&c.cmd, cli_cmd);
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-ctr.sh");
    sb_adds(&sb, "once ");
    sh_quote(&sb, c.name);
    sb_addch(&sb, ' ');
    sh_quote(&sb, c.cluster);
    sb_addch(&sb, ' ');
    ctr_add_args(&sb, &c);
    ctr_release(&c);
    free(name);
    return sb_detach(&sb);
}

/* --- waits ---------------------------------------------------------------- */

/* `sh -c SCRIPT m3fs-wait SUB GIVE_UP_MARK RESTARTS ` (templates/m3fs-wait.sh). */
static void wait_script(struct strbuf *sb, const char *sub)
{
    script_call(sb, "m3fs-wait.sh");
    sb_addf(sb, "%s ", sub);
    sh_quote(sb, PLAN_GIVE_UP_MARK);
    sb_addf(sb, " %d", CRASH_RESTARTS);
}

static void add_words(struct strbuf *sb, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sb_addch(sb, ' ');
        sh_quote(sb, words[i]);
    }
}

/* m3fs-wait.sh SUB (check or then) for the n containers ctrs and cmd. */
static char *guarded(const char *sub, const char *cmd, const char *const *ctrs, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    wait_script(&sb, sub);
    sb_addf(&sb, " %zu", n);
    add_words(&sb, ctrs, n);
    sb_addf(&sb, " %s", cmd);
    return sb_detach(&sb);
}

char *wait_guarded_n(const char *check, const char *const *ctrs, size_t n)
{
    return guarded("check", check, ctrs, n);
}

char *guard_then(const char *cmd, const char *const *ctrs, size_t n)
{
    return guarded("then", cmd, ctrs, n);
}

char *wait_guarded(const char *check, const char *container)
{
    return wait_guarded_n(check, &container, 1);
}
