/* fuzz_net_check: libFuzzer target for the RDMA verification of `cluster
 * prepare` (templates/net-check.sh output: selected netdevs, rdma links,
 * uverbs devices, fs.aio-max-nr; read by net_parse_check; untrusted:
 * printed on a node), judged by net_verify on every node of a cluster of
 * each networkType.  Seeds: tests/fuzz/corpus/net_check/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_netcfg.h"
#include "m3fs/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = xstrndup((const char *)data, size);
    struct net_check c;
    struct strbuf sum = STRBUF_INIT, err = STRBUF_INIT;
    if (net_parse_check(out, &c) == 0)
        for (int k = 0; k < FUZZ_NET_TYPES; k++) {
            const struct m3fs_config *cfg = fuzz_net_cfg(k);
            for (size_t node = 0; node < cfg->n_nodes; node++) {
                size_t before = err.len;
                if (net_verify(cfg, node, &c, &sum, &err) ? err.len == before : err.len != before)
                    abort(); /* an error always says why, success says nothing there */
                sb_reset(&sum);
                sb_reset(&err);
            }
        }
    net_check_release(&c);
    sb_release(&sum);
    sb_release(&err);
    free(out);
    return 0;
}
