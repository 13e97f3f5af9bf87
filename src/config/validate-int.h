/* Internal to src/config: the validation context and its reporters, shared
 * by validate.c (general rules) and validate-net.c (addresses, NICs, RDMA
 * devices).  Every message points at the key `path` (or the nearest
 * enclosing key that was written) and carries a hint. */
#ifndef M3FS_CONFIG_VALIDATE_INT_H
#define M3FS_CONFIG_VALIDATE_INT_H

#include "m3fs/config.h"

struct vctx {
    struct m3fs_config *c;
    struct diag_list *dl;
};

void val_error(struct vctx *v, const char *path, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void val_warn(struct vctx *v, const char *path, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define E val_error
#define W val_warn

/* validate-net.c: every node's 3FS address (IPv4; names resolved), then
 * listenNics and rdmaDevices.  Run after nodeGroups are expanded and
 * service members resolved. */
void check_network(struct vctx *v);

/* validate-chars.c: the character sets of names, paths, hosts, users and
 * image references (values that reach unit files, TOML, fstab, docker).
 * Run before nodeGroups are expanded. */
void check_chars(struct vctx *v);

#endif
