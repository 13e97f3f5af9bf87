/* cmd/drained.c: the one reading of add/remove-storage-nodes' state file
 * records for create, stop, start, restart and upgrade (drained.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drained.h"
#include "m3fs/chaintable.h"
#include "m3fs/log.h"
#include "m3fs/scale.h"
#include "m3fs/sha256.h"

/* The text of case c (include/m3fs/scale.h), naming what to run; tail
 * ends it ("Nothing was changed" for a refusal). */
static void case_text(const struct m3fs_config *cfg, const struct m3fs_state *st,
                      enum sc_create_case c, const char *why, const char *verb,
                      const char *tail, struct strbuf *out)
{
    const char *f = cfg->file;
    int create = !strcmp(verb, "create");
    switch (c) {
    case SC_CREATE_UNFINISHED:
        sb_addf(out, "the state file %s holds an unfinished %s-storage-nodes: the cluster is "
                "half moved. Finish the plan first: run `m3fs cluster %s-storage-nodes -c %s` "
                "again. %s", st->path, why, why, f, tail);
        break;
    case SC_CREATE_NEW_NODES:
        sb_addf(out, "%s: storage node(s) %s hold no targets of the cluster's chain table; "
                "%s does not add storage nodes to a created cluster (%s). Run "
                "`m3fs cluster add-storage-nodes -c %s`. %s", f, why, verb,
                create ? "its chain table would not match the cluster's"
                       : "they run no storage container of it",
                f, tail);
        break;
    case SC_CREATE_GONE_NODES:
        sb_addf(out, "%s: %s (state file %s). Node ids follow the order of services.storage "
                "from 10001: add nodes at its end, and take a node out only with "
                "`m3fs cluster remove-storage-nodes -c %s --node NAME` while it is still "
                "listed, then only from the end of the list. %s", f, why, st->path, f, tail);
        break;
    case SC_CREATE_CHANGED:
        sb_addf(out, "%s: the chain table it gives is not the one create uploaded to this "
                "cluster (state file %s): storage nodes, replicationFactor, diskNumPerNode or "
                "targetNumPerDisk changed since. Put them back; to add storage nodes run "
                "`m3fs cluster add-storage-nodes -c %s`, to remove some "
                "`m3fs cluster remove-storage-nodes`. %s", f, st->path, f, tail);
        break;
    case SC_CREATE_UNKNOWN:
        sb_addf(out, "the state file %s records a finished add- or remove-storage-nodes but "
                "not which storage nodes hold the chain table (an older m3fs wrote it): run "
                "`m3fs cluster add-storage-nodes -c %s` once (with nothing to add it records "
                "them), then %s again. %s", st->path, f, verb, tail);
        break;
    default:
        break;
    }
}

/* Does who go on in case c (NEW, OWN and KEEP always do)? */
static int goes_on(enum drained_for who, enum sc_create_case c)
{
    if (c == SC_CREATE_NEW || c == SC_CREATE_OWN || c == SC_CREATE_KEEP) return 1;
    if (who == DR_STOP) return 1;
    return who == DR_START && c == SC_CREATE_UNFINISHED;
}

size_t drained_selected(const struct plan_ctx *ctx, struct strbuf *out)
{
    const struct m3fs_config *cfg = ctx->cfg;
    size_t n = 0;
    if (!ctx->storage_skip || (ctx->only_roles && !(ctx->only_roles & (1u << SVC_STORAGE))))
        return 0;
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        if (!ctx->storage_skip[i] || (ctx->only_nodes && !ctx->only_nodes[i])) continue;
        sb_addf(out, "%s%s", n++ ? ", " : "", cfg->nodes[i].name);
    }
    return n;
}

/* The one line naming the drained nodes left out. */
static void say_drained(const struct plan_ctx *ctx, const struct m3fs_state *st,
                        enum drained_for who, const char *verb)
{
    struct strbuf names = STRBUF_INIT;
    size_t n = drained_selected(ctx, &names);
    if (who == DR_CREATE)
        log_info("the state file records the chain table add/remove-storage-nodes made: create "
                 "keeps it (no chain table files, create-target or upload steps; the waits check "
                 "its targets)%s%s", n ? "; the storage nodes remove-storage-nodes drained are "
                 "left as they are: " : "", names.buf);
    else if (n)
        log_info("%s leaves out storage on %s: remove-storage-nodes drained %s (state file %s; "
                 "no targets, its container removed): no storage step, no wait for %s",
                 verb, names.buf, n > 1 ? "them" : "it", st->path, n > 1 ? "them" : "it");
    sb_release(&names);
}

/* The case of cfg and st; drained gets sc_create_case's skip (per storage
 * member) and why its words. */
static enum sc_create_case judge(const struct m3fs_config *cfg, const struct m3fs_state *st,
                                 const struct plan_ctx *ctx, enum drained_for who,
                                 unsigned char *drained, struct strbuf *why)
{
    const struct m3fs_service *sv = &cfg->svc[SVC_STORAGE];
    char hex[SHA256_HEX_LEN + 1] = "";
    const char *uploaded = NULL;
    if (who == DR_CREATE) { /* only create builds (and so may change) the table */
        struct strbuf table = STRBUF_INIT;
        if (ct_format(ctx->ct, CT_FILE_TABLE, &table)) abort(); /* the name is ct's own */
        sha256_buf_hex(table.buf ? table.buf : "", table.len, hex); /* as chains.c records it */
        sb_release(&table);
        uploaded = state_get_done(st, "upload-chain-table");
    }
    uint32_t *ids = xcalloc(sv->n_member + 1, sizeof(*ids));
    const char **names = xcalloc(sv->n_member + 1, sizeof(*names));
    for (size_t i = 0; i < sv->n_member; i++) {
        ids[i] = (uint32_t)config_node_id(cfg, sv->member[i], SVC_STORAGE);
        names[i] = config_node_label(&cfg->nodes[sv->member[i]]);
    }
    struct sc_create_in in = { state_get_done(st, SC_STATE_PLAN),
                               state_get_done(st, SC_STATE_NODES), uploaded, hex, ids, names,
                               sv->n_member };
    enum sc_create_case c = sc_create_case(&in, drained, why);
    /* what stop (or a start of a half-moved cluster) goes on in: it still
     * leaves out what the record says was drained */
    if (c != SC_CREATE_KEEP && goes_on(who, c)) sc_drained_nodes(&in, drained);
    free(ids), free(names);
    return c;
}

int cmd_drained(const struct m3fs_config *cfg, const struct m3fs_state *st,
                struct plan_ctx *ctx, enum drained_for who, const char *verb,
                unsigned char **skip)
{
    const struct m3fs_service *sv = &cfg->svc[SVC_STORAGE];
    *skip = NULL;
    if (!sv->n_member || (who == DR_CREATE && !ctx->ct)) return 0; /* no chain table */
    struct strbuf why = STRBUF_INIT, text = STRBUF_INIT;
    unsigned char *drained = xcalloc(sv->n_member + 1, 1);
    enum sc_create_case c = judge(cfg, st, ctx, who, drained, &why);
    int rc = goes_on(who, c) ? 0 : -1;
    char *tail = rc ? xstrdup("Nothing was changed")
                 : who == DR_STOP ? xstrfmt("`m3fs cluster %s` goes on all the same: it stops "
                                            "only the containers that run", verb)
                 : xstrfmt("`m3fs cluster %s` goes on all the same, without the "
                           "SERVING-UPTODATE wait (the chain table is between two; the scale "
                           "command's own waits judge each move)", verb);
    case_text(cfg, st, c, why.buf, verb, tail, &text);
    if (rc) log_error("%s", text.buf);
    else if (text.len) log_warn("%s", text.buf);
    size_t n = 0;
    for (size_t i = 0; i < sv->n_member; i++) n += drained[i];
    if (!rc && c == SC_CREATE_KEEP && who == DR_CREATE) ctx->keep_table = 1;
    if (!rc && c == SC_CREATE_UNFINISHED && who == DR_START) ctx->half_moved = 1;
    if (!rc && n) {
        *skip = xcalloc(cfg->n_nodes + 1, 1);
        for (size_t i = 0; i < sv->n_member; i++) (*skip)[sv->member[i]] = drained[i];
        ctx->storage_skip = *skip;
    }
    if (!rc && (n || (c == SC_CREATE_KEEP && who == DR_CREATE))) say_drained(ctx, st, who, verb);
    free(drained), free(tail);
    sb_release(&why), sb_release(&text);
    return rc;
}
