/* cmd/upgrade-probe.c: before `cluster upgrade` plans, read from the nodes
 * what runs (lifecycle.h, upgrade_read_nodes): each container's image and
 * chain-shuffle label (templates/m3fs-life.sh images) and which mgmtd is
 * the primary (admin_cli list-nodes, parsed as `cluster status` does).
 * The nodes are the truth a resumed or repeated upgrade needs: the state
 * file cannot know a container someone moved by hand. */
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "m3fs/config.h"
#include "m3fs/deploy.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"
#include "m3fs/status.h"

#define PROBE_TIMEOUT_MS 60000L

static int probe_node(struct plan_ctx *ctx, struct remote_ctx *rc, struct upgrade_facts *f,
                      size_t node, struct strbuf *err)
{
    struct strbuf out = STRBUF_INIT;
    struct remote_session *s = remote_ctx_get(rc, node, err);
    char *cmd = upgrade_probe_cmd(ctx, node);
    int r = -1;
    if (s && remote_run(s, cmd, 1, PROBE_TIMEOUT_MS, &out, err) == 0)
        r = upgrade_probe_parse(ctx, f, node, out.buf, err);
    free(cmd);
    sb_release(&out);
    return r;
}

/* The node index of the PRIMARY_MGMTD in list-nodes text, or -1.  mgmtd
 * node ids are 1.. in the order of services.mgmtd.nodes (config_node_id). */
static long primary_in(const struct m3fs_config *cfg, const char *text)
{
    struct st_mgmtd m = { 0 };
    struct strbuf err = STRBUF_INIT;
    long at = -1;
    if (st_parse_list_nodes(text, 0, 0, &m, &err) == 0)
        for (size_t i = 0; i < m.n_nodes && at < 0; i++) {
            if (strcmp(m.nodes[i].status, "PRIMARY_MGMTD")) continue;
            for (size_t j = 0; j < cfg->svc[SVC_MGMTD].n_member; j++) {
                size_t node = cfg->svc[SVC_MGMTD].member[j];
                if (config_node_id(cfg, node, SVC_MGMTD) == m.nodes[i].id) at = (long)node;
            }
        }
    st_mgmtd_release(&m);
    sb_release(&err);
    return at;
}

/* list-nodes in the mgmtd container of each mgmtd node in turn, until one
 * names the primary. */
static long find_primary(struct plan_ctx *ctx, struct remote_ctx *rc)
{
    const struct m3fs_config *cfg = ctx->cfg;
    char *cmd = upgrade_list_nodes_cmd(ctx);
    long at = -1;
    for (size_t j = 0; j < cfg->svc[SVC_MGMTD].n_member && at < 0; j++) {
        size_t node = cfg->svc[SVC_MGMTD].member[j];
        struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
        struct remote_session *s = remote_ctx_get(rc, node, &err);
        if (s && remote_run(s, cmd, 1, PROBE_TIMEOUT_MS, &out, &err) == 0)
            at = primary_in(cfg, out.buf);
        else
            log_warn("list-nodes on %s: %s", cfg->nodes[node].name, err.buf);
        sb_release(&out), sb_release(&err);
    }
    free(cmd);
    return at;
}

int upgrade_read_nodes(struct plan_ctx *ctx, struct remote_ctx *rc, struct upgrade_facts *f,
                       struct strbuf *err)
{
    const struct m3fs_config *cfg = ctx->cfg;
    for (size_t node = 0; node < cfg->n_nodes; node++) {
        if (!upgrade_node_has_units(ctx, node)) continue;
        if (probe_node(ctx, rc, f, node, err) < 0) {
            sb_addf(err, "\n(reading what runs on %s; nothing was changed)",
                    cfg->nodes[node].name);
            return -1;
        }
    }
    f->primary = find_primary(ctx, rc);
    return 0;
}
