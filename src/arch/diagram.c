#include "m3fs/diagram.h"

#include <stdlib.h>
#include <string.h>

#define BOX_IN 16     /* characters inside a box */
#define PER_ROW 4     /* 4 boxes of 18 + 3 gaps = 75 columns */
#define WIDTH 75

struct paint {
    int on;
    struct strbuf *out;
};

static void colored(struct paint *p, const char *code, const char *text)
{
    if (p->on) sb_addf(p->out, "\033[%sm%s\033[0m", code, text);
    else sb_adds(p->out, text);
}

struct label {
    const char *text;
    const char *color;
};

static const struct {
    enum svc_kind k;
    const char *label;
    const char *color;
} server_roles[] = {
    { SVC_STORAGE, "[storage]", "33" },       { SVC_FDB, "[foundationdb]", "34" },
    { SVC_META, "[meta]", "38;5;219" },       { SVC_MGMTD, "[mgmtd]", "35" },
    { SVC_MONITOR, "[monitor]", "35" },       { SVC_CLICKHOUSE, "[clickhouse]", "31" },
};

/* Long names keep their start and their end ("stor-n...0.1.11)"): nodes of
 * one nodeGroup differ only at the end of their names. */
static void box_name(const char *name, struct strbuf *sb)
{
    size_t len = strlen(name);
    if (len > BOX_IN) sb_addf(sb, "%.6s...%s", name, name + len - (BOX_IN - 9));
    else sb_adds(sb, name);
}

static void cell(struct paint *p, const char *text, const char *color)
{
    sb_addch(p->out, '|');
    colored(p, color, text);
    sb_addchars(p->out, ' ', BOX_IN - strlen(text));
    sb_addch(p->out, '|');
}

static void border(struct strbuf *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) sb_addch(out, ' ');
        sb_addch(out, '+');
        sb_addchars(out, '-', BOX_IN);
        sb_addch(out, '+');
    }
    sb_addch(out, '\n');
}

/* lines[i][j]: j-th line of the i-th box in this row ("" = blank). */
static void box_row(struct paint *p, const struct m3fs_config *c, const size_t *nodes, size_t n,
                    int client)
{
    struct label lines[PER_ROW][8];
    size_t nl[PER_ROW] = { 0 }, rows = client ? 2 : 6;
    for (size_t i = 0; i < n; i++) {
        if (client) {
            lines[i][nl[i]++] = (struct label){ "[hf3fs_fuse]", "32" };
            lines[i][nl[i]++] = (struct label){ c->client.host_mountpoint, "32" };
            continue;
        }
        for (size_t r = 0; r < ARRAY_SIZE(server_roles); r++)
            if (config_node_has(c, nodes[i], server_roles[r].k))
                lines[i][nl[i]++] = (struct label){ server_roles[r].label, server_roles[r].color };
    }
    border(p->out, n);
    struct strbuf name = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i) sb_addch(p->out, ' ');
        sb_reset(&name);
        box_name(c->nodes[nodes[i]].name, &name);
        cell(p, name.buf, "36");
    }
    sb_addch(p->out, '\n');
    struct strbuf t = STRBUF_INIT;
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < n; i++) {
            if (i) sb_addch(p->out, ' ');
            sb_reset(&t);
            if (r < nl[i]) box_name(lines[i][r].text, &t);
            cell(p, t.buf, r < nl[i] ? lines[i][r].color : "0");
        }
        sb_addch(p->out, '\n');
    }
    border(p->out, n);
    sb_release(&name);
    sb_release(&t);
}

static void boxes(struct paint *p, const struct m3fs_config *c, const size_t *nodes, size_t n,
                  int client)
{
    for (size_t i = 0; i < n; i += PER_ROW)
        box_row(p, c, nodes + i, n - i < PER_ROW ? n - i : PER_ROW, client);
}

#define NO_COUNT ((size_t)-1)

static void heading(struct paint *p, const char *title, size_t count)
{
    struct strbuf t = STRBUF_INIT;
    if (count == NO_COUNT) sb_adds(&t, title);
    else sb_addf(&t, "%s (%zu)", title, count);
    colored(p, "1;36", t.buf);
    sb_addch(p->out, '\n');
    sb_addchars(p->out, '-', t.len);
    sb_addch(p->out, '\n');
    sb_release(&t);
}

static void network(struct paint *p, const char *type)
{
    struct strbuf t = STRBUF_INIT;
    sb_addf(&t, "[ %s network ]", type);
    size_t side = (WIDTH - t.len) / 2;
    sb_addf(p->out, "%*s|\n%*sv\n", (int)(side + t.len / 2), "", (int)(side + t.len / 2), "");
    sb_addchars(p->out, '=', side);
    colored(p, "1", t.buf);
    sb_addchars(p->out, '=', WIDTH - side - t.len);
    sb_addf(p->out, "\n%*s|\n%*sv\n", (int)(side + t.len / 2), "", (int)(side + t.len / 2), "");
    sb_release(&t);
}

static int is_server(const struct m3fs_config *c, size_t i)
{
    for (size_t r = 0; r < ARRAY_SIZE(server_roles); r++)
        if (config_node_has(c, i, server_roles[r].k)) return 1;
    return 0;
}

static void summary(struct paint *p, const struct m3fs_config *c, size_t n_server)
{
    heading(p, "CLUSTER SUMMARY", c->n_nodes);
    sb_addf(p->out, "  %-16s %-6zu %-16s %-6zu %-16s %zu\n", "Client nodes:",
            c->svc[SVC_CLIENT].n_member, "Server nodes:", n_server, "Total nodes:", c->n_nodes);
    sb_addf(p->out, "  %-16s %-6zu %-16s %-6zu %-16s %zu\n", "Storage:", c->svc[SVC_STORAGE].n_member,
            "FoundationDB:", c->svc[SVC_FDB].n_member, "Meta:", c->svc[SVC_META].n_member);
    sb_addf(p->out, "  %-16s %-6zu %-16s %-6s %-16s %s\n", "Mgmtd:", c->svc[SVC_MGMTD].n_member,
            "Monitor:", c->svc[SVC_MONITOR].n_member ? "1" : "0", "ClickHouse:",
            c->svc[SVC_CLICKHOUSE].n_member ? "1" : "0");
}

/* "  <label>  <text>", the text wrapped at spaces to WIDTH columns, later
 * lines indented under its start. */
static void para(struct strbuf *out, const char *label, const char *text)
{
    size_t start = out->len;
    sb_addf(out, "  %-16s ", label);
    size_t indent = out->len - start, col = indent;
    char *dup = xstrdup(text), *save = NULL;
    for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        size_t len = strlen(w);
        if (col > indent && col + 1 + len > WIDTH) {
            sb_addch(out, '\n');
            sb_addchars(out, ' ', indent);
            col = indent;
        } else if (col > indent) {
            sb_addch(out, ' ');
            col++;
        }
        sb_adds(out, w);
        col += len;
    }
    sb_addch(out, '\n');
    free(dup);
}

static void join(struct strbuf *sb, const struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) sb_addf(sb, "%s%s", i ? ", " : "", sv->v[i]);
}

/* Where 3FS listens (listenNics) and which RDMA devices it uses
 * (rdmaDevices, and every node or nodeGroup that sets its own). */
static void network_summary(struct paint *p, const struct m3fs_config *c)
{
    struct strbuf t = STRBUF_INIT;
    heading(p, "NETWORK", NO_COUNT);
    if (c->listen_nics.n) {
        join(&t, &c->listen_nics);
        sb_adds(&t, " (listenNics)");
    } else {
        sb_addf(&t, "every NIC that is up and named %s", listen_nic_prefixes(LISTEN_TCP));
        if (c->svc[SVC_MGMTD].n_member && config_listen_type(c, SVC_MGMTD) == LISTEN_IPOIB)
            sb_addf(&t, "; mgmtd over IPoIB: %s", listen_nic_prefixes(LISTEN_IPOIB));
        sb_adds(&t, " (listenNics not set)");
    }
    para(p->out, "Listen NICs:", t.buf);
    sb_reset(&t);
    if (c->net == NET_TCP) sb_adds(&t, "none (networkType TCP)");
    else if (c->rdma_devices.n) join(&t, &c->rdma_devices), sb_adds(&t, " (rdmaDevices)");
    else sb_adds(&t, "every usable one, at most 4 (rdmaDevices not set)");
    para(p->out, "RDMA devices:", t.buf);
    for (size_t i = 0; i < c->n_nodes; i++) {
        const struct m3fs_node *n = &c->nodes[i];
        if (!n->rdma_devices_set || (n->group && i > c->n_explicit_nodes &&
                                     !strcmp(c->nodes[i - 1].group, n->group)))
            continue;
        sb_reset(&t);
        if (n->rdma_devices.n) join(&t, &n->rdma_devices);
        else sb_adds(&t, "every usable one");
        sb_addf(&t, " (%s %s)", n->group ? "nodeGroup" : "node", n->group ? n->group : n->name);
        para(p->out, "", t.buf);
    }
    sb_release(&t);
}

void diagram_render(const struct m3fs_config *c, int color, struct strbuf *out)
{
    struct paint p = { color, out };
    size_t *servers = xcalloc(c->n_nodes + 1, sizeof(*servers)), ns = 0;
    for (size_t i = 0; i < c->n_nodes; i++)
        if (is_server(c, i)) servers[ns++] = i;
    sb_addf(out, "Cluster: %s   networkType: %s   replicationFactor: %ld\n", c->name,
            c->network_type, c->storage.replication_factor);
    sb_addchars(out, '=', WIDTH);
    sb_adds(out, "\n\n");
    if (c->svc[SVC_CLIENT].n_member) {
        heading(&p, "CLIENT NODES", c->svc[SVC_CLIENT].n_member);
        boxes(&p, c, c->svc[SVC_CLIENT].member, c->svc[SVC_CLIENT].n_member, 1);
        if (ns) network(&p, c->network_type);
    }
    if (ns) {
        if (!c->svc[SVC_CLIENT].n_member) sb_addch(out, '\n');
        heading(&p, "STORAGE AND MANAGEMENT NODES", ns);
        boxes(&p, c, servers, ns, 0);
    }
    sb_addch(out, '\n');
    summary(&p, c, ns);
    sb_addch(out, '\n');
    network_summary(&p, c);
    free(servers);
}
