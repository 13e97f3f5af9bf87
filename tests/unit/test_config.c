/* test_config: the cluster.yml loader, its defaults, every validation rule
 * (with the file:line:col and hint of its diagnostic), nodeGroups expansion,
 * password sources, overrides and the small queries used by commands. */
#include <sys/stat.h>
#include <unistd.h>

#include "m3fs/log.h"
#include "testutil.h"

static struct diag_list dl;

/* Lines 1-8: two nodes and the "services:" key. */
#define HEAD                        \
    "nodes:\n"                      \
    "  - name: n1\n"                \
    "    host: 10.0.0.1\n"          \
    "    username: root\n"          \
    "  - name: n2\n"                \
    "    host: 10.0.0.2\n"          \
    "    username: root\n"          \
    "services:\n"
/* Lines 9-16: every required service; storage is last, so lines appended
 * with 4 spaces of indent (from line 17 on) land in services.storage, with 2
 * in services and with none at the top level. */
#define SVCS                    \
    TU_SVCS_N1                  \
    "  client: {nodes: [n1]}\n" \
    "  storage:\n"              \
    "    nodes: [n1, n2]\n"
#define BASE HEAD SVCS
/* "services:" with every required service on n1 and storage also on the
 * nodeGroups of its %s (a format for xstrfmt); 8 lines. */
#define SVCS_GROUPS_FMT            \
    "services:\n"                  \
    TU_SVCS_N1                     \
    "  client: {nodes: [n1]}\n"    \
    "  storage: {nodes: [n1], nodeGroups: [%s]}\n"

static struct m3fs_config *load_ov(const char *yaml, const struct config_overrides *ov)
{
    diag_list_free(&dl);
    return config_load_buffer(yaml, strlen(yaml), "t.yml", ov, &dl);
}

static struct m3fs_config *load(const char *yaml)
{
    return load_ov(yaml, NULL);
}

static struct m3fs_config *load_base(const char *extra)
{
    char *s = xstrfmt("%s%s", BASE, extra);
    struct m3fs_config *c = load(s);
    free(s);
    return c;
}

static void dump(void)
{
    fprintf(stderr, "diagnostics (%d errors, %d warnings):\n", dl.errors, dl.warnings);
    diag_print(&dl, stderr);
}

/* The diagnostic whose message contains msg must have this severity,
 * position and (when hint is not NULL) a hint containing `hint`. */
static void expect(const char *msg, enum diag_sev sev, int line, int col, const char *hint)
{
    int i = diag_find(&dl, msg);
    if (i < 0) {
        dump();
        fail_msg("no diagnostic containing \"%s\"", msg);
    }
    const struct diag *d = &dl.v[i];
    if (d->sev != sev || d->line != line || d->col != col ||
        (hint && (!d->hint || !strstr(d->hint, hint)))) {
        fprintf(stderr, "\"%s\": got %s at %d:%d hint \"%s\"; want %s at %d:%d hint \"%s\"\n", msg,
                d->sev == DIAG_ERROR ? "error" : "warning", d->line, d->col,
                d->hint ? d->hint : "", sev == DIAG_ERROR ? "error" : "warning", line, col,
                hint ? hint : "");
        dump();
        fail_msg("diagnostic \"%s\" does not match (see above)", msg);
    }
    assert_string_equal(d->file, "t.yml");
}

static void expect_clean(struct m3fs_config *c)
{
    if (!c || dl.errors || dl.warnings) {
        dump();
        fail_msg("expected a clean load");
    }
}

/* Registered secrets in text are masked in log output: text becomes want. */
static void expect_masked(const char *text, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, text);
    log_mask(&sb);
    assert_string_equal(sb.buf, want);
    sb_release(&sb);
}

/* ---- the base config, every key, every default ---- */

static void test_base_loads(void **state)
{
    (void)state;
    struct m3fs_config *c = load(BASE);
    expect_clean(c);
    assert_int_equal(c->n_nodes, 2);
    assert_int_equal(c->n_explicit_nodes, 2);
    assert_string_equal(c->file, "t.yml");
    config_free(c);
}

/* networkType and diskType are parsed once into enums (any case for the
 * network; the defaults RDMA and nvme). */
static void test_type_enums(void **state)
{
    (void)state;
    static const struct { const char *net; enum net_type want; } nets[] = {
        { "ib", NET_IB }, { "RDMA", NET_RDMA }, { "erdma", NET_ERDMA }, { "Rxe", NET_RXE },
        { "tcp", NET_TCP },
    };
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        char *extra = xstrfmt("    diskType: dir\nnetworkType: %s\n", nets[i].net);
        struct m3fs_config *c = load_base(extra);
        assert_non_null(c);
        assert_int_equal(c->net, nets[i].want);
        assert_int_equal(c->storage.disk, DISK_DIR);
        config_free(c), free(extra);
    }
    struct m3fs_config *c = load(BASE);
    assert_int_equal(c->net, NET_RDMA);
    assert_int_equal(c->storage.disk, DISK_NVME);
    config_free(c);
}

/* The settings test_defaults and test_every_key check, one field each. */
struct settings {
    const char *name, *work_dir, *network_type, *log_level, *service_base_path;
    int64_t cmd_max_exit_ms, check_status_timeout_ms, check_status_interval_ms;
    const char *containers[SVC_COUNT];
    long pg_port;
    const char *pg_username, *pg_password, *pg_database, *pg_ro_username, *pg_ro_password;
    int64_t pg_wait_ready_ms;
    long fdb_port;
    int64_t fdb_wait_cluster_ms;
    const char *ch_db, *ch_user, *ch_password;
    long ch_tcp_port, grafana_port, monitor_port;
    long mgmtd_chunk_size, mgmtd_stripe_size, mgmtd_rdma_port, mgmtd_tcp_port;
    int64_t mgmtd_wait_target_online_ms;
    long meta_rdma_port, meta_tcp_port;
    const char *storage_disk_type;
    long storage_sector_size, storage_disk_num_per_node, storage_rdma_port, storage_tcp_port;
    long storage_replication_factor, storage_target_num_per_disk;
    int64_t storage_target_id_prefix, storage_chain_id_prefix;
    int64_t storage_wait_chains_serving_ms, storage_wait_target_update_sleep_ms;
    const char *client_host_mountpoint, *registry, *arch;
    const char *repos[IMG_COUNT], *tags[IMG_COUNT];
    const char *task_info_color;
};

static void expect_settings(const struct m3fs_config *c, const struct settings *w)
{
    assert_string_equal(c->name, w->name);
    assert_string_equal(c->work_dir, w->work_dir);
    assert_string_equal(c->network_type, w->network_type);
    assert_string_equal(c->log_level, w->log_level);
    assert_string_equal(c->service_base_path, w->service_base_path);
    assert_int_equal(c->cmd_max_exit_timeout_ms, w->cmd_max_exit_ms);
    assert_int_equal(c->check_status_timeout_ms, w->check_status_timeout_ms);
    assert_int_equal(c->check_status_interval_ms, w->check_status_interval_ms);
    for (int k = 0; k < SVC_COUNT; k++)
        assert_string_equal(c->svc[k].container_name, w->containers[k]);
    assert_int_equal(c->pg.port, w->pg_port);
    assert_string_equal(c->pg.username, w->pg_username);
    assert_string_equal(c->pg.password, w->pg_password);
    assert_string_equal(c->pg.database, w->pg_database);
    assert_string_equal(c->pg.ro_username, w->pg_ro_username);
    assert_string_equal(c->pg.ro_password, w->pg_ro_password);
    assert_int_equal(c->pg.wait_ready_timeout_ms, w->pg_wait_ready_ms);
    assert_int_equal(c->fdb.port, w->fdb_port);
    assert_int_equal(c->fdb.wait_cluster_timeout_ms, w->fdb_wait_cluster_ms);
    assert_string_equal(c->ch.db, w->ch_db);
    assert_string_equal(c->ch.user, w->ch_user);
    assert_string_equal(c->ch.password, w->ch_password);
    assert_int_equal(c->ch.tcp_port, w->ch_tcp_port);
    assert_int_equal(c->grafana.port, w->grafana_port);
    assert_int_equal(c->monitor.port, w->monitor_port);
    assert_int_equal(c->mgmtd.chunk_size, w->mgmtd_chunk_size);
    assert_int_equal(c->mgmtd.stripe_size, w->mgmtd_stripe_size);
    assert_int_equal(c->mgmtd.rdma_port, w->mgmtd_rdma_port);
    assert_int_equal(c->mgmtd.tcp_port, w->mgmtd_tcp_port);
    assert_int_equal(c->mgmtd.wait_target_online_timeout_ms, w->mgmtd_wait_target_online_ms);
    assert_int_equal(c->meta.rdma_port, w->meta_rdma_port);
    assert_int_equal(c->meta.tcp_port, w->meta_tcp_port);
    assert_string_equal(c->storage.disk_type, w->storage_disk_type);
    assert_int_equal(c->storage.sector_size, w->storage_sector_size);
    assert_int_equal(c->storage.disk_num_per_node, w->storage_disk_num_per_node);
    assert_int_equal(c->storage.rdma_port, w->storage_rdma_port);
    assert_int_equal(c->storage.tcp_port, w->storage_tcp_port);
    assert_int_equal(c->storage.replication_factor, w->storage_replication_factor);
    assert_int_equal(c->storage.target_num_per_disk, w->storage_target_num_per_disk);
    assert_int_equal(c->storage.target_id_prefix, w->storage_target_id_prefix);
    assert_int_equal(c->storage.chain_id_prefix, w->storage_chain_id_prefix);
    assert_int_equal(c->storage.wait_chains_serving_timeout_ms, w->storage_wait_chains_serving_ms);
    assert_int_equal(c->storage.wait_target_update_sleep_ms, w->storage_wait_target_update_sleep_ms);
    assert_string_equal(c->client.host_mountpoint, w->client_host_mountpoint);
    assert_string_equal(c->images.registry, w->registry);
    assert_string_equal(c->images.arch, w->arch);
    for (int k = 0; k < IMG_COUNT; k++) {
        assert_string_equal(c->images.img[k].repo, w->repos[k]);
        assert_string_equal(c->images.img[k].tag, w->tags[k]);
    }
    assert_string_equal(c->ui.task_info_color, w->task_info_color);
}

static const struct settings default_settings = {
    .name = "3fs", .work_dir = "/opt/3fs", .network_type = "RDMA", .log_level = "INFO",
    .service_base_path = "/lib/systemd/system/",
    .cmd_max_exit_ms = 600000, .check_status_timeout_ms = 300000, .check_status_interval_ms = 5000,
    .containers = { "3fs-fdb", "3fs-clickhouse", "3fs-monitor", "3fs-mgmtd", "3fs-meta",
                    "3fs-storage", "3fs-client", "3fs-grafana", "3fs-postgres" },
    .pg_port = 5432, .pg_username = "postgres", .pg_password = "pgpassword",
    .pg_database = "open3fs", .pg_ro_username = "postgres_readonly",
    .pg_ro_password = "pgpassword_readonly", .pg_wait_ready_ms = 30000,
    .fdb_port = 4500, .fdb_wait_cluster_ms = 120000,
    .ch_db = "3fs", .ch_user = "default", .ch_password = "password", .ch_tcp_port = 8999,
    .grafana_port = 3000, .monitor_port = 10000,
    .mgmtd_chunk_size = 1048576, .mgmtd_stripe_size = 16, .mgmtd_rdma_port = 8000,
    .mgmtd_tcp_port = 9000, .mgmtd_wait_target_online_ms = 600000,
    .meta_rdma_port = 8001, .meta_tcp_port = 9001,
    .storage_disk_type = "nvme", .storage_sector_size = 4096, .storage_disk_num_per_node = 1,
    .storage_rdma_port = 8002, .storage_tcp_port = 9002, .storage_replication_factor = 2,
    .storage_target_num_per_disk = 32, .storage_target_id_prefix = 1,
    .storage_chain_id_prefix = 9, .storage_wait_chains_serving_ms = 600000,
    .storage_wait_target_update_sleep_ms = 10000,
    .client_host_mountpoint = "/mnt/3fs", .registry = "", .arch = "amd64",
    .repos = { "open3fs/3fs", "open3fs/foundationdb", "open3fs/clickhouse", "open3fs/grafana",
               "open3fs/postgresql" },
    .tags = { "20250410", "7.3.63", "25.1-jammy", "12.0.0", "17.5.0" },
    .task_info_color = "",
};

static void test_defaults(void **state)
{
    (void)state;
    struct m3fs_config *c = load(BASE);
    expect_clean(c);
    expect_settings(c, &default_settings);
    assert_int_equal(c->nodes[0].port, 22);
    assert_null(c->nodes[0].password);
    assert_null(c->nodes[0].identity_file);
    assert_int_equal(c->nodes[0].rdma_addresses.n, 0);
    assert_null(c->nodes[0].group);
    config_free(c);
}

static const char full_yaml[] =
    "name: full-cluster\n"
    "workDir: /data/3fs\n"
    "networkType: ib\n"
    "logLevel: debug\n"
    "serviceBasePath: /etc/systemd/system/\n"
    "cmdmaxexittimeout: 2m\n"
    "checkstatustimeout: 7m\n"
    "checkstatusinterval: 3s\n"
    "nodes:\n"
    "  - name: a\n"
    "    host: 10.1.0.1\n"
    "    port: 2222\n"
    "    username: admin\n"
    "    password: pw-full-a\n"
    "    identityFile: /root/.ssh/id_a\n"
    "    rdmaAddresses: [10.2.0.1, 10.2.0.2]\n"
    "  - {name: b, host: 10.1.0.2, username: admin}\n"
    "  - {name: c, host: 10.1.0.3, username: admin}\n"
    "nodeGroups:\n"
    "  - name: g\n"
    "    username: gu\n"
    "    password: pw-full-g\n"
    "    identityFile: /root/.ssh/id_g\n"
    "    port: 2200\n"
    "    ipBegin: 10.1.1.1\n"
    "    ipEnd: 10.1.1.2\n"
    "services:\n"
    "  postgresql:\n"
    "    containerName: my-pg\n"
    "    nodes: [a]\n"
    "    port: 5433\n"
    "    username: pu\n"
    "    password: pp\n"
    "    database: pdb\n"
    "    readOnlyUsername: ru\n"
    "    readOnlyPassword: rp\n"
    "    waitReadyTimeout: 45s\n"
    "  fdb:\n"
    "    containerName: my-fdb\n"
    "    nodes: [a, b, c]\n"
    "    port: 4600\n"
    "    waitclustertimeout: 3m\n"
    "  clickhouse:\n"
    "    containerName: my-ch\n"
    "    nodes: [b]\n"
    "    db: metrics\n"
    "    user: chu\n"
    "    password: chp-s3cret\n"
    "    tcpPort: 8998\n"
    "  grafana: {containerName: my-grafana, nodes: [c], port: 3001}\n"
    "  monitor: {containerName: my-monitor, nodes: [c], port: 10001}\n"
    "  mgmtd:\n"
    "    containerName: my-mgmtd\n"
    "    nodes: [a, b]\n"
    "    chunkSize: 524288\n"
    "    stripeSize: 8\n"
    "    rdmaListenPort: 8100\n"
    "    tcpListenPort: 9100\n"
    "    waitTargetOnlineTimeout: 11m\n"
    "  meta:\n"
    "    containerName: my-meta\n"
    "    nodes: [a, b]\n"
    "    rdmaListenPort: 8101\n"
    "    tcpListenPort: 9101\n"
    "  storage:\n"
    "    containerName: my-storage\n"
    "    nodes: [a, b, c]\n"
    "    nodeGroups: [g]\n"
    "    diskType: dir\n"
    "    sectorSize: 512\n"
    "    diskNumPerNode: 3\n"
    "    rdmaListenPort: 8102\n"
    "    tcpListenPort: 9102\n"
    "    replicationFactor: 3\n"
    "    targetNumPerDisk: 16\n"
    "    targetIDPrefix: 2\n"
    "    chainIDPrefix: 7\n"
    "    waitChainsServingTimeout: 12m\n"
    "    waitTargetUpdateSleepTime: 20s\n"
    "  client:\n"
    "    containerName: my-client\n"
    "    nodes: [c]\n"
    "    nodeGroups: [g]\n"
    "    hostMountpoint: /mnt/hf3fs\n"
    "images:\n"
    "  registry: reg.local:5000\n"
    "  arch: arm64\n"
    "  3fs: {repo: my/3fs, tag: t1}\n"
    "  fdb: {repo: my/fdb, tag: t2}\n"
    "  clickhouse: {repo: my/ch, tag: t3}\n"
    "  grafana: {repo: my/gf, tag: t4}\n"
    "  postgresql: {repo: my/pg, tag: t5}\n"
    "ui:\n"
    "  taskInfoColor: cyan\n";

/* What full_yaml sets. */
static const struct settings full_settings = {
    .name = "full-cluster", .work_dir = "/data/3fs", .network_type = "IB", /* stored upper-case */
    .log_level = "DEBUG", .service_base_path = "/etc/systemd/system/",
    .cmd_max_exit_ms = 120000, .check_status_timeout_ms = 420000, .check_status_interval_ms = 3000,
    .containers = { "my-fdb", "my-ch", "my-monitor", "my-mgmtd", "my-meta", "my-storage",
                    "my-client", "my-grafana", "my-pg" },
    .pg_port = 5433, .pg_username = "pu", .pg_password = "pp", .pg_database = "pdb",
    .pg_ro_username = "ru", .pg_ro_password = "rp", .pg_wait_ready_ms = 45000,
    .fdb_port = 4600, .fdb_wait_cluster_ms = 180000,
    .ch_db = "metrics", .ch_user = "chu", .ch_password = "chp-s3cret", .ch_tcp_port = 8998,
    .grafana_port = 3001, .monitor_port = 10001,
    .mgmtd_chunk_size = 524288, .mgmtd_stripe_size = 8, .mgmtd_rdma_port = 8100,
    .mgmtd_tcp_port = 9100, .mgmtd_wait_target_online_ms = 660000,
    .meta_rdma_port = 8101, .meta_tcp_port = 9101,
    .storage_disk_type = "dir", .storage_sector_size = 512, .storage_disk_num_per_node = 3,
    .storage_rdma_port = 8102, .storage_tcp_port = 9102, .storage_replication_factor = 3,
    .storage_target_num_per_disk = 16, .storage_target_id_prefix = 2,
    .storage_chain_id_prefix = 7, .storage_wait_chains_serving_ms = 720000,
    .storage_wait_target_update_sleep_ms = 20000,
    .client_host_mountpoint = "/mnt/hf3fs", .registry = "reg.local:5000", .arch = "arm64",
    .repos = { "my/3fs", "my/fdb", "my/ch", "my/gf", "my/pg" },
    .tags = { "t1", "t2", "t3", "t4", "t5" },
    .task_info_color = "cyan",
};

static void test_every_key(void **state)
{
    (void)state;
    struct m3fs_config *c = load(full_yaml);
    if (!c || dl.errors) dump();
    assert_non_null(c);
    /* only the two "not used by this m3fs" warnings */
    assert_int_equal(dl.warnings, 2);
    assert_true(diag_find(&dl, "services.postgresql is not needed") >= 0);
    assert_true(diag_find(&dl, "services.grafana is not deployed") >= 0);
    expect_settings(c, &full_settings);

    assert_int_equal(c->n_explicit_nodes, 3);
    assert_int_equal(c->n_nodes, 5);
    const struct m3fs_node *a = &c->nodes[0];
    assert_string_equal(a->name, "a");
    assert_string_equal(a->host, "10.1.0.1");
    assert_int_equal(a->port, 2222);
    assert_string_equal(a->username, "admin");
    assert_string_equal(a->password, "pw-full-a");
    assert_string_equal(a->identity_file, "/root/.ssh/id_a");
    assert_int_equal(a->rdma_addresses.n, 2);
    assert_string_equal(a->rdma_addresses.v[1], "10.2.0.2");
    assert_int_equal(a->pos.line, 10);
    assert_int_equal(a->pos.col, 5);
    assert_int_equal(c->nodes[1].port, 22);

    assert_int_equal(c->n_groups, 1);
    const struct m3fs_node_group *g = &c->groups[0];
    assert_string_equal(g->name, "g");
    assert_string_equal(g->username, "gu");
    assert_string_equal(g->password, "pw-full-g");
    assert_string_equal(g->identity_file, "/root/.ssh/id_g");
    assert_int_equal(g->port, 2200);
    assert_string_equal(g->ip_begin, "10.1.1.1");
    assert_string_equal(g->ip_end, "10.1.1.2");
    const struct m3fs_node *g1 = &c->nodes[3];
    assert_string_equal(g1->name, "g-node(10.1.1.1)");
    assert_string_equal(g1->host, "10.1.1.1");
    assert_string_equal(g1->group, "g");
    assert_string_equal(g1->username, "gu");
    assert_string_equal(g1->password, "pw-full-g");
    assert_string_equal(g1->identity_file, "/root/.ssh/id_g");
    assert_int_equal(g1->port, 2200);

    assert_int_equal(c->svc[SVC_FDB].n_member, 3);
    assert_int_equal(c->svc[SVC_STORAGE].nodes.n, 3);
    assert_int_equal(c->svc[SVC_STORAGE].node_groups.n, 1);
    assert_int_equal(c->svc[SVC_STORAGE].n_member, 5);
    assert_int_equal(c->svc[SVC_CLIENT].n_member, 3);

    /* positions of keys are recorded */
    struct yml_pos p = config_pos(c, "services.storage.replicationFactor");
    assert_int_equal(p.line, 74);
    assert_int_equal(p.col, 5);
    p = config_pos(c, "nodes.0.rdmaAddresses.1");
    assert_int_equal(p.line, 16);
    assert_int_equal(p.col, 31);
    p = config_pos(c, "no.such.key");
    assert_int_equal(p.line, 0);

    /* passwords are registered as secrets */
    expect_masked("ssh pw-full-a pw-full-g chp-s3cret", "ssh ****** ****** ******");
    config_free(c);
}

/* ---- validation rules, one mistake each, appended to BASE ---- */

struct rule {
    const char *extra; /* appended at line 17 */
    const char *msg;
    enum diag_sev sev;
    int line, col;
    const char *hint;
};

static const struct rule rules[] = {
    /* top level */
    { "name: \"\"\n", "name is required", DIAG_ERROR, 17, 1, "add 'name: mycluster'" },
    { "name: abcdefghijklmnopqrstuvwxyz012345\n", "is 32 characters long", DIAG_ERROR, 17, 1,
      "at most 31 characters" },
    { "name: a/b\n", "name 'a/b' has characters", DIAG_ERROR, 17, 1, "letters, digits" },
    { "workDir: opt/3fs\n", "workDir 'opt/3fs' must be an absolute path", DIAG_ERROR, 17, 1,
      "absolute path such as /opt/3fs" },
    { "serviceBasePath: \"\"\n", "serviceBasePath must not be empty", DIAG_ERROR, 17, 1,
      "/lib/systemd/system/" },
    { "serviceBasePath: lib/systemd\n", "serviceBasePath 'lib/systemd' must be an absolute path",
      DIAG_ERROR, 17, 1, "absolute path" },
    { "networkType: infiniband\n", "networkType 'INFINIBAND' is not supported", DIAG_ERROR, 17, 1,
      "RDMA, IB, ERDMA, RXE" },
    { "networkType: tcp\n", "networkType TCP is experimental", DIAG_WARN, 17, 1, "RDMA" },
    { "logLevel: verbose\n", "logLevel 'VERBOSE' is not a 3FS log level", DIAG_ERROR, 17, 1,
      "DEBUG, INFO, WARN, ERROR or FATAL" },
    { "ui:\n  taskInfoColor: pink\n", "ui.taskInfoColor 'pink' is not a colour", DIAG_ERROR, 18, 3,
      "green" },
    { "checkstatustimeout: 0s\n", "checkstatustimeout must be greater than zero", DIAG_ERROR, 17, 1,
      "positive duration" },
    { "checkstatusinterval: \"0\"\n", "checkstatusinterval must be greater than zero", DIAG_ERROR,
      17, 1, NULL },
    { "cmdmaxexittimeout: \"-1m\"\n", "'cmdmaxexittimeout' is not a valid duration: '-1m'",
      DIAG_ERROR, 17, 20, "\"1h30m\"" },
    { "cmdmaxexittimeout: 120\n", "'cmdmaxexittimeout' is a duration and needs a unit: '120'",
      DIAG_ERROR, 17, 20, "add a unit" },
    { "checkstatustimeout: 5 minutes\n", "not a valid duration: '5 minutes'", DIAG_ERROR, 17, 21,
      "Go duration syntax" },
    { "frobnicate: 1\n", "unknown key 'frobnicate'", DIAG_ERROR, 17, 1,
      "known keys here: name workDir networkType" },
    { "workdir: /x\n", "unknown key 'workdir'", DIAG_ERROR, 17, 1, "did you mean 'workDir'?" },
    { "services:\n  fdb: {}\n", "key 'services' appears twice", DIAG_ERROR, 17, 1, "remove one" },
    { "name: [a, b]\n", "'name' must be a single value, not a list", DIAG_ERROR, 17, 7,
      "single value on the same line" },
    { "images: 5\n", "'images' must be a mapping, not a single value", DIAG_ERROR, 17, 9,
      "indent the keys" },
    { "nodeGroups: {name: g}\n", "'nodeGroups' must be a list, not a mapping", DIAG_ERROR, 17, 13,
      "- name: ..." },
    { "nodeGroups: [g1]\n", "entry of 'nodeGroups' must be a mapping, not a single value",
      DIAG_ERROR, 17, 14, "'- name: node1'" },
    { "? [a, b]\n: c\n", "a key must be a single word, not a list", DIAG_ERROR, 17, 3,
      "plain words" },
    /* services */
    { "  grafna: {nodes: [n1]}\n", "unknown key 'grafna' in services", DIAG_ERROR, 17, 3,
      "did you mean 'grafana'?" },
    { "  postgresql: {nodes: [n1]}\n", "services.postgresql is not needed", DIAG_WARN, 17, 3,
      "remove the section" },
    { "  grafana: {nodes: [n1]}\n", "services.grafana is not deployed", DIAG_WARN, 17, 3,
      "remove the section" },
    /* services.storage */
    { "    diskType: ssd\n", "diskType 'ssd' is not supported", DIAG_ERROR, 17, 5, "'nvme'" },
    { "    sectorSize: 1000\n", "sectorSize 1000 must be a power of two", DIAG_ERROR, 17, 5,
      "512 or 4096" },
    { "    sectorSize: 65536\n", "sectorSize 65536 must be a power of two between 512 and 32768",
      DIAG_ERROR, 17, 5, NULL },
    { "    sectorSize: 04096\n", "'services.storage.sectorSize' must be a whole number, not '04096'",
      DIAG_ERROR, 17, 17, "whole number such as" },
    { "    diskNumPerNode: 0\n", "diskNumPerNode 0 is out of range", DIAG_ERROR, 17, 5, "1 to 999" },
    { "    targetNumPerDisk: 100\n", "targetNumPerDisk 100 is out of range", DIAG_ERROR, 17, 5,
      "1 to 99" },
    { "    replicationFactor: 0\n", "replicationFactor 0 must be at least 1", DIAG_ERROR, 17, 5,
      "1 or more" },
    { "    replicationFactor: -2\n", "replicationFactor -2 must be at least 1", DIAG_ERROR, 17, 5,
      NULL },
    { "    replicationFactor: 3\n",
      "replicationFactor 3 needs at least 3 storage nodes, but services.storage has 2", DIAG_ERROR,
      17, 5, "add storage nodes or lower replicationFactor" },
    { "    replicationFactor: 1\n", "replicationFactor 1 keeps a single copy", DIAG_WARN, 17, 5,
      "2 or more" },
    { "    replicationFactor: \"2\"\n", "\"2\" is a quoted string", DIAG_ERROR, 17, 24,
      "remove the quotes" },
    { "    replicationFactor: [2]\n", "must be a whole number, not a list", DIAG_ERROR, 17, 24,
      "single value" },
    { "    replicationFactor: 2.5\n", "must be a whole number, not '2.5'", DIAG_ERROR, 17, 24, NULL },
    { "    replicatonFactor: 2\n", "unknown key 'replicatonFactor' in services.storage", DIAG_ERROR,
      17, 5, "did you mean 'replicationFactor'?" },
    { "    targetIDPrefix: 100\n", "targetIDPrefix 100 is out of range", DIAG_ERROR, 17, 5, "1 to 99" },
    { "    targetIDPrefix: 0\n", "targetIDPrefix 0 is out of range", DIAG_ERROR, 17, 5, NULL },
    { "    chainIDPrefix: 43\n", "chainIDPrefix 43 makes chain ids overflow 32 bits", DIAG_ERROR,
      17, 5, "1 to 42" },
    { "    chainIDPrefix: 0\n", "chainIDPrefix 0 makes chain ids overflow", DIAG_ERROR, 17, 5, NULL },
    { "    containerName: \"\"\n", "services.storage.containerName is empty", DIAG_ERROR, 15, 3,
      "remove containerName" },
    { "    tcpListenPort: 70000\n", "storage tcpListenPort 70000 is out of range", DIAG_ERROR, 17, 5,
      "1 to 65535" },
    { "    rdmaListenPort: 0\n", "storage rdmaListenPort 0 is out of range", DIAG_ERROR, 17, 5, NULL },
    { "    tcpListenPort: 9000\n",
      "port 9000 is used twice on node 'n1': mgmtd tcpListenPort and storage tcpListenPort",
      DIAG_ERROR, 17, 5, "another port" },
    { "    rdmaListenPort: 22\n", "port 22 is used twice on node 'n1': storage rdmaListenPort and SSH port",
      DIAG_ERROR, 2, 5, NULL },
    { "    nodes: [n1]\n", "key 'nodes' appears twice", DIAG_ERROR, 17, 5, "remove one" },
    { "    nodeGroups: g\n", "'services.storage.nodeGroups' must be a list, not a single value",
      DIAG_ERROR, 17, 17, "[node1, node2]" },
    { "    nodeGroups: {g: 1}\n", "'services.storage.nodeGroups' must be a list, not a mapping",
      DIAG_ERROR, 17, 17, NULL },
    { "    nodeGroups: [[g]]\n", "item of 'services.storage.nodeGroups' must be a single value, not a list",
      DIAG_ERROR, 17, 18, "plain name" },
    { "    nodeGroups: [~]\n", "item of 'services.storage.nodeGroups' must be a single value, not empty",
      DIAG_ERROR, 17, 18, NULL },
    { "    diskType: {a: 1}\n", "'services.storage.diskType' must be a single value, not a mapping",
      DIAG_ERROR, 17, 15, NULL },
    { "    waitChainsServingTimeout: 120\n", "needs a unit: '120'", DIAG_ERROR, 17, 31, "add a unit" },
    { "    waitChainsServingTimeout: 0\n",
      "services.storage.waitChainsServingTimeout must be greater than zero", DIAG_ERROR, 17, 5, NULL },
    { "    nodeGroups: [nogroup]\n",
      "services.storage.nodeGroups refers to nodeGroup 'nogroup', which is not defined", DIAG_ERROR,
      17, 18, "define it under 'nodeGroups'" },
    /* images, appended at the top level */
    { "images:\n  arch: x86\n", "images.arch 'x86' is not supported", DIAG_ERROR, 18, 3,
      "amd64 or arm64" },
    { "images:\n  registry: https://reg.local\n", "must not contain a scheme", DIAG_ERROR, 18, 3,
      "host[:port]" },
    { "images:\n  3fs:\n    tag: \"a b\"\n", "image 3fs has an empty or malformed repo or tag",
      DIAG_ERROR, 18, 3, "without spaces" },
    { "images:\n  fdb: {repo: \"\"}\n", "image fdb has an empty or malformed", DIAG_ERROR, 18, 3, NULL },
    { "images:\n  grafana: {repo: \"a:b\"}\n", "image grafana has an empty or malformed", DIAG_ERROR,
      18, 3, NULL },
    { "images:\n  3fs: {rep: x}\n", "unknown key 'rep' in images.3fs", DIAG_ERROR, 18, 9,
      "did you mean 'repo'?" },
};

static void test_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        const struct rule *r = &rules[i];
        struct m3fs_config *c = load_base(r->extra);
        if (r->sev == DIAG_ERROR) {
            if (c) fail_msg("rule %zu (%s): config loaded despite an error", i, r->msg);
        } else if (!c || dl.errors) {
            dump();
            fail_msg("rule %zu (%s): a warning must not stop loading", i, r->msg);
        }
        expect(r->msg, r->sev, r->line, r->col, r->hint);
        config_free(c);
    }
}

/* Values right at the limits are accepted. */
static void test_limits_accepted(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "name: abcdefghijklmnopqrstuvwxyz01234\n", /* 31 characters */
        "name: My_cluster-1.0\n",
        "    chainIDPrefix: 42\n",
        "    sectorSize: 512\n",
        "    sectorSize: 32768\n",
        "    diskNumPerNode: 999\n",
        "    targetNumPerDisk: 99\n",
        "    targetIDPrefix: 99\n",
        "    sectorSize: 0x1000\n",
        "networkType: rxe\n",
        "networkType: erdma\n",
        "logLevel: \"\"\n",
        "workDir: \"\"\n",
        "ui:\n  taskInfoColor: none\n",
        "images:\n  registry: \"reg.local:5000/mirror/\"\n",
        "    nodeGroups: []\n",
        "    nodeGroups:\n",
        "nodeGroups: []\n",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        struct m3fs_config *c = load_base(ok[i]);
        if (!c || dl.errors || dl.warnings) {
            dump();
            fail_msg("rejected: %s", ok[i]);
        }
        config_free(c);
    }
    struct m3fs_config *c = load_base("name: abcdefghijklmnopqrstuvwxyz01234\n");
    assert_int_equal(strlen(c->name), 31);
    config_free(c);
    c = load_base("logLevel: \"\"\nworkDir: \"\"\n    sectorSize: 0x1000\n");
    assert_null(c); /* the storage key after top-level keys is not in storage */
    c = load_base("    sectorSize: 0x1000\nlogLevel: \"\"\nworkDir: \"\"\n");
    expect_clean(c);
    assert_string_equal(c->log_level, "INFO");
    assert_string_equal(c->work_dir, "/opt/3fs");
    assert_int_equal(c->storage.sector_size, 4096);
    config_free(c);
}

static void test_durations(void **state)
{
    (void)state;
    struct m3fs_config *c = load_base("checkstatustimeout: 1h30m\ncheckstatusinterval: 300ms\n"
                                      "cmdmaxexittimeout: \"1.5s\"\n");
    expect_clean(c);
    assert_int_equal(c->check_status_timeout_ms, 5400000);
    assert_int_equal(c->check_status_interval_ms, 300);
    assert_int_equal(c->cmd_max_exit_timeout_ms, 1500);
    config_free(c);
    assert_null(load_base("checkstatustimeout: 120\n"));
    expect("'checkstatustimeout' is a duration and needs a unit: '120'", DIAG_ERROR, 17, 21,
           "\"30s\"");
}

static void test_yaml_syntax_error(void **state)
{
    (void)state;
    assert_null(load("nodes:\n  - name: a\n   host: b\n"));
    assert_int_equal(dl.errors, 1);
    expect("YAML syntax error: did not find expected '-' indicator", DIAG_ERROR, 3, 4,
           "check indentation");
    assert_null(load("name: x\nnodes:\n\t- name: a\n"));
    expect("YAML syntax error: found character that cannot start any token", DIAG_ERROR, 3, 1, NULL);
    assert_null(load("name: \"unterminated\n"));
    expect("YAML syntax error", DIAG_ERROR, 2, 1, NULL);
    assert_true(strstr(dl.v[0].msg, "quoted scalar, line 1") != NULL);
}

static void test_empty_file(void **state)
{
    (void)state;
    static const char *const empties[] = { "", "# only a comment\n", "---\n", "~\n", "\n\n" };
    for (size_t i = 0; i < ARRAY_SIZE(empties); i++) {
        assert_null(load(empties[i]));
        expect("the file is empty", DIAG_ERROR, 0, 0, "m3fs config create");
    }
    assert_null(load("- a\n- b\n"));
    expect("'the file' must be a mapping, not a list", DIAG_ERROR, 1, 1, NULL);
    assert_null(load("just a string\n"));
    expect("must be a mapping, not a single value", DIAG_ERROR, 1, 1, NULL);
}

/* One file with many mistakes: every one of them is reported. */
static void test_all_errors_reported(void **state)
{
    (void)state;
    static const char yaml[] =
        "name: \"\"\n"                  /* 1 name is required */
        "nodes:\n"                      /* 2 */
        "  - name: n1\n"                /* 3 */
        "    host: 10.0.0.1\n"          /* 4 */
        "    username: root\n"          /* 5 */
        "  - name: n1\n"                /* 6 name used twice */
        "    host: 10.0.0.1\n"          /* 7 host used twice */
        "    username: root\n"          /* 8 */
        "  - host: 10.0.0.3\n"          /* 9 no name */
        "    username: root\n"          /* 10 */
        "    port: 70000\n"             /* 11 SSH port out of range */
        "  - name: n4\n"                /* 12 no host, no username, two passwords */
        "    password: a\n"             /* 13 */
        "    passwordEnv: B\n"          /* 14 */
        "    colour: red\n"             /* 15 unknown key */
        "services:\n"                   /* 16 */
        "  fdb: {nodes: [n1]}\n"        /* 17 */
        "  clickhouse: {nodes: [n1]}\n" /* 18 */
        "  monitor: {nodes: [n1]}\n"    /* 19 */
        "  mgmtd: {nodes: [N1]}\n"      /* 20 unknown node, did you mean */
        "  meta: {nodes: [n1]}\n"       /* 21 */
        "  storage:\n"                  /* 22 */
        "    nodes: [n1, n1]\n"         /* 23 listed twice */
        "    diskNumPerNode: \"1\"\n"   /* 24 quoted number */
        "  client:\n"                   /* 25 */
        "    hostMountpoint: mnt\n";    /* 26 relative; client has no nodes: warning */
    assert_null(load(yaml));
    expect("name is required", DIAG_ERROR, 1, 1, NULL);
    expect("node name 'n1' is used twice", DIAG_ERROR, 6, 5, "its own name");
    expect("host '10.0.0.1' of node 'n1' is also the host of node 'n1'", DIAG_ERROR, 7, 5,
           "its own address");
    expect("node #3 has no name", DIAG_ERROR, 9, 5, "add 'name: node1'");
    expect("SSH port 70000 of node '?' is out of range", DIAG_ERROR, 11, 5, "usually 22");
    expect("node 'n4' has no host", DIAG_ERROR, 12, 5, "add 'host:");
    expect("node 'n4' has no username", DIAG_ERROR, 12, 5, "add 'username: root'");
    expect("node 'n4' sets more than one of password, passwordFile and passwordEnv", DIAG_ERROR,
           12, 5, "keep only one");
    expect("unknown key 'colour' in nodes.3", DIAG_ERROR, 15, 5, "known keys here: name host");
    expect("services.mgmtd.nodes refers to node 'N1', which is not defined", DIAG_ERROR, 20, 19,
           "did you mean 'n1'?");
    expect("node 'n1' is listed twice in services.storage", DIAG_ERROR, 23, 17, "list each node once");
    expect("'services.storage.diskNumPerNode' must be a number", DIAG_ERROR, 24, 21, NULL);
    expect("services.client.hostMountpoint 'mnt' must be an absolute path", DIAG_ERROR, 26, 5,
           "/mnt/3fs");
    /* n1 listed twice counts once */
    expect("replicationFactor 2 needs at least 2 storage nodes, but services.storage has 1",
           DIAG_ERROR, 22, 3, NULL);
    expect("no client nodes", DIAG_WARN, 25, 3, "add client nodes");
    assert_int_equal(dl.errors, 14);
    assert_int_equal(dl.warnings, 1);
}

static void test_missing_sections(void **state)
{
    (void)state;
    assert_null(load("name: x\n"));
    expect("no nodes: the config needs 'nodes' or 'nodeGroups'", DIAG_ERROR, 0, 0, "'nodes:' list");
    static const char *const required[] = { "fdb", "clickhouse", "monitor", "mgmtd", "meta", "storage" };
    for (size_t i = 0; i < ARRAY_SIZE(required); i++) {
        char *m = xstrfmt("services.%s needs at least one node", required[i]);
        expect(m, DIAG_ERROR, 0, 0, "add 'nodes: [<node name>]'");
        free(m);
    }
    assert_int_equal(dl.errors, 7);
    /* a written but empty service points at its key */
    assert_null(load(HEAD "  fdb: {nodes: []}\n"));
    expect("services.fdb needs at least one node", DIAG_ERROR, 9, 3, NULL);
}

static void test_more_than_one_clickhouse_monitor(void **state)
{
    (void)state;
    struct m3fs_config *c = load(HEAD
                                 "  fdb: {nodes: [n1]}\n"
                                 "  clickhouse: {nodes: [n2, n1]}\n"
                                 "  monitor: {nodes: [n1, n2]}\n"
                                 "  mgmtd: {nodes: [n1]}\n"
                                 "  meta: {nodes: [n1]}\n"
                                 "  storage: {nodes: [n1, n2]}\n");
    assert_non_null(c);
    expect("only the first clickhouse node (n2) runs ClickHouse", DIAG_WARN, 10, 3, "list one node");
    expect("only the first monitor node (n1) runs the monitor collector", DIAG_WARN, 11, 3, NULL);
    expect("no client nodes: 3FS will be deployed but mounted nowhere", DIAG_WARN, 8, 1, NULL);
    assert_int_equal(dl.warnings, 3);
    config_free(c);
}

static void test_mgmtd_rules(void **state)
{
    (void)state;
    static const char *const tmpl = HEAD
        "  fdb: {nodes: [n1]}\n"
        "  clickhouse: {nodes: [n1]}\n"
        "  monitor: {nodes: [n1]}\n"
        "  meta: {nodes: [n1]}\n"
        "  storage: {nodes: [n1, n2]}\n"
        "  client: {nodes: [n1]}\n"
        "  mgmtd:\n"
        "    nodes: [n1]\n"
        "    %s\n";
    struct {
        const char *line, *msg, *hint;
        enum diag_sev sev;
    } cases[] = {
        { "chunkSize: 1000000", "chunkSize 1000000 is not a power of two", "1048576", DIAG_ERROR },
        { "chunkSize: 0", "chunkSize 0 is not a power of two", NULL, DIAG_ERROR },
        { "stripeSize: 0", "stripeSize 0 must be at least 1", "default 16", DIAG_ERROR },
        { "stripSize: 16", "'stripSize' is not a key", "rename it to 'stripeSize'", DIAG_WARN },
        { "waitTargetOnlineTimeout: 0s", "waitTargetOnlineTimeout must be greater than zero", NULL,
          DIAG_ERROR },
        { "tcpListenPort: 8000", "port 8000 is used twice on node 'n1': mgmtd rdmaListenPort and mgmtd tcpListenPort",
          NULL, DIAG_ERROR },
        { "rdmaListenPort: 9002", "mgmtd rdmaListenPort and storage tcpListenPort", NULL, DIAG_ERROR },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *y = xstrfmt(tmpl, cases[i].line);
        struct m3fs_config *c = load(y);
        free(y);
        assert_true(cases[i].sev == DIAG_ERROR ? c == NULL : c != NULL);
        /* the key of the line, or for collisions the key reported (the later one) */
        int col = 5;
        if (strstr(cases[i].line, "rdmaListenPort: 9002")) {
            expect(cases[i].msg, cases[i].sev, 13, 3, cases[i].hint); /* storage: {nodes: ...} */
        } else {
            expect(cases[i].msg, cases[i].sev, 17, col, cases[i].hint);
        }
        if (cases[i].sev == DIAG_WARN) assert_int_equal(c->mgmtd.stripe_size, 16);
        config_free(c);
    }
}

/* HEAD, fdb and clickhouse with these settings (lines 9 and 10), then
 * monitor, mgmtd and meta on n1, storage on n1 and n2, client on n1. */
static struct m3fs_config *load_fdb_ch(const char *fdb, const char *ch)
{
    char *y = xstrfmt(HEAD
                      "  fdb: {%s}\n"
                      "  clickhouse: {%s}\n"
                      "  monitor: {nodes: [n1]}\n"
                      "  mgmtd: {nodes: [n1]}\n"
                      "  meta: {nodes: [n1]}\n"
                      "  storage: {nodes: [n1, n2]}\n"
                      "  client: {nodes: [n1]}\n",
                      fdb, ch);
    struct m3fs_config *c = load(y);
    free(y);
    return c;
}

/* clickhouse tcpPort 9000 and mgmtd tcpListenPort 9000 collide on one node only. */
static void test_port_collision_clickhouse(void **state)
{
    (void)state;
    assert_null(load_fdb_ch("nodes: [n1]", "nodes: [n1], tcpPort: 9000"));
    expect("port 9000 is used twice on node 'n1': clickhouse tcpPort and mgmtd tcpListenPort",
           DIAG_ERROR, 12, 3, "another port"); /* the later use: services.mgmtd */
    assert_int_equal(dl.errors, 1);
    struct m3fs_config *c = load_fdb_ch("nodes: [n1]", "nodes: [n2], tcpPort: 9000");
    expect_clean(c);
    assert_int_equal(c->ch.tcp_port, 9000);
    config_free(c);
    /* the image's fixed ports are checked too (8123 is ClickHouse's HTTP port) */
    assert_null(load_fdb_ch("nodes: [n1], port: 8123", "nodes: [n1]"));
    expect("port 8123 is used twice on node 'n1': fdb port and clickhouse HTTP port", DIAG_ERROR,
           10, 3, NULL);
}

/* ---- nodeGroups ---- */

static struct m3fs_config *load_groups(const char *groups, const char *storage_groups)
{
    char *y = xstrfmt("nodes:\n"
                      "  - {name: n1, host: 10.0.0.1, username: root}\n"
                      "nodeGroups:\n"
                      "%s" SVCS_GROUPS_FMT,
                      groups, storage_groups);
    struct m3fs_config *c = load(y);
    free(y);
    return c;
}

static void test_group_ipv4_numeric_order(void **state)
{
    (void)state;
    struct m3fs_config *c = load_groups("  - {name: g, username: root, ipBegin: 10.0.0.9, ipEnd: 10.0.0.10}\n", "g");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 3);
    assert_string_equal(c->nodes[1].name, "g-node(10.0.0.9)");
    assert_string_equal(c->nodes[2].name, "g-node(10.0.0.10)");
    assert_string_equal(c->nodes[2].host, "10.0.0.10");
    assert_int_equal(c->nodes[2].port, 22);
    assert_string_equal(c->nodes[2].username, "root");
    assert_int_equal(c->svc[SVC_STORAGE].n_member, 3);
    config_free(c);
    /* carrying into the next octet */
    c = load_groups("  - {name: g, username: root, ipBegin: 10.0.0.254, ipEnd: 10.0.1.1}\n", "g");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 5);
    assert_string_equal(c->nodes[1].host, "10.0.0.254");
    assert_string_equal(c->nodes[2].host, "10.0.0.255");
    assert_string_equal(c->nodes[3].host, "10.0.1.0");
    assert_string_equal(c->nodes[4].host, "10.0.1.1");
    config_free(c);
    /* a range of one */
    c = load_groups("  - {name: g, username: root, ipBegin: 10.0.0.5, ipEnd: 10.0.0.5}\n", "g");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 2);
    config_free(c);
}

/* An IPv6 range expands (for nodes that run no service), but 3FS addresses
 * are IPv4 only: a range a service uses is refused, once. */
static void test_group_ipv6(void **state)
{
    (void)state;
    struct m3fs_config *c = load_base("nodeGroups:\n"
                                      "  - {name: g, username: root, ipBegin: \"fd00::1\", ipEnd: \"fd00::3\"}\n");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 5);
    assert_string_equal(c->nodes[2].name, "g-node(fd00::1)");
    assert_string_equal(c->nodes[3].name, "g-node(fd00::2)");
    assert_string_equal(c->nodes[4].name, "g-node(fd00::3)");
    assert_string_equal(c->nodes[4].host, "fd00::3");
    assert_null(c->nodes[4].addr);
    config_free(c);
    /* the low 64 bits count: crossing into the next /64 */
    c = load_base("nodeGroups:\n"
                  "  - {name: g, username: root, ipBegin: \"fd00::ffff:ffff:ffff:fffe\", "
                  "ipEnd: \"fd00:0:0:1::1\"}\n");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 6);
    assert_string_equal(c->nodes[3].host, "fd00::ffff:ffff:ffff:ffff");
    assert_string_equal(c->nodes[4].host, "fd00:0:0:1::");
    assert_string_equal(c->nodes[5].host, "fd00:0:0:1::1");
    config_free(c);
    assert_null(load_groups("  - {name: g, username: root, ipBegin: \"fd00::1\", ipEnd: \"fd00::3\"}\n", "g"));
    expect("nodeGroup 'g' is an IPv6 range, but its nodes run storage: 3FS addresses are IPv4 only",
           DIAG_ERROR, 4, 31, "use an IPv4 range");
    assert_int_equal(dl.errors, 1);
}

static void test_group_errors(void **state)
{
    (void)state;
    /* the group entry is at line 4 col 5; its ipBegin key at line 4 col 31 */
    struct {
        const char *group, *msg, *hint;
        int line, col;
    } cases[] = {
        { "  - {name: g, username: root, ipBegin: 10.0.0.1, ipEnd: \"fd00::1\"}\n",
          "nodeGroup 'g': ipBegin and ipEnd are of different address families", "two IPv4 or two IPv6",
          4, 31 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.5, ipEnd: 10.0.0.4}\n",
          "nodeGroup 'g': ipBegin 10.0.0.5 is after ipEnd", "swap ipBegin and ipEnd", 4, 31 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.10, ipEnd: 10.0.0.9}\n",
          "nodeGroup 'g': ipBegin 10.0.0.10 is after ipEnd", NULL, 4, 31 },
        { "  - {name: g, username: root, ipBegin: 10.0.0, ipEnd: 10.0.0.9}\n",
          "nodeGroup 'g': '10.0.0' is not an IP address", "IPv4 (10.0.0.1) or IPv6", 4, 31 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.2, ipEnd: node9}\n",
          "nodeGroup 'g': 'node9' is not an IP address", NULL, 4, 31 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.2}\n", "nodeGroup 'g' needs ipBegin and ipEnd",
          "set both", 4, 5 },
        { "  - {name: g, username: root, ipBegin: 10.1.0.0, ipEnd: 10.1.255.255}\n",
          "nodeGroup 'g' expands to too many nodes", "split the range", 4, 5 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.0, ipEnd: 10.0.0.3}\n",
          "address 10.0.0.1 of nodeGroup 'g' is already used by node 'n1'", "one node or nodeGroup only",
          4, 5 },
        { "  - {name: g, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n", "nodeGroup 'g' has no username",
          "username: root", 4, 5 },
        { "  - {username: root, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n", "nodeGroup has no name",
          "add 'name: <group name>'", 4, 5 },
        { "  - {name: g, username: root, port: 0, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n",
          "SSH port 0 of nodeGroup 'g' is out of range", "usually 22", 4, 5 },
        { "  - {name: g, username: root, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n"
          "  - {name: g, username: root, ipBegin: 10.0.2.0, ipEnd: 10.0.2.3}\n",
          "nodeGroup name 'g' is used twice", "its own name", 5, 5 },
        { "  - {name: g, username: root, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n"
          "  - {name: h, username: root, ipBegin: 10.0.1.3, ipEnd: 10.0.1.9}\n",
          "address 10.0.1.3 of nodeGroup 'h' is already used by nodeGroup 'g'", NULL, 5, 5 },
        { "  - {name: g, username: root, ipBegin: \"fd00::1\", ipEnd: \"fd00::3\"}\n"
          "  - {name: h, username: root, ipBegin: \"fd00:0::3\", ipEnd: \"fd00::9\"}\n",
          "address fd00::3 of nodeGroup 'h' is already used by nodeGroup 'g'", NULL, 5, 5 },
        { "  - {name: g, username: root, ipBegin: 10.0.0.2, ipEnd: 10.0.0.3, pasword: x}\n",
          "unknown key 'pasword' in nodeGroups.0", "did you mean 'password'?", 4, 67 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *sg = strstr(cases[i].msg, "has no name") ? "" : "g";
        assert_null(load_groups(cases[i].group, sg));
        expect(cases[i].msg, DIAG_ERROR, cases[i].line, cases[i].col, cases[i].hint);
    }
    /* an explicit host written differently is still the same address */
    assert_null(load("nodes:\n"
                     "  - {name: n1, host: \"fd00:0:0::2\", username: root}\n"
                     "nodeGroups:\n"
                     "  - {name: g, username: root, ipBegin: \"fd00::1\", ipEnd: \"fd00::3\"}\n"));
    expect("address fd00::2 of nodeGroup 'g' is already used by node 'n1'", DIAG_ERROR, 4, 5, NULL);
    /* a group named in a service but not defined, with a near name */
    assert_null(load_groups("  - {name: rack1, username: root, ipBegin: 10.0.1.0, ipEnd: 10.0.1.3}\n", "Rack1"));
    expect("refers to nodeGroup 'Rack1', which is not defined", DIAG_ERROR, 12, 39,
           "did you mean 'rack1'?");
    /* a group listed twice in one service */
    assert_null(load_groups("  - {name: g, username: root, ipBegin: 10.0.1.0, ipEnd: 10.0.1.1}\n", "g, g"));
    expect("node 'g-node(10.0.1.0)' is listed twice in services.storage", DIAG_ERROR, 12, 42, NULL);
}

/* Explicit nodes first, then groups in file order; services get the group's nodes. */
static void test_group_order_and_ids(void **state)
{
    (void)state;
    struct m3fs_config *c = load_groups("  - {name: zz, username: root, ipBegin: 10.0.0.20, ipEnd: 10.0.0.21}\n"
                                        "  - {name: aa, username: root, ipBegin: 10.0.0.10, ipEnd: 10.0.0.11}\n",
                                        "aa, zz");
    expect_clean(c);
    assert_int_equal(c->n_nodes, 5);
    assert_int_equal(c->n_explicit_nodes, 1);
    assert_string_equal(c->nodes[0].name, "n1");
    assert_string_equal(c->nodes[1].name, "zz-node(10.0.0.20)");
    assert_string_equal(c->nodes[2].name, "zz-node(10.0.0.21)");
    assert_string_equal(c->nodes[3].name, "aa-node(10.0.0.10)");
    assert_string_equal(c->nodes[4].name, "aa-node(10.0.0.11)");
    assert_string_equal(c->nodes[4].group, "aa");
    const struct m3fs_service *s = &c->svc[SVC_STORAGE];
    assert_int_equal(s->n_member, 5);
    /* service order: its nodes, then its groups as listed */
    assert_int_equal(s->member[0], 0);
    assert_int_equal(s->member[1], 3);
    assert_int_equal(s->member[2], 4);
    assert_int_equal(s->member[3], 1);
    assert_int_equal(s->member[4], 2);
    assert_int_equal(config_node_id(c, 0, SVC_STORAGE), 10001);
    assert_int_equal(config_node_id(c, 3, SVC_STORAGE), 10002);
    assert_int_equal(config_node_id(c, 2, SVC_STORAGE), 10005);
    assert_true(config_node_has(c, 1, SVC_STORAGE));
    assert_false(config_node_has(c, 1, SVC_META));
    assert_int_equal(config_node_id(c, 1, SVC_META), 0);
    assert_int_equal(config_node_images(c, 1), 1u << IMG_3FS);
    assert_int_equal(config_node_images(c, 0),
                     (1u << IMG_3FS) | (1u << IMG_FDB) | (1u << IMG_CLICKHOUSE));
    config_free(c);
}

static void test_node_ids(void **state)
{
    (void)state;
    struct m3fs_config *c = load(HEAD
                                 "  fdb: {nodes: [n1, n2]}\n"
                                 "  clickhouse: {nodes: [n1]}\n"
                                 "  monitor: {nodes: [n1]}\n"
                                 "  mgmtd: {nodes: [n2, n1]}\n"
                                 "  meta: {nodes: [n1, n2]}\n"
                                 "  storage: {nodes: [n2, n1]}\n"
                                 "  client: {nodes: [n1, n2]}\n"
                                 "  grafana: {nodes: []}\n");
    expect_clean(c);
    assert_int_equal(config_node_id(c, 1, SVC_MGMTD), 1);
    assert_int_equal(config_node_id(c, 0, SVC_MGMTD), 2);
    assert_int_equal(config_node_id(c, 0, SVC_META), 100);
    assert_int_equal(config_node_id(c, 1, SVC_META), 101);
    assert_int_equal(config_node_id(c, 1, SVC_STORAGE), 10001);
    assert_int_equal(config_node_id(c, 0, SVC_STORAGE), 10002);
    assert_int_equal(config_node_id(c, 0, SVC_FDB), 0);
    assert_int_equal(config_node_id(c, 0, SVC_CLIENT), 0);
    assert_int_equal(config_node_images(c, 1), (1u << IMG_3FS) | (1u << IMG_FDB));
    config_free(c);
}

/* ---- password sources ---- */

static char *write_temp(const char *content, mode_t mode)
{
    char *path = xstrdup("/tmp/m3fs-test-pw-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static struct m3fs_config *load_pw(const char *node_extra, const char *group_extra)
{
    char *y = xstrfmt("nodes:\n"
                      "  - name: n1\n"
                      "    host: 10.0.0.1\n"
                      "    username: root\n"
                      "%s"
                      "nodeGroups:\n"
                      "  - name: g\n"
                      "    username: root\n"
                      "    ipBegin: 10.0.1.1\n"
                      "    ipEnd: 10.0.1.2\n"
                      "%s" SVCS_GROUPS_FMT,
                      node_extra, group_extra, "g");
    struct m3fs_config *c = load(y);
    free(y);
    return c;
}

static void test_password_file(void **state)
{
    (void)state;
    char *f = write_temp("s3cret-file\n", 0600);
    char *extra = xstrfmt("    passwordFile: %s\n", f);
    struct m3fs_config *c = load_pw(extra, "");
    expect_clean(c);
    assert_string_equal(c->nodes[0].password, "s3cret-file");
    assert_string_equal(c->nodes[0].password_file, f);
    assert_null(c->nodes[1].password);
    expect_masked("echo s3cret-file", "echo ******");
    config_free(c);

    /* readable by others: loads, with a warning at the node */
    assert_int_equal(chmod(f, 0644), 0);
    c = load_pw(extra, "");
    assert_non_null(c);
    assert_int_equal(dl.errors, 0);
    expect("can be read by other users", DIAG_WARN, 2, 5, "chmod 600");
    assert_string_equal(c->nodes[0].password, "s3cret-file");
    config_free(c);

    /* the group's file gives every node of the group its password */
    free(extra);
    assert_int_equal(chmod(f, 0600), 0);
    extra = xstrfmt("    passwordFile: %s\n", f);
    c = load_pw("", extra);
    expect_clean(c);
    assert_null(c->nodes[0].password);
    assert_string_equal(c->nodes[1].password, "s3cret-file");
    assert_string_equal(c->nodes[2].password, "s3cret-file");
    config_free(c);

    /* missing file */
    unlink(f);
    assert_null(load_pw(extra, ""));
    expect("cannot read passwordFile", DIAG_ERROR, 2, 5, "mode 0600");
    assert_null(load_pw("", extra));
    expect("cannot read passwordFile", DIAG_ERROR, 6, 5, NULL);
    free(extra);
    /* never read a device, a FIFO or a directory (would hang or exhaust memory) */
    static const char *const odd[] = { "/dev/zero", "/dev/stdin", "/tmp" };
    for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
        extra = xstrfmt("    passwordFile: %s\n", odd[i]);
        assert_null(load_pw(extra, ""));
        expect("must be a regular file of at most 4 KiB", DIAG_ERROR, 2, 5, NULL);
        free(extra);
    }
    free(f);
}

static void test_password_env(void **state)
{
    (void)state;
    setenv("M3FS_TEST_NODE_PW", "env-s3cret", 1);
    unsetenv("M3FS_TEST_UNSET_PW");
    struct m3fs_config *c = load_pw("    passwordEnv: M3FS_TEST_NODE_PW\n",
                                    "    passwordEnv: M3FS_TEST_NODE_PW\n");
    expect_clean(c);
    assert_string_equal(c->nodes[0].password, "env-s3cret");
    assert_string_equal(c->nodes[0].password_env, "M3FS_TEST_NODE_PW");
    assert_string_equal(c->nodes[1].password, "env-s3cret");
    assert_string_equal(c->nodes[2].password, "env-s3cret");
    config_free(c);
    assert_null(load_pw("    passwordEnv: M3FS_TEST_UNSET_PW\n", ""));
    expect("environment variable 'M3FS_TEST_UNSET_PW' (passwordEnv) is not set", DIAG_ERROR, 2, 5,
           "export the variable");
    assert_null(load_pw("", "    passwordEnv: M3FS_TEST_UNSET_PW\n"));
    expect("environment variable 'M3FS_TEST_UNSET_PW' (passwordEnv) is not set", DIAG_ERROR, 6, 5,
           NULL);
    assert_null(load_pw("", "    password: x\n    passwordEnv: M3FS_TEST_NODE_PW\n"));
    expect("nodeGroup 'g' sets more than one of password", DIAG_ERROR, 6, 5, NULL);
    /* an empty password is no password */
    setenv("M3FS_TEST_NODE_PW", "", 1);
    c = load_pw("    passwordEnv: M3FS_TEST_NODE_PW\n", "");
    expect_clean(c);
    assert_null(c->nodes[0].password);
    config_free(c);
    unsetenv("M3FS_TEST_NODE_PW");
}

/* A secret shorter than LOG_SECRET_MIN cannot be masked without garbling
 * every message that happens to contain it (and revealing it by the
 * pattern), so it is refused where it is written. */
static void test_password_too_short(void **state)
{
    (void)state;
    assert_null(load_pw("    password: \"3\"\n", ""));
    expect("the password of node 'n1' has 1 character", DIAG_ERROR, 5, 5, "at least 8");
    setenv("M3FS_TEST_NODE_PW", "abc", 1);
    assert_null(load_pw("", "    passwordEnv: M3FS_TEST_NODE_PW\n"));
    expect("the password of nodeGroup 'g' has 3 characters", DIAG_ERROR, 10, 5, NULL);
    unsetenv("M3FS_TEST_NODE_PW");
    struct m3fs_config *c = load_pw("    password: 12345678\n", "");
    expect_clean(c);
    config_free(c);
    char *y = xstrfmt("nodes:\n  - {name: n1, host: 10.0.0.1, username: root}\n"
                      "services:\n  clickhouse: {nodes: [n1], password: chp}\n"
                      "  fdb: {nodes: [n1]}\n  monitor: {nodes: [n1]}\n  mgmtd: {nodes: [n1]}\n"
                      "  meta: {nodes: [n1]}\n  storage: {nodes: [n1]}\n  client: {nodes: [n1]}\n");
    assert_null(load(y));
    free(y);
    expect("services.clickhouse.password has 3 characters", DIAG_ERROR, 4, 29, "at least 8");
}

/* F4 of issue 20: values that reach unit files, TOML, fstab, docker and
 * paths removed on the nodes are held to plain character sets. */
static void test_hostile_values(void **state)
{
    (void)state;
    struct {
        const char *from, *to, *msg, *hint;
        int line, col;
    } bad[] = {
        /* a line break would add an ExecStartPre= to the boot unit */
        { "nodes:\n", "workDir: \"/opt/3fs\\nExecStartPre=/bin/sh -c x\"\nnodes:\n",
          "workDir has a line break", "no spaces, quotes or line breaks", 1, 1 },
        { "nodes:\n", "workDir: /opt/3fs/../../etc\nnodes:\n",
          "workDir '/opt/3fs/../../etc' has a '..' segment", "without '.' or '..'", 1, 1 },
        /* m3fs deletes under workDir (F3) */
        { "nodes:\n", "workDir: //var//lib/\nnodes:\n",
          "workDir '//var//lib/' is a system directory", "a directory of its own", 1, 1 },
        { "nodes:\n", "serviceBasePath: \"/etc/systemd/system\\t\"\nnodes:\n",
          "serviceBasePath has a control char", NULL, 1, 1 },
        /* a node name reaches paths that are removed */
        { "name: n2", "name: ../../../dev", "the name of node #2 has '/'", "letters, digits", 5,
          5 },
        { "name: n2", "name: ..", "the name of node #2 '..' starts with '.'", "letter or digit",
          5, 5 },
        { "name: n2", "name: \"n 2\"", "the name of node #2 has a space", NULL, 5, 5 },
        { "host: 10.0.0.2", "host: \"10.0.0.2;reboot\"", "host of node 'n2' has ';'",
          "IP address or a host name", 6, 5 },
        { "host: 10.0.0.2", "host: -oProxyCommand=x", "host of node 'n2' has '='", NULL, 6, 5 },
        { "username: root\n  - name: n2", "username: \"root$(id)\"\n  - name: n2",
          "username of node 'n1' has '('", "login name", 4, 5 },
        { "  client: {nodes: [n1]}\n",
          "  client: {nodes: [n1], hostMountpoint: \"/mnt/3 fs\"}\n",
          "services.client.hostMountpoint has a space", "/etc/fstab", 14, 25 },
        { "  meta: {nodes: [n1]}\n", "  meta: {nodes: [n1], containerName: \"m;x\"}\n",
          "services.meta.containerName has ';'", NULL, 13, 23 },
        { "nodes:\n", "images: {3fs: {tag: \"2025\\\"x\"}}\nnodes:\n",
          "images.3fs.tag has '\"'", "a tag the same without '/'", 1, 16 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct strbuf y = STRBUF_INIT;
        sb_adds(&y, BASE);
        assert_true(strstr(y.buf, bad[i].from) != NULL);
        char *at = strstr(y.buf, bad[i].from);
        struct strbuf z = STRBUF_INIT;
        sb_add(&z, y.buf, (size_t)(at - y.buf));
        sb_adds(&z, bad[i].to);
        sb_adds(&z, at + strlen(bad[i].from));
        assert_null(load(z.buf));
        expect(bad[i].msg, DIAG_ERROR, bad[i].line, bad[i].col, bad[i].hint);
        sb_release(&y);
        sb_release(&z);
    }
    /* ordinary values pass */
    struct m3fs_config *c = load_base("workDir: /data/3fs-work_1\n");
    expect_clean(c);
    config_free(c);
}

/* ---- overrides and queries ---- */

static void test_overrides(void **state)
{
    (void)state;
    struct config_overrides ov = { "/srv/3fs", "reg.local:5000" };
    struct m3fs_config *c = load_ov(BASE "workDir: /opt/other\nimages:\n  registry: old.reg\n", &ov);
    expect_clean(c);
    assert_string_equal(c->work_dir, "/srv/3fs");
    assert_string_equal(c->images.registry, "reg.local:5000");
    char *ref = config_image_ref(c, IMG_3FS);
    assert_string_equal(ref, "reg.local:5000/open3fs/3fs:20250410");
    free(ref);
    config_free(c);
    /* overrides are validated like the file's values */
    struct config_overrides bad = { "relative/dir", "http://reg" };
    assert_null(load_ov(BASE, &bad));
    expect("workDir 'relative/dir' must be an absolute path", DIAG_ERROR, 0, 0, NULL);
    expect("images.registry 'http://reg' must not contain a scheme", DIAG_ERROR, 0, 0, NULL);
    /* NULL members leave the file's values */
    struct config_overrides none = { NULL, NULL };
    c = load_ov(BASE "workDir: /opt/other\n", &none);
    expect_clean(c);
    assert_string_equal(c->work_dir, "/opt/other");
    config_free(c);
}

static void test_image_ref_and_artifact(void **state)
{
    (void)state;
    static const struct {
        const char *registry, *ref3fs, *reffdb;
    } cases[] = {
        { "", "open3fs/3fs:20250410", "open3fs/foundationdb:7.3.63" },
        { "host:5000", "host:5000/open3fs/3fs:20250410", "host:5000/open3fs/foundationdb:7.3.63" },
        { "host:5000/", "host:5000/open3fs/3fs:20250410", "host:5000/open3fs/foundationdb:7.3.63" },
        { "reg.io/mirror//", "reg.io/mirror/open3fs/3fs:20250410", "reg.io/mirror/open3fs/foundationdb:7.3.63" },
        { "[fd00::1]:5000", "[fd00::1]:5000/open3fs/3fs:20250410", "[fd00::1]:5000/open3fs/foundationdb:7.3.63" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct config_overrides ov = { NULL, cases[i].registry };
        struct m3fs_config *c = load_ov(BASE, &ov);
        expect_clean(c);
        char *r = config_image_ref(c, IMG_3FS), *f = config_image_ref(c, IMG_FDB);
        assert_string_equal(r, cases[i].ref3fs);
        assert_string_equal(f, cases[i].reffdb);
        free(r);
        free(f);
        config_free(c);
    }
    struct m3fs_config *c = load_base("images:\n  arch: arm64\n  clickhouse: {tag: \"22.9\"}\n");
    expect_clean(c);
    static const char *const files[IMG_COUNT] = {
        "3fs_20250410_arm64.docker", "foundationdb_7.3.63_arm64.docker",
        "clickhouse_22.9_arm64.docker", "grafana_12.0.0_arm64.docker",
        "postgresql_17.5.0_arm64.docker",
    };
    for (int k = 0; k < IMG_COUNT; k++) {
        char *f = config_artifact_file(c, (enum img_kind)k);
        assert_string_equal(f, files[k]);
        free(f);
    }
    assert_string_equal(img_key(IMG_3FS), "3fs");
    assert_string_equal(img_artifact_name(IMG_FDB), "foundationdb");
    assert_string_equal(svc_key(SVC_POSTGRESQL), "postgresql");
    config_free(c);
}

/* ---- files: the sample and a Go-m3fs-style config ---- */

/* nodes[].nvmeDisks: one device path per data index of a storage node
 * with diskType nvme; each rule names the key (or the entry) it is about. */
static void test_nvme_disks(void **state)
{
    (void)state;
    static const char *const tmpl =
        "nodes:\n"
        "  - {name: n1, host: 10.0.0.1, username: root, nvmeDisks: %s}\n"
        "  - {name: n2, host: 10.0.0.2, username: root%s}\n"
        "services:\n" TU_SVCS_N1
        "  client: {nodes: [n1]}\n"
        "  storage: {nodes: [n1], diskNumPerNode: 2, replicationFactor: 1%s}\n";
    struct {
        const char *n1, *n2, *storage, *msg, *hint;
        int line, col;
    } cases[] = {
        { "[/dev/nvme0n1]", "", "", "node 'n1' lists 1 nvmeDisks, but diskNumPerNode is 2",
          "one disk per data index", 2, 48 },
        { "[/dev/nvme0n1, nvme1n1]", "", "", "'nvme1n1' is not a device path", "/dev/nvme0n1", 2,
          74 },
        { "[/dev/nvme0n1, '/dev/x;y']", "", "", "'/dev/x;y' is not a device path", NULL, 2, 74 },
        { "[/dev/nvme0n1, /dev/nvme0n1]", "", "", "disk /dev/nvme0n1 is listed twice for node 'n1'",
          "each disk once", 2, 74 },
        { "[/dev/a, /dev/b]", "", ", diskType: dir", "node 'n1' lists nvmeDisks, but diskType is 'dir'",
          "diskType: nvme", 2, 48 },
        { "[/dev/a, /dev/b]", ", nvmeDisks: [/dev/a, /dev/b]", "",
          "node 'n2' lists nvmeDisks but is not a storage node", "services.storage", 3, 48 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *y = xstrfmt(tmpl, cases[i].n1, cases[i].n2, cases[i].storage);
        struct m3fs_config *c = load(y);
        free(y);
        assert_null(c);
        expect(cases[i].msg, DIAG_ERROR, cases[i].line, cases[i].col, cases[i].hint);
    }
    char *y = xstrfmt(tmpl, "[/dev/nvme0n1, /dev/disk/by-id/nvme-x_1]", "", "");
    struct m3fs_config *c = load(y);
    free(y);
    assert_non_null(c);
    assert_int_equal(dl.errors, 0); /* (the warning is about replicationFactor 1) */
    assert_int_equal(c->nodes[0].nvme_disks.n, 2);
    assert_string_equal(c->nodes[0].nvme_disks.v[1], "/dev/disk/by-id/nvme-x_1");
    assert_int_equal(c->nodes[1].nvme_disks.n, 0);
    config_free(c);
}

static void test_sample_loads_cleanly(void **state)
{
    (void)state;
    char *p = tu_source_path("cluster.yml.sample");
    struct m3fs_config *c = tu_load_file_clean(p);
    assert_string_equal(c->name, "open3fs");
    assert_string_equal(c->images.arch, "amd64");
    assert_int_equal(c->n_nodes, 2);
    config_free(c);
    free(p);
}

static void test_go_m3fs_config(void **state)
{
    (void)state;
    char *p = tu_source_path("tests/golden/go-m3fs-style.yml");
    diag_list_free(&dl);
    struct m3fs_config *c = config_load_file(p, NULL, &dl);
    if (!c || dl.errors) dump();
    assert_non_null(c);
    assert_int_equal(dl.errors, 0);
    assert_true(diag_find(&dl, "'stripSize' is not a key") >= 0);
    assert_true(diag_find(&dl, "services.postgresql is not needed") >= 0);
    assert_true(diag_find(&dl, "services.grafana is not deployed") >= 0);
    assert_true(diag_find(&dl, "the well-known default 'password'") >= 0); /* F7 */
    assert_int_equal(dl.warnings, 4);
    assert_int_equal(c->mgmtd.stripe_size, 16); /* stripSize is ignored, as in m3fs */
    assert_string_equal(c->nodes[0].password, "password");
    assert_int_equal(c->svc[SVC_STORAGE].n_member, 2);
    config_free(c);
    free(p);
    /* a missing file */
    diag_list_free(&dl);
    assert_null(config_load_file("/nonexistent/cluster.yml", NULL, &dl));
    assert_int_equal(dl.errors, 1);
    assert_non_null(strstr(dl.v[0].msg, "cannot read the config file"));
    assert_int_equal(dl.v[0].line, 0);
}

/* ---- addresses (3FS needs IPv4), listenNics, rdmaDevices, chain table ---- */

/* Names the tests resolve without DNS: a.test and b.test have IPv4
 * addresses, same.test is 10.0.0.1 (n1 of HEAD); anything else has none. */
static int fake_resolve(const char *name, char out[16], struct strbuf *why)
{
    static const char *const map[][2] = { { "a.test", "10.0.0.7" }, { "b.test", "10.0.0.8" },
                                          { "same.test", "10.0.0.1" } };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (!strcmp(name, map[i][0])) {
            strcpy(out, map[i][1]);
            return 0;
        }
    sb_adds(why, "No address associated with hostname");
    return -1;
}

/* HEAD's n1, then n2 as given (line 5), every service on n1, storage on
 * n1 and n2. */
static struct m3fs_config *load_n2(const char *n2)
{
    char *y = xstrfmt("nodes:\n"
                      "  - name: n1\n"
                      "    host: 10.0.0.1\n"
                      "    username: root\n"
                      "  - {name: n2, username: root, %s}\n"
                      "services:\n" SVCS,
                      n2);
    struct m3fs_config *c = load(y);
    free(y);
    return c;
}

static void test_addresses(void **state)
{
    (void)state;
    config_set_resolver(fake_resolve);
    /* a name is resolved here and its IPv4 address is the node's 3FS address */
    struct m3fs_config *c = load_n2("host: a.test");
    expect_clean(c);
    assert_string_equal(c->nodes[1].host, "a.test"); /* SSH keeps the name */
    assert_string_equal(c->nodes[1].addr, "10.0.0.7");
    assert_string_equal(config_node_addr(c, 1), "10.0.0.7");
    assert_string_equal(c->nodes[0].addr, "10.0.0.1");
    config_free(c);
    /* address: 3FS uses it, SSH uses host (which is then not resolved) */
    c = load_n2("host: nowhere.test, address: 10.0.0.9");
    expect_clean(c);
    assert_string_equal(c->nodes[1].addr, "10.0.0.9");
    config_free(c);
    c = load_n2("host: 10.0.0.2, address: b.test");
    expect_clean(c);
    assert_string_equal(c->nodes[1].addr, "10.0.0.8");
    config_free(c);
    struct {
        const char *n2, *msg, *hint;
        int col;
    } bad[] = {
        { "host: \"fd00::2\"", "host 'fd00::2' of node 'n2' is IPv6, but the node runs storage: "
          "3FS addresses are IPv4 only", "give the node an IPv4 address", 32 },
        { "host: 10.0.0.2, address: \"fd00::2\"", "address 'fd00::2' of node 'n2' is IPv6",
          "when SSH must use the IPv6 one", 48 },
        { "host: v6only.test", "host 'v6only.test' of node 'n2' has no IPv4 address here (No "
          "address associated with hostname); the node runs storage, so it needs one",
          "make the name resolve to one on this machine", 32 },
        { "host: 10.0.0.2, address: \"\"", "address of node 'n2' is empty",
          "or remove address to use host", 48 },
        { "host: same.test", "node 'n2' has the 3FS address 10.0.0.1, as node 'n1' has",
          "its own address", 32 },
        { "host: 10.0.0.2, address: 10.0.0.1", "node 'n2' has the 3FS address 10.0.0.1", NULL, 48 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_null(load_n2(bad[i].n2));
        expect(bad[i].msg, DIAG_ERROR, 5, bad[i].col, bad[i].hint);
        assert_int_equal(dl.errors, 1);
    }
    /* nodes that run no service may have any address; address there is noted */
    c = load("nodes:\n"
             "  - {name: n1, host: 10.0.0.1, username: root}\n"
             "  - {name: n2, host: 10.0.0.2, username: root}\n"
             "  - {name: n3, host: \"fd00::3\", username: root}\n"
             "  - {name: n4, host: v6only.test, username: root, address: 10.0.0.4}\n"
             "services:\n" SVCS);
    assert_non_null(c);
    expect("address of node 'n4' has no effect: the node runs no service", DIAG_WARN, 5, 51,
           "remove it");
    assert_int_equal(dl.errors + dl.warnings, 1);
    assert_null(c->nodes[2].addr);
    assert_string_equal(config_node_addr(c, 2), "fd00::3");
    config_free(c);
    /* the real resolver: localhost is in /etc/hosts, no DNS is asked */
    config_set_resolver(NULL);
    c = load_n2("host: localhost");
    expect_clean(c);
    assert_string_equal(c->nodes[1].addr, "127.0.0.1");
    config_free(c);
}

static void test_listen_nics(void **state)
{
    (void)state;
    struct m3fs_config *c = load_base("listenNics: [eth0, bond0, \"eth0:1\"]\n");
    expect_clean(c);
    assert_int_equal(c->listen_nics.n, 3);
    assert_string_equal(c->listen_nics.v[2], "eth0:1");
    config_free(c);
    c = load_base("networkType: IB\nlistenNics: [ib0, ens1f0]\n");
    expect_clean(c);
    config_free(c);
    struct {
        const char *extra, *msg, *hint;
        enum diag_sev sev;
        int line, col;
    } cases[] = {
        { "listenNics: [\"eth 0\"]\n", "listenNics entry 'eth 0' is not a NIC name",
          "1 to 15 characters", DIAG_ERROR, 17, 14 },
        { "listenNics: [eth0, a/b]\n", "listenNics entry 'a/b' is not a NIC name", NULL,
          DIAG_ERROR, 17, 20 },
        { "listenNics: [eth0, enp65s0f0np0xyz1]\n", "'enp65s0f0np0xyz1' is not a NIC name", NULL,
          DIAG_ERROR, 17, 20 },
        { "listenNics: [eth0, \"eth'1\"]\n", "'eth'1' is not a NIC name", NULL, DIAG_ERROR, 17, 20 },
        { "listenNics: [eth0, eth0]\n", "NIC 'eth0' is listed twice in listenNics", "once",
          DIAG_WARN, 17, 20 },
        { "listenNics: [eth0, lo]\n", "3FS never listens on NIC 'lo' with networkType RDMA",
          "named en*, eth*, bond* or xgbe*", DIAG_WARN, 17, 20 },
        { "listenNics: [eth0, ib0]\n", "3FS never listens on NIC 'ib0' with networkType RDMA",
          "rename the NIC", DIAG_WARN, 17, 20 },
        { "listenNics: [br0]\n", "listenNics names no NIC a TCP or RDMA listener of 3FS takes",
          "names starting with en, eth, bond or xgbe", DIAG_ERROR, 17, 1 },
        { "networkType: IB\nlistenNics: [eth0]\n", "networkType IB: mgmtd listens over IPoIB, "
          "only on NICs named ib*, and listenNics names none", "e.g. ib0", DIAG_ERROR, 18, 1 },
        { "networkType: IB\nlistenNics: [ib0]\n", "listenNics names no NIC a TCP or RDMA listener",
          NULL, DIAG_ERROR, 18, 1 },
        { "listenNics: eth0\n", "'listenNics' must be a list, not a single value", NULL,
          DIAG_ERROR, 17, 13 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        c = load_base(cases[i].extra);
        assert_true(cases[i].sev == DIAG_ERROR ? c == NULL : c != NULL);
        expect(cases[i].msg, cases[i].sev, cases[i].line, cases[i].col, cases[i].hint);
        config_free(c);
    }
}

static void test_rdma_devices(void **state)
{
    (void)state;
    /* the cluster's list, a node's own (an empty one lifts the filter there) */
    struct m3fs_config *c = load("rdmaDevices: [mlx5_0, mlx5_1]\n"
                                 "nodes:\n"
                                 "  - {name: n1, host: 10.0.0.1, username: root, rdmaDevices: [mlx5_4]}\n"
                                 "  - {name: n2, host: 10.0.0.2, username: root, rdmaDevices: []}\n"
                                 "  - {name: n3, host: 10.0.0.3, username: root}\n"
                                 "services:\n" TU_SVCS_N1
                                 "  client: {nodes: [n1]}\n"
                                 "  storage: {nodes: [n1, n2, n3]}\n");
    expect_clean(c);
    assert_int_equal(config_node_rdma_devices(c, 0)->n, 1);
    assert_string_equal(config_node_rdma_devices(c, 0)->v[0], "mlx5_4");
    assert_int_equal(config_node_rdma_devices(c, 1)->n, 0);
    assert_int_equal(config_node_rdma_devices(c, 2)->n, 2);
    assert_string_equal(config_node_rdma_devices(c, 2)->v[1], "mlx5_1");
    config_free(c);
    /* a nodeGroup's list is every one of its nodes' */
    c = load_groups("  - {name: g, username: root, ipBegin: 10.0.1.1, ipEnd: 10.0.1.2, "
                    "rdmaDevices: [rxe0]}\n", "g");
    expect_clean(c);
    assert_int_equal(config_node_rdma_devices(c, 0)->n, 0);
    assert_string_equal(config_node_rdma_devices(c, 1)->v[0], "rxe0");
    assert_string_equal(config_node_rdma_devices(c, 2)->v[0], "rxe0");
    config_free(c);
    struct {
        const char *extra, *msg, *hint;
        enum diag_sev sev;
        int line, col;
    } cases[] = {
        { "rdmaDevices: [\"mlx5 0\"]\n", "rdmaDevices entry 'mlx5 0' is not an RDMA device or NIC "
          "name", "as `ibv_devices` or `rdma link` show it", DIAG_ERROR, 17, 15 },
        { "rdmaDevices: [mlx5_0, mlx5_0]\n", "'mlx5_0' is listed twice in rdmaDevices", NULL,
          DIAG_WARN, 17, 23 },
        { "rdmaDevices: [a, b, c, d, e]\n", "rdmaDevices names 5 devices: 3FS uses at most 4 RDMA "
          "devices", "at most 4", DIAG_WARN, 17, 1 },
        { "networkType: TCP\nrdmaDevices: [mlx5_0]\n", "rdmaDevices has no effect with "
          "networkType TCP", "RDMA networkType", DIAG_WARN, 18, 1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        c = load_base(cases[i].extra);
        assert_true(cases[i].sev == DIAG_ERROR ? c == NULL : c != NULL);
        expect(cases[i].msg, cases[i].sev, cases[i].line, cases[i].col, cases[i].hint);
        config_free(c);
    }
    c = load("nodes:\n"
             "  - {name: n1, host: 10.0.0.1, username: root}\n"
             "  - {name: n2, host: 10.0.0.2, username: root}\n"
             "  - {name: n3, host: 10.0.0.3, username: root, rdmaDevices: [mlx5_0]}\n"
             "services:\n" SVCS);
    assert_non_null(c);
    expect("rdmaDevices of node 'n3' has no effect: the node runs no 3FS process", DIAG_WARN, 4,
           48, "add the node to a 3FS service");
    config_free(c);
}

/* What the ClickHouse setup would refuse (a db name that goes into SQL,
 * credentials that go into an env file) is refused here. */
static void test_clickhouse_values(void **state)
{
    (void)state;
    struct {
        const char *ch, *msg, *hint;
    } bad[] = {
        { "nodes: [n1], db: \"3fs; drop\"", "services.clickhouse.db '3fs; drop' is not a plain "
          "database name", "letters, digits and '_'" },
        { "nodes: [n1], db: \"\"", "services.clickhouse.db '' is not a plain database name", NULL },
        { "nodes: [n1], user: \"a\\nb\"", "services.clickhouse.user has a line break", "one line" },
        { "nodes: [n1], password: \"p\\rw-long-pw\"", "services.clickhouse.password has a line break",
          "one line" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_null(load_fdb_ch("nodes: [n1]", bad[i].ch));
        expect(bad[i].msg, DIAG_ERROR, 10, 29, bad[i].hint);
        assert_int_equal(dl.errors, 1);
    }
    struct m3fs_config *c = load_fdb_ch("nodes: [n1]", "nodes: [n1], db: metrics_3fs, user: u");
    expect_clean(c);
    config_free(c);
}

/* n1 runs every service but storage; storage runs on nodeGroup g
 * (10.0.1.1 .. ipEnd) with `storage` settings (line 12: "  storage:"). */
static struct m3fs_config *load_storage_group(const char *ip_end, const char *storage)
{
    char *y = xstrfmt("nodes:\n"
                      "  - {name: n1, host: 10.0.0.1, username: root}\n"
                      "nodeGroups:\n"
                      "  - {name: g, username: root, ipBegin: 10.0.1.1, ipEnd: %s}\n"
                      "services:\n" TU_SVCS_N1
                      "  client: {nodes: [n1]}\n"
                      "  storage: {nodeGroups: [g], %s}\n",
                      ip_end, storage);
    struct m3fs_config *c = load(y);
    free(y);
    return c;
}

/* What plan_ctx_init() would refuse is refused by validation, at the key. */
static void test_chain_table_rules(void **state)
{
    (void)state;
    /* 2 nodes x 1 disk x 4 targets / RF 2 = 4 chains, stripeSize 16 (default) */
    assert_null(load_base("    targetNumPerDisk: 4\n"));
    expect("stripeSize 16 is more than the 4 chains of the chain table (2 storage nodes x 1 "
           "disk x 4 targets per disk / replication factor 2)", DIAG_ERROR, 12, 3,
           "set services.mgmtd.stripeSize to at most 4");
    assert_int_equal(dl.errors, 1);
    /* exactly as many chains as the stripe size is fine */
    struct m3fs_config *c = load_base("    targetNumPerDisk: 16\n");
    expect_clean(c);
    config_free(c);
    c = load_base("    targetNumPerDisk: 4\n    diskNumPerNode: 4\n");
    expect_clean(c);
    config_free(c);
    /* 5 nodes, RF 2, 99 targets per disk: 5 x 99 is odd, so no chain has 2 */
    assert_null(load_storage_group("10.0.1.5", "replicationFactor: 2, targetNumPerDisk: 99"));
    expect("no chain table can be built for 5 storage nodes: no targets-per-disk value in 99..99",
           DIAG_ERROR, 12, 3, "replicationFactor, diskNumPerNode or targetNumPerDisk");
    assert_int_equal(dl.errors, 1);
    c = load_storage_group("10.0.1.5", "replicationFactor: 2, targetNumPerDisk: 98");
    expect_clean(c);
    config_free(c);
    /* the native generator takes at most 1000 storage nodes */
    assert_null(load_storage_group("10.0.4.233", "replicationFactor: 2"));
    expect("no chain table can be built for 1001 storage nodes: 1001 storage nodes: at most 1000",
           DIAG_ERROR, 12, 3, NULL);
    c = load_storage_group("10.0.4.232", "replicationFactor: 2");
    expect_clean(c);
    assert_int_equal(c->svc[SVC_STORAGE].n_member, 1000);
    config_free(c);
}

static int teardown(void **state)
{
    (void)state;
    diag_list_free(&dl);
    log_clear_secrets();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_type_enums),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_missing_sections),
        cmocka_unit_test(test_more_than_one_clickhouse_monitor),
        cmocka_unit_test(test_mgmtd_rules),
        cmocka_unit_test(test_port_collision_clickhouse),
        cmocka_unit_test(test_group_ipv4_numeric_order),
        cmocka_unit_test(test_group_ipv6),
        cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_group_order_and_ids),
        cmocka_unit_test(test_node_ids),
        cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_password_env),
        cmocka_unit_test(test_password_too_short),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_image_ref_and_artifact),
        cmocka_unit_test(test_nvme_disks),
        cmocka_unit_test(test_sample_loads_cleanly),
        cmocka_unit_test(test_go_m3fs_config),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_listen_nics),
        cmocka_unit_test(test_rdma_devices),
        cmocka_unit_test(test_chain_table_rules),
        cmocka_unit_test(test_clickhouse_values),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
