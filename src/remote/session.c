/* remote sessions: connect, verify the host key, log in (see remote.h). */
#include "remote-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m3fs/clock.h"
#include "m3fs/log.h"

static pthread_mutex_t known_hosts_lock = PTHREAD_MUTEX_INITIALIZER;

/* The user running m3fs, looked up once (getpwuid is not thread-safe). */
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static char *self_name, *self_home;

static void self_lookup(void)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    const char *h = getenv("HOME");
    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) || !res) res = NULL;
    self_name = xstrdup(res ? res->pw_name : "root");
    self_home = xstrdup(h && *h ? h : res && res->pw_dir ? res->pw_dir : "/");
}

const char *remote_home_dir(void)
{
    pthread_once(&self_once, self_lookup);
    return self_home;
}

static const char *self_user(void)
{
    pthread_once(&self_once, self_lookup);
    return self_name;
}

void remote_opts_default(struct remote_opts *o)
{
    memset(o, 0, sizeof(*o));
    const char *lx = getenv("M3FS_LOCAL_EXEC");
    o->allow_local = !(lx && !strcmp(lx, "0"));
}

static const char *user_of(const struct m3fs_node *n)
{
    if (n->username && *n->username) return n->username;
    return self_user();
}

void remote_describe(const struct remote_session *s, struct strbuf *sb)
{
    const struct m3fs_node *n = s->node;
    sb_addf(sb, "%s (%s@%s:%ld%s)", config_node_label(n), user_of(n), n->host,
            n->port > 0 ? n->port : 22L, s->local ? ", local" : "");
}

static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family) return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
    return 0;
}

static int is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
    return 0;
}

/* 1 when host is an IP literal of this machine.  Names are not resolved
 * (AI_NUMERICHOST): DNS or /etc/hosts must not turn a node into "run here,
 * without SSH" (issue 20). */
static int host_is_this_machine(const char *host)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST };
    struct addrinfo *res = NULL;
    struct ifaddrs *ifs = NULL;
    int found = 0;
    if (getaddrinfo(host, NULL, &hints, &res)) return 0;
    if (getifaddrs(&ifs)) ifs = NULL;
    for (struct addrinfo *r = res; r && !found; r = r->ai_next) {
        if (is_loopback(r->ai_addr)) found = 1;
        for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
            if (i->ifa_addr && same_addr(r->ai_addr, i->ifa_addr)) found = 1;
    }
    freeaddrinfo(res);
    if (ifs) freeifaddrs(ifs);
    return found;
}

/* Local when allowed, the host is this machine and the user is the one
 * running m3fs (so commands run with the same identity as over SSH). */
static int node_is_local(const struct m3fs_node *n, const struct remote_opts *o)
{
    if (!o->allow_local || strcmp(user_of(n), self_user())) return 0;
    return host_is_this_machine(n->host);
}

static void known_hosts_path(const struct remote_opts *o, struct strbuf *sb)
{
    const char *env = getenv("M3FS_KNOWN_HOSTS");
    if (o->known_hosts && *o->known_hosts) sb_adds(sb, o->known_hosts);
    else if (env && *env) sb_adds(sb, env);
    else sb_addf(sb, "%s/.ssh/known_hosts", remote_home_dir());
}

static long connect_timeout(const struct remote_opts *o)
{
    if (o->connect_timeout_s > 0) return o->connect_timeout_s;
    const char *env = getenv("M3FS_CONNECT_TIMEOUT");
    char *end;
    long v = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && v > 0) return v;
    return REMOTE_DEFAULT_CONNECT_TIMEOUT_S;
}

/* SHA256 fingerprint and key type of the server's host key. */
static void host_fingerprint(ssh_session ssh, struct strbuf *sb)
{
    ssh_key key = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    if (ssh_get_server_publickey(ssh, &key) != SSH_OK) {
        sb_adds(sb, "(no host key)");
        return;
    }
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
        char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        sb_addf(sb, "%s key %s", ssh_key_type_to_char(ssh_key_type(key)), fp ? fp : "?");
        ssh_string_free_char(fp);
        ssh_clean_pubkey_hash(&hash);
    }
    ssh_key_free(key);
}

int remote_host_key(const struct remote_session *s, struct strbuf *out)
{
    ssh_key key = NULL;
    char *b64 = NULL;
    if (s->local || ssh_get_server_publickey(s->ssh, &key) != SSH_OK) return -1;
    int rc = ssh_pki_export_pubkey_base64(key, &b64) == SSH_OK ? 0 : -1;
    if (!rc) sb_addf(out, "%s %s", ssh_key_type_to_char(ssh_key_type(key)), b64);
    ssh_string_free_char(b64);
    ssh_key_free(key);
    return rc;
}

int remote_keypair_new(struct strbuf *priv, struct strbuf *pub, struct strbuf *err)
{
    ssh_key key = NULL;
    char *pem = NULL, *b64 = NULL;
    int rc = -1;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
        sb_adds(err, "cannot generate an ed25519 key (libssh)");
    else if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &pem) != SSH_OK ||
             ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
        sb_adds(err, "cannot export the generated key (libssh)");
    else rc = 0;
    if (!rc) {
        sb_adds(priv, pem);
        sb_addf(pub, "ssh-ed25519 %s", b64);
    }
    if (pem) {
        memset(pem, 0, strlen(pem));
        ssh_string_free_char(pem);
    }
    ssh_string_free_char(b64);
    ssh_key_free(key);
    return rc;
}

static void host_label(const struct m3fs_node *n, struct strbuf *sb)
{
    long port = n->port > 0 ? n->port : 22;
    if (port == 22) sb_adds(sb, n->host);
    else sb_addf(sb, "[%s]:%ld", n->host, port);
}

static int record_host_key(struct remote_session *s, const char *file, struct strbuf *err)
{
    struct strbuf fp = STRBUF_INIT;
    host_fingerprint(s->ssh, &fp);
    pthread_mutex_lock(&known_hosts_lock);
    int rc = ssh_session_update_known_hosts(s->ssh);
    pthread_mutex_unlock(&known_hosts_lock);
    if (rc != SSH_OK) {
        sb_addf(err, "cannot record the host key in %s: %s", file, ssh_get_error(s->ssh));
    } else {
        struct strbuf who = STRBUF_INIT;
        remote_describe(s, &who);
        log_info("recorded new host key of %s (%s) in %s", who.buf, fp.buf, file);
        sb_release(&who);
    }
    sb_release(&fp);
    return rc == SSH_OK ? 0 : -1;
}

static int verify_host_key(struct remote_session *s, const struct remote_opts *o,
                           const char *file, struct strbuf *err)
{
    enum ssh_known_hosts_e st = ssh_session_is_known_server(s->ssh);
    struct strbuf fp = STRBUF_INIT, label = STRBUF_INIT;
    int rc = -1;
    host_fingerprint(s->ssh, &fp);
    host_label(s->node, &label);
    switch (st) {
    case SSH_KNOWN_HOSTS_OK:
        rc = 0;
        break;
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
        if (o->accept_new_host_keys) {
            rc = record_host_key(s, file, err);
            break;
        }
        sb_addf(err, "unknown host key for %s (%s): not in %s. Check the fingerprint, then "
                "re-run with --accept-new-host-keys to record it (or add it to that file)",
                label.buf, fp.buf, file);
        break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        sb_addf(err, "HOST KEY CHANGED for %s: it now offers %s, which does not match %s. "
                "This may be an attack; if the node was reinstalled, remove the old entry with "
                "`ssh-keygen -R '%s' -f %s` and connect again", label.buf, fp.buf, file,
                label.buf, file);
        break;
    default:
        sb_addf(err, "cannot check the host key of %s against %s: %s", label.buf, file,
                ssh_get_error(s->ssh));
        break;
    }
    sb_release(&fp);
    sb_release(&label);
    return rc;
}

static void expand_home(const char *path, struct strbuf *sb)
{
    if (path[0] == '~' && path[1] == '/') sb_addf(sb, "%s%s", remote_home_dir(), path + 1);
    else sb_adds(sb, path);
}

static const char *auth_word(int rc)
{
    switch (rc) {
    case SSH_AUTH_DENIED: return "refused";
    case SSH_AUTH_PARTIAL: return "partial, more needed";
    default: return "error";
    }
}

/* Try one private key file; returns the libssh auth result. */
static int try_key_file(ssh_session ssh, const char *label, const char *path,
                        struct strbuf *tried)
{
    ssh_key key = NULL;
    if (access(path, R_OK)) {
        sb_addf(tried, ", %s %s (cannot read: %s)", label, path, strerror(errno));
        return SSH_AUTH_DENIED;
    }
    if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK) {
        sb_addf(tried, ", %s %s (unusable: bad format or passphrase-protected; load it "
                "into ssh-agent)", label, path);
        return SSH_AUTH_DENIED;
    }
    int rc = ssh_userauth_publickey(ssh, NULL, key);
    ssh_key_free(key);
    if (rc != SSH_AUTH_SUCCESS) sb_addf(tried, ", %s %s (%s)", label, path, auth_word(rc));
    return rc;
}

static int try_agent(ssh_session ssh, int methods, struct strbuf *tried)
{
    if (!getenv("SSH_AUTH_SOCK")) {
        sb_adds(tried, ", ssh-agent (not running)");
        return SSH_AUTH_DENIED;
    }
    if (!(methods & SSH_AUTH_METHOD_PUBLICKEY)) return SSH_AUTH_DENIED;
    int rc = ssh_userauth_agent(ssh, NULL);
    if (rc != SSH_AUTH_SUCCESS) sb_addf(tried, ", ssh-agent (%s)", auth_word(rc));
    return rc;
}

static int try_default_keys(ssh_session ssh, int methods, struct strbuf *tried)
{
    static const char *const names[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
    int any = 0;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct strbuf p = STRBUF_INIT;
        sb_addf(&p, "%s/.ssh/%s", remote_home_dir(), names[i]);
        int rc = SSH_AUTH_DENIED;
        if (!access(p.buf, F_OK) && (methods & SSH_AUTH_METHOD_PUBLICKEY)) {
            any = 1;
            rc = try_key_file(ssh, "default key", p.buf, tried);
        }
        sb_release(&p);
        if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_ERROR) return rc;
    }
    if (!any) sb_addf(tried, ", default keys (none in %s/.ssh)", remote_home_dir());
    return SSH_AUTH_DENIED;
}

static int try_kbdint(ssh_session ssh, const char *password)
{
    int rc = ssh_userauth_kbdint(ssh, NULL, NULL);
    for (int rounds = 0; rc == SSH_AUTH_INFO && rounds < 5; rounds++) {
        int np = ssh_userauth_kbdint_getnprompts(ssh);
        for (int i = 0; i < np; i++) {
            char echo = 0;
            const char *p = ssh_userauth_kbdint_getprompt(ssh, (unsigned)i, &echo);
            const char *ans = (!echo && p && strcasestr(p, "password")) ? password : "";
            if (ssh_userauth_kbdint_setanswer(ssh, (unsigned)i, ans) < 0) return SSH_AUTH_ERROR;
        }
        rc = ssh_userauth_kbdint(ssh, NULL, NULL);
    }
    return rc;
}

static int try_password(ssh_session ssh, int methods, const char *password,
                        struct strbuf *tried)
{
    if (!password) {
        sb_adds(tried, ", password (none configured)");
        return SSH_AUTH_DENIED;
    }
    int rc = SSH_AUTH_DENIED;
    if (methods & SSH_AUTH_METHOD_PASSWORD) {
        rc = ssh_userauth_password(ssh, NULL, password);
        if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_ERROR) return rc;
    }
    if (methods & SSH_AUTH_METHOD_INTERACTIVE) {
        rc = try_kbdint(ssh, password);
        if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_ERROR) return rc;
    }
    if (!(methods & (SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE)))
        sb_adds(tried, ", password (not offered by the server)");
    else
        sb_addf(tried, ", password (%s)", auth_word(rc));
    return rc;
}

static int authenticate(struct remote_session *s, struct strbuf *err)
{
    const struct m3fs_node *n = s->node;
    int rc = ssh_userauth_none(s->ssh, NULL);
    if (rc == SSH_AUTH_SUCCESS) return 0;
    int methods = ssh_userauth_list(s->ssh, NULL);
    struct strbuf tried = STRBUF_INIT;
    rc = try_agent(s->ssh, methods, &tried);
    if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL)
        rc = try_default_keys(s->ssh, methods, &tried);
    if ((rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) && n->identity_file) {
        struct strbuf p = STRBUF_INIT;
        expand_home(n->identity_file, &p);
        rc = (methods & SSH_AUTH_METHOD_PUBLICKEY)
                 ? try_key_file(s->ssh, "identityFile", p.buf, &tried) : SSH_AUTH_DENIED;
        sb_release(&p);
    }
    if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL)
        rc = try_password(s->ssh, methods, n->password, &tried);
    if (rc != SSH_AUTH_SUCCESS) {
        struct strbuf who = STRBUF_INIT;
        remote_describe(s, &who);
        if (rc == SSH_AUTH_ERROR)
            sb_addf(err, "login to %s failed: %s", who.buf, ssh_get_error(s->ssh));
        else
            sb_addf(err, "cannot log in to %s; tried: %s. Set identityFile or password/"
                    "passwordFile/passwordEnv for this node, or install a key in the user's "
                    "authorized_keys", who.buf, tried.len > 2 ? tried.buf + 2 : "nothing");
        sb_release(&who);
    }
    sb_release(&tried);
    return rc == SSH_AUTH_SUCCESS ? 0 : -1;
}

static int set_ssh_options(struct remote_session *s, const struct remote_opts *o,
                           const char *kh_file, struct strbuf *err)
{
    const struct m3fs_node *n = s->node;
    int port = n->port > 0 ? (int)n->port : 22, no = 0, yes = 1;
    long timeout = connect_timeout(o);
    if (ssh_options_set(s->ssh, SSH_OPTIONS_HOST, n->host) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &port) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_USER, user_of(n)) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, kh_file) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
        ssh_options_set(s->ssh, SSH_OPTIONS_NODELAY, &yes) < 0) {
        sb_addf(err, "invalid SSH settings for node %s: %s", config_node_label(n),
                ssh_get_error(s->ssh));
        return -1;
    }
    return 0;
}

/* TCP keepalive and user timeout on the session's socket: a node that
 * vanished (partitioned, powered off) ends the connection after about
 * DEAD_PEER_S seconds instead of leaving a read or write waiting for ever (a
 * command without a timeout, a long upload).  Keepalive covers an idle
 * connection: probes from KEEP_IDLE_S on.  It never fires while sent data
 * is unacknowledged (an upload, a channel request, a window adjust): then
 * TCP retransmits for about 15 minutes (tcp_retries2), so a partition that
 * caught a write in flight waited out the step's timeout (CI: 303 s).
 * TCP_USER_TIMEOUT bounds that case, and with SO_KEEPALIVE it also decides
 * when failed probes close the connection (tcp(7)).  Best effort. */
#define KEEP_IDLE_S 30
#define KEEP_INTVL_S 10
#define KEEP_CNT 6
#define DEAD_PEER_S (KEEP_IDLE_S + KEEP_CNT * KEEP_INTVL_S)

static void set_keepalive(ssh_session ssh)
{
    int fd = ssh_get_fd(ssh), on = 1, idle = KEEP_IDLE_S, intvl = KEEP_INTVL_S, cnt = KEEP_CNT;
    unsigned int user_ms = DEAD_PEER_S * 1000U;
    if (fd < 0) return;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms)) < 0)
        log_debug("SSH keepalive not set: %s", strerror(errno));
}

static int ssh_connect_node(struct remote_session *s, const struct remote_opts *o,
                            struct strbuf *err)
{
    struct strbuf kh = STRBUF_INIT;
    known_hosts_path(o, &kh);
    int rc = -1;
    s->ssh = ssh_new();
    if (!s->ssh) {
        sb_adds(err, "out of memory creating an SSH session");
    } else if (set_ssh_options(s, o, kh.buf, err) == 0) {
        if (ssh_connect(s->ssh) != SSH_OK) {
            struct strbuf who = STRBUF_INIT;
            remote_describe(s, &who);
            sb_addf(err, "cannot connect to %s within %lds: %s. Check that the node is up, "
                    "sshd is running and the host/port in the config are right",
                    who.buf, connect_timeout(o), ssh_get_error(s->ssh));
            sb_release(&who);
        } else if (verify_host_key(s, o, kh.buf, err) == 0 && authenticate(s, err) == 0) {
            set_keepalive(s->ssh);
            rc = 0;
        }
    }
    sb_release(&kh);
    return rc;
}

struct remote_session *remote_open(const struct m3fs_node *node, const struct remote_opts *o,
                                   struct strbuf *err)
{
    struct remote_session *s = xcalloc(1, sizeof(*s));
    s->node = node;
    s->is_root = !strcmp(user_of(node), "root");
    if (node_is_local(node, o)) {
        s->local = 1;
        s->is_root = geteuid() == 0;
        log_debug("node %s runs locally (host %s is this machine)",
                  config_node_label(node), node->host);
        return s;
    }
    int64_t t0 = mono_ms();
    if (ssh_connect_node(s, o, err)) {
        remote_close(s);
        return NULL;
    }
    s->counts.connects = 1;
    s->counts.connect_ms = mono_ms() - t0;
    log_debug("connected to %s@%s:%ld", user_of(node), node->host,
              node->port > 0 ? node->port : 22L);
    return s;
}

void remote_session_counts(const struct remote_session *s, struct remote_counts *out)
{
    *out = s->counts;
}

sftp_session remote_sftp(struct remote_session *s, struct strbuf *err)
{
    if (s->sftp) return s->sftp;
    sftp_session sf = sftp_new(s->ssh);
    if (!sf || sftp_init(sf) != SSH_OK) {
        struct strbuf who = STRBUF_INIT;
        remote_describe(s, &who);
        sb_addf(err, "cannot start SFTP on %s: %s (is the sftp subsystem enabled in sshd?)",
                who.buf, ssh_get_error(s->ssh));
        sb_release(&who);
        if (sf) sftp_free(sf);
        return NULL;
    }
    s->sftp = sf;
    return sf;
}

void remote_close(struct remote_session *s)
{
    if (!s) return;
    if (s->sftp) sftp_free(s->sftp);
    if (s->ssh) {
        if (ssh_is_connected(s->ssh)) ssh_disconnect(s->ssh);
        ssh_free(s->ssh);
    }
    free(s);
}

int remote_is_local(const struct remote_session *s)
{
    return s->local;
}

const struct m3fs_node *remote_node(const struct remote_session *s)
{
    return s->node;
}
