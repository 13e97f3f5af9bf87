/* cmd: the command table.  Each command lives in src/cmd/cmd-<name>.c and
 * exports one `const struct cmd_entry`; src/cmd/cmd-table.c gathers them
 * into groups (artifact, cluster, config, ...) under the root entry.
 *
 * A leaf entry has `exec`; a group entry has `children` (NULL-terminated).
 * Options are declared in `opts` (see opt.h) and parsed by the dispatcher
 * together with the global options before exec is called.  Setup shared by
 * commands is declared in the entry and done by the dispatcher (as git's
 * RUN_SETUP): positional-word counts (`min_args`/`max_args`), `-c FILE` with
 * the config loaded into ctx->cfg (CMD_CONFIG), `-w/-r` overrides
 * (CMD_OVERRIDES), `--dry-run` (CMD_DRY_RUN), the cluster's lock
 * (CMD_LOCK) and the range of --parallel (1..`max_parallel`). */
#ifndef M3FS_CMD_H
#define M3FS_CMD_H

#include "m3fs/opt.h"
#include "m3fs/remote.h"

/* Exit codes */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* The largest --parallel any command takes (nodes at once). */
#define CMD_MAX_PARALLEL 1024

/* cmd_entry.flags: setup the dispatcher does before exec. */
#define CMD_CONFIG 0x1    /* -c FILE (required), loaded and validated into ctx->cfg */
#define CMD_OVERRIDES 0x2 /* with CMD_CONFIG: -w DIR and -r REGISTRY override the config */
#define CMD_DRY_RUN 0x4   /* --dry-run into ctx->dry_run: print the plan, touch nothing */
/* With CMD_CONFIG: the command changes the cluster.  Unless --dry-run, the
 * dispatcher takes the cluster's lock (cluster_lock, plan.h) before exec and
 * holds it until exec returns; when another m3fs holds it, the command is
 * refused (exit 1, naming the holder) before exec reads or touches anything. */
#define CMD_LOCK 0x8

struct cmd_entry;
struct m3fs_config;

struct cmd_ctx {
    const struct cmd_entry *entry;
    const char *path;        /* e.g. "m3fs cluster architecture" */
    struct opt_rest args;    /* positional words (borrowed from argv) */
    int dashdash_at;         /* index in args where words after "--" start, or -1 */
    struct m3fs_config *cfg; /* CMD_CONFIG: loaded by the dispatcher, freed after exec */
    const char *config_path; /* CMD_CONFIG: the -c FILE (borrowed from argv) */
    struct remote_opts ro;   /* from the global options (host keys, local exec) */
    long parallel;           /* --parallel, checked against the entry's range */
    int no_color;            /* --no-color */
    int dry_run;             /* CMD_DRY_RUN: --dry-run was given */
};

struct cmd_entry {
    const char *name;
    const char *const *aliases;  /* NULL-terminated, or NULL */
    const char *usage;           /* arguments part of the usage line */
    const char *summary;         /* one line */
    const struct opt_spec *opts; /* may be NULL */
    int (*exec)(struct cmd_ctx *ctx);
    const struct cmd_entry *const *children;
    unsigned flags;              /* CMD_CONFIG, CMD_OVERRIDES, CMD_DRY_RUN, CMD_LOCK */
    int min_args, max_args;      /* positional words; max_args -1: any number */
    long max_parallel;           /* 0: CMD_MAX_PARALLEL */
};

extern const struct cmd_entry cmd_root_entry;

/* The option tables the dispatcher adds to an entry by its flags (for help
 * and tests): -c for CMD_CONFIG, -w/-r for CMD_OVERRIDES, --dry-run for
 * CMD_DRY_RUN.  Fills out[] with static tables; returns how many. */
#define CMD_SETUP_TABLES 2
size_t cmd_setup_opts(const struct cmd_entry *e, const struct opt_spec *out[CMD_SETUP_TABLES]);

/* The global options (valid with every command), for help and tests. */
const struct opt_spec *cmd_global_opts(void);

/* Run the command line; returns the process exit code. */
int cmd_main(int argc, char **argv);

/* Print `m3fs <path>` usage for an entry into stdout or stderr. */
void cmd_print_help(const struct cmd_entry *e, const char *path, FILE *out);

/* Report a usage error for ctx's command (message + help on stderr); returns EXIT_USAGE. */
int cmd_usage_error(struct cmd_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* After a question on stderr: read the answer line from stdin into line
 * (n bytes, without its line break).  0, or -1 having said that no answer
 * came (nothing was changed; --yes skips the question). */
int cmd_read_answer(char *line, size_t n);
/* question (stderr), then "Type 'yes' to go on: " and the answer: 1 when
 * it is "yes".  need_tty: refused (0, logged) when stdin is no terminal.
 * The caller skips this for --yes. */
int cmd_confirm_yes(const char *question, int need_tty);

struct plan;
struct remote_ctx;
/* Before anything changes (create, add-client, add-storage-nodes): log in
 * to every node plan p touches (in parallel) and run a command as root; on
 * nodes that run a 3FS listener, check 3FS would find its NICs
 * (docs/network.md).  Logs every node that cannot be used, and why;
 * returns 0 or -1. */
int cmd_preflight(const struct m3fs_config *cfg, const struct plan *p, struct remote_ctx *rc,
                  long parallel);

struct m3fs_state;
/* A plan that changes the cluster, as cmd_run_plan() runs it.  Every
 * pointer is borrowed: the caller owns and frees p, st, rc and done after
 * the call. */
struct cmd_run {
    const struct plan *p;
    struct m3fs_state *st; /* the cluster's state file (plan_run's one-time steps) */
    struct remote_ctx *rc; /* NULL: one of the config's nodes, made and freed for the run */
    const char *done;      /* said on success: "<done> (N actions ran, M were already done)." */
    /* NULL, or called after a successful run, before done is said
     * (destroy: remove the state file) */
    void (*on_done)(struct m3fs_state *st);
};
/* Run r->p with the state file over r->rc (ctx->parallel nodes at a
 * time), say how it went (done and the counts on stdout; or the failure or
 * interruption, and that the same command finishes it).  The cluster's lock
 * is the dispatcher's (CMD_LOCK).  Returns EXIT_OK or EXIT_FAIL.
 * Used by add-client, delete-client, destroy, stop/start/restart; create,
 * upgrade and the storage-node changes do more around their run (checks
 * first, state recorded, resume wording) and run their plans themselves. */
int cmd_run_plan(const struct cmd_ctx *ctx, const struct cmd_run *r);

struct config_overrides;
/* Load and validate a cluster.yml for a command: prints every diagnostic
 * (errors and warnings) to stderr; returns NULL when there were errors.
 * The caller frees the result with config_free(). */
struct m3fs_config *cmd_load_config(const char *path, const struct config_overrides *ov);

/* Node selection and parallel runs for commands that act on chosen nodes
 * (cluster exec, cluster copy, cluster bench). */
struct strbuf;
struct strvec;
struct remote_session;

struct cmd_nodes {
    struct m3fs_config *cfg; /* borrowed from the cmd_ctx */
    size_t *idx;             /* owned: indexes into cfg->nodes, in config order */
    size_t n;                /* at least 1 */
};

/* Select the nodes of ctx->cfg (CMD_CONFIG) with the given roles and names,
 * every node when both are empty (remote_select_nodes).  Returns EXIT_OK
 * with sel filled (free with cmd_nodes_release()); otherwise the exit code,
 * having said why (a usage error for an unknown role or node name;
 * EXIT_FAIL for a selection of no node), with nothing left to free. */
int cmd_select_nodes(struct cmd_ctx *ctx, const struct strvec *roles,
                     const struct strvec *names, struct cmd_nodes *sel);
void cmd_nodes_release(struct cmd_nodes *sel);

/* What cmd_run_nodes() runs: fn on each node (returns 0, or non-zero with
 * the reason in err), as the one CALL step of a plan titled title ("run a
 * command") of service; what: what fn does there, for --dry-run. */
struct cmd_call {
    const char *service, *title, *what;
    int (*fn)(struct remote_session *s, size_t node, void *arg, struct strbuf *err);
    void *arg;
};
/* Run call on every selected node through the plan runner (src/plan:
 * ctx->parallel at a time, SIGINT stops it, progress logged).  With
 * ctx->dry_run (CMD_DRY_RUN) prints the plan instead and returns NULL.
 * Otherwise returns sel->n error buffers in selection order, secrets
 * masked, empty for a node that succeeded (a failed connection included);
 * free them with cmd_errs_free().  *failed: nodes that failed. */
struct strbuf *cmd_run_nodes(const struct cmd_ctx *ctx, const struct cmd_nodes *sel,
                             const struct cmd_call *call, size_t *failed);
void cmd_errs_free(struct strbuf *errs, size_t n);

#endif
