/* logs/cluster.c: the parts taken once: cluster.yml and the state file from
 * this machine, admin_cli's lists from a mgmtd node and fdb's status json
 * from an fdb node (the first of each that answers). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "logs-int.h"
#include "m3fs/log.h"
#include "m3fs/plan.h"

/* Configured secrets.  The well-known ClickHouse default is no secret (as
 * config validation says): masking it would blank every word "password". */
static void config_secrets(struct logs_run *r)
{
    const struct m3fs_config *cfg = r->o->cfg;
    for (size_t i = 0; i < cfg->n_nodes; i++) run_add_secret(r, cfg->nodes[i].password);
    for (size_t i = 0; i < cfg->n_groups; i++) run_add_secret(r, cfg->groups[i].password);
    if (cfg->ch.password && strcmp(cfg->ch.password, "password"))
        run_add_secret(r, cfg->ch.password);
    run_add_secret(r, cfg->pg.password);
    run_add_secret(r, cfg->pg.ro_password);
}

static void local_file(struct logs_run *r, const char *what, const char *path, const char *rel)
{
    struct strbuf text = STRBUF_INIT;
    struct ix_part p = { .what = what, .path = rel, .source = path, .status = "ok" };
    if (sb_read_file(&text, path)) {
        struct strbuf e = STRBUF_INIT;
        sb_addf(&e, "cannot read it: %s", strerror(errno));
        p.path = NULL, p.status = "failed", p.error = e.buf;
        run_record(r, &p, NULL);
        sb_release(&e);
    } else {
        run_write(r, &p, &text, logs_tail(&text, r->o->max_bytes), NULL);
    }
    sb_release(&text);
}

/* The state file holds the admin token: it is known (and masked) before
 * anything is collected.  A state file that cannot be read as one is not
 * archived: its token would be unknown. */
static void state_part(struct logs_run *r)
{
    char *path = state_path_for(r->o->config_path, r->o->cfg->name);
    struct stat st;
    struct ix_part p = { .what = "m3fs state file", .source = path, .status = "skipped" };
    if (stat(path, &st)) {
        p.error = "no state file beside cluster.yml (the cluster was not created from here)";
        run_record(r, &p, NULL);
        free(path);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    struct m3fs_state *s = state_load(path, &err);
    if (s) {
        run_add_secret(r, s->token);
        run_add_secret(r, s->ch_password); /* minted when cluster.yml sets none */
        state_free(s);
        local_file(r, "m3fs state file", path, "local/state.json");
    } else {
        run_mask(r, &err, 0);
        p.status = "failed", p.error = err.buf;
        run_record(r, &p, NULL);
    }
    sb_release(&err);
    free(path);
}

void cluster_local_parts(struct logs_run *r)
{
    config_secrets(r);
    state_part(r);
    local_file(r, "cluster.yml", r->o->config_path, "local/cluster.yml");
}

/* --- on the first node of a service that answers ------------------------- */

struct once {
    struct logs_run *r;
    int called;
};

static const char *const admin_cmds[] = { "list-nodes", "list-targets", "list-chains" };

static int admin_fn(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)err;
    struct once *o = arg;
    struct logs_run *r = o->r;
    const char *name = r->o->cfg->nodes[node].name, *wd = r->o->cfg->work_dir;
    char max[24];
    o->called = 1;
    snprintf(max, sizeof(max), "%zu", r->o->max_bytes);
    node_read_tokens(r, s, name, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(admin_cmds); i++) {
        char *path = xstrfmt("cluster/admin_cli-%s.txt", admin_cmds[i]);
        char *src = xstrfmt("%s/admin_cli.sh %s", wd, admin_cmds[i]);
        const char *args[] = { "admin", wd, admin_cmds[i], max, NULL };
        struct part_spec ps = { "admin_cli output", name, path, src, args, NULL };
        run_part(r, s, &ps);
        free(path), free(src);
    }
    return 0;
}

static int fdb_fn(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    (void)err;
    struct once *o = arg;
    struct logs_run *r = o->r;
    const char *ctr = r->o->cfg->svc[SVC_FDB].container_name;
    char max[24];
    o->called = 1;
    snprintf(max, sizeof(max), "%zu", r->o->max_bytes);
    char *src = xstrfmt("docker exec %s fdbcli --timeout 20 --exec 'status json'", ctr);
    const char *args[] = { "fdb", ctr, max, NULL };
    struct part_spec ps = { "fdb status json", r->o->cfg->nodes[node].name,
                            "cluster/fdb-status.json", src, args, NULL };
    run_part(r, s, &ps);
    free(src);
    return 0;
}

/* Try fn on the nodes of service k in order until one answers; when none
 * does, index `what` as failed with every node's connection error. */
static void on_first(struct logs_run *r, struct remote_ctx *rc, enum svc_kind k,
                     remote_step_fn fn, const char *what)
{
    const struct m3fs_service *svc = &r->o->cfg->svc[k];
    struct once o = { r, 0 };
    struct strbuf errs = STRBUF_INIT;
    for (size_t i = 0; i < svc->n_member && !o.called; i++) {
        struct strbuf e = STRBUF_INIT;
        remote_ctx_run(rc, &svc->member[i], 1, 1, fn, &o, &e);
        if (!o.called) sb_addf(&errs, "%s%s", errs.len ? "; " : "", e.buf);
        sb_release(&e);
    }
    if (!o.called) {
        if (!svc->n_member) sb_addf(&errs, "no %s node in cluster.yml", svc_key(k));
        run_mask(r, &errs, 0);
        struct ix_part p = { .what = what, .source = svc_key(k), .status = "failed",
                             .error = errs.buf };
        run_record(r, &p, NULL);
        log_warn("%s: no %s node answered", what, svc_key(k));
    }
    sb_release(&errs);
}

void cluster_remote_parts(struct logs_run *r, struct remote_ctx *rc)
{
    on_first(r, rc, SVC_MGMTD, admin_fn, "admin_cli output");
    on_first(r, rc, SVC_FDB, fdb_fn, "fdb status json");
}
