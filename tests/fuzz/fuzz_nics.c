/* fuzz_nics: libFuzzer target for what a node says about its NICs and RDMA
 * devices (templates/net-nics.sh output, parsed by net_parse_nics and judged
 * by the listener preflight of prepare and create).  Remote output is
 * untrusted: any input must parse or be refused, and judging what parsed
 * must neither crash nor leak.  Seeds: tests/fuzz/corpus/nics/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/config.h"
#include "m3fs/diag.h"
#include "m3fs/log.h"
#include "m3fs/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yml[] =
    "name: fz\nnetworkType: %s\nlistenNics: [eth0, bond0, ib0]\nnodes:\n"
    "  - {name: n1, host: 10.0.0.1, username: root}\n"
    "  - {name: n2, host: 10.0.0.2, username: root}\n"
    "services:\n  fdb: {nodes: [n1]}\n  clickhouse: {nodes: [n1]}\n  monitor: {nodes: [n1]}\n"
    "  mgmtd: {nodes: [n1]}\n  meta: {nodes: [n1]}\n  storage: {nodes: [n1, n2]}\n"
    "  client: {nodes: [n2]}\n";

static struct m3fs_config *load(const char *net)
{
    struct diag_list dl = { 0 };
    char *y = xstrfmt(yml, net);
    struct m3fs_config *c = config_load_buffer(y, strlen(y), "fuzz.yml", NULL, &dl);
    free(y);
    diag_list_free(&dl);
    if (!c) abort(); /* the judging below must run */
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct m3fs_config *cfg[2];
    if (!cfg[0]) cfg[0] = load("TCP"), cfg[1] = load("IB");
    char *text = xstrndup((const char *)data, size);
    struct net_nics l = { 0 };
    struct strbuf out = STRBUF_INIT;
    if (net_parse_nics(text, &l) == 0)
        for (int k = 0; k < 2; k++)
            for (size_t node = 0; node < cfg[k]->n_nodes; node++) {
                net_check_listeners(cfg[k], node, &l, &out, &out);
                net_warn_no_rdma(cfg[k], node, &l, &out);
                sb_reset(&out);
            }
    net_nics_release(&l);
    sb_release(&out);
    free(text);
    return 0;
}
