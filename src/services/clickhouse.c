/* services/clickhouse.c: ClickHouse (first clickhouse node only) and the
 * 3FS monitor schema.  Credentials go to the container through a 0600
 * --env-file, never on a command line. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

static int files(struct plan_ctx *ctx, struct step *put, size_t node, struct strbuf *digest)
{
    const struct m3fs_config *cfg = ctx->cfg;
    struct tmpl_vars tv = TMPL_VARS_INIT;
    struct strbuf xml = STRBUF_INIT, sql = STRBUF_INIT, env = STRBUF_INIT;
    tmpl_setf(&tv, "tcp_port", "%ld", cfg->ch.tcp_port);
    tmpl_set(&tv, "db", cfg->ch.db);
    tmpl_set(&tv, "user", cfg->ch.user);
    tmpl_set(&tv, "password", ctx->ch_password);
    int rc = render(ctx, "clickhouse-config.xml", &tv, &xml);
    if (!rc) rc = render(ctx, "3fs-monitor.sql", &tv, &sql);
    if (!rc) rc = render(ctx, "clickhouse.env", &tv, &env);
    if (!rc) {
        char *a = wd_path(ctx, "clickhouse/config.d/config.xml");
        char *b = wd_path(ctx, "clickhouse/sql/3fs-monitor.sql");
        char *c = wd_path(ctx, "clickhouse/clickhouse.env");
        step_add_put(put, node, a, xml.buf, xml.len, 0644);
        step_add_put(put, node, b, sql.buf, sql.len, 0644);
        step_add_put(put, node, c, env.buf, env.len, 0600);
        step_mask_last(put, ctx->ch_password);
        sb_addf(digest, "%s\n%s\n%s\n", xml.buf, sql.buf, env.buf);
        free(a), free(b), free(c);
    }
    tmpl_vars_free(&tv);
    sb_release(&xml), sb_release(&sql), sb_release(&env);
    return rc;
}

static void start(struct plan_ctx *ctx, struct plan *p, size_t node, const struct strbuf *digest)
{
    const char *sub[] = { "data", "log", "config.d", "sql" };
    const char *to[] = { "/var/lib/clickhouse", "/var/log/clickhouse-server",
                         "/etc/clickhouse-server/config.d", "/tmp/sql" };
    struct ctr_spec c;
    ctr_init(ctx, &c, ctx->cfg->svc[SVC_CLICKHOUSE].container_name, ctx->image[IMG_CLICKHOUSE]);
    sv_push(&c.opts, "--network"), sv_push(&c.opts, "host");
    sv_push(&c.opts, "--restart"), sv_push(&c.opts, "unless-stopped");
    char *env = wd_path(ctx, "clickhouse/clickhouse.env");
    sv_push(&c.opts, "--env-file"), sv_push(&c.opts, env);
    for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
        char *rel = xstrfmt("clickhouse/%s", sub[i]), *dir = wd_path(ctx, rel);
        sv_push(&c.opts, "--volume");
        sv_pushf(&c.opts, "%s:%s", dir, to[i]);
        sv_push(&c.dirs, dir);
        free(rel), free(dir);
    }
    sb_add(&c.digest_text, digest->buf, digest->len);
    struct step *s = plan_add_step(p, "clickhouse", STEP_RUN, "start the container");
    ctr_add_run(s, node, &c);
    ctr_release(&c);
    free(env);
}

static char *ch_client(const struct plan_ctx *ctx, const char *query)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "docker exec ");
    sh_quote(&sb, ctx->cfg->svc[SVC_CLICKHOUSE].container_name);
    sb_addf(&sb, " clickhouse-client --port %ld --query ", ctx->cfg->ch.tcp_port);
    sh_quote(&sb, query);
    return sb_detach(&sb);
}

/* `sh -c SCRIPT m3fs-clickhouse SUB CONTAINER PORT` (templates/m3fs-clickhouse.sh). */
static void ch_script(const struct plan_ctx *ctx, const char *sub, struct strbuf *out)
{
    script_call(out, "m3fs-clickhouse.sh");
    sb_addf(out, "%s ", sub);
    sh_quote(out, ctx->cfg->svc[SVC_CLICKHOUSE].container_name);
    sb_addf(out, " %ld", ctx->cfg->ch.tcp_port);
}

static void ping_step(struct plan_ctx *ctx, struct plan *p, size_t node)
{
    struct step *s = plan_add_step(p, "clickhouse", STEP_WAIT, "wait until ClickHouse answers");
    s->wait_for = xstrdup("clickhouse-client to answer SELECT 1");
    s->timeout_ms = (long)ctx->cfg->check_status_timeout_ms;
    s->interval_ms = FIRST_ANSWER_INTERVAL_MS;
    char *ping = ch_client(ctx, "SELECT 1");
    char *ping_g = wait_guarded(ping, ctx->cfg->svc[SVC_CLICKHOUSE].container_name);
    step_add_run(s, node, ping_g, NULL);
    free(ping_g), free(ping);
}

void svc_clickhouse_ping_wait(struct plan_ctx *ctx, struct plan *p, size_t node)
{
    ping_step(ctx, p, node);
}

static void schema(struct plan_ctx *ctx, struct plan *p, size_t node)
{
    ping_step(ctx, p, node);
    struct strbuf skip = STRBUF_INIT, cmd = STRBUF_INIT;
    ch_script(ctx, "has-tables", &skip);
    sb_addch(&skip, ' ');
    sh_quote(&skip, ctx->cfg->ch.db);
    ch_script(ctx, "create-tables", &cmd);
    struct step *s = plan_add_step(p, "clickhouse", STEP_RUN, "create the 3FS monitor tables");
    step_add_run(s, node, cmd.buf, skip.buf);
    sb_release(&skip), sb_release(&cmd);
}

int svc_clickhouse_create(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_CLICKHOUSE, &n);
    if (!n) return 0;
    /* config validate refused a db name that is not a plain word and a user
     * or password with a line break (src/config/validate.c) */
    struct strbuf digest = STRBUF_INIT;
    struct step *put = plan_add_step(p, "clickhouse", STEP_PUT, "write config, schema and "
                                     "credentials");
    int rc = files(ctx, put, nodes[0], &digest);
    if (!rc) {
        start(ctx, p, nodes[0], &digest);
        schema(ctx, p, nodes[0]);
    }
    sb_release(&digest);
    return rc;
}

int svc_clickhouse_destroy(struct plan_ctx *ctx, struct plan *p)
{
    svc_remove_steps(ctx, p, SVC_CLICKHOUSE, "clickhouse", 1);
    return 0;
}

int svc_clickhouse_stop(struct plan_ctx *ctx, struct plan *p)
{
    life_stop_step(ctx, p, SVC_CLICKHOUSE, 1, 0);
    return 0;
}

/* The container, then create's wait until it answers. */
int svc_clickhouse_start(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    size_t *nodes = life_nodes(ctx, SVC_CLICKHOUSE, 1, &n);
    if (n) {
        life_start_step(ctx, p, SVC_CLICKHOUSE, 1);
        ping_step(ctx, p, nodes[0]);
    }
    free(nodes);
    return 0;
}
