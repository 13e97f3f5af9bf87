/* config/strindex.c: see strindex.h. */
#include "strindex.h"

#include <stdlib.h>
#include <string.h>

#include "m3fs/strbuf.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 1099511628211ull;
    return h;
}

static size_t slot(const struct strindex *ix, const char *key)
{
    size_t i = (size_t)hash(key) & (ix->cap - 1);
    while (ix->key[i] && strcmp(ix->key[i], key)) i = (i + 1) & (ix->cap - 1);
    return i;
}

size_t strindex_get(const struct strindex *ix, const char *key)
{
    if (!ix->cap) return STRINDEX_NONE;
    size_t i = slot(ix, key);
    return ix->key[i] ? ix->val[i] : STRINDEX_NONE;
}

static void grow(struct strindex *ix)
{
    struct strindex old = *ix;
    ix->cap = old.cap ? old.cap * 2 : 64;
    ix->key = xcalloc(ix->cap, sizeof(*ix->key));
    ix->val = xcalloc(ix->cap, sizeof(*ix->val));
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.key[i]) continue;
        size_t j = slot(ix, old.key[i]);
        ix->key[j] = old.key[i], ix->val[j] = old.val[i];
    }
    free(old.key), free(old.val);
}

size_t strindex_add(struct strindex *ix, const char *key, size_t val)
{
    if ((ix->n + 1) * 2 > ix->cap) grow(ix);
    size_t i = slot(ix, key);
    if (ix->key[i]) return ix->val[i];
    ix->key[i] = key, ix->val[i] = val;
    ix->n++;
    return STRINDEX_NONE;
}

void strindex_free(struct strindex *ix)
{
    free(ix->key), free(ix->val);
    memset(ix, 0, sizeof(*ix));
}
