/* Internal to src/artifact: the libcurl multi transfer engine and its
 * progress display.
 *
 * A struct xfer is one URL fetched either into memory (a small checksum
 * file, capped) or into a "<file>.part" on disk that is resumed with HTTP
 * ranges and hashed while it is written.  The caller owns the xfer array and
 * frees each with xfer_release(). */
#ifndef M3FS_ARTIFACT_XFER_H
#define M3FS_ARTIFACT_XFER_H

#include <curl/curl.h>
#include <stdint.h>

#include "m3fs/artifact.h"

#define XFER_MEM_MAX 4096

enum xfer_state { XS_WAIT, XS_RUN, XS_DONE, XS_FAIL };

struct xfer {
    const char *label;      /* shown in progress and errors (borrowed) */
    char *url;              /* owned */
    int to_file;
    struct strbuf mem;      /* memory mode: the body */

    /* file mode */
    char *part_path;        /* owned: "<cache>/<file>.part" */
    char *final_path;       /* owned: "<cache>/<file>" */
    const char *want_sha;   /* published digest (borrowed) */
    int fd;                 /* open .part, or -1 */
    struct sha256 h;        /* digest of the .part bytes so far */
    uint64_t have;          /* bytes in .part, all hashed */
    int64_t total;          /* whole file size when known, else -1 */

    enum xfer_state state;
    long tries;             /* attempts started */
    int64_t not_before_ms;  /* backoff: do not start before */
    uint64_t attempt_bytes; /* .part size when this attempt started */
    int64_t attempt_ms;     /* when this attempt started */
    int64_t done_ms;
    char *note;             /* owned status text ("retrying in 2s"), or NULL */
    CURL *easy;
    int write_errno;
    char errbuf[CURL_ERROR_SIZE];
};

struct progress {
    enum artifact_progress mode;
    size_t drawn;           /* terminal lines currently on screen */
    int64_t last_ms;
    long interval_ms;
};

void xfer_init_mem(struct xfer *x, const char *label, char *url);
/* Owns url, part_path and final_path from now on. */
void xfer_init_file(struct xfer *x, const char *label, char *url, char *part_path,
                    char *final_path, const char *want_sha);
void xfer_release(struct xfer *x);

/* Run every xfer to XS_DONE; stops at the first permanent failure (the
 * others are abandoned, their .part files kept for a later resume).
 * Returns 0 or -1 with err set. */
int xfer_run(struct xfer *xs, size_t n, const struct artifact_dl_opts *o, struct progress *p,
             struct strbuf *err);

void progress_init(struct progress *p, enum artifact_progress mode, long interval_ms);
/* Redraw (tty) or log (periodic) when due, or now when force. */
void progress_tick(struct progress *p, const struct xfer *xs, size_t n, int force);
/* Erase the terminal block before other output. */
void progress_clear(struct progress *p);

#endif
