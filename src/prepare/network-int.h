/* Internal to src/prepare: the network steps of `cluster prepare`
 * (network.c), listed in the step table of prepare.c.  Every step
 * function takes the struct prep_run as arg. */
#ifndef M3FS_NETWORK_INT_H
#define M3FS_NETWORK_INT_H

#include "m3fs/network.h"
#include "prepare-int.h"

#define NET_PKG_TIMEOUT_MS (30L * 60 * 1000)
#define NET_SETUP_TIMEOUT_MS (5L * 60 * 1000)

/* Preflight on every node: kernel, CPU flags vs the 3fs image, arch, OS.
 * Its local part warns once when networkType is TCP. */
int net_local_host(void *arg, struct strbuf *err);
int net_step_host(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* Nodes that run a 3FS listener: where 3FS would listen (nics.c). */
int net_takes_part_listen(void *arg, size_t node);
int net_step_listen(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* RXE: install the RDMA userspace packages. */
int net_takes_part_packages(void *arg, size_t node);
int net_step_packages(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* Every node unless TCP: write files, load modules, run the boot unit. */
int net_takes_part(void *arg, size_t node);
int net_step_setup(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* Every node unless TCP: ACTIVE links, uverbs, fs.aio-max-nr. */
int net_step_verify(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

#endif
