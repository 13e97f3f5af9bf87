/* `cluster prepare`: the list of steps and the loop that runs them over the
 * nodes, stopping at the first step that fails anywhere; then the report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "network-int.h"
#include "prepare-int.h"

static int needs_images(const struct prep_run *r, size_t node)
{
    return r->node[node].images != 0;
}

static int has_sends(const struct prep_run *r, size_t node)
{
    return r->node[node].send != 0;
}

/* Checks first; nothing is copied until every node passed them.  Network
 * preparation (next issue) goes after the image steps. */
static const struct prep_step steps[] = {
    { "docker", "checking docker", -1, needs_images, NULL, prep_step_docker },
    { "host", "checking kernel, CPU and OS", -1, net_takes_part_all, net_local_host,
      net_step_host },
    { "listen", "checking the NICs 3FS listens on", -1, net_takes_part_listen, NULL,
      net_step_listen },
    { "inventory", "looking for images already loaded", 1, needs_images, NULL,
      prep_step_inventory },
    { "space", "checking free space", 1, has_sends, NULL, prep_step_space },
    { "verify", "verifying the bundle", 1, has_sends, prep_local_verify, NULL },
    { "images", "sending and loading images", 1, has_sends, NULL, prep_step_send },
    { "pull", "pulling images", 0, needs_images, NULL, prep_step_pull },
    { "net-packages", "installing RDMA packages", -1, net_takes_part_packages, NULL,
      net_step_packages },
    { "net-setup", "setting up RDMA networking", -1, net_takes_part, NULL, net_step_setup },
    { "net-verify", "verifying RDMA links", -1, net_takes_part, NULL, net_step_verify },
};

const char *prep_node_name(const struct prep_run *r, size_t node)
{
    const struct m3fs_node *n = &r->cfg->nodes[node];
    return n->name ? n->name : n->host;
}

void prep_set_action(struct prep_image *pi, enum prep_action a, const char *fmt, ...)
{
    va_list ap;
    struct strbuf sb = STRBUF_INIT;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    free(pi->why);
    pi->why = sb_detach(&sb);
    pi->action = a;
}

static size_t report_errors(struct strbuf *errs, size_t n)
{
    size_t failed = 0;
    for (size_t k = 0; k < n; k++) {
        if (errs[k].len) {
            log_error("%s", errs[k].buf);
            failed++;
        }
        sb_release(&errs[k]);
    }
    return failed;
}

/* Run one step; returns the number of nodes that failed (1 for a failed
 * local part). */
static size_t run_step(struct prep_run *r, const struct prep_step *st)
{
    size_t *idx = xcalloc(r->cfg->n_nodes + 1, sizeof(*idx)), n = 0, failed = 0;
    for (size_t i = 0; i < r->cfg->n_nodes; i++)
        if (st->takes_part(r, i)) idx[n++] = i;
    if (!n) {
        log_info("%s: nothing to do", st->title);
        free(idx);
        return 0;
    }
    log_info("%s (%zu node%s)", st->title, n, plural_s(n));
    struct strbuf err = STRBUF_INIT;
    if (st->local && st->local(r, &err)) {
        log_error("%s", err.buf);
        failed = 1;
    }
    sb_release(&err);
    if (!failed && st->on_node) {
        struct strbuf *errs = xcalloc(n, sizeof(*errs));
        for (size_t k = 0; k < n; k++) sb_init(&errs[k], 0);
        remote_ctx_run(r->rc, idx, n, r->o->parallel, st->on_node, r, errs);
        failed = report_errors(errs, n);
        free(errs);
        if (failed)
            log_error("step '%s' failed on %zu of %zu node%s; prepare stopped there", st->name,
                      failed, n, plural_s(n));
    }
    free(idx);
    return failed;
}

struct tally {
    size_t sent, skipped, pulled, failed, pending;
};

static const char *image_status(const struct prep_image *pi, struct tally *t, struct strbuf *sb)
{
    switch (pi->action) {
    case PREP_SKIP:
        t->skipped++;
        return "skipped";
    case PREP_SEND:
    case PREP_PULL:
        if (pi->done) {
            pi->action == PREP_SEND ? t->sent++ : t->pulled++;
            sb_addf(sb, "%s in %.1fs", pi->action == PREP_SEND ? "sent" : "pulled", pi->secs);
            return sb->buf;
        }
        if (pi->secs > 0) {
            t->failed++;
            return "FAILED";
        }
        t->pending++;
        return pi->action == PREP_SEND ? "not sent, prepare stopped earlier" : "not pulled";
    default:
        t->pending++;
        return "not done, prepare stopped earlier";
    }
}

static void report_node(const struct prep_run *r, size_t i, int width, struct tally *t)
{
    const struct m3fs_node *n = &r->cfg->nodes[i];
    const struct prep_node *pn = &r->node[i];
    if (!pn->images) {
        printf("== %s (%s): no role here needs an image\n", n->name, n->host);
        return;
    }
    printf("== %s (%s)\n", n->name, n->host);
    for (int k = 0; k < IMG_COUNT; k++) {
        if (!(pn->images & (1u << k))) continue;
        struct strbuf st = STRBUF_INIT;
        char *ref = config_image_ref(r->cfg, (enum img_kind)k);
        const char *s = image_status(&pn->img[k], t, &st);
        const char *why = pn->img[k].why;
        printf("  %-11s %-*s %s%s%s%s\n", img_key((enum img_kind)k), width, ref, s, why ? " (" : "",
               why ? why : "", why ? ")" : "");
        free(ref);
        sb_release(&st);
    }
}

static int ref_width(const struct prep_run *r)
{
    size_t w = 0;
    for (int k = 0; k < IMG_COUNT; k++) {
        char *ref = config_image_ref(r->cfg, (enum img_kind)k);
        if (strlen(ref) > w) w = strlen(ref);
        free(ref);
    }
    return w > 200 ? 200 : (int)w;
}

static void report(const struct prep_run *r)
{
    struct tally t = { 0 };
    int width = ref_width(r);
    for (size_t i = 0; i < r->cfg->n_nodes; i++) report_node(r, i, width, &t);
    printf("%zu node%s: %zu image%s sent, %zu skipped, %zu pulled, %zu failed, %zu not done\n",
           r->cfg->n_nodes, plural_s(r->cfg->n_nodes), t.sent, plural_s(t.sent),
           t.skipped, t.pulled, t.failed, t.pending);
    fflush(stdout);
}

static int open_bundle(struct prep_run *r, unsigned needed)
{
    struct strbuf err = STRBUF_INIT;
    r->b = artifact_bundle_open(r->o->bundle, &err);
    if (r->b && prepare_match_bundle(r->cfg, artifact_bundle_manifest(r->b), r->o->bundle,
                                     needed, r->art, &err)) {
        artifact_bundle_close(r->b);
        r->b = NULL;
    }
    if (!r->b) log_error("%s", err.buf);
    sb_release(&err);
    return r->b ? 0 : -1;
}

static void release(struct prep_run *r)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        free(r->node[i].docker_root);
        for (int k = 0; k < IMG_COUNT; k++) free(r->node[i].img[k].why);
    }
    free(r->node);
    if (r->rc) remote_ctx_free(r->rc);
    artifact_bundle_close(r->b);
}

static int run_steps(struct prep_run *r)
{
    int with_bundle = r->o->bundle != NULL;
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        if (steps[i].with_bundle >= 0 && steps[i].with_bundle != with_bundle) continue;
        if (run_step(r, &steps[i])) return -1;
    }
    return 0;
}

int prepare_run(const struct m3fs_config *cfg, const struct prepare_opts *o)
{
    struct prep_run r = { .cfg = cfg, .o = o };
    unsigned needed = 0;
    r.node = xcalloc(cfg->n_nodes + 1, sizeof(*r.node));
    for (size_t i = 0; i < cfg->n_nodes; i++) needed |= r.node[i].images = config_node_images(cfg, i);
    int rc = 0;
    if (!needed) {
        log_warn("no node has a role that needs an image; nothing to prepare");
    } else if (!o->bundle || !(rc = open_bundle(&r, needed))) {
        r.rc = remote_ctx_new(cfg->nodes, cfg->n_nodes, &o->ro);
        rc = run_steps(&r);
        report(&r);
    }
    release(&r);
    return rc;
}
