/* Writing the upstream files (byte-identical format to gen_chain_table.py:
 * LF line ends, no trailing spaces except the double space before
 * --use-new-chunk-engine where --chunk-size would go). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/chaintable.h"

typedef void (*emit_fn)(const struct ct_table *t, FILE *f);

static void emit_chains(const struct ct_table *t, FILE *f)
{
    fputs("ChainId", f);
    for (size_t j = 0; t->n_chains && j < t->chains[0].n; j++) fputs(",TargetId", f);
    fputc('\n', f);
    for (size_t c = 0; c < t->n_chains; c++) {
        const struct ct_chain *ch = &t->chains[c];
        fprintf(f, "%u", ch->chain_id);
        for (size_t j = 0; j < ch->n; j++)
            fprintf(f, ",%llu", (unsigned long long)t->targets[ch->first + j].target_id);
        fputc('\n', f);
    }
}

static void emit_table(const struct ct_table *t, FILE *f)
{
    fputs("ChainId\n", f);
    for (size_t i = 0; i < t->n_order; i++) fprintf(f, "%u\n", t->order[i]);
}

static void emit_create(const struct ct_table *t, FILE *f)
{
    for (size_t c = 0; c < t->n_chains; c++)
        for (size_t j = 0; j < t->chains[c].n; j++) {
            const struct ct_target *x = &t->targets[t->chains[c].first + j];
            fprintf(f, "create-target --node-id %u --disk-index %u --target-id %llu "
                    "--chain-id %u  --use-new-chunk-engine\n", x->node_id, x->disk_index,
                    (unsigned long long)x->target_id, t->chains[c].chain_id);
        }
}

static void emit_remove(const struct ct_table *t, FILE *f)
{
    for (size_t c = 0; c < t->n_chains; c++)
        for (size_t j = 0; j < t->chains[c].n; j++) {
            const struct ct_target *x = &t->targets[t->chains[c].first + j];
            unsigned long long tid = (unsigned long long)x->target_id;
            fprintf(f, "offline-target --node-id %u --target-id %llu\n", x->node_id, tid);
            fprintf(f, "remove-target --node-id %u --target-id %llu\n", x->node_id, tid);
        }
}

/* Write through a temporary file in the same directory, then rename. */
static int write_one(const struct ct_table *t, const char *dir, const char *name, emit_fn emit,
                     struct strbuf *err)
{
    char *path = xstrfmt("%s/%s", dir, name);
    char *tmp = xstrfmt("%s/.%s.tmp", dir, name);
    int rc = -1;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        sb_addf(err, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    emit(t, f);
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
    free(path);
    free(tmp);
    return rc;
}

int ct_write_files(const struct ct_table *t, const char *dir, struct strbuf *err)
{
    static const struct {
        const char *name;
        emit_fn emit;
    } files[] = {
        { CT_FILE_CHAINS, emit_chains },
        { CT_FILE_TABLE, emit_table },
        { CT_FILE_CREATE, emit_create },
        { CT_FILE_REMOVE, emit_remove },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (write_one(t, dir, files[i].name, files[i].emit, err)) return -1;
    return 0;
}
