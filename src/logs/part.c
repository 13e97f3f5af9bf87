/* logs/part.c: one part = one run of templates/m3fs-logs.sh whose stdout,
 * cut and masked, becomes one archive entry (see include/m3fs/logs.h). */
#include <stdlib.h>
#include <string.h>

#include "logs-int.h"
#include "m3fs/log.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"

/* `sh -c SCRIPT m3fs-logs` (script_call, without its trailing space) */
char *run_script_prefix(void)
{
    struct strbuf sb = STRBUF_INIT;
    script_call(&sb, "m3fs-logs.sh");
    while (sb.len && sb.buf[sb.len - 1] == ' ') sb_setlen(&sb, sb.len - 1);
    return sb_detach(&sb);
}

void run_add_secret(struct logs_run *r, const char *secret)
{
    pthread_mutex_lock(&r->mu);
    logs_secret_forms(secret, &r->masks);
    pthread_mutex_unlock(&r->mu);
}

static void masks_copy(struct logs_run *r, struct strvec *masks)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->masks.n; i++) sv_push(masks, r->masks.v[i]);
    pthread_mutex_unlock(&r->mu);
}

void run_mask(struct logs_run *r, struct strbuf *data, int cut)
{
    struct strvec masks = STRVEC_INIT;
    masks_copy(r, &masks);
    logs_mask(data, &masks, cut);
    sv_clear(&masks);
}

void run_mask_values(struct logs_run *r, struct strbuf *data)
{
    struct strvec masks = STRVEC_INIT;
    masks_copy(r, &masks);
    log_mask_with(data, &masks);
    sv_clear(&masks);
}

static void tally(struct logs_tally *t, const struct ix_part *p)
{
    if (!t) return;
    t->parts++;
    t->bytes += p->size;
    if (strcmp(p->status, "ok")) t->failed++;
}

void run_write(struct logs_run *r, const struct ix_part *p, struct strbuf *data, int cut,
               struct logs_tally *t)
{
    struct ix_part q = *p;
    run_mask(r, data, cut);
    q.size = data->len;
    q.truncated = cut;
    if (la_add(&r->ar, p->path, data->buf, data->len)) {
        q.path = NULL;
        q.size = 0;
        q.status = "failed";
        q.error = "not written: the archive could not be written";
    }
    ix_add(&r->ix, &q);
    tally(t, &q);
}

void run_record(struct logs_run *r, const struct ix_part *p, struct logs_tally *t)
{
    ix_add(&r->ix, p);
    tally(t, p);
}

/* Why a run that did run failed (empty when it exited 0). */
static void exit_error(const struct exec_result *res, struct strbuf *err)
{
    if (res->timed_out) {
        sb_addf(err, "timed out after %ld s", LOGS_PART_TIMEOUT_MS / 1000);
    } else if (res->signal[0]) {
        sb_addf(err, "killed by signal %s", res->signal);
    } else if (res->exit_status) {
        struct strbuf msg = STRBUF_INIT;
        sb_add(&msg, res->err.buf, res->err.len);
        sb_rtrim(&msg);
        sb_addf(err, "exit %d%s%.500s", res->exit_status, msg.len ? ": " : "", msg.buf);
        sb_release(&msg);
    }
}

/* Run the op; 0 with res filled, -1 with the reason in err (masked). */
static int run_op(struct logs_run *r, struct remote_session *s, const char *const *args,
                  struct exec_result *res, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT;
    sb_adds(&cmd, r->script);
    for (; *args; args++) {
        sb_addch(&cmd, ' ');
        sh_quote(&cmd, *args);
    }
    struct exec_opts eo = { .timeout_ms = LOGS_PART_TIMEOUT_MS, .as_root = 1 };
    if (!remote_exec(s, cmd.buf, &eo, res, err)) exit_error(res, err);
    sb_release(&cmd);
    if (!err->len) return 0;
    run_mask(r, err, 0);
    return -1;
}

int run_capture(struct logs_run *r, struct remote_session *s, const char *const *args,
                struct strbuf *out, struct strbuf *err)
{
    struct exec_result res;
    exec_result_init(&res);
    int rc = run_op(r, s, args, &res, err);
    if (!rc) sb_add(out, res.out.buf, res.out.len);
    exec_result_release(&res);
    return rc;
}

int run_part(struct logs_run *r, struct remote_session *s, const struct part_spec *ps)
{
    struct exec_result res;
    struct strbuf err = STRBUF_INIT;
    exec_result_init(&res);
    log_debug("%s: %s", ps->node ? ps->node : "cluster", ps->source);
    int rc = run_op(r, s, ps->args, &res, &err);
    struct ix_part p = { .what = ps->what, .node = ps->node, .path = ps->path,
                         .source = ps->source, .status = rc ? "failed" : "ok",
                         .error = rc ? err.buf : NULL };
    /* What a failed run printed is kept too (a timed-out docker logs). */
    if (!rc || res.out.len) {
        int cut = logs_tail(&res.out, r->o->max_bytes);
        run_write(r, &p, &res.out, cut, ps->tally);
    } else {
        p.path = NULL;
        run_record(r, &p, ps->tally);
    }
    exec_result_release(&res);
    sb_release(&err);
    return rc;
}
