/* logs: `m3fs cluster logs` - one support archive (tar.gz, libarchive) of
 * what a cluster's nodes say about it, with nothing secret in it.
 *
 * Parts.  Per selected node: each m3fs container's `docker logs` and
 * `docker inspect`, the 3FS/fdb/ClickHouse log files and the rendered
 * configs under workDir, and kernel messages about RDMA, FUSE and NVMe.
 * Once: admin_cli list-nodes/list-targets/list-chains (first mgmtd node that
 * answers), fdb `status json` (first fdb node that answers), and from this
 * machine cluster.yml and the state file.  Every part is one run of
 * templates/m3fs-logs.sh on the node whose stdout becomes one archive entry
 * (no node output is parsed but the file list, logs_parse_list(), and the
 * token files, logs_parse_tokens()); parts are written as they arrive,
 * nodes in parallel.  Each part is cut to its
 * last max_bytes (on the node) and says so in index.json, the archive's
 * last entry, which also lists every failed part and unreachable node.
 *
 * Secrets.  Every part (and the index) goes through logs_mask(): the
 * values of the configured secrets (node passwords, the ClickHouse and
 * PostgreSQL passwords unless the well-known defaults, the admin token from
 * the state file and from each node's token files) in their raw and
 * escaped forms (logs_secret_forms), through log_mask_with(), then the values of keys
 * named like secrets (logs_mask_keys()).  token.txt files are never
 * archived.  Nothing secret is put on a command line.
 *
 * The archive is written to "<out>.partial-XXXXXX" (0600) beside out and
 * renamed at the end; SIGINT/SIGTERM remove the partial file.
 *
 * Ownership: functions returning char* return heap strings the caller
 * frees; strbufs and strvecs passed in are the caller's and only appended
 * to; logs_collect() borrows everything in logs_opts and keeps nothing. */
#ifndef M3FS_LOGS_H
#define M3FS_LOGS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "m3fs/config.h"
#include "m3fs/remote.h"
#include "m3fs/strbuf.h"

#define LOGS_DEFAULT_TAIL_MIB 8
#define LOGS_MAX_TAIL_MIB 1024
/* Files taken from one list of a node's directories; the rest are named
 * in the index as not collected. */
#define LOGS_MAX_FILES 400

struct logs_opts {
    const struct m3fs_config *cfg;
    const char *config_path;     /* cluster.yml; the state file is found beside it */
    const size_t *nodes;         /* selected nodes (indexes into cfg->nodes) */
    size_t n_nodes;
    unsigned roles;              /* 1u << svc_kind of the services collected; 0: all */
    int64_t since_s;             /* container logs and log files of the last since_s s; 0: all */
    size_t max_bytes;            /* the end of each file or output kept */
    const char *out_path;        /* the archive written */
    int force;                   /* replace out_path when it exists */
    const struct remote_opts *ro;
    long parallel;               /* nodes at once */
    const char *options;         /* the command's options, for the index (no secrets) */
};

struct logs_summary {
    size_t parts, failed;        /* index entries written / not ok */
    size_t reached, unreachable; /* selected nodes */
    uint64_t bytes;              /* archive entry bytes (before gzip) */
};

/* Collect the parts and write the archive.  Returns 0 when the archive was
 * written and at least one selected node answered (failed parts are in the
 * index), 1 otherwise, having said why on stderr.  A refused overwrite
 * (out_path exists, no force) returns 1 before any node is contacted. */
int logs_collect(const struct logs_opts *o, struct logs_summary *sum);

/* --- pure helpers (unit tests, fuzzing) ---------------------------------- */

/* "m3fs-logs-<cluster>-<YYYYmmddTHHMMSSZ>.tar.gz" for UTC time now. */
char *logs_default_name(const char *cluster, time_t now);
/* The archive's top directory: out's base name without .tar.gz or .tgz. */
char *logs_top_dir(const char *out_path);
/* One path component from a name (node, container): '/', NUL-free; a
 * leading '.' and other bytes outside [A-Za-z0-9._-] become '_'. */
char *logs_component(const char *name);

/* Append the forms a secret takes in the files m3fs, 3FS and the user
 * write: raw, backslash-escaped (TOML basic, JSON and YAML double-quoted
 * strings), XML-escaped and YAML single-quoted (' doubled); each once. */
void logs_secret_forms(const char *secret, struct strvec *out);
/* Keep the last max bytes of sb; when cut, start at the first whole line
 * (if the kept bytes hold a line break).  Returns 1 when sb was cut. */
int logs_tail(struct strbuf *sb, size_t max);
/* Mask the values of keys named like secrets (password, passwd, secret,
 * token; not ...file/...path/...env): `key = v`, `KEY=v`, `key: v`,
 * `"key": "v"`, `"KEY=v"` inside a JSON string, `<key>v</key>`. */
void logs_mask_keys(struct strbuf *sb);
/* Everything secret out of sb: masks (forms of the known secrets) and the
 * registered secrets (log_mask_with), then logs_mask_keys().  When cut is
 * set (sb was truncated) a start of sb that is the end of a secret form
 * (3 bytes or more) is masked too. */
void logs_mask(struct strbuf *sb, const struct strvec *masks, int cut);

/* 1 when p is a usable relative path from a node: not empty, not
 * absolute, no empty, "." or ".." component, no control bytes, < 1024. */
int logs_rel_path_ok(const char *p);
/* Split a `list` answer (one path a line) into out: at most max usable
 * paths; *bad counts unusable lines, *more the usable ones past max. */
void logs_parse_list(const char *text, size_t len, size_t max, struct strvec *out,
                     size_t *bad, size_t *more);
/* The secrets in a `tokens` answer (token files, one token a line): each
 * line without its blanks, LOGS_TOKEN_MIN..LOGS_TOKEN_MAX bytes with no
 * NUL, at most LOGS_MAX_TOKENS of them, appended to out. */
#define LOGS_TOKEN_MIN 4
#define LOGS_TOKEN_MAX 1024
#define LOGS_MAX_TOKENS 16
void logs_parse_tokens(const char *text, size_t len, struct strvec *out);

#endif
