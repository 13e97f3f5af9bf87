/* SHA-256 helpers over OpenSSL EVP (see include/m3fs/sha256.h). */
#include "m3fs/sha256.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "m3fs/strbuf.h"

#define HASH_CHUNK (256 * 1024)

static void die_openssl(const char *what)
{
    fprintf(stderr, "fatal: OpenSSL %s failed\n", what);
    abort();
}

void sha256_init(struct sha256 *h)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) die_openssl("EVP_MD_CTX_new");
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) die_openssl("EVP_DigestInit_ex");
    h->md_ctx = c;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
    if (len && EVP_DigestUpdate(h->md_ctx, data, len) != 1) die_openssl("EVP_DigestUpdate");
}

void sha256_reset(struct sha256 *h)
{
    if (EVP_DigestInit_ex(h->md_ctx, EVP_sha256(), NULL) != 1) die_openssl("EVP_DigestInit_ex");
}

void sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_DigestFinal_ex(h->md_ctx, md, &n) != 1 || n != 32) die_openssl("EVP_DigestFinal_ex");
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
    sha256_free(h);
}

void sha256_free(struct sha256 *h)
{
    EVP_MD_CTX_free(h->md_ctx);
    h->md_ctx = NULL;
}

void sha256_buf_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, data, len);
    sha256_final_hex(&h, out);
}

int64_t sha256_fd_update(struct sha256 *h, int fd, uint64_t limit)
{
    char *buf = xmalloc(HASH_CHUNK);
    uint64_t done = 0;
    while (done < limit) {
        size_t want = limit - done < HASH_CHUNK ? (size_t)(limit - done) : HASH_CHUNK;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return -1;
        }
        if (r == 0) break;
        if (h) sha256_update(h, buf, (size_t)r);
        done += (uint64_t)r;
    }
    free(buf);
    return (int64_t)done;
}

int sha256_file_hex(const char *path, char out[SHA256_HEX_LEN + 1], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct sha256 h;
    sha256_init(&h);
    int64_t n = sha256_fd_update(&h, fd, UINT64_MAX);
    int e = errno;
    close(fd);
    if (n < 0) {
        sha256_free(&h);
        errno = e;
        return -1;
    }
    sha256_final_hex(&h, out);
    if (size) *size = (uint64_t)n;
    return 0;
}

int sha256_hex_valid(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= SHA256_HEX_LEN || !isxdigit((unsigned char)s[i])) return 0;
    return i == SHA256_HEX_LEN;
}

int sha256_parse_sumfile(const char *text, size_t len, char out[SHA256_HEX_LEN + 1])
{
    size_t i = 0, n = 0;
    while (i < len && isspace((unsigned char)text[i])) i++;
    while (i < len && !isspace((unsigned char)text[i]) && text[i]) {
        if (n >= SHA256_HEX_LEN || !isxdigit((unsigned char)text[i])) return -1;
        out[n++] = (char)tolower((unsigned char)text[i++]);
    }
    out[n] = '\0';
    return n == SHA256_HEX_LEN ? 0 : -1;
}
