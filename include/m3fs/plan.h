/* plan: remote work as data - the one step model and the one runner for
 * every command that works on the nodes (cluster create, destroy, prepare).
 *
 * A plan is a list of steps, built completely before anything runs, so
 * --dry-run prints exactly what a real run does.  The step kinds:
 *
 *   RUN   a shell command on each target node (skip_if: exit 0 = done)
 *   PUT   files on each target node (skipped when sha256 and mode match;
 *         a mode without group/other bits is secret: --dry-run masks it)
 *   WAIT  a check polled on each target node until it succeeds
 *   CALL  a C function on each node (struct step_call) for work that
 *         depends on facts learned on the nodes by earlier steps (which
 *         images a node lacks decides what is sent); which nodes take
 *         part is asked when the step starts; --dry-run prints the
 *         description each target carries
 *
 * Each target names a node (index into cfg->nodes).  The runner, not the
 * caller, does the rest: it starts a step when the steps it waits for have
 * ended (plan_link() lanes, else one after another), runs the step's nodes
 * in parallel (bounded) and a node's targets in order, collects every
 * node's error into one report, logs progress ("[i/n] title"), stops
 * starting steps after a failure or SIGINT, and skips what is done: a
 * target whose skip_if exits 0, a PUT whose files match, and a one-time
 * step (state_key) the state file records with the same value (recorded
 * there after it succeeded).
 *
 * Ownership: a struct plan owns its steps, each step owns its strings and
 * targets (not a CALL's arg); plan_free() releases everything.
 * struct m3fs_state owns its strings; state_free(). */
#ifndef M3FS_PLAN_H
#define M3FS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/config.h"
#include "m3fs/remote.h"
#include "m3fs/strbuf.h"

enum step_op { STEP_RUN, STEP_PUT, STEP_WAIT, STEP_CALL };

/* A CALL step's code.  The runner asks takes_part (NULL: every target
 * node) of each target node when the step starts; when none takes part
 * the step logs "nothing to do".  Otherwise local (NULL: none) runs once,
 * here, then on_node (NULL: none) on each node that takes part, in
 * parallel.  Each returns 0, or non-zero with the reason in err.  arg is
 * borrowed: it must outlive plan_run(). */
struct step_call {
    int (*takes_part)(void *arg, size_t node);
    int (*local)(void *arg, struct strbuf *err);
    remote_step_fn on_node;
    void *arg;
    const char *only_if; /* static: which nodes take part, for --dry-run */
    const char *local_what; /* static: what local does, for --dry-run */
    struct strbuf *node_errs; /* NULL, or per cfg->nodes index (borrowed):
                               * each node's error is added there too, a
                               * failed connection's included (commands
                               * that report per node: exec, copy) */
};

/* What plan_add_step() gives a step until its builder says otherwise. */
#define STEP_DEFAULT_TIMEOUT_MS (5L * 60 * 1000)
#define STEP_DEFAULT_INTERVAL_MS 2000L
/* The only stdout line of a command that found nothing to do. */
#define PLAN_DONE_MARK "m3fs: already done"
/* A WAIT check that prints a line starting with this stops the wait at
 * once: the rest of its output says why (a container that keeps crashing). */
#define PLAN_GIVE_UP_MARK "m3fs: give up: "
/* A WAIT check that prints a line starting with this has seen evidence of
 * a cause that may still clear (e.g. an old log line): the wait goes on,
 * but when every check for the step's suspect_ms printed it, the wait
 * stops with the rest of the last output as the reason. */
#define PLAN_SUSPECT_MARK "m3fs: suspect: "

struct step_target {
    size_t node;      /* index into cfg->nodes */
    char *cmd;        /* RUN / WAIT: shell command line (values sh_quote()d);
                       * CALL: what the call does there (for --dry-run) */
    char *skip_if;    /* RUN / PUT: exit 0 means "already done"; may be NULL */
    char *verify;     /* RUN: a check without side effects, exit 0 when cmd would
                       * find nothing to do (plan_verify); NULL: skip_if.  A
                       * WAIT's own command (without skip_if) must be such a
                       * check too: plan_verify runs it */
    char *path;       /* PUT: remote path (its directory is created) */
    char *content;    /* PUT: bytes to write */
    size_t len;
    unsigned mode;    /* PUT: final mode; 0600 (no group/other bits) = secret */
    struct strvec masks; /* PUT: secret text in content, masked by --dry-run
                          * (as written: quoted or escaped for its format) */
    int watch;        /* WAIT: a watch target: polled (exit status ignored)
                       * only until the step's other targets succeeded; its
                       * PLAN_GIVE_UP_MARK / PLAN_SUSPECT_MARK stop the wait
                       * (e.g. a crash loop on another node than the check's) */
    char sha[65];     /* PUT: sha256 of content; the runner skips the upload
                       * when the node's file has it and the mode (compared
                       * here, so no digest of a secret reaches a node) */
};

struct step {
    char *title;          /* "mgmtd: start containers" */
    const char *service;  /* static name: "fdb", "mgmtd", ... */
    enum step_op op;
    long timeout_ms;      /* per command (RUN/PUT) or whole wait (WAIT); a CALL's
                           * code keeps its own timeouts */
    long interval_ms;     /* WAIT: poll interval */
    char *wait_for;       /* WAIT: what we wait for, for messages */
    char *state_key;      /* one-time step key in the state file, or NULL */
    char *state_val;      /* value recorded with state_key (e.g. a digest) */
    char *also_key;       /* recorded too (with also_val) when the step ran:
                           * it did that other one-time step's work as well */
    char *also_val;
    const char *fresh_mark; /* RUN/WAIT (static text): a line of a target's
                           * successful output saying that what the step
                           * made is new (fdb's "Database created"): the
                           * state file's one-time records of every step
                           * after it (depending on it) belong to a cluster
                           * that is gone, so the runner forgets them */
    struct strvec hint_match; /* when a failure's output contains match i ... */
    struct strvec hint_text;  /* ... add hint i to the error */
    long suspect_ms;      /* WAIT: see PLAN_SUSPECT_MARK (0: never) */
    int prep;             /* needs nothing from other services (files, disks);
                           * set for every PUT step */
    struct step_call call; /* CALL: the code */
    size_t *after;        /* indices of the steps that must end first */
    size_t n_after;
    struct step_target *t;
    size_t n, alloc;
};

struct plan {
    struct step *steps;
    size_t n, alloc;
};

/* --- local state file: <dir of cluster.yml>/.m3fs/<name>.state.json ---- */
struct m3fs_state {
    char *path;         /* where it is saved */
    char *fdb_id;       /* "<10 [a-z0-9]>:<10 [a-z0-9]>" (before '@') */
    char *token;        /* root admin token (secret, registered with the log) */
    char *client_token; /* the FUSE clients' token: user CLIENT_TOKEN_UID, a 3FS
                         * root user (acts for any uid) but not an admin (secret,
                         * registered); state_new_fixed() derives it from token */
    char *ch_password;  /* ClickHouse password minted for a cluster.yml that sets
                         * none (secret, registered); NULL in state_new_fixed() */
    int existed;        /* the file was there when loaded */
    void *json;         /* cJSON object of everything else ("done" keys) */
};

/* The uid and name of the FUSE clients' 3FS user (issue 20: clients do not
 * get the admin token). */
#define CLIENT_TOKEN_UID 100000u
#define CLIENT_TOKEN_USER "m3fs-fuse"

/* Path of the state file for a config file and cluster name; caller frees. */
char *state_path_for(const char *config_path, const char *cluster_name);
/* Load the state file, or make a fresh one with newly minted secrets (not
 * saved until state_save()).  Returns NULL with a message in err when the
 * file exists but cannot be read or parsed. */
struct m3fs_state *state_load(const char *path, struct strbuf *err);
/* A state from fixed values (tests, dry-run golden files). */
struct m3fs_state *state_new_fixed(const char *path, const char *fdb_id, const char *token);
/* Write atomically with mode 0600 (creating the .m3fs directory 0700; an
 * existing one must be this user's real directory, writable by no one else;
 * the temporary file is created O_EXCL|O_NOFOLLOW).  state_load() reads
 * only a regular file of this user, never through a symlink. */
int state_save(struct m3fs_state *st, struct strbuf *err);
/* Value recorded for a one-time step, or NULL. */
const char *state_get_done(const struct m3fs_state *st, const char *key);
void state_set_done(struct m3fs_state *st, const char *key, const char *val);
/* Forget one one-time step's record, done or started. */
void state_forget(struct m3fs_state *st, const char *key);
/* A one-time step that was started but is not recorded done: the runner
 * marks it before running it and clears the mark when its outcome is known
 * (recorded done, or its command ended with an exit status).  A mark left
 * means the last run lost the step mid-way (killed, SSH dropped): the step
 * may have finished on the node (see init-cluster in services/mgmtd.c). */
void state_set_started(struct m3fs_state *st, const char *key);
void state_clear_started(struct m3fs_state *st, const char *key);
int state_started(const struct m3fs_state *st, const char *key);
/* Take the lock of a cluster against a second run on it of a command that
 * changes it (the dispatcher does, for the entries with CMD_LOCK, cmd.h):
 * <dir of cluster.yml>/.m3fs/<name>.lock (flock), holding this pid, this
 * host's name and `what` (the command, e.g. "m3fs cluster stop"), one a
 * line.  Returns its descriptor (held until cluster_unlock() or the process
 * ends), or -1 with the reason in err (another m3fs holds it: its pid, and
 * its command and host when the lock file names them). */
int cluster_lock(const char *config_path, const char *cluster_name, const char *what,
                 struct strbuf *err);
void cluster_unlock(int fd);
/* 0 when the state file still holds st's fdb id and token (or still is not
 * there when st was fresh), else -1 with the reason in err. */
int state_unchanged(const struct m3fs_state *st, struct strbuf *err);
void state_free(struct m3fs_state *st);

/* Mint a 3FS admin token for uid (3fs-reference §2): base64 of 18 permuted
 * bytes (magic 0xF1DB, uid, 8 random bytes, CRC).  `random` supplies the 8
 * random bytes. Appends 24 characters to out. */
void token_mint(uint32_t uid, const uint8_t random[8], struct strbuf *out);
/* The raw CRC used by tokens (reflected CRC-32, init 0, no final xor). */
uint32_t token_crc(const uint8_t *p, size_t n);

/* Step construction helpers (src/plan/plan.c).  Strings are copied. */
struct step *plan_add_step(struct plan *p, const char *service, enum step_op op,
                           const char *title);
void step_add_run(struct step *s, size_t node, const char *cmd, const char *skip_if);
/* A CALL step (plan_add_step with STEP_CALL and the code) and its targets:
 * `what` says what the call does on that node, for --dry-run. */
struct step *plan_add_call(struct plan *p, const char *service, const char *title,
                           const struct step_call *c);
void step_add_call(struct step *s, size_t node, const char *what);
void step_add_put(struct step *s, size_t node, const char *path, const char *content, size_t len,
                  unsigned mode);
/* The last target added to s (a PUT) holds secret text: --dry-run masks it. */
void step_mask_last(struct step *s, const char *text);
/* A WAIT's watch target on node (see struct step_target); add watches after
 * the checks, on nodes without a check (a node's targets run in order). */
void step_add_watch(struct step *s, size_t node, const char *cmd);
/* The last target added to s gets its verify check (see struct step_target). */
void step_set_verify(struct step *s, const char *check);
void step_set_state(struct step *s, const char *key, const char *val);
/* Record key = val too when the step runs (not when skipped). */
void step_set_state_also(struct step *s, const char *key, const char *val);
/* Add a hint shown when a failure's output contains match. */
void step_add_hint(struct step *s, const char *match, const char *hint);
void plan_free(struct plan *p);
/* Keep only the targets on nodes with keep[node] != 0 (per cfg->nodes) and
 * the steps left with a target; those then run one after another (a
 * service's create steps on some of its nodes: add-storage-nodes). */
void plan_keep_nodes(struct plan *p, const unsigned char *keep);

/* Which steps wait for which.  By default (plan_add_step) every step waits
 * for the one before it.  plan_link() instead: a service's steps run one after another
 * (a "lane"); a service's first step that is not prep also waits for the
 * last step of every service it depends on; lanes otherwise run at the same
 * time.  deps is terminated by an entry with service NULL; a dependency
 * must come earlier in the plan. */
struct svc_dep {
    const char *service;
    const char *deps[4]; /* NULL-terminated when shorter */
};
void plan_link(struct plan *p, const struct svc_dep *deps);
/* After plan_link(): every step that waits for nothing waits for step 0
 * (a check or mark that must come before anything else). */
void plan_first_gate(struct plan *p);

/* Dry-run text: every step, its nodes and exact commands; every PUT's
 * content with its masks (step_mask_last) masked; every registered secret
 * masked everywhere. */
void plan_print(const struct plan *p, const struct m3fs_config *cfg, struct strbuf *out);

/* --- running ------------------------------------------------------------ */
struct run_stats {
    size_t changed;   /* targets that ran */
    size_t skipped;   /* targets already done */
};

#define PLAN_INTERRUPTED (-2)

/* Run the steps, each once the steps it waits for have ended (several at
 * once when the plan allows it).  After a failure no new step starts and
 * running waits stop.  While it runs, SIGINT, SIGTERM and SIGHUP stop the
 * run like Ctrl-C (a second one of the same signal kills the process; the
 * caller's handlers are back when it returns).  Returns 0, -1 with every
 * failed step's node errors in err, or PLAN_INTERRUPTED after one of those
 * signals (running commands are let finish; the state is saved either
 * way).  st may be NULL when no step has a state_key (cluster prepare
 * keeps no state). */
int plan_run(const struct plan *p, struct m3fs_state *st,
             struct remote_ctx *rc, long parallel, struct run_stats *stats, struct strbuf *err);
/* Nonzero once plan_run got SIGINT, SIGTERM or SIGHUP: a long CALL step (an
 * image upload) asks it to stop early instead of finishing its work. */
int plan_interrupted(void);
/* Nonzero once the run stops: plan_interrupted(), or a step failed (the
 * runner then lets running steps end and starts none).  A CALL step that
 * waits long asks it to end early; why (may be NULL) gets the reason the
 * runner takes as "only stopped" (not reported as a failure). */
int plan_stopping(struct strbuf *why);

/* The nothing-to-do pass (src/plan/verify.c): whether running the plan
 * would change nothing, from one exchange per node that runs every check
 * the runner would run there (a PUT's file digests, a RUN's verify or
 * skip_if, a WAIT's check) at once, changing nothing.  One-time steps the
 * state file records as done are skipped.  Returns 1 when everything is in
 * place; 0 when something is not (why names the first step and node), or
 * when the plan has a step no check can vouch for (a RUN target without
 * verify or skip_if, a CALL step that takes part, a one-time step not yet
 * done) -- then nothing ran.  A node that cannot be reached is 0 too. */
int plan_verify(const struct plan *p, const struct m3fs_state *st, struct remote_ctx *rc,
                long parallel, struct strbuf *why);

/* --- where a run's time went (plan_run_traced) ---------------------------- */
/* One step: when it started and ended (ms after the run began; -1 when it
 * never started) and, on its slowest node, how long that node took and how
 * much of that was remote commands (the SSH exchanges, remote_counts) and
 * pauses between the checks of a wait; the rest of the step's time is
 * m3fs's own (rendering, packing, scheduling). */
struct plan_trace_step {
    long start_ms, end_ms;
    int skipped;          /* a one-time step the state file records as done */
    long node;            /* the slowest node's index, or -1 (no node) */
    long node_ms, remote_ms, pause_ms;
};
struct plan_trace {
    long wall_ms;
    double cpu_user_s, cpu_sys_s; /* this process, during the run */
    size_t n;
    struct plan_trace_step *steps; /* n of them, owned */
};
/* plan_run that also fills *tr (allocated here; plan_trace_release frees). */
int plan_run_traced(const struct plan *p, struct m3fs_state *st, struct remote_ctx *rc,
                    long parallel, struct run_stats *stats, struct plan_trace *tr,
                    struct strbuf *err);
void plan_trace_release(struct plan_trace *tr);
/* The steps on the critical path: from the step that ended last back
 * through, at each step, the step it waited for that ended last.  Fills
 * path[0..*n) in run order; path has room for tr->n entries. */
void plan_trace_critical(const struct plan *p, const struct plan_trace *tr, size_t *path,
                         size_t *n);
/* The trace as JSON text (docs/deploy.md "Where the time goes"): the steps,
 * the critical path, and each node's remote_counts from rc.  Appends to out. */
void plan_trace_json(const struct plan *p, const struct plan_trace *tr, struct remote_ctx *rc,
                     const struct m3fs_config *cfg, struct strbuf *out);

#endif
