/* Where 3FS would listen on a node (B3), checked before anything changes by
 * `cluster prepare` (step "listen") and `cluster create` (its preflight).
 *
 * Upstream (src/common/net/Listener.cc, ee9a5ce): each listener group binds
 * to every NIC that is up, has an IPv4 address, is named for its type
 * (en*, eth*, bond*, xgbe* for TCP and RDMA; ib* for IPoIB) and is in
 * filter_list when that is set (listenNics); with none the service fails at
 * start ("No available address for listener").  A group whose address m3fs
 * writes into other configs - mgmtd's main group (mgmtd_server_addresses)
 * and the monitor collector (every service's remote_ip) - must listen on
 * the NIC that holds the node's 3FS address; the others (meta, storage,
 * the Core groups) need some NIC of their type, since mgmtd learns their
 * addresses from the listeners. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/network.h"
#include "m3fs/remote.h"
#include "m3fs/tmpl.h"

/* ---- parsing ---------------------------------------------------------------- */

/* 0 for a NIC line (filled in nic), 1 for an RDMA line, -1 for neither. */
static int parse_line(const char *line, struct net_nic *nic, struct net_nics *l)
{
    char name[64], addr[64];
    int up, end = 0;
    if (sscanf(line, "rdma %63s%n", name, &end) == 1 && !line[end]) {
        sv_push(&l->rdma, name);
        return 1;
    }
    if (sscanf(line, "nic %63s %63s %d%n", name, addr, &up, &end) != 3 || line[end]) return -1;
    nic->name = xstrdup(name);
    nic->addr = xstrdup(addr);
    nic->up = up == 1;
    return 0;
}

int net_parse_nics(const char *out, struct net_nics *l)
{
    char *dup = xstrdup(out), *save = NULL;
    int rc = 0;
    for (char *line = strtok_r(dup, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        ALLOC_GROW(l->v, l->n, l->alloc);
        int kind = parse_line(line, &l->v[l->n], l);
        if (kind < 0) rc = -1;
        else if (kind == 0) l->n++;
    }
    free(dup);
    return rc;
}

void net_nics_release(struct net_nics *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i].name), free(l->v[i].addr);
    free(l->v);
    sv_clear(&l->rdma);
    memset(l, 0, sizeof(*l));
}

/* ---- judging ------------------------------------------------------------------ */

/* NIC name classes of checkNicType: 0 = en/eth/bond/xgbe (TCP and RDMA
 * listeners), 1 = ib (IPoIB). */
#define N_CLASS 2
static const enum listen_type class_type[N_CLASS] = { LISTEN_TCP, LISTEN_IPOIB };

struct needs {
    struct strvec bound[N_CLASS]; /* services that must listen on the node's address */
    struct strvec any[N_CLASS];   /* services that need some NIC of the class */
};

static void push_once(struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->v[i], s)) return;
    sv_push(sv, s);
}

static void needs_of(const struct m3fs_config *cfg, size_t node, struct needs *nd)
{
    static const enum svc_kind kinds[] = { SVC_MGMTD, SVC_META, SVC_STORAGE };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!config_node_has(cfg, node, kinds[i])) continue;
        enum listen_type t = config_listen_type(cfg, kinds[i]);
        int cls = t == LISTEN_IPOIB;
        push_once(kinds[i] == SVC_MGMTD ? &nd->bound[cls] : &nd->any[cls], svc_key(kinds[i]));
        if (t != LISTEN_TCP) push_once(&nd->any[0], svc_key(kinds[i])); /* its Core group */
    }
    const struct m3fs_service *mon = &cfg->svc[SVC_MONITOR];
    if (mon->n_member && mon->member[0] == node) push_once(&nd->bound[0], "monitor");
}

static void needs_release(struct needs *nd)
{
    for (int c = 0; c < N_CLASS; c++) sv_clear(&nd->bound[c]), sv_clear(&nd->any[c]);
}

static int in_filter(const struct m3fs_config *cfg, const char *nic)
{
    if (!cfg->listen_nics.n) return 1;
    for (size_t i = 0; i < cfg->listen_nics.n; i++)
        if (!strcmp(cfg->listen_nics.v[i], nic)) return 1;
    return 0;
}

static int takes(const struct m3fs_config *cfg, const struct net_nic *n, int cls)
{
    return n->up && listen_nic_eligible(n->name, class_type[cls]) && in_filter(cfg, n->name);
}

static void join(struct strbuf *sb, const struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) sb_addf(sb, "%s%s", i ? ", " : "", sv->v[i]);
}

static void nic_list(const struct net_nics *l, struct strbuf *sb)
{
    if (!l->n) sb_adds(sb, "none");
    for (size_t i = 0; i < l->n; i++)
        sb_addf(sb, "%s%s %s%s", i ? ", " : "", l->v[i].name, l->v[i].addr,
                l->v[i].up ? "" : " (down)");
}

struct judge {
    const struct m3fs_config *cfg;
    size_t node;
    const struct net_nics *l;
    struct strbuf *err;
};

static const char *node_name(const struct judge *j)
{
    return config_node_label(&j->cfg->nodes[j->node]);
}

static void line_start(struct judge *j)
{
    if (j->err->len) sb_addch(j->err, '\n');
    sb_addf(j->err, "%s: ", node_name(j));
}

/* The services in `who` must listen on the node's 3FS address. */
static int judge_bound(struct judge *j, int cls, const struct strvec *who)
{
    const char *addr = config_node_addr(j->cfg, j->node);
    const struct net_nic *h = NULL;
    for (size_t i = 0; i < j->l->n && !h; i++)
        if (!strcmp(j->l->v[i].addr, addr)) h = &j->l->v[i];
    if (h && takes(j->cfg, h, cls)) return 0;
    line_start(j);
    join(j->err, who);
    sb_addf(j->err, " would not listen on %s, the node's 3FS address: ", addr);
    if (!h) {
        sb_adds(j->err, "no NIC on the node has it (its IPv4 addresses: ");
        nic_list(j->l, j->err);
        sb_adds(j->err, "); set the node's host (or address) to its IPv4 address on the "
                "network 3FS should use");
    } else if (!h->up) {
        sb_addf(j->err, "NIC %s is down; bring it up (ip link set %s up)", h->name, h->name);
    } else if (!listen_nic_eligible(h->name, class_type[cls])) {
        sb_addf(j->err, "it is on NIC %s, and 3FS's %s listeners take only NICs named %s "
                "(upstream Listener.cc checkNicType); rename the NIC (a udev rule or a systemd "
                ".link file), or use the address of an eligible NIC", h->name,
                cls ? "IPoIB" : "TCP and RDMA", listen_nic_prefixes(class_type[cls]));
        if (!cls && listen_nic_eligible(h->name, LISTEN_IPOIB))
            sb_adds(j->err, " (with networkType IB mgmtd needs its address on an ib* NIC and "
                    "the monitor on an Ethernet one: run the monitor on a node without mgmtd)");
    } else {
        sb_addf(j->err, "it is on NIC %s, which listenNics (", h->name);
        join(j->err, &j->cfg->listen_nics);
        sb_addf(j->err, ") does not include; add %s to listenNics", h->name);
    }
    return -1;
}

/* The services in `who` need some NIC of the class. */
static int judge_any(struct judge *j, int cls, const struct strvec *who)
{
    for (size_t i = 0; i < j->l->n; i++)
        if (takes(j->cfg, &j->l->v[i], cls)) return 0;
    line_start(j);
    join(j->err, who);
    sb_addf(j->err, " would find no NIC to listen on (\"No available address for listener\"): "
            "3FS's %s listeners take NICs that are up, named %s", cls ? "IPoIB" : "TCP and RDMA",
            listen_nic_prefixes(class_type[cls]));
    if (j->cfg->listen_nics.n) {
        sb_adds(j->err, " and in listenNics (");
        join(j->err, &j->cfg->listen_nics);
        sb_adds(j->err, ")");
    }
    sb_adds(j->err, ", and the node has ");
    nic_list(j->l, j->err);
    sb_adds(j->err, "; rename a NIC (a udev rule or a systemd .link file) or fix listenNics");
    return -1;
}

/* "eth0 10.0.0.5, bond0 10.1.0.5" for the class, into sb. */
static void taken(const struct judge *j, int cls, struct strbuf *sb)
{
    size_t start = sb->len;
    for (size_t i = 0; i < j->l->n; i++)
        if (takes(j->cfg, &j->l->v[i], cls))
            sb_addf(sb, "%s%s %s", sb->len > start ? ", " : "", j->l->v[i].name, j->l->v[i].addr);
}

int net_check_listeners(const struct m3fs_config *cfg, size_t node, const struct net_nics *l,
                        struct strbuf *summary, struct strbuf *err)
{
    struct needs nd;
    memset(&nd, 0, sizeof(nd));
    needs_of(cfg, node, &nd);
    struct judge j = { cfg, node, l, err };
    int rc = 0;
    for (int c = 0; c < N_CLASS; c++) {
        int bad = nd.bound[c].n && judge_bound(&j, c, &nd.bound[c]);
        if (!bad && nd.any[c].n) bad = judge_any(&j, c, &nd.any[c]);
        if (bad) rc = -1;
        else if (summary && (nd.bound[c].n || nd.any[c].n)) {
            if (summary->len) sb_adds(summary, "; ");
            sb_addf(summary, "%s on ", c ? "IPoIB" : "TCP/RDMA");
            taken(&j, c, summary);
        }
    }
    needs_release(&nd);
    return rc;
}

int net_listen_preflight(struct remote_session *s, const struct m3fs_config *cfg, size_t node,
                         struct strbuf *summary, struct strbuf *err)
{
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf script = STRBUF_INIT, out = STRBUF_INIT;
    struct net_nics l = { 0 };
    int rc = tmpl_render_embedded("net-nics.sh", &none, &script, err);
    /* a non-root login's PATH may lack ip's directory */
    if (!rc)
        rc = remote_run_input(s, "PATH=\"$PATH:/usr/sbin:/sbin\" sh -s", 0, NET_NICS_TIMEOUT_MS,
                              script.buf, script.len, &out, err);
    if (!rc && net_parse_nics(out.buf, &l)) {
        sb_addf(err, "%s: cannot read its NICs from: '%s'", cfg->nodes[node].name, out.buf);
        rc = -1;
    }
    struct strbuf warn = STRBUF_INIT;
    if (!rc && net_warn_no_rdma(cfg, node, &l, &warn)) log_warn("%s", warn.buf);
    if (!rc && config_node_listens(cfg, node)) rc = net_check_listeners(cfg, node, &l, summary, err);
    sb_release(&warn);
    net_nics_release(&l);
    sb_release(&script);
    sb_release(&out);
    return rc;
}

/* Upstream IBDevice::openAll (src/common/net/ib/IBDevice.cc, ee9a5ce and
 * later) fails with "No usable RDMA devices." when the host has no verbs
 * device, and IBManager::startImpl returns that error whatever
 * allow_no_usable_devices says: every 3FS process then exits at start.  A
 * warning, not an error: an image built otherwise may run without one. */
int net_warn_no_rdma(const struct m3fs_config *cfg, size_t node, const struct net_nics *l,
                     struct strbuf *out)
{
    if (cfg->net != NET_TCP || l->rdma.n) return 0;
    sb_addf(out, "%s: no RDMA device (/sys/class/infiniband is empty): 3FS %s exits at start "
            "with \"No usable RDMA devices.\" even in networkType TCP (upstream "
            "src/common/net/ib/IBDevice.cc); use networkType RXE, for which `m3fs cluster "
            "prepare` adds a soft-RoCE device, unless your 3FS image was built to run "
            "without one", cfg->nodes[node].name, cfg->images.img[IMG_3FS].tag);
    return 1;
}
