/* network: what `m3fs cluster prepare` does for the network, per networkType,
 * and what `cluster destroy --all` must undo.
 * User documentation: docs/network.md.
 *
 *   RXE    install the RDMA userspace packages; load rdma_rxe (persisted in
 *          modules-load.d); an rxe link per selected netdev; a boot unit
 *          that recreates the links (oneshot, before docker), run once now.
 *   ERDMA  erdma loaded with compat_mode=Y (persisted in modprobe.d; reloaded
 *          only when it is not so); the provider mounts for containers.
 *   RDMA, IB  nothing installed; active RDMA ports must exist.
 *   all but TCP  the ibdev2netdev shim; fs.aio-max-nr on storage nodes;
 *          verification (ACTIVE link per selected netdev, uverbs devices).
 *   TCP    (experimental) nothing: a warning says RDMA setup was skipped.
 *
 * Selected netdevs: Ethernet (IPoIB too for IB) netdevs with an IPv4
 * address, backed by a device or a bond, not loopback/bridges/docker/veth;
 * a node's `rdmaAddresses` (netdev names or IPv4 addresses) restricts them.
 *
 * Every file prepare writes on a node is listed in the node's record
 * (net_record_path), so destroy removes exactly those (net_destroy_cmd).
 * For containers: <workDir>/network/docker-args holds one `docker run`
 * argument per line (the shim mount, and for ERDMA the provider mounts).
 *
 * Ownership: functions append to caller-owned strbufs; structs below own
 * their strings and are released with their *_release function. */
#ifndef M3FS_NETWORK_H
#define M3FS_NETWORK_H

#include <stddef.h>

#include "m3fs/config.h"
#include "m3fs/strbuf.h"

/* cfg->net (enum net_type is in config.h). */
enum net_type net_type_of(const struct m3fs_config *cfg);

#define NET_UNIT_NAME "m3fs-network.service"
#define NET_SYSCTL_FILE "/etc/sysctl.d/60-m3fs-aio.conf"
#define NET_MODULES_FILE "/etc/modules-load.d/m3fs-rxe.conf"
#define NET_MODPROBE_FILE "/etc/modprobe.d/m3fs-erdma.conf"
#define NET_AIO_MAX_NR 67108864LL
#define NET_SHIM_IN_CONTAINER "/usr/sbin/ibdev2netdev"
#define NET_NICS_TIMEOUT_MS (60L * 1000) /* reading a node's NICs (net-nics.sh) */

/* Paths on a node (appended to sb). */
void net_script_path(struct strbuf *sb, const struct m3fs_config *cfg); /* <wd>/bin/m3fs-network-setup */
void net_shim_path(struct strbuf *sb, const struct m3fs_config *cfg);   /* <wd>/bin/ibdev2netdev */
void net_record_path(struct strbuf *sb, const struct m3fs_config *cfg); /* <wd>/network/files */
void net_docker_args_path(struct strbuf *sb, const struct m3fs_config *cfg);
void net_unit_path(struct strbuf *sb, const struct m3fs_config *cfg);   /* serviceBasePath/unit */

/* One file prepare writes on a node. */
struct net_file {
    char *path;
    char *content;
    unsigned mode;
};
struct net_files {
    struct net_file *v;
    size_t n, alloc;
};
/* The files node `node` gets (rendered templates).  0, or -1 with err. */
int net_node_files(const struct m3fs_config *cfg, size_t node, struct net_files *out,
                   struct strbuf *err);
void net_files_release(struct net_files *f);

/* The shell helpers (templates/net-lib.sh) for a node: its filter words. */
int net_render_lib(const struct m3fs_config *cfg, size_t node, struct strbuf *out,
                   struct strbuf *err);
/* A script piped to `sh -s` on the node: net-lib.sh + `name` (net-check.sh). */
int net_render_with_lib(const struct m3fs_config *cfg, size_t node, const char *name,
                        struct strbuf *out, struct strbuf *err);

/* The commands prepare runs on a node (templates/m3fs-net.sh), appended
 * to cmd.  net_put_cmd: stdin to `path` with `mode` unless the file already
 * has that content and mode; records path in `record`; prints "written" or
 * "unchanged".  net_docker_args_cmd: the same for <workDir>/network/
 * docker-args (the shim mount; for ERDMA the provider, found on the node).
 * net_aio_cmd: fs.aio-max-nr at least NET_AIO_MAX_NR, prints "set" when
 * raised.  net_unit_cmd: enable and run the boot unit (daemon-reload first
 * when reload), prints each change it made. */
void net_put_cmd(struct strbuf *cmd, const char *path, unsigned mode, const char *record);
void net_docker_args_cmd(const struct m3fs_config *cfg, struct strbuf *cmd);
void net_aio_cmd(struct strbuf *cmd);
void net_unit_cmd(const struct m3fs_config *cfg, int reload, struct strbuf *cmd);

/* --- preflight ---------------------------------------------------------- */
struct net_facts {
    char *kernel, *machine, *os_id, *os_like, *os_name, *pkg; /* "" when unknown */
    int avx512f;
};
/* Parse templates/net-facts.sh output ("key=value" lines).  0, or -1 when
 * kernel or machine is missing.  Release with net_facts_release even then. */
int net_parse_facts(const char *out, struct net_facts *f);
void net_facts_release(struct net_facts *f);
/* 1 when a uname -r release is at least major.minor. */
int net_kernel_at_least(const char *release, int major, int minor);
/* Checks of node `node` (CPU flags vs the 3fs image, arch vs images.arch,
 * kernel, package manager for RXE).  0, or -1 with every problem in err
 * (one per line, each naming the fix). */
int net_check_facts(const struct m3fs_config *cfg, size_t node, const struct net_facts *f,
                    struct strbuf *err);

/* --- verification -------------------------------------------------------- */
struct net_link {
    char *dev, *state, *netdev; /* netdev "-" when none */
    long port;
};
struct net_check {
    struct strvec sel, unmatched, uverbs;
    struct net_link *links;
    size_t n_links, alloc_links;
    long long aio;
    int no_rdma_tool;
};
/* Parse templates/net-check.sh output.  0, or -1 on a malformed line. */
int net_parse_check(const char *out, struct net_check *c);
void net_check_release(struct net_check *c);
/* Judge a node.  0 with a one-line summary (appended to summary), or -1
 * with everything missing described in err. */
int net_verify(const struct m3fs_config *cfg, size_t node, const struct net_check *c,
               struct strbuf *summary, struct strbuf *err);

/* --- where 3FS listens (src/prepare/nics.c) --------------------------------
 * Upstream src/common/net/Listener.cc: a listener binds to the NICs that
 * are up, hold an IPv4 address, are named for its type (en*, eth*, bond*,
 * xgbe* for TCP and RDMA, ib* for IPoIB) and are in listenNics when set. */
struct remote_session;
struct net_nic {
    char *name; /* the address's label: eth0, eth0:1 */
    char *addr; /* IPv4 */
    int up;     /* IFF_UP */
};
struct net_nics {
    struct net_nic *v;
    size_t n, alloc;
    struct strvec rdma; /* RDMA (verbs) device names in /sys/class/infiniband */
};
/* Parse templates/net-nics.sh output.  0, or -1 on a malformed line
 * (release with net_nics_release either way). */
int net_parse_nics(const char *out, struct net_nics *l);
void net_nics_release(struct net_nics *l);
/* Judge node `node` (config_node_listens): mgmtd's main group and the
 * monitor collector must listen on the NIC holding the node's 3FS address
 * (m3fs writes that address into every config); meta, storage and the
 * Core groups need some NIC of their type.  0 with where it listens
 * appended to summary (may be NULL), or -1 with one line per problem in
 * err, each starting with the node's name and saying what to do. */
int net_check_listeners(const struct m3fs_config *cfg, size_t node, const struct net_nics *l,
                        struct strbuf *summary, struct strbuf *err);
/* Read the node's NICs over s (templates/net-nics.sh) and judge them when
 * the node holds a listener; returns as net_check_listeners, or -1 when they
 * cannot be read.  Warns (networkType TCP) when the node has no RDMA device
 * at all: real 3FS then exits at start (net_warn_no_rdma). */
int net_listen_preflight(struct remote_session *s, const struct m3fs_config *cfg, size_t node,
                         struct strbuf *summary, struct strbuf *err);
/* The warning for a node with no RDMA device in networkType TCP, appended
 * to out; 0 when there is nothing to warn about. */
int net_warn_no_rdma(const struct m3fs_config *cfg, size_t node, const struct net_nics *l,
                     struct strbuf *out);

/* --- destroy --all -------------------------------------------------------- */
/* Remove what prepare wrote, as listed in the node's record (only paths
 * under workDir/bin, serviceBasePath/m3fs-network.service and the m3fs
 * files in sysctl.d, modules-load.d, modprobe.d), disabling the unit first;
 * then the record.  Run it as root before workDir is removed. */
void net_destroy_cmd(const struct m3fs_config *cfg, struct strbuf *cmd);
/* Exit 0 when there is nothing to remove (no record). */
void net_destroy_skip_if(const struct m3fs_config *cfg, struct strbuf *cmd);

#endif
