/* embedded: files from templates/ compiled into the binary (cmake/embed.cmake).
 * The returned data is static, NUL-terminated and must not be freed. */
#ifndef M3FS_EMBEDDED_H
#define M3FS_EMBEDDED_H

#include <stddef.h>

struct m3fs_embedded_file {
    const char *name;
    const char *data;
    size_t len;
};
extern const struct m3fs_embedded_file m3fs_embedded_files[];

/* Returns the file named `name` (basename in templates/), or NULL. */
const struct m3fs_embedded_file *embedded_find(const char *name);

#endif
