#include "m3fs/embedded.h"

#include <string.h>

const struct m3fs_embedded_file *embedded_find(const char *name)
{
    for (const struct m3fs_embedded_file *f = m3fs_embedded_files; f->name; f++)
        if (!strcmp(f->name, name)) return f;
    return NULL;
}
