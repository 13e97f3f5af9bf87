/* Chain-table parameters: choosing r, range checks and the ID formulas.
 *
 * Choosing r (targets per disk = chains each node joins per disk index):
 *  - k = 1: every target is its own chain; r is the requested value.
 *  - Upstream rule (find_params): the smallest r in [r_min, 99] with v*r
 *    divisible by k and r*(k-1) >= v-1, so every pair of nodes can share a
 *    chain.  Used whenever such an r exists, for compatibility.
 *  - Large-cluster rule: when the upstream rule would need r >= 100 (upstream
 *    fails with "cannot find valid params"), the smallest r in [r_min, 99]
 *    with v*r divisible by k; then mu < 1 and no two nodes should share more
 *    than one chain per disk index. */
#include <stdint.h>

#include "m3fs/chaintable.h"

void ct_params_init(struct ct_params *p)
{
    *p = (struct ct_params){
        .v = 0,
        .k = 0,
        .disks = 1,
        .r_min = 1,
        .node_id_begin = CT_DEFAULT_NODE_ID_BEGIN,
        .target_prefix = CT_DEFAULT_TARGET_PREFIX,
        .chain_prefix = CT_DEFAULT_CHAIN_PREFIX,
    };
}

uint64_t ct_target_id(long target_prefix, long node_id, long disk_index, long target_index)
{
    uint64_t id = (uint64_t)target_prefix * 1000000u + (uint64_t)node_id;
    id = id * 1000u + (uint64_t)(disk_index + 1);
    return id * 100u + (uint64_t)(target_index + 1);
}

uint64_t ct_chain_id(long chain_prefix, long disk_index, long chain_index)
{
    uint64_t id = (uint64_t)chain_prefix * 1000u + (uint64_t)(disk_index + 1);
    return id * 100000u + (uint64_t)chain_index;
}

static int divisible(long v, long k, long r)
{
    return (v * r) % k == 0;
}

static int covers_pairs(long v, long k, long r)
{
    return r * (k - 1) >= v - 1;
}

static int check_basic(long v, long k, long r_min, struct strbuf *why)
{
    if (k < 1) {
        sb_addf(why, "replication factor %ld is invalid: it must be at least 1", k);
        return -1;
    }
    if (v < 1) {
        sb_addf(why, "%ld storage nodes: at least one storage node is needed", v);
        return -1;
    }
    if (v < k) {
        sb_addf(why, "replication factor %ld needs at least %ld storage nodes (each chain "
                "puts its replicas on distinct nodes), but there are only %ld; add storage "
                "nodes or lower the replication factor", k, k, v);
        return -1;
    }
    if (r_min < 1 || r_min > CT_MAX_R) {
        sb_addf(why, "targets per disk %ld is out of range: it must be 1..%d (the target id "
                "holds the target index in two digits)", r_min, CT_MAX_R);
        return -1;
    }
    return 0;
}

/* Why the requested value was not usable under the rule that applied. */
static void explain_change(long v, long k, long r_min, int need_pairs, struct strbuf *why)
{
    if (!divisible(v, k, r_min))
        sb_addf(why, "; %ld was raised because v*r = %ld*%ld is not divisible by k = %ld",
                r_min, v, r_min, k);
    else if (need_pairs && !covers_pairs(v, k, r_min))
        sb_addf(why, "; %ld was raised because r*(k-1) = %ld < v-1 = %ld would leave some "
                "node pairs without a shared chain", r_min, r_min * (k - 1), v - 1);
}

int ct_choose_r(long v, long k, long r_min, long *r, struct strbuf *why)
{
    if (check_basic(v, k, r_min, why)) return -1;
    if (k == 1) {
        *r = r_min;
        sb_addf(why, "r = %ld as requested: replication factor 1 makes every target its own "
                "chain (no redundancy)", r_min);
        return 0;
    }
    for (long c = r_min; c <= CT_MAX_R; c++) {
        if (!divisible(v, k, c) || !covers_pairs(v, k, c)) continue;
        *r = c;
        sb_addf(why, "r = %ld%s: upstream rule (smallest r >= %ld with v*r divisible by k "
                "and r*(k-1) >= v-1, so every pair of nodes shares a chain)", c,
                c == r_min ? " as requested" : "", r_min);
        explain_change(v, k, r_min, 1, why);
        return 0;
    }
    for (long c = r_min; c <= CT_MAX_R; c++) {
        if (!divisible(v, k, c)) continue;
        *r = c;
        sb_addf(why, "r = %ld%s: large-cluster rule (every pair of nodes sharing a chain "
                "would need r >= %ld, above the limit of %d where upstream fails with "
                "\"cannot find valid params\"; so r is the smallest value >= %ld with v*r "
                "divisible by k, mu < 1, and no two nodes share more than one chain per disk "
                "index)", c, c == r_min ? " as requested" : "", (v - 2) / (k - 1) + 1,
                CT_MAX_R, r_min);
        explain_change(v, k, r_min, 0, why);
        return 0;
    }
    sb_addf(why, "no targets-per-disk value in %ld..%d makes v*r = %ld*r divisible by the "
            "replication factor %ld (each chain needs exactly k targets); change the number "
            "of storage nodes, the replication factor or the targets per disk",
            r_min, CT_MAX_R, v, k);
    return -1;
}

static long node_id_at(const struct ct_params *p, long i)
{
    return p->node_ids ? (long)p->node_ids[i] : p->node_id_begin + i;
}

static int check_nodes(const struct ct_params *p, struct strbuf *err)
{
    if (p->v > CT_MAX_NODES) {
        sb_addf(err, "%ld storage nodes: at most %d are supported (the upstream ID scheme "
                "and tools assume node_id_end - node_id_begin < %d)", p->v, CT_MAX_NODES,
                CT_MAX_NODES);
        return -1;
    }
    for (long i = 0; i < p->v; i++) {
        long id = node_id_at(p, i);
        if (id < 1 || id > CT_MAX_NODE_ID) {
            sb_addf(err, "storage node id %ld is out of range: it must be 1..%d (six digits "
                    "of the target id)", id, CT_MAX_NODE_ID);
            return -1;
        }
        for (long j = 0; p->node_ids && j < i; j++)
            if (node_id_at(p, j) == id) {
                sb_addf(err, "storage node id %ld is listed twice", id);
                return -1;
            }
    }
    return 0;
}

static int check_prefix(const char *what, long prefix, struct strbuf *err)
{
    if (prefix >= 0 && prefix <= CT_MAX_PREFIX) return 0;
    sb_addf(err, "%s id prefix %ld is out of range: it must be 0..%d", what, prefix,
            CT_MAX_PREFIX);
    return -1;
}

int ct_check_params(const struct ct_params *p, long r, struct strbuf *err)
{
    if (check_basic(p->v, p->k, r, err) || check_nodes(p, err)) return -1;
    if (p->disks < 1 || p->disks > CT_MAX_DISKS) {
        sb_addf(err, "disks per node %ld is out of range: it must be 1..%d (three digits of "
                "the target and chain ids)", p->disks, CT_MAX_DISKS);
        return -1;
    }
    if (check_prefix("target", p->target_prefix, err) ||
        check_prefix("chain", p->chain_prefix, err))
        return -1;
    long b = p->v * r / p->k;
    if (b > CT_MAX_CHAIN_INDEX) {
        sb_addf(err, "%ld chains per disk index: the chain id holds at most %d (five digits)",
                b, CT_MAX_CHAIN_INDEX);
        return -1;
    }
    if (p->v * r * p->disks > CT_MAX_TARGETS) {
        sb_addf(err, "%ld nodes x %ld disks x %ld targets per disk = %ld targets: at most %ld "
                "are supported", p->v, p->disks, r, p->v * r * p->disks, CT_MAX_TARGETS);
        return -1;
    }
    uint64_t max_chain = ct_chain_id(p->chain_prefix, p->disks - 1, b);
    if (max_chain > UINT32_MAX) {
        sb_addf(err, "chain id %llu (prefix %ld, disk index %ld) does not fit in 32 bits "
                "(3FS ChainId is uint32, max %lu); use a chain id prefix of at most %ld",
                (unsigned long long)max_chain, p->chain_prefix, p->disks - 1,
                (unsigned long)UINT32_MAX,
                (long)((UINT32_MAX - (uint64_t)b) / 100000u - (uint64_t)p->disks) / 1000);
        return -1;
    }
    return 0;
}
