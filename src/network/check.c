/* Network preparation: reading what the nodes report (host facts, links)
 * and judging it.  Pure functions; the steps are in network.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/network.h"

static const char *node_label(const struct m3fs_config *cfg, size_t node)
{
    return config_node_label(&cfg->nodes[node]);
}

/* ---- host facts ---------------------------------------------------------- */

static char **fact_slot(struct net_facts *f, const char *key, size_t klen)
{
    static const struct { const char *k; size_t off; } keys[] = {
        { "kernel", offsetof(struct net_facts, kernel) },
        { "machine", offsetof(struct net_facts, machine) },
        { "os_id", offsetof(struct net_facts, os_id) },
        { "os_like", offsetof(struct net_facts, os_like) },
        { "os_name", offsetof(struct net_facts, os_name) },
        { "pkg", offsetof(struct net_facts, pkg) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strlen(keys[i].k) == klen && !strncmp(keys[i].k, key, klen))
            return (char **)((char *)f + keys[i].off);
    return NULL;
}

int net_parse_facts(const char *out, struct net_facts *f)
{
    memset(f, 0, sizeof(*f));
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            char **slot = fact_slot(f, p, (size_t)(eq - p));
            if (slot) {
                free(*slot);
                *slot = xstrndup(eq + 1, (size_t)(end - eq - 1));
            } else if (eq - p == 7 && !strncmp(p, "avx512f", 7)) {
                f->avx512f = eq[1] == '1';
            }
        }
        p = nl ? nl + 1 : end;
    }
    int ok = f->kernel && *f->kernel && f->machine && *f->machine;
    char **all[] = { &f->kernel, &f->machine, &f->os_id, &f->os_like, &f->os_name, &f->pkg };
    for (size_t i = 0; i < ARRAY_SIZE(all); i++)
        if (!*all[i]) *all[i] = xstrdup("");
    return ok ? 0 : -1;
}

void net_facts_release(struct net_facts *f)
{
    free(f->kernel), free(f->machine), free(f->os_id);
    free(f->os_like), free(f->os_name), free(f->pkg);
    memset(f, 0, sizeof(*f));
}

int net_kernel_at_least(const char *release, int major, int minor)
{
    int ma = 0, mi = 0;
    if (sscanf(release, "%d.%d", &ma, &mi) < 1) return 0;
    return ma > major || (ma == major && mi >= minor);
}

static const char *docker_arch(const char *machine)
{
    if (!strcmp(machine, "x86_64") || !strcmp(machine, "amd64")) return "amd64";
    if (!strcmp(machine, "aarch64") || !strcmp(machine, "arm64")) return "arm64";
    return machine;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void problem(struct strbuf *err, const char *who, const char *fmt, const char *a,
                    const char *b)
{
    if (err->len) sb_addch(err, '\n');
    sb_addf(err, "%s: ", who);
    sb_addf(err, fmt, a, b);
}

int net_check_facts(const struct m3fs_config *cfg, size_t node, const struct net_facts *f,
                    struct strbuf *err)
{
    const char *who = node_label(cfg, node);
    size_t start = err->len;
    unsigned imgs = config_node_images(cfg, node);
    const char *tag = cfg->images.img[IMG_3FS].tag ? cfg->images.img[IMG_3FS].tag : "";
    const char *arch = cfg->images.arch ? cfg->images.arch : "amd64";
    if (!net_kernel_at_least(f->kernel, 5, 1))
        problem(err, who, "kernel %s is older than 5.1 and has no io_uring, which 3FS storage "
                "and clients need; upgrade the kernel%s", f->kernel, "");
    if (imgs && strcmp(docker_arch(f->machine), arch))
        problem(err, who, "the CPU is %s but images.arch is '%s'; set images.arch to match "
                "the nodes (amd64 or arm64)", f->machine, arch);
    else if ((imgs & (1u << IMG_3FS)) && !strcmp(docker_arch(f->machine), "amd64") &&
             !f->avx512f && !ends_with(tag, "-avx2"))
        problem(err, who, "the CPU has no AVX-512 and 3FS image tag '%s' needs it (3FS would "
                "die with SIGILL); use the AVX2 build: set images.3fs.tag to '%s-avx2'", tag,
                tag);
    if (net_type_of(cfg) == NET_RXE && !*f->pkg)
        problem(err, who, "networkType RXE needs the RDMA packages, but %s has no apt-get, dnf "
                "or yum; install rdma-core, ibverbs-providers/libibverbs, perftest and iproute2 "
                "by hand%s", *f->os_name ? f->os_name : "this OS", "");
    return err->len > start ? -1 : 0;
}

/* ---- verification -------------------------------------------------------- */

void net_check_release(struct net_check *c)
{
    sv_clear(&c->sel), sv_clear(&c->unmatched), sv_clear(&c->uverbs);
    for (size_t i = 0; i < c->n_links; i++) {
        free(c->links[i].dev), free(c->links[i].state), free(c->links[i].netdev);
    }
    free(c->links);
    memset(c, 0, sizeof(*c));
}

static int parse_link(struct net_check *c, const char *rest)
{
    char dev[256], state[64], netdev[256];
    long port;
    if (sscanf(rest, "%255s %ld %63s %255s", dev, &port, state, netdev) != 4) return -1;
    ALLOC_GROW(c->links, c->n_links, c->alloc_links);
    struct net_link *l = &c->links[c->n_links++];
    l->dev = xstrdup(dev), l->state = xstrdup(state), l->netdev = xstrdup(netdev);
    l->port = port;
    return 0;
}

static int parse_check_line(struct net_check *c, const char *line)
{
    const char *sp = strchr(line, ' ');
    const char *rest = sp ? sp + 1 : "";
    size_t k = sp ? (size_t)(sp - line) : strlen(line);
#define IS(w) (k == strlen(w) && !strncmp(line, w, k))
    if (!*line) return 0;
    if (IS("nordma")) c->no_rdma_tool = 1;
    else if (!*rest) return -1;
    else if (IS("sel")) sv_push(&c->sel, rest);
    else if (IS("unmatched")) sv_push(&c->unmatched, rest);
    else if (IS("uverbs")) sv_push(&c->uverbs, rest);
    else if (IS("aio")) c->aio = strtoll(rest, NULL, 10);
    else if (IS("link")) return parse_link(c, rest);
    else return -1;
#undef IS
    return 0;
}

int net_parse_check(const char *out, struct net_check *c)
{
    memset(c, 0, sizeof(*c));
    int rc = 0;
    for (const char *p = out; *p && !rc;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        char *line = xstrndup(p, (size_t)(end - p));
        rc = parse_check_line(c, line);
        free(line);
        p = nl ? nl + 1 : end;
    }
    return rc;
}

static const struct net_link *active_link_of(const struct net_check *c, const char *netdev)
{
    for (size_t i = 0; i < c->n_links; i++)
        if (!strcmp(c->links[i].netdev, netdev) && !strcmp(c->links[i].state, "ACTIVE"))
            return &c->links[i];
    return NULL;
}

static void describe_links(const struct net_check *c, int active_only, struct strbuf *sb)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_links; i++) {
        const struct net_link *l = &c->links[i];
        if (active_only && strcmp(l->state, "ACTIVE")) continue;
        sb_addf(sb, "%s%s/%ld %s (netdev %s)", n++ ? ", " : "", l->dev, l->port, l->state,
                l->netdev);
    }
    if (!n) sb_adds(sb, "none");
}

/* Each selected netdev needs an ACTIVE link (RXE: all; others: when the
 * node filters with rdmaAddresses); otherwise any ACTIVE port will do. */
static void check_links(const struct m3fs_config *cfg, size_t node, const struct net_check *c,
                        struct strbuf *miss)
{
    enum net_type t = net_type_of(cfg);
    int per_netdev = t == NET_RXE || cfg->nodes[node].rdma_addresses.n;
    if (t == NET_RXE && !c->sel.n)
        sb_adds(miss, "\n  no netdev to make an rxe link on (none is an Ethernet device with an "
                "IPv4 address); give the node an address, or check rdmaAddresses");
    for (size_t i = 0; i < c->unmatched.n; i++)
        sb_addf(miss, "\n  rdmaAddresses entry '%s' matches no netdev that can carry RDMA "
                "(name or IPv4 address of an Ethernet%s netdev)", c->unmatched.v[i],
                t == NET_IB ? "/IPoIB" : "");
    for (size_t i = 0; per_netdev && i < c->sel.n; i++) {
        if (active_link_of(c, c->sel.v[i])) continue;
        sb_addf(miss, "\n  no ACTIVE RDMA link on netdev %s (`rdma link` shows: ", c->sel.v[i]);
        describe_links(c, 0, miss);
        sb_addch(miss, ')');
    }
    size_t active = 0;
    for (size_t i = 0; i < c->n_links; i++) active += !strcmp(c->links[i].state, "ACTIVE");
    if (!per_netdev && !active) {
        sb_adds(miss, "\n  no ACTIVE RDMA port (`rdma link` shows: ");
        describe_links(c, 0, miss);
        sb_addf(miss, "); %s", t == NET_ERDMA ? "check the eRDMA driver and the ENI"
                : "check the cabling, the subnet manager (IB) or the RoCE netdev");
    }
}

int net_verify(const struct m3fs_config *cfg, size_t node, const struct net_check *c,
               struct strbuf *summary, struct strbuf *err)
{
    struct strbuf miss = STRBUF_INIT;
    if (c->no_rdma_tool)
        sb_adds(&miss, "\n  the 'rdma' tool is missing; install iproute2");
    else
        check_links(cfg, node, c, &miss);
    if (!c->uverbs.n)
        sb_adds(&miss, "\n  no /dev/infiniband/uverbs* device (is the RDMA driver loaded? for "
                "RXE: modprobe rdma_rxe and an rxe link)");
    if (config_node_has(cfg, node, SVC_STORAGE) && c->aio < NET_AIO_MAX_NR)
        sb_addf(&miss, "\n  fs.aio-max-nr is %lld, storage needs >= %lld", c->aio,
                NET_AIO_MAX_NR);
    int rc = 0;
    if (miss.len) {
        sb_addf(err, "%s: RDMA is not ready (networkType %s):%s", node_label(cfg, node),
                cfg->network_type, miss.buf);
        rc = -1;
    } else {
        sb_adds(summary, "active: ");
        describe_links(c, 1, summary);
        sb_adds(summary, "; devices: ");
        sv_join(&c->uverbs, " ", summary);
    }
    sb_release(&miss);
    return rc;
}
