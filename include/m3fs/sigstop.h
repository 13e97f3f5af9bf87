/* sigstop: how a long command is stopped.  While installed, SIGINT
 * (Ctrl-C), SIGTERM (kill, a service manager) and SIGHUP (the terminal or
 * SSH session went away) only record which signal came; the command checks
 * sigstop_caught() at its safe points, finishes what must not be cut,
 * saves what a rerun needs, and fails saying how to resume.  A second
 * signal of the same kind kills at once (the handler resets itself).
 * One flag for the process: install clears it.  The caller owns the
 * struct sigstop that keeps the old handlers until restore. */
#ifndef M3FS_SIGSTOP_H
#define M3FS_SIGSTOP_H

#include <signal.h>

#define SIGSTOP_N 3 /* SIGINT, SIGTERM, SIGHUP */

struct sigstop {
    struct sigaction old[SIGSTOP_N];
};

void sigstop_install(struct sigstop *s);
void sigstop_restore(const struct sigstop *s);
/* The signal that came since install (SIGINT, ...), or 0. */
int sigstop_caught(void);

#endif
