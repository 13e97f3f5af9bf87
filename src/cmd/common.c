/* Helpers shared by commands. */
#include <stdio.h>

#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"

struct m3fs_config *cmd_load_config(const char *path, const struct config_overrides *ov)
{
    struct diag_list dl = { 0 };
    struct m3fs_config *cfg = config_load_file(path, ov, &dl);
    diag_print(&dl, stderr);
    if (!cfg)
        log_error("%s has %d error%s; nothing was changed", path, dl.errors, dl.errors == 1 ? "" : "s");
    diag_list_free(&dl);
    return cfg;
}
