/* state: the small local state file of a cluster (see include/m3fs/plan.h).
 * It keeps what cannot be read back from the nodes: the fdb cluster id, the
 * root admin token and which one-time steps are done. */
#include "m3fs/plan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "m3fs/log.h"
#include "m3fs/sha256.h"
#include "plan-int.h"

char *state_path_for(const char *config_path, const char *cluster_name)
{
    char *copy = xstrdup(config_path);
    char *path = xstrfmt("%s/.m3fs/%s.state.json", dirname(copy), cluster_name);
    free(copy);
    return path;
}

static void fill_random(uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            log_error("getrandom: %s", strerror(errno));
            abort();
        }
        got += (size_t)r;
    }
}

static void random_word(struct strbuf *sb, size_t n)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t b[64];
    fill_random(b, n);
    for (size_t i = 0; i < n; i++) sb_addch(sb, alpha[b[i] % 36]);
}

uint32_t token_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c;
}

void token_mint(uint32_t uid, const uint8_t random[8], struct strbuf *out)
{
    static const int map[18] = { 12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 16, 10, 4, 17, 11, 5 };
    uint8_t in[18], perm[18];
    unsigned char b64[32];
    in[0] = 0xDB;
    in[1] = 0xF1;
    for (int i = 0; i < 4; i++) in[2 + i] = (uint8_t)(uid >> (8 * i));
    memcpy(in + 6, random, 8);
    uint32_t crc = token_crc(in, 14);
    for (int i = 0; i < 4; i++) in[14 + i] = (uint8_t)(crc >> (8 * i));
    for (int i = 0; i < 18; i++) perm[map[i]] = in[i];
    int n = EVP_EncodeBlock(b64, perm, 18);
    sb_add(out, b64, (size_t)n);
}

static struct m3fs_state *state_alloc(const char *path)
{
    struct m3fs_state *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(path);
    st->json = cJSON_CreateObject();
    return st;
}

/* The client token for uid CLIENT_TOKEN_UID from 8 bytes, registered. */
static void set_client_token(struct m3fs_state *st, const uint8_t r[8])
{
    struct strbuf tok = STRBUF_INIT;
    token_mint(CLIENT_TOKEN_UID, r, &tok);
    free(st->client_token);
    st->client_token = sb_detach(&tok);
    log_add_secret(st->client_token);
}

struct m3fs_state *state_new_fixed(const char *path, const char *fdb_id, const char *token)
{
    struct m3fs_state *st = state_alloc(path);
    st->fdb_id = xstrdup(fdb_id);
    st->token = xstrdup(token);
    log_add_secret(token);
    /* fixed too: the first 8 bytes of the token's sha256 */
    char hex[SHA256_HEX_LEN + 1];
    uint8_t r[8];
    sha256_buf_hex(token, strlen(token), hex);
    for (int i = 0; i < 8; i++) {
        char byte[3] = { hex[2 * i], hex[2 * i + 1], 0 };
        r[i] = (uint8_t)strtoul(byte, NULL, 16);
    }
    set_client_token(st, r);
    return st;
}

static void mint_client_token(struct m3fs_state *st)
{
    uint8_t r[8];
    fill_random(r, sizeof(r));
    set_client_token(st, r);
}

/* A random ClickHouse password (24 of [a-z0-9], ~124 bits), registered as a
 * secret. */
static void mint_ch_password(struct m3fs_state *st)
{
    struct strbuf pw = STRBUF_INIT;
    random_word(&pw, 24);
    st->ch_password = sb_detach(&pw);
    log_add_secret(st->ch_password);
}

static struct m3fs_state *state_fresh(const char *path)
{
    struct strbuf id = STRBUF_INIT, tok = STRBUF_INIT;
    uint8_t r[8];
    random_word(&id, 10);
    sb_addch(&id, ':');
    random_word(&id, 10);
    fill_random(r, sizeof(r));
    token_mint(0, r, &tok);
    struct m3fs_state *st = state_new_fixed(path, id.buf, tok.buf);
    mint_ch_password(st);
    mint_client_token(st);
    sb_release(&id);
    sb_release(&tok);
    return st;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

struct m3fs_state *state_parse(const char *path, const char *text, struct strbuf *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        sb_addf(err, "%s: not a valid m3fs state file (JSON object expected); move it away "
                "only if this cluster was destroyed", path);
        cJSON_Delete(root);
        return NULL;
    }
    const char *id = json_str(root, "fdb_cluster_id"), *tok = json_str(root, "token");
    if (!id || !tok || !strchr(id, ':')) {
        sb_addf(err, "%s: 'fdb_cluster_id' or 'token' is missing or empty", path);
        cJSON_Delete(root);
        return NULL;
    }
    struct m3fs_state *st = state_new_fixed(path, id, tok);
    const char *pw = json_str(root, "clickhouse_password");
    if (pw) {
        st->ch_password = xstrdup(pw);
        log_add_secret(pw);
    } else {
        mint_ch_password(st); /* a state file written before m3fs minted one */
    }
    const char *ct = json_str(root, "client_token");
    if (ct) {
        free(st->client_token);
        st->client_token = xstrdup(ct);
        log_add_secret(ct);
    } else {
        mint_client_token(st); /* written before clients got a token of their own */
    }
    cJSON_Delete(st->json);
    st->json = root;
    st->existed = 1;
    return st;
}

/* The state file's text, read without following a symlink, from a regular
 * file of this user; 0, 1 when there is none, -1 with the reason in err. */
static int read_own_file(const char *path, struct strbuf *text, struct strbuf *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 && errno == ENOENT) return 1;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        sb_addf(err, "cannot read state file %s: %s%s", path, strerror(errno),
                errno == ELOOP ? " (it is a symlink: m3fs reads only its own file)" : "");
    } else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
        sb_addf(err, "state file %s is not a regular file of uid %u; move it away", path,
                (unsigned)geteuid());
    } else {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) sb_add(text, buf, (size_t)n);
        if (n == 0) {
            close(fd);
            return 0;
        }
        sb_addf(err, "cannot read state file %s: %s", path, strerror(errno));
    }
    if (fd >= 0) close(fd);
    return -1;
}

struct m3fs_state *state_load(const char *path, struct strbuf *err)
{
    struct strbuf text = STRBUF_INIT;
    int r = read_own_file(path, &text, err);
    if (r) {
        sb_release(&text);
        return r > 0 ? state_fresh(path) : NULL;
    }
    struct m3fs_state *st = state_parse(path, text.buf, err);
    sb_release(&text);
    return st;
}

/* Readers take the first item of a key; a state file edited by hand may
 * repeat one, so every writer removes all of them (else the next read would
 * see an older item and miss what was just recorded). */
static void del_all(cJSON *o, const char *key)
{
    for (cJSON *c = o->child, *next; c; c = next) {
        next = c->next;
        if (c->string && !strcmp(c->string, key)) cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
    }
}

/* st->json's object under key, made (replacing anything else there) when
 * the first item of that key is not an object. */
static cJSON *sub_obj(struct m3fs_state *st, const char *key)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(st->json, key);
    if (!cJSON_IsObject(d)) {
        del_all(st->json, key);
        d = cJSON_AddObjectToObject(st->json, key);
    }
    return d;
}

static cJSON *done_obj(struct m3fs_state *st)
{
    return sub_obj(st, "done");
}

const char *state_get_done(const struct m3fs_state *st, const char *key)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(st->json, "done");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, key);
    return json_str(e, "value");
}

static void set_now(cJSON *o, const char *key)
{
    char buf[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    del_all(o, key);
    cJSON_AddStringToObject(o, key, buf);
}

void state_set_done(struct m3fs_state *st, const char *key, const char *val)
{
    cJSON *d = done_obj(st);
    del_all(d, key);
    cJSON *e = cJSON_AddObjectToObject(d, key);
    cJSON_AddStringToObject(e, "value", val);
    set_now(e, "at");
    state_clear_started(st, key);
}

static cJSON *started_obj(struct m3fs_state *st)
{
    return sub_obj(st, "started");
}

void state_set_started(struct m3fs_state *st, const char *key)
{
    set_now(started_obj(st), key);
}

void state_clear_started(struct m3fs_state *st, const char *key)
{
    del_all(started_obj(st), key);
}

int state_started(const struct m3fs_state *st, const char *key)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(st->json, "started");
    return cJSON_GetObjectItemCaseSensitive(d, key) != NULL;
}

void state_forget(struct m3fs_state *st, const char *key)
{
    del_all(done_obj(st), key);
    state_clear_started(st, key);
}

/* --- the lock of a cluster ------------------------------------------------ */

static int private_dir(const char *path, struct strbuf *err);

/* Who holds the lock fd: "(pid N) holds its lock PATH (`WHAT` on host H)",
 * from what the holder wrote (pid, host, command, one a line); a part not
 * (yet) written is left out. */
static void lock_holder(int fd, const char *path, struct strbuf *out)
{
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    char *host = strchr(buf, '\n'), *what = NULL;
    if (host) *host++ = '\0', what = strchr(host, '\n');
    if (what) *what++ = '\0', what[strcspn(what, "\n")] = '\0';
    long pid = strtol(buf, NULL, 10);
    if (pid > 0) sb_addf(out, "(pid %ld) ", pid);
    sb_addf(out, "holds its lock %s", path);
    if (what && *what && host && *host) sb_addf(out, " (`%s` on host %s)", what, host);
}

/* "PID\nHOST\nWHAT\n" into the lock file fd (a warning when it cannot). */
static void lock_record(int fd, const char *path, const char *what)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) < 0) snprintf(host, sizeof(host), "?");
    char *rec = xstrfmt("%ld\n%s\n%s\n", (long)getpid(), host, what ? what : "m3fs");
    ssize_t n = (ssize_t)strlen(rec);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, rec, (size_t)n, 0) != n)
        log_warn("cannot write the pid into %s: %s", path, strerror(errno));
    free(rec);
}

int cluster_lock(const char *config_path, const char *cluster_name, const char *what,
                 struct strbuf *err)
{
    char *state = state_path_for(config_path, cluster_name);
    char *copy = xstrdup(state);
    char *path = xstrfmt("%s/%s.lock", dirname(copy), cluster_name);
    int fd = -1;
    if (private_dir(state, err) == 0) {
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) sb_addf(err, "cannot open the lock file %s: %s", path, strerror(errno));
    }
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            sb_addf(err, "cluster '%s' is in use: another m3fs ", cluster_name);
            lock_holder(fd, path, err);
            sb_adds(err, "; nothing was changed: wait until it ends, then run this command "
                    "again");
        } else {
            sb_addf(err, "cannot lock %s: %s", path, strerror(errno));
        }
        close(fd);
        fd = -1;
    } else if (fd >= 0) {
        lock_record(fd, path, what);
    }
    free(path), free(copy), free(state);
    return fd;
}

int state_unchanged(const struct m3fs_state *st, struct strbuf *err)
{
    struct strbuf e = STRBUF_INIT;
    struct m3fs_state *now = state_load(st->path, &e);
    int changed = !now || now->existed != st->existed ||
                  (now->existed && (strcmp(now->fdb_id, st->fdb_id) || strcmp(now->token, st->token)));
    if (changed)
        sb_addf(err, "the state file %s changed while this run was planned (another m3fs "
                "run?): run the command again%s%s", st->path, e.len ? ": " : "", e.buf);
    state_free(now);
    sb_release(&e);
    return changed ? -1 : 0;
}

void cluster_unlock(int fd)
{
    if (fd >= 0) close(fd);
}

/* The .m3fs directory of path: created 0700; an existing one must be a real
 * directory (not a symlink) owned by this user and writable by no one else,
 * so nobody else can swap the state file or its temporary file. */
static int private_dir(const char *path, struct strbuf *err)
{
    char *copy = xstrdup(path);
    char *dir = dirname(copy);
    struct stat sb;
    int rc = -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        sb_addf(err, "cannot create %s: %s", dir, strerror(errno));
    else if (lstat(dir, &sb) < 0)
        sb_addf(err, "cannot read %s: %s", dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        sb_addf(err, "%s is not a directory (a symlink?); m3fs keeps its state there only in "
                "a directory of its own: move it away", dir);
    else if (sb.st_uid != geteuid() || (sb.st_mode & 022))
        sb_addf(err, "%s is owned by uid %u or writable by others (mode %03o); m3fs keeps its "
                "state only in a directory of its own: chown it to uid %u and chmod 700",
                dir, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777), (unsigned)geteuid());
    else rc = 0;
    free(copy);
    return rc;
}

static int write_file_0600(const char *path, const char *data, size_t len, struct strbuf *err)
{
    char *tmp = xstrfmt("%s.tmp.%ld", path, (long)getpid());
    unlink(tmp); /* a leftover of this pid; O_EXCL below refuses anything planted */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd < 0) {
        sb_addf(err, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    if (write(fd, data, len) == (ssize_t)len && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0) rc = 0;
    }
    if (rc < 0) {
        sb_addf(err, "cannot write state file %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int state_save(struct m3fs_state *st, struct strbuf *err)
{
    cJSON *j = st->json;
    cJSON_DeleteItemFromObjectCaseSensitive(j, "version");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "fdb_cluster_id");
    cJSON_AddStringToObject(j, "fdb_cluster_id", st->fdb_id);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "token");
    cJSON_AddStringToObject(j, "token", st->token);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "clickhouse_password");
    if (st->ch_password) cJSON_AddStringToObject(j, "clickhouse_password", st->ch_password);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "client_token");
    cJSON_AddStringToObject(j, "client_token", st->client_token);
    if (!cJSON_GetObjectItemCaseSensitive(j, "created_at")) set_now(j, "created_at");
    set_now(j, "updated_at");
    if (private_dir(st->path, err) < 0) return -1;
    char *text = cJSON_Print(j);
    int rc = write_file_0600(st->path, text, strlen(text), err);
    cJSON_free(text);
    if (rc == 0) st->existed = 1;
    return rc;
}

void state_free(struct m3fs_state *st)
{
    if (!st) return;
    cJSON_Delete(st->json);
    free(st->path);
    free(st->fdb_id);
    free(st->token);
    free(st->ch_password);
    free(st->client_token);
    free(st);
}
