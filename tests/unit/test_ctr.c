/* test_ctr: templates/m3fs-ctr.sh against a fake docker: every container
 * it starts carries the cluster's m3fs.cluster label, and a same-named
 * container without this cluster's label is never replaced or removed
 * (issue 20); each look at a container is one docker call.  Also
 * templates/m3fs-wait.sh's crash-loop guard. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-test-ctr")

/* $FAKE: "NAME CLUSTER_LABEL DIGEST RUNNING" ("-": no label) for the one
 * container that exists, or empty; every call is logged to $LOG. */
static const char FAKE_DOCKER[] =
    "#!/bin/sh\n"
    "echo \"docker $*\" >>\"$LOG\"\n"
    "{ read -r name label digest running || :; } <\"$FAKE\"\n"
    "case $1 in\n"
    "container) for a; do last=$a; done\n"
    "    [ -n \"$name\" ] && [ \"$last\" = \"$name\" ] || exit 1\n"
    "    [ \"$label\" = - ] && label='<no value>'\n"
    "    case $* in\n"
    "    *'{{.State.Running}}/{{index .Config.Labels \"m3fs.digest\"}}/{{index .Config.Labels "
    "\"m3fs.cluster\"}}'*) echo \"$running/$digest/$label\" ;;\n"
    "    *) echo \"unexpected inspect: $*\" >&2; exit 2 ;;\n"
    "    esac ;;\n"
    "esac\n"
    "exit 0\n";

struct run {
    int rc;
    char *err, *log;
};

/* templates/SCRIPT ARGS with the fake docker on PATH ($FAKE holds
 * existing, docker's calls go to the log); err gets stderr, and stdout too
 * when keep_out. */
static struct run script_run(const char *docker, const char *existing, const char *script,
                             const char *args, int keep_out)
{
    char *bin = xstrfmt("%s/bin", tmpdir);
    mkdir(bin, 0755);
    tu_write_exec(bin, "docker", docker);
    tu_write(tmpdir, "fake", existing);
    tu_write(tmpdir, "log", "");
    char *path = xstrfmt("templates/%s", script), *src = tu_source_path(path);
    char *cmd = xstrfmt("cd '%s' && PATH='%s':\"$PATH\" FAKE=fake LOG='%s/log' sh '%s' %s %s",
                        tmpdir, bin, tmpdir, src, args,
                        keep_out ? ">err.txt 2>&1" : ">/dev/null 2>err.txt");
    int st = system(cmd);
    struct run r = { WIFEXITED(st) ? WEXITSTATUS(st) : -1, tu_read(tmpdir, "err.txt"),
                     tu_read(tmpdir, "log") };
    free(cmd), free(src), free(path), free(bin);
    return r;
}

static struct run ctr(const char *existing, const char *args)
{
    return script_run(FAKE_DOCKER, existing, "m3fs-ctr.sh", args, 0);
}

static void run_free(struct run *r)
{
    free(r->err), free(r->log);
}

#define RUN_ARGS(name) "run DONE " name " c1 d1 '' '' '' 0 img"

/* A container started here is labelled with the cluster. */
static void test_run_labels(void **state)
{
    (void)state;
    struct run r = ctr("", RUN_ARGS("3fs-meta"));
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.log, "docker run --detach --name 3fs-meta --label m3fs.cluster=c1 "
                                  "--label m3fs.digest=d1 img"));
    run_free(&r);
    r = ctr("", "once 3fs-mgmtd-admin c1 '' '' 0 img list-nodes");
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.log, "docker run --rm --name 3fs-mgmtd-admin "
                                  "--label m3fs.cluster=c1 img list-nodes"));
    run_free(&r);
    /* this cluster's container with another digest is replaced */
    r = ctr("3fs-meta c1 d0 true", RUN_ARGS("3fs-meta"));
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.log, "docker rm -f 3fs-meta"));
    assert_non_null(strstr(r.log, "docker run --detach"));
    run_free(&r);
}

/* A running container of this cluster with the digest is left alone,
 * found with one inspect (its label, digest and state at once). */
static void test_run_done_one_inspect(void **state)
{
    (void)state;
    struct run r = ctr("3fs-meta c1 d1 true", RUN_ARGS("3fs-meta"));
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.log, "docker container inspect -f {{.State.Running}}/{{index "
                               ".Config.Labels \"m3fs.digest\"}}/{{index .Config.Labels "
                               "\"m3fs.cluster\"}} 3fs-meta\n");
    run_free(&r);
    /* stopped: replaced */
    r = ctr("3fs-meta c1 d1 false", RUN_ARGS("3fs-meta"));
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.log, "docker run --detach"));
    run_free(&r);
    /* `running`: this digest and running, else not */
    static const struct { const char *existing; int rc; } runs[] = {
        { "3fs-meta c1 d1 true", 0 },
        { "3fs-meta c1 d1 false", 1 },
        { "3fs-meta c1 d0 true", 1 },
        { "", 1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
        r = ctr(runs[i].existing, "running 3fs-meta d1");
        assert_int_equal(r.rc, runs[i].rc);
        run_free(&r);
    }
    /* a label holding '/' is read whole */
    r = ctr("3fs-meta a/b d1 true", "run DONE 3fs-meta a/b d1 '' '' '' 0 img");
    assert_int_equal(r.rc, 0);
    assert_null(strstr(r.log, "docker run"));
    run_free(&r);
}

/* Another cluster's container, or one without the label, is neither
 * replaced nor removed; the error names it and what to do. */
static void test_foreign_refused(void **state)
{
    (void)state;
    static const char *const foreign[] = { "3fs-meta c2 d1 true", "3fs-meta - d1 true" };
    static const char *const args[] = {
        RUN_ARGS("3fs-meta"),
        "once 3fs-meta c1 '' '' 0 img",
        "remove 3fs-meta c1 ''",
        "remove 3fs-meta c1 300 /tmp/nonexistent-m3fs-test-path",
    };
    for (size_t f = 0; f < ARRAY_SIZE(foreign); f++)
        for (size_t a = 0; a < ARRAY_SIZE(args); a++) {
            struct run r = ctr(foreign[f], args[a]);
            assert_int_equal(r.rc, 1);
            assert_null(strstr(r.log, "docker rm"));
            assert_null(strstr(r.log, "docker stop"));
            assert_null(strstr(r.log, "docker run"));
            assert_non_null(strstr(r.err, "container 3fs-meta exists on this node but is not "
                                          "cluster c1's"));
            assert_non_null(strstr(r.err, f ? "m3fs.cluster: none" : "m3fs.cluster: c2"));
            assert_non_null(strstr(r.err, "docker rm -f 3fs-meta"));
            run_free(&r);
        }
    /* this cluster's is removed; none at all is fine */
    struct run r = ctr("3fs-meta c1 d1 true", "remove 3fs-meta c1 300");
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.log, "docker stop -t 300 3fs-meta"));
    assert_non_null(strstr(r.log, "docker rm -f 3fs-meta"));
    run_free(&r);
    r = ctr("", "remove 3fs-meta c1");
    assert_int_equal(r.rc, 0);
    assert_null(strstr(r.log, "docker rm"));
    run_free(&r);
}

/* $FAKE: "NAME RESTARTS STATUS" lines, the containers that exist. */
static const char FAKE_DOCKER_MANY[] =
    "#!/bin/sh\n"
    "echo \"docker $*\" >>\"$LOG\"\n"
    "case $1 in\n"
    "container) shift 4; rc=0\n"
    "    for c; do\n"
    "        l=$(grep \"^$c \" \"$FAKE\") || { echo \"Error: No such container: $c\" >&2; rc=1; "
    "continue; }\n"
    "        set -- $l; echo \"$2 $3 /$1\"\n"
    "    done; exit $rc ;;\n"
    "logs) echo \"log of $4\" ;;\n"
    "esac\n";

static struct run guard(const char *existing, const char *ctrs)
{
    char *args = xstrfmt("guard 'GIVE UP: ' 4 %s", ctrs);
    struct run r = script_run(FAKE_DOCKER_MANY, existing, "m3fs-wait.sh", args, 1);
    free(args);
    return r;
}

/* The wait's guard looks at all its containers in one docker call (a
 * missing one is left out) and gives up on one that keeps restarting and
 * is not running, with its last log lines. */
static void test_wait_guard(void **state)
{
    (void)state;
    static const char ctrs[] = "3fs-mgmtd 0 running\n3fs-storage 7 restarting\n";
    struct run r = guard(ctrs, "3fs-mgmtd 3fs-meta 3fs-storage");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "GIVE UP: container 3fs-storage keeps restarting (7 restarts)"));
    assert_non_null(strstr(r.err, "    log of 3fs-storage"));
    assert_non_null(strstr(r.log, "docker container inspect -f {{.RestartCount}} {{.State.Status}} "
                                  "{{.Name}} 3fs-mgmtd 3fs-meta 3fs-storage\n"));
    assert_null(strstr(strchr(r.log, '\n') + 1, "inspect"));
    run_free(&r);
    /* restarted often but running now, or few restarts: wait on */
    r = guard("3fs-mgmtd 9 running\n3fs-storage 3 restarting\n", "3fs-mgmtd 3fs-storage");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.err, "");
    run_free(&r);
    r = guard("", "3fs-meta");
    assert_int_equal(r.rc, 0);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_labels),
        cmocka_unit_test(test_run_done_one_inspect),
        cmocka_unit_test(test_wait_guard),
        cmocka_unit_test(test_foreign_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
