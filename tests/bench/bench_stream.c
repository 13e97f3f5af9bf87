/* bench_stream: the deploying machine's two ways of sending bytes to a node,
 * timed against each other on one SSH connection (issue 19: the relay's
 * head is fed through the first, direct pushes use the second):
 *   exec   remote_exec() with a streamed stdin into `cat >/dev/null`;
 *   sftp   remote_upload_stream() of the same bytes to a file, removed after.
 * Usage: bench_stream HOST PORT USER IDENTITY_FILE MIB
 * Prints MB/s of each and their ratio; exit 1 when either fails.  The node's
 * host key is accepted and recorded in a temporary known_hosts file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/remote.h"

struct zeros {
    uint64_t left;
};

static ssize_t read_zeros(void *arg, void *buf, size_t len, struct strbuf *err)
{
    (void)err;
    struct zeros *z = arg;
    size_t n = len < z->left ? len : (size_t)z->left;
    memset(buf, 0, n);
    z->left -= n;
    return (ssize_t)n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double via_exec(struct remote_session *s, uint64_t bytes, struct strbuf *err)
{
    struct zeros z = { bytes };
    struct exec_opts eo = { .timeout_ms = 600000, .stdin_reader = read_zeros,
                            .stdin_reader_arg = &z };
    struct exec_result r;
    exec_result_init(&r);
    double t = now();
    int rc = remote_exec(s, "cat >/dev/null", &eo, &r, err);
    t = now() - t;
    if (!rc && r.exit_status) sb_addf(err, "cat exited %d", r.exit_status), rc = -1;
    exec_result_release(&r);
    return rc ? -1 : t;
}

static double via_sftp(struct remote_session *s, uint64_t bytes, struct strbuf *err)
{
    struct zeros z = { bytes };
    struct upload_opts uo = { .mode = 0600 };
    const char *path = "/tmp/m3fs-bench-stream";
    double t = now();
    int rc = remote_upload_stream(s, read_zeros, &z, bytes, path, &uo, err);
    t = now() - t;
    if (!rc) rc = remote_run(s, "rm -f /tmp/m3fs-bench-stream", 0, 30000, NULL, err);
    return rc ? -1 : t;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_stream HOST PORT USER IDENTITY_FILE MIB\n");
        return 2;
    }
    char kh[] = "/tmp/bench-stream-kh-XXXXXX";
    int fd = mkstemp(kh);
    if (fd < 0) return perror("mkstemp"), 1;
    close(fd);
    struct m3fs_node node = { .name = "node", .host = argv[1], .port = atol(argv[2]),
                              .username = argv[3], .identity_file = argv[4] };
    struct remote_opts o;
    remote_opts_default(&o);
    o.known_hosts = kh, o.accept_new_host_keys = 1, o.allow_local = 0;
    struct strbuf err = STRBUF_INIT;
    uint64_t bytes = (uint64_t)atol(argv[5]) << 20;
    struct remote_session *s = remote_open(&node, &o, &err);
    double te = s ? via_exec(s, bytes, &err) : -1;
    double ts = te > 0 ? via_sftp(s, bytes, &err) : -1;
    if (s) remote_close(s);
    unlink(kh);
    if (te < 0 || ts < 0) {
        fprintf(stderr, "bench_stream: %s\n", err.buf ? err.buf : "failed");
        sb_release(&err);
        return 1;
    }
    printf("bench_stream: %s MiB to %s: exec stdin %.1f MB/s (%.2fs), sftp %.1f MB/s (%.2fs); "
           "exec / sftp time ratio %.2f\n", argv[5], argv[1], (double)bytes / te / 1e6, te,
           (double)bytes / ts / 1e6, ts, te / ts);
    sb_release(&err);
    return 0;
}
