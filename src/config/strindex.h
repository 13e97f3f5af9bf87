/* strindex: a string -> index hash table (open addressing, FNV-1a) for the
 * config's lookups by name or path, so loading and validating n nodes
 * stays linear (issue 20: no quadratic validation).  Internal to
 * src/config.  Keys are borrowed: they must outlive the index.  Owner
 * frees with strindex_free(). */
#ifndef M3FS_CONFIG_STRINDEX_H
#define M3FS_CONFIG_STRINDEX_H

#include <stddef.h>
#include <stdint.h>

struct strindex {
    const char **key; /* NULL: empty slot */
    size_t *val;
    size_t cap, n;    /* cap: 0 or a power of two */
};

#define STRINDEX_NONE SIZE_MAX

/* The value of key, or STRINDEX_NONE. */
size_t strindex_get(const struct strindex *ix, const char *key);
/* Add key -> val unless key is there; returns the value it already had,
 * or STRINDEX_NONE when added. */
size_t strindex_add(struct strindex *ix, const char *key, size_t val);
void strindex_free(struct strindex *ix);

#endif
