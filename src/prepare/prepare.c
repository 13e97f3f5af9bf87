/* `cluster prepare`: the table of steps, turned into a plan of CALL steps
 * run by plan_run() (include/m3fs/plan.h); then the report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "network-int.h"
#include "prepare-int.h"

static int needs_images(void *arg, size_t node)
{
    const struct prep_run *r = arg;
    return r->node[node].images != 0;
}

/* Known only after the inventory step. */
static int has_sends(void *arg, size_t node)
{
    const struct prep_run *r = arg;
    return r->node[node].send != 0;
}

#define NEEDS_IMAGE "a role of the node needs an image"
#define SENDS "the inventory found images to send"

/* Checks first; nothing is copied until every node passed them.  Network
 * preparation goes after the image steps. */
static const struct prep_step steps[] = {
    { .name = "docker", .title = "checking docker", .with_bundle = -1, .only_if = NEEDS_IMAGE,
      .what = "docker is installed and its daemon answers (docker info; records DockerRootDir)",
      .takes_part = needs_images, .on_node = prep_step_docker },
    { .name = "host", .title = "checking kernel, CPU and OS", .with_bundle = -1,
      .what = "kernel, CPU flags the 3fs image needs, architecture and OS (net-host.sh)",
      .local_what = "warn when networkType is TCP", .local = net_local_host,
      .on_node = net_step_host },
    { .name = "listen", .title = "checking the NICs 3FS listens on", .with_bundle = -1,
      .only_if = "the node runs a 3FS service",
      .what = "3FS would listen on the node's address (its NICs and RDMA devices)",
      .takes_part = net_takes_part_listen, .on_node = net_step_listen },
    { .name = "inventory", .title = "looking for images already loaded", .with_bundle = 1,
      .only_if = NEEDS_IMAGE,
      .lists_images = 1,
      .what = "look for these images (docker image and marker sha256):",
      .takes_part = needs_images, .on_node = prep_step_inventory },
    { .name = "space", .title = "checking free space", .with_bundle = 1, .only_if = SENDS,
      .what = "free space in workDir and Docker's root >= 2 x the bytes to send",
      .takes_part = has_sends, .may_take_part = needs_images, .on_node = prep_step_space },
    { .name = "verify", .title = "verifying the bundle", .with_bundle = 1, .only_if = SENDS,
      .what = "(nothing on the node)",
      .local_what = "read the whole bundle and check every image against its manifest",
      .takes_part = has_sends, .may_take_part = needs_images, .local = prep_local_verify },
    { .name = "relay", .title = "relaying images node to node", .with_bundle = 1,
      .only_if = SENDS,
      .what = "with 2 or more receiving nodes: the run's key, probe of the next node, its "
              "copy written while it passes the stream on (m3fs-relay.sh)",
      .local_what = "make a key for this run; send each image once to the first node of each "
                    "chain; remove the key from every node at the end",
      .takes_part = has_sends, .may_take_part = needs_images, .local = prep_local_relay },
    { .name = "images", .title = "sending and loading images", .with_bundle = 1, .only_if = SENDS,
      .lists_images = 1,
      .what = "send those of these images the inventory found missing or changed (stream, "
              "check the sha256 there, docker load, tag, write the marker):",
      .takes_part = has_sends, .may_take_part = needs_images, .on_node = prep_step_send },
    { .name = "pull", .title = "pulling images", .with_bundle = 0, .only_if = NEEDS_IMAGE,
      .lists_images = 1, .what = "docker pull",
      .takes_part = needs_images, .on_node = prep_step_pull },
    { .name = "net-packages", .title = "installing RDMA packages", .with_bundle = -1,
      .only_if = "networkType is RXE", .what = "install the RDMA userspace packages "
      "(net-packages.sh)", .takes_part = net_takes_part_packages, .on_node = net_step_packages },
    { .name = "net-setup", .title = "setting up RDMA networking", .with_bundle = -1,
      .only_if = "networkType is not TCP",
      .what = "write the network files, load the modules, enable and run the boot unit",
      .takes_part = net_takes_part, .on_node = net_step_setup },
    { .name = "net-verify", .title = "verifying RDMA links", .with_bundle = -1,
      .only_if = "networkType is not TCP",
      .what = "links ACTIVE, uverbs devices present, fs.aio-max-nr set",
      .takes_part = net_takes_part, .on_node = net_step_verify },
};

const char *prep_node_name(const struct prep_run *r, size_t node)
{
    return config_node_label(&r->cfg->nodes[node]);
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
            if (pi->action == PREP_SEND) sb_addf(sb, " [%s]", pi->via ? pi->via : "direct");
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
        for (int k = 0; k < IMG_COUNT; k++) {
            free(r->node[i].img[k].why);
            free(r->node[i].img[k].via);
        }
    }
    free(r->node);
    if (r->rc) remote_ctx_free(r->rc);
    artifact_bundle_close(r->b);
}

/* What a step does on a node, for --dry-run: its description, with the
 * node's images when the step works on them. */
static void describe(const struct prep_run *r, const struct prep_step *ps, size_t node,
                     struct strbuf *out)
{
    sb_adds(out, ps->what);
    if (!ps->lists_images) return;
    for (int k = 0; k < IMG_COUNT; k++) {
        if (!(r->node[node].images & (1u << k))) continue;
        char *ref = config_image_ref(r->cfg, (enum img_kind)k);
        sb_addf(out, " %s", ref);
        free(ref);
    }
}

/* The plan: one CALL step per table entry that applies (-a or not), each
 * after the one before, on the nodes that may take part. */
static void build_plan(struct prep_run *r, struct plan *p)
{
    int with_bundle = r->o->bundle != NULL;
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        const struct prep_step *ps = &steps[i];
        if (ps->with_bundle >= 0 && ps->with_bundle != with_bundle) continue;
        struct step_call c = { .takes_part = ps->takes_part, .local = ps->local,
                               .on_node = ps->on_node, .arg = r, .only_if = ps->only_if,
                               .local_what = ps->local_what };
        struct step *s = plan_add_call(p, ps->name, ps->title, &c);
        int (*may)(void *, size_t) = ps->may_take_part ? ps->may_take_part : ps->takes_part;
        struct strbuf what = STRBUF_INIT;
        for (size_t n = 0; n < r->cfg->n_nodes; n++) {
            if (may && !may(r, n)) continue;
            sb_reset(&what);
            describe(r, ps, n, &what);
            step_add_call(s, n, what.buf);
        }
        sb_release(&what);
    }
}

static void print_dry_run(const struct prep_run *r, const struct plan *p)
{
    struct strbuf out = STRBUF_INIT;
    sb_addf(&out, "Plan for preparing cluster '%s' (%zu steps; images %s). Nothing was "
            "changed.\n", r->cfg->name, p->n, r->o->bundle ? "from the bundle" : "by docker pull");
    plan_print(p, r->cfg, &out);
    fwrite(out.buf, 1, out.len, stdout);
    fflush(stdout);
    sb_release(&out);
}

static int run_plan(struct prep_run *r, const struct plan *p)
{
    struct strbuf err = STRBUF_INIT;
    struct run_stats rs;
    /* one run per cluster: the caller holds the cluster's lock (CMD_LOCK) */
    r->rc = remote_ctx_new(r->cfg->nodes, r->cfg->n_nodes, &r->o->ro);
    int rc = plan_run(p, NULL, r->rc, r->o->parallel, &rs, &err);
    if (rc == PLAN_INTERRUPTED)
        log_error("interrupted; run the same command again to go on (what is done is skipped)");
    else if (rc)
        log_error("%s\nprepare stopped there; fix the cause and run the same command again",
                  err.buf);
    sb_release(&err);
    report(r);
    return rc ? -1 : 0;
}

int prepare_run(const struct m3fs_config *cfg, const struct prepare_opts *o)
{
    struct prep_run r = { .cfg = cfg, .o = o };
    struct plan p = { 0 };
    unsigned needed = 0;
    r.node = xcalloc(cfg->n_nodes + 1, sizeof(*r.node));
    for (size_t i = 0; i < cfg->n_nodes; i++) needed |= r.node[i].images = config_node_images(cfg, i);
    int rc = 0;
    if (!needed) {
        log_warn("no node has a role that needs an image; nothing to prepare");
    } else if (!o->bundle || !(rc = open_bundle(&r, needed))) {
        build_plan(&r, &p);
        if (o->dry_run) print_dry_run(&r, &p);
        else rc = run_plan(&r, &p);
    }
    plan_free(&p);
    release(&r);
    return rc;
}
