/* sha256: SHA-256 digests as lower-case hex, on top of OpenSSL EVP.
 *
 * A struct sha256 holds an EVP context; it is
 * created by sha256_init() and freed by sha256_final_hex() or sha256_free()
 * (both safe to call once each; sha256_free after final is a no-op).
 * Hex strings are written into caller-owned buffers of SHA256_HEX_LEN + 1. */
#ifndef M3FS_SHA256_H
#define M3FS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 64

struct sha256 {
    void *md_ctx; /* EVP_MD_CTX*, NULL when finished */
};

/* Start a digest; aborts when OpenSSL cannot allocate. */
void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Finish: writes 64 hex chars + NUL into out and frees the context. */
void sha256_final_hex(struct sha256 *h, char out[SHA256_HEX_LEN + 1]);
void sha256_free(struct sha256 *h);
/* Restart from empty input (keeps the context). */
void sha256_reset(struct sha256 *h);

/* Digest of a whole buffer. */
void sha256_buf_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
/* Digest of the first `limit` bytes of an open fd from its current offset
 * (UINT64_MAX: to end of file), reading in bounded chunks and also feeding
 * `h` when non-NULL.  Returns bytes hashed, or -1 with errno set. */
int64_t sha256_fd_update(struct sha256 *h, int fd, uint64_t limit);
/* Digest of a file; *size (if non-NULL) gets its length.  0 or -1 with errno. */
int sha256_file_hex(const char *path, char out[SHA256_HEX_LEN + 1], uint64_t *size);

/* 1 when s is exactly 64 hex digits (either case). */
int sha256_hex_valid(const char *s);
/* Parse the first whitespace-separated field of a ".sha256sum" file into
 * out (lower-cased).  Returns 0, or -1 when it is not a SHA-256 hex digest. */
int sha256_parse_sumfile(const char *text, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
