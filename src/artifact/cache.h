/* Internal to src/artifact: the download cache directory and the files in
 * it, opened so that a planted symlink or a foreign file is refused.
 *
 * The cache must be a directory owned by the effective user and writable by
 * no one else; every file in it is opened with O_NOFOLLOW and must be a
 * regular file owned by the effective user.  Errors are appended to the
 * caller's strbuf and name the path and what to do. */
#ifndef M3FS_ARTIFACT_CACHE_H
#define M3FS_ARTIFACT_CACHE_H

#include "m3fs/strbuf.h"

/* Create dir (and missing parents; the last one mode 0700) and check it is
 * safe to use.  Returns 0 or -1 with err set. */
int cache_dir_prepare(const char *dir, struct strbuf *err);

/* open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600), then refuse anything but
 * a regular file owned by the effective user.  Returns the fd (the caller
 * closes it), or -1: with errno ENOENT and err untouched when the file does
 * not exist and flags lack O_CREAT, otherwise with err set. */
int cache_open(const char *path, int flags, struct strbuf *err);

#endif
