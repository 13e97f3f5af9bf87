/* plan/verify.c: the nothing-to-do pass (plan_verify, include/m3fs/plan.h).
 * Every check the runner would make on a node -- the digests of a PUT's
 * files, a RUN's verify or skip_if, a WAIT's check -- goes to that node in
 * one script on stdin (`sh -s`: no command-line length limit), where the
 * checks run at once (each once), quiet and without stdin.  The script prints
 * "p SHA MODE" per file (in target order) and "ok I" or "no I" per check. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/remote.h"
#include "m3fs/shquote.h"
#include "plan-int.h"

#define VERIFY_TIMEOUT_MS 60000L

/* One node's share of the checks (pointers borrowed from the plan). */
struct vnode {
    const struct step_target **put;
    size_t *put_step, n_put;
    const char **check;
    size_t *check_step, n_check;
    int ok;              /* every check passed */
    long bad_step;       /* the first step found not in place, or -1 */
};

struct vplan {
    const struct plan *p;
    struct vnode *nodes; /* per cfg node index */
    size_t n_nodes;
};

static void add_put(struct vnode *v, const struct step_target *t, size_t step)
{
    v->put = xrealloc(v->put, (v->n_put + 1) * sizeof(*v->put));
    v->put_step = xrealloc(v->put_step, (v->n_put + 1) * sizeof(*v->put_step));
    v->put[v->n_put] = t, v->put_step[v->n_put++] = step;
}

/* A check already on the node's list is not added again (a step's skip_if
 * is often the wait after it): its answer stands for both, and a failure
 * names the earlier step, the first not in place. */
static void add_check(struct vnode *v, const char *check, size_t step)
{
    for (size_t i = 0; i < v->n_check; i++)
        if (!strcmp(v->check[i], check)) return;
    v->check = xrealloc(v->check, (v->n_check + 1) * sizeof(*v->check));
    v->check_step = xrealloc(v->check_step, (v->n_check + 1) * sizeof(*v->check_step));
    v->check[v->n_check] = check, v->check_step[v->n_check++] = step;
}

/* The check that vouches for target t, or NULL when none can. */
static const char *target_check(const struct step *s, const struct step_target *t)
{
    if (t->verify) return t->verify;
    if (t->skip_if) return t->skip_if;
    return s->op == STEP_WAIT ? t->cmd : NULL;
}

/* Step i's checks onto its nodes; -1 (why set) when nothing can vouch for it. */
static int add_step(struct vplan *vp, const struct m3fs_state *st, size_t i, struct strbuf *why)
{
    const struct step *s = &vp->p->steps[i];
    if (s->state_key) {
        const char *v = st ? state_get_done(st, s->state_key) : NULL;
        if (v && !strcmp(v, s->state_val)) return 0;
        sb_addf(why, "step %zu '%s' has not run (state file)", i + 1, s->title);
        return -1;
    }
    for (size_t k = 0; k < s->n; k++) {
        const struct step_target *t = &s->t[k];
        struct vnode *v = &vp->nodes[t->node];
        if (s->op == STEP_WAIT && t->watch) continue;
        if (s->op == STEP_CALL && s->call.takes_part && !s->call.takes_part(s->call.arg, t->node))
            continue;
        if (s->op == STEP_PUT) {
            add_put(v, t, i);
            continue;
        }
        const char *c = s->op == STEP_CALL ? NULL : target_check(s, t);
        if (!c) {
            sb_addf(why, "step %zu '%s' has no check that says it is done", i + 1, s->title);
            return -1;
        }
        add_check(v, c, i);
    }
    return 0;
}

static void node_script(const struct vnode *v, struct strbuf *sc)
{
    sb_adds(sc, "v() { if (sh -c \"$2\") >/dev/null 2>&1 </dev/null; then echo \"ok $1\"; "
                "else echo \"no $1\"; fi; }\n");
    for (size_t i = 0; i < v->n_check; i++) {
        sb_addf(sc, "v %zu ", i);
        sh_quote(sc, v->check[i]);
        sb_adds(sc, " &\n");
    }
    if (v->n_put) {
        put_check_cmd(v->put, v->n_put, sc);
        sb_adds(sc, " </dev/null | while IFS= read -r l; do echo \"p $l\"; done\n");
    }
    sb_adds(sc, "wait\n");
}

/* The first step not in place by the node's answer, or -1; -2 when the
 * answer cannot be read. */
static long first_bad(const struct vnode *v, const char *out)
{
    struct strbuf puts = STRBUF_INIT;
    long bad = -1;
    size_t n_ok = 0;
    for (const char *l = out; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char *end;
        if (len > 2 && !strncmp(l, "p ", 2)) {
            sb_add(&puts, l + 2, len - 2);
            sb_addch(&puts, '\n');
        } else if (len > 3 && !strncmp(l, "ok ", 3)) {
            n_ok++;
        } else if (len > 3 && !strncmp(l, "no ", 3)) {
            unsigned long i = strtoul(l + 3, &end, 10);
            if (i < v->n_check && (bad < 0 || (long)v->check_step[i] < bad))
                bad = (long)v->check_step[i];
        }
        l += len + (nl ? 1 : 0);
    }
    char *stale = xcalloc(v->n_put ? v->n_put : 1, 1);
    if (put_find_stale(v->put, v->n_put, puts.buf, stale) < 0) bad = -2;
    for (size_t i = 0; bad != -2 && i < v->n_put; i++)
        if (stale[i] && (bad < 0 || (long)v->put_step[i] < bad)) bad = (long)v->put_step[i];
    if (bad == -1 && n_ok != v->n_check) bad = -2;
    free(stale);
    sb_release(&puts);
    return bad;
}

static int verify_node(struct remote_session *rs, size_t node, void *arg, struct strbuf *err)
{
    struct vplan *vp = arg;
    struct vnode *v = &vp->nodes[node];
    struct strbuf sc = STRBUF_INIT;
    node_script(v, &sc);
    struct exec_opts eo = { .timeout_ms = VERIFY_TIMEOUT_MS, .as_root = 1,
                            .stdin_data = sc.buf, .stdin_len = sc.len };
    struct exec_result r;
    exec_result_init(&r);
    int rc = remote_exec(rs, "sh -s", &eo, &r, err);
    if (!rc && (r.exit_status || r.timed_out)) {
        sb_addf(err, "the checks did not finish (exit %d)", r.exit_status);
        rc = -1;
    }
    if (!rc) {
        v->bad_step = first_bad(v, r.out.buf);
        v->ok = v->bad_step == -1;
        if (v->bad_step == -2) sb_adds(err, "cannot read the checks' answer");
    }
    exec_result_release(&r);
    sb_release(&sc);
    return rc || v->bad_step == -2 ? 1 : 0;
}

static void vplan_release(struct vplan *vp)
{
    for (size_t i = 0; i < vp->n_nodes; i++) {
        struct vnode *v = &vp->nodes[i];
        free(v->put), free(v->put_step), free(v->check), free(v->check_step);
    }
    free(vp->nodes);
}

/* Run the checks; 1 when every node's passed, else 0 with why. */
static int run_checks(struct vplan *vp, struct remote_ctx *rc, long parallel, struct strbuf *why)
{
    size_t *idx = xcalloc(vp->n_nodes ? vp->n_nodes : 1, sizeof(*idx)), n = 0, nfail;
    for (size_t i = 0; i < vp->n_nodes; i++)
        if (vp->nodes[i].n_put || vp->nodes[i].n_check) idx[n++] = i;
    struct strbuf *errs = remote_ctx_run_errs(rc, idx, n, parallel, verify_node, vp, &nfail);
    int all = !nfail;
    long first = -1;
    for (size_t k = 0; k < n; k++) {
        const struct vnode *v = &vp->nodes[idx[k]];
        if (errs[k].len && !why->len) sb_add(why, errs[k].buf, errs[k].len);
        if (!v->ok) all = 0;
        if (v->bad_step >= 0 && (first < 0 || v->bad_step < first)) first = v->bad_step;
    }
    if (first >= 0) {
        sb_reset(why);
        sb_addf(why, "step %ld '%s' is not in place", first + 1, vp->p->steps[first].title);
    }
    remote_errs_free(errs, n);
    free(idx);
    return all;
}

int plan_verify(const struct plan *p, const struct m3fs_state *st, struct remote_ctx *rc,
                long parallel, struct strbuf *why)
{
    size_t n_nodes = 0;
    for (size_t i = 0; i < p->n; i++)
        for (size_t k = 0; k < p->steps[i].n; k++)
            if (p->steps[i].t[k].node + 1 > n_nodes) n_nodes = p->steps[i].t[k].node + 1;
    struct vplan vp = { p, xcalloc(n_nodes ? n_nodes : 1, sizeof(struct vnode)), n_nodes };
    for (size_t i = 0; i < n_nodes; i++) vp.nodes[i].bad_step = -1;
    int ok = 1;
    for (size_t i = 0; i < p->n && ok; i++)
        if (add_step(&vp, st, i, why) < 0) ok = 0;
    if (ok) ok = run_checks(&vp, rc, parallel, why);
    log_debug("nothing-to-do pass: %s%s", ok ? "everything is in place" : "", why->buf);
    vplan_release(&vp);
    return ok;
}
