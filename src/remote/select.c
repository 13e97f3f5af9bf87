/* remote_select_nodes: pick nodes by role and name (see remote.h). */
#include "m3fs/remote.h"

#include <stdlib.h>
#include <string.h>

static int role_kind(const char *name)
{
    for (int k = 0; k < SVC_COUNT; k++)
        if (!strcmp(svc_key((enum svc_kind)k), name)) return k;
    return -1;
}

static void list_roles(struct strbuf *sb)
{
    for (int k = 0; k < SVC_COUNT; k++)
        sb_addf(sb, "%s%s", k ? ", " : "", svc_key((enum svc_kind)k));
}

static void list_names(const struct m3fs_config *cfg, struct strbuf *sb)
{
    for (size_t i = 0; i < cfg->n_nodes; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", cfg->nodes[i].name);
}

static int mark_roles(const struct m3fs_config *cfg, const struct strvec *roles, char *want,
                      struct strbuf *err)
{
    for (size_t r = 0; roles && r < roles->n; r++) {
        int k = role_kind(roles->v[r]);
        if (k < 0) {
            sb_addf(err, "unknown role '%s' (roles: ", roles->v[r]);
            list_roles(err);
            sb_addch(err, ')');
            return -1;
        }
        for (size_t m = 0; m < cfg->svc[k].n_member; m++)
            if (cfg->svc[k].member[m] < cfg->n_nodes) want[cfg->svc[k].member[m]] = 1;
    }
    return 0;
}

static int mark_names(const struct m3fs_config *cfg, const struct strvec *names, char *want,
                      struct strbuf *err)
{
    for (size_t j = 0; names && j < names->n; j++) {
        size_t i = 0;
        while (i < cfg->n_nodes && strcmp(cfg->nodes[i].name, names->v[j])) i++;
        if (i == cfg->n_nodes) {
            sb_addf(err, "no node named '%s' in %s (nodes: ", names->v[j], cfg->file);
            list_names(cfg, err);
            sb_addch(err, ')');
            return -1;
        }
        want[i] = 1;
    }
    return 0;
}

int remote_select_nodes(const struct m3fs_config *cfg, const struct strvec *roles,
                        const struct strvec *names, size_t **idx, size_t *n_idx,
                        struct strbuf *err)
{
    char *want = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, 1);
    int all = (!roles || !roles->n) && (!names || !names->n);
    *idx = NULL, *n_idx = 0;
    if (mark_roles(cfg, roles, want, err) || mark_names(cfg, names, want, err)) {
        free(want);
        return -1;
    }
    *idx = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(**idx));
    for (size_t i = 0; i < cfg->n_nodes; i++)
        if (all || want[i]) (*idx)[(*n_idx)++] = i;
    free(want);
    return 0;
}
