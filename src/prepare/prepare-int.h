/* Internal to src/prepare: the state of one `cluster prepare` run and the
 * steps that work on it.
 *
 * struct prep_run owns node[] (one entry per cfg->nodes, indexed like it),
 * every string inside, the bundle and the remote_ctx; release() in
 * prepare.c frees them. */
#ifndef M3FS_PREPARE_INT_H
#define M3FS_PREPARE_INT_H

#include "m3fs/plan.h"
#include "m3fs/prepare.h"

#define PREP_CHECK_TIMEOUT_MS (60L * 1000)
#define PREP_LOAD_TIMEOUT_MS (60L * 60 * 1000)

enum prep_action { PREP_NONE, PREP_SEND, PREP_SKIP, PREP_PULL };

struct prep_image {
    enum prep_action action;
    char *why;     /* why it is sent or skipped (owned) */
    int done;      /* sent+loaded or pulled */
    double secs;   /* time the transfer+load took */
    int relayed;   /* the relay step streamed a copy to the node (relay.c) */
    char *via;     /* how it got there: "relay: from lab-n1", "direct ..." (owned) */
};

struct prep_node {
    unsigned images;      /* kinds this node's roles need (1u << img_kind) */
    unsigned send;        /* kinds to send from the bundle */
    uint64_t send_bytes;
    char *docker_root;    /* DockerRootDir (owned) */
    struct prep_image img[IMG_COUNT];
};

struct prep_run {
    const struct m3fs_config *cfg;
    const struct prepare_opts *o;
    struct artifact_bundle *b;                  /* opened for its manifest only */
    const struct artifact_image *art[IMG_COUNT]; /* bundle image per kind (in b) */
    struct prep_node *node;                     /* cfg->n_nodes entries */
    struct remote_ctx *rc;
};

/* One step of the table in prepare.c, turned into a plan CALL step (see
 * struct step_call in plan.h; every arg is the struct prep_run).  The
 * strings describe the step for --dry-run. */
struct prep_step {
    const char *name;                  /* "docker": the step's lane name */
    const char *title;                 /* for the log: "checking docker" */
    int with_bundle;                   /* 1: only with -a, 0: only without, -1: always */
    const char *only_if;               /* which nodes take part, or NULL: all */
    const char *what;                  /* what runs on each node */
    const char *local_what;            /* what the local part does, or NULL */
    int lists_images;                  /* --dry-run names the node's images */
    int (*takes_part)(void *arg, size_t node); /* NULL: every node */
    int (*may_take_part)(void *arg, size_t node); /* before any fact is known,
                                                   * for --dry-run; NULL: takes_part */
    int (*local)(void *arg, struct strbuf *err);
    remote_step_fn on_node;
};

/* checks.c */
int prep_step_docker(struct remote_session *s, size_t node, void *arg, struct strbuf *err);
int prep_step_space(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* images.c */
int prep_step_inventory(struct remote_session *s, size_t node, void *arg, struct strbuf *err);
int prep_local_verify(void *arg, struct strbuf *err);
int prep_step_send(struct remote_session *s, size_t node, void *arg, struct strbuf *err);
int prep_step_pull(struct remote_session *s, size_t node, void *arg, struct strbuf *err);

/* stream.c: read a bundle in a thread of its own and hand the bytes of the
 * wanted images to a pull-style reader (remote_reader_fn). */
struct bstream;
/* Start reading `path`; `want` lists the file names to hand over (borrowed
 * until bstream_stop).  Returns NULL with err when the thread cannot start. */
struct bstream *bstream_start(const char *path, const struct strvec *want, struct strbuf *err);
/* Wait for the next wanted image; NULL when the bundle ended or failed
 * (then bstream_stop reports why).  The image belongs to the stream. */
const struct artifact_image *bstream_next(struct bstream *bs);
/* remote_reader_fn for the current image: its bytes, then 0 once the image
 * matched the manifest, or -1 when the bundle failed. */
ssize_t bstream_read(void *bs, void *buf, size_t len, struct strbuf *err);
/* The consumer is done with the current image (the reader may not be used
 * for it any more). */
void bstream_image_done(struct bstream *bs);
/* Stop the reader thread and free everything; appends the bundle's error
 * (if it failed before the consumer stopped it) to err and returns -1 then. */
int bstream_stop(struct bstream *bs, struct strbuf *err);

/* relay.c: the relay step (docs/prepare.md "Relay"). */
int prep_local_relay(void *arg, struct strbuf *err);
/* Remove what a dead run left: the key's authorized_keys line, the relay
 * directory (inventory step, every node). */
int prep_relay_cleanup_stale(struct remote_session *s, const struct prep_run *r,
                             struct strbuf *err);
/* <workDir>/images/.m3fs-relay */
void prep_relay_dir(struct strbuf *sb, const struct m3fs_config *cfg);
/* Pure, for tests.  Cut a chain of n nodes where ok[i] (node i reached node
 * i+1, i < n-1) is 0: the segments' first positions and lengths into
 * start[]/len[] (n entries each); returns their number. */
size_t prep_relay_split(const int *ok, size_t n, size_t *start, size_t *len);
/* 1 when s may go into a relay hop word / the relay directory path. */
int prep_relay_word_ok(const char *s);
int prep_relay_dir_ok(const char *dir);

/* prepare.c */
const char *prep_node_name(const struct prep_run *r, size_t node);
void prep_set_action(struct prep_image *pi, enum prep_action a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
