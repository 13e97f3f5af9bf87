/* services/upgrade-facts.c: what an upgrade reads from the nodes before it
 * is planned (include/m3fs/deploy.h, struct upgrade_facts;
 * docs/lifecycle.md): the image each container runs and its chain-shuffle
 * label (templates/m3fs-life.sh images), and the label of the new 3FS
 * image; then the verdict of contract B15 from them. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

void upgrade_facts_init(struct upgrade_facts *f, size_t n_nodes)
{
    memset(f, 0, sizeof(*f));
    f->n_nodes = n_nodes;
    size_t n = (size_t)SVC_COUNT * (n_nodes ? n_nodes : 1);
    f->image = xcalloc(n, sizeof(*f->image));
    f->shuffle = xcalloc(n, sizeof(*f->shuffle));
    f->primary = -1;
}

void upgrade_facts_release(struct upgrade_facts *f)
{
    size_t n = (size_t)SVC_COUNT * f->n_nodes;
    for (size_t i = 0; f->image && i < n; i++) free(f->image[i]), free(f->shuffle[i]);
    free(f->image), free(f->shuffle), free(f->new_shuffle);
    memset(f, 0, sizeof(*f));
    f->primary = -1;
}

/* NULL for an empty label ("<no value>": docker's template for a key the
 * map lacks). */
static char *label_dup(const char *v)
{
    return v && *v && strcmp(v, "<no value>") ? xstrdup(v) : NULL;
}

void upgrade_facts_set(struct upgrade_facts *f, enum svc_kind k, size_t node,
                       const char *image, const char *shuffle)
{
    size_t at = (size_t)k * f->n_nodes + node;
    free(f->image[at]), free(f->shuffle[at]);
    f->image[at] = image && *image ? xstrdup(image) : NULL;
    f->shuffle[at] = label_dup(shuffle);
}

/* The services an upgrade may move, and whether they run on node (the
 * monitor and ClickHouse on their first node only). */
static const enum svc_kind kinds[] = {
    SVC_FDB, SVC_CLICKHOUSE, SVC_MONITOR, SVC_MGMTD, SVC_META, SVC_STORAGE, SVC_CLIENT,
};

static int runs_on(const struct plan_ctx *ctx, enum svc_kind k, size_t node)
{
    size_t n;
    const size_t *nodes = svc_nodes(ctx, k, &n);
    if ((k == SVC_MONITOR || k == SVC_CLICKHOUSE) && n > 1) n = 1;
    for (size_t i = 0; i < n; i++)
        if (nodes[i] == node) return svc_runs(ctx, node, k); /* not a drained storage node */
    return 0;
}

int upgrade_node_has_units(const struct plan_ctx *ctx, size_t node)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        if (runs_on(ctx, kinds[i], node)) return 1;
    return 0;
}

char *upgrade_probe_cmd(const struct plan_ctx *ctx, size_t node)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-life.sh");
    sb_adds(&sb, "images ");
    sh_quote(&sb, UPGRADE_SHUFFLE_LABEL);
    sb_addch(&sb, ' ');
    sh_quote(&sb, ctx->image[IMG_3FS]);
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!runs_on(ctx, kinds[i], node)) continue;
        sb_addch(&sb, ' ');
        sh_quote(&sb, ctx->cfg->svc[kinds[i]].container_name);
    }
    return sb_detach(&sb);
}

/* One output line, cut at tabs in place into at most max fields. */
static size_t fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    while (n < max) {
        f[n++] = line;
        char *t = strchr(line, '\t');
        if (!t) break;
        *t = '\0';
        line = t + 1;
    }
    return n;
}

/* "image\tLABEL" (the new 3FS image is on the node) and one
 * "ctr\tNAME\tIMAGE\tLABEL" per container that exists. */
static int parse_line(const struct plan_ctx *ctx, struct upgrade_facts *f, size_t node, char *line,
                      struct strbuf *err)
{
    char *w[4];
    size_t n = fields(line, w, 4);
    if (!strcmp(w[0], "image") && n == 2) {
        if (!f->new_seen) f->new_shuffle = label_dup(w[1]);
        f->new_seen = 1;
        return 0;
    }
    if (strcmp(w[0], "ctr") || n != 4) {
        sb_addf(err, "unexpected line from m3fs-life.sh images on %s: %s",
                ctx->cfg->nodes[node].name, w[0]);
        return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        if (runs_on(ctx, kinds[i], node) &&
            !strcmp(ctx->cfg->svc[kinds[i]].container_name, w[1]))
            upgrade_facts_set(f, kinds[i], node, w[2], w[3]);
    return 0;
}

int upgrade_probe_parse(const struct plan_ctx *ctx, struct upgrade_facts *f, size_t node,
                        const char *out, struct strbuf *err)
{
    char *text = xstrdup(out), *save = NULL;
    int rc = 0;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save))
        rc = parse_line(ctx, f, node, line, err);
    free(text);
    return rc;
}

char *upgrade_list_nodes_cmd(struct plan_ctx *ctx)
{
    return svc_mgmtd_list_nodes_cmd(ctx);
}

/* --- contract B15 --------------------------------------------------------- */

/* The 3FS services (the ones a chain-shuffle build method belongs to). */
static int is_3fs(enum svc_kind k)
{
    return k != SVC_FDB && k != SVC_CLICKHOUSE;
}

int upgrade_b15_verdict(const struct plan_ctx *ctx, struct strbuf *text)
{
    const struct upgrade_facts *f = ctx->up;
    const char *target = ctx->image[IMG_3FS];
    const char *nw = f ? f->new_shuffle : NULL;
    const char *old = NULL, *differs = NULL;
    int unknown = !nw, left = 0;
    for (size_t i = 0; f && i < ARRAY_SIZE(kinds); i++) {
        if (!is_3fs(kinds[i])) continue;
        for (size_t node = 0; node < f->n_nodes; node++) {
            size_t at = (size_t)kinds[i] * f->n_nodes + node;
            if (!runs_on(ctx, kinds[i], node) || (f->image[at] && !strcmp(f->image[at], target)))
                continue;
            left = 1;
            const char *l = f->shuffle[at];
            if (!l) unknown = 1;
            else if (!old) old = l;
            if (l && nw && strcmp(l, nw)) differs = l;
        }
    }
    sb_adds(text, "chain-shuffle build method (contract B15, image label "
                  UPGRADE_SHUFFLE_LABEL "): ");
    if (f && !left) {
        sb_addf(text, "every 3FS container runs %s already", target);
        return UPGRADE_B15_SAME;
    }
    if (differs) {
        sb_addf(text, "changes from %s to %s (%s): files would map to other chains; "
                "refused without --force", differs, nw, target);
        return UPGRADE_B15_CHANGED;
    }
    if (unknown) {
        if (!nw && !old)
            sb_addf(text, "unknown: neither %s nor the running 3FS containers carry the label",
                    target);
        else if (!nw)
            sb_addf(text, "unknown: %s has no such label (the running containers: %s)", target,
                    old);
        else
            sb_addf(text, "unknown: %s is %s, but running 3FS containers lack the label", target,
                    nw);
        return UPGRADE_B15_UNKNOWN;
    }
    sb_addf(text, "%s on both sides: unchanged", nw);
    return UPGRADE_B15_SAME;
}
