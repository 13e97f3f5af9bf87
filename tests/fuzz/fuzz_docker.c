/* fuzz_docker: libFuzzer target for what `cluster prepare` reads from a
 * node while it sends images (untrusted: printed on the node): the
 * inventory line of templates/m3fs-prep.sh image (docker image inspect +
 * the marker), `sha256sum PART` and `docker load -i PART`
 * (prepare_parse_inventory, prepare_parse_sha256sum,
 * prepare_loaded_image).  The input holds the three outputs separated by
 * NUL bytes; each parser also reads the whole input.  Seeds:
 * tests/fuzz/corpus/docker/. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_split.h"
#include "m3fs/prepare.h"
#include "m3fs/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest read is "" or 64 lower-case hex digits. */
static void check_hex(const char *hex, int may_be_empty)
{
    if (!*hex && may_be_empty) return;
    if (strlen(hex) != SHA256_HEX_LEN) abort();
    for (const char *p = hex; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p)) abort();
}

static void parse_all(const char *inv, const char *sum, const char *load)
{
    char hex[SHA256_HEX_LEN + 1];
    int have = -1;
    if (prepare_parse_inventory(inv, &have, hex) == 0) {
        if (have != 0 && have != 1) abort();
        check_hex(hex, 1);
    }
    if (prepare_parse_sha256sum(sum, hex) == 0) check_hex(hex, 0);
    char *ref = prepare_loaded_image(load);
    if (ref && (strchr(ref, '\n') || strchr(ref, '\r'))) abort();
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[3];
    size_t len[3];
    char *whole = malloc(size + 1);
    if (!whole) abort();
    memcpy(whole, data, size);
    whole[size] = 0;
    fuzz_split(data, size, 3, part, len);
    char *p0 = strndup(part[0], len[0]), *p1 = strndup(part[1], len[1]),
         *p2 = strndup(part[2], len[2]);
    if (!p0 || !p1 || !p2) abort();
    parse_all(p0, p1, p2);
    parse_all(whole, whole, whole);
    free(p0), free(p1), free(p2), free(whole);
    return 0;
}
