/* status/probes.c: what runs on each node.  The facts options of the
 * node's m3fs-facts run, and the cluster probes: one table, a row per
 * probe (name, the service whose node and container it runs in, the command,
 * how its output is read into the report).  A new probe is one row. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/network.h"
#include "m3fs/shquote.h"
#include "status-int.h"

/* "<workDir>/<sub>" */
static char *wd(const struct m3fs_config *cfg, const char *sub)
{
    size_t n = strlen(cfg->work_dir);
    while (n > 1 && cfg->work_dir[n - 1] == '/') n--;
    return xstrfmt("%.*s/%s", (int)n, cfg->work_dir, sub);
}

static void opt(struct strbuf *sb, const char *o, const char *v)
{
    sb_addf(sb, " %s ", o);
    sh_quote(sb, v);
}

/* ---- facts -------------------------------------------------------------- */

static int has(const enum svc_kind *roles, size_t n, enum svc_kind k)
{
    for (size_t i = 0; i < n; i++)
        if (roles[i] == k) return 1;
    return 0;
}

static void token_args(const struct m3fs_config *cfg, const enum svc_kind *roles, size_t n,
                       struct strbuf *args)
{
    /* token.txt (0600) goes with mgmtd and the FUSE client
     * (src/services/common3fs.c svc3fs_files) */
    static const struct { enum svc_kind k; const char *path; } toks[] = {
        { SVC_MGMTD, "mgmtd/config.d/token.txt" },
        { SVC_CLIENT, "client/config.d/token.txt" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(toks); i++) {
        if (!has(roles, n, toks[i].k)) continue;
        char *p = wd(cfg, toks[i].path);
        opt(args, "-k", p);
        free(p);
    }
}

void st_fact_args(const struct st_report *r, size_t node, struct strbuf *args)
{
    const struct m3fs_config *cfg = r->cfg;
    enum svc_kind roles[SVC_COUNT];
    size_t n = st_node_roles(cfg, node, roles);
    for (size_t i = 0; i < n; i++) opt(args, "-c", cfg->svc[roles[i]].container_name);
    if (has(roles, n, SVC_MGMTD)) opt(args, "-z", cfg->svc[SVC_MGMTD].container_name);
    if (has(roles, n, SVC_CLIENT)) opt(args, "-f", cfg->client.host_mountpoint);
    if (has(roles, n, SVC_STORAGE)) {
        char *base = wd(cfg, "storage/3fsdata");
        opt(args, "-t", base);
        sb_addf(args, " %ld", cfg->storage.disk_num_per_node);
        free(base);
    }
    if (n && cfg->nodes[node].addr) opt(args, "-a", cfg->nodes[node].addr);
    token_args(cfg, roles, n, args);
    if (net_type_of(cfg) != NET_TCP && config_node_listens(cfg, node)) sb_adds(args, " -r");
}

/* ---- the probes --------------------------------------------------------- */

static void docker_exec(const struct m3fs_config *cfg, enum svc_kind k, struct strbuf *sb)
{
    sb_adds(sb, "docker exec ");
    sh_quote(sb, cfg->svc[k].container_name);
}

/* admin_cli through the wrapper cluster create writes on mgmtd nodes
 * (templates/admin_cli.sh: the root token stays inside the container),
 * the three lists in one run. */
static void cmd_admin(const struct m3fs_config *cfg, struct strbuf *sb)
{
    char *p = wd(cfg, "admin_cli.sh");
    sh_quote(sb, p);
    sb_addch(sb, ' ');
    sh_quote(sb, ST_ADMIN_LISTS);
    free(p);
}

static void cmd_fdb(const struct m3fs_config *cfg, struct strbuf *sb)
{
    docker_exec(cfg, SVC_FDB, sb);
    sb_adds(sb, " fdbcli --exec 'status json' --timeout 5");
}

/* Credentials come from the container's environment (the 0600 env file of
 * src/services/clickhouse.c), never from this command line. */
static void cmd_ch(const struct m3fs_config *cfg, struct strbuf *sb)
{
    docker_exec(cfg, SVC_CLICKHOUSE, sb);
    sb_addf(sb, " clickhouse-client --port %ld --query 'SELECT 1'", cfg->ch.tcp_port);
}

/* A probe that ran but failed: its exit status and the start of its
 * output (admin_cli prints its errors on stdout) and error output. */
static int failed(const char *what, const struct st_probe_out *o, struct strbuf *err)
{
    struct strbuf t = STRBUF_INIT;
    sb_add(&t, o->out.buf, o->out.len > 300 ? 300 : o->out.len);
    sb_rtrim(&t);
    if (t.len && o->err.len) sb_addch(&t, '\n');
    sb_add(&t, o->err.buf, o->err.len > 300 ? 300 : o->err.len);
    sb_rtrim(&t);
    sb_replace_all(&t, "\n", " | ");
    if (o->rc == 137) sb_addf(err, "%s did not finish within 6 s", what); /* timeout -s KILL */
    else sb_addf(err, "%s failed (exit %d)%s%s", what, o->rc, t.len ? ": " : "", t.buf);
    sb_release(&t);
    return -1;
}

/* The three lists; list-nodes' times are local to the mgmtd container,
 * whose UTC offset the facts of its node carry (0 when they do not). */
static int take_admin(struct st_report *r, const struct st_facts *f, const struct st_probe_out *o,
                      struct strbuf *err)
{
    struct strbuf parts[ST_LISTS];
    for (int k = 0; k < ST_LISTS; k++) sb_init(&parts[k], 0);
    st_split_admin_lists(o->out.buf, parts);
    r->tz_offset_s = f->tz_ctr ? f->tz_offset_s : 0;
    int rc = st_parse_list_nodes(parts[ST_LIST_NODES].buf, (int64_t)f->t0, r->tz_offset_s, &r->m,
                                 err);
    if (!rc) rc = st_parse_list_targets(parts[ST_LIST_TARGETS].buf, &r->m, err);
    if (!rc) rc = st_parse_list_chains(parts[ST_LIST_CHAINS].buf, &r->m, err);
    if (rc && o->rc && !strstr(err->buf, "Encounter error")) { /* not admin_cli's own words */
        sb_reset(err);
        failed("admin_cli " ST_ADMIN_LISTS, o, err);
    }
    for (int k = 0; k < ST_LISTS; k++) sb_release(&parts[k]);
    return rc;
}

static int take_fdb(struct st_report *r, const struct st_facts *f, const struct st_probe_out *o,
                    struct strbuf *err)
{
    (void)f;
    if (o->rc) return failed("fdbcli status json", o, err);
    return st_parse_fdb_status(o->out.buf, o->out.len, &r->fdb_status, err);
}

static int take_ch(struct st_report *r, const struct st_facts *f, const struct st_probe_out *o,
                   struct strbuf *err)
{
    (void)r, (void)f;
    struct strbuf t = STRBUF_INIT;
    sb_add(&t, o->out.buf, o->out.len);
    sb_rtrim(&t);
    int rc = !o->rc && !strcmp(t.buf, "1") ? 0 : failed("clickhouse-client SELECT 1", o, err);
    sb_release(&t);
    return rc;
}

typedef int (*take_fn)(struct st_report *r, const struct st_facts *f,
                       const struct st_probe_out *o, struct strbuf *err);
/* One row per probe; a service's rows run on one node. */
static const struct st_probe {
    const char *name;
    enum svc_kind svc;
    void (*cmd)(const struct m3fs_config *cfg, struct strbuf *sb);
    take_fn take;
} probes[] = {
    { "admin-lists", SVC_MGMTD, cmd_admin, take_admin },
    { "fdb-status", SVC_FDB, cmd_fdb, take_fdb },
    { "clickhouse", SVC_CLICKHOUSE, cmd_ch, take_ch },
};

static struct st_where *where_of(struct st_report *r, enum svc_kind k)
{
    return k == SVC_MGMTD ? &r->mgmtd : k == SVC_FDB ? &r->fdb : &r->clickhouse;
}

void st_probe_args(const struct st_report *r, size_t node, unsigned want, struct strbuf *args)
{
    (void)node;
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
        if (!(want & (1u << i))) continue;
        struct strbuf cmd = STRBUF_INIT;
        probes[i].cmd(r->cfg, &cmd);
        opt(args, "-p", probes[i].name);
        sb_addch(args, ' ');
        sh_quote(args, r->cfg->svc[probes[i].svc].container_name);
        sb_addch(args, ' ');
        sh_quote(args, cmd.buf);
        sb_release(&cmd);
    }
}

/* The nodes a probe may run on: its service's, in cluster.yml order
 * (ClickHouse's container runs on its first node only). */
static size_t n_choices(const struct m3fs_config *cfg, size_t i)
{
    const struct m3fs_service *s = &cfg->svc[probes[i].svc];
    return probes[i].svc == SVC_CLICKHOUSE && s->n_member ? 1 : s->n_member;
}

/* Where each probe runs first (-1: its service has no node).  Spread over
 * the service's nodes, so that no one node runs every probe (each is a
 * `docker exec`, the slowest part of a node's run): the probes with the
 * fewest nodes to choose from are placed first, each on the node with the
 * fewest probes so far (the first such); a service's rows go together. */
static void placement(const struct m3fs_config *cfg, long at[ARRAY_SIZE(probes)])
{
    enum { NP = ARRAY_SIZE(probes) };
    char placed[NP] = { 0 };
    size_t *load = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(*load));
    for (size_t done = 0; done < NP; done++) {
        size_t b = NP;
        for (size_t i = 0; i < NP; i++)
            if (!placed[i] && (b == NP || n_choices(cfg, i) < n_choices(cfg, b))) b = i;
        int sibling = 0; /* a row of the same service is placed: go with it */
        for (size_t j = 0; j < NP; j++)
            if (placed[j] && probes[j].svc == probes[b].svc) at[b] = at[j], sibling = 1;
        placed[b] = 1;
        if (sibling) continue;
        at[b] = -1;
        const struct m3fs_service *s = &cfg->svc[probes[b].svc];
        for (size_t m = 0; m < n_choices(cfg, b); m++)
            if (at[b] < 0 || load[s->member[m]] < load[at[b]]) at[b] = (long)s->member[m];
        if (at[b] >= 0) load[at[b]]++;
    }
    free(load);
}

unsigned st_probe_first_at(const struct st_report *r, size_t node)
{
    long at[ARRAY_SIZE(probes)];
    unsigned bits = 0;
    placement(r->cfg, at);
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
        if (at[i] == (long)node) bits |= 1u << i;
    return bits;
}

static void take_one(struct st_report *r, long node, const struct st_facts *f, size_t i,
                     const struct st_probe_out *o)
{
    struct st_where *w = where_of(r, probes[i].svc);
    struct strbuf err = STRBUF_INIT;
    w->node = node;
    if (probes[i].take(r, f, o, &err) && !w->error) w->error = sb_detach(&err);
    sb_release(&err);
}

unsigned st_probe_take(struct st_report *r, long node, const struct st_facts *f, unsigned want)
{
    unsigned left = 0;
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
        if (!(want & (1u << i))) continue;
        const struct st_probe_out *o = st_facts_probe(f, probes[i].name);
        if (o && o->ran) take_one(r, node, f, i, o);
        else left |= 1u << i;
    }
    return left;
}

/* A node of probe i's service other than the one it ran on first that
 * answered and runs the service's container, or -1. */
static long other_running(const struct st_report *r, size_t i, long first)
{
    const struct m3fs_service *s = &r->cfg->svc[probes[i].svc];
    for (size_t m = 0; m < n_choices(r->cfg, i); m++) {
        const struct st_node *n = &r->nodes[s->member[m]];
        if ((long)s->member[m] == first || !n->reachable) continue;
        const struct st_ctr *c = st_facts_ctr(&n->facts, s->container_name);
        if (c && !strcmp(c->state, "running")) return (long)s->member[m];
    }
    return -1;
}

long st_probe_fallback(const struct st_report *r, unsigned want, unsigned *bits)
{
    long at[ARRAY_SIZE(probes)];
    *bits = 0;
    placement(r->cfg, at);
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
        if (!(want & (1u << i))) continue;
        long node = other_running(r, i, at[i]);
        if (node < 0) continue;
        for (size_t j = 0; j < ARRAY_SIZE(probes); j++)
            if ((want & (1u << j)) && probes[j].svc == probes[i].svc) *bits |= 1u << j;
        return node;
    }
    return -1;
}

void st_probe_give_up(struct st_report *r, unsigned want)
{
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
        if (!(want & (1u << i))) continue;
        struct st_where *w = where_of(r, probes[i].svc);
        if (w->error) continue;
        w->error = xstrfmt("no reachable %s node runs the %s container", svc_key(probes[i].svc),
                           r->cfg->svc[probes[i].svc].container_name);
    }
}
