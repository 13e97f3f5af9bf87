/* services/monitor.c: monitor_collector (first monitor node only); it
 * writes metrics to the first clickhouse node. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

static int render_toml(struct plan_ctx *ctx, struct strbuf *out)
{
    const struct m3fs_config *cfg = ctx->cfg;
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    const size_t *mon = svc_nodes(ctx, SVC_MONITOR, &n);
    common_vars(ctx, &tv);
    net_vars(ctx, mon[0], &tv);
    tmpl_setf(&tv, "port", "%ld", cfg->monitor.port);
    toml_str(&sb, cfg->ch.db);
    tmpl_set(&tv, "db_toml", sb.buf);
    sb_reset(&sb);
    toml_str(&sb, ctx->ch_password);
    tmpl_set(&tv, "password_toml", sb.buf);
    sb_reset(&sb);
    toml_str(&sb, cfg->ch.user);
    tmpl_set(&tv, "user_toml", sb.buf);
    const size_t *ch = svc_nodes(ctx, SVC_CLICKHOUSE, &n);
    tmpl_set(&tv, "host", n ? config_node_addr(cfg, ch[0]) : "127.0.0.1");
    tmpl_setf(&tv, "ch_port", "%ld", cfg->ch.tcp_port);
    int rc = log_part(ctx, "monitor_collector_main", &tv);
    if (!rc) rc = render(ctx, "monitor_collector_main.toml", &tv, out);
    tmpl_vars_free(&tv);
    sb_release(&sb);
    return rc;
}

int svc_monitor_create(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MONITOR, &n);
    if (!n) return 0;
    struct strbuf toml = STRBUF_INIT;
    if (render_toml(ctx, &toml) < 0) {
        sb_release(&toml);
        return -1;
    }
    char *etc = wd_path(ctx, "monitor/etc"), *log = wd_path(ctx, "monitor/log");
    char *path = xstrfmt("%s/monitor_collector_main.toml", etc);
    struct step *s = plan_add_step(p, "monitor", STEP_PUT, "write monitor_collector_main.toml");
    step_add_put(s, nodes[0], path, toml.buf, toml.len, 0600);
    struct strbuf pw = STRBUF_INIT; /* as the file has it: a TOML string */
    toml_str(&pw, ctx->ch_password);
    step_mask_last(s, pw.buf);
    sb_release(&pw);

    struct ctr_spec c;
    ctr_init(ctx, &c, ctx->cfg->svc[SVC_MONITOR].container_name, ctx->image[IMG_3FS]);
    const char *opts[] = { "--network", "host", "--restart", "unless-stopped", "--privileged",
                           "--volume", "/dev:/dev", "--volume", NULL, "--volume", NULL };
    char *v1 = xstrfmt("%s:/opt/3fs/etc", etc), *v2 = xstrfmt("%s:/var/log/3fs", log);
    opts[8] = v1, opts[10] = v2;
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) sv_push(&c.opts, opts[i]);
    sv_push(&c.cmd, "/opt/3fs/bin/monitor_collector_main");
    sv_push(&c.cmd, "--cfg");
    sv_push(&c.cmd, "/opt/3fs/etc/monitor_collector_main.toml");
    sv_push(&c.dirs, log);
    sb_add(&c.digest_text, toml.buf, toml.len);
    s = plan_add_step(p, "monitor", STEP_RUN, "start the container");
    ctr_add_run(s, nodes[0], &c);
    ctr_release(&c);
    free(v1), free(v2), free(etc), free(log), free(path);
    sb_release(&toml);
    return 0;
}

int svc_monitor_destroy(struct plan_ctx *ctx, struct plan *p)
{
    svc_remove_steps(ctx, p, SVC_MONITOR, "monitor", 1);
    return 0;
}

int svc_monitor_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_MONITOR, 1, 0);
    return 0;
}

/* create has no wait for the monitor either: 3FS services send their
 * metrics whenever it answers. */
int svc_monitor_start(struct plan_ctx *ctx, struct plan *p)
{
    life_start_step(ctx, p, SVC_MONITOR, 1);
    return 0;
}
