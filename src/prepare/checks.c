/* The checks of `cluster prepare` that run before anything is copied:
 * docker installed and running, and free space for the images. */
#include <stdlib.h>
#include <string.h>

#include "m3fs/log.h"
#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "prepare-int.h"

#define NO_DOCKER_EXIT 42

int prep_step_docker(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct exec_opts eo = { .timeout_ms = PREP_CHECK_TIMEOUT_MS, .as_root = 1 };
    struct exec_result res;
    exec_result_init(&res);
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-prep.sh");
    sb_adds(&cmd, "docker");
    int rc = remote_exec(s, cmd.buf, &eo, &res, err);
    sb_release(&cmd);
    sb_rtrim(&res.out);
    sb_rtrim(&res.err);
    if (rc) {
        /* err says why the command could not run */
    } else if (res.exit_status == NO_DOCKER_EXIT) {
        sb_adds(err, "docker is not installed; install it (e.g. 'apt-get install docker.io' or "
                "Docker CE) and start it, then run prepare again");
        rc = -1;
    } else if (res.exit_status != 0 || res.out.buf[0] != '/') {
        sb_addf(err, "docker is installed but its daemon does not answer (%s%s%s); start it "
                "(e.g. 'systemctl start docker') and run prepare again",
                res.timed_out ? "timed out" : "docker info failed",
                res.err.len ? ": " : "", res.err.buf);
        rc = -1;
    } else {
        free(r->node[node].docker_root);
        r->node[node].docker_root = xstrdup(res.out.buf);
        log_debug("%s: docker root %s", prep_node_name(r, node), res.out.buf);
    }
    exec_result_release(&res);
    return rc ? 1 : 0;
}

/* `df -Pk` on the nearest existing directory at or above `path`. */
static void add_df(struct strbuf *cmd, const char *path)
{
    script_call(cmd, "m3fs-prep.sh");
    sb_adds(cmd, "df ");
    sh_quote(cmd, path);
}

static int df_on_node(struct remote_session *s, const char *path, uint64_t *avail_kb,
                      struct strbuf *mount, struct strbuf *err)
{
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
    add_df(&cmd, path);
    int rc = remote_run(s, cmd.buf, 1, PREP_CHECK_TIMEOUT_MS, &out, err);
    if (!rc && prepare_parse_df(out.buf, avail_kb, mount)) {
        sb_addf(err, "cannot read the free space of %s from df: '%s'", path, out.buf);
        rc = -1;
    }
    sb_release(&cmd);
    sb_release(&out);
    return rc;
}

int prep_step_space(struct remote_session *s, size_t node, void *arg, struct strbuf *err)
{
    struct prep_run *r = arg;
    struct prep_node *pn = &r->node[node];
    const char *name = prep_node_name(r, node);
    struct strbuf m1 = STRBUF_INIT, m2 = STRBUF_INIT;
    uint64_t a1 = 0, a2 = 0;
    int rc = df_on_node(s, r->cfg->work_dir, &a1, &m1, err);
    if (!rc) rc = df_on_node(s, pn->docker_root, &a2, &m2, err);
    if (!rc && !strcmp(m1.buf, m2.buf)) {
        /* One filesystem holds both: the part file and the layers. */
        rc = prepare_space_check(name, "workDir and Docker's root", r->cfg->work_dir, m1.buf, a1,
                                 pn->send_bytes, err);
    } else if (!rc) {
        int e1 = prepare_space_check(name, "workDir", r->cfg->work_dir, m1.buf, a1,
                                     pn->send_bytes, err);
        if (e1) sb_adds(err, "\n");
        int e2 = prepare_space_check(name, "Docker's root", pn->docker_root, m2.buf, a2,
                                     pn->send_bytes, err);
        if (e1 && !e2) sb_setlen(err, err->len - 1);
        rc = e1 || e2 ? -1 : 0;
    }
    sb_release(&m1);
    sb_release(&m2);
    return rc ? 1 : 0;
}
