/* Walks the command table from argv to a leaf command and runs it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"
#include "m3fs/plan.h"
#include "m3fs/strbuf.h"
#include "m3fs/version.h"

/* Global options, valid before or after any command word.  Only the
 * dispatcher reads them; commands get what they need in their cmd_ctx. */
static struct {
    int debug;
    int no_color;
    int version;
    long parallel;
    const char *known_hosts;  /* --known-hosts FILE (borrowed from argv) */
    int accept_new_host_keys; /* --accept-new-host-keys */
} g_opts = { .parallel = 64 };

/* The values of the options the dispatcher adds by an entry's flags. */
static struct {
    const char *config, *workdir, *registry;
    int dry_run;
} setup;

static const struct opt_spec config_opts[] = {
    OPT_STRING_REQ('c', "config", &setup.config, "FILE", "cluster config"),
    OPT_END(),
};

static const struct opt_spec config_override_opts[] = {
    OPT_STRING_REQ('c', "config", &setup.config, "FILE", "cluster config"),
    OPT_STRING('w', "workdir", &setup.workdir, "DIR", "override workDir of the config"),
    OPT_STRING('r', "registry", &setup.registry, "REGISTRY",
               "override images.registry of the config"),
    OPT_END(),
};

static const struct opt_spec dry_run_opts[] = {
    OPT_BOOL(0, "dry-run", &setup.dry_run, "print every step, its nodes and what runs; touch "
             "nothing"),
    OPT_END(),
};

static const struct opt_spec global_opts[] = {
    OPT_BOOL(0, "debug", &g_opts.debug, "print every step and remote command (secrets masked)"),
    OPT_BOOL(0, "no-color", &g_opts.no_color, "no colour in output (also: NO_COLOR=1)"),
    OPT_BOOL('v', "version", &g_opts.version, "print version information"),
    OPT_STRING(0, "known-hosts", &g_opts.known_hosts, "FILE", "known_hosts file for node host keys (default ~/.ssh/known_hosts; also M3FS_KNOWN_HOSTS)"),
    OPT_BOOL(0, "accept-new-host-keys", &g_opts.accept_new_host_keys, "record unknown node host keys instead of refusing (changed keys are always refused)"),
    OPT_INT(0, "parallel", &g_opts.parallel, "N", "run a step on at most N nodes at once (default 64)"),
    OPT_END(),
};

const struct opt_spec *cmd_global_opts(void)
{
    return global_opts;
}

static int name_matches(const struct cmd_entry *e, const char *w)
{
    if (!strcmp(e->name, w)) return 1;
    for (const char *const *a = e->aliases; a && *a; a++)
        if (!strcmp(*a, w)) return 1;
    return 0;
}

/* A group with no subcommands yet is hidden: commands are listed only once they work. */
static int listed(const struct cmd_entry *e)
{
    return !e->children || e->children[0];
}

size_t cmd_setup_opts(const struct cmd_entry *e, const struct opt_spec *out[CMD_SETUP_TABLES])
{
    size_t n = 0;
    if (e->flags & CMD_CONFIG)
        out[n++] = e->flags & CMD_OVERRIDES ? config_override_opts : config_opts;
    if (e->flags & CMD_DRY_RUN) out[n++] = dry_run_opts;
    return n;
}

static const struct cmd_entry *find_child(const struct cmd_entry *g, const char *w)
{
    for (const struct cmd_entry *const *c = g->children; c && *c; c++)
        if (listed(*c) && name_matches(*c, w)) return *c;
    return NULL;
}

void cmd_print_help(const struct cmd_entry *e, const char *path, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s\n\nUsage: %s", e->summary, path);
    if (e->children) sb_adds(&sb, " COMMAND [OPTIONS]");
    if (e->usage) sb_addf(&sb, " %s", e->usage);
    sb_addch(&sb, '\n');
    if (e->aliases && e->aliases[0]) {
        sb_adds(&sb, "Aliases:");
        for (const char *const *a = e->aliases; *a; a++) sb_addf(&sb, " %s", *a);
        sb_addch(&sb, '\n');
    }
    if (e->children) {
        sb_adds(&sb, "\nCommands:\n");
        for (const struct cmd_entry *const *c = e->children; *c; c++) {
            if (!listed(*c)) continue;
            size_t start = sb.len;
            sb_addf(&sb, "  %s", (*c)->name);
            for (const char *const *a = (*c)->aliases; a && *a; a++)
                sb_addf(&sb, "%s%s", a == (*c)->aliases ? " (" : ", ", *a);
            if ((*c)->aliases && (*c)->aliases[0]) sb_addch(&sb, ')');
            size_t w = sb.len - start;
            sb_addchars(&sb, ' ', w < 34 ? 34 - w : 1);
            sb_addf(&sb, "%s\n", (*c)->summary);
        }
    }
    const struct opt_spec *so[CMD_SETUP_TABLES];
    size_t n_so = cmd_setup_opts(e, so);
    if (n_so || (e->opts && e->opts[0].type != OPT_T_END)) {
        sb_adds(&sb, "\nOptions:\n");
        for (size_t k = 0; k < n_so; k++) opt_usage(so[k], &sb);
        if (e->opts) opt_usage(e->opts, &sb);
    }
    sb_adds(&sb, "\nGlobal options:\n");
    opt_usage(global_opts, &sb);
    sb_adds(&sb, "  -h, --help                    show this help\n");
    if (e->children) sb_addf(&sb, "\nRun '%s COMMAND --help' for more about a command.\n", path);
    fwrite(sb.buf, 1, sb.len, out);
    sb_release(&sb);
}

int cmd_usage_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n\n", ctx->path, sb.buf);
    cmd_print_help(ctx->entry, ctx->path, stderr);
    sb_release(&sb);
    return EXIT_USAGE;
}

static void apply_globals(void)
{
    log_set_level(g_opts.debug ? LOG_DEBUG : LOG_INFO);
    log_set_color(log_color_wanted(stderr, g_opts.no_color));
}

/* The --parallel range and the entry's declared word count; a usage error or 0. */
static int check_words(struct cmd_ctx *ctx)
{
    const struct cmd_entry *e = ctx->entry;
    int n = ctx->args.n;
    long max = e->max_parallel ? e->max_parallel : CMD_MAX_PARALLEL;
    if (g_opts.parallel < 1 || g_opts.parallel > max)
        return cmd_usage_error(ctx, "--parallel must be between 1 and %ld, not %ld", max,
                               g_opts.parallel);
    if (e->max_args >= 0 && n > e->max_args)
        return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args.v[e->max_args]);
    if (n < e->min_args)
        return cmd_usage_error(ctx, "missing argument%s: expected %d, got %d (usage: %s)",
                               plural_s(e->min_args - n), e->min_args, n, e->usage);
    return 0;
}

/* CMD_LOCK: one run per cluster.  The lock's descriptor, or -1 having said
 * who holds it (nothing was read or changed yet). */
static int lock_cluster(const struct cmd_ctx *ctx)
{
    struct strbuf err = STRBUF_INIT;
    int fd = cluster_lock(ctx->cfg->file, ctx->cfg->name, ctx->path, &err);
    if (fd < 0) log_error("%s", err.buf);
    sb_release(&err);
    return fd;
}

/* Everything an entry's flags ask for, then exec. */
static int setup_and_exec(struct cmd_ctx *ctx)
{
    const struct cmd_entry *e = ctx->entry;
    int rc = check_words(ctx);
    if (rc) return rc;
    apply_globals();
    remote_opts_default(&ctx->ro);
    ctx->ro.known_hosts = g_opts.known_hosts;
    ctx->ro.accept_new_host_keys = g_opts.accept_new_host_keys;
    ctx->parallel = g_opts.parallel;
    ctx->no_color = g_opts.no_color;
    ctx->dry_run = setup.dry_run;
    if (e->flags & CMD_CONFIG) {
        struct config_overrides ov = { .work_dir = setup.workdir, .registry = setup.registry };
        ctx->config_path = setup.config;
        ctx->cfg = cmd_load_config(setup.config, &ov);
        if (!ctx->cfg) return EXIT_FAIL;
    }
    int lock = -1;
    if ((e->flags & CMD_LOCK) && !ctx->dry_run && (lock = lock_cluster(ctx)) < 0) rc = EXIT_FAIL;
    else rc = e->exec(ctx);
    cluster_unlock(lock);
    config_free(ctx->cfg);
    ctx->cfg = NULL;
    return rc;
}

static int run_leaf(const struct cmd_entry *e, struct strbuf *path, int argc, char **argv)
{
    /* the entry's setup options, its own, the global ones, NULL */
    const struct opt_spec *tables[CMD_SETUP_TABLES + 3];
    size_t n = cmd_setup_opts(e, tables);
    if (e->opts) tables[n++] = e->opts;
    tables[n++] = global_opts;
    tables[n] = NULL;
    struct cmd_ctx ctx = { .entry = e, .path = path->buf };
    struct strbuf err = STRBUF_INIT;
    int help = 0, rc;
    if (opt_parse(tables, argc, argv, &ctx.args, &ctx.dashdash_at, &help, &err)) {
        rc = cmd_usage_error(&ctx, "%s", err.buf);
    } else if (help) {
        cmd_print_help(e, path->buf, stdout);
        rc = EXIT_OK;
    } else {
        rc = setup_and_exec(&ctx);
    }
    opt_rest_free(&ctx.args);
    sb_release(&err);
    return rc;
}

/* Whether global option word `a` takes its value from the next word
 * ("--parallel 4", "--known-hosts FILE"; not "--parallel=4"). */
static int value_in_next_word(const char *a)
{
    for (const struct opt_spec *o = global_opts; o->type != OPT_T_END; o++) {
        if (o->type == OPT_T_BOOL) continue;
        if (a[1] == '-' && o->long_name && !strcmp(a + 2, o->long_name)) return 1;
        if (a[1] != '-' && o->short_name && a[strlen(a) - 1] == o->short_name) return 1;
    }
    return 0;
}

/* Consume leading global options (and -h) before a group's command word. */
static int group_globals(int *i, int argc, char **argv, int *help, struct strbuf *err)
{
    const struct opt_spec *const tables[] = { global_opts, NULL };
    for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
        struct opt_rest rest = { 0 };
        int words = *i + 1 < argc && value_in_next_word(argv[*i]) ? 2 : 1;
        int r = opt_parse(tables, words, argv + *i, &rest, NULL, help, err);
        opt_rest_free(&rest);
        if (r) return -1;
        *i += words - 1;
    }
    return 0;
}

int cmd_main(int argc, char **argv)
{
    const struct cmd_entry *e = &cmd_root_entry;
    struct strbuf path = STRBUF_INIT;
    struct strbuf err = STRBUF_INIT;
    int i = 1, help = 0, rc;
    sb_adds(&path, "m3fs");
    for (;;) {
        if (!e->children) {
            rc = run_leaf(e, &path, argc - i, argv + i);
            break;
        }
        struct cmd_ctx ctx = { .entry = e, .path = path.buf };
        if (group_globals(&i, argc, argv, &help, &err)) {
            rc = cmd_usage_error(&ctx, "%s", err.buf);
            break;
        }
        if (g_opts.version && e == &cmd_root_entry) {
            m3fs_print_version(stdout);
            rc = EXIT_OK;
            break;
        }
        if (i >= argc) {
            cmd_print_help(e, path.buf, help ? stdout : stderr);
            rc = help ? EXIT_OK : EXIT_USAGE;
            break;
        }
        const struct cmd_entry *c = find_child(e, argv[i]);
        if (!c) {
            rc = cmd_usage_error(&ctx, "unknown command '%s'", argv[i]);
            break;
        }
        sb_addf(&path, " %s", c->name);
        e = c;
        i++;
        if (help && e->children) continue;
        if (help) {
            cmd_print_help(e, path.buf, stdout);
            rc = EXIT_OK;
            break;
        }
    }
    sb_release(&path);
    sb_release(&err);
    return rc;
}
