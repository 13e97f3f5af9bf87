/* fuzz_netcfg.h: shared by the network fuzz targets: a fixed two-node
 * cluster for each networkType, loaded once (n2 filters its RDMA netdevs
 * with rdmaAddresses; the 3fs image tag lacks -avx2).  Header only. */
#ifndef M3FS_FUZZ_NETCFG_H
#define M3FS_FUZZ_NETCFG_H

#include <stdlib.h>
#include <string.h>

#include "m3fs/config.h"
#include "m3fs/diag.h"

#define FUZZ_NET_TYPES 4

static const char fuzz_net_yaml[] =
    "name: fz\nworkDir: /w\nnetworkType: %s\n"
    "nodes:\n  - {name: n1, host: 10.0.0.1, username: root}\n"
    "  - {name: n2, host: 10.0.0.2, username: root, rdmaAddresses: [eth1, 10.1.0.2]}\n"
    "services:\n  fdb: {nodes: [n1]}\n  clickhouse: {nodes: [n1]}\n  monitor: {nodes: [n1]}\n"
    "  mgmtd: {nodes: [n1]}\n  meta: {nodes: [n1]}\n  storage: {nodes: [n1, n2]}\n"
    "  client: {nodes: [n2]}\n";

/* The cluster for networkType TCP, RXE, IB, ERDMA (k = 0..3); never NULL. */
static const struct m3fs_config *fuzz_net_cfg(int k)
{
    static const char *const types[FUZZ_NET_TYPES] = { "TCP", "RXE", "IB", "ERDMA" };
    static struct m3fs_config *cfg[FUZZ_NET_TYPES];
    if (!cfg[k]) {
        struct diag_list dl = { 0 };
        char *y = xstrfmt(fuzz_net_yaml, types[k]);
        cfg[k] = config_load_buffer(y, strlen(y), "fuzz.yml", NULL, &dl);
        free(y);
        diag_list_free(&dl);
        if (!cfg[k]) abort();
    }
    return cfg[k];
}

#endif
