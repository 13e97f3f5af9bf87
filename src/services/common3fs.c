/* services/common3fs.c: config files, set-config and containers of the
 * four 3FS services (mgmtd, meta, storage, FUSE client). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/sha256.h"
#include "m3fs/shquote.h"
#include "services.h"

static int render_part(struct plan_ctx *ctx, const char *name, const struct tmpl_vars *tv,
                       struct tmpl_vars *into, const char *key)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = render(ctx, name, tv, &sb);
    if (!rc) tmpl_set(into, key, sb.buf);
    sb_release(&sb);
    return rc;
}

/* log_monitor and groups parts of a main config. */
static int main_parts(struct plan_ctx *ctx, const struct svc3fs *sv, size_t node,
                      struct tmpl_vars *tv)
{
    struct tmpl_vars pv = TMPL_VARS_INIT;
    const struct m3fs_config *cfg = ctx->cfg;
    net_vars(ctx, node, &pv);
    tmpl_set(&pv, "monitor_address", ctx->monitor_addr);
    tmpl_set(&pv, "service", sv->service);
    /* the type the NIC preflight judges by (config_listen_type) */
    tmpl_set(&pv, "rdma_network_type", listen_type_name(config_listen_type(cfg, sv->kind)));
    tmpl_setf(&pv, "rdma_port", "%ld", sv->rdma_port);
    tmpl_setf(&pv, "tcp_port", "%ld", sv->tcp_port);
    int rc = log_part(ctx, sv->main, &pv);
    if (!rc) rc = render_part(ctx, "log_monitor.toml.part", &pv, tv, "log_monitor");
    if (!rc && sv->kind != SVC_CLIENT)
        rc = render_part(ctx, ctx->tcp ? "groups_tcp.toml.part" : "groups_rdma.toml.part", &pv,
                         tv, "groups");
    tmpl_vars_free(&pv);
    return rc;
}

static void storage_vars(struct plan_ctx *ctx, struct tmpl_vars *tv)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "[ ");
    for (long i = 0; i < ctx->cfg->storage.disk_num_per_node; i++)
        sb_addf(&sb, "%s'/mnt/3fsdata/data%ld/3fs'", i ? ", " : "", i);
    sb_adds(&sb, " ]");
    tmpl_set(tv, "target_paths", sb.buf);
    tmpl_set(tv, "allow_disk_without_uuid",
             ctx->cfg->storage.disk == DISK_DIR ? "true" : "false");
    sb_release(&sb);
}

/* admin_cli.toml plus the root token (ADMIN_CLI_ROOT_TOML, 0600): what
 * admin_cli reads the token from inside the mgmtd container. */
static int add_root_cli(struct plan_ctx *ctx, struct file_set *fs, const struct tmpl_vars *tv)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = render(ctx, "admin_cli.toml", tv, &sb);
    if (!rc) {
        sb_adds(&sb, "\n# the root token (m3fs's state file); this file is 0600\n"
                     "[user_info]\ntoken = ");
        toml_str(&sb, ctx->st->token);
        sb_addch(&sb, '\n');
        fs_add(fs, ADMIN_CLI_ROOT_TOML, &sb, 0600);
    }
    sb_release(&sb);
    return rc;
}

/* Render template `tname` as file `fname` into fs. */
static int add_file(struct plan_ctx *ctx, struct file_set *fs, const char *tname,
                    const char *fname, const struct tmpl_vars *tv, unsigned mode)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = render(ctx, tname, tv, &sb);
    if (!rc) fs_add(fs, fname, &sb, mode);
    sb_release(&sb);
    return rc;
}

static void node_vars(struct plan_ctx *ctx, const struct svc3fs *sv, size_t node,
                      struct tmpl_vars *tv)
{
    struct strbuf sb = STRBUF_INIT;
    common_vars(ctx, tv);
    net_vars(ctx, node, tv);
    tmpl_set(tv, "fdb_cluster", ctx->fdb_cluster);
    /* the FUSE client gets a non-admin token (issue 20), mgmtd the root one */
    tmpl_set(tv, "token", sv->kind == SVC_CLIENT ? ctx->st->client_token : ctx->st->token);
    tmpl_setf(tv, "node_id", "%ld", config_node_id(ctx->cfg, node, sv->kind));
    tmpl_setf(tv, "file", "%s_app.toml", sv->main);
    toml_str(&sb, ctx->cfg->client.host_mountpoint);
    tmpl_set(tv, "mountpoint_toml", sb.buf);
    sb_release(&sb);
    if (sv->kind == SVC_STORAGE) storage_vars(ctx, tv);
}

int svc3fs_files(struct plan_ctx *ctx, const struct svc3fs *sv, size_t node, struct file_set *fs)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    char *launcher = xstrfmt("%s_launcher.toml", sv->main);
    char *app = xstrfmt("%s_app.toml", sv->main);
    char *mainf = xstrfmt("%s.toml", sv->main);
    node_vars(ctx, sv, node, &tv);
    int rc = main_parts(ctx, sv, node, &tv);
    if (!rc) rc = add_file(ctx, fs, mainf, mainf, &tv, 0644);
    if (!rc) rc = add_file(ctx, fs, launcher, launcher, &tv, 0644);
    if (!rc)
        rc = add_file(ctx, fs, sv->kind == SVC_CLIENT ? app : "service_app.toml", app, &tv, 0644);
    if (!rc) rc = add_file(ctx, fs, "admin_cli.toml", "admin_cli.toml", &tv, 0644);
    if (!rc) rc = add_file(ctx, fs, "fdb.cluster", "fdb.cluster", &tv, 0644);
    if (!rc && (sv->kind == SVC_MGMTD || sv->kind == SVC_CLIENT))
        rc = add_file(ctx, fs, "token.txt", "token.txt", &tv, 0600);
    if (!rc && sv->kind == SVC_MGMTD) rc = add_root_cli(ctx, fs, &tv);
    if (!rc && sv->kind == SVC_MGMTD) { /* for the clients' user-add (m3fs-chains.sh) */
        struct strbuf ct = STRBUF_INIT;
        sb_addf(&ct, "%s\n", ctx->st->client_token);
        fs_add(fs, "client_token.txt", &ct, 0600);
        sb_release(&ct);
    }
    tmpl_vars_free(&tv);
    free(launcher);
    free(app);
    free(mainf);
    return rc;
}

/* The main config, also written into the first mgmtd's config dir for
 * set-config (MAIN_DIR there); mgmtd's own is there already. */
#define MAIN_SUBDIR "mgmtd/config.d/main"
#define MAIN_DIR "/opt/3fs/etc/main"

static const struct strbuf *main_file(const struct svc3fs *sv, const struct file_set *fs)
{
    char *mainf = xstrfmt("%s.toml", sv->main);
    const struct strbuf *f = fs_get(fs, mainf);
    free(mainf);
    return f;
}

/* set-config inside the running mgmtd container (no throw-away container). */
static void set_config_step(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                            const struct file_set *fs)
{
    size_t nm;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &nm);
    const struct strbuf *f = main_file(sv, fs);
    if (!nm || !f) return;
    char hex[SHA256_HEX_LEN + 1] = "";
    sha256_buf_hex(f->buf, f->len, hex);
    char *title = xstrfmt("upload the %s main config (set-config --type %s)", sv->dir,
                          sv->cfg_type);
    struct step *s = plan_add_step(p, sv->dir, STEP_RUN, title);
    char *cli = xstrfmt("set-config --type %s --file %s/%s.toml", sv->cfg_type,
                        sv->kind == SVC_MGMTD ? "/opt/3fs/etc" : MAIN_DIR, sv->main);
    char *cmd = admin_cli_cmd(ctx->cfg->svc[SVC_MGMTD].container_name, cli, 0);
    step_add_run(s, mg[0], cmd, NULL);
    char *key = xstrfmt("set-config %s", sv->cfg_type);
    step_set_state(s, key, hex);
    free(key), free(cmd), free(cli), free(title);
}

void svc3fs_config_stored_by(struct step *s, const struct svc3fs *sv,
                             const struct svc3fs_all *all)
{
    const struct strbuf *f = all->n && sv->cfg_type ? main_file(sv, &all->fs[0]) : NULL;
    if (!f) return;
    char hex[SHA256_HEX_LEN + 1] = "";
    sha256_buf_hex(f->buf, f->len, hex);
    char *key = xstrfmt("set-config %s", sv->cfg_type);
    step_set_state_also(s, key, hex);
    free(key);
}

/* The copy of the main config that set_config_step reads. */
static void put_main_copy(struct plan_ctx *ctx, struct step *put, const struct svc3fs *sv,
                          const struct file_set *fs)
{
    size_t nm;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &nm);
    const struct strbuf *f = main_file(sv, fs);
    if (!nm || !f || !sv->cfg_type || sv->kind == SVC_MGMTD) return;
    char *sub = xstrfmt(MAIN_SUBDIR "/%s.toml", sv->main), *path = wd_path(ctx, sub);
    step_add_put(put, mg[0], path, f->buf, f->len, 0644);
    free(sub), free(path);
}

static void container_target(struct plan_ctx *ctx, struct step *s, const struct svc3fs *sv,
                             size_t node, const struct file_set *fs,
                             const struct strvec *extra_opts)
{
    struct ctr_spec c;
    ctr_init(ctx, &c, ctx->cfg->svc[sv->kind].container_name, ctx->image[IMG_3FS]);
    ctr_3fs_opts(ctx, &c, sv->dir);
    if (sv->kind == SVC_STORAGE) c.stop_s = STORAGE_STOP_S;
    for (size_t i = 0; extra_opts && i < extra_opts->n; i++) sv_push(&c.opts, extra_opts->v[i]);
    sv_pushf(&c.cmd, "/opt/3fs/bin/%s", sv->main);
    sv_push(&c.cmd, "--launcher_cfg");
    sv_pushf(&c.cmd, "/opt/3fs/etc/%s_launcher.toml", sv->main);
    sv_push(&c.cmd, "--app_cfg");
    sv_pushf(&c.cmd, "/opt/3fs/etc/%s_app.toml", sv->main);
    fs_digest_text(fs, &c.digest_text);
    c.pre = sv->pre;
    ctr_add_run(s, node, &c);
    ctr_release(&c);
}

/* Evidence for the heartbeat wait lasting this long stops it: three of the
 * heartbeats 3FS services send every 10 s (upstream
 * src/client/mgmtd/MgmtdClient.h auto_heartbeat_interval). */
#define HB_EVIDENCE_MS 30000L

/* Arguments WHO LOGDIR MAIN of m3fs-heartbeat for the services of node
 * (mgmtd only when with_mgmtd), and their containers into ctrs. */
static void hb_services(struct plan_ctx *ctx, size_t node, int with_mgmtd, struct strbuf *args,
                        struct strvec *ctrs)
{
    static const struct { enum svc_kind k; const char *dir, *main; } svcs[] = {
        { SVC_MGMTD, "mgmtd", "mgmtd_main" },
        { SVC_META, "meta", "meta_main" },
        { SVC_STORAGE, "storage", "storage_main" },
    };
    const struct m3fs_config *cfg = ctx->cfg;
    for (size_t i = 0; i < ARRAY_SIZE(svcs); i++) {
        if (svcs[i].k == SVC_MGMTD ? !with_mgmtd : !svc_runs(ctx, node, svcs[i].k))
            continue;
        const char *ctr = cfg->svc[svcs[i].k].container_name;
        char *who = xstrfmt("%s on %s", svcs[i].dir, cfg->nodes[node].name);
        char *sub = xstrfmt("%s/log", svcs[i].dir), *logdir = wd_path(ctx, sub);
        const char *words[] = { who, logdir, svcs[i].main };
        for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
            sb_addch(args, ' ');
            sh_quote(args, words[w]);
        }
        sv_push(ctrs, ctr);
        free(who), free(sub), free(logdir);
    }
}

/* `sh -c SCRIPT m3fs-heartbeat ` (templates/m3fs-heartbeat.sh). */
static int hb_script(struct plan_ctx *ctx, struct strbuf *out)
{
    struct tmpl_vars tv = TMPL_VARS_INIT;
    tmpl_set(&tv, "suspect", PLAN_SUSPECT_MARK);
    tmpl_set(&tv, "admin_cli", ADMIN_CLI);
    int rc = script_call_tmpl(ctx, "m3fs-heartbeat.sh", &tv, out);
    tmpl_vars_free(&tv);
    return rc;
}

/* The check on the first mgmtd node (one list-nodes for every meta and
 * storage node id), guarding the 3FS containers there. */
static void hb_check(struct plan_ctx *ctx, struct step *s, size_t mg0, const char *script)
{
    size_t nmeta, nst;
    const size_t *meta = svc_nodes(ctx, SVC_META, &nmeta);
    const size_t *st = svc_nodes(ctx, SVC_STORAGE, &nst);
    struct strbuf ids = STRBUF_INIT, cmd = STRBUF_INIT;
    for (size_t i = 0; i < nmeta; i++)
        sb_addf(&ids, "%s%ld", ids.len ? " " : "", config_node_id(ctx->cfg, meta[i], SVC_META));
    for (size_t i = 0; i < nst; i++)
        if (svc_runs(ctx, st[i], SVC_STORAGE))
            sb_addf(&ids, "%s%ld", ids.len ? " " : "", config_node_id(ctx->cfg, st[i], SVC_STORAGE));
    struct strvec ctrs = STRVEC_INIT;
    sb_addf(&cmd, "%scheck ", script);
    sh_quote(&cmd, ctx->cfg->svc[SVC_MGMTD].container_name);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, ids.buf);
    hb_services(ctx, mg0, 1, &cmd, &ctrs);
    char *guarded = wait_guarded_n(cmd.buf, (const char *const *)ctrs.v, ctrs.n);
    step_add_run(s, mg0, guarded, NULL);
    free(guarded);
    sv_clear(&ctrs);
    sb_release(&ids), sb_release(&cmd);
}

/* A watch on every other meta or storage node: its containers' crash
 * loops and its services' evidence of refused heartbeats. */
static void hb_watches(struct plan_ctx *ctx, struct step *s, size_t mg0, const char *script)
{
    for (size_t node = 0; node < ctx->cfg->n_nodes; node++) {
        if (node == mg0 || !(svc_runs(ctx, node, SVC_META) || svc_runs(ctx, node, SVC_STORAGE)))
            continue;
        struct strbuf cmd = STRBUF_INIT, args = STRBUF_INIT;
        struct strvec ctrs = STRVEC_INIT;
        hb_services(ctx, node, 0, &args, &ctrs);
        sb_addf(&cmd, "%swatch%s", script, args.buf);
        char *watch = guard_then(cmd.buf, (const char *const *)ctrs.v, ctrs.n);
        step_add_watch(s, node, watch);
        free(watch);
        sv_clear(&ctrs);
        sb_release(&cmd), sb_release(&args);
    }
}

static void hb_hints(struct plan_ctx *ctx, struct step *s)
{
    char *admin = wd_path(ctx, "admin_cli.sh");
    char *reg = xstrfmt(
        "mgmtd refuses heartbeats from node ids that are not registered unless its config sets "
        "server.service.allow_heartbeat_from_unregistered = true (code default false; upstream "
        "src/mgmtd/ops/HeartbeatOperation.cc). m3fs sets it in mgmtd_main.toml and uploads that "
        "with set-config --type MGMTD whenever it changes, so mgmtd is running another config: "
        "one uploaded outside m3fs (upload m3fs's again on the first mgmtd node: %s set-config "
        "--type MGMTD --file /opt/3fs/etc/mgmtd_main.toml), or none at all because FoundationDB "
        "was emptied outside m3fs (mgmtd then starts on its built-in defaults, upstream "
        "src/mgmtd/MgmtdConfigFetcher.cc) and the state file %s is stale: run `m3fs cluster "
        "destroy -c <file> --yes` and create again.", admin, ctx->st->path);
    step_add_hint(s, "not registered", reg);
    step_add_hint(s, "keeps restarting",
                  "a 3FS service keeps failing at start; its last log lines are above. \"Init "
                  "config failed\" means a config file was refused: its launcher or app file, or "
                  "the main config mgmtd holds for it (init-cluster and set-config store it "
                  "without checking, so a bad one shows only when the service starts: upstream "
                  "src/common/app/Utils.cc). With RDMA devices but none usable a service exits "
                  "at start unless ib_devices.allow_no_usable_devices (networkType TCP sets it).");
    step_add_hint(s, NO_RDMA_MATCH, NO_RDMA_HINT);
    step_add_hint(s, "not HEARTBEAT_CONNECTED yet",
                  "a meta or storage node missing from list-nodes never had a heartbeat "
                  "accepted by mgmtd: its service's log is in <workDir>/<service>/log/ on its "
                  "node (3FS logs to files there; the container's output holds only fatal "
                  "errors).");
    free(reg), free(admin);
}

/* The wait until every meta and storage node is HEARTBEAT_CONNECTED: one
 * poll on the first mgmtd node for all, with a watch on each other meta or
 * storage node (a crash loop or refused heartbeats there stop the wait). */
int svc3fs_heartbeat(struct plan_ctx *ctx, struct plan *p, const char *lane)
{
    size_t nm, nmeta, nst;
    const size_t *mg = svc_nodes(ctx, SVC_MGMTD, &nm);
    svc_nodes(ctx, SVC_META, &nmeta);
    svc_nodes(ctx, SVC_STORAGE, &nst);
    if (!nm || !(nmeta + nst)) return 0;
    struct strbuf script = STRBUF_INIT;
    if (hb_script(ctx, &script) < 0) {
        sb_release(&script);
        return -1;
    }
    struct step *s = plan_add_step(p, lane, STEP_WAIT, "wait until every meta and storage node "
                                   "is HEARTBEAT_CONNECTED in list-nodes");
    s->wait_for = xstrdup("every meta and storage node to show HEARTBEAT_CONNECTED in "
                          "admin_cli list-nodes");
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    s->interval_ms = (long)ctx->cfg->check_status_interval_ms;
    s->suspect_ms = HB_EVIDENCE_MS;
    hb_check(ctx, s, mg[0], script.buf);
    hb_watches(ctx, s, mg[0], script.buf);
    hb_hints(ctx, s);
    sb_release(&script);
    return 0;
}

int svc3fs_put(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
               struct svc3fs_all *all)
{
    all->nodes = svc_nodes(ctx, sv->kind, &all->n);
    all->fs = xcalloc(all->n ? all->n : 1, sizeof(*all->fs));
    if (!all->n) return 0;
    char *dir = xstrfmt("%s/config.d", sv->dir), *cdir = wd_path(ctx, dir);
    struct step *put = plan_add_step(p, sv->dir, STEP_PUT, "write config files");
    int rc = 0;
    /* every node's files are rendered (fs[0] is the main config set-config
     * uploads); only the selected nodes get theirs */
    for (size_t i = 0; i < all->n && !rc; i++) {
        rc = svc3fs_files(ctx, sv, all->nodes[i], &all->fs[i]);
        if (!rc && svc_node_selected(ctx, all->nodes[i]))
            fs_put(put, all->nodes[i], cdir, &all->fs[i]);
    }
    if (!rc) put_main_copy(ctx, put, sv, &all->fs[0]);
    free(dir);
    free(cdir);
    return rc;
}

void svc3fs_set_config(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                       const struct svc3fs_all *all)
{
    if (all->n && sv->cfg_type) set_config_step(ctx, p, sv, &all->fs[0]);
}

void svc3fs_start(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                  const struct svc3fs_all *all, const struct strvec *extra_opts)
{
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) n += (size_t)svc_node_selected(ctx, all->nodes[i]);
    if (!n) return;
    struct step *s = plan_add_step(p, sv->dir, STEP_RUN, "start containers");
    if (sv->kind == SVC_STORAGE) s->timeout_ms = STORAGE_STOP_STEP_MS; /* may replace one */
    for (size_t i = 0; i < all->n; i++)
        if (svc_node_selected(ctx, all->nodes[i]))
            container_target(ctx, s, sv, all->nodes[i], &all->fs[i], extra_opts);
}

void svc3fs_all_release(struct svc3fs_all *all)
{
    for (size_t i = 0; i < all->n; i++) fs_release(&all->fs[i]);
    free(all->fs);
    memset(all, 0, sizeof(*all));
}

int svc3fs_create(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                  const struct strvec *extra_opts)
{
    struct svc3fs_all all = { 0 };
    int rc = svc3fs_put(ctx, p, sv, &all);
    if (!rc && all.n) {
        svc3fs_set_config(ctx, p, sv, &all);
        svc3fs_start(ctx, p, sv, &all, extra_opts);
    }
    svc3fs_all_release(&all);
    return rc;
}

void svc_remove_steps(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const char *svc,
                      int first_only)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, k, &n);
    if (first_only && n > 1) n = 1;
    svc_remove_steps_on(ctx, p, k, svc, nodes, n);
}

void svc_remove_steps_on(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const char *svc,
                         const size_t *nodes, size_t n)
{
    if (!n) return;
    char *title = xstrfmt("remove the container and %s files", svc);
    struct step *s = plan_add_step(p, svc, STEP_RUN, title);
    if (k == SVC_STORAGE) s->timeout_ms = STORAGE_STOP_STEP_MS;
    char *dir = wd_path(ctx, svc);
    char *rm = ctr_remove_cmd(ctx, ctx->cfg->svc[k].container_name,
                              k == SVC_STORAGE ? STORAGE_STOP_S : 0, dir);
    char *skip = ctr_absent_cmd(ctx->cfg->svc[k].container_name, dir);
    for (size_t i = 0; i < n; i++) step_add_run(s, nodes[i], rm, skip);
    free(skip), free(rm), free(dir);
    free(title);
}
