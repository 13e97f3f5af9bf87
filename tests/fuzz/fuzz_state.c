/* fuzz_state: libFuzzer target for the state file loader (state_parse(),
 * what state_load() does with the file's text: .m3fs/<name>.state.json,
 * which may be edited, truncated or planted).  Whatever loads is then used
 * as plan_run does (done/started keys read, set, cleared).  Seeds:
 * tests/fuzz/corpus/state/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/plan/plan-int.h"
#include "m3fs/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = { "init-cluster", "user-add", "upload-chain-table",
                                    "upgrade/storage/0", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    struct strbuf err = STRBUF_INIT;
    struct m3fs_state *st = state_parse("fuzz.state.json", text, &err);
    if (st) {
        if (!st->fdb_id || !strchr(st->fdb_id, ':') || !st->token || !*st->token ||
            !st->ch_password || !*st->ch_password)
            abort();
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            (void)state_get_done(st, keys[i]);
            (void)state_started(st, keys[i]);
        }
        state_set_started(st, keys[1]);
        if (!state_started(st, keys[1])) abort(); /* what was recorded reads back */
        state_set_done(st, keys[0], "v");
        if (!state_get_done(st, keys[0]) || strcmp(state_get_done(st, keys[0]), "v")) abort();
        state_clear_started(st, keys[1]);
        if (state_started(st, keys[1])) abort();
        state_forget(st, keys[0]);
        if (state_get_done(st, keys[0])) abort();
        state_free(st);
    }
    sb_release(&err);
    free(text);
    log_clear_secrets(); /* the token and password are registered as secrets */
    return 0;
}
