/* fuzz_net_facts: libFuzzer target for the host facts of `cluster
 * prepare`'s preflight (templates/net-facts.sh output, read by
 * net_parse_facts; untrusted: printed on a node), judged by
 * net_check_facts on every node of a cluster of each networkType.  Seeds:
 * tests/fuzz/corpus/net_facts/. */
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
    struct net_facts f;
    struct strbuf err = STRBUF_INIT;
    int rc = net_parse_facts(out, &f);
    /* every field is a string after parsing, whatever the outcome */
    if (!f.kernel || !f.machine || !f.os_id || !f.os_like || !f.os_name || !f.pkg) abort();
    if (!rc) {
        (void)net_kernel_at_least(f.kernel, 5, 1);
        for (int k = 0; k < FUZZ_NET_TYPES; k++) {
            const struct m3fs_config *cfg = fuzz_net_cfg(k);
            for (size_t node = 0; node < cfg->n_nodes; node++)
                (void)net_check_facts(cfg, node, &f, &err);
        }
    }
    net_facts_release(&f);
    sb_release(&err);
    free(out);
    return 0;
}
