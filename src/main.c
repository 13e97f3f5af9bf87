#include <signal.h>

#include "m3fs/cmd.h"
#include "m3fs/log.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = cmd_main(argc, argv);
    log_clear_secrets();
    return rc;
}
