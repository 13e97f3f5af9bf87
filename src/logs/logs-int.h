/* logs-int.h: private to src/logs/ (see include/m3fs/logs.h).
 *
 * archive.c  the tar.gz being written: one entry at a time under a mutex,
 *            a partial file renamed at the end;
 * index.c    index.json: every part and node with what happened to it;
 * mask.c     nothing secret in a part;
 * names.c    archive names and the file-list and token parsers;
 * part.c     one part: a run of m3fs-logs.sh, cut, masked, written, indexed;
 * node.c     the parts of one node (over its session);
 * cluster.c  the parts taken once (admin_cli, fdb, this machine's files);
 * run.c      logs_collect(): the phases, progress, the summary. */
#ifndef M3FS_LOGS_INT_H
#define M3FS_LOGS_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "m3fs/logs.h"

struct archive;

struct logs_archive {
    struct archive *a;
    pthread_mutex_t mu;
    int fd;
    char *top;    /* top directory inside the archive */
    char *tmp;    /* the partial file */
    char *out;    /* its final name */
    int force;
    int created;  /* the partial file exists */
    int broken;   /* a write failed: nothing more is written */
    struct strbuf err;
    uint64_t bytes;
};

/* Create out's partial file (refusing an existing out without force).
 * 0, or -1 with a message in err; la_discard() in either case when done. */
int la_open(struct logs_archive *ar, const char *out, int force, struct strbuf *err);
/* Add the entry <top>/<rel>.  0, or -1 (the archive is broken; la_finish
 * reports why). */
int la_add(struct logs_archive *ar, const char *rel, const char *data, size_t len);
/* Close and rename to out, then release ar (as la_discard).  0, or -1
 * with a message in err (the partial file removed). */
int la_finish(struct logs_archive *ar, struct strbuf *err);
/* Close, remove the partial file and release ar. */
void la_discard(struct logs_archive *ar);

/* One entry of index.json.  Strings are copied by ix_add. */
struct ix_part {
    const char *what;    /* "container log", "log file", ... */
    const char *node;    /* node name, NULL: this machine or the cluster */
    const char *path;    /* relative to the top directory; NULL: not in the archive */
    const char *source;  /* the command or file it came from */
    uint64_t size;       /* bytes in the archive */
    int truncated;       /* only the end was kept */
    const char *status;  /* "ok", "failed", "skipped" */
    const char *error;   /* why (failed, skipped), or NULL */
};

struct ix_node {
    char *name, *host;
    const char *status;  /* "ok", "unreachable" */
    char *error;
};

struct logs_index {
    pthread_mutex_t mu;
    struct ix_part *parts; /* owned copies */
    size_t n, alloc;
    struct ix_node *nodes;
    size_t n_nodes, alloc_nodes;
    size_t failed;
};

void ix_init(struct logs_index *ix);
void ix_release(struct logs_index *ix);
void ix_add(struct logs_index *ix, const struct ix_part *p);
void ix_node(struct logs_index *ix, const char *name, const char *host, const char *error);
/* What the index says besides its entries. */
struct ix_meta {
    const char *cluster, *options;
    int64_t since_s;
    size_t max_bytes;
    time_t created;
};
/* index.json, its parts sorted (heap, the caller frees). */
char *ix_json(struct logs_index *ix, const struct ix_meta *m);

/* The state of one run, shared by the node workers. */
struct logs_run {
    const struct logs_opts *o;
    struct logs_archive ar;
    struct logs_index ix;
    pthread_mutex_t mu;      /* masks */
    struct strvec masks;     /* forms of every known secret */
    char *script;            /* `sh -c '<m3fs-logs.sh>' m3fs-logs` */
    char *reached;           /* per node index: a worker ran there */
};

#define LOGS_PART_TIMEOUT_MS (5L * 60 * 1000)

/* What one node (or the cluster parts) gave: for the progress lines. */
struct logs_tally {
    size_t parts, failed;
    uint64_t bytes;
};

/* part.c ---------------------------------------------------------------- */
/* `sh -c '<m3fs-logs.sh>' m3fs-logs` (heap). */
char *run_script_prefix(void);
/* Add the forms of secret to the run's masks. */
void run_add_secret(struct logs_run *r, const char *secret);
/* Mask data (a part or an error message) with the run's masks
 * (logs_mask). */
void run_mask(struct logs_run *r, struct strbuf *data, int cut);
/* Only the values of the known secrets (log_mask_with). */
void run_mask_values(struct logs_run *r, struct strbuf *data);
/* Write data masked as p->path and index it (failed, path NULL, when the
 * archive cannot be written).  t may be NULL. */
void run_write(struct logs_run *r, const struct ix_part *p, struct strbuf *data, int cut,
               struct logs_tally *t);
/* Index a part that has no entry (failed or skipped); its error must be
 * masked already. */
void run_record(struct logs_run *r, const struct ix_part *p, struct logs_tally *t);

/* A part: run `m3fs-logs ARGS...` (args NULL-terminated, the op first) on
 * s and write its stdout (kept also when the run failed) as path; index it
 * with what/node/source.  Returns 0 when the op exited 0. */
struct remote_session;
struct part_spec {
    const char *what, *node, *path, *source;
    const char *const *args;
    struct logs_tally *tally; /* may be NULL */
};
int run_part(struct logs_run *r, struct remote_session *s, const struct part_spec *ps);
/* Run `m3fs-logs ARGS...` and append its stdout to out (nothing archived).
 * 0, or -1 with the reason (masked) in err. */
int run_capture(struct logs_run *r, struct remote_session *s, const char *const *args,
                struct strbuf *out, struct strbuf *err);

/* node.c ---------------------------------------------------------------- */
/* Every part of one node (a remote_step_fn; failures go to the index). */
int node_collect(struct remote_session *s, size_t node, void *arg, struct strbuf *err);
/* Read the node's token files and add them to the run's masks. */
void node_read_tokens(struct logs_run *r, struct remote_session *s, const char *node,
                      struct logs_tally *t);

/* cluster.c ------------------------------------------------------------- */
/* The known secrets (config, state file) into the masks, then cluster.yml
 * and the state file from this machine. */
void cluster_local_parts(struct logs_run *r);
/* admin_cli lists on the first mgmtd node that answers, fdb status json on
 * the first fdb node that answers. */
void cluster_remote_parts(struct logs_run *r, struct remote_ctx *rc);

#endif
