/* Internal to src/remote: the session object and helpers shared by the
 * session, exec, file and context parts.  Not for use outside src/remote. */
#ifndef M3FS_REMOTE_INT_H
#define M3FS_REMOTE_INT_H

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include "m3fs/remote.h"

enum sudo_mode { SUDO_UNKNOWN, SUDO_NOPASSWD, SUDO_PASSWORD };

struct remote_session {
    const struct m3fs_node *node; /* borrowed */
    int local;                    /* runs on this machine, no SSH */
    int is_root;                  /* login user is root: never sudo */
    enum sudo_mode sudo;
    ssh_session ssh;              /* NULL when local */
    sftp_session sftp;            /* opened on first file transfer */
    unsigned long tmp_seq;        /* for unique temporary names */
    struct remote_counts counts;  /* what this session cost (remote_session_counts) */
};

/* "name (user@host:port)" for messages. */
void remote_describe(const struct remote_session *s, struct strbuf *sb);

/* What sudo prints when it wants the password, and what the shell it
 * starts prints on stderr before the command (src/remote/exec.c). */
#define SUDO_PROMPT "[m3fs: sudo password]"
#define SUDO_GRANTED "m3fs-sudo-granted"

/* Append the command line that runs cmd with sudo (SUDO_UNKNOWN: none;
 * NOPASSWD: sudo -n; PASSWORD: prompt and mark, see exec.c) and/or a
 * timeout. */
void remote_wrap_cmd(struct strbuf *sb, const char *cmd, enum sudo_mode sudo, long timeout_ms);

/* Work out once whether sudo needs the password; -1 with err if sudo
 * cannot be used. */
int remote_sudo_prepare(struct remote_session *s, struct strbuf *err);

/* Home directory of the user running m3fs ($HOME, else the passwd entry). */
const char *remote_home_dir(void);

/* The SFTP session, opened on first use; NULL with err on failure. */
sftp_session remote_sftp(struct remote_session *s, struct strbuf *err);

#endif
