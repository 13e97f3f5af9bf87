/* Internal: the declarative schema of cluster.yml used by load.c. */
#ifndef M3FS_CONFIG_SCHEMA_H
#define M3FS_CONFIG_SCHEMA_H

#include <stddef.h>

enum fkind {
    FK_STR,     /* char*; any scalar */
    FK_LONG,    /* long; plain integer */
    FK_I64,     /* int64_t; plain integer */
    FK_DUR,     /* int64_t milliseconds; Go duration string */
    FK_STRLIST, /* struct strvec; sequence of scalars */
    FK_MAP,     /* nested mapping, same base */
    FK_NODES,   /* sequence of node mappings */
    FK_GROUPS,  /* sequence of nodeGroup mappings */
    FK_LEGACY,  /* known mistaken key: warn, ignore */
};

struct field {
    const char *key;
    enum fkind kind;
    size_t off;               /* offset in the base struct */
    const struct field *sub;  /* FK_MAP: its fields */
    const char *note;         /* FK_LEGACY: what to say */
};

extern const struct field root_fields[];
extern const struct field node_fields[];
extern const struct field group_fields[];

#endif
