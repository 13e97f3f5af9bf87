/* m3fs chain-table verify: check chain-table files made by m3fs or elsewhere. */
#include <stdio.h>

#include "m3fs/chaintable.h"
#include "m3fs/cmd.h"
#include "m3fs/log.h"

static struct {
    long k, disks, stripe;
} o;

static const struct opt_spec opts[] = {
    OPT_INT(0, "replication-factor", &o.k, "K", "every chain must have K targets"),
    OPT_INT(0, "disks-per-node", &o.disks, "D", "every disk index must be below D"),
    OPT_INT(0, "stripe-size", &o.stripe, "S", "the table must list at least S chains"),
    OPT_END(),
};

static int exec_verify(struct cmd_ctx *ctx)
{
    struct ct_expect exp = { o.k, o.disks, o.stripe };
    o.k = o.disks = o.stripe = 0;
    if (exp.k < 0 || exp.disks < 0 || exp.stripe_size < 0)
        return cmd_usage_error(ctx, "--replication-factor, --disks-per-node and --stripe-size "
                               "must not be negative");
    struct strbuf err = STRBUF_INIT, report = STRBUF_INIT;
    struct ct_table *t = NULL;
    int rc = EXIT_FAIL;
    if (ct_read_files(ctx->args.v[0], &t, &err)) {
        log_error("%s", err.buf);
        log_error("%s does not hold a readable chain table (%s, %s, %s)", ctx->args.v[0],
                  CT_FILE_CHAINS, CT_FILE_TABLE, CT_FILE_CREATE);
    } else {
        long errors = ct_verify(t, &exp, NULL, &report);
        fputs(report.buf, stdout);
        rc = errors ? EXIT_FAIL : EXIT_OK;
    }
    ct_table_free(t);
    sb_release(&err);
    sb_release(&report);
    return rc;
}

const struct cmd_entry cmd_chain_table_verify_entry = {
    .name = "verify",
    .usage = "DIR [--replication-factor K] [--disks-per-node D] [--stripe-size S]",
    .summary = "Check chain table files (hard rules and balance), e.g. ones made elsewhere",
    .opts = opts,
    .exec = exec_verify,
    .min_args = 1,
    .max_args = 1,
};
