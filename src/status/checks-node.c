/* status/checks-node.c: the judges of the facts each node reported (the
 * rows of the check table in checks.c that read m3fs-facts). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/clock.h"
#include "m3fs/network.h"
#include "status-int.h"

static const char *nname(const struct st_report *r, size_t i)
{
    return r->cfg->nodes[i].name;
}

/* The node answered and its facts were read. */
static const struct st_facts *facts(const struct st_report *r, size_t i)
{
    const struct st_node *n = &r->nodes[i];
    return n->reachable && !n->error ? &n->facts : NULL;
}

void st_judge_reachable(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_node *n = &r->nodes[i];
        if (!n->error) continue;
        st_add(out, "node-reachable", ST_SEV_DEGRADED, (long)i,
               n->reachable ? xstrdup(n->error)
                            : xstrfmt("%s is unreachable: %s", nname(r, i), n->error),
               NULL);
    }
}

void st_judge_docker(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        if (f && f->docker_error)
            st_add(out, "docker", ST_SEV_DEGRADED, (long)i,
                   xstrfmt("docker on %s does not answer: %s", nname(r, i), f->docker_error), NULL);
    }
}

/* Each expected container of a node that docker answered for, with fn. */
static void each_ctr(const struct st_report *r, struct st_findings *out,
                     void (*fn)(const struct st_report *r, size_t node, enum svc_kind k,
                                const struct st_ctr *c, struct st_findings *out))
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        enum svc_kind roles[SVC_COUNT];
        size_t n = f && !f->docker_error ? st_node_roles(r->cfg, i, roles) : 0;
        for (size_t k = 0; k < n; k++) {
            const struct st_ctr *c = st_facts_ctr(f, r->cfg->svc[roles[k]].container_name);
            if (c) fn(r, i, roles[k], c, out);
        }
    }
}

/* Docker's restart policy restarts a container whose process exited;
 * RestartCount counts those restarts only (not `docker restart`).  A
 * container restarting now, or restarted and up for less than a minute,
 * is in a crash loop. */
#define CRASH_UP_S 60

static int crash_looping(const struct st_report *r, size_t node, const struct st_ctr *c)
{
    int64_t up = st_ctr_uptime(r, node, c);
    return !strcmp(c->state, "restarting") || (c->restarts > 0 && up >= 0 && up < CRASH_UP_S);
}

static void ctr_running(const struct st_report *r, size_t node, enum svc_kind k,
                        const struct st_ctr *c, struct st_findings *out)
{
    if (!strcmp(c->state, "running") || crash_looping(r, node, c)) return;
    st_add(out, "container-running", ST_SEV_DEGRADED, (long)node,
           !strcmp(c->state, "missing")
               ? xstrfmt("%s container %s on %s does not exist", svc_key(k), c->name, nname(r, node))
               : xstrfmt("%s container %s on %s is %s", svc_key(k), c->name, nname(r, node),
                         c->state),
           NULL);
}

void st_judge_containers(const struct st_report *r, struct st_findings *out)
{
    each_ctr(r, out, ctr_running);
}

static void ctr_crash(const struct st_report *r, size_t node, enum svc_kind k,
                      const struct st_ctr *c, struct st_findings *out)
{
    if (!crash_looping(r, node, c)) return;
    struct strbuf up = STRBUF_INIT;
    st_secs(&up, st_ctr_uptime(r, node, c));
    st_add(out, "container-crash-loop", ST_SEV_DEGRADED, (long)node,
           xstrfmt("%s container %s on %s keeps restarting (%ld restart%s, %s %s)", svc_key(k),
                   c->name, nname(r, node), c->restarts, plural_s(c->restarts),
                   strcmp(c->state, "running") ? "now" : "up",
                   strcmp(c->state, "running") ? c->state : up.buf),
           xstrfmt("read why it exits: `docker logs --tail 50 %s` on %s and the service's log "
                   "in %s/%s/log/; fix the cause, then `docker restart %s`", c->name,
                   nname(r, node), r->cfg->work_dir, svc_key(k), c->name));
    sb_release(&up);
}

void st_judge_crash(const struct st_report *r, struct st_findings *out)
{
    each_ctr(r, out, ctr_crash);
}

static void ctr_image(const struct st_report *r, size_t node, enum svc_kind k,
                      const struct st_ctr *c, struct st_findings *out)
{
    char *want = st_role_image(r->cfg, k);
    if (c->image && strcmp(c->image, want))
        st_add(out, "image", ST_SEV_WARN, (long)node,
               xstrfmt("%s on %s runs image %s; cluster.yml says %s", svc_key(k), nname(r, node),
                       c->image, want),
               NULL);
    free(want);
}

void st_judge_images(const struct st_report *r, struct st_findings *out)
{
    each_ctr(r, out, ctr_image);
}

/* Upstream's units give every service LimitNOFILE=1000000 and storage
 * LimitMEMLOCK=infinity (deploy/systemd/<service>.service); RDMA registers memory,
 * so memlock matters unless networkType is TCP. */
#define MIN_NOFILE 1000000LL

static void ctr_limits(const struct st_report *r, size_t node, enum svc_kind k,
                       const struct st_ctr *c, struct st_findings *out)
{
    long long nofile;
    if (k == SVC_FDB || k == SVC_CLICKHOUSE || !c->nofile || strcmp(c->state, "running")) return;
    if (strcmp(c->nofile, "unlimited") && (st_num(c->nofile, 0, INT64_MAX, &nofile) ||
                                           nofile < MIN_NOFILE))
        st_add(out, "limits", ST_SEV_WARN, (long)node,
               xstrfmt("%s container on %s has an open files limit of %s, below %lld",
                       svc_key(k), nname(r, node), c->nofile, MIN_NOFILE),
               NULL);
    if (net_type_of(r->cfg) != NET_TCP && c->memlock && strcmp(c->memlock, "unlimited"))
        st_add(out, "limits", ST_SEV_WARN, (long)node,
               xstrfmt("%s container on %s has a locked memory limit of %s bytes, not "
                       "unlimited (RDMA needs it)", svc_key(k), nname(r, node), c->memlock),
               NULL);
}

void st_judge_limits(const struct st_report *r, struct st_findings *out)
{
    each_ctr(r, out, ctr_limits);
}

void st_judge_fuse(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        for (size_t k = 0; f && k < f->n_fuse; k++) {
            const struct st_fuse *u = &f->fuse[k];
            if (u->mounted && !strcmp(u->answer, "ok")) continue;
            char *what = !u->mounted
                ? xstrfmt("3FS is not mounted at %s on %s", u->mountpoint, nname(r, i))
                : !strcmp(u->answer, "stale")
                ? xstrfmt("the FUSE mount at %s on %s is stale: %s", u->mountpoint, nname(r, i),
                          *u->detail ? u->detail : "stat failed")
                : xstrfmt("the FUSE mount at %s on %s does not answer within 2 s", u->mountpoint,
                          nname(r, i));
            st_add(out, "fuse-mount", ST_SEV_DEGRADED, (long)i, what, NULL);
        }
    }
}

/* A target path is <dir>/3fs; <dir> is where diskType nvme mounts the disk
 * (templates/m3fs-disks.sh). */
static void tpath(const struct st_report *r, size_t i, const struct st_tpath *t,
                  struct st_findings *out)
{
    size_t n = strlen(t->path);
    int dir_len = (int)(n >= 4 && !strcmp(t->path + n - 4, "/3fs") ? n - 4 : n);
    if (r->cfg->storage.disk == DISK_NVME && !t->mount_point)
        st_add(out, "target-path", ST_SEV_DEGRADED, (long)i,
               xstrfmt("%.*s on %s is not a mount point: its disk is not mounted", dir_len,
                       t->path, nname(r, i)),
               xstrfmt("mount it again (`mount -a` mounts the disks m3fs labelled 3fs-<id>-<i> "
                       "through /etc/fstab), check with `findmnt %.*s`, then `docker restart %s`",
                       dir_len, t->path, r->cfg->svc[SVC_STORAGE].container_name));
    if (!t->exists)
        st_add(out, "target-path", ST_SEV_DEGRADED, (long)i,
               xstrfmt("target path %s on %s is missing", t->path, nname(r, i)), NULL);
}

void st_judge_target_paths(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        for (size_t k = 0; f && k < f->n_tp; k++) tpath(r, i, &f->tp[k], out);
    }
}

/* A target path's file system with less than this share free. */
#define FULL_PERCENT 90

void st_judge_space(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        for (size_t k = 0; f && k < f->n_tp; k++) {
            const struct st_tpath *t = &f->tp[k];
            if (!t->exists || t->size_kb <= 0 || t->used_kb < 0 || t->avail_kb < 0) continue;
            int64_t pct = (t->used_kb * 100) / (t->used_kb + t->avail_kb ? t->used_kb + t->avail_kb : 1);
            if (pct < FULL_PERCENT) continue;
            struct strbuf free_ = STRBUF_INIT;
            st_kib(&free_, t->avail_kb);
            st_add(out, "disk-space", ST_SEV_WARN, (long)i,
                   xstrfmt("target path %s on %s is %lld%% full (%s free)", t->path,
                           nname(r, i), (long long)pct, free_.buf),
                   NULL);
            sb_release(&free_);
        }
    }
}

/* upstream deploy/README.md, "Step 6: Storage service": sysctl -w
 * fs.aio-max-nr=67108864 on storage nodes. */
void st_judge_aio(const struct st_report *r, struct st_findings *out)
{
    for (size_t i = 0; i < r->cfg->n_nodes; i++) {
        const struct st_facts *f = facts(r, i);
        if (!f || !config_node_has(r->cfg, i, SVC_STORAGE) || f->aio_max < 0 ||
            f->aio_max >= NET_AIO_MAX_NR)
            continue;
        st_add(out, "aio-max-nr", ST_SEV_WARN, (long)i,
               xstrfmt("fs.aio-max-nr on storage node %s is %lld, below %lld", nname(r, i),
                       f->aio_max, NET_AIO_MAX_NR),
               NULL);
    }
}

/* The open3fs 3fs images need AVX-512 unless their tag ends in -avx2 (an
 * older CPU dies with SIGILL: m3fs issues #94, #98, #105; the same rule as
 * cluster prepare's preflight, src/prepare/network-check.c). */
void st_judge_cpu(const struct st_report *r, struct st_findings *out)
{
    const char *tag = r->cfg->images.img[IMG_3FS].tag ? r->cfg->images.img[IMG_3FS].tag : "";
    size_t tl = strlen(tag);
    int avx2_build = tl >= 5 && !strcmp(tag + tl - 5, "-avx2");
    for (size_t i = 0; i < r->cfg->n_nodes && !avx2_build; i++) {
        const struct st_facts *f = facts(r, i);
        if (!f || !(config_node_images(r->cfg, i) & (1u << IMG_3FS)) || f->avx512f != 0 ||
            !f->machine || strcmp(f->machine, "x86_64"))
            continue;
        st_add(out, "cpu-avx512", ST_SEV_DEGRADED, (long)i,
               xstrfmt("%s has no AVX-512 and the 3fs image tag '%s' needs it", nname(r, i), tag),
               xstrfmt("set images.3fs.tag to '%s-avx2' in cluster.yml, run `m3fs cluster "
                       "prepare` and `m3fs cluster create` again", tag));
    }
}
