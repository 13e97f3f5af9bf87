/* The command table: every command of m3fs, grouped as the user types them.
 * A group with no working subcommand is not listed. */
#include <stddef.h>

#include "m3fs/cmd.h"

extern const struct cmd_entry cmd_config_create_entry;
extern const struct cmd_entry cmd_config_validate_entry;
extern const struct cmd_entry cmd_cluster_architecture_entry;
extern const struct cmd_entry cmd_cluster_exec_entry;
extern const struct cmd_entry cmd_cluster_copy_entry;
extern const struct cmd_entry cmd_cluster_prepare_entry;

extern const struct cmd_entry cmd_artifact_download_entry;
extern const struct cmd_entry cmd_artifact_verify_entry;

static const char *const artifact_aliases[] = { "a", NULL };
static const struct cmd_entry *const artifact_cmds[] = {
    &cmd_artifact_download_entry,
    &cmd_artifact_verify_entry,
    NULL,
};

static const char *const cluster_aliases[] = { "c", NULL };
extern const struct cmd_entry cmd_cluster_create_entry, cmd_cluster_destroy_entry;
extern const struct cmd_entry cmd_cluster_bench_entry;
extern const struct cmd_entry cmd_cluster_logs_entry;
extern const struct cmd_entry cmd_cluster_status_entry, cmd_cluster_doctor_entry;
extern const struct cmd_entry cmd_cluster_stop_entry, cmd_cluster_start_entry;
extern const struct cmd_entry cmd_cluster_restart_entry, cmd_cluster_upgrade_entry;
extern const struct cmd_entry cmd_cluster_add_client_entry, cmd_cluster_delete_client_entry;
extern const struct cmd_entry cmd_cluster_add_storage_nodes_entry;
extern const struct cmd_entry cmd_cluster_remove_storage_nodes_entry;
static const struct cmd_entry *const cluster_cmds[] = {
    &cmd_cluster_prepare_entry,
    &cmd_cluster_create_entry, &cmd_cluster_destroy_entry,
    &cmd_cluster_stop_entry, &cmd_cluster_start_entry, &cmd_cluster_restart_entry,
    &cmd_cluster_upgrade_entry,
    &cmd_cluster_add_client_entry, &cmd_cluster_delete_client_entry,
    &cmd_cluster_add_storage_nodes_entry, &cmd_cluster_remove_storage_nodes_entry,
    &cmd_cluster_bench_entry,
    &cmd_cluster_status_entry, &cmd_cluster_doctor_entry,
    &cmd_cluster_logs_entry,
    &cmd_cluster_architecture_entry,
    &cmd_cluster_exec_entry,
    &cmd_cluster_copy_entry,
    NULL,
};

static const char *const config_aliases[] = { "cfg", NULL };
static const struct cmd_entry *const config_cmds[] = {
    &cmd_config_create_entry,
    &cmd_config_validate_entry,
    NULL,
};

extern const struct cmd_entry cmd_chain_table_generate_entry, cmd_chain_table_verify_entry;
static const struct cmd_entry *const chain_table_cmds[] = {
    &cmd_chain_table_generate_entry, &cmd_chain_table_verify_entry,
    NULL,
};

static const struct cmd_entry artifact_entry = {
    .name = "artifact",
    .aliases = artifact_aliases,
    .summary = "Download, verify and bundle the 3FS images",
    .children = artifact_cmds,
};
static const struct cmd_entry cluster_entry = {
    .name = "cluster",
    .aliases = cluster_aliases,
    .summary = "Prepare, create, inspect and destroy a 3FS cluster",
    .children = cluster_cmds,
};
static const struct cmd_entry config_entry = {
    .name = "config",
    .aliases = config_aliases,
    .summary = "Write and check cluster.yml",
    .children = config_cmds,
};
static const struct cmd_entry chain_table_entry = {
    .name = "chain-table",
    .summary = "Generate and verify 3FS chain tables natively",
    .children = chain_table_cmds,
};

static const struct cmd_entry *const root_cmds[] = {
    &artifact_entry, &cluster_entry, &config_entry, &chain_table_entry, NULL,
};

const struct cmd_entry cmd_root_entry = {
    .name = "m3fs",
    .summary = "m3fs - deploy DeepSeek 3FS onto a set of Linux nodes",
    .children = root_cmds,
};
