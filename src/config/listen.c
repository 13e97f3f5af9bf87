/* What a 3FS listener binds to (upstream src/common/net/Listener.cc at
 * ee9a5ce: checkNicType + Listener::setup) and which listener types m3fs
 * renders per networkType (templates/groups_*.toml.part). */
#include <string.h>

#include "m3fs/config.h"

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

const char *listen_type_name(enum listen_type t)
{
    return t == LISTEN_TCP ? "TCP" : t == LISTEN_RDMA ? "RDMA" : "IPoIB";
}

int listen_nic_eligible(const char *nic, enum listen_type t)
{
    if (t == LISTEN_IPOIB) return starts(nic, "ib");
    return starts(nic, "en") || starts(nic, "eth") || starts(nic, "bond") || starts(nic, "xgbe");
}

const char *listen_nic_prefixes(enum listen_type t)
{
    return t == LISTEN_IPOIB ? "ib*" : "en*, eth*, bond* or xgbe*";
}

enum listen_type config_listen_type(const struct m3fs_config *cfg, enum svc_kind k)
{
    if (cfg->net == NET_TCP) return LISTEN_TCP;
    if (cfg->net == NET_IB && k == SVC_MGMTD) return LISTEN_IPOIB;
    return LISTEN_RDMA;
}
