#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "m3fs/cmd.h"
#include "m3fs/log.h"

/* Output that never arrived is a failure (as git's run_builtin checks):
 * `m3fs cluster create --dry-run > /dev/full` must not exit 0. */
static int check_stdout(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
    fprintf(stderr, "m3fs: error: writing to standard output failed: %s\n",
            errno ? strerror(errno) : "unknown error");
    return rc ? rc : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = check_stdout(cmd_main(argc, argv));
    log_clear_secrets();
    return rc;
}
