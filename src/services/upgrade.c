/* services/upgrade.c: `cluster upgrade` (include/m3fs/deploy.h,
 * docs/lifecycle.md): the containers moved to the images cluster.yml names
 * one unit (one service on one node) at a time, each followed by the wait
 * that says 3FS is whole again.  A unit's container is the very container
 * create starts (the service module's own step, rendered with the other
 * image), so a unit already on the image is skipped by its digest, and a
 * rollback is the same step with the old image.  What runs now (ctx->up,
 * upgrade-facts.c) orders mgmtd, decides whether fdb and ClickHouse take
 * part, and gives each unit's old image. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

/* The order: fdb and ClickHouse (only when they change: the base the 3FS
 * services stand on goes first), the monitor, mgmtd, meta, storage, FUSE
 * clients; inside a service the order of its node list, except that the
 * primary mgmtd goes after the standbys. */
static const enum svc_kind unit_kinds[] = {
    SVC_FDB, SVC_CLICKHOUSE, SVC_MONITOR, SVC_MGMTD, SVC_META, SVC_STORAGE, SVC_CLIENT,
};

static enum img_kind image_kind(enum svc_kind k)
{
    return k == SVC_FDB ? IMG_FDB : k == SVC_CLICKHOUSE ? IMG_CLICKHOUSE : IMG_3FS;
}

static int (*creator(enum svc_kind k))(struct plan_ctx *, struct plan *)
{
    switch (k) {
    case SVC_FDB: return svc_fdb_create;
    case SVC_CLICKHOUSE: return svc_clickhouse_create;
    case SVC_MONITOR: return svc_monitor_create;
    case SVC_MGMTD: return svc_mgmtd_create;
    case SVC_META: return svc_meta_create;
    case SVC_STORAGE: return svc_storage_create;
    default: return svc_client_create;
    }
}

/* The nodes of k an upgrade may move: the monitor and ClickHouse run on
 * their first node only (as create). */
static const size_t *kind_nodes(const struct plan_ctx *ctx, enum svc_kind k, size_t *n)
{
    const size_t *nodes = svc_nodes(ctx, k, n);
    if ((k == SVC_MONITOR || k == SVC_CLICKHOUSE) && *n > 1) *n = 1;
    return nodes;
}

/* What ctx->up saw of k on node, or NULL. */
static const char *seen_image(const struct plan_ctx *ctx, enum svc_kind k, size_t node)
{
    const struct upgrade_facts *f = ctx->up;
    return f && node < f->n_nodes ? f->image[(size_t)k * f->n_nodes + node] : NULL;
}

/* fdb and ClickHouse take part only when ctx->up shows one of their
 * containers on another image than cluster.yml names (or none). */
static int kind_takes_part(const struct plan_ctx *ctx, enum svc_kind k)
{
    if (k != SVC_FDB && k != SVC_CLICKHOUSE) return 1;
    if (!ctx->up) return 0;
    size_t n;
    const size_t *nodes = kind_nodes(ctx, k, &n);
    for (size_t i = 0; i < n; i++) {
        const char *img = seen_image(ctx, k, nodes[i]);
        if (!img || strcmp(img, ctx->image[image_kind(k)])) return 1;
    }
    return 0;
}

/* The i-th node of k in upgrade order: for mgmtd, the primary last. */
static size_t nth_node(const struct plan_ctx *ctx, enum svc_kind k, const size_t *nodes, size_t n,
                       size_t i)
{
    long prim = k == SVC_MGMTD && ctx->up ? ctx->up->primary : -1;
    size_t at = n;
    for (size_t j = 0; j < n; j++)
        if ((long)nodes[j] == prim) at = j;
    if (at == n) return nodes[i];
    if (i == n - 1) return nodes[at];
    return nodes[i < at ? i : i + 1];
}

/* The i-th of the n nodes of k that run it (svc_runs: a storage node
 * remove-storage-nodes drained is no unit), or n when fewer run it; *m
 * gets how many do. */
static size_t nth_running(const struct plan_ctx *ctx, enum svc_kind k, const size_t *nodes,
                          size_t n, size_t i, size_t *m)
{
    size_t at = n;
    *m = 0;
    for (size_t j = 0; j < n; j++)
        if (svc_runs(ctx, nodes[j], k) && (*m)++ == i) at = j;
    return at;
}

/* Unit i: its service and node; 0, or -1 when there is no unit i. */
static int unit_at(const struct plan_ctx *ctx, size_t i, enum svc_kind *k, size_t *node)
{
    for (size_t u = 0; u < ARRAY_SIZE(unit_kinds); u++) {
        size_t n, m;
        const size_t *nodes = kind_nodes(ctx, unit_kinds[u], &n);
        if (!kind_takes_part(ctx, unit_kinds[u])) n = 0;
        size_t at = nth_running(ctx, unit_kinds[u], nodes, n, i, &m);
        if (i < m) {
            *k = unit_kinds[u];
            /* only storage nodes are left out, and mgmtd's order is its own */
            *node = m == n ? nth_node(ctx, unit_kinds[u], nodes, n, i) : nodes[at];
            return 0;
        }
        i -= m;
    }
    return -1;
}

size_t upgrade_unit_count(const struct plan_ctx *ctx)
{
    size_t i = 0, node;
    enum svc_kind k;
    while (!unit_at(ctx, i, &k, &node)) i++;
    return i;
}

char *upgrade_unit_name(const struct plan_ctx *ctx, size_t i)
{
    enum svc_kind k;
    size_t node;
    if (unit_at(ctx, i, &k, &node)) return NULL;
    return xstrfmt("%s on %s", svc_key(k), ctx->cfg->nodes[node].name);
}

const char *upgrade_unit_image(const struct plan_ctx *ctx, size_t i)
{
    enum svc_kind k;
    size_t node;
    if (unit_at(ctx, i, &k, &node)) return NULL;
    return ctx->image[image_kind(k)];
}

static char *from_key(const struct plan_ctx *ctx, size_t i)
{
    char *name = upgrade_unit_name(ctx, i);
    char *key = name ? xstrfmt("upgrade-from %s", name) : NULL;
    free(name);
    return key;
}

const char *upgrade_unit_from(const struct plan_ctx *ctx, size_t i)
{
    enum svc_kind k;
    size_t node;
    if (unit_at(ctx, i, &k, &node)) return NULL;
    char *key = from_key(ctx, i);
    const char *v = ctx->st ? state_get_done(ctx->st, key) : NULL;
    free(key);
    return v ? v : seen_image(ctx, k, node);
}

/* The image unit i runs on its node (NULL: not seen); 1 when that is not
 * its target image (or unknown), so the unit is still to move. */
static int still_to_move(const struct plan_ctx *ctx, size_t i, const char **img)
{
    enum svc_kind k;
    size_t node;
    unit_at(ctx, i, &k, &node);
    *img = seen_image(ctx, k, node);
    return !*img || strcmp(*img, ctx->image[image_kind(k)]) != 0;
}

void upgrade_record_from(struct plan_ctx *ctx)
{
    size_t n = upgrade_unit_count(ctx);
    for (size_t i = 0; i < n; i++) {
        const char *img;
        if (!still_to_move(ctx, i, &img) || !img) continue;
        char *key = from_key(ctx, i);
        state_set_done(ctx->st, key, img);
        free(key);
    }
}

int upgrade_needed(const struct plan_ctx *ctx)
{
    size_t n = upgrade_unit_count(ctx);
    const char *img;
    for (size_t i = 0; i < n; i++)
        if (still_to_move(ctx, i, &img)) return 1;
    return 0;
}

void upgrade_mgmtd_order(const struct plan_ctx *ctx, struct strbuf *text)
{
    long prim = ctx->up ? ctx->up->primary : -1;
    if (prim >= 0)
        sb_addf(text, "mgmtd: the standbys first, the primary (%s, from list-nodes) last",
                ctx->cfg->nodes[prim].name);
    else
        sb_adds(text, "mgmtd: the primary is unknown (list-nodes did not name one): the "
                      "order of cluster.yml");
}

char *upgrade_unit_key(const struct plan_ctx *ctx, size_t i)
{
    char *name = upgrade_unit_name(ctx, i);
    char *key = name ? xstrfmt("upgrade %s", name) : NULL;
    free(name);
    return key;
}

/* The command create runs to start k's container on node, with image:
 * from the service module's own plan.  Caller frees; NULL with ctx->err
 * set when the module cannot render its files. */
static char *container_cmd(struct plan_ctx *ctx, enum svc_kind k, size_t node,
                           const char *image)
{
    enum img_kind ik = image_kind(k);
    char *saved = ctx->image[ik];
    ctx->image[ik] = xstrdup(image);
    struct plan tmp = { 0 };
    char *cmd = NULL;
    if (creator(k)(ctx, &tmp) == 0) {
        for (size_t i = 0; i < tmp.n && !cmd; i++) {
            const struct step *s = &tmp.steps[i];
            if (s->op != STEP_RUN || strcmp(s->service, svc_key(k)) || !strstr(s->title, ": start"))
                continue;
            for (size_t t = 0; t < s->n && !cmd; t++)
                if (s->t[t].node == node) cmd = xstrdup(s->t[t].cmd);
        }
        if (!cmd) sb_addf(&ctx->err, "%s has no container on %s", svc_key(k),
                          ctx->cfg->nodes[node].name);
    }
    plan_free(&tmp);
    free(ctx->image[ik]);
    ctx->image[ik] = saved;
    return cmd;
}

/* What tells that 3FS took the unit back. */
static int unit_waits(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, size_t node)
{
    /* until the new container has run one heartbeat, mgmtd's view may be of
     * the one it replaced, and a crash loop may not have reached the guard's
     * count yet */
    life_settle_step(ctx, p, k, &node, 1, "wait until the new container has run without a restart");
    switch (k) {
    case SVC_MGMTD: svc_mgmtd_primary_wait(ctx, p); return 0;
    case SVC_META: return svc3fs_heartbeat(ctx, p, "meta");
    case SVC_STORAGE:
        if (svc3fs_heartbeat(ctx, p, "storage") < 0) return -1;
        svc_chains_serving_wait(ctx, p);
        return 0;
    case SVC_CLIENT: svc_client_mounted_wait(ctx, p, node); return 0;
    case SVC_FDB: svc_fdb_available_wait(ctx, p, node); return 0;
    case SVC_CLICKHOUSE: svc_clickhouse_ping_wait(ctx, p, node); return 0;
    default: return 0; /* the monitor: create waits for nothing either */
    }
}

/* Before a storage node stops: every chain free to change again.  For
 * MGMTD_NEWBORN_S after a mgmtd takes the lease (here: after a mgmtd
 * container starts, as the upgrade's mgmtd units do) mgmtd changes no
 * chain, so the stopped node's targets stay SERVING: clients keep sending
 * it writes, which fail after their retry time (1 min), and the restarted
 * storage waits until mgmtd takes its targets out (Components.cc
 * waitRoutingInfo).  Passes at once when mgmtd started long ago. */
static void newborn_wait(struct plan_ctx *ctx, struct plan *p)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, SVC_MGMTD, &n);
    life_settle_for_step(ctx, p, SVC_MGMTD, nodes, n, MGMTD_NEWBORN_S,
                         "wait until mgmtd changes chains again (new_chain_bootstrap_interval "
                         "after it started)");
}

int plan_build_upgrade_unit(struct plan_ctx *ctx, size_t i, const char *image, int record,
                            struct plan *p)
{
    enum svc_kind k;
    size_t node;
    if (unit_at(ctx, i, &k, &node)) return -1;
    char *cmd = container_cmd(ctx, k, node, image);
    if (!cmd) return -1;
    if (k == SVC_STORAGE) newborn_wait(ctx, p);
    char *title = xstrfmt("move %s to %s", ctx->cfg->nodes[node].name, image);
    struct step *s = plan_add_step(p, svc_key(k), STEP_RUN, title);
    if (k == SVC_STORAGE) s->timeout_ms = STORAGE_STOP_STEP_MS; /* SIGTERM, time to flush */
    step_add_run(s, node, cmd, NULL);
    free(title), free(cmd);
    size_t before = p->n;
    if (unit_waits(ctx, p, k, node) < 0) return -1;
    if (record) {
        char *key = upgrade_unit_key(ctx, i);
        step_set_state(&p->steps[p->n > before ? p->n - 1 : before - 1], key, image);
        free(key);
    }
    return 0;
}

/* Before any unit: each new image is on every node that runs a unit of it. */
static void image_check(struct plan_ctx *ctx, struct plan *p, size_t n_units, enum img_kind ik)
{
    const char *image = ctx->image[ik];
    unsigned char *seen = xcalloc(ctx->cfg->n_nodes ? ctx->cfg->n_nodes : 1, 1);
    struct strbuf cmd = STRBUF_INIT;
    sb_adds(&cmd, "docker image inspect --format '{{.Id}}' ");
    sh_quote(&cmd, image);
    struct step *s = NULL;
    for (size_t i = 0; i < n_units; i++) {
        enum svc_kind k;
        size_t node;
        if (unit_at(ctx, i, &k, &node) || image_kind(k) != ik || seen[node]) continue;
        seen[node] = 1;
        if (!s) {
            char *title = xstrfmt("check that %s is on every node", image);
            s = plan_add_step(p, "3fs", STEP_RUN, title);
            free(title);
        }
        step_add_run(s, node, cmd.buf, NULL);
    }
    if (s) {
        char *hint = xstrfmt("%s is not on the node: load it there first (with its tag in "
                             "cluster.yml's images, `m3fs cluster prepare` does); no container "
                             "was changed.", image);
        step_add_hint(s, "No such image", hint);
        free(hint);
    }
    free(seen);
    sb_release(&cmd);
}

int plan_build_upgrade(struct plan_ctx *ctx, struct plan *p)
{
    size_t n = upgrade_unit_count(ctx);
    if (!n) return 0;
    const enum img_kind iks[] = { IMG_3FS, IMG_FDB, IMG_CLICKHOUSE };
    for (size_t j = 0; j < ARRAY_SIZE(iks); j++) image_check(ctx, p, n, iks[j]);
    for (size_t i = 0; i < n; i++)
        if (plan_build_upgrade_unit(ctx, i, upgrade_unit_image(ctx, i), 1, p) < 0) return -1;
    return 0;
}
