/* remote_exec: run a command over an SSH channel or, for a local node, with
 * fork/exec; capture stdout/stderr, apply sudo and a timeout. */
#include "remote-int.h"

#include <libssh/callbacks.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"
#include "m3fs/shquote.h"

/* Extra time the client waits past the timeout for the node's own kill. */
#define TIMEOUT_GRACE_MS 3000

void exec_result_init(struct exec_result *r)
{
    memset(r, 0, sizeof(*r));
    sb_init(&r->out, 0);
    sb_init(&r->err, 0);
}

void exec_result_release(struct exec_result *r)
{
    sb_release(&r->out);
    sb_release(&r->err);
}

void remote_wrap_cmd(struct strbuf *sb, const char *cmd, enum sudo_mode sudo, long timeout_ms)
{
    if (sudo == SUDO_UNKNOWN && timeout_ms <= 0) {
        sb_adds(sb, cmd);
        return;
    }
    /* NOPASSWD: -n, so sudo never reads the command's stdin as a password.
     * With a password: sudo prints SUDO_PROMPT when (and only when) it wants
     * it, and the shell it starts prints SUDO_GRANTED on stderr before the
     * command; m3fs writes the password only after the prompt and the
     * command's stdin only after the mark (struct sudo_gate). */
    if (sudo == SUDO_NOPASSWD) sb_adds(sb, "sudo -n -- ");
    if (sudo == SUDO_PASSWORD)
        sb_adds(sb, "sudo -k -S -p '" SUDO_PROMPT "' -- sh -c 'echo " SUDO_GRANTED
                    " >&2; exec \"$@\"' sh ");
    if (timeout_ms > 0) sb_addf(sb, "timeout -s KILL %ld ", (timeout_ms + 999) / 1000);
    sb_adds(sb, "sh -c ");
    sh_quote(sb, cmd);
}

/* Output capture, optionally logging complete lines with a prefix. */
struct out_stream {
    struct strbuf *capture;
    struct strbuf pending;
    const char *prefix;
};

static void stream_line(struct out_stream *os, const char *line, size_t len)
{
    log_info("%s %.*s", os->prefix, (int)len, line);
}

static void stream_feed(struct out_stream *os, const char *data, size_t len)
{
    sb_add(os->capture, data, len);
    if (!os->prefix) return;
    sb_add(&os->pending, data, len);
    char *start = os->pending.buf, *nl;
    while ((nl = memchr(start, '\n', os->pending.len - (size_t)(start - os->pending.buf)))) {
        stream_line(os, start, (size_t)(nl - start));
        start = nl + 1;
    }
    size_t rest = os->pending.len - (size_t)(start - os->pending.buf);
    memmove(os->pending.buf, start, rest);
    sb_setlen(&os->pending, rest);
}

static void stream_finish(struct out_stream *os)
{
    if (os->prefix && os->pending.len) stream_line(os, os->pending.buf, os->pending.len);
    sb_release(&os->pending);
}

/* What may be written to the command's stdin when (issue 20: sudo that does
 * not prompt must not get the password as command input).  Without sudo's
 * password the gate is open from the start. */
struct sudo_gate {
    const char *pw;       /* the password, or NULL: no gate */
    const struct strbuf *in;
    struct strbuf hold;   /* stderr held back until SUDO_GRANTED */
    struct strbuf out;    /* to write to stdin now */
    int prompts, open, eof; /* eof: send EOF once out is written */
    remote_reader_fn reader; /* after `in`, stdin streamed from here (or NULL) */
    void *reader_arg;
    uint64_t pulled;      /* bytes the reader gave */
};

static void gate_init(struct sudo_gate *g, const char *pw, const struct strbuf *in,
                      remote_reader_fn reader, void *reader_arg)
{
    memset(g, 0, sizeof(*g));
    g->pw = pw, g->in = in;
    g->reader = reader, g->reader_arg = reader_arg;
    sb_init(&g->hold, 0);
    sb_init(&g->out, 0);
    if (!pw) {
        g->open = 1, g->eof = !reader;
        sb_add(&g->out, in->buf, in->len);
    }
}

/* Once the gate is open and what it holds is written: the reader's next
 * chunk (or EOF at its end).  -1 with err when the reader failed. */
static int gate_pull(struct sudo_gate *g, struct strbuf *err)
{
    if (!g->open || g->eof || !g->reader || g->out.len) return 0;
    sb_grow(&g->out, 65536);
    ssize_t n = g->reader(g->reader_arg, g->out.buf, 65536, err);
    if (n < 0) return -1;
    if (n == 0) g->eof = 1;
    sb_setlen(&g->out, (size_t)n);
    g->pulled += (uint64_t)n;
    return 0;
}

/* 1 while the reader has more to give: poll without waiting. */
static int gate_streaming(const struct sudo_gate *g)
{
    return g->open && g->reader && !g->eof;
}

static void wipe_release(struct strbuf *sb);

static void gate_release(struct sudo_gate *g)
{
    wipe_release(&g->out);
    sb_release(&g->hold);
}

static void cut(struct strbuf *sb, size_t at, size_t n)
{
    memmove(sb->buf + at, sb->buf + at + n, sb->len - at - n);
    sb_setlen(sb, sb->len - n);
}

/* stderr data: before the mark held back and scanned for the prompt (the
 * password is written once; a second prompt, a refused password, gets EOF)
 * and the mark (then stdin follows); after it passed on. */
static void gate_stderr(struct sudo_gate *g, struct out_stream *err, const char *d, size_t n)
{
    if (g->open) {
        stream_feed(err, d, n);
        return;
    }
    sb_add(&g->hold, d, n);
    char *p;
    while ((p = strstr(g->hold.buf, SUDO_PROMPT))) {
        cut(&g->hold, (size_t)(p - g->hold.buf), strlen(SUDO_PROMPT));
        if (g->prompts++ == 0) sb_addf(&g->out, "%s\n", g->pw);
        else g->eof = 1;
    }
    if ((p = strstr(g->hold.buf, SUDO_GRANTED "\n"))) {
        cut(&g->hold, (size_t)(p - g->hold.buf), strlen(SUDO_GRANTED "\n"));
        g->open = 1, g->eof = !g->reader;
        sb_add(&g->out, g->in->buf, g->in->len);
        stream_feed(err, g->hold.buf, g->hold.len);
        sb_reset(&g->hold);
    }
}

/* At the end: what was held back (sudo's own messages) goes to stderr. */
static void gate_finish(struct sudo_gate *g, struct out_stream *err)
{
    if (g->hold.len) stream_feed(err, g->hold.buf, g->hold.len);
    sb_reset(&g->hold);
}

struct run_state {
    struct exec_result *r;
    struct out_stream out, err;
    struct sudo_gate *gate;
    int closed, got_status;
};

static void run_state_init(struct run_state *st, struct exec_result *r, const char *prefix)
{
    memset(st, 0, sizeof(*st));
    st->r = r;
    st->out = (struct out_stream){ &r->out, STRBUF_INIT, prefix };
    st->err = (struct out_stream){ &r->err, STRBUF_INIT, prefix };
    sb_reset(&r->out);
    sb_reset(&r->err);
    r->exit_status = -1;
    r->signal[0] = 0;
    r->timed_out = 0;
}

static int on_data(ssh_session ss, ssh_channel ch, void *data, uint32_t len, int is_stderr,
                   void *ud)
{
    (void)ss, (void)ch;
    struct run_state *st = ud;
    if (is_stderr) gate_stderr(st->gate, &st->err, data, len);
    else stream_feed(&st->out, data, len);
    return (int)len;
}

static void on_close(ssh_session ss, ssh_channel ch, void *ud)
{
    (void)ss, (void)ch;
    ((struct run_state *)ud)->closed = 1;
}

static void on_exit_status(ssh_session ss, ssh_channel ch, int status, void *ud)
{
    (void)ss, (void)ch;
    struct run_state *st = ud;
    st->r->exit_status = status;
    st->got_status = 1;
}

static void on_exit_signal(ssh_session ss, ssh_channel ch, const char *sig, int core,
                           const char *msg, const char *lang, void *ud)
{
    (void)ss, (void)ch, (void)core, (void)msg, (void)lang;
    struct run_state *st = ud;
    snprintf(st->r->signal, sizeof(st->r->signal), "%s", sig ? sig : "?");
    st->r->exit_status = -1;
    st->got_status = 1;
}

/* Poll the session until the channel closes or the deadline passes. */
static int ssh_wait_channel(struct remote_session *s, ssh_channel ch, struct run_state *st,
                            long long deadline, struct strbuf *err)
{
    ssh_event ev = ssh_event_new();
    int rc = 0;
    if (!ev || ssh_event_add_session(ev, s->ssh) != SSH_OK) {
        sb_adds(err, "cannot poll the SSH connection");
        if (ev) ssh_event_free(ev);
        return -1;
    }
    int eof_sent = 0;
    while (!st->closed && !ssh_channel_is_closed(ch)) {
        struct sudo_gate *g = st->gate;
        if (gate_pull(g, err)) {
            rc = -1;
            break;
        }
        if (g->out.len) {
            int n = ssh_channel_write(ch, g->out.buf, (uint32_t)g->out.len);
            memset(g->out.buf, 0, g->out.len);
            sb_reset(&g->out);
            if (n < 0) {
                sb_addf(err, "cannot send stdin: %s", ssh_get_error(s->ssh));
                rc = -1;
                break;
            }
        }
        if (g->eof && !eof_sent) eof_sent = 1, ssh_channel_send_eof(ch);
        long long left = deadline ? deadline - mono_ms() : 1000;
        if (left <= 0) {
            st->r->timed_out = 1;
            break;
        }
        int wait = gate_streaming(g) ? 0 : (int)(left < 1000 ? left : 1000);
        if (ssh_event_dopoll(ev, wait) == SSH_ERROR) {
            sb_addf(err, "connection lost: %s", ssh_get_error(s->ssh));
            rc = -1;
            break;
        }
    }
    ssh_event_remove_session(ev, s->ssh);
    ssh_event_free(ev);
    return rc;
}

static int ssh_run(struct remote_session *s, const char *line, long long deadline,
                   struct run_state *st, struct strbuf *err)
{
    struct ssh_channel_callbacks_struct cb = {
        .userdata = st,
        .channel_data_function = on_data,
        .channel_close_function = on_close,
        .channel_exit_status_function = on_exit_status,
        .channel_exit_signal_function = on_exit_signal,
    };
    ssh_callbacks_init(&cb);
    ssh_channel ch = ssh_channel_new(s->ssh);
    int rc = -1;
    if (!ch || ssh_channel_open_session(ch) != SSH_OK) {
        sb_addf(err, "cannot open an SSH channel: %s", ssh_get_error(s->ssh));
        if (ch) ssh_channel_free(ch);
        return -1;
    }
    ssh_set_channel_callbacks(ch, &cb);
    if (ssh_channel_request_exec(ch, line) != SSH_OK)
        sb_addf(err, "cannot start the command: %s", ssh_get_error(s->ssh));
    else
        rc = ssh_wait_channel(s, ch, st, deadline, err);
    ssh_remove_channel_callbacks(ch, &cb);
    ssh_channel_close(ch);
    ssh_channel_free(ch);
    return rc;
}

/* Local execution: fork/exec `sh -c line` in its own process group, pipes
 * for stdin/stdout/stderr, the same deadline semantics as over SSH. */
static pid_t spawn_local(const char *line, int fds[3], struct strbuf *err)
{
    int in[2], out[2], er[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
        sb_addf(err, "cannot create pipes: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(er[1], 2);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]), close(er[1]);
    if (pid < 0) {
        sb_addf(err, "cannot fork: %s", strerror(errno));
        close(in[1]), close(out[0]), close(er[0]);
        return -1;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fds[0] = in[1], fds[1] = out[0], fds[2] = er[0];
    return pid;
}

/* Feed stdin (what the gate lets through) and drain outputs until both
 * output pipes close or the deadline passes; returns 1 on timeout. */
static int local_pump(int fds[3], long long deadline, struct run_state *st, struct strbuf *err)
{
    struct sudo_gate *g = st->gate;
    size_t sent = 0;
    char buf[65536];
    while (fds[1] >= 0 || fds[2] >= 0) {
        if (fds[0] >= 0 && sent == g->out.len) {
            memset(g->out.buf, 0, g->out.len);
            sb_reset(&g->out), sent = 0;
            if (gate_pull(g, err)) return -1;
            if (g->eof && !g->out.len) close(fds[0]), fds[0] = -1;
        }
        int want = fds[0] >= 0 && sent < g->out.len;
        struct pollfd p[3] = { { want ? fds[0] : -1, POLLOUT, 0 }, { fds[1], POLLIN, 0 },
                               { fds[2], POLLIN, 0 } };
        long long left = deadline ? deadline - mono_ms() : 1000;
        if (left <= 0) return 1;
        if (poll(p, 3, (int)(left < 1000 ? left : 1000)) < 0 && errno != EINTR) return 0;
        if (want && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(fds[0], g->out.buf + sent, g->out.len - sent);
            if (n > 0) sent += (size_t)n;
            if (n < 0) close(fds[0]), fds[0] = -1;
        }
        for (int k = 1; k < 3; k++) {
            if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLERR | POLLHUP))) continue;
            ssize_t n = read(fds[k], buf, sizeof buf);
            if (n > 0 && k == 1) stream_feed(&st->out, buf, (size_t)n);
            else if (n > 0) gate_stderr(g, &st->err, buf, (size_t)n);
            else if (n == 0 || errno != EINTR) close(fds[k]), fds[k] = -1;
        }
    }
    return 0;
}

static int local_run(const char *line, long long deadline, struct run_state *st,
                     struct strbuf *err)
{
    int fds[3];
    pid_t pid = spawn_local(line, fds, err);
    if (pid < 0) return -1;
    int pumped = local_pump(fds, deadline, st, err);
    if (pumped) {
        st->r->timed_out = pumped > 0;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    for (int k = 0; k < 3; k++)
        if (fds[k] >= 0) close(fds[k]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status)) {
        st->r->exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(st->r->signal, sizeof(st->r->signal), "%s", name ? name : "?");
    }
    return pumped < 0 ? -1 : 0;
}

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void ignore_sigpipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

static void wipe_release(struct strbuf *sb)
{
    if (sb->alloc) memset(sb->buf, 0, sb->alloc);
    sb_release(sb);
}

/* Run an already wrapped line with raw stdin bytes; pw: sudo's password,
 * for a line wrapped with SUDO_PASSWORD (written only when sudo prompts;
 * the stdin only once sudo granted), else NULL. */
static int exec_line(struct remote_session *s, const char *line, const struct strbuf *in,
                     const char *pw, long timeout_ms, const char *prefix,
                     const struct exec_opts *eo, struct exec_result *r, struct strbuf *err)
{
    struct run_state st;
    struct sudo_gate gate;
    long long start = mono_ms();
    long long deadline = timeout_ms > 0 ? start + timeout_ms + TIMEOUT_GRACE_MS : 0;
    pthread_once(&sigpipe_once, ignore_sigpipe);
    run_state_init(&st, r, prefix);
    gate_init(&gate, pw, in, eo ? eo->stdin_reader : NULL, eo ? eo->stdin_reader_arg : NULL);
    st.gate = &gate;
    int rc = s->local ? local_run(line, deadline, &st, err) : ssh_run(s, line, deadline, &st, err);
    gate_finish(&gate, &st.err);
    gate_release(&gate);
    stream_finish(&st.out);
    stream_finish(&st.err);
    long long took = mono_ms() - start;
    if (timeout_ms > 0 && took >= timeout_ms && (r->exit_status || r->signal[0]))
        r->timed_out = 1;
    s->counts.execs++;
    s->counts.exec_ms += took;
    s->counts.bytes_out += strlen(line) + (in ? in->len : 0) + gate.pulled;
    s->counts.bytes_in += r->out.len + r->err.len;
    if (rc) {
        struct strbuf msg = STRBUF_INIT;
        remote_describe(s, &msg);
        sb_adds(&msg, ": ");
        sb_add(&msg, err->buf, err->len);
        sb_reset(err);
        sb_add(err, msg.buf, msg.len);
        sb_release(&msg);
    }
    return rc;
}

/* `true` through sudo: -n, or with the password gated (pw). */
static int sudo_probe(struct remote_session *s, enum sudo_mode mode, const char *pw,
                      struct exec_result *r, struct strbuf *err)
{
    struct strbuf in = STRBUF_INIT, line = STRBUF_INIT;
    remote_wrap_cmd(&line, "true", mode, 0);
    exec_result_release(r);
    exec_result_init(r);
    int rc = exec_line(s, line.buf, &in, pw, 30000, NULL, NULL, r, err);
    sb_release(&in), sb_release(&line);
    return rc;
}

int remote_sudo_prepare(struct remote_session *s, struct strbuf *err)
{
    if (s->sudo != SUDO_UNKNOWN) return 0;
    const char *pw = s->node->password;
    struct exec_result r;
    struct strbuf who = STRBUF_INIT;
    int rc = -1;
    exec_result_init(&r);
    remote_describe(s, &who);
    if (sudo_probe(s, SUDO_NOPASSWD, NULL, &r, err)) {
        /* err already set */
    } else if (r.exit_status == 0) {
        s->sudo = SUDO_NOPASSWD, rc = 0;
    } else if (r.exit_status == 127) {
        sb_addf(err, "%s: sudo is not installed; install it or log in as root", who.buf);
    } else if (!pw) {
        sb_addf(err, "%s: the user needs a password for sudo; set password, passwordFile or "
                "passwordEnv for this node (it is sent on stdin, never on a command line), or "
                "allow NOPASSWD sudo", who.buf);
    } else if (sudo_probe(s, SUDO_PASSWORD, pw, &r, err)) {
        /* err already set */
    } else if (r.exit_status == 0) {
        s->sudo = SUDO_PASSWORD, rc = 0;
    } else {
        sb_rtrim(&r.err);
        sb_addf(err, "%s: sudo refused the node's password: %s", who.buf, r.err.buf);
    }
    exec_result_release(&r);
    sb_release(&who);
    return rc;
}

int remote_exec(struct remote_session *s, const char *cmd, const struct exec_opts *eo,
                struct exec_result *r, struct strbuf *err)
{
    static const struct exec_opts none;
    if (!eo) eo = &none;
    int sudo = eo->as_root && !s->is_root;
    if (sudo && remote_sudo_prepare(s, err)) return -1;
    struct strbuf line = STRBUF_INIT, in = STRBUF_INIT;
    remote_wrap_cmd(&line, cmd, sudo ? s->sudo : SUDO_UNKNOWN, eo->timeout_ms);
    const char *pw = sudo && s->sudo == SUDO_PASSWORD ? s->node->password : NULL;
    if (eo->stdin_data) sb_add(&in, eo->stdin_data, eo->stdin_len);
    log_debug("[%s] run: %s", config_node_label(s->node), line.buf);
    int rc = exec_line(s, line.buf, &in, pw, eo->timeout_ms, eo->stream_prefix, eo, r, err);
    wipe_release(&in);
    sb_release(&line);
    return rc;
}

int remote_run(struct remote_session *s, const char *cmd, int as_root, long timeout_ms,
               struct strbuf *out, struct strbuf *err)
{
    return remote_run_input(s, cmd, as_root, timeout_ms, NULL, 0, out, err);
}

int remote_run_input(struct remote_session *s, const char *cmd, int as_root, long timeout_ms,
                     const char *in, size_t in_len, struct strbuf *out, struct strbuf *err)
{
    struct exec_opts eo = { .timeout_ms = timeout_ms, .as_root = as_root, .stdin_data = in,
                            .stdin_len = in_len };
    struct exec_result r;
    exec_result_init(&r);
    int rc = remote_exec(s, cmd, &eo, &r, err);
    if (!rc && (r.exit_status != 0 || r.timed_out)) {
        struct strbuf who = STRBUF_INIT;
        remote_describe(s, &who);
        sb_rtrim(&r.err);
        if (r.timed_out)
            sb_addf(err, "%s: `%s` timed out after %ld ms", who.buf, cmd, timeout_ms);
        else if (r.signal[0])
            sb_addf(err, "%s: `%s` killed by signal %s", who.buf, cmd, r.signal);
        else
            sb_addf(err, "%s: `%s` failed with exit status %d", who.buf, cmd, r.exit_status);
        if (r.err.len) sb_addf(err, ": %s", r.err.buf);
        sb_release(&who);
        rc = -1;
    }
    if (!rc && out) sb_add(out, r.out.buf, r.out.len);
    exec_result_release(&r);
    return rc;
}
