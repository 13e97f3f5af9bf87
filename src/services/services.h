/* services: private helpers shared by the service modules (one module per
 * 3FS component; each adds its create and destroy steps to a plan).
 *
 * Owner: deployment engine.  Every function that returns char* returns a
 * heap string the caller frees.  Render failures are appended to ctx->err
 * and reported by a -1 return. */
#ifndef M3FS_SERVICES_H
#define M3FS_SERVICES_H

#include "m3fs/deploy.h"
#include "m3fs/tmpl.h"
#include "m3fs/script.h"

/* One module's entry points, in the order of the issue. */
int svc_fdb_create(struct plan_ctx *ctx, struct plan *p);
int svc_clickhouse_create(struct plan_ctx *ctx, struct plan *p);
int svc_monitor_create(struct plan_ctx *ctx, struct plan *p);
int svc_mgmtd_create(struct plan_ctx *ctx, struct plan *p);
int svc_meta_create(struct plan_ctx *ctx, struct plan *p);
int svc_storage_create(struct plan_ctx *ctx, struct plan *p);
int svc_chains_create(struct plan_ctx *ctx, struct plan *p);
int svc_client_create(struct plan_ctx *ctx, struct plan *p);

int svc_client_destroy(struct plan_ctx *ctx, struct plan *p);
/* delete-client: destroy's client steps on the nodes ctx->only_nodes marks
 * (whether or not services.client lists them). */
int svc_client_delete(struct plan_ctx *ctx, struct plan *p);
int svc_storage_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_meta_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_mgmtd_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_monitor_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_clickhouse_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_fdb_destroy(struct plan_ctx *ctx, struct plan *p);
int svc_node_destroy_all(struct plan_ctx *ctx, struct plan *p);
int svc_node_destroy_dirs(struct plan_ctx *ctx, struct plan *p);
/* The workDir's ownership marker (<workDir>/.m3fs-cluster holding the
 * cluster name, node.c): create writes it first on every node; destroy
 * first checks on every node that the resolved workDir is no system
 * directory and holds this cluster's marker, and deletes nothing otherwise.
 * Both refuse (-1, ctx->err) a workDir of the deny list here already. */
int svc_node_create_mark(struct plan_ctx *ctx, struct plan *p);
#define WORKDIR_MARKER ".m3fs-cluster"
int svc_node_destroy_guard(struct plan_ctx *ctx, struct plan *p);

/* stop / start of a created cluster (plan_build_stop/start): each service's
 * steps on its selected nodes (lifecycle.c).  Nothing when none is selected. */
int svc_client_stop(struct plan_ctx *ctx, struct plan *p);
int svc_storage_stop(struct plan_ctx *ctx, struct plan *p);
int svc_meta_stop(struct plan_ctx *ctx, struct plan *p);
int svc_mgmtd_stop(struct plan_ctx *ctx, struct plan *p);
int svc_monitor_stop(struct plan_ctx *ctx, struct plan *p);
int svc_clickhouse_stop(struct plan_ctx *ctx, struct plan *p);
int svc_fdb_stop(struct plan_ctx *ctx, struct plan *p);
int svc_fdb_start(struct plan_ctx *ctx, struct plan *p);
int svc_clickhouse_start(struct plan_ctx *ctx, struct plan *p);
int svc_monitor_start(struct plan_ctx *ctx, struct plan *p);
int svc_mgmtd_start(struct plan_ctx *ctx, struct plan *p);
int svc_meta_start(struct plan_ctx *ctx, struct plan *p);
int svc_storage_start(struct plan_ctx *ctx, struct plan *p);
int svc_chains_start(struct plan_ctx *ctx, struct plan *p);
int svc_client_start(struct plan_ctx *ctx, struct plan *p);
/* create's waits, for upgrade: the primary mgmtd; every target
 * SERVING-UPTODATE; 3FS mounted on one client node. */
void svc_mgmtd_primary_wait(struct plan_ctx *ctx, struct plan *p);
void svc_chains_serving_wait(struct plan_ctx *ctx, struct plan *p);
void svc_client_mounted_wait(struct plan_ctx *ctx, struct plan *p, size_t node);
/* create's wait until the database is available (fdbcli on node); until
 * ClickHouse answers SELECT 1 (on node). */
void svc_fdb_available_wait(struct plan_ctx *ctx, struct plan *p, size_t node);
void svc_clickhouse_ping_wait(struct plan_ctx *ctx, struct plan *p, size_t node);
/* `sh -c <templates/m3fs-chains.sh> m3fs-chains WHAT CONTAINER [IDS]`
 * (create-targets, targets, chains, serving; IDS a path under workDir on
 * the first mgmtd node); caller frees. */
char *svc_chains_script(struct plan_ctx *ctx, const char *what, const char *ids_file);
/* The wait until every target listed in ids_file (under workDir, on the
 * first mgmtd node `first`) is SERVING-UPTODATE, as a step of service;
 * table names the table in its wait text. */
void svc_chains_serving_step(struct plan_ctx *ctx, struct plan *p, size_t first,
                             const char *service, const char *ids_file, const char *table);
/* templates/m3fs-mgmtd.sh primary: admin_cli list-nodes in the mgmtd
 * container, exit 0 when it shows a PRIMARY_MGMTD; caller frees. */
char *svc_mgmtd_list_nodes_cmd(struct plan_ctx *ctx);

/* lifecycle.c: the selection (ctx->only_roles, only_nodes) and the
 * container steps every service's stop / start uses. */
/* 1 when service k takes part (its role selected and one of its nodes). */
int life_selected(const struct plan_ctx *ctx, enum svc_kind k);
/* The selected nodes of service k (first_only: only its first node may
 * be); caller frees; *n may be 0. */
size_t *life_nodes(const struct plan_ctx *ctx, enum svc_kind k, int first_only, size_t *n);
/* A step "stop containers" (SIGTERM, SIGKILL after stop_s seconds; 0: the
 * container's own stop timeout) on the selected nodes, skipped on a node
 * where the container is not running; nothing when none is selected. */
void life_stop_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, int first_only,
                    long stop_s);
/* A step "start containers" (docker start; running ones are done; a
 * missing one fails: create first) on the selected nodes. */
void life_start_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, int first_only);
/* A wait step until service k's container on each of NODES (n of them) has
 * run LIFE_SETTLE_S seconds since it last started (one 3FS heartbeat; a
 * crash loop fails it): before that, mgmtd's view may still be of the
 * container it replaced.  TITLE: the step's title. */
#define LIFE_SETTLE_S 10
void life_settle_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const size_t *nodes,
                      size_t n, const char *title);
/* The same for SECS seconds (the step's timeout covers them). */
void life_settle_for_step(struct plan_ctx *ctx, struct plan *p, enum svc_kind k,
                          const size_t *nodes, size_t n, int secs, const char *title);
/* How long after a mgmtd takes the lease its chains keep their states:
 * new_chain_bootstrap_interval (2 min, upstream
 * src/mgmtd/service/MgmtdConfig.h; RoutingInfo::reset makes every chain
 * newborn, MgmtdNewBornChainsChecker.cc frees them) plus one
 * check_status_interval (10 s) for the checker's round.  m3fs leaves both
 * at their defaults. */
#define MGMTD_NEWBORN_S 130

/* Append s as a TOML basic string ("..." with escapes). */
void toml_str(struct strbuf *sb, const char *s);
/* Append a TOML array of basic strings: [] or [ "a", "b" ]. */
void toml_str_list(struct strbuf *sb, const struct strvec *sv);
/* Network selection of node's 3FS files: listen_nics (listenNics, the
 * filter_list of every listener) and rdma_devices (the node's rdmaDevices,
 * the device_filter of every [ib_devices]), as TOML arrays. */
void net_vars(const struct plan_ctx *ctx, size_t node, struct tmpl_vars *tv);
/* "<workDir>/<sub>" */
char *wd_path(const struct plan_ctx *ctx, const char *sub);
/* Render an embedded template into out; -1 with ctx->err set. */
int render(struct plan_ctx *ctx, const char *name, const struct tmpl_vars *tv, struct strbuf *out);
/* script_call() (m3fs/script.h) of templates/NAME rendered with tv; returns
 * -1 with ctx->err set on a template error. */
int script_call_tmpl(struct plan_ctx *ctx, const char *name, const struct tmpl_vars *tv,
                     struct strbuf *out);
/* Variables every 3FS file uses: cluster id, mgmtd addresses, tcp flags,
 * log level. */
void common_vars(const struct plan_ctx *ctx, struct tmpl_vars *tv);
/* Render the [common.log] part (handlers writing /var/log/3fs/<log_name>*.log)
 * and set it as `log` in into.  0, or -1 with ctx->err set. */
int log_part(struct plan_ctx *ctx, const char *log_name, struct tmpl_vars *into);

/* Files rendered for one node of a service (names relative to a dir). */
struct file_set {
    struct strvec names;
    struct strbuf *data; /* n = names.n */
    unsigned *mode;
    size_t alloc;
};
void fs_add(struct file_set *fs, const char *name, struct strbuf *content, unsigned mode);
void fs_release(struct file_set *fs);
/* The content of the file called name, or NULL (borrowed from fs). */
const struct strbuf *fs_get(const struct file_set *fs, const char *name);
/* Add one PUT per file of fs under dir to step s on node. */
void fs_put(struct step *s, size_t node, const char *dir, const struct file_set *fs);
/* Feed every file's name and content into a digest text. */
void fs_digest_text(const struct file_set *fs, struct strbuf *out);

/* A long-running container: `docker run --detach --name NAME --label
 * m3fs.digest=D OPTS IMAGE CMD`, D = sha256 of opts, image, cmd and
 * digest_text, salted with the cluster's secret token (the digest covers
 * secret files, and a label is visible to anyone on the node).  Before it
 * starts, `dirs` are created and `pre` runs (templates/m3fs-ctr.sh). */
struct ctr_spec {
    const char *name;
    struct strvec opts;
    const char *image;
    struct strvec cmd;
    struct strbuf digest_text;
    struct strvec dirs;  /* created (mkdir -p) on the node before it starts */
    const char *pre;     /* a command run before it starts (one script call), or
                          * NULL; borrowed */
    char *net_args_file; /* node file of extra `docker run` args, one per line, or NULL */
    long stop_s;         /* seconds SIGTERM is given before SIGKILL (0: docker's) */
    const char *cluster; /* the cluster's name (ctr_init; borrowed): its
                          * m3fs.cluster label (templates/m3fs-ctr.sh) */
};
/* storage flushes on SIGTERM and is given 5 minutes (upstream
 * deploy/systemd/storage_main.service TimeoutStopSec=5m): its containers
 * run with --stop-timeout and are stopped with docker stop -t this. */
#define STORAGE_STOP_S 300L
/* A step that may stop a storage container: its timeout. */
#define STORAGE_STOP_STEP_MS ((STORAGE_STOP_S + 300L) * 1000L)
void ctr_init(const struct plan_ctx *ctx, struct ctr_spec *c, const char *name,
              const char *image);
void ctr_release(struct ctr_spec *c);
/* The standard 3FS container options (host network, restart, /dev, config
 * and log dirs of <wd>/<svc>). */
void ctr_3fs_opts(struct plan_ctx *ctx, struct ctr_spec *c, const char *svc);
/* Add the RUN target (with its skip_if) for c to s. */
void ctr_add_run(struct step *s, size_t node, struct ctr_spec *c);
/* If container NAME exists: `docker stop` (SIGTERM, then SIGKILL after
 * stop_s seconds, 0: the container's own stop timeout), then `docker rm`;
 * then rm -rf path (may be NULL).  A container NAME without this cluster's
 * m3fs.cluster label is left alone and the command fails.
 * templates/m3fs-ctr.sh remove. */
char *ctr_remove_cmd(const struct plan_ctx *ctx, const char *name, long stop_s,
                     const char *path);
/* Exit 0 when container NAME does not exist and path (may be NULL) is gone. */
char *ctr_absent_cmd(const char *name, const char *path);

/* admin_cli and its config inside a 3FS container. */
#define ADMIN_CLI "/opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/admin_cli.toml"
/* The same with the root token: admin_cli_root.toml (0600, mgmtd nodes only)
 * is admin_cli.toml plus [user_info] token.  admin_cli takes the token only
 * as the config item user_info.token (upstream src/client/bin/admin_cli.cc,
 * UserConfig; no token file), so it comes from this file, never argv. */
#define ADMIN_CLI_ROOT_TOML "admin_cli_root.toml"
#define ADMIN_CLI_ROOT "/opt/3fs/bin/admin_cli -cfg /opt/3fs/etc/" ADMIN_CLI_ROOT_TOML

/* What a 3FS process's "No usable RDMA devices." means (hint of the waits). */
#define NO_RDMA_MATCH "No usable RDMA devices"
#define NO_RDMA_HINT                                                                          \
    "the node has no RDMA (verbs) device at all. 3FS opens its IB manager at start and, "     \
    "with no device, exits even in networkType TCP: allow_no_usable_devices only covers "     \
    "devices without a usable port (upstream src/common/net/ib/IBDevice.cc, openAll and "     \
    "IBManager::startImpl). Use networkType RXE so that `m3fs cluster prepare` adds a "      \
    "soft-RoCE device on each node, or RDMA/IB hardware."
/* admin_cli inside a running container: plain, or with the root token read
 * from ADMIN_CLI_ROOT_TOML inside the container (never in argv). */
char *admin_cli_cmd(const char *container, const char *cli_cmd, int with_token);
/* admin_cli in a throw-away container using <wd>/mgmtd/config.d, for when
 * no mgmtd container runs yet (init-cluster). */
char *admin_cli_once_cmd(struct plan_ctx *ctx, const char *cli_cmd);

/* Steps used by the 3FS service modules (mgmtd, meta, storage, client). */
struct svc3fs {
    enum svc_kind kind;
    const char *dir;     /* "meta" */
    const char *main;    /* "meta_main" */
    const char *service; /* RPC service name: "MetaSerde" */
    const char *cfg_type;/* set-config type: "META", or NULL */
    long rdma_port, tcp_port;
    const char *pre;     /* one command (a script call) run before (re)creating
                          * a container, or NULL */
};
/* Render the config files of one node into fs. */
int svc3fs_files(struct plan_ctx *ctx, const struct svc3fs *sv, size_t node, struct file_set *fs);
/* The rendered files of every node of a service. */
struct svc3fs_all {
    const size_t *nodes;
    size_t n;
    struct file_set *fs;
};
/* The pieces of svc3fs_create, for services that need a step in between. */
int svc3fs_put(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
               struct svc3fs_all *all);
void svc3fs_set_config(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                       const struct svc3fs_all *all);
/* Step s stores sv's main config itself (init-cluster): when it runs it
 * also records the set-config state for that content. */
void svc3fs_config_stored_by(struct step *s, const struct svc3fs *sv,
                             const struct svc3fs_all *all);
void svc3fs_start(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                  const struct svc3fs_all *all, const struct strvec *extra_opts);
/* A wait (in lane `lane`) until every meta and storage node is
 * HEARTBEAT_CONNECTED: one list-nodes poll on the first mgmtd node, a watch
 * on every other meta/storage node (crash loops, refused heartbeats). */
int svc3fs_heartbeat(struct plan_ctx *ctx, struct plan *p, const char *lane);
void svc3fs_all_release(struct svc3fs_all *all);
/* PUT config files step + set-config step + container step.  extra_opts
 * are extra docker options. */
int svc3fs_create(struct plan_ctx *ctx, struct plan *p, const struct svc3fs *sv,
                  const struct strvec *extra_opts);
/* Remove the containers and <wd>/<svc> of a 3FS service (on its nodes; the
 * _on form on nodes[0..n)). */
void svc_remove_steps(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const char *svc,
                      int first_only);
void svc_remove_steps_on(struct plan_ctx *ctx, struct plan *p, enum svc_kind k, const char *svc,
                         const size_t *nodes, size_t n);

/* A wait check that also gives up at once (PLAN_GIVE_UP_MARK, with the
 * container's last log lines) when `container` on the same node has
 * restarted CRASH_RESTARTS times and is not running at that moment (it
 * waits for its next restart): a crash loop will not heal by waiting.  The
 * _n form guards several containers.  check is one simple command (its
 * words sh_quote()d; shell beyond that goes in a script: script_call). */
#define CRASH_RESTARTS 4
/* Poll interval of the waits for a service's first answer (fdb configure,
 * ClickHouse SELECT 1, the FUSE mount): cheap checks, soon true. */
#define FIRST_ANSWER_INTERVAL_MS 1000L
char *wait_guarded(const char *check, const char *container);
char *wait_guarded_n(const char *check, const char *const *ctrs, size_t n);
/* For a watch: the guard alone (exit 1 after giving up), then cmd (a
 * command line, its words already quoted) in its place.  Caller frees.
 * These run templates/m3fs-wait.sh. */
char *guard_then(const char *cmd, const char *const *ctrs, size_t n);

/* 1 when node takes part: ctx->only_nodes is NULL or marks it.  create's
 * per-node steps (the workDir marker, 3FS files and containers, the
 * client's mount) are added for these nodes only (add-client). */
int svc_node_selected(const struct plan_ctx *ctx, size_t node);

/* Indices of the nodes of a service (first_only: just the first). */
const size_t *svc_nodes(const struct plan_ctx *ctx, enum svc_kind k, size_t *n);
/* 1 when node runs service k: a member of it, and for storage not a node
 * remove-storage-nodes drained (ctx->storage_skip).  What create, stop,
 * start and upgrade go by. */
int svc_runs(const struct plan_ctx *ctx, size_t node, enum svc_kind k);

#endif
