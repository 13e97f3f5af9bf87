/* The download cache: a private directory and O_NOFOLLOW opens (F1 of
 * issue 20: a shared /tmp/3fs let another local user plant a symlink that
 * root's download then wrote through). */
#include "cache.h"

#include "m3fs/artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *dir, struct strbuf *err)
{
    char *p = xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, c ? 0755 : 0700) && errno != EEXIST) {
            sb_addf(err, "cannot create cache directory %s: %s", p, strerror(errno));
            rc = -1;
            break;
        }
        if (!(*s = c)) break;
    }
    free(p);
    return rc;
}

/* The directory itself, and a symlink naming it, must be the user's. */
static int dir_safe(const char *dir, struct strbuf *err)
{
    struct stat l, st;
    uid_t me = geteuid();
    if (lstat(dir, &l) || stat(dir, &st)) {
        sb_addf(err, "cannot use cache directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        sb_addf(err, "cache directory %s is not a directory; choose another with --tmp-dir", dir);
        return -1;
    }
    if (l.st_uid != me || st.st_uid != me) {
        sb_addf(err, "cache directory %s is owned by uid %lu, not by you (uid %lu): another user "
                "could plant files in it; choose a directory of your own with --tmp-dir", dir,
                (unsigned long)(l.st_uid != me ? l.st_uid : st.st_uid), (unsigned long)me);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        sb_addf(err, "cache directory %s is writable by group or others (mode %04o): another "
                "user could plant files in it; run `chmod go-w %s` or choose another --tmp-dir",
                dir, (unsigned)(st.st_mode & 07777), dir);
        return -1;
    }
    return 0;
}

int cache_dir_prepare(const char *dir, struct strbuf *err)
{
    if (!*dir) {
        sb_adds(err, "the cache directory is empty; give one with --tmp-dir");
        return -1;
    }
    return mkdir_p(dir, err) ? -1 : dir_safe(dir, err);
}

int cache_open(const char *path, int flags, struct strbuf *err)
{
    /* O_NONBLOCK: a FIFO planted under the name must not hang the open
     * (it has no effect on regular files). */
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            sb_addf(err, "%s is a symlink, not a regular file; remove it (someone may have "
                    "planted it)", path);
        else if (e != ENOENT || (flags & O_CREAT))
            sb_addf(err, "cannot open %s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    if (fstat(fd, &st)) {
        sb_addf(err, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        if (!S_ISREG(st.st_mode))
            sb_addf(err, "%s is not a regular file; remove it", path);
        else
            sb_addf(err, "%s is owned by uid %lu, not by you; remove it", path,
                    (unsigned long)st.st_uid);
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

char *artifact_default_cache_dir(struct strbuf *err)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && x[0] == '/') return xstrfmt("%s/m3fs", x);
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
    }
    if (!home) {
        sb_adds(err, "no home directory for the download cache (HOME is not set); "
                "give one with --tmp-dir");
        return NULL;
    }
    return xstrfmt("%s/.cache/m3fs", home);
}
