/* m3fs config validate: check cluster.yml and summarise what it describes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/cmd.h"
#include "m3fs/config.h"
#include "m3fs/log.h"

static const char *const role_names[SVC_COUNT] = {
    "fdb", "clickhouse", "monitor", "mgmtd", "meta", "storage", "client", "grafana", "postgresql",
};

static void node_roles(const struct m3fs_config *c, size_t i, struct strbuf *sb)
{
    for (int k = 0; k < SVC_COUNT; k++) {
        if (!config_node_has(c, i, (enum svc_kind)k)) continue;
        if (sb->len) sb_addch(sb, ',');
        sb_adds(sb, role_names[k]);
        long id = config_node_id(c, i, (enum svc_kind)k);
        if (id) sb_addf(sb, "(%ld)", id);
    }
    if (!sb->len) sb_adds(sb, "-");
}

/* The host, and the 3FS address when it is another (a resolved name, or
 * the node's address key). */
static void node_host(const struct m3fs_config *c, size_t i, struct strbuf *sb)
{
    const struct m3fs_node *n = &c->nodes[i];
    sb_reset(sb);
    sb_adds(sb, n->host);
    if (n->addr && strcmp(n->addr, n->host)) sb_addf(sb, " (3FS: %s)", n->addr);
}

static void print_summary(const struct m3fs_config *c)
{
    printf("%s is valid: cluster '%s', networkType %s, workDir %s\n", c->file, c->name,
           c->network_type, c->work_dir);
    printf("\n%zu node%s (role(3FS node id)):\n", c->n_nodes, plural_s(c->n_nodes));
    size_t wn = 4, wh = 4;
    struct strbuf sb = STRBUF_INIT, host = STRBUF_INIT;
    for (size_t i = 0; i < c->n_nodes; i++) {
        node_host(c, i, &host);
        if (strlen(c->nodes[i].name) > wn) wn = strlen(c->nodes[i].name);
        if (host.len > wh) wh = host.len;
    }
    printf("  %-*s  %-*s  %s\n", (int)wn, "NAME", (int)wh, "HOST", "SERVICES");
    for (size_t i = 0; i < c->n_nodes; i++) {
        sb_reset(&sb);
        node_roles(c, i, &sb);
        node_host(c, i, &host);
        printf("  %-*s  %-*s  %s\n", (int)wn, c->nodes[i].name, (int)wh, host.buf, sb.buf);
    }
    sb_release(&sb);
    sb_release(&host);
    printf("\nstorage: %zu node%s, diskType %s, %ld disk%s/node, %ld targets/disk, replicationFactor %ld\n",
           c->svc[SVC_STORAGE].n_member, plural_s(c->svc[SVC_STORAGE].n_member),
           c->storage.disk_type, c->storage.disk_num_per_node,
           plural_s(c->storage.disk_num_per_node), c->storage.target_num_per_disk,
           c->storage.replication_factor);
    printf("\nimages:\n");
    static const enum img_kind used[] = { IMG_3FS, IMG_FDB, IMG_CLICKHOUSE };
    for (size_t i = 0; i < ARRAY_SIZE(used); i++) {
        char *ref = config_image_ref(c, used[i]), *file = config_artifact_file(c, used[i]);
        printf("  %-12s %s (artifact %s)\n", img_key(used[i]), ref, file);
        free(ref);
        free(file);
    }
}

static int exec_validate(struct cmd_ctx *ctx)
{
    print_summary(ctx->cfg);
    return EXIT_OK;
}

const struct cmd_entry cmd_config_validate_entry = {
    .name = "validate",
    .usage = "-c FILE [--workdir DIR] [--registry R]",
    .summary = "Check cluster.yml and list its nodes, services and images",
    .exec = exec_validate,
    .flags = CMD_CONFIG | CMD_OVERRIDES,
};
