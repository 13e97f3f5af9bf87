/* fuzz_config: libFuzzer target for the cluster.yml loader.  Any input must
 * load or be rejected with diagnostics: no crash, no leak, no undefined
 * behaviour.  Built with -DM3FS_FUZZ=ON (clang); run by scripts/test.sh with
 * the seeds in tests/fuzz/corpus/config/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/config.h"
#include "m3fs/diag.h"
#include "m3fs/diagram.h"
#include "m3fs/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Exercise what commands do with a loaded config. */
static void use_config(const struct m3fs_config *c)
{
    struct strbuf sb = STRBUF_INIT;
    diagram_render(c, 1, &sb);
    for (int k = 0; k < IMG_COUNT; k++) {
        free(config_image_ref(c, (enum img_kind)k));
        free(config_artifact_file(c, (enum img_kind)k));
    }
    for (size_t i = 0; i < c->n_nodes; i++) {
        (void)config_node_images(c, i);
        (void)config_node_id(c, i, SVC_STORAGE);
        (void)config_node_addr(c, i);
        (void)config_node_rdma_devices(c, i);
        (void)config_node_listens(c, i);
    }
    sb_release(&sb);
}

/* Host names never reach DNS while fuzzing: a name of even length
 * "resolves" to one fixed address, any other has none. */
static int fuzz_resolve(const char *name, char out[16], struct strbuf *why)
{
    if (strlen(name) % 2) {
        sb_adds(why, "no IPv4 address (fuzzing)");
        return -1;
    }
    strcpy(out, "10.9.8.7");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag_list dl = { 0 };
    config_set_resolver(fuzz_resolve);
    struct m3fs_config *c = config_load_buffer((const char *)data, size, "fuzz.yml", NULL, &dl);
    if (c) use_config(c);
    /* printing sorts and formats every diagnostic */
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        diag_print(&dl, null);
        fclose(null);
    }
    config_free(c);
    diag_list_free(&dl);
    log_clear_secrets(); /* passwords are registered as secrets while loading */
    return 0;
}
