/* Validation of what 3FS's network takes from cluster.yml:
 *  - every node that runs fdb, clickhouse or a 3FS service gets an IPv4
 *    address (B2: upstream src/common/utils/Address.h, Address::fromString
 *    parses only a.b.c.d:port): an IPv6 host or nodeGroup range is refused,
 *    a host name is resolved here, on the deploying machine (SSH keeps
 *    using the name);
 *  - listenNics, the filter_list of every 3FS listener (B3: upstream
 *    src/common/net/Listener.cc), must name NICs 3FS can listen on;
 *  - rdmaDevices, the device_filter of every [ib_devices] (upstream
 *    src/common/net/ib/IBDevice.h/.cc: an entry matches an RDMA device or
 *    the netdev of one of its ports; more than kMaxDeviceCnt = 4 devices
 *    left after the filter make the IB manager fail at start). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "validate-int.h"

#define IB_MAX_DEVICES 4  /* upstream IBDevice.h kMaxDeviceCnt */
#define NIC_NAME_MAX 15   /* Linux IFNAMSIZ - 1 */
#define IBDEV_NAME_MAX 63 /* Linux IB_DEVICE_NAME_MAX - 1 */

static int resolve_default(const char *name, char out[16], struct strbuf *why)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc) {
        sb_adds(why, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    inet_ntop(AF_INET, &((const struct sockaddr_in *)res->ai_addr)->sin_addr, out, 16);
    freeaddrinfo(res);
    return 0;
}

static config_resolve_fn resolver = resolve_default;

void config_set_resolver(config_resolve_fn fn)
{
    resolver = fn ? fn : resolve_default;
}

/* Key path of a node's key: "nodes.<i>.<key>", or for a nodeGroup's node
 * "nodeGroups.<g>.<group_key>". */
static void node_key(const struct m3fs_config *c, size_t node, const char *key,
                     const char *group_key, struct strbuf *sb)
{
    sb_reset(sb);
    if (node < c->n_explicit_nodes) {
        sb_addf(sb, "nodes.%zu.%s", node, key);
        return;
    }
    for (size_t g = 0; g < c->n_groups; g++)
        if (c->groups[g].name && !strcmp(c->groups[g].name, c->nodes[node].group)) {
            sb_addf(sb, "nodeGroups.%zu.%s", g, group_key);
            return;
        }
    sb_adds(sb, "nodeGroups");
}

static const enum svc_kind addr_roles[] = { SVC_FDB, SVC_CLICKHOUSE, SVC_MONITOR, SVC_MGMTD,
                                            SVC_META, SVC_STORAGE, SVC_CLIENT };

/* The roles of node that need an IPv4 address ("fdb, mgmtd"), or "". */
static void addr_roles_of(const struct m3fs_config *c, size_t node, struct strbuf *sb)
{
    sb_reset(sb);
    for (size_t i = 0; i < ARRAY_SIZE(addr_roles); i++)
        if (config_node_has(c, node, addr_roles[i]))
            sb_addf(sb, "%s%s", sb->len ? ", " : "", svc_key(addr_roles[i]));
}

static int is_ipv4(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1;
}

static int is_ipv6(const char *s)
{
    struct in6_addr a;
    return strchr(s, ':') && inet_pton(AF_INET6, s, &a) == 1;
}

struct addr_check {
    struct vctx *v;
    struct strbuf path, roles;
    unsigned char *group_told; /* per nodeGroup: its IPv6 range was reported */
};

static void refuse_ipv6(struct addr_check *a, size_t node, const char *what)
{
    const struct m3fs_config *c = a->v->c;
    const struct m3fs_node *n = &c->nodes[node];
    if (node >= c->n_explicit_nodes) {
        size_t g = 0;
        while (g < c->n_groups && strcmp(c->groups[g].name ? c->groups[g].name : "", n->group)) g++;
        if (g >= c->n_groups || a->group_told[g]) return;
        a->group_told[g] = 1;
        E(a->v, a->path.buf, "use an IPv4 range for nodes that run these services",
          "nodeGroup '%s' is an IPv6 range, but its nodes run %s: 3FS addresses are IPv4 only "
          "(a.b.c.d:port, upstream Address::fromString)", n->group, a->roles.buf);
        return;
    }
    E(a->v, a->path.buf, "give the node an IPv4 address (in host; or in address, when SSH must "
      "use the IPv6 one)", "%s '%s' of node '%s' is IPv6, but the node runs %s: 3FS addresses "
      "are IPv4 only (a.b.c.d:port, upstream Address::fromString)", what, n->address ? n->address
      : n->host, n->name, a->roles.buf);
}

/* One node: set n->addr, or report why it cannot have one. */
static void node_addr(struct addr_check *a, size_t node)
{
    struct m3fs_config *c = a->v->c;
    struct m3fs_node *n = &c->nodes[node];
    const char *what = n->address ? "address" : "host";
    const char *val = n->address ? n->address : n->host;
    node_key(c, node, what, "ipBegin", &a->path);
    if (n->address && !*n->address)
        E(a->v, a->path.buf, "write the node's IPv4 address, or remove address to use host",
          "address of node '%s' is empty", n->name);
    if (!val || !*val) return; /* an empty host is reported with the node's other keys */
    if (is_ipv4(val)) {
        n->addr = xstrdup(val);
    } else if (is_ipv6(val)) {
        refuse_ipv6(a, node, what);
    } else {
        char ip[16];
        struct strbuf why = STRBUF_INIT;
        if (!resolver(val, ip, &why)) n->addr = xstrdup(ip);
        else
            E(a->v, a->path.buf, "write the node's IPv4 address, or make the name resolve to "
              "one on this machine (DNS or /etc/hosts)", "%s '%s' of node '%s' has no IPv4 "
              "address here (%s); the node runs %s, so it needs one", what, val, n->name,
              why.buf, a->roles.buf);
        sb_release(&why);
    }
}

/* Two nodes with one 3FS address would be one machine under two names. */
static struct m3fs_config *sort_cfg; /* for addr_cmp; validation runs on one thread */

static int addr_cmp(const void *x, const void *y)
{
    const struct m3fs_node *a = &sort_cfg->nodes[*(const size_t *)x];
    const struct m3fs_node *b = &sort_cfg->nodes[*(const size_t *)y];
    int d = strcmp(a->addr, b->addr);
    return d ? d : (*(const size_t *)x < *(const size_t *)y ? -1 : 1);
}

static void check_addr_dups(struct vctx *v, struct strbuf *path)
{
    struct m3fs_config *c = v->c;
    size_t *idx = xcalloc(c->n_nodes + 1, sizeof(*idx)), n = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].addr) idx[n++] = i;
    sort_cfg = c;
    qsort(idx, n, sizeof(*idx), addr_cmp);
    for (size_t k = 1; k < n; k++) {
        const struct m3fs_node *a = &c->nodes[idx[k - 1]], *b = &c->nodes[idx[k]];
        if (strcmp(a->addr, b->addr)) continue;
        /* the same host text is reported with the hosts already */
        if (!a->address && !b->address && a->host && b->host && !strcmp(a->host, b->host))
            continue;
        node_key(c, idx[k], b->address ? "address" : "host", "ipBegin", path);
        E(v, path->buf, "every node needs its own address",
          "node '%s' has the 3FS address %s, as node '%s' has", b->name, b->addr, a->name);
    }
    free(idx);
}

static void check_addresses(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    struct addr_check a = { v, STRBUF_INIT, STRBUF_INIT, xcalloc(c->n_groups + 1, 1) };
    for (size_t i = 0; i < c->n_nodes; i++) {
        struct m3fs_node *n = &c->nodes[i];
        addr_roles_of(c, i, &a.roles);
        if (a.roles.len) {
            node_addr(&a, i);
        } else if (n->address) {
            node_key(c, i, "address", "ipBegin", &a.path);
            W(v, a.path.buf, "remove it, or add the node to a service",
              "address of node '%s' has no effect: the node runs no service", n->name);
        }
    }
    check_addr_dups(v, &a.path);
    sb_release(&a.path);
    sb_release(&a.roles);
    free(a.group_told);
}

/* ---- listenNics ----------------------------------------------------------- */

/* A NIC name as Linux allows it (or an address label such as eth0:1, which
 * is what 3FS compares), or an RDMA device name: 1..max bytes, no '/',
 * whitespace, quotes, backslashes or control characters, not "." or "..". */
static int name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (!n || n > max || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p == '"' || *p == '\'' || *p == '\\' || isspace(*p) || iscntrl(*p))
            return 0;
    return 1;
}

static int listed_before(const struct strvec *sv, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(sv->v[j], sv->v[i])) return 1;
    return 0;
}

static int any_eligible(const struct strvec *sv, enum listen_type t)
{
    for (size_t i = 0; i < sv->n; i++)
        if (listen_nic_eligible(sv->v[i], t)) return 1;
    return 0;
}

static void check_listen_entries(struct vctx *v, int ipoib)
{
    const struct strvec *l = &v->c->listen_nics;
    struct strbuf p = STRBUF_INIT, hint = STRBUF_INIT;
    sb_addf(&hint, "3FS listeners take NICs named %s%s; remove it, or rename the NIC (a udev "
            "rule or a systemd .link file)", listen_nic_prefixes(LISTEN_TCP),
            ipoib ? " (ib* for mgmtd over IPoIB)" : "");
    for (size_t i = 0; i < l->n; i++) {
        sb_reset(&p);
        sb_addf(&p, "listenNics.%zu", i);
        if (!name_ok(l->v[i], NIC_NAME_MAX))
            E(v, p.buf, "a NIC name has 1 to 15 characters and no '/', spaces, quotes or "
              "backslashes", "listenNics entry '%s' is not a NIC name", l->v[i]);
        else if (listed_before(l, i))
            W(v, p.buf, "list each NIC once", "NIC '%s' is listed twice in listenNics", l->v[i]);
        else if (!listen_nic_eligible(l->v[i], LISTEN_TCP) &&
                 !(ipoib && listen_nic_eligible(l->v[i], LISTEN_IPOIB)))
            W(v, p.buf, hint.buf, "3FS never listens on NIC '%s' with networkType %s",
              l->v[i], v->c->network_type);
    }
    sb_release(&p);
    sb_release(&hint);
}

static void check_listen_nics(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    int ipoib = c->svc[SVC_MGMTD].n_member &&
                config_listen_type(c, SVC_MGMTD) == LISTEN_IPOIB;
    if (!c->listen_nics.n) return;
    check_listen_entries(v, ipoib);
    if (!any_eligible(&c->listen_nics, LISTEN_TCP))
        E(v, "listenNics", "add the NICs that hold the nodes' 3FS addresses (names starting "
          "with en, eth, bond or xgbe), or remove listenNics to let 3FS use every such NIC",
          "listenNics names no NIC a TCP or RDMA listener of 3FS takes (%s): every 3FS "
          "service would fail at start with \"No available address for listener\"",
          listen_nic_prefixes(LISTEN_TCP));
    if (ipoib && !any_eligible(&c->listen_nics, LISTEN_IPOIB))
        E(v, "listenNics", "add the IPoIB NIC of the mgmtd nodes, e.g. ib0",
          "networkType IB: mgmtd listens over IPoIB, only on NICs named ib*, and listenNics "
          "names none, so mgmtd would fail at start");
}

/* ---- rdmaDevices ------------------------------------------------------------ */

/* 1 when node renders an [ib_devices]: a 3FS launcher (mgmtd, meta,
 * storage, FUSE; admin_cli beside them) or the monitor collector. */
static int uses_ib_devices(const struct m3fs_config *c, size_t node)
{
    return config_node_listens(c, node) || config_node_has(c, node, SVC_CLIENT);
}

/* One rdmaDevices list at key path `key`. */
static void check_rdma_list(struct vctx *v, const struct strvec *l, const char *key)
{
    struct strbuf p = STRBUF_INIT;
    for (size_t i = 0; i < l->n; i++) {
        sb_reset(&p);
        sb_addf(&p, "%s.%zu", key, i);
        if (!name_ok(l->v[i], IBDEV_NAME_MAX))
            E(v, p.buf, "write an RDMA device name (mlx5_0, rxe0, as `ibv_devices` or `rdma "
              "link` show it) or the netdev of its port; no '/', spaces, quotes or backslashes",
              "rdmaDevices entry '%s' is not an RDMA device or NIC name", l->v[i]);
        else if (listed_before(l, i))
            W(v, p.buf, "list each device once", "'%s' is listed twice in %s", l->v[i], key);
    }
    if (l->n > IB_MAX_DEVICES)
        W(v, key, "list at most 4 devices per node",
          "%s names %zu devices: 3FS uses at most %d RDMA devices and fails at start when more "
          "are left after the filter (upstream IBDevice kMaxDeviceCnt)", key, l->n,
          IB_MAX_DEVICES);
    if (l->n && v->c->net == NET_TCP)
        W(v, key, "remove it, or use an RDMA networkType",
          "%s has no effect with networkType TCP: 3FS uses no RDMA device", key);
    sb_release(&p);
}

static void check_rdma_devices(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    struct strbuf p = STRBUF_INIT;
    check_rdma_list(v, &c->rdma_devices, "rdmaDevices");
    for (size_t i = 0; i < c->n_explicit_nodes; i++) {
        const struct m3fs_node *n = &c->nodes[i];
        sb_reset(&p);
        sb_addf(&p, "nodes.%zu.rdmaDevices", i);
        if (!config_pos(c, p.buf).line) continue;
        c->nodes[i].rdma_devices_set = 1;
        check_rdma_list(v, &n->rdma_devices, p.buf);
        if (!uses_ib_devices(c, i))
            W(v, p.buf, "remove it, or add the node to a 3FS service",
              "rdmaDevices of node '%s' has no effect: the node runs no 3FS process", n->name);
    }
    for (size_t g = 0; g < c->n_groups; g++) {
        sb_reset(&p);
        sb_addf(&p, "nodeGroups.%zu.rdmaDevices", g);
        if (config_pos(c, p.buf).line) check_rdma_list(v, &c->groups[g].rdma_devices, p.buf);
    }
    sb_release(&p);
}

void check_network(struct vctx *v)
{
    check_addresses(v);
    check_listen_nics(v);
    check_rdma_devices(v);
}
