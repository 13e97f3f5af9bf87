/* m3fs cluster exec: run one command on the selected nodes in parallel and
 * print each node's output with its name and exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/remote.h"
#include "m3fs/shquote.h"

static struct {
    const char *timeout;
    struct strvec roles, names;
    int sudo, stream;
} o;

static const struct opt_spec opts[] = {
    OPT_LIST(0, "role", &o.roles, "ROLE", "only nodes of this service (fdb, clickhouse, monitor, "
             "mgmtd, meta, storage, client, grafana, postgresql); repeatable"),
    OPT_LIST(0, "node", &o.names, "NAME", "only this node; repeatable"),
    OPT_STRING(0, "timeout", &o.timeout, "DURATION",
               "end the command after this long (e.g. 30s, 5m; default 1h, 0: never)"),
    OPT_BOOL(0, "sudo", &o.sudo, "run as root (through sudo when the login user is not root)"),
    OPT_BOOL(0, "stream", &o.stream, "also log output lines live, prefixed with the node name"),
    OPT_END(),
};

struct node_run {
    const char *cmd;
    long timeout_ms;
    struct exec_result *res; /* per node index */
    char *ran;               /* per node index: 0 no connection, 2 exec failed, 1 ran */
    char *local;             /* per node index: ran on this machine without SSH */
};

static int run_on_node(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct node_run *nr = arg;
    struct strbuf prefix = STRBUF_INIT;
    const struct m3fs_node *n = remote_node(s);
    sb_addf(&prefix, "[%s]", n->name);
    nr->ran[node] = 2;
    nr->local[node] = (char)remote_is_local(s);
    struct exec_opts eo = { .timeout_ms = nr->timeout_ms, .as_root = o.sudo,
                            .stream_prefix = o.stream ? prefix.buf : NULL };
    int rc = remote_exec(s, nr->cmd, &eo, &nr->res[node], err);
    sb_release(&prefix);
    if (rc) return 1;
    nr->ran[node] = 1;
    return 0; /* the command's own status is reported per node, not as an error */
}

/* One shell word: used as the command line; several: an argv, quoted. */
static void build_command(struct cmd_ctx *ctx, int first, struct strbuf *cmd)
{
    int n = ctx->args.n - first;
    if (n == 1) {
        sb_adds(cmd, ctx->args.v[first]);
        return;
    }
    sh_quote_argv(cmd, ctx->args.v + first);
}

static void print_block(const char *label, const struct strbuf *sb)
{
    if (!sb->len) return;
    if (label) printf("-- %s\n", label);
    fwrite(sb->buf, 1, sb->len, stdout);
    if (sb->buf[sb->len - 1] != '\n') putchar('\n');
}

static void print_node(const struct m3fs_node *n, const struct node_run *nr, size_t i,
                       const struct strbuf *err)
{
    const struct exec_result *r = &nr->res[i];
    printf("== %s (%s%s) ", n->name, n->host, nr->local[i] ? ", local" : "");
    if (nr->ran[i] != 1) printf("%s\n%s\n", nr->ran[i] ? "error" : "unreachable (no connection)", err->buf);
    else if (r->timed_out) printf("timed out after %s\n", o.timeout);
    else if (r->signal[0]) printf("killed by signal %s\n", r->signal);
    else printf("exit %d\n", r->exit_status);
    if (nr->ran[i] == 1) {
        print_block(NULL, &r->out);
        print_block("stderr", &r->err);
    }
}

/* Without --timeout a command ends after an hour: a command that never
 * ends (or a node that stopped answering) does not hold the run for ever. */
#define EXEC_DEFAULT_TIMEOUT "1h"

static int parse_timeout(struct cmd_ctx *ctx, long *ms)
{
    int64_t v = 0;
    *ms = 0;
    if (!o.timeout) o.timeout = EXEC_DEFAULT_TIMEOUT;
    if (!strcmp(o.timeout, "0")) return 0;
    if (parse_duration_ms(o.timeout, &v) || v <= 0)
        return cmd_usage_error(ctx, "bad --timeout '%s' (examples: 30s, 5m, 1h; 0: never)",
                               o.timeout);
    *ms = (long)v;
    return 0;
}

static int check_args(struct cmd_ctx *ctx, int *first)
{
    *first = ctx->dashdash_at >= 0 ? ctx->dashdash_at : 0;
    if (ctx->dashdash_at > 0)
        return cmd_usage_error(ctx, "unexpected argument '%s' before --", ctx->args.v[0]);
    if (ctx->args.n - *first < 1) return cmd_usage_error(ctx, "no command given after --");
    return 0;
}

static int run_selected(const struct cmd_ctx *ctx, const struct cmd_nodes *sel,
                        struct node_run *nr)
{
    size_t failed = 0, unreachable = 0, n_idx = sel->n;
    struct strbuf what = STRBUF_INIT;
    sb_addf(&what, "run%s: %s (timeout %s)", o.sudo ? " as root" : "", nr->cmd,
            nr->timeout_ms ? o.timeout : "none");
    struct cmd_call call = { "exec", "run a command", what.buf, run_on_node, nr };
    struct strbuf *errs = cmd_run_nodes(ctx, sel, &call, &failed);
    sb_release(&what);
    if (!errs) return EXIT_OK; /* --dry-run */
    for (size_t k = 0; k < n_idx; k++) {
        size_t i = sel->idx[k];
        print_node(&sel->cfg->nodes[i], nr, i, &errs[k]);
        unreachable += nr->ran[i] == 0;
        failed += !errs[k].len && (nr->res[i].exit_status != 0 || nr->res[i].timed_out ||
                                   nr->res[i].signal[0]);
    }
    cmd_errs_free(errs, n_idx);
    printf("%zu node%s: %zu ok, %zu failed, %zu unreachable\n", n_idx, plural_s(n_idx),
           n_idx - failed, failed - unreachable, unreachable);
    return failed ? EXIT_FAIL : EXIT_OK;
}

static int exec_cluster_exec(struct cmd_ctx *ctx)
{
    int first, rc;
    long timeout_ms;
    if ((rc = check_args(ctx, &first)) || (rc = parse_timeout(ctx, &timeout_ms))) return rc;
    struct cmd_nodes sel;
    if ((rc = cmd_select_nodes(ctx, &o.roles, &o.names, &sel))) return rc;
    struct strbuf cmd = STRBUF_INIT;
    build_command(ctx, first, &cmd);
    size_t n_nodes = sel.cfg->n_nodes;
    struct node_run nr = { cmd.buf, timeout_ms, xcalloc(n_nodes, sizeof(struct exec_result)),
                           xcalloc(n_nodes, 1), xcalloc(n_nodes, 1) };
    for (size_t i = 0; i < n_nodes; i++) exec_result_init(&nr.res[i]);
    fflush(stdout);
    rc = run_selected(ctx, &sel, &nr);
    for (size_t i = 0; i < n_nodes; i++) exec_result_release(&nr.res[i]);
    free(nr.res);
    free(nr.ran);
    free(nr.local);
    sb_release(&cmd);
    cmd_nodes_release(&sel);
    return rc;
}

const struct cmd_entry cmd_cluster_exec_entry = {
    .name = "exec",
    .usage = "-c FILE [--role ROLE|--node NAME]... [--timeout D] [--sudo] [--stream] [--dry-run] "
             "-- COMMAND...",
    .summary = "Run a command on the selected nodes in parallel and show each node's output",
    .opts = opts,
    .exec = exec_cluster_exec,
    .flags = CMD_CONFIG | CMD_DRY_RUN,
    .max_args = -1,
};
