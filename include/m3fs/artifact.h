/* artifact: the offline image bundle.
 *
 * Three parts:
 *  - the manifest (manifest.json, cJSON): which images a bundle holds, with
 *    name, repo, tag, arch, file name, size and SHA-256 of each;
 *  - the downloader (libcurl multi): fetches image files and their published
 *    ".sha256sum" files into a cache directory, in parallel, resuming
 *    interrupted transfers with HTTP ranges and retrying transient failures;
 *  - the bundle writer and reader (libarchive): a tar (optionally gzip) whose
 *    FIRST entry is manifest.json followed by the image files.  The reader
 *    streams each image's bytes through callbacks while computing its SHA-256,
 *    so memory stays bounded whatever the image sizes.
 *
 * Ownership: a struct artifact_manifest owns its images and every string in
 * them; release with artifact_manifest_free().  Error messages are appended
 * to caller-owned strbufs and name the file/URL and what to do. */
#ifndef M3FS_ARTIFACT_H
#define M3FS_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/sha256.h"
#include "m3fs/strbuf.h"

struct m3fs_config;

#define ARTIFACT_MANIFEST_NAME "manifest.json"
#define ARTIFACT_FORMAT 1
#define ARTIFACT_DEFAULT_BASE_URL "https://artifactory.open3fs.com/3fs"

struct artifact_image {
    char *name;   /* images.<key> of cluster.yml: "3fs", "fdb", "clickhouse", ... */
    char *repo;   /* "open3fs/3fs" */
    char *tag;    /* "20250410" */
    char *arch;   /* "amd64" */
    char *file;   /* "3fs_20250410_amd64.docker" (a plain file name, no '/') */
    uint64_t size;
    char sha256[SHA256_HEX_LEN + 1]; /* lower-case hex, "" until known */
};

struct artifact_manifest {
    struct artifact_image *img;
    size_t n, alloc;
};

/* Append an image (strings copied; size 0, sha256 empty); returns it. */
struct artifact_image *artifact_manifest_add(struct artifact_manifest *m, const char *name,
                                             const char *repo, const char *tag,
                                             const char *arch, const char *file);
void artifact_manifest_free(struct artifact_manifest *m);
/* Image with this file name, or NULL. */
const struct artifact_image *artifact_manifest_find(const struct artifact_manifest *m,
                                                    const char *file);
/* Serialise as JSON (caller frees). */
char *artifact_manifest_to_json(const struct artifact_manifest *m);
/* Parse and check a manifest (format, required fields, safe unique file
 * names, hex sums).  On error returns -1, appends to err and leaves *m empty. */
int artifact_manifest_parse(const char *json, size_t len, struct artifact_manifest *m,
                            struct strbuf *err);
/* 1 when `file` is a safe bare file name (no '/', not "." or "..", no NUL, not empty). */
int artifact_safe_file_name(const char *file);

/* Build the list of images to download from a loaded config: `names` are
 * images.<key> names (3fs, fdb, clickhouse, grafana, postgresql); empty
 * means the images a cluster needs (3fs, fdb, clickhouse).  Duplicates are
 * ignored.  Returns 0, or -1 with an error naming the unknown image. */
int artifact_plan(const struct m3fs_config *cfg, const struct strvec *names,
                  struct artifact_manifest *m, struct strbuf *err);

enum artifact_progress {
    ARTIFACT_PROGRESS_AUTO, /* terminal lines when stderr is a tty, else log lines */
    ARTIFACT_PROGRESS_TTY,
    ARTIFACT_PROGRESS_LOG,
    ARTIFACT_PROGRESS_NONE,
};

struct artifact_dl_opts {
    const char *base_url;  /* file URL = base_url + "/" + file */
    const char *cache_dir; /* borrowed; created (0700) if missing; must be the
                            * user's and not group/other writable */
    long parallel;         /* concurrent transfers, >= 1 */
    long retries;          /* extra attempts after a transient failure */
    long retry_delay_ms;   /* first backoff delay; doubled per retry */
    long connect_timeout_s;
    long stall_timeout_s;  /* abort a transfer that receives nothing this long */
    long log_interval_ms;  /* progress period off a terminal */
    enum artifact_progress progress;
};

/* Defaults, then the environment overrides M3FS_ARTIFACT_RETRIES,
 * M3FS_ARTIFACT_RETRY_DELAY_MS, M3FS_ARTIFACT_STALL_TIMEOUT,
 * M3FS_ARTIFACT_PROGRESS_INTERVAL_MS (used by tests). */
void artifact_dl_opts_init(struct artifact_dl_opts *o);

/* The per-user default cache: $XDG_CACHE_HOME/m3fs when that is an absolute
 * path, else <home>/.cache/m3fs ($HOME, else the passwd entry).  Returns a
 * string the caller frees, or NULL with err set when no home is known. */
char *artifact_default_cache_dir(struct strbuf *err);

/* The schemes a transfer of url may use, redirects included (libcurl's
 * CURLOPT_PROTOCOLS_STR / CURLOPT_REDIR_PROTOCOLS_STR): "https" for an https
 * URL, so a redirect cannot downgrade it to http; "file" for file://;
 * otherwise "http,https".  A static string. */
const char *artifact_url_protocols(const char *url);

/* Make every image of m present and verified in o->cache_dir, filling in
 * size and sha256.  A cached file whose digest matches the published one is
 * not downloaded again.  Partial data lives in "<file>.part" and is resumed
 * on the next attempt or run.  A digest mismatch deletes the file and fails
 * showing both sums; a 4xx fails at once with the URL.  Returns 0 or -1. */
int artifact_download(struct artifact_manifest *m, const struct artifact_dl_opts *o,
                      struct strbuf *err);

/* Under sigstop (include/m3fs/sigstop.h: SIGINT, SIGTERM, SIGHUP),
 * artifact_download stops its transfers keeping the .part files and fails
 * with "interrupted by SIGx; kept to resume: ..."; artifact_bundle_write
 * stops and removes its temporary file. */

/* Write a bundle: manifest.json first, then each image read from cache_dir
 * (its size and digest are checked again while copying).  The output is
 * written to a temporary file next to out_path and renamed at the end; an
 * existing out_path is an error unless `force`.  Returns 0 or -1. */
int artifact_bundle_write(const char *out_path, const struct artifact_manifest *m,
                          const char *cache_dir, int gzip, int force, struct strbuf *err);

/* Streaming bundle reader. */
struct artifact_bundle;

/* Open a bundle (tar, optionally gzip; nothing else) and read its
 * manifest.  NULL with err on failure (not a bundle, no manifest first, bad
 * manifest).  Free with artifact_bundle_close(). */
struct artifact_bundle *artifact_bundle_open(const char *path, struct strbuf *err);
/* The same for a bundle held in memory (buf, len: borrowed until
 * artifact_bundle_close); name stands for its path in messages. */
struct artifact_bundle *artifact_bundle_open_memory(const void *buf, size_t len,
                                                    const char *name, struct strbuf *err);
const struct artifact_manifest *artifact_bundle_manifest(const struct artifact_bundle *b);

/* Callbacks for artifact_bundle_each(); any may be NULL.  Each returns 0 to
 * go on or -1 to stop (after appending to err).  `data` receives an image's
 * bytes in order in bounded chunks.  `end` is called only when the image's
 * size and SHA-256 matched the manifest; on a mismatch artifact_bundle_each()
 * fails instead, so a consumer that already used the bytes must discard them. */
struct artifact_entry_cb {
    int (*begin)(const struct artifact_image *img, void *ud, struct strbuf *err);
    int (*data)(const struct artifact_image *img, const void *buf, size_t len, void *ud,
                struct strbuf *err);
    int (*end)(const struct artifact_image *img, void *ud, struct strbuf *err);
};

/* Stream every image once, in bundle order, verifying each against the
 * manifest; also fails on entries not in the manifest, duplicates, and
 * manifest images missing from the bundle.  Call at most once per open. */
int artifact_bundle_each(struct artifact_bundle *b, const struct artifact_entry_cb *cb,
                         void *ud, struct strbuf *err);
void artifact_bundle_close(struct artifact_bundle *b);

/* "1.5 GiB"-style size into sb. */
void artifact_human_size(struct strbuf *sb, double bytes);

#endif
