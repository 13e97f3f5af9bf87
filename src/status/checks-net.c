/* status/checks-net.c: the judges of a node's network, clock and secrets
 * (rows of the check table in checks.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/network.h"
#include "status-int.h"

static const char *nname(const struct st_report *r, size_t i)
{
    return r->cfg->nodes[i].name;
}

static const struct st_facts *facts(const struct st_report *r, size_t i)
{
    const struct st_node *n = &r->nodes[i];
    return n->reachable && !n->error ? &n->facts : NULL;
}

/* The listener types of the node's 3FS processes: the main group of mgmtd,
 * meta and storage, and the monitor collector's TCP group. */
static unsigned listen_types(const struct m3fs_config *cfg, size_t node)
{
    static const enum svc_kind k3[] = { SVC_MGMTD, SVC_META, SVC_STORAGE };
    unsigned t = 0;
    for (size_t i = 0; i < ARRAY_SIZE(k3); i++)
        if (config_node_has(cfg, node, k3[i])) t |= 1u << config_listen_type(cfg, k3[i]);
    if (config_node_listens(cfg, node) && !t) t |= 1u << LISTEN_TCP;
    return t;
}

/* The node's 3FS address must be on a NIC a listener takes: upstream
 * src/common/net/Listener.cc binds a listener only to NICs that are up,
 * named en*, eth*, bond*, xgbe* (TCP, RDMA) or ib* (IPoIB) (checkNicType)
 * and, when listenNics is set, listed in filter_list. */
static void nic_of(const struct st_report *r, size_t i, const struct st_facts *f,
                   struct st_findings *out)
{
    unsigned types = listen_types(r->cfg, i);
    if (!strcmp(f->nic, "-")) {
        st_add(out, "nic", ST_SEV_DEGRADED, (long)i,
               xstrfmt("no NIC on %s holds its 3FS address %s", nname(r, i), f->nic_addr), NULL);
        return;
    }
    for (int t = LISTEN_TCP; t <= LISTEN_IPOIB; t++) {
        if (!(types & (1u << t)) || listen_nic_eligible(f->nic, (enum listen_type)t)) continue;
        st_add(out, "nic", ST_SEV_DEGRADED, (long)i,
               xstrfmt("the 3FS address %s of %s is on NIC %s, which a %s listener does not "
                       "take (only %s)", f->nic_addr, nname(r, i), f->nic,
                       listen_type_name((enum listen_type)t),
                       listen_nic_prefixes((enum listen_type)t)),
               NULL);
    }
    if (r->cfg->listen_nics.n && !sv_contains(&r->cfg->listen_nics, f->nic))
        st_add(out, "nic", ST_SEV_DEGRADED, (long)i,
               xstrfmt("the 3FS address %s of %s is on NIC %s, which listenNics does not list",
                       f->nic_addr, nname(r, i), f->nic), NULL);
    if (strcmp(f->nic_state, "up") && strcmp(f->nic_state, "unknown"))
        st_add(out, "nic", ST_SEV_DEGRADED, (long)i,
               xstrfmt("NIC %s of %s (its 3FS address %s) is %s", f->nic, nname(r, i),
                       f->nic_addr, f->nic_state), NULL);
}

void st_judge_nic(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        if (f && f->nic && f->nic_addr && f->nic_state && listen_types(r->cfg, i))
            nic_of(r, i, f, out);
    }
}

static void rdma_of(const struct st_report *r, size_t i, const struct st_facts *f,
                    struct st_findings *out)
{
    if (!f->n_rdma) {
        st_add(out, "rdma", ST_SEV_DEGRADED, (long)i,
               !strcmp(f->rdma_tool, "none")
                   ? xstrfmt("%s has neither `rdma` nor `ibv_devinfo`: no RDMA stack", nname(r, i))
                   : xstrfmt("%s has no RDMA link", nname(r, i)),
               NULL);
        return;
    }
    int on_nic = 0;
    for (size_t k = 0; k < f->n_rdma; k++) {
        const struct st_rdma *l = &f->rdma[k];
        on_nic |= f->nic && !strcmp(l->netdev, f->nic);
        if (strcmp(l->state, "ACTIVE"))
            st_add(out, "rdma", ST_SEV_DEGRADED, (long)i,
                   xstrfmt("RDMA link %s/%ld (netdev %s) of %s is %s, not ACTIVE", l->dev,
                           l->port, l->netdev, nname(r, i), l->state), NULL);
    }
    if (net_type_of(r->cfg) == NET_RXE && f->nic && strcmp(f->nic, "-") && !on_nic)
        st_add(out, "rdma", ST_SEV_DEGRADED, (long)i,
               xstrfmt("%s has no RXE link on %s, the NIC of its 3FS address", nname(r, i), f->nic),
               NULL);
}

void st_judge_rdma(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; net_type_of(r->cfg) != NET_TCP && i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        if (f && f->rdma_tool) rdma_of(r, i, f, out);
    }
}

/* mgmtd refuses a heartbeat whose timestamp is more than
 * heartbeat_timestamp_valid_window (30 s) from its own clock ("Too much
 * timestamp deviation": upstream src/mgmtd/ops/HeartbeatOperation.cc,
 * src/mgmtd/service/MgmtdConfig.h).  Smaller skews are reported from
 * CLOCK_WARN_S on: clocks should be kept by NTP. */
#define CLOCK_REFUSED_S 30.0
#define CLOCK_WARN_S 5.0

static long clock_ref(const struct st_report *r)
{
    const struct m3fs_service *m = &r->cfg->svc[SVC_MGMTD];
    for (size_t k = 0; k < m->n_member; k++)
        if (facts(r, m->member[k]) && r->nodes[m->member[k]].offset_err_s >= 0)
            return (long)m->member[k];
    for (size_t i = 0; i < r->cfg->n_nodes; i++)
        if (facts(r, i) && r->nodes[i].offset_err_s >= 0) return (long)i;
    return -1;
}

void st_judge_clock(const struct st_report *r, struct st_findings *out)
{
    long ref = clock_ref(r);
    for (size_t i = 0; ref >= 0 && i < r->cfg->n_nodes; i++) {
        const struct st_node *n = &r->nodes[i], *m = &r->nodes[ref];
        if ((long)i == ref || !facts(r, i) || n->offset_err_s < 0) continue;
        double skew = n->offset_s - m->offset_s;
        double sure = fabs(skew) - n->offset_err_s - m->offset_err_s;
        if (sure < CLOCK_WARN_S) continue;
        st_add(out, "clock-skew", sure > CLOCK_REFUSED_S ? ST_SEV_DEGRADED : ST_SEV_WARN, (long)i,
               xstrfmt("the clock of %s is %.1f s %s that of %s%s", nname(r, i), fabs(skew),
                       skew > 0 ? "ahead of" : "behind", nname(r, ref),
                       sure > CLOCK_REFUSED_S ? " (mgmtd refuses its heartbeats)" : ""),
               NULL);
    }
}

void st_judge_tokens(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        for (size_t k = 0; f && k < f->n_tok; k++) {
            const struct st_token *t = &f->tok[k];
            if (t->mode == 0600) continue;
            st_add(out, "token-file", t->mode < 0 ? ST_SEV_DEGRADED : ST_SEV_WARN, (long)i,
                   t->mode < 0 ? xstrfmt("token file %s on %s is missing", t->path, nname(r, i))
                               : xstrfmt("token file %s on %s has mode %04lo, not 0600",
                                         t->path, nname(r, i), t->mode),
                   t->mode < 0 ? NULL : xstrfmt("chmod 600 %s on %s", t->path, nname(r, i)));
        }
    }
}
