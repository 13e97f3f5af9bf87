/* version: build identity (set by CMake) and library versions. */
#ifndef M3FS_VERSION_H
#define M3FS_VERSION_H

#include <stdio.h>

void m3fs_print_version(FILE *out);
const char *m3fs_version(void);

#endif
