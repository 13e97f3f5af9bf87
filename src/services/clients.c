/* services/clients.c: `cluster add-client` / `delete-client`
 * (include/m3fs/deploy.h, docs/lifecycle.md): what a node has of the FUSE
 * client (templates/m3fs-client.sh probe), which nodes gain or lose it, and
 * the plans, made of create's and destroy's own client steps (client.c). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/shquote.h"
#include "services.h"

static const struct {
    const char *word;
    unsigned bit;
} words[] = {
    { "container", CLIENT_CTR }, { "running", CLIENT_RUNNING }, { "foreign", CLIENT_FOREIGN },
    { "mounted", CLIENT_MOUNTED }, { "files", CLIENT_FILES },
};

char *client_probe_cmd(const struct plan_ctx *ctx)
{
    struct strbuf sb = STRBUF_INIT;
    char *dir = wd_path(ctx, "client");
    script_call(&sb, "m3fs-client.sh");
    sb_adds(&sb, "probe ");
    const char *args[] = { ctx->cfg->client.host_mountpoint,
                           ctx->cfg->svc[SVC_CLIENT].container_name, ctx->cfg->name, dir };
    for (size_t i = 0; i < ARRAY_SIZE(args); i++) {
        if (i) sb_addch(&sb, ' ');
        sh_quote(&sb, args[i]);
    }
    free(dir);
    return sb_detach(&sb);
}

/* The bit of word w, or 0. */
static unsigned word_bit(const char *w)
{
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (!strcmp(words[i].word, w)) return words[i].bit;
    return 0;
}

int client_probe_parse(const char *out, unsigned *facts, struct strbuf *err)
{
    char *dup = xstrdup(out), *save = NULL;
    int rc = 0, first = 1;
    *facts = 0;
    for (char *w = strtok_r(dup, " \t\n", &save); w && !rc; w = strtok_r(NULL, " \t\n", &save)) {
        unsigned bit = first ? 0 : word_bit(w);
        if (first ? strcmp(w, "probe") != 0 : !bit) {
            sb_addf(err, "unexpected word in the output of m3fs-client.sh probe: '%.40s'", w);
            rc = -1;
        }
        *facts |= bit;
        first = 0;
    }
    if (first) sb_adds(err, "m3fs-client.sh probe printed nothing"), rc = -1;
    free(dup);
    return rc;
}

void client_facts_words(unsigned facts, struct strbuf *out)
{
    size_t before = out->len;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (facts & words[i].bit)
            sb_addf(out, "%s%s", out->len > before ? ", " : "", words[i].word);
    if (out->len == before) sb_adds(out, "nothing");
}

size_t client_to_add(const struct m3fs_config *cfg, const unsigned *facts, unsigned char *add)
{
    size_t n = 0;
    memset(add, 0, cfg->n_nodes);
    for (size_t j = 0; j < cfg->svc[SVC_CLIENT].n_member; j++) {
        size_t node = cfg->svc[SVC_CLIENT].member[j];
        unsigned want = CLIENT_CTR | CLIENT_RUNNING | CLIENT_MOUNTED;
        if ((facts[node] & want) != want || (facts[node] & CLIENT_FOREIGN)) add[node] = 1, n++;
    }
    return n;
}

int client_is_candidate(const struct m3fs_config *cfg, const unsigned char *named, size_t node)
{
    return named ? named[node] != 0 : !config_node_has(cfg, node, SVC_CLIENT);
}

size_t client_to_delete(const struct m3fs_config *cfg, const unsigned *facts,
                        const unsigned char *named, unsigned char *del)
{
    size_t n = 0;
    memset(del, 0, cfg->n_nodes);
    for (size_t node = 0; node < cfg->n_nodes; node++)
        if (client_is_candidate(cfg, named, node) &&
            (facts[node] & (CLIENT_CTR | CLIENT_MOUNTED | CLIENT_FILES)))
            del[node] = 1, n++;
    return n;
}

int plan_build_add_clients(struct plan_ctx *ctx, struct plan *p)
{
    if (svc_node_create_mark(ctx, p) < 0) return -1;
    return svc_client_create(ctx, p);
}

int plan_build_delete_clients(struct plan_ctx *ctx, struct plan *p)
{
    return svc_client_delete(ctx, p);
}
