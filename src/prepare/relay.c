/* The image relay of `cluster prepare -a` (docs/prepare.md "Relay"): the
 * deploying machine sends each image once, to the first node of a chain;
 * every node writes its copy and passes the stream on to the next over
 * node-to-node SSH (templates/m3fs-relay.sh), with a key made for this run,
 * allowed only to run the relay (authorized_keys restrict,command=,from=)
 * and removed at the end of the step.  The images step then checks each
 * relayed copy's sha256 before `docker load` and sends what is missing or
 * damaged directly (images.c). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/embedded.h"
#include "m3fs/log.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "prepare-int.h"

#define RELAY_MARK "m3fs-relay"

/* --- pure: chains ----------------------------------------------------------------- */

size_t prep_relay_split(const int *ok, size_t n, size_t *start, size_t *len)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !ok[i - 1]) {
            start[k] = i, len[k] = 0;
            k++;
        }
        len[k - 1]++;
    }
    return k;
}

int prep_relay_word_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-", *s))
            return 0;
    return 1;
}

int prep_relay_dir_ok(const char *dir)
{
    if (*dir != '/') return 0;
    for (const char *p = dir; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-", *p))
            return 0;
    return 1;
}

/* --- the run ------------------------------------------------------------------------ */

struct relay {
    struct prep_run *r;
    struct strbuf dir;
    size_t *idx, n;           /* the nodes taking part (config order) */
    struct strbuf *hostkey;   /* per cfg node: "TYPE BASE64" */
    struct strbuf priv, known, auth;
    /* per image being relayed */
    int kind;
    size_t *chain, n_chain;   /* cfg indices */
    size_t *next;             /* per cfg node: next in the chain, or SIZE_MAX */
    int *ok;                  /* per cfg node: probe: it reached its next; size: 1 whole
                               * copy, 0 short, -1 no answer */
};

static void hop_word(struct strbuf *sb, const struct m3fs_node *n)
{
    sb_addf(sb, "%s,%s,%ld,%s", n->name, n->host, n->port > 0 ? n->port : 22, n->username);
}

static int node_fits(const struct m3fs_node *n)
{
    return prep_relay_word_ok(n->name) && prep_relay_word_ok(n->host) &&
           prep_relay_word_ok(n->username) && !strchr(n->name, ',') &&
           !strchr(n->username, ',');
}

static int drop_failed(struct relay *rl, struct strbuf *errs, const char *what)
{
    size_t k = 0;
    for (size_t i = 0; i < rl->n; i++) {
        if (errs[i].len) {
            log_warn("relay: %s left out (%s): %s", prep_node_name(rl->r, rl->idx[i]), what,
                     errs[i].buf);
            continue;
        }
        rl->idx[k++] = rl->idx[i];
    }
    remote_errs_free(errs, rl->n);
    rl->n = k;
    return k >= 2 ? 0 : -1;
}

static int run_user(struct remote_session *s, struct strbuf *cmd, const char *in,
                    struct strbuf *out, struct strbuf *err)
{
    return remote_run_input(s, cmd->buf, 0, PREP_CHECK_TIMEOUT_MS, in, in ? strlen(in) : 0,
                            out, err);
}

static int on_setup(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "setup ");
    sh_quote(&cmd, rl->dir.buf);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, rl->r->cfg->nodes[node].username);
    int rc = remote_run(s, cmd.buf, 1, PREP_CHECK_TIMEOUT_MS, &out, err);
    sb_rtrim(&out);
    if (!rc && strcmp(out.buf, "ok")) {
        sb_addf(err, "unexpected answer '%s'", out.buf);
        rc = -1;
    }
    if (!rc && remote_host_key(s, &rl->hostkey[node])) {
        sb_adds(err, "cannot read the host key of its SSH session");
        rc = -1;
    }
    sb_release(&cmd);
    sb_release(&out);
    return rc;
}

struct mem_reader {
    const char *p;
    size_t left;
};

static ssize_t mem_read(void *arg, void *buf, size_t len, struct strbuf *err)
{
    struct mem_reader *m = arg;
    (void)err;
    if (len > m->left) len = m->left;
    memcpy(buf, m->p, len);
    m->p += len, m->left -= len;
    return (ssize_t)len;
}

static int put_file(struct remote_session *s, const char *dir, const char *name,
                    const char *data, size_t len, struct strbuf *err)
{
    struct strbuf path = STRBUF_INIT;
    struct mem_reader m = { data, len };
    struct upload_opts uo = { .mode = 0600 };
    sb_addf(&path, "%s/%s", dir, name);
    int rc = remote_upload_stream(s, mem_read, &m, len, path.buf, &uo, err);
    sb_release(&path);
    return rc;
}

/* The key (0600), known_hosts, the script and the authorized_keys line. */
static int on_install(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    const struct m3fs_embedded_file *f = embedded_find("m3fs-relay.sh");
    (void)node;
    if (put_file(s, rl->dir.buf, "key", rl->priv.buf, rl->priv.len, err) ||
        put_file(s, rl->dir.buf, "known_hosts", rl->known.buf, rl->known.len, err) ||
        put_file(s, rl->dir.buf, "relay.sh", f->data, f->len, err))
        return -1;
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "authorize " RELAY_MARK);
    int rc = run_user(s, &cmd, rl->auth.buf, NULL, err);
    sb_release(&cmd);
    return rc;
}

static int on_cleanup(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    (void)node;
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "cleanup ");
    sh_quote(&cmd, rl->dir.buf);
    sb_adds(&cmd, " " RELAY_MARK);
    int rc = run_user(s, &cmd, NULL, NULL, err);
    sb_release(&cmd);
    return rc;
}

/* The stale-run cleanup the inventory step does on every node (a run that
 * died before its own cleanup left its key authorized). */
int prep_relay_cleanup_stale(struct remote_session *s, const struct prep_run *r,
                             struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, dir = STRBUF_INIT;
    if (remote_is_local(s)) return 0;
    prep_relay_dir(&dir, r->cfg);
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "cleanup ");
    sh_quote(&cmd, dir.buf);
    sb_adds(&cmd, " " RELAY_MARK " all");
    int rc = run_user(s, &cmd, NULL, NULL, err);
    sb_release(&cmd);
    sb_release(&dir);
    return rc;
}

static void build_texts(struct relay *rl, const struct strbuf *pub)
{
    const struct m3fs_config *cfg = rl->r->cfg;
    sb_addf(&rl->auth, "restrict,command=\"sh %s/relay.sh hop %s\",from=\"", rl->dir.buf,
            rl->dir.buf);
    for (size_t i = 0; i < rl->n; i++) {
        const struct m3fs_node *n = &cfg->nodes[rl->idx[i]];
        sb_addf(&rl->known, "m3fs-relay-%s %s\n", n->name, rl->hostkey[rl->idx[i]].buf);
        sb_addf(&rl->auth, "%s%s", i ? "," : "", n->host);
    }
    sb_addf(&rl->auth, "\" %s " RELAY_MARK, pub->buf);
}

/* Set up the nodes in rl->idx; those that fail are left out.  -1 when fewer
 * than two are left (nothing to relay between). */
static int setup(struct relay *rl, long parallel)
{
    struct strbuf pub = STRBUF_INIT, err = STRBUF_INIT;
    size_t failed;
    if (remote_keypair_new(&rl->priv, &pub, &err)) {
        log_warn("relay: %s; sending directly", err.buf);
        sb_release(&err);
        return -1;
    }
    struct strbuf *errs = remote_ctx_run_errs(rl->r->rc, rl->idx, rl->n, parallel, on_setup, rl,
                                              &failed);
    int rc = drop_failed(rl, errs, "set-up");
    if (!rc) {
        build_texts(rl, &pub);
        errs = remote_ctx_run_errs(rl->r->rc, rl->idx, rl->n, parallel, on_install, rl, &failed);
        rc = drop_failed(rl, errs, "installing the run's key");
    }
    sb_release(&pub);
    sb_release(&err);
    return rc;
}

/* --- one image through its chains ---------------------------------------------------- */

static int on_probe(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "probe ");
    sh_quote(&cmd, rl->dir.buf);
    sb_addch(&cmd, ' ');
    struct strbuf hop = STRBUF_INIT;
    hop_word(&hop, &rl->r->cfg->nodes[rl->next[node]]);
    sh_quote(&cmd, hop.buf);
    int rc = run_user(s, &cmd, NULL, &out, err);
    sb_rtrim(&out);
    if (!rc && strcmp(out.buf, "m3fs-relay ok")) {
        sb_addf(err, "unexpected answer '%s'", out.buf);
        rc = -1;
    }
    rl->ok[node] = !rc;
    sb_release(&cmd);
    sb_release(&out);
    sb_release(&hop);
    return rc;
}

static ssize_t read_or_stop(void *arg, void *buf, size_t len, struct strbuf *err)
{
    if (plan_interrupted()) {
        sb_adds(err, "interrupted");
        return -1;
    }
    return bstream_read(arg, buf, len, err);
}

/* The head of a chain: stream the image into `send` there. */
static int on_head(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    const struct artifact_image *a = rl->r->art[rl->kind];
    const struct m3fs_config *cfg = rl->r->cfg;
    struct strbuf cmd = STRBUF_INIT, hop = STRBUF_INIT;
    struct strvec want = STRVEC_INIT;
    sv_push(&want, a->file);
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "send ");
    sh_quote(&cmd, rl->dir.buf);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, a->file);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, cfg->nodes[node].name);
    for (size_t n = rl->next[node]; n != SIZE_MAX; n = rl->next[n]) {
        sb_reset(&hop);
        hop_word(&hop, &cfg->nodes[n]);
        sb_addch(&cmd, ' ');
        sh_quote(&cmd, hop.buf);
    }
    struct bstream *bs = bstream_start(rl->r->o->bundle, &want, err);
    int rc = -1;
    if (bs && bstream_next(bs)) {
        struct exec_opts eo = { .timeout_ms = PREP_LOAD_TIMEOUT_MS, .stdin_reader = read_or_stop,
                                .stdin_reader_arg = bs };
        struct exec_result res;
        exec_result_init(&res);
        rc = remote_exec(s, cmd.buf, &eo, &res, err);
        sb_rtrim(&res.err);
        if (!rc && (res.exit_status || res.err.len))
            log_warn("relay of %s from %s: exit %d%s%s", a->file, prep_node_name(rl->r, node),
                     res.exit_status, res.err.len ? ": " : "", res.err.buf);
        exec_result_release(&res);
        bstream_image_done(bs);
    }
    if (bs) bstream_stop(bs, err);
    sv_clear(&want);
    sb_release(&cmd);
    sb_release(&hop);
    return rc;
}

static void mark_chain(struct relay *rl, size_t head, const char *round)
{
    size_t prev = SIZE_MAX, len = 0;
    for (size_t n = head; n != SIZE_MAX; n = rl->next[n]) len++;
    for (size_t n = head; n != SIZE_MAX; prev = n, n = rl->next[n]) {
        struct prep_image *pi = &rl->r->node[n].img[rl->kind];
        free(pi->via);
        struct strbuf sb = STRBUF_INIT;
        if (prev == SIZE_MAX) sb_addf(&sb, "relay%s: head of a chain of %zu", round, len);
        else sb_addf(&sb, "relay%s: from %s", round, prep_node_name(rl->r, prev));
        pi->via = sb_detach(&sb);
        pi->relayed = 1;
    }
}

/* Probe each node of rl->chain's next; where one does not answer, cut. */
static void probe_chain(struct relay *rl, int *ok, long parallel)
{
    const struct m3fs_config *cfg = rl->r->cfg;
    size_t failed;
    for (size_t i = 0; i < cfg->n_nodes; i++) rl->next[i] = SIZE_MAX, rl->ok[i] = 0;
    for (size_t i = 0; i + 1 < rl->n_chain; i++) rl->next[rl->chain[i]] = rl->chain[i + 1];
    struct strbuf *errs = remote_ctx_run_errs(rl->r->rc, rl->chain, rl->n_chain - 1, parallel,
                                              on_probe, rl, &failed);
    for (size_t i = 0; i + 1 < rl->n_chain; i++) {
        ok[i] = rl->ok[rl->chain[i]];
        if (ok[i]) continue;
        log_warn("relay: %s cannot reach %s (%s): the chain is cut there",
                 prep_node_name(rl->r, rl->chain[i]), prep_node_name(rl->r, rl->chain[i + 1]),
                 errs[i].buf);
        rl->next[rl->chain[i]] = SIZE_MAX;
    }
    remote_errs_free(errs, rl->n_chain - 1);
}

/* The nodes of rl->chain (2 or more) in chains: probe, cut, stream into
 * every piece of 2 or more.  round: "" or ", second chain" for the report. */
static void stream_chains(struct relay *rl, long parallel, const char *round)
{
    int *ok = xcalloc(rl->n_chain, sizeof(*ok));
    probe_chain(rl, ok, parallel);
    size_t *st = xcalloc(rl->n_chain, sizeof(*st)), *len = xcalloc(rl->n_chain, sizeof(*len));
    size_t n_seg = prep_relay_split(ok, rl->n_chain, st, len), n_heads = 0, failed;
    size_t *heads = xcalloc(n_seg, sizeof(*heads)), relayed = 0;
    for (size_t k = 0; k < n_seg; k++)
        if (len[k] >= 2) heads[n_heads++] = rl->chain[st[k]], relayed += len[k];
    log_info("relay%s: %s to %zu of %zu nodes in %zu chain%s (the rest get it directly)", round,
             rl->r->art[rl->kind]->file, relayed, rl->n_chain, n_heads,
             plural_s((long long)n_heads));
    double t0 = mono_s();
    for (size_t k = 0; k < n_heads; k++) mark_chain(rl, heads[k], round);
    struct strbuf *errs = remote_ctx_run_errs(rl->r->rc, heads, n_heads, parallel, on_head, rl,
                                              &failed);
    for (size_t k = 0; k < n_heads; k++)
        if (errs[k].len) log_warn("relay: %s", errs[k].buf);
    remote_errs_free(errs, n_heads);
    log_info("relay%s: %s streamed in %.1fs; each copy is checked before loading", round,
             rl->r->art[rl->kind]->file, mono_s() - t0);
    free(heads);
    free(st);
    free(len);
    free(ok);
}

/* rl->ok[node]: 1 the relayed copy has the image's size, 0 it is short
 * (a node before it dropped out), -1 the node did not answer. */
static int on_size(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct relay *rl = arg;
    const struct artifact_image *a = rl->r->art[rl->kind];
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    script_call(&cmd, "m3fs-relay.sh");
    sb_adds(&cmd, "size ");
    sh_quote(&cmd, rl->dir.buf);
    sb_addch(&cmd, ' ');
    sh_quote(&cmd, a->file);
    int rc = run_user(s, &cmd, NULL, &out, err);
    unsigned long long size = rc ? 0 : strtoull(out.buf, NULL, 10);
    rl->ok[node] = rc ? -1 : size == a->size;
    sb_release(&cmd);
    sb_release(&out);
    return rc;
}

/* Keep in rl->chain the relayed nodes whose copy is short and that still
 * answer: a node before them dropped out mid-stream. */
static size_t short_copies(struct relay *rl, long parallel)
{
    size_t n = 0, failed;
    for (size_t i = 0; i < rl->n_chain; i++)
        if (rl->r->node[rl->chain[i]].img[rl->kind].relayed) rl->chain[n++] = rl->chain[i];
    struct strbuf *errs = remote_ctx_run_errs(rl->r->rc, rl->chain, n, parallel, on_size, rl,
                                              &failed);
    remote_errs_free(errs, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rl->ok[rl->chain[i]] == 0) rl->chain[k++] = rl->chain[i];
    return k;
}

/* The nodes that need image kind in chains; then, once, the nodes left
 * with a short copy (past a node that dropped out) in a second chain. */
static void relay_image(struct relay *rl, int kind, long parallel)
{
    rl->kind = kind;
    rl->n_chain = 0;
    for (size_t i = 0; i < rl->n; i++)
        if (rl->r->node[rl->idx[i]].send & (1u << kind)) rl->chain[rl->n_chain++] = rl->idx[i];
    if (rl->n_chain < 2) return;
    stream_chains(rl, parallel, "");
    if (plan_interrupted()) return;
    rl->n_chain = short_copies(rl, parallel);
    if (rl->n_chain < 2) return;
    log_warn("relay: %zu nodes got a short copy of %s (a node before them dropped out): "
             "chaining them again", rl->n_chain, rl->r->art[kind]->file);
    stream_chains(rl, parallel, ", second chain");
}

static void relay_free(struct relay *rl, size_t n_nodes)
{
    for (size_t i = 0; i < n_nodes; i++) sb_release(&rl->hostkey[i]);
    free(rl->hostkey);
    free(rl->idx);
    free(rl->chain);
    free(rl->next);
    free(rl->ok);
    if (rl->priv.alloc) memset(rl->priv.buf, 0, rl->priv.alloc);
    sb_release(&rl->priv);
    sb_release(&rl->known);
    sb_release(&rl->auth);
    sb_release(&rl->dir);
}

/* Nodes that receive something, are reached over SSH and have names,
 * hosts and users the relay can pass on; then only those sharing an image
 * with another of them (a chain needs two). */
static void choose(struct relay *rl)
{
    struct prep_run *r = rl->r;
    unsigned seen = 0, twice = 0;
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        struct strbuf e = STRBUF_INIT;
        struct remote_session *s = r->node[i].send ? remote_ctx_get(r->rc, i, &e) : NULL;
        if (s && !remote_is_local(s) && node_fits(&r->cfg->nodes[i])) {
            rl->idx[rl->n++] = i;
            twice |= seen & r->node[i].send;
            seen |= r->node[i].send;
        }
        sb_release(&e);
    }
    size_t k = 0;
    for (size_t i = 0; i < rl->n; i++)
        if (r->node[rl->idx[i]].send & twice) rl->idx[k++] = rl->idx[i];
    rl->n = k;
}

int prep_local_relay(void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    size_t nn = r->cfg->n_nodes;
    (void)err;
    if (r->o->no_relay) {
        log_info("relay: off (--no-relay); every node gets its images directly");
        return 0;
    }
    struct relay rl = { .r = r };
    sb_init(&rl.dir, 0);
    prep_relay_dir(&rl.dir, r->cfg);
    rl.hostkey = xcalloc(nn, sizeof(*rl.hostkey));
    for (size_t i = 0; i < nn; i++) sb_init(&rl.hostkey[i], 0);
    rl.idx = xcalloc(nn, sizeof(*rl.idx));
    rl.chain = xcalloc(nn, sizeof(*rl.chain));
    rl.next = xcalloc(nn, sizeof(*rl.next));
    rl.ok = xcalloc(nn, sizeof(*rl.ok));
    if (prep_relay_dir_ok(rl.dir.buf)) choose(&rl);
    else log_warn("relay: workDir %s has characters the relay does not pass on; sending "
                  "directly", r->cfg->work_dir);
    if (rl.n < 2) {
        log_info("relay: fewer than 2 nodes to relay between; sending directly");
    } else {
        /* Every chosen node is cleaned, set up or not: one may hold the key. */
        size_t all = rl.n, *chosen = xcalloc(all, sizeof(*chosen)), failed;
        memcpy(chosen, rl.idx, all * sizeof(*chosen));
        if (!setup(&rl, r->o->parallel))
            for (int k = 0; k < IMG_COUNT && !plan_interrupted(); k++)
                if (r->art[k]) relay_image(&rl, k, r->o->parallel);
        memcpy(rl.idx, chosen, all * sizeof(*chosen));
        free(chosen);
        rl.n = all;
        struct strbuf *errs = remote_ctx_run_errs(r->rc, rl.idx, rl.n, r->o->parallel,
                                                  on_cleanup, &rl, &failed);
        for (size_t i = 0; i < rl.n; i++)
            if (errs[i].len)
                log_warn("relay: could not remove the run's key from %s (the next prepare "
                         "removes it): %s", prep_node_name(r, rl.idx[i]), errs[i].buf);
        remote_errs_free(errs, rl.n);
    }
    relay_free(&rl, nn);
    return plan_interrupted() ? -1 : 0;
}
