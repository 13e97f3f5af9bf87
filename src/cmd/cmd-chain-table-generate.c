/* m3fs chain-table generate: write the upstream chain-table files natively,
 * from cluster.yml (-c) or from explicit numbers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "m3fs/chaintable.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"

#define UNSET LONG_MIN

static struct {
    const char *config, *out;
    long v, k, disks, r, node_begin, tprefix, cprefix;
    int rotate, interleave;
} o = { .v = UNSET, .k = UNSET, .disks = UNSET, .r = UNSET, .node_begin = UNSET,
        .tprefix = UNSET, .cprefix = UNSET };

static const struct opt_spec opts[] = {
    OPT_STRING('c', "config", &o.config, "FILE", "take the storage settings from cluster.yml"),
    OPT_STRING_REQ('o', "output", &o.out, "DIR", "directory for the files (created if missing)"),
    OPT_INT(0, "nodes", &o.v, "V", "number of storage nodes (instead of -c)"),
    OPT_INT(0, "replication-factor", &o.k, "K", "targets per chain (default 2)"),
    OPT_INT(0, "disks-per-node", &o.disks, "D", "disks per storage node (default 1)"),
    OPT_INT(0, "targets-per-disk", &o.r, "R", "minimum targets per disk (default 32)"),
    OPT_INT(0, "node-id-begin", &o.node_begin, "N", "first storage node id (default 10001)"),
    OPT_INT(0, "target-id-prefix", &o.tprefix, "P", "target id prefix (default 1)"),
    OPT_INT(0, "chain-id-prefix", &o.cprefix, "Q", "chain id prefix (default 9)"),
    OPT_BOOL(0, "rotate-heads", &o.rotate, "spread chain heads evenly over the nodes"),
    OPT_BOOL(0, "interleave", &o.interleave, "order the chain table across disk indices"),
    OPT_END(),
};

/* Back to "nothing given", so the command can run again in one process. */
static void reset_opts(void)
{
    o.config = o.out = NULL;
    o.v = o.k = o.disks = o.r = o.node_begin = o.tprefix = o.cprefix = UNSET;
    o.rotate = o.interleave = 0;
}

static long or_default(long v, long def)
{
    return v == UNSET ? def : v;
}

/* Explicit-numbers mode. */
static int params_from_flags(struct cmd_ctx *ctx, struct ct_params *p)
{
    if (o.v == UNSET)
        return cmd_usage_error(ctx, "give either -c FILE or --nodes V (with the other numbers)");
    p->v = o.v;
    p->k = or_default(o.k, 2);
    p->disks = or_default(o.disks, 1);
    p->r_min = or_default(o.r, 32);
    p->node_id_begin = or_default(o.node_begin, CT_DEFAULT_NODE_ID_BEGIN);
    p->target_prefix = or_default(o.tprefix, CT_DEFAULT_TARGET_PREFIX);
    p->chain_prefix = or_default(o.cprefix, CT_DEFAULT_CHAIN_PREFIX);
    return EXIT_OK;
}

/* cluster.yml mode; node ids are the ones `cluster create` assigns.
 * *ids is set to a malloc'd array the caller frees. */
static int params_from_config(struct cmd_ctx *ctx, struct ct_params *p, uint32_t **ids)
{
    if (o.v != UNSET || o.k != UNSET || o.disks != UNSET || o.r != UNSET ||
        o.node_begin != UNSET || o.tprefix != UNSET || o.cprefix != UNSET)
        return cmd_usage_error(ctx, "-c takes every number from the config file; do not "
                               "combine it with --nodes, --replication-factor, ...");
    struct m3fs_config *cfg = cmd_load_config(o.config, &(struct config_overrides){ 0 });
    if (!cfg) return EXIT_FAIL;
    const struct m3fs_service *st = &cfg->svc[SVC_STORAGE];
    *ids = xcalloc(st->n_member + 1, sizeof(**ids));
    for (size_t i = 0; i < st->n_member; i++)
        (*ids)[i] = (uint32_t)config_node_id(cfg, st->member[i], SVC_STORAGE);
    config_chain_params(cfg, p);
    p->node_ids = *ids;
    config_free(cfg);
    return EXIT_OK;
}

/* mkdir -p */
static int make_dir(const char *dir)
{
    char *path = xstrdup(dir);
    int rc = 0;
    for (char *s = path + 1; *s && !rc; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(path, 0755) && errno != EEXIST) rc = -1;
        *s = '/';
    }
    if (!rc && mkdir(path, 0755) && errno != EEXIST) rc = -1;
    if (rc) log_error("cannot create directory %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

static void print_summary(const struct ct_params *p, const struct ct_table *t,
                          const struct strbuf *report)
{
    printf("%s\n", t->r_reason);
    printf("storage nodes v = %ld, replication factor k = %ld, disks per node = %ld, "
           "targets per disk r = %ld\n", t->v, t->k, t->disks, t->r);
    printf("chains per disk index b = %ld, chains = %zu, targets = %zu%s%s\n", t->b,
           t->n_chains, t->n_targets, p->rotate_heads ? ", heads rotated" : "",
           p->interleave ? ", chain table interleaved" : "");
    fputs(report->buf, stdout);
}

static int generate(const struct ct_params *p)
{
    struct strbuf err = STRBUF_INIT, report = STRBUF_INIT;
    struct ct_table *t = NULL;
    int rc = EXIT_FAIL;
    struct ct_expect exp = { .k = p->k, .disks = p->disks };
    if (ct_generate(p, &t, &err)) {
        log_error("cannot generate the chain table: %s", err.buf);
        goto out;
    }
    if (ct_verify(t, &exp, NULL, &report)) {
        log_error("internal error: the generated table fails verification:\n%s", report.buf);
        goto out;
    }
    if (make_dir(o.out)) goto out;
    if (ct_write_files(t, o.out, &err)) {
        log_error("%s", err.buf);
        goto out;
    }
    print_summary(p, t, &report);
    printf("wrote %s/{%s,%s,%s,%s}\n", o.out, CT_FILE_CHAINS, CT_FILE_TABLE, CT_FILE_CREATE,
           CT_FILE_REMOVE);
    rc = EXIT_OK;
out:
    ct_table_free(t);
    sb_release(&err);
    sb_release(&report);
    return rc;
}

static int exec_generate(struct cmd_ctx *ctx)
{
    struct ct_params p;
    uint32_t *ids = NULL;
    int rc;
    ct_params_init(&p);
    p.rotate_heads = o.rotate;
    p.interleave = o.interleave;
    rc = o.config ? params_from_config(ctx, &p, &ids) : params_from_flags(ctx, &p);
    if (rc == EXIT_OK) {
        struct strbuf why = STRBUF_INIT;
        long r;
        /* bad numbers on the command line are usage errors */
        if (!o.config && (ct_choose_r(p.v, p.k, p.r_min, &r, &why) ||
                          (sb_reset(&why), ct_check_params(&p, r, &why))))
            rc = cmd_usage_error(ctx, "%s", why.buf);
        else
            rc = generate(&p);
        sb_release(&why);
    }
    free(ids);
    reset_opts();
    return rc;
}

const struct cmd_entry cmd_chain_table_generate_entry = {
    .name = "generate",
    .usage = "(-c FILE | --nodes V [--replication-factor K] [--disks-per-node D] [--targets-per-disk R] "
    "[--node-id-begin N] [--target-id-prefix P] [--chain-id-prefix Q]) -o DIR [--rotate-heads] "
    "[--interleave]",
    .summary = "Generate the chain table files (chains, table, create-target commands) natively",
    .opts = opts,
    .exec = exec_generate,
};
