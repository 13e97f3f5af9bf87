/* plan-int.h: pieces shared inside src/plan (not part of the public API). */
#ifndef M3FS_PLAN_INT_H
#define M3FS_PLAN_INT_H

#include <stddef.h>

#include "m3fs/plan.h"

struct remote_session;

/* The distinct nodes of a step, in target order (*n of them); caller frees. */
size_t *step_nodes(const struct step *s, size_t *n);

/* Write step s's files for `node` (its PUT targets) in two commands: one
 * check of every file's sha256 and mode, one tar stream of those that
 * differ.  Adds to *changed / *skipped.  0, or -1 with a message in err. */
int put_node_files(struct remote_session *rs, const struct step *s, size_t node,
                   size_t *changed, size_t *skipped, struct strbuf *err);

/* The command that prints "SHA256 MODE" (octal), or "- -" for a missing
 * file, one line per target t[0..n) (templates/m3fs-put.sh check). */
void put_check_cmd(const struct step_target *const *t, size_t n, struct strbuf *cmd);
/* From that output, stale[i] = 1 when file i's sha256 or mode differ from
 * the target's; -1 when the output cannot be read. */
int put_find_stale(const struct step_target *const *t, size_t n, const char *out, char *stale);

/* A RUN target's command that reports "already done" itself: the
 * target's skip_if, when set, runs first in the same exchange
 * (templates/m3fs-step.sh); a command that finds nothing to do prints
 * PLAN_DONE_MARK as its only output line and exits 0. */
void run_cmd_with_skip(const struct step_target *t, struct strbuf *out);
int run_output_says_done(const char *out);

/* state.c: the state of the file at path from its text (a NUL-terminated
 * JSON object); NULL with a message in err.  Registers its secrets;
 * state_free(). */
struct m3fs_state *state_parse(const char *path, const char *text, struct strbuf *err);

#endif
