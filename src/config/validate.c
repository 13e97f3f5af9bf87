/* Semantic checks of a loaded cluster.yml: everything m3fs checks, plus what
 * it misses (ports, replication factor, limits of 3FS ids, ...).  Every
 * message points at the key (or the nearest enclosing key that was written). */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "m3fs/chaintable.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "strindex.h"
#include "validate-int.h"

static struct yml_pos pos_near(const struct m3fs_config *c, const char *path)
{
    char *p = xstrdup(path);
    struct yml_pos pos = { 0, 0 };
    for (;;) {
        pos = config_pos(c, p);
        char *dot = strrchr(p, '.');
        if (pos.line || !dot) break;
        *dot = '\0';
    }
    free(p);
    return pos;
}

static void vreport(struct vctx *v, enum diag_sev sev, const char *path, const char *hint,
                    const char *fmt, va_list ap)
{
    struct strbuf sb = STRBUF_INIT;
    sb_vaddf(&sb, fmt, ap);
    struct yml_pos p = pos_near(v->c, path);
    diag_add(v->dl, sev, v->c->file, p.line, p.col, hint, "%s", sb.buf);
    sb_release(&sb);
}

void val_error(struct vctx *v, const char *path, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, DIAG_ERROR, path, hint, fmt, ap);
    va_end(ap);
}

void val_warn(struct vctx *v, const char *path, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(v, DIAG_WARN, path, hint, fmt, ap);
    va_end(ap);
}

static int empty(const char *s) { return !s || !*s; }

static void upcase(char *s)
{
    for (; *s; s++) *s = (char)toupper((unsigned char)*s);
}

/* 1 + the index of s in set, or 0. */
static int one_of(const char *s, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (!strcmp(s, set[i])) return i + 1;
    return 0;
}

static void check_name(struct vctx *v)
{
    const char *n = v->c->name;
    if (empty(n)) {
        E(v, "name", "add 'name: mycluster' (it becomes the 3FS cluster_id)", "name is required");
        return;
    }
    if (strlen(n) >= 32)
        E(v, "name", "use a name of at most 31 characters",
          "name '%s' is %zu characters long; 3FS aborts when cluster_id has 32 or more", n,
          strlen(n));
    if (strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(n))
        E(v, "name", "use letters, digits, '-', '_' and '.' only",
          "name '%s' has characters that cannot be part of the 3FS cluster_id and mount name", n);
}

static void check_abs_path(struct vctx *v, const char *key, const char *val, const char *example)
{
    if (empty(val)) {
        struct strbuf h = STRBUF_INIT;
        sb_addf(&h, "set it, e.g. %s", example);
        E(v, key, h.buf, "%s must not be empty", key);
        sb_release(&h);
    } else if (val[0] != '/') {
        struct strbuf h = STRBUF_INIT;
        sb_addf(&h, "use an absolute path such as %s", example);
        E(v, key, h.buf, "%s '%s' must be an absolute path", key, val);
        sb_release(&h);
    }
}

static void check_top(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    static const char *const nets[] = { "IB", "RDMA", "ERDMA", "RXE", "TCP", NULL };
    static const char *const levels[] = { "DEBUG", "INFO", "WARN", "ERROR", "FATAL", NULL };
    static const char *const colors[] = { "", "green", "cyan", "yellow", "blue", "magenta",
                                          "red", "white", "none", NULL };
    check_name(v);
    if (empty(c->work_dir)) {
        free(c->work_dir);
        c->work_dir = xstrdup("/opt/3fs");
    }
    check_abs_path(v, "workDir", c->work_dir, "/opt/3fs");
    check_abs_path(v, "serviceBasePath", c->service_base_path, "/lib/systemd/system/");
    upcase(c->network_type);
    static const enum net_type net_of[] = { NET_IB, NET_RDMA, NET_ERDMA, NET_RXE, NET_TCP };
    int ni = one_of(c->network_type, nets);
    if (ni) c->net = net_of[ni - 1];
    if (!ni)
        E(v, "networkType", "use one of RDMA, IB, ERDMA, RXE (or TCP, experimental)",
          "networkType '%s' is not supported", c->network_type);
    else if (c->net == NET_TCP)
        W(v, "networkType", "use RDMA, IB, ERDMA or RXE for a real deployment",
          "networkType TCP is experimental: real 3FS still needs an RDMA device on every node");
    if (empty(c->log_level)) {
        free(c->log_level);
        c->log_level = xstrdup("INFO");
    }
    upcase(c->log_level);
    if (!one_of(c->log_level, levels))
        E(v, "logLevel", "use DEBUG, INFO, WARN, ERROR or FATAL",
          "logLevel '%s' is not a 3FS log level", c->log_level);
    if (!one_of(c->ui.task_info_color, colors))
        E(v, "ui.taskInfoColor", "use green, cyan, yellow, blue, magenta, red, white or none",
          "ui.taskInfoColor '%s' is not a colour", c->ui.task_info_color);
    struct { const char *key; int64_t ms; } durs[] = {
        { "checkstatustimeout", c->check_status_timeout_ms },
        { "checkstatusinterval", c->check_status_interval_ms },
        { "cmdmaxexittimeout", c->cmd_max_exit_timeout_ms },
        { "services.fdb.waitclustertimeout", c->fdb.wait_cluster_timeout_ms },
        { "services.mgmtd.waitTargetOnlineTimeout", c->mgmtd.wait_target_online_timeout_ms },
        { "services.storage.waitChainsServingTimeout", c->storage.wait_chains_serving_timeout_ms },
    };
    for (size_t i = 0; i < ARRAY_SIZE(durs); i++)
        if (durs[i].ms <= 0)
            E(v, durs[i].key, "use a positive duration such as \"5m\"",
              "%s must be greater than zero", durs[i].key);
}

/* Refuse a secret too short to be masked (LOG_SECRET_MIN in log.h). */
static void check_secret_len(struct vctx *v, const char *path, const char *secret,
                             const char *kind, const char *who)
{
    size_t n = strlen(secret);
    if (n >= LOG_SECRET_MIN) return;
    struct strbuf what = STRBUF_INIT;
    if (kind)
        sb_addf(&what, "the password of %s '%s'", kind, who);
    else
        sb_adds(&what, path);
    _Static_assert(LOG_SECRET_MIN == 8, "the hints below say 8");
    E(v, path,
      kind ? "use a password of at least 8 characters, or an SSH key (identityFile); m3fs masks "
             "secrets in everything it prints, and a short one would garble the output and "
             "show itself by the pattern"
           : "use a password of at least 8 characters; m3fs masks secrets in everything it "
             "prints, and a short one would garble the output and show itself by the pattern",
      "%s has %zu character%s; the minimum is %d", what.buf, n, n == 1 ? "" : "s",
      LOG_SECRET_MIN);
    sb_release(&what);
}

/* Resolve a node's password source into n->password; register it as a secret. */
static void resolve_secret(struct vctx *v, struct m3fs_node *n, const char *path)
{
    int given = !empty(n->password) + !empty(n->password_file) + !empty(n->password_env);
    if (given > 1) {
        E(v, path, "keep only one of password, passwordFile and passwordEnv",
          "%s '%s' sets more than one of password, passwordFile and passwordEnv",
          n->group ? "nodeGroup" : "node", n->group ? n->group : n->name);
        return;
    }
    if (!empty(n->password_file)) {
        struct strbuf sb = STRBUF_INIT;
        struct stat st;
        /* a regular file of sane size: never /dev/zero, a FIFO or a directory */
        if (stat(n->password_file, &st) || !S_ISREG(st.st_mode) || st.st_size > 4096 ||
            sb_read_file(&sb, n->password_file)) {
            E(v, path, "create the file (mode 0600) or fix the path",
              "cannot read passwordFile '%s' (it must be a regular file of at most 4 KiB)",
              n->password_file);
        } else {
            if (st.st_mode & 077)
                W(v, path, "run: chmod 600 <file>",
                  "passwordFile '%s' can be read by other users", n->password_file);
            while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r'))
                sb_setlen(&sb, sb.len - 1);
            free_secret(n->password);
            n->password = sb_detach(&sb);
        }
        sb_release(&sb);
    } else if (!empty(n->password_env)) {
        const char *e = getenv(n->password_env);
        if (!e) {
            E(v, path, "export the variable before running m3fs, or use passwordFile",
              "environment variable '%s' (passwordEnv) is not set", n->password_env);
        } else {
            free_secret(n->password);
            n->password = xstrdup(e);
        }
    }
    if (n->password && !*n->password) {
        free_secret(n->password);
        n->password = NULL;
    }
    if (!n->password) return;
    log_add_secret(n->password);
    const char *key = !empty(n->password_file) ? "passwordFile"
                      : !empty(n->password_env) ? "passwordEnv" : "password";
    char *kp = xstrfmt("%s.%s", path, key);
    check_secret_len(v, kp, n->password, n->group ? "nodeGroup" : "node",
                     n->group ? n->group : n->name);
    free(kp);
}

static void check_nodes(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    struct strbuf p = STRBUF_INIT;
    struct strindex names = { 0 }, hosts = { 0 }; /* the first node of each: linear, not n^2 */
    if (!c->n_nodes && !c->n_groups)
        E(v, "nodes", "add a 'nodes:' list (name, host, username) or 'nodeGroups:'",
          "no nodes: the config needs 'nodes' or 'nodeGroups'");
    for (size_t i = 0; i < c->n_explicit_nodes; i++) {
        struct m3fs_node *n = &c->nodes[i];
        sb_reset(&p);
        sb_addf(&p, "nodes.%zu", i);
        size_t base = p.len;
        if (empty(n->name)) {
            E(v, p.buf, "add 'name: node1'", "node #%zu has no name", i + 1);
        } else if (strindex_add(&names, n->name, i) != STRINDEX_NONE) {
            E(v, p.buf, "give every node its own name", "node name '%s' is used twice", n->name);
        }
        const char *label = n->name ? n->name : "?";
        sb_adds(&p, ".host");
        if (empty(n->host)) E(v, p.buf, "add 'host: <IP address or hostname>'", "node '%s' has no host", label);
        else {
            size_t j = strindex_add(&hosts, n->host, i);
            if (j != STRINDEX_NONE)
                E(v, p.buf, "every node needs its own address",
                  "host '%s' of node '%s' is also the host of node '%s'", n->host, label,
                  c->nodes[j].name ? c->nodes[j].name : "?");
        }
        sb_setlen(&p, base);
        if (empty(n->username))
            E(v, p.buf, "add 'username: root' (or the user to log in as)", "node '%s' has no username", label);
        if (n->port < 1 || n->port > 65535) {
            sb_adds(&p, ".port");
            E(v, p.buf, "use the node's SSH port, usually 22", "SSH port %ld of node '%s' is out of range",
              n->port, label);
            sb_setlen(&p, base);
        }
        resolve_secret(v, n, p.buf);
    }
    strindex_free(&names), strindex_free(&hosts);
    sb_release(&p);
}

/* A nodeGroup's password source is resolved once and copied to its nodes. */
static void check_group_secrets(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    struct strbuf p = STRBUF_INIT;
    for (size_t g = 0; g < c->n_groups; g++) {
        struct m3fs_node_group *gr = &c->groups[g];
        if (empty(gr->name)) continue;
        sb_reset(&p);
        sb_addf(&p, "nodeGroups.%zu", g);
        struct m3fs_node tmp = { .name = gr->name, .group = gr->name,
                                 .password = gr->password ? xstrdup(gr->password) : NULL,
                                 .password_file = gr->password_file, .password_env = gr->password_env };
        resolve_secret(v, &tmp, p.buf);
        for (size_t i = c->n_explicit_nodes; i < c->n_nodes; i++) {
            if (strcmp(c->nodes[i].group, gr->name)) continue;
            free(c->nodes[i].password);
            c->nodes[i].password = tmp.password ? xstrdup(tmp.password) : NULL;
        }
        free(tmp.password);
        if (gr->port < 1 || gr->port > 65535)
            E(v, p.buf, "use the nodes' SSH port, usually 22",
              "SSH port %ld of nodeGroup '%s' is out of range", gr->port, gr->name);
    }
    sb_release(&p);
}

static void check_services(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    static const enum svc_kind required[] = { SVC_FDB, SVC_CLICKHOUSE, SVC_MONITOR, SVC_MGMTD,
                                              SVC_META, SVC_STORAGE };
    struct strbuf p = STRBUF_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
        enum svc_kind k = required[i];
        sb_reset(&p);
        sb_addf(&p, "services.%s", svc_key(k));
        if (!c->svc[k].nodes.n && !c->svc[k].node_groups.n)
            E(v, p.buf, "add 'nodes: [<node name>]' (or nodeGroups) under it",
              "services.%s needs at least one node", svc_key(k));
        if (empty(c->svc[k].container_name))
            E(v, p.buf, "remove containerName to use the default", "services.%s.containerName is empty",
              svc_key(k));
    }
    if (c->svc[SVC_CLICKHOUSE].n_member > 1)
        W(v, "services.clickhouse", "list one node", "only the first clickhouse node (%s) runs ClickHouse",
          c->nodes[c->svc[SVC_CLICKHOUSE].member[0]].name);
    if (c->svc[SVC_MONITOR].n_member > 1)
        W(v, "services.monitor", "list one node", "only the first monitor node (%s) runs the monitor collector",
          c->nodes[c->svc[SVC_MONITOR].member[0]].name);
    if (!c->svc[SVC_CLIENT].n_member)
        W(v, "services.client", "add client nodes to mount 3FS",
          "no client nodes: 3FS will be deployed but mounted nowhere");
    if (c->svc[SVC_POSTGRESQL].nodes.n || c->svc[SVC_POSTGRESQL].node_groups.n)
        W(v, "services.postgresql", "you may remove the section",
          "services.postgresql is not needed: this m3fs keeps its state in a local file");
    if (c->svc[SVC_GRAFANA].nodes.n || c->svc[SVC_GRAFANA].node_groups.n)
        W(v, "services.grafana", "you may remove the section", "services.grafana is not deployed by this m3fs");
    check_abs_path(v, "services.client.hostMountpoint", c->client.host_mountpoint, "/mnt/3fs");
    /* The well-known default is no secret, and masking it would blank the
     * word "password" in every message. */
    if (!empty(c->ch.password) && strcmp(c->ch.password, "password")) {
        log_add_secret(c->ch.password);
        check_secret_len(v, "services.clickhouse.password", c->ch.password, NULL, NULL);
    }
    else if (config_pos(c, "services.clickhouse.password").line)
        W(v, "services.clickhouse.password",
          "remove the key (m3fs then keeps a random one in its state file) or set your own",
          "the ClickHouse password is the well-known default '%s', and ClickHouse listens on "
          "every address", c->ch.password);
    sb_release(&p);
}

static int is_pow2(long x) { return x > 0 && !(x & (x - 1)); }

static void check_storage(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    const long nstor = (long)c->svc[SVC_STORAGE].n_member;
    static const char *const types[] = { "dir", "nvme", NULL };
    int di = one_of(c->storage.disk_type, types);
    if (di) c->storage.disk = di == 1 ? DISK_DIR : DISK_NVME;
    else
        E(v, "services.storage.diskType", "use 'nvme' (whole disks) or 'dir' (directories)",
          "diskType '%s' is not supported", c->storage.disk_type);
    if (!is_pow2(c->storage.sector_size) || c->storage.sector_size < 512 || c->storage.sector_size > 32768)
        E(v, "services.storage.sectorSize", "use 512 or 4096",
          "sectorSize %ld must be a power of two between 512 and 32768", c->storage.sector_size);
    if (c->storage.disk_num_per_node < 1 || c->storage.disk_num_per_node > 999)
        E(v, "services.storage.diskNumPerNode", "use a number from 1 to 999",
          "diskNumPerNode %ld is out of range", c->storage.disk_num_per_node);
    if (c->storage.target_num_per_disk < 1 || c->storage.target_num_per_disk > 99)
        E(v, "services.storage.targetNumPerDisk", "use a number from 1 to 99 (3FS target ids hold 2 digits)",
          "targetNumPerDisk %ld is out of range", c->storage.target_num_per_disk);
    if (c->storage.replication_factor < 1)
        E(v, "services.storage.replicationFactor", "use 1 or more (2 or 3 are usual)",
          "replicationFactor %ld must be at least 1", c->storage.replication_factor);
    else if (nstor && c->storage.replication_factor > nstor)
        E(v, "services.storage.replicationFactor", "add storage nodes or lower replicationFactor",
          "replicationFactor %ld needs at least %ld storage nodes, but services.storage has %ld",
          c->storage.replication_factor, c->storage.replication_factor, nstor);
    else if (c->storage.replication_factor == 1)
        W(v, "services.storage.replicationFactor", "use 2 or more to survive a node failure",
          "replicationFactor 1 keeps a single copy of the data");
    if (c->storage.target_id_prefix < 1 || c->storage.target_id_prefix > 99)
        E(v, "services.storage.targetIDPrefix", "use a number from 1 to 99 (default 1)",
          "targetIDPrefix %lld is out of range", (long long)c->storage.target_id_prefix);
    long long disks = c->storage.disk_num_per_node > 0 ? c->storage.disk_num_per_node : 1;
    long long maxid = (c->storage.chain_id_prefix * 1000LL + disks) * 100000LL + 99999LL;
    if (c->storage.chain_id_prefix < 1 || c->storage.chain_id_prefix > 99 || maxid > (long long)UINT32_MAX)
        E(v, "services.storage.chainIDPrefix", "use a number from 1 to 42 (default 9)",
          "chainIDPrefix %lld makes chain ids overflow 32 bits (largest would be %lld)",
          (long long)c->storage.chain_id_prefix, maxid);
    if (10000 + nstor >= 1000000)
        E(v, "services.storage", "use fewer storage nodes", "too many storage nodes for 3FS node ids");
    if (!is_pow2(c->mgmtd.chunk_size))
        E(v, "services.mgmtd.chunkSize", "use a power of two in bytes, e.g. 1048576 (1 MiB)",
          "chunkSize %ld is not a power of two", c->mgmtd.chunk_size);
    if (c->mgmtd.stripe_size < 1)
        E(v, "services.mgmtd.stripeSize", "use 1 or more (default 16)", "stripeSize %ld must be at least 1",
          c->mgmtd.stripe_size);
}

/* What plan_ctx_init() does with these values (src/services/registry.c): build
 * the chain table with the native generator, then check it has at least
 * stripeSize chains.  Only the counts are computed here (the same rules,
 * src/chaintable/params.c), not the table.  Run when the storage values
 * passed their own checks. */
static void check_chain_table(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    struct ct_params p;
    ct_params_init(&p);
    config_chain_params(c, &p);
    if (!p.v) return;
    struct strbuf why = STRBUF_INIT;
    long r = 0;
    int bad = ct_choose_r(p.v, p.k, p.r_min, &r, &why);
    if (!bad) {
        sb_reset(&why);
        bad = ct_check_params(&p, r, &why);
    }
    if (bad) {
        E(v, "services.storage", "change the number of storage nodes, replicationFactor, "
          "diskNumPerNode or targetNumPerDisk", "no chain table can be built for %ld storage "
          "nodes: %s", p.v, why.buf);
        sb_release(&why);
        return;
    }
    sb_release(&why);
    long chains = p.v * r / p.k * p.disks;
    if (chains >= c->mgmtd.stripe_size) return;
    struct strbuf hint = STRBUF_INIT;
    sb_addf(&hint, "set services.mgmtd.stripeSize to at most %ld, or raise targetNumPerDisk, "
            "diskNumPerNode or the number of storage nodes", chains);
    E(v, "services.mgmtd.stripeSize", hint.buf, "stripeSize %ld is more than the %ld chains "
      "of the chain table (%ld storage nodes x %ld disk%s x %ld targets per disk / replication "
      "factor %ld): 3FS cannot create files striped over more chains than exist",
      c->mgmtd.stripe_size, chains, p.v, p.disks, p.disks == 1 ? "" : "s", r, p.k);
    sb_release(&hint);
}

/* What the ClickHouse setup takes (src/services/clickhouse.c): the db name
 * goes into SQL unquoted, user and password into an env file, one line each. */
static void check_clickhouse(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    const char *db = c->ch.db;
    if (empty(db) || strspn(db, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
                     != strlen(db))
        E(v, "services.clickhouse.db", "use only letters, digits and '_', e.g. 3fs",
          "services.clickhouse.db '%s' is not a plain database name", db);
    if (strpbrk(c->ch.user, "\r\n"))
        E(v, "services.clickhouse.user", "write the user on one line",
          "services.clickhouse.user has a line break");
    if (strpbrk(c->ch.password, "\r\n"))
        E(v, "services.clickhouse.password", "write the password on one line",
          "services.clickhouse.password has a line break");
}

static int is_dev_path(const char *s)
{
    if (strncmp(s, "/dev/", 5) || !s[5]) return 0;
    return strspn(s + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:+")
           == strlen(s + 5);
}

/* nodes[i].nvmeDisks: the node's data disks, one per data index; listing a
 * disk is consent to format it, so the list must be exact. */
static void check_nvme_disks(struct vctx *v, size_t i)
{
    const struct m3fs_config *c = v->c;
    const struct m3fs_node *n = &c->nodes[i];
    if (!n->nvme_disks.n) return;
    const char *name = n->name ? n->name : "?";
    struct strbuf p = STRBUF_INIT;
    sb_addf(&p, "nodes.%zu.nvmeDisks", i);
    if (c->storage.disk != DISK_NVME)
        E(v, p.buf, "remove nvmeDisks, or set services.storage.diskType: nvme",
          "node '%s' lists nvmeDisks, but diskType is '%s'", name, c->storage.disk_type);
    else if (!config_node_has(c, i, SVC_STORAGE))
        E(v, p.buf, "add the node to services.storage, or remove its nvmeDisks",
          "node '%s' lists nvmeDisks but is not a storage node", name);
    else if ((long)n->nvme_disks.n != c->storage.disk_num_per_node)
        E(v, p.buf, "list one disk per data index (services.storage.diskNumPerNode)",
          "node '%s' lists %zu nvmeDisks, but diskNumPerNode is %ld", name, n->nvme_disks.n,
          c->storage.disk_num_per_node);
    for (size_t d = 0; d < n->nvme_disks.n; d++) {
        size_t base = p.len;
        sb_addf(&p, ".%zu", d);
        const char *dev = n->nvme_disks.v[d];
        if (!is_dev_path(dev))
            E(v, p.buf, "use a whole-disk device path such as /dev/nvme0n1",
              "'%s' is not a device path", dev);
        for (size_t e = 0; e < d; e++)
            if (!strcmp(n->nvme_disks.v[e], dev))
                E(v, p.buf, "list each disk once", "disk %s is listed twice for node '%s'", dev,
                  name);
        sb_setlen(&p, base);
    }
    sb_release(&p);
}

struct port_use {
    long port;
    const char *what;
    const char *path;
};

/* Key path of a node's SSH port: its own entry, or its nodeGroup's. */
static void ssh_port_path(const struct m3fs_config *c, size_t node, struct strbuf *sb)
{
    if (node < c->n_explicit_nodes) {
        sb_addf(sb, "nodes.%zu.port", node);
        return;
    }
    sb_adds(sb, "nodeGroups");
    for (size_t g = 0; g < c->n_groups; g++)
        if (c->groups[g].name && !strcmp(c->groups[g].name, c->nodes[node].group)) {
            sb_addf(sb, ".%zu.port", g);
            return;
        }
}

static void check_node_ports(struct vctx *v, size_t node)
{
    struct m3fs_config *c = v->c;
    struct port_use u[24];
    size_t n = 0;
#define USE(k, p, w, path) \
    if (config_node_has(c, node, k)) u[n++] = (struct port_use){ (p), (w), (path) }
    USE(SVC_FDB, c->fdb.port, "fdb port", "services.fdb.port");
    USE(SVC_CLICKHOUSE, c->ch.tcp_port, "clickhouse tcpPort", "services.clickhouse.tcpPort");
    USE(SVC_CLICKHOUSE, 8123, "clickhouse HTTP port (image default)", "services.clickhouse");
    USE(SVC_CLICKHOUSE, 9004, "clickhouse MySQL port (image default)", "services.clickhouse");
    USE(SVC_CLICKHOUSE, 9005, "clickhouse PostgreSQL port (image default)", "services.clickhouse");
    USE(SVC_CLICKHOUSE, 9009, "clickhouse interserver port (image default)", "services.clickhouse");
    USE(SVC_MONITOR, c->monitor.port, "monitor port", "services.monitor.port");
    USE(SVC_MGMTD, c->mgmtd.rdma_port, "mgmtd rdmaListenPort", "services.mgmtd.rdmaListenPort");
    USE(SVC_MGMTD, c->mgmtd.tcp_port, "mgmtd tcpListenPort", "services.mgmtd.tcpListenPort");
    USE(SVC_META, c->meta.rdma_port, "meta rdmaListenPort", "services.meta.rdmaListenPort");
    USE(SVC_META, c->meta.tcp_port, "meta tcpListenPort", "services.meta.tcpListenPort");
    USE(SVC_STORAGE, c->storage.rdma_port, "storage rdmaListenPort", "services.storage.rdmaListenPort");
    USE(SVC_STORAGE, c->storage.tcp_port, "storage tcpListenPort", "services.storage.tcpListenPort");
#undef USE
    struct strbuf ssh = STRBUF_INIT;
    ssh_port_path(c, node, &ssh);
    if (n) u[n++] = (struct port_use){ c->nodes[node].port, "SSH port", ssh.buf };
    for (size_t i = 0; i < n; i++) {
        if (u[i].port < 1 || u[i].port > 65535) {
            E(v, u[i].path, "use a port from 1 to 65535", "%s %ld is out of range", u[i].what, u[i].port);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (u[i].port == u[j].port)
                E(v, u[i].path, "give one of them another port",
                  "port %ld is used twice on node '%s': %s and %s", u[i].port,
                  c->nodes[node].name, u[j].what, u[i].what);
    }
    sb_release(&ssh);
}

static void check_images(struct vctx *v)
{
    struct m3fs_config *c = v->c;
    static const char *const arches[] = { "amd64", "arm64", NULL };
    if (!one_of(c->images.arch, arches))
        E(v, "images.arch", "use amd64 or arm64", "images.arch '%s' is not supported", c->images.arch);
    if (strstr(c->images.registry, "://"))
        E(v, "images.registry", "write the registry as host[:port][/path], e.g. registry.local:5000",
          "images.registry '%s' must not contain a scheme", c->images.registry);
    struct strbuf p = STRBUF_INIT;
    for (int k = 0; k < IMG_COUNT; k++) {
        struct m3fs_image *im = &c->images.img[k];
        sb_reset(&p);
        sb_addf(&p, "images.%s", img_key((enum img_kind)k));
        if (empty(im->repo) || empty(im->tag) || strpbrk(im->repo, " \t:@") || strpbrk(im->tag, " \t/:@"))
            E(v, p.buf, "set repo (e.g. open3fs/3fs) and tag (e.g. 20250410) without spaces",
              "image %s has an empty or malformed repo or tag", img_key((enum img_kind)k));
    }
    sb_release(&p);
}

void config_validate(struct m3fs_config *c, struct diag_list *dl)
{
    struct vctx v = { c, dl };
    check_top(&v);
    check_nodes(&v);
    check_chars(&v);
    config_expand(c, dl);
    check_group_secrets(&v);
    check_services(&v);
    check_clickhouse(&v);
    int before = dl->errors;
    check_storage(&v);
    if (dl->errors == before) check_chain_table(&v);
    check_network(&v);
    for (size_t i = 0; i < c->n_nodes; i++) check_node_ports(&v, i);
    for (size_t i = 0; i < c->n_explicit_nodes; i++) check_nvme_disks(&v, i);
    check_images(&v);
}
