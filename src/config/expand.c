/* nodeGroups: each inclusive ipBegin..ipEnd range becomes nodes named
 * "<group>-node(<ip>)" (as m3fs names them), appended after the explicit
 * nodes in file order.  Addresses are compared as numbers (IPv4 and IPv6),
 * not as text.  Then each service's nodes/nodeGroups resolve to indices. */
#include <arpa/inet.h>
#include <string.h>
#include <stdlib.h>

#include "m3fs/config.h"
#include "strindex.h"

#define MAX_GROUP_NODES 4096
#define MAX_NODES 10000

struct ipaddr {
    int family;
    unsigned char b[16];
    size_t len;
};

static int parse_ip(const char *s, struct ipaddr *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (inet_pton(AF_INET, s, ip->b) == 1) {
        ip->family = AF_INET;
        ip->len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, ip->b) == 1) {
        ip->family = AF_INET6;
        ip->len = 16;
        return 0;
    }
    return -1;
}

static int ip_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
    return memcmp(a->b, b->b, a->len);
}

static void ip_inc(struct ipaddr *ip)
{
    for (size_t i = ip->len; i-- > 0;)
        if (++ip->b[i]) break;
}

static char *ip_str(const struct ipaddr *ip)
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(ip->family, ip->b, buf, sizeof buf);
    return xstrdup(buf);
}

static struct m3fs_node *add_node(struct m3fs_config *c)
{
    ALLOC_GROW(c->nodes, c->n_nodes, c->n_alloc_nodes_);
    struct m3fs_node *n = &c->nodes[c->n_nodes++];
    memset(n, 0, sizeof(*n));
    return n;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* The addresses of the nodes defined so far, sorted, to find overlaps in
 * O(log n) per address (a group may add thousands of nodes). */
struct addr_index {
    struct ipaddr ip;
    size_t node;
};

static int addr_cmp(const void *a, const void *b)
{
    const struct ipaddr *x = &((const struct addr_index *)a)->ip;
    const struct ipaddr *y = &((const struct addr_index *)b)->ip;
    if (x->family != y->family) return x->family < y->family ? -1 : 1;
    return memcmp(x->b, y->b, sizeof x->b);
}

static struct addr_index *index_hosts(const struct m3fs_config *c, size_t *n)
{
    struct addr_index *v = xcalloc(c->n_nodes + 1, sizeof(*v));
    *n = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].host && !parse_ip(c->nodes[i].host, &v[*n].ip)) v[(*n)++].node = i;
    qsort(v, *n, sizeof(*v), addr_cmp);
    return v;
}

static int find_host(const struct addr_index *v, size_t n, const struct ipaddr *ip)
{
    struct addr_index key = { .ip = *ip };
    const struct addr_index *hit = bsearch(&key, v, n, sizeof(*v), addr_cmp);
    return hit ? (int)hit->node : -1;
}

static void err(struct m3fs_config *c, struct diag_list *dl, struct yml_pos p, const char *hint,
                const char *msg, const char *a, const char *b)
{
    diag_add(dl, DIAG_ERROR, c->file, p.line, p.col, hint, msg, a, b);
}

static int range_of(struct m3fs_config *c, struct diag_list *dl, size_t gi, struct ipaddr *lo,
                    struct ipaddr *hi)
{
    struct m3fs_node_group *g = &c->groups[gi];
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "nodeGroups.%zu.ipBegin", gi);
    struct yml_pos pb = config_pos(c, path.buf);
    if (!pb.line) pb = g->pos;
    sb_release(&path);
    const char *gname = g->name ? g->name : "?";
    if (!g->ip_begin || !g->ip_end || !*g->ip_begin || !*g->ip_end) {
        err(c, dl, g->pos, "set both ipBegin and ipEnd, e.g. 10.0.0.1 and 10.0.0.8",
            "nodeGroup '%s' needs ipBegin and ipEnd%s", gname, "");
        return -1;
    }
    if (parse_ip(g->ip_begin, lo) || parse_ip(g->ip_end, hi)) {
        err(c, dl, pb, "write IPv4 (10.0.0.1) or IPv6 (fd00::1) addresses",
            "nodeGroup '%s': '%s' is not an IP address", gname,
            parse_ip(g->ip_begin, lo) ? g->ip_begin : g->ip_end);
        return -1;
    }
    if (lo->family != hi->family) {
        err(c, dl, pb, "use two IPv4 or two IPv6 addresses",
            "nodeGroup '%s': ipBegin and ipEnd are of different address families%s", gname, "");
        return -1;
    }
    if (ip_cmp(lo, hi) > 0) {
        err(c, dl, pb, "swap ipBegin and ipEnd",
            "nodeGroup '%s': ipBegin %s is after ipEnd", gname, g->ip_begin);
        return -1;
    }
    return 0;
}

/* A group's rdmaDevices, when written, is every one of its nodes'. */
static void copy_rdma_devices(const struct m3fs_config *c, size_t gi, struct m3fs_node *nd)
{
    const struct m3fs_node_group *g = &c->groups[gi];
    char *key = xstrfmt("nodeGroups.%zu.rdmaDevices", gi);
    nd->rdma_devices_set = config_pos(c, key).line != 0;
    free(key);
    for (size_t i = 0; i < g->rdma_devices.n; i++) sv_push(&nd->rdma_devices, g->rdma_devices.v[i]);
}

static void expand_group(struct m3fs_config *c, struct diag_list *dl, size_t gi)
{
    struct m3fs_node_group *g = &c->groups[gi];
    struct ipaddr lo, hi;
    if (range_of(c, dl, gi, &lo, &hi)) return;
    size_t n_known;
    struct addr_index *known = index_hosts(c, &n_known);
    for (size_t n = 0;; n++, ip_inc(&lo)) {
        if (n >= MAX_GROUP_NODES || c->n_nodes >= MAX_NODES) {
            err(c, dl, g->pos, "split the range or check ipEnd for a typo",
                "nodeGroup '%s' expands to too many nodes (limit %s)", g->name, "4096 per group");
            break;
        }
        char *ip = ip_str(&lo);
        int dup = find_host(known, n_known, &lo);
        if (dup >= 0) {
            const struct m3fs_node *o = &c->nodes[dup];
            diag_add(dl, DIAG_ERROR, c->file, g->pos.line, g->pos.col,
                     "every address may belong to one node or nodeGroup only",
                     "address %s of nodeGroup '%s' is already used by %s '%s'", ip, g->name,
                     o->group ? "nodeGroup" : "node", o->group ? o->group : o->name);
            free(ip);
            break;
        }
        struct m3fs_node *nd = add_node(c);
        nd->name = xstrfmt("%s-node(%s)", g->name, ip);
        nd->host = ip;
        nd->port = g->port;
        nd->username = dup_or_null(g->username);
        nd->password = dup_or_null(g->password);
        nd->password_file = dup_or_null(g->password_file);
        nd->password_env = dup_or_null(g->password_env);
        nd->identity_file = dup_or_null(g->identity_file);
        nd->group = xstrdup(g->name);
        nd->pos = g->pos;
        copy_rdma_devices(c, gi, nd);
        if (!ip_cmp(&lo, &hi)) break;
    }
    free(known);
}

void config_expand_groups(struct m3fs_config *c, struct diag_list *dl)
{
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        struct m3fs_node_group *g = &c->groups[gi];
        if (!g->name || !*g->name) {
            err(c, dl, g->pos, "add 'name: <group name>'", "nodeGroup has no name%s%s", "", "");
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < gi; j++)
            if (c->groups[j].name && !strcmp(c->groups[j].name, g->name)) dup = 1;
        if (dup) {
            err(c, dl, g->pos, "give every nodeGroup its own name",
                "nodeGroup name '%s' is used twice%s", g->name, "");
            continue;
        }
        if (!g->username || !*g->username)
            err(c, dl, g->pos, "add 'username: root' (or the user to log in as)",
                "nodeGroup '%s' has no username%s", g->name, "");
        expand_group(c, dl, gi);
    }
}

/* The explicit nodes by name (the first of a name) and, per service, which
 * nodes are members already: lookups in constant time, so resolving n
 * nodes is linear (issue 20). */
struct resolve {
    struct strindex names;
    unsigned char *member; /* per cfg->nodes: listed in the service at hand */
};

static long find_node(const struct resolve *r, const char *name)
{
    size_t i = strindex_get(&r->names, name);
    return i == STRINDEX_NONE ? -1 : (long)i;
}

static void add_member(struct m3fs_config *c, struct diag_list *dl, struct resolve *r,
                       enum svc_kind k, size_t node, struct yml_pos p)
{
    struct m3fs_service *s = &c->svc[k];
    if (r->member[node]) {
        diag_add(dl, DIAG_ERROR, c->file, p.line, p.col,
                 "list each node once (directly or through one nodeGroup)",
                 "node '%s' is listed twice in services.%s", c->nodes[node].name, svc_key(k));
        return;
    }
    r->member[node] = 1;
    ALLOC_GROW(s->member, s->n_member, s->n_alloc_member_);
    s->member[s->n_member++] = node;
}

static const char *closest_name(const struct m3fs_config *c, const char *name, int groups)
{
    size_t n = groups ? c->n_groups : c->n_explicit_nodes;
    for (size_t i = 0; i < n; i++) {
        const char *cand = groups ? c->groups[i].name : c->nodes[i].name;
        if (cand && (!strcasecmp(cand, name) || (strlen(cand) == strlen(name) &&
                     strncmp(cand, name, strlen(name) - 1) == 0)))
            return cand;
    }
    return NULL;
}

static void unknown_ref(struct m3fs_config *c, struct diag_list *dl, enum svc_kind k,
                        const char *what, const char *name, struct yml_pos p, int groups)
{
    const char *near = closest_name(c, name, groups);
    struct strbuf hint = STRBUF_INIT;
    if (near) sb_addf(&hint, "did you mean '%s'?", near);
    else sb_addf(&hint, "define it under '%s' first, or fix the name", groups ? "nodeGroups" : "nodes");
    diag_add(dl, DIAG_ERROR, c->file, p.line, p.col, hint.buf,
             "services.%s.%s refers to %s '%s', which is not defined", svc_key(k),
             groups ? "nodeGroups" : "nodes", what, name);
    sb_release(&hint);
}

static void resolve_service(struct m3fs_config *c, struct diag_list *dl, struct resolve *r,
                            enum svc_kind k)
{
    struct m3fs_service *s = &c->svc[k];
    struct strbuf path = STRBUF_INIT;
    memset(r->member, 0, c->n_nodes ? c->n_nodes : 1);
    for (size_t i = 0; i < s->n_member; i++) r->member[s->member[i]] = 1;
    for (size_t i = 0; i < s->nodes.n; i++) {
        sb_reset(&path);
        sb_addf(&path, "services.%s.nodes.%zu", svc_key(k), i);
        struct yml_pos p = config_pos(c, path.buf);
        long idx = find_node(r, s->nodes.v[i]);
        if (idx < 0) unknown_ref(c, dl, k, "node", s->nodes.v[i], p, 0);
        else add_member(c, dl, r, k, (size_t)idx, p);
    }
    for (size_t i = 0; i < s->node_groups.n; i++) {
        sb_reset(&path);
        sb_addf(&path, "services.%s.nodeGroups.%zu", svc_key(k), i);
        struct yml_pos p = config_pos(c, path.buf);
        int found = 0;
        for (size_t n = c->n_explicit_nodes; n < c->n_nodes; n++)
            if (!strcmp(c->nodes[n].group, s->node_groups.v[i])) {
                add_member(c, dl, r, k, n, p);
                found = 1;
            }
        int defined = 0;
        for (size_t g = 0; g < c->n_groups; g++)
            if (c->groups[g].name && !strcmp(c->groups[g].name, s->node_groups.v[i])) defined = 1;
        if (!defined) unknown_ref(c, dl, k, "nodeGroup", s->node_groups.v[i], p, 1);
        (void)found;
    }
    sb_release(&path);
}

void config_expand(struct m3fs_config *c, struct diag_list *dl)
{
    config_expand_groups(c, dl);
    struct resolve r = { { 0 }, xcalloc(c->n_nodes ? c->n_nodes : 1, 1) };
    for (size_t i = 0; i < c->n_explicit_nodes; i++)
        if (c->nodes[i].name) strindex_add(&r.names, c->nodes[i].name, i);
    for (int k = 0; k < SVC_COUNT; k++) resolve_service(c, dl, &r, (enum svc_kind)k);
    strindex_free(&r.names);
    free(r.member);
}
