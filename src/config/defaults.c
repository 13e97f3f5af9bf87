/* Names, defaults (the same as m3fs), freeing, and small queries. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/chaintable.h"
#include "m3fs/config.h"
#include "strindex.h"

static const char *const svc_keys[SVC_COUNT] = {
    "fdb", "clickhouse", "monitor", "mgmtd", "meta", "storage", "client", "grafana", "postgresql",
};
static const char *const svc_containers[SVC_COUNT] = {
    "3fs-fdb", "3fs-clickhouse", "3fs-monitor", "3fs-mgmtd", "3fs-meta",
    "3fs-storage", "3fs-client", "3fs-grafana", "3fs-postgres",
};
static const char *const img_keys[IMG_COUNT] = { "3fs", "fdb", "clickhouse", "grafana", "postgresql" };
static const char *const img_names[IMG_COUNT] = {
    "3fs", "foundationdb", "clickhouse", "grafana", "postgresql",
};
static const char *const img_repos[IMG_COUNT] = {
    "open3fs/3fs", "open3fs/foundationdb", "open3fs/clickhouse", "open3fs/grafana",
    "open3fs/postgresql",
};
static const char *const img_tags[IMG_COUNT] = { "20250410", "7.3.63", "25.1-jammy", "12.0.0", "17.5.0" };

const char *svc_key(enum svc_kind k) { return svc_keys[k]; }
const char *img_key(enum img_kind k) { return img_keys[k]; }
const char *img_artifact_name(enum img_kind k) { return img_names[k]; }

#define MIN_MS(m) ((int64_t)(m) * 60 * 1000)
#define SEC_MS(s) ((int64_t)(s) * 1000)

void config_set_defaults(struct m3fs_config *c)
{
    c->name = xstrdup("3fs");
    c->network_type = xstrdup("RDMA");
    c->net = NET_RDMA;
    c->log_level = xstrdup("INFO");
    c->service_base_path = xstrdup("/lib/systemd/system/");
    c->cmd_max_exit_timeout_ms = MIN_MS(10);
    c->check_status_timeout_ms = MIN_MS(5);
    c->check_status_interval_ms = SEC_MS(5);
    for (int k = 0; k < SVC_COUNT; k++) c->svc[k].container_name = xstrdup(svc_containers[k]);
    c->pg.port = 5432;
    c->pg.username = xstrdup("postgres");
    c->pg.password = xstrdup("pgpassword");
    c->pg.database = xstrdup("open3fs");
    c->pg.ro_username = xstrdup("postgres_readonly");
    c->pg.ro_password = xstrdup("pgpassword_readonly");
    c->pg.wait_ready_timeout_ms = SEC_MS(30);
    c->fdb.port = 4500;
    c->fdb.wait_cluster_timeout_ms = SEC_MS(120);
    c->ch.db = xstrdup("3fs");
    c->ch.user = xstrdup("default");
    c->ch.password = xstrdup("password");
    c->ch.tcp_port = 8999;
    c->grafana.port = 3000;
    c->monitor.port = 10000;
    c->mgmtd.chunk_size = 1048576;
    c->mgmtd.stripe_size = 16;
    c->mgmtd.rdma_port = 8000;
    c->mgmtd.tcp_port = 9000;
    c->mgmtd.wait_target_online_timeout_ms = MIN_MS(10);
    c->meta.rdma_port = 8001;
    c->meta.tcp_port = 9001;
    c->storage.disk_type = xstrdup("nvme");
    c->storage.disk = DISK_NVME;
    c->storage.sector_size = 4096;
    c->storage.disk_num_per_node = 1;
    c->storage.rdma_port = 8002;
    c->storage.tcp_port = 9002;
    c->storage.replication_factor = 2;
    c->storage.target_num_per_disk = 32;
    c->storage.target_id_prefix = 1;
    c->storage.chain_id_prefix = 9;
    c->storage.wait_chains_serving_timeout_ms = MIN_MS(10);
    c->storage.wait_target_update_sleep_ms = SEC_MS(10);
    c->client.host_mountpoint = xstrdup("/mnt/3fs");
    c->images.registry = xstrdup("");
    c->images.arch = xstrdup("amd64");
    for (int k = 0; k < IMG_COUNT; k++) {
        c->images.img[k].repo = xstrdup(img_repos[k]);
        c->images.img[k].tag = xstrdup(img_tags[k]);
    }
    c->ui.task_info_color = xstrdup("");
}

static void node_free(struct m3fs_node *n)
{
    free(n->name);
    free(n->host);
    free(n->username);
    free_secret(n->password);
    free(n->password_file);
    free(n->password_env);
    free(n->identity_file);
    free(n->group);
    free(n->address);
    free(n->addr);
    sv_clear(&n->rdma_addresses);
    sv_clear(&n->nvme_disks);
    sv_clear(&n->rdma_devices);
}

static void group_free(struct m3fs_node_group *g)
{
    free(g->name);
    free(g->username);
    free_secret(g->password);
    free(g->password_file);
    free(g->password_env);
    free(g->identity_file);
    free(g->ip_begin);
    free(g->ip_end);
    sv_clear(&g->rdma_devices);
}

void config_free(struct m3fs_config *c)
{
    if (!c) return;
    char **strs[] = {
        &c->file, &c->name, &c->work_dir, &c->network_type, &c->log_level, &c->service_base_path,
        &c->pg.username, &c->pg.password, &c->pg.database, &c->pg.ro_username,
        &c->pg.ro_password, &c->ch.db, &c->ch.user, &c->ch.password, &c->storage.disk_type,
        &c->client.host_mountpoint, &c->images.registry, &c->images.arch, &c->ui.task_info_color,
    };
    free_secret(c->pg.password);
    free_secret(c->pg.ro_password);
    free_secret(c->ch.password);
    c->pg.password = c->pg.ro_password = c->ch.password = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++) free(*strs[i]);
    sv_clear(&c->listen_nics);
    sv_clear(&c->rdma_devices);
    for (size_t i = 0; i < c->n_nodes; i++) node_free(&c->nodes[i]);
    free(c->nodes);
    for (size_t i = 0; i < c->n_groups; i++) group_free(&c->groups[i]);
    free(c->groups);
    for (int k = 0; k < SVC_COUNT; k++) {
        free(c->svc[k].container_name);
        sv_clear(&c->svc[k].nodes);
        sv_clear(&c->svc[k].node_groups);
        free(c->svc[k].member);
    }
    for (int k = 0; k < IMG_COUNT; k++) {
        free(c->images.img[k].repo);
        free(c->images.img[k].tag);
    }
    for (size_t i = 0; i < c->n_pos; i++) free(c->pos[i].path);
    if (c->pos_index_) strindex_free(c->pos_index_);
    free(c->pos_index_);
    free(c->pos);
    free(c);
}

struct yml_pos config_pos(const struct m3fs_config *c, const char *path)
{
    if (c->pos_index_) { /* every recorded path is in it (load.c record_pos) */
        size_t i = strindex_get(c->pos_index_, path);
        return i == STRINDEX_NONE ? (struct yml_pos){ 0, 0 } : c->pos[i].pos;
    }
    for (size_t i = 0; i < c->n_pos; i++)
        if (!strcmp(c->pos[i].path, path)) return c->pos[i].pos;
    return (struct yml_pos){ 0, 0 };
}

const char *config_node_label(const struct m3fs_node *n)
{
    return n->name ? n->name : n->host;
}

int config_node_has(const struct m3fs_config *c, size_t node, enum svc_kind k)
{
    for (size_t i = 0; i < c->svc[k].n_member; i++)
        if (c->svc[k].member[i] == node) return 1;
    return 0;
}

long config_node_id(const struct m3fs_config *c, size_t node, enum svc_kind k)
{
    long base = k == SVC_MGMTD ? 1 : k == SVC_META ? 100 : k == SVC_STORAGE ? 10001 : 0;
    if (!base) return 0;
    for (size_t i = 0; i < c->svc[k].n_member; i++)
        if (c->svc[k].member[i] == node) return base + (long)i;
    return 0;
}

char *config_image_ref(const struct m3fs_config *c, enum img_kind k)
{
    const char *reg = c->images.registry;
    size_t n = strlen(reg);
    while (n && reg[n - 1] == '/') n--;
    if (!n) return xstrfmt("%s:%s", c->images.img[k].repo, c->images.img[k].tag);
    return xstrfmt("%.*s/%s:%s", (int)n, reg, c->images.img[k].repo, c->images.img[k].tag);
}

char *config_artifact_file(const struct m3fs_config *c, enum img_kind k)
{
    return xstrfmt("%s_%s_%s.docker", img_names[k], c->images.img[k].tag, c->images.arch);
}

unsigned config_node_images(const struct m3fs_config *c, size_t node)
{
    unsigned m = 0;
    if (config_node_has(c, node, SVC_FDB)) m |= 1u << IMG_FDB;
    if (config_node_has(c, node, SVC_CLICKHOUSE)) m |= 1u << IMG_CLICKHOUSE;
    if (config_node_has(c, node, SVC_GRAFANA)) m |= 1u << IMG_GRAFANA;
    if (config_node_has(c, node, SVC_POSTGRESQL)) m |= 1u << IMG_POSTGRESQL;
    static const enum svc_kind tfs[] = { SVC_MONITOR, SVC_MGMTD, SVC_META, SVC_STORAGE, SVC_CLIENT };
    for (size_t i = 0; i < ARRAY_SIZE(tfs); i++)
        if (config_node_has(c, node, tfs[i])) m |= 1u << IMG_3FS;
    return m;
}

const char *config_node_addr(const struct m3fs_config *c, size_t node)
{
    const struct m3fs_node *n = &c->nodes[node];
    return n->addr ? n->addr : n->host;
}

const struct strvec *config_node_rdma_devices(const struct m3fs_config *c, size_t node)
{
    const struct m3fs_node *n = &c->nodes[node];
    return n->rdma_devices_set ? &n->rdma_devices : &c->rdma_devices;
}

int config_node_listens(const struct m3fs_config *c, size_t node)
{
    const struct m3fs_service *mon = &c->svc[SVC_MONITOR];
    return config_node_has(c, node, SVC_MGMTD) || config_node_has(c, node, SVC_META) ||
           config_node_has(c, node, SVC_STORAGE) || (mon->n_member && mon->member[0] == node);
}

void config_chain_params(const struct m3fs_config *c, struct ct_params *p)
{
    p->v = (long)c->svc[SVC_STORAGE].n_member;
    p->k = c->storage.replication_factor;
    p->disks = c->storage.disk_num_per_node;
    p->r_min = c->storage.target_num_per_disk;
    p->target_prefix = (long)c->storage.target_id_prefix;
    p->chain_prefix = (long)c->storage.chain_id_prefix;
}

int config_node_runs_3fs(const struct m3fs_config *c, size_t node)
{
    return config_node_listens(c, node) || config_node_has(c, node, SVC_CLIENT);
}
