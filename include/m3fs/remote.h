/* remote: run commands and copy files on cluster nodes over SSH (libssh),
 * or directly on this machine for a node whose host is one of its own
 * addresses.
 *
 * Sessions.  remote_open() connects (bounded connect timeout), verifies the
 * host key against a known_hosts file (unknown keys are refused unless
 * accept_new_host_keys is set, which records them; changed keys are always
 * refused) and logs in trying, in order: ssh-agent, the default keys
 * ~/.ssh/id_ed25519, id_ecdsa, id_rsa, the node's identityFile, then the
 * node's password.  A failed login names every method tried.
 *
 * Commands.  remote_exec() runs one shell command line (`sh -c` semantics on
 * the node).  Values inside it must be quoted with sh_quote() (shquote.h).
 * as_root runs it through `sudo` when the login user is not root; the sudo
 * password is written to the command's stdin, never to its command line.
 * A timeout really ends the command: it runs under `timeout -s KILL` on the
 * node, and the client gives up on the channel shortly after.
 *
 * Files.  Uploads go to a temporary name (created 0600), are size-checked,
 * get their final mode and are renamed into place; memory use is bounded
 * (one 64 KiB buffer) whatever the file size.
 *
 * Threads.  A session may be used by one thread at a time.  struct remote_ctx
 * caches one session per node (opened on first use, closed by
 * remote_ctx_free()) and remote_ctx_run() runs a step on many nodes with a
 * bounded worker pool, collecting every node's error.
 *
 * Ownership: the caller owns every strbuf passed in; sessions borrow the
 * `struct m3fs_node` they were opened for, which must outlive them. */
#ifndef M3FS_REMOTE_H
#define M3FS_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "m3fs/config.h"
#include "m3fs/strbuf.h"

#define REMOTE_DEFAULT_CONNECT_TIMEOUT_S 10

struct remote_opts {
    const char *known_hosts;   /* NULL: $M3FS_KNOWN_HOSTS, else ~/.ssh/known_hosts */
    int accept_new_host_keys;  /* record unknown host keys instead of refusing */
    long connect_timeout_s;    /* <= 0: $M3FS_CONNECT_TIMEOUT, else 10 */
    int allow_local;           /* run nodes that are this machine without SSH */
};

/* Defaults: everything zero, allow_local on unless M3FS_LOCAL_EXEC=0.  The
 * command layer then sets what its options say (known_hosts, ...). */
void remote_opts_default(struct remote_opts *o);

struct remote_session;

/* Connect and log in.  Returns NULL with a message in err on failure. */
struct remote_session *remote_open(const struct m3fs_node *node, const struct remote_opts *o,
                                   struct strbuf *err);
void remote_close(struct remote_session *s);
/* The host key this session verified, as "TYPE BASE64" (a known_hosts
 * line without the host part), appended to out.  -1 for a local session or
 * when libssh cannot export it. */
int remote_host_key(const struct remote_session *s, struct strbuf *out);
/* A new ed25519 key pair: the private key in OpenSSH format (unencrypted;
 * a secret: the caller writes it only to 0600 files and wipes priv before
 * sb_release) and the public key as "ssh-ed25519 BASE64".  -1 with err. */
int remote_keypair_new(struct strbuf *priv, struct strbuf *pub, struct strbuf *err);

/* 1 when the session runs on this machine without SSH. */
int remote_is_local(const struct remote_session *s);
const struct m3fs_node *remote_node(const struct remote_session *s);

typedef ssize_t (*remote_reader_fn)(void *arg, void *buf, size_t len, struct strbuf *err);

struct exec_opts {
    long timeout_ms;             /* <= 0: no timeout */
    int as_root;                 /* sudo when the login user is not root */
    const char *stdin_data;      /* bytes for the command's stdin, or NULL */
    size_t stdin_len;
    const char *stream_prefix;   /* non-NULL: log each output line as "<prefix> <line>" */
    remote_reader_fn stdin_reader; /* non-NULL: after stdin_data, the command's stdin is
                                    * streamed from it, 64 KiB at a time (memory stays
                                    * one chunk), EOF at its end; its failure ends the
                                    * command (remote_exec returns -1 with its error) */
    void *stdin_reader_arg;
};

struct exec_result {
    int exit_status;             /* 0..255, or -1 when killed by a signal / no status */
    char signal[16];             /* signal name ("KILL") when killed, else "" */
    int timed_out;
    struct strbuf out, err;      /* captured stdout and stderr */
};

void exec_result_init(struct exec_result *r);
void exec_result_release(struct exec_result *r);

/* Run cmd.  r (initialised with exec_result_init) is reset first.
 * Returns 0 when the command ran (whatever its exit status; see
 * r->exit_status and r->timed_out) and -1 with a message in err when it
 * could not be run (connection lost, sudo refused, ...). */
int remote_exec(struct remote_session *s, const char *cmd, const struct exec_opts *eo,
                struct exec_result *r, struct strbuf *err);

/* Convenience: run cmd, fail (-1, message naming the node, exit status and
 * stderr in err) unless it exits 0.  stdout is appended to out if non-NULL. */
int remote_run(struct remote_session *s, const char *cmd, int as_root, long timeout_ms,
               struct strbuf *out, struct strbuf *err);
/* remote_run with in[0..in_len) on the command's stdin (in may be NULL). */
int remote_run_input(struct remote_session *s, const char *cmd, int as_root, long timeout_ms,
                     const char *in, size_t in_len, struct strbuf *out, struct strbuf *err);

/* Progress: bytes done so far and the total (UINT64_MAX when unknown). */
typedef void (*remote_progress_fn)(void *arg, uint64_t done, uint64_t total);
/* remote_reader_fn (above, for streamed stdin and uploads): fill up to len
 * bytes of buf; return the count, 0 at end of data, or -1 on error (with a
 * message in err). */

struct upload_opts {
    unsigned mode;               /* final permission bits, e.g. 0644; 0600 for secrets */
    int as_root;                 /* owned by root (staged and moved with sudo if needed) */
    remote_progress_fn progress; /* may be NULL */
    void *progress_arg;
    int (*cancel)(void);         /* may be NULL; nonzero: stop ("interrupted"), remove the temp */
};

/* Upload a local file to remote_path (whose directory must exist). */
int remote_upload(struct remote_session *s, const char *local_path, const char *remote_path,
                  const struct upload_opts *uo, struct strbuf *err);
/* Upload what `reader` produces; `size` is the exact expected byte count,
 * or UINT64_MAX when unknown (then only the bytes sent are checked). */
int remote_upload_stream(struct remote_session *s, remote_reader_fn reader, void *reader_arg,
                         uint64_t size, const char *remote_path, const struct upload_opts *uo,
                         struct strbuf *err);
/* Download remote_path (readable by the login user) to local_path. */
int remote_download(struct remote_session *s, const char *remote_path, const char *local_path,
                    remote_progress_fn progress, void *progress_arg, struct strbuf *err);

/* Cached sessions per node, opened on first use.  remote_ctx_run gives
 * each running fn a session of its node to itself, opening up to 4 per node
 * when runs overlap (then waiting for a free one), so several remote_ctx_run
 * calls may go on at once from different threads.  remote_ctx_get returns
 * the node's first session, for use while no remote_ctx_run is going on.  A
 * failed first connection is remembered and reported again without a
 * second attempt. */
struct remote_ctx;
struct remote_ctx *remote_ctx_new(const struct m3fs_node *nodes, size_t n_nodes,
                                  const struct remote_opts *o);
struct remote_session *remote_ctx_get(struct remote_ctx *ctx, size_t node, struct strbuf *err);
void remote_ctx_free(struct remote_ctx *ctx);

/* What sessions cost so far: connections opened and the time they took;
 * commands run (one SSH channel each: a round trip) and the time until each
 * ended; uploads; bytes sent (command lines, stdin, uploaded files) and
 * received (command output). */
struct remote_counts {
    size_t connects, execs, uploads;
    uint64_t bytes_out, bytes_in;
    int64_t connect_ms, exec_ms;
};
/* One session's counts (read by the thread that uses it). */
void remote_session_counts(const struct remote_session *s, struct remote_counts *out);
/* The sum over the node's sessions in ctx; call while no remote_ctx_run is
 * going on. */
void remote_ctx_counts(struct remote_ctx *ctx, size_t node, struct remote_counts *out);

/* A step on one node: return 0 or non-zero with a message in err. */
typedef int (*remote_step_fn)(struct remote_session *s, size_t node, void *arg,
                              struct strbuf *err);
/* Run fn on nodes[idx[0..n_idx)] with at most `parallel` at once.  errs (n_idx
 * caller-initialised strbufs, or NULL) receives each node's error, prefixed
 * with the node name; unreachable nodes get their connection error.  Returns
 * the number of nodes that failed. */
size_t remote_ctx_run(struct remote_ctx *ctx, const size_t *idx, size_t n_idx, long parallel,
                      remote_step_fn fn, void *arg, struct strbuf *errs);
/* The one way to collect per-node errors: remote_ctx_run() into n_idx
 * fresh buffers (index k for node idx[k]; empty when that node succeeded;
 * secrets masked with log_mask).  *failed (may be NULL): nodes that
 * failed.  The caller frees the array with remote_errs_free(). */
struct strbuf *remote_ctx_run_errs(struct remote_ctx *ctx, const size_t *idx, size_t n_idx,
                                   long parallel, remote_step_fn fn, void *arg, size_t *failed);
void remote_errs_free(struct strbuf *errs, size_t n);

/* Node selection for commands: the union of the nodes of the given roles
 * (service keys: fdb, clickhouse, monitor, mgmtd, meta, storage, client,
 * grafana, postgresql) and the named nodes, in config order; every node
 * when both lists are empty.  *idx is a heap array the caller frees.
 * Returns 0, or -1 with a message in err for an unknown role or name. */
int remote_select_nodes(const struct m3fs_config *cfg, const struct strvec *roles,
                        const struct strvec *names, size_t **idx, size_t *n_idx,
                        struct strbuf *err);

#endif
