/* config: the cluster.yml model, its loader (libyaml) and its validation.
 *
 * Ownership: config_load*() returns a heap `struct m3fs_config` that owns every
 * string and array inside it; free it with config_free().  Diagnostics are
 * appended to a caller-owned `struct diag_list` (diag.h).
 *
 * Nodes: cfg->nodes holds the explicit nodes first (file order), then the
 * nodes expanded from nodeGroups (file order of groups, address order inside
 * a group).  Services refer to nodes by index (svc.member[]).
 * Secrets: a node's resolved password (from password, passwordFile or
 * passwordEnv) is registered with the log's secret mask when loaded. */
#ifndef M3FS_CONFIG_H
#define M3FS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/diag.h"
#include "m3fs/strbuf.h"

enum svc_kind {
    SVC_FDB,
    SVC_CLICKHOUSE,
    SVC_MONITOR,
    SVC_MGMTD,
    SVC_META,
    SVC_STORAGE,
    SVC_CLIENT,
    SVC_GRAFANA,
    SVC_POSTGRESQL,
    SVC_COUNT
};

enum img_kind { IMG_3FS, IMG_FDB, IMG_CLICKHOUSE, IMG_GRAFANA, IMG_POSTGRESQL, IMG_COUNT };

/* YAML key of a service / image ("fdb", "3fs", ...). */
const char *svc_key(enum svc_kind k);
const char *img_key(enum img_kind k);
/* Artifact file name stem of an image ("foundationdb", "3fs", ...). */
const char *img_artifact_name(enum img_kind k);

struct yml_pos {
    int line, col; /* 1-based; 0 when the value was not in the file */
};

struct m3fs_node {
    char *name;
    char *host;
    long port;
    char *username;
    char *password;      /* resolved secret or NULL */
    char *password_file; /* as written, or NULL */
    char *password_env;  /* as written, or NULL */
    char *identity_file; /* as written, or NULL */
    struct strvec rdma_addresses;
    struct strvec nvme_disks; /* data disk i = nvme_disks[i] (diskType nvme), or empty */
    char *address;       /* `address` as written (3FS address apart from host), or NULL */
    char *addr;          /* IPv4 address given to 3FS and fdb for this node (address or
                          * host, a name resolved on this machine); NULL when the node
                          * runs none of fdb, clickhouse or a 3FS service */
    struct strvec rdma_devices; /* per-node rdmaDevices (own or its nodeGroup's) */
    int rdma_devices_set;       /* rdmaDevices was written for this node or group */
    char *group;         /* nodeGroup name for expanded nodes, else NULL */
    struct yml_pos pos;
};

struct m3fs_node_group {
    char *name;
    char *username;
    char *password, *password_file, *password_env, *identity_file;
    long port;
    char *ip_begin, *ip_end;
    struct strvec rdma_devices;
    struct yml_pos pos;
};

struct m3fs_service {
    char *container_name;
    struct strvec nodes;       /* names as written */
    struct strvec node_groups; /* group names as written */
    struct yml_pos pos;        /* the service mapping */
    size_t *member;            /* indices into cfg->nodes, after expansion */
    size_t n_member, n_alloc_member_; /* n_alloc_member_: internal */
};

struct m3fs_image {
    char *repo;
    char *tag;
};

struct m3fs_pos_entry {
    char *path; /* e.g. "services.storage.replicationFactor" */
    struct yml_pos pos;
};

/* networkType and diskType, parsed once by config_validate() (the strings
 * stay for messages and rendered files). */
enum net_type { NET_TCP, NET_RDMA, NET_IB, NET_ERDMA, NET_RXE };
enum disk_type { DISK_NVME, DISK_DIR };

struct m3fs_config {
    char *file; /* path the config was read from */

    char *name;
    char *work_dir;
    char *network_type; /* upper-case */
    enum net_type net;  /* network_type parsed */
    char *log_level;
    char *service_base_path;
    int64_t cmd_max_exit_timeout_ms;
    int64_t check_status_timeout_ms;
    int64_t check_status_interval_ms;
    struct strvec listen_nics;  /* listenNics: filter_list of every 3FS listener */
    struct strvec rdma_devices; /* rdmaDevices: device_filter of every [ib_devices] */

    struct m3fs_node *nodes;
    size_t n_nodes, n_explicit_nodes;
    struct m3fs_node_group *groups;
    size_t n_groups;

    struct m3fs_service svc[SVC_COUNT];

    struct {
        long port;
        char *username, *password, *database, *ro_username, *ro_password;
        int64_t wait_ready_timeout_ms;
    } pg;
    struct {
        long port;
        int64_t wait_cluster_timeout_ms;
    } fdb;
    struct {
        char *db, *user, *password;
        long tcp_port;
    } ch;
    struct {
        long port;
    } grafana, monitor;
    struct {
        long chunk_size, stripe_size, rdma_port, tcp_port;
        int64_t wait_target_online_timeout_ms;
    } mgmtd;
    struct {
        long rdma_port, tcp_port;
    } meta;
    struct {
        char *disk_type;
        enum disk_type disk; /* disk_type parsed */
        long sector_size, disk_num_per_node, rdma_port, tcp_port;
        long replication_factor, target_num_per_disk;
        int64_t target_id_prefix, chain_id_prefix;
        int64_t wait_chains_serving_timeout_ms, wait_target_update_sleep_ms;
    } storage;
    struct {
        char *host_mountpoint;
    } client;
    struct {
        char *registry;
        char *arch;
        struct m3fs_image img[IMG_COUNT];
    } images;
    struct {
        char *task_info_color;
    } ui;

    struct m3fs_pos_entry *pos;
    size_t n_pos;

    /* allocation sizes of the arrays above (internal) */
    size_t n_alloc_pos_, n_alloc_nodes_, n_alloc_groups_;
    void *pos_index_; /* internal: path -> index into pos (src/config/strindex.h) */
};

/* Overrides from the command line, applied before validation. */
struct config_overrides {
    const char *work_dir;
    const char *registry;
};

/* Load and validate.  Returns the config (even with warnings) or NULL when
 * any error was reported to `dl`. */
struct m3fs_config *config_load_file(const char *path, const struct config_overrides *ov,
                                     struct diag_list *dl);
struct m3fs_config *config_load_buffer(const char *data, size_t len, const char *name,
                                       const struct config_overrides *ov,
                                       struct diag_list *dl);
void config_free(struct m3fs_config *cfg);

/* Position of a key path, or {0,0}. */
struct yml_pos config_pos(const struct m3fs_config *cfg, const char *path);

/* Default-filled config (as if from an empty file); internal and tests. */
void config_set_defaults(struct m3fs_config *cfg);
/* Semantic checks; appends to dl.  Called by the loaders. */
void config_validate(struct m3fs_config *cfg, struct diag_list *dl);
/* Expand nodeGroups into nodes and resolve service members; called by validate. */
void config_expand(struct m3fs_config *cfg, struct diag_list *dl);

/* How validation turns a host name into the node's IPv4 address: write
 * the dotted address into out (at least 16 bytes) and return 0, or return
 * -1 with the reason appended to why.  The default asks getaddrinfo() for
 * AF_INET addresses and takes the first; tests install their own (NULL
 * restores the default).  Not thread-safe: set it before loading. */
typedef int (*config_resolve_fn)(const char *name, char out[16], struct strbuf *why);
void config_set_resolver(config_resolve_fn fn);

/* --- 3FS listeners (upstream src/common/net/Listener.cc) ---------------
 * A listener of type t binds to every NIC that is up, has an IPv4 address,
 * is named for t (checkNicType) and, when listenNics is set, is listed
 * there (filter_list).  With none it fails: "No available address for
 * listener" and the service does not start. */
enum listen_type { LISTEN_TCP, LISTEN_RDMA, LISTEN_IPOIB };
/* "TCP", "RDMA", "IPoIB": the network_type value in a 3FS config. */
const char *listen_type_name(enum listen_type t);
/* 1 when a listener of type t takes NIC `nic`: en*, eth*, bond*, xgbe* for
 * TCP and RDMA; ib* for IPoIB. */
int listen_nic_eligible(const char *nic, enum listen_type t);
/* "en*, eth*, bond* or xgbe*" / "ib*" (static). */
const char *listen_nic_prefixes(enum listen_type t);
/* The type of the main listener group m3fs renders for service k (mgmtd,
 * meta, storage): TCP for networkType TCP, IPoIB for mgmtd with IB, else
 * RDMA.  Every other group (Core beside it, the monitor) is TCP. */
enum listen_type config_listen_type(const struct m3fs_config *cfg, enum svc_kind k);

/* Queries used by commands. */
/* How messages name a node: its name, else its host (borrowed from n). */
const char *config_node_label(const struct m3fs_node *n);
int config_node_has(const struct m3fs_config *cfg, size_t node, enum svc_kind k);
/* 3FS node id of `node` for mgmtd (1..), meta (100..), storage (10001..); 0 if none. */
long config_node_id(const struct m3fs_config *cfg, size_t node, enum svc_kind k);
/* Full image reference, registry applied ("reg/open3fs/3fs:tag"); caller frees. */
char *config_image_ref(const struct m3fs_config *cfg, enum img_kind k);
/* Artifact file name "<name>_<tag>_<arch>.docker"; caller frees. */
char *config_artifact_file(const struct m3fs_config *cfg, enum img_kind k);
/* The node's 3FS address (addr, or host when it has none); borrowed. */
const char *config_node_addr(const struct m3fs_config *cfg, size_t node);
/* device_filter of the node: its own rdmaDevices when written, else the
 * cluster's; borrowed. */
const struct strvec *config_node_rdma_devices(const struct m3fs_config *cfg, size_t node);
/* 1 when the node runs a process that holds a 3FS listener (mgmtd, meta,
 * storage, or the monitor collector: the first monitor node). */
int config_node_listens(const struct m3fs_config *cfg, size_t node);
struct ct_params;
/* Fill p (after ct_params_init) with the chain-table numbers of the config:
 * storage node count, replication factor, disks, targets per disk, id
 * prefixes.  Node ids are left to the caller. */
void config_chain_params(const struct m3fs_config *cfg, struct ct_params *p);
/* 1 when the node runs any 3FS process (a listener above, or a FUSE client). */
int config_node_runs_3fs(const struct m3fs_config *cfg, size_t node);
/* 1 when wd is no plain absolute path or a system directory m3fs never
 * takes as a workDir (it deletes under it): config validate refuses it,
 * and so do create and destroy (src/config/validate-chars.c). */
int config_workdir_denied(const char *wd);
/* Images used by a node's roles, as a bitmask of 1u << img_kind. */
unsigned config_node_images(const struct m3fs_config *cfg, size_t node);

/* Go-style duration ("1h2m3.5s", "300ms"); returns 0 or -1. */
int parse_duration_ms(const char *s, int64_t *out);
void format_duration_ms(int64_t ms, struct strbuf *sb);

#endif
