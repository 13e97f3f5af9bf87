/* fuzz_logs: libFuzzer target for what `cluster logs` does with bytes from
 * a node (untrusted): the file list and token parsers (logs_parse_list,
 * logs_parse_tokens) and the
 * masking of a part, cut or not (logs_tail, logs_mask: secret values in
 * binary data, keys named like secrets).  After masking no secret may be
 * left: that is checked, not only the absence of crashes.  Seeds:
 * tests/fuzz/corpus/logs/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const secrets[] = { "s3cr\"et", "tok+en/=", "pw" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strvec names = STRVEC_INIT, masks = STRVEC_INIT;
    size_t bad, more;
    logs_parse_list((const char *)data, size, 50, &names, &bad, &more);
    for (size_t i = 0; i < names.n; i++)
        if (!logs_rel_path_ok(names.v[i])) abort();
    sv_clear(&names);
    logs_parse_tokens((const char *)data, size, &names);
    if (names.n > LOGS_MAX_TOKENS) abort();
    for (size_t i = 0; i < names.n; i++)
        if (strlen(names.v[i]) < LOGS_TOKEN_MIN || strlen(names.v[i]) > LOGS_TOKEN_MAX) abort();
    sv_clear(&names);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        logs_secret_forms(secrets[i], &masks);
    struct strbuf sb = STRBUF_INIT;
    sb_add(&sb, data, size);
    int cut = logs_tail(&sb, size > 16 ? size - (size_t)data[0] % 16 : size);
    logs_mask(&sb, &masks, cut);
    for (size_t i = 0; i < masks.n; i++)
        if (memmem(sb.buf, sb.len, masks.v[i], strlen(masks.v[i]))) abort();
    sb_release(&sb);
    sv_clear(&masks);
    return 0;
}
