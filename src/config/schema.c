/* Every key of cluster.yml: the same keys and spellings as m3fs, plus
 * passwordFile, passwordEnv and identityFile on nodes and nodeGroups,
 * nvmeDisks and address on nodes, listenNics and rdmaDevices (top level;
 * rdmaDevices also on nodes and nodeGroups). */
#include "schema.h"

#include <stddef.h>

#include "m3fs/config.h"

#define C(m) offsetof(struct m3fs_config, m)
#define N(m) offsetof(struct m3fs_node, m)
#define G(m) offsetof(struct m3fs_node_group, m)
#define END { NULL, FK_STR, 0, NULL, NULL }
#define SVC_COMMON(k)                                                   \
    { "containerName", FK_STR, C(svc[k].container_name), NULL, NULL },  \
    { "nodes", FK_STRLIST, C(svc[k].nodes), NULL, NULL },               \
    { "nodeGroups", FK_STRLIST, C(svc[k].node_groups), NULL, NULL }

static const struct field pg_fields[] = {
    SVC_COMMON(SVC_POSTGRESQL),
    { "port", FK_LONG, C(pg.port), NULL, NULL },
    { "username", FK_STR, C(pg.username), NULL, NULL },
    { "password", FK_STR, C(pg.password), NULL, NULL },
    { "database", FK_STR, C(pg.database), NULL, NULL },
    { "readOnlyUsername", FK_STR, C(pg.ro_username), NULL, NULL },
    { "readOnlyPassword", FK_STR, C(pg.ro_password), NULL, NULL },
    { "waitReadyTimeout", FK_DUR, C(pg.wait_ready_timeout_ms), NULL, NULL },
    END,
};

static const struct field fdb_fields[] = {
    SVC_COMMON(SVC_FDB),
    { "port", FK_LONG, C(fdb.port), NULL, NULL },
    { "waitclustertimeout", FK_DUR, C(fdb.wait_cluster_timeout_ms), NULL, NULL },
    END,
};

static const struct field ch_fields[] = {
    SVC_COMMON(SVC_CLICKHOUSE),
    { "db", FK_STR, C(ch.db), NULL, NULL },
    { "user", FK_STR, C(ch.user), NULL, NULL },
    { "password", FK_STR, C(ch.password), NULL, NULL },
    { "tcpPort", FK_LONG, C(ch.tcp_port), NULL, NULL },
    END,
};

static const struct field grafana_fields[] = {
    SVC_COMMON(SVC_GRAFANA),
    { "port", FK_LONG, C(grafana.port), NULL, NULL },
    END,
};

static const struct field monitor_fields[] = {
    SVC_COMMON(SVC_MONITOR),
    { "port", FK_LONG, C(monitor.port), NULL, NULL },
    END,
};

static const struct field mgmtd_fields[] = {
    SVC_COMMON(SVC_MGMTD),
    { "chunkSize", FK_LONG, C(mgmtd.chunk_size), NULL, NULL },
    { "stripeSize", FK_LONG, C(mgmtd.stripe_size), NULL, NULL },
    { "rdmaListenPort", FK_LONG, C(mgmtd.rdma_port), NULL, NULL },
    { "tcpListenPort", FK_LONG, C(mgmtd.tcp_port), NULL, NULL },
    { "waitTargetOnlineTimeout", FK_DUR, C(mgmtd.wait_target_online_timeout_ms), NULL, NULL },
    { "stripSize", FK_LEGACY, 0, NULL,
      "'stripSize' is not a key (m3fs's sample misspells it and m3fs ignores it); "
      "the default stripeSize is used|rename it to 'stripeSize' to set the stripe size" },
    END,
};

static const struct field meta_fields[] = {
    SVC_COMMON(SVC_META),
    { "rdmaListenPort", FK_LONG, C(meta.rdma_port), NULL, NULL },
    { "tcpListenPort", FK_LONG, C(meta.tcp_port), NULL, NULL },
    END,
};

static const struct field storage_fields[] = {
    SVC_COMMON(SVC_STORAGE),
    { "diskType", FK_STR, C(storage.disk_type), NULL, NULL },
    { "sectorSize", FK_LONG, C(storage.sector_size), NULL, NULL },
    { "diskNumPerNode", FK_LONG, C(storage.disk_num_per_node), NULL, NULL },
    { "rdmaListenPort", FK_LONG, C(storage.rdma_port), NULL, NULL },
    { "tcpListenPort", FK_LONG, C(storage.tcp_port), NULL, NULL },
    { "replicationFactor", FK_LONG, C(storage.replication_factor), NULL, NULL },
    { "targetNumPerDisk", FK_LONG, C(storage.target_num_per_disk), NULL, NULL },
    { "targetIDPrefix", FK_I64, C(storage.target_id_prefix), NULL, NULL },
    { "chainIDPrefix", FK_I64, C(storage.chain_id_prefix), NULL, NULL },
    { "waitChainsServingTimeout", FK_DUR, C(storage.wait_chains_serving_timeout_ms), NULL, NULL },
    { "waitTargetUpdateSleepTime", FK_DUR, C(storage.wait_target_update_sleep_ms), NULL, NULL },
    END,
};

static const struct field client_fields[] = {
    SVC_COMMON(SVC_CLIENT),
    { "hostMountpoint", FK_STR, C(client.host_mountpoint), NULL, NULL },
    END,
};

static const struct field services_fields[] = {
    { "postgresql", FK_MAP, 0, pg_fields, NULL },
    { "fdb", FK_MAP, 0, fdb_fields, NULL },
    { "clickhouse", FK_MAP, 0, ch_fields, NULL },
    { "grafana", FK_MAP, 0, grafana_fields, NULL },
    { "monitor", FK_MAP, 0, monitor_fields, NULL },
    { "mgmtd", FK_MAP, 0, mgmtd_fields, NULL },
    { "meta", FK_MAP, 0, meta_fields, NULL },
    { "storage", FK_MAP, 0, storage_fields, NULL },
    { "client", FK_MAP, 0, client_fields, NULL },
    END,
};

#define IMAGE(k)                                                        \
    static const struct field img_##k##_fields[] = {                    \
        { "repo", FK_STR, C(images.img[k].repo), NULL, NULL },          \
        { "tag", FK_STR, C(images.img[k].tag), NULL, NULL },            \
        END,                                                            \
    }
IMAGE(IMG_3FS);
IMAGE(IMG_FDB);
IMAGE(IMG_CLICKHOUSE);
IMAGE(IMG_GRAFANA);
IMAGE(IMG_POSTGRESQL);

static const struct field images_fields[] = {
    { "registry", FK_STR, C(images.registry), NULL, NULL },
    { "arch", FK_STR, C(images.arch), NULL, NULL },
    { "3fs", FK_MAP, 0, img_IMG_3FS_fields, NULL },
    { "fdb", FK_MAP, 0, img_IMG_FDB_fields, NULL },
    { "clickhouse", FK_MAP, 0, img_IMG_CLICKHOUSE_fields, NULL },
    { "grafana", FK_MAP, 0, img_IMG_GRAFANA_fields, NULL },
    { "postgresql", FK_MAP, 0, img_IMG_POSTGRESQL_fields, NULL },
    END,
};

static const struct field ui_fields[] = {
    { "taskInfoColor", FK_STR, C(ui.task_info_color), NULL, NULL },
    END,
};

const struct field root_fields[] = {
    { "name", FK_STR, C(name), NULL, NULL },
    { "workDir", FK_STR, C(work_dir), NULL, NULL },
    { "networkType", FK_STR, C(network_type), NULL, NULL },
    { "logLevel", FK_STR, C(log_level), NULL, NULL },
    { "nodes", FK_NODES, 0, NULL, NULL },
    { "nodeGroups", FK_GROUPS, 0, NULL, NULL },
    { "services", FK_MAP, 0, services_fields, NULL },
    { "images", FK_MAP, 0, images_fields, NULL },
    { "ui", FK_MAP, 0, ui_fields, NULL },
    { "cmdmaxexittimeout", FK_DUR, C(cmd_max_exit_timeout_ms), NULL, NULL },
    { "serviceBasePath", FK_STR, C(service_base_path), NULL, NULL },
    { "checkstatustimeout", FK_DUR, C(check_status_timeout_ms), NULL, NULL },
    { "checkstatusinterval", FK_DUR, C(check_status_interval_ms), NULL, NULL },
    { "listenNics", FK_STRLIST, C(listen_nics), NULL, NULL },
    { "rdmaDevices", FK_STRLIST, C(rdma_devices), NULL, NULL },
    END,
};

const struct field node_fields[] = {
    { "name", FK_STR, N(name), NULL, NULL },
    { "host", FK_STR, N(host), NULL, NULL },
    { "port", FK_LONG, N(port), NULL, NULL },
    { "username", FK_STR, N(username), NULL, NULL },
    { "password", FK_STR, N(password), NULL, NULL },
    { "passwordFile", FK_STR, N(password_file), NULL, NULL },
    { "passwordEnv", FK_STR, N(password_env), NULL, NULL },
    { "identityFile", FK_STR, N(identity_file), NULL, NULL },
    { "rdmaAddresses", FK_STRLIST, N(rdma_addresses), NULL, NULL },
    { "nvmeDisks", FK_STRLIST, N(nvme_disks), NULL, NULL },
    { "address", FK_STR, N(address), NULL, NULL },
    { "rdmaDevices", FK_STRLIST, N(rdma_devices), NULL, NULL },
    END,
};

const struct field group_fields[] = {
    { "name", FK_STR, G(name), NULL, NULL },
    { "username", FK_STR, G(username), NULL, NULL },
    { "password", FK_STR, G(password), NULL, NULL },
    { "passwordFile", FK_STR, G(password_file), NULL, NULL },
    { "passwordEnv", FK_STR, G(password_env), NULL, NULL },
    { "identityFile", FK_STR, G(identity_file), NULL, NULL },
    { "port", FK_LONG, G(port), NULL, NULL },
    { "ipBegin", FK_STR, G(ip_begin), NULL, NULL },
    { "ipEnd", FK_STR, G(ip_end), NULL, NULL },
    { "rdmaDevices", FK_STRLIST, G(rdma_devices), NULL, NULL },
    END,
};
