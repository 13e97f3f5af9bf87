/* The image steps of `cluster prepare`: what each node already has
 * (inventory), the local bundle check, sending + loading images from the
 * bundle, and `docker pull` when there is no bundle. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/plan.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "prepare-int.h"

static void images_dir(struct strbuf *sb, const struct m3fs_config *cfg)
{
    size_t n = strlen(cfg->work_dir);
    while (n > 1 && cfg->work_dir[n - 1] == '/') n--;
    sb_add(sb, cfg->work_dir, n);
    sb_adds(sb, n == 1 && cfg->work_dir[0] == '/' ? "images" : "/images");
}

void prep_relay_dir(struct strbuf *sb, const struct m3fs_config *cfg)
{
    images_dir(sb, cfg);
    sb_adds(sb, "/.m3fs-relay");
}

void prepare_marker_path(struct strbuf *sb, const struct m3fs_config *cfg, const char *file)
{
    images_dir(sb, cfg);
    sb_addf(sb, "/%s.sha256", file);
}

void prepare_part_path(struct strbuf *sb, const struct m3fs_config *cfg, const char *file)
{
    images_dir(sb, cfg);
    sb_addf(sb, "/.%s.part", file);
}

static int run_root(struct remote_session *s, const struct strbuf *cmd, long timeout_ms,
                    struct strbuf *out, struct strbuf *err)
{
    return remote_run(s, cmd->buf, 1, timeout_ms, out, err);
}

/* --- inventory -------------------------------------------------------------- */

static void decide(struct prep_run *r, struct prep_node *pn, enum img_kind k, int have_ref,
                   const char *marker, const char *ref)
{
    const struct artifact_image *a = r->art[k];
    struct prep_image *pi = &pn->img[k];
    int same = !strcmp(marker, a->sha256);
    if (have_ref && same) {
        prep_set_action(pi, PREP_SKIP, "already loaded: %s present, marker sha256 matches", ref);
        return;
    }
    if (!have_ref && !*marker) prep_set_action(pi, PREP_SEND, "not on the node");
    else if (!have_ref) prep_set_action(pi, PREP_SEND, "%s is missing from docker", ref);
    else if (!*marker) prep_set_action(pi, PREP_SEND, "%s present but not loaded from a bundle "
                                       "(no marker)", ref);
    else prep_set_action(pi, PREP_SEND, "marker sha256 %.12s... differs from the bundle's "
                         "%.12s...", marker, a->sha256);
    pn->send |= 1u << k;
    pn->send_bytes += a->size;
}

static int inventory_one(struct remote_session *s, struct prep_run *r, size_t node,
                         enum img_kind k, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT, marker = STRBUF_INIT;
    char *ref = config_image_ref(r->cfg, k);
    prepare_marker_path(&marker, r->cfg, r->art[k]->file);
    script_call(&cmd, "m3fs-prep.sh");
    sb_adds(&cmd, "image ");
    sh_quote(&cmd, ref);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, marker.buf);
    int rc = run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, &out, err);
    int have_ref = 0;
    char sum[SHA256_HEX_LEN + 1];
    if (!rc && prepare_parse_inventory(out.buf, &have_ref, sum)) {
        sb_addf(err, "unexpected answer while looking for %s: '%s'", ref, out.buf);
        rc = -1;
    }
    if (!rc) decide(r, &r->node[node], k, have_ref, sum, ref);
    free(ref);
    sb_release(&cmd);
    sb_release(&out);
    sb_release(&marker);
    return rc;
}

int prep_step_inventory(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct strbuf e = STRBUF_INIT;
    if (prep_relay_cleanup_stale(s, r, &e))
        log_warn("%s: could not remove what an earlier relay left: %s", prep_node_name(r, node),
                 e.buf);
    sb_release(&e);
    for (int k = 0; k < IMG_COUNT; k++)
        if ((r->node[node].images & (1u << k)) && inventory_one(s, r, node, k, err)) return 1;
    return 0;
}

/* --- local verification --------------------------------------------------------- */

int prep_local_verify(void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct strbuf size = STRBUF_INIT;
    const struct artifact_manifest *m = artifact_bundle_manifest(r->b);
    uint64_t total = 0;
    for (size_t i = 0; i < m->n; i++) total += m->img[i].size;
    artifact_human_size(&size, (double)total);
    log_info("verifying %s (%zu images, %s) before sending anything", r->o->bundle, m->n,
             size.buf);
    sb_release(&size);
    double t0 = mono_s();
    if (artifact_bundle_each(r->b, NULL, NULL, err)) {
        sb_adds(err, "; nothing was sent to any node");
        return -1;
    }
    log_info("bundle ok (%.1fs)", mono_s() - t0);
    return 0;
}

/* --- sending --------------------------------------------------------------------- */

static int check_on_node(struct remote_session *s, const struct artifact_image *a,
                         const char *part, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    char sum[SHA256_HEX_LEN + 1];
    sb_adds(&cmd, "sha256sum ");
    sh_quote(&cmd, part);
    int rc = run_root(s, &cmd, PREP_LOAD_TIMEOUT_MS, &out, err);
    if (!rc && prepare_parse_sha256sum(out.buf, sum)) {
        sb_addf(err, "cannot read the sha256 of %s: '%s'", part, out.buf);
        rc = -1;
    } else if (!rc && strcmp(sum, a->sha256)) {
        sb_addf(err, "%s arrived damaged: sha256 on the node %s, in the bundle %s; the copy was "
                "deleted; run prepare again (if it repeats, check the node's disk and memory)",
                a->file, sum, a->sha256);
        rc = -1;
    }
    sb_release(&cmd);
    sb_release(&out);
    return rc;
}

/* docker load, tag to the reference cluster.yml uses, check it exists. */
static int load_on_node(struct remote_session *s, struct prep_run *r, enum img_kind k,
                        const char *part, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    char *ref = config_image_ref(r->cfg, k), *loaded = NULL;
    sb_adds(&cmd, "docker load -i ");
    sh_quote(&cmd, part);
    int rc = run_root(s, &cmd, PREP_LOAD_TIMEOUT_MS, &out, err);
    if (!rc && !(loaded = prepare_loaded_image(out.buf))) {
        sb_addf(err, "docker load of %s named no image: '%s'", r->art[k]->file, out.buf);
        rc = -1;
    }
    if (!rc && strcmp(loaded, ref)) {
        sb_reset(&cmd);
        sb_adds(&cmd, "docker tag ");
        sh_quote(&cmd, loaded);
        sb_addch(&cmd, ' ');
        sh_quote(&cmd, ref);
        rc = run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, err);
    }
    if (!rc) {
        sb_reset(&cmd);
        sb_adds(&cmd, "docker image inspect -f '{{.Id}}' ");
        sh_quote(&cmd, ref);
        if (run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, err)) {
            sb_addf(err, "; %s was loaded but %s is not there: does the bundle's image match "
                    "images.%s in cluster.yml?", r->art[k]->file, ref, img_key(k));
            rc = -1;
        }
    }
    free(ref);
    free(loaded);
    sb_release(&cmd);
    sb_release(&out);
    return rc;
}

static int finish_on_node(struct remote_session *s, struct prep_run *r,
                          const struct artifact_image *a, const char *part, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, marker = STRBUF_INIT;
    prepare_marker_path(&marker, r->cfg, a->file);
    script_call(&cmd, "m3fs-prep.sh");
    sb_adds(&cmd, "done ");
    sh_quote(&cmd, a->sha256);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, marker.buf);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, part);
    int rc = run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, err);
    sb_release(&cmd);
    sb_release(&marker);
    return rc;
}

static void remove_part(struct remote_session *s, const char *part)
{
    struct strbuf cmd = STRBUF_INIT, e = STRBUF_INIT;
    sb_adds(&cmd, "rm -f ");
    sh_quote(&cmd, part);
    if (run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, &e))
        log_warn("could not remove %s: %s", part, e.buf);
    sb_release(&cmd);
    sb_release(&e);
}

static void upload_progress(void *arg, uint64_t done, uint64_t total)
{
    if (done % (256u << 20) < 65536 || done == total)
        log_debug("%s: %llu of %llu bytes", (const char *)arg, (unsigned long long)done,
                  (unsigned long long)total);
}

/* A full disk, said by SFTP (src/remote/files.c) or by docker load, gets
 * the way out: which filesystem to free, and that a rerun resumes. */
static void hint_if_full(struct prep_run *r, size_t node, int loading, struct strbuf *err)
{
    if (!strstr(err->buf, "space left on device")) return;
    struct strbuf dir = STRBUF_INIT;
    images_dir(&dir, r->cfg);
    if (loading)
        sb_addf(err, "; the disk holding Docker's data root %s on the node is full: free space "
                "there (docker image prune) or move Docker's data-root to a larger filesystem, "
                "then run prepare again", r->node[node].docker_root);
    else
        sb_addf(err, "; the disk holding %s on the node is full: free space there (df -h %s) "
                "or set workDir to a larger filesystem, then run prepare again", dir.buf,
                dir.buf);
    sb_release(&dir);
}

static int send_one(struct remote_session *s, struct prep_run *r, size_t node, enum img_kind k,
                    struct bstream *bs, struct strbuf *err)
{
    const struct artifact_image *a = r->art[k];
    struct strbuf part = STRBUF_INIT, label = STRBUF_INIT;
    prepare_part_path(&part, r->cfg, a->file);
    sb_addf(&label, "%s: %s", prep_node_name(r, node), a->file);
    /* Ctrl-C stops the upload at the next chunk, not after gigabytes. */
    struct upload_opts uo = { .mode = 0600, .as_root = 1, .progress = upload_progress,
                              .progress_arg = label.buf, .cancel = plan_interrupted };
    log_info("%s: sending %s (%s)", prep_node_name(r, node), a->file,
             r->node[node].img[k].why);
    double t0 = mono_s();
    int rc = remote_upload_stream(s, bstream_read, bs, a->size, part.buf, &uo, err);
    bstream_image_done(bs);
    if (rc) hint_if_full(r, node, 0, err);
    if (!rc) rc = check_on_node(s, a, part.buf, err);
    if (!rc && (rc = load_on_node(s, r, k, part.buf, err)) != 0) hint_if_full(r, node, 1, err);
    if (!rc) rc = finish_on_node(s, r, a, part.buf, err);
    if (rc) remove_part(s, part.buf);
    r->node[node].img[k].done = !rc;
    r->node[node].img[k].secs = mono_s() - t0;
    sb_release(&part);
    sb_release(&label);
    return rc;
}

static int kind_of_file(const struct prep_run *r, unsigned mask, const char *file)
{
    for (int k = 0; k < IMG_COUNT; k++)
        if ((mask & (1u << k)) && r->art[k] && !strcmp(r->art[k]->file, file)) return k;
    return -1;
}

/* Make the images directory and remove what an earlier run's dropped
 * connection or lost node left of the files about to be sent (a partial
 * upload's temporary file, an unloaded .part): nothing else removes them. */
static int images_dir_ready(struct remote_session *s, struct prep_run *r, size_t node,
                            const struct strvec *want, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, dir = STRBUF_INIT, out = STRBUF_INIT;
    images_dir(&dir, r->cfg);
    script_call(&cmd, "m3fs-prep.sh");
    sb_adds(&cmd, "images ");
    sh_quote(&cmd, dir.buf);
    for (size_t i = 0; i < want->n; i++) {
        sb_addch(&cmd, ' ');
        sh_quote(&cmd, want->v[i]);
    }
    int rc = run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, &out, err);
    sb_rtrim(&out);
    if (!rc && out.len)
        log_info("%s: removed what an interrupted upload left: %s", prep_node_name(r, node),
                 out.buf);
    sb_release(&cmd);
    sb_release(&dir);
    sb_release(&out);
    return rc;
}

/* Receive the wanted images (mask) in bundle order from the reader thread. */
static int send_all(struct remote_session *s, struct prep_run *r, size_t node,
                    struct bstream *bs, unsigned mask, size_t n_want, struct strbuf *err)
{
    const struct artifact_image *img;
    size_t got = 0;
    while (got < n_want && (img = bstream_next(bs))) {
        int k = kind_of_file(r, mask, img->file);
        if (k < 0 || send_one(s, r, node, (enum img_kind)k, bs, err)) {
            if (k < 0) sb_addf(err, "unexpected image %s from the bundle", img->file);
            return -1;
        }
        got++;
    }
    return got == n_want ? 0 : -1;
}

static void set_via(struct prep_image *pi, const char *what, const char *why)
{
    free(pi->via);
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s (%s)", what, why);
    pi->via = sb_detach(&sb);
}

/* Take the relay's copy of image k: move it to the .part name, check its
 * sha256, load it.  0 done; 1 the copy is missing or damaged (the caller
 * sends the image directly); -1 loading failed (err). */
static int adopt_relayed(struct remote_session *s, struct prep_run *r, size_t node,
                         enum img_kind k, struct strbuf *err)
{
    const struct artifact_image *a = r->art[k];
    struct prep_image *pi = &r->node[node].img[k];
    struct strbuf part = STRBUF_INIT, src = STRBUF_INIT, cmd = STRBUF_INIT, e = STRBUF_INIT;
    double t0 = mono_s();
    prepare_part_path(&part, r->cfg, a->file);
    prep_relay_dir(&src, r->cfg);
    sb_addf(&src, "/%s.part", a->file);
    sb_adds(&cmd, "mv -f ");
    sh_quote(&cmd, src.buf);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, part.buf);
    int rc = 0;
    if (run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, &e)) {
        set_via(pi, "direct", "the relay did not bring a copy");
        rc = 1;
    } else if (check_on_node(s, a, part.buf, &e)) {
        log_warn("%s: the relayed copy of %s failed its check (%s); sending it again directly",
                 prep_node_name(r, node), a->file, e.buf);
        set_via(pi, "direct", "the relayed copy failed its sha256 check, sent again");
        rc = 1;
    } else if (load_on_node(s, r, k, part.buf, err) || finish_on_node(s, r, a, part.buf, err)) {
        hint_if_full(r, node, 1, err);
        rc = -1;
    }
    if (rc) remove_part(s, part.buf);
    pi->done = !rc;
    pi->secs = mono_s() - t0;
    sb_release(&part);
    sb_release(&src);
    sb_release(&cmd);
    sb_release(&e);
    return rc;
}

static int relayed_any(const struct prep_node *pn)
{
    for (int k = 0; k < IMG_COUNT; k++)
        if (pn->img[k].relayed) return 1;
    return 0;
}

/* The relay directory, empty once its copies were taken. */
static void remove_relay_dir(struct remote_session *s, struct prep_run *r)
{
    struct strbuf cmd = STRBUF_INIT, dir = STRBUF_INIT, e = STRBUF_INIT;
    prep_relay_dir(&dir, r->cfg);
    sb_adds(&cmd, "rm -rf ");
    sh_quote(&cmd, dir.buf);
    if (run_root(s, &cmd, PREP_CHECK_TIMEOUT_MS, NULL, &e))
        log_warn("could not remove %s: %s", dir.buf, e.buf);
    sb_release(&cmd);
    sb_release(&dir);
    sb_release(&e);
}

int prep_step_send(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct prep_node *pn = &r->node[node];
    struct strvec want = STRVEC_INIT;
    for (int k = 0; k < IMG_COUNT; k++)
        if (pn->send & (1u << k)) sv_push(&want, r->art[k]->file);
    if (images_dir_ready(s, r, node, &want, err)) {
        sv_clear(&want);
        return 1;
    }
    unsigned direct = pn->send;
    for (int k = 0; k < IMG_COUNT; k++) {
        if (!(pn->send & (1u << k)) || !pn->img[k].relayed) continue;
        int a = adopt_relayed(s, r, node, (enum img_kind)k, err);
        if (a < 0) {
            sv_clear(&want);
            return 1;
        }
        if (!a) direct &= ~(1u << k);
    }
    if (relayed_any(pn)) remove_relay_dir(s, r);
    sv_clear(&want);
    for (int k = 0; k < IMG_COUNT; k++)
        if (direct & (1u << k)) sv_push(&want, r->art[k]->file);
    if (!want.n) return 0;
    struct bstream *bs = bstream_start(r->o->bundle, &want, err);
    int rc = bs ? send_all(s, r, node, bs, direct, want.n, err) : -1;
    struct strbuf serr = STRBUF_INIT;
    if (bs && bstream_stop(bs, &serr) && rc && !err->len) sb_add(err, serr.buf, serr.len);
    sb_release(&serr);
    sv_clear(&want);
    return rc ? 1 : 0;
}

/* --- docker pull (no bundle) -------------------------------------------------------- */

static int pull_one(struct remote_session *s, struct prep_run *r, size_t node, enum img_kind k,
                    struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT;
    struct exec_result res;
    struct exec_opts eo = { .timeout_ms = PREP_LOAD_TIMEOUT_MS, .as_root = 1 };
    char *ref = config_image_ref(r->cfg, k);
    double t0 = mono_s();
    exec_result_init(&res);
    sb_adds(&cmd, "docker pull ");
    sh_quote(&cmd, ref);
    log_info("%s: docker pull %s", prep_node_name(r, node), ref);
    int rc = remote_exec(s, cmd.buf, &eo, &res, err);
    if (!rc && res.exit_status != 0) {
        sb_rtrim(&res.err);
        sb_addf(err, "docker pull %s failed (%s %d): %s; check that the node reaches the "
                "registry%s%s, or prepare from a bundle with -a (m3fs artifact download)", ref,
                res.timed_out ? "timed out, exit" : "exit", res.exit_status, res.err.buf,
                *r->cfg->images.registry ? " " : "", r->cfg->images.registry);
        rc = -1;
    }
    r->node[node].img[k].done = !rc;
    r->node[node].img[k].secs = mono_s() - t0;
    exec_result_release(&res);
    sb_release(&cmd);
    free(ref);
    return rc;
}

int prep_step_pull(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct prep_node *pn = &r->node[node];
    for (int k = 0; k < IMG_COUNT; k++) {
        if (!(pn->images & (1u << k))) continue;
        prep_set_action(&pn->img[k], PREP_PULL, "docker pull on the node");
        if (pull_one(s, r, node, (enum img_kind)k, err)) return 1;
    }
    return 0;
}
