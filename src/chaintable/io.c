/* Writing the upstream files (byte-identical format to gen_chain_table.py:
 * LF line ends, no trailing spaces except the double space before
 * --use-new-chunk-engine where --chunk-size would go). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/chaintable.h"

typedef void (*emit_fn)(const struct ct_table *t, struct strbuf *out);

static void emit_chains(const struct ct_table *t, struct strbuf *out)
{
    sb_adds(out, "ChainId");
    for (size_t j = 0; t->n_chains && j < t->chains[0].n; j++) sb_adds(out, ",TargetId");
    sb_addch(out, '\n');
    for (size_t c = 0; c < t->n_chains; c++) {
        const struct ct_chain *ch = &t->chains[c];
        sb_addf(out, "%u", ch->chain_id);
        for (size_t j = 0; j < ch->n; j++)
            sb_addf(out, ",%llu", (unsigned long long)t->targets[ch->first + j].target_id);
        sb_addch(out, '\n');
    }
}

static void emit_table(const struct ct_table *t, struct strbuf *out)
{
    sb_adds(out, "ChainId\n");
    for (size_t i = 0; i < t->n_order; i++) sb_addf(out, "%u\n", t->order[i]);
}

static void emit_create(const struct ct_table *t, struct strbuf *out)
{
    for (size_t c = 0; c < t->n_chains; c++)
        for (size_t j = 0; j < t->chains[c].n; j++) {
            const struct ct_target *x = &t->targets[t->chains[c].first + j];
            sb_addf(out, "create-target --node-id %u --disk-index %u --target-id %llu "
                    "--chain-id %u  --use-new-chunk-engine\n", x->node_id, x->disk_index,
                    (unsigned long long)x->target_id, t->chains[c].chain_id);
        }
}

static void emit_remove(const struct ct_table *t, struct strbuf *out)
{
    for (size_t c = 0; c < t->n_chains; c++)
        for (size_t j = 0; j < t->chains[c].n; j++) {
            const struct ct_target *x = &t->targets[t->chains[c].first + j];
            unsigned long long tid = (unsigned long long)x->target_id;
            sb_addf(out, "offline-target --node-id %u --target-id %llu\n", x->node_id, tid);
            sb_addf(out, "remove-target --node-id %u --target-id %llu\n", x->node_id, tid);
        }
}

/* Write through a temporary file in the same directory, then rename. */
static int write_one(const struct ct_table *t, const char *dir, const char *name, emit_fn emit,
                     struct strbuf *err)
{
    char *path = xstrfmt("%s/%s", dir, name);
    char *tmp = xstrfmt("%s/.%s.tmp", dir, name);
    int rc = -1;
    struct strbuf text = STRBUF_INIT;
    emit(t, &text);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        sb_addf(err, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    fwrite(text.buf, 1, text.len, f);
    int bad = ferror(f);
    if (fclose(f) || bad) {
        sb_addf(err, "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path)) {
        sb_addf(err, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    sb_release(&text);
    free(path);
    free(tmp);
    return rc;
}

static const struct {
    const char *name;
    emit_fn emit;
} files[] = {
    { CT_FILE_CHAINS, emit_chains },
    { CT_FILE_TABLE, emit_table },
    { CT_FILE_CREATE, emit_create },
    { CT_FILE_REMOVE, emit_remove },
};

int ct_format(const struct ct_table *t, const char *name, struct strbuf *out)
{
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (!strcmp(files[i].name, name)) {
            files[i].emit(t, out);
            return 0;
        }
    return -1;
}

int ct_write_files(const struct ct_table *t, const char *dir, struct strbuf *err)
{
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (write_one(t, dir, files[i].name, files[i].emit, err)) return -1;
    return 0;
}
