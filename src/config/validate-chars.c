/* Character sets of every name, path and host of cluster.yml (issue 20 F4).
 *
 * These values leave the shell layer: they land in systemd unit lines
 * (a workDir with a line break would add an ExecStartPre=), TOML basic
 * strings, /etc/fstab fields, docker names and paths under workDir that are
 * removed (a node named ../../../dev).  sh_quote() protects the shell, not
 * those sinks, so the values are held to plain character sets here, where
 * the user gets file:line:col and a hint. */
#include <string.h>

#include "validate-int.h"

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
/* Path characters: no space (fstab, unit lines), quote, backslash, control
 * character or shell metacharacter. */
#define PATH_CHARS ALNUM "/._+-@:,="
#define NAME_CHARS ALNUM "._-"
/* Host names, IPv4 and IPv6 literals (with a %zone). */
#define HOST_CHARS ALNUM ".-:%_"
#define NAME_MAX_LEN 63

static int only(const char *s, const char *set) { return strspn(s, set) == strlen(s); }

/* The first character of s outside set, described for a message. */
static void bad_char(const char *s, const char *set, char out[24])
{
    unsigned char c = (unsigned char)s[strspn(s, set)];
    if (c == '\n' || c == '\r')
        strcpy(out, "a line break");
    else if (c < 0x20 || c == 0x7f)
        strcpy(out, "a control char");
    else if (c == ' ')
        strcpy(out, "a space");
    else if (c >= 0x80)
        strcpy(out, "a non-ASCII byte");
    else {
        out[0] = '\'';
        out[1] = (char)c;
        out[2] = '\'';
        out[3] = '\0';
    }
}

/* A name: what a node, nodeGroup or container is called. */
static void name_rule(struct vctx *v, const char *key, const char *what, const char *val)
{
    if (!val || !*val) return; /* emptiness is reported by the rule that needs it */
    char c[24];
    if (!only(val, NAME_CHARS)) {
        bad_char(val, NAME_CHARS, c);
        E(v, key, "use letters, digits, '.', '_' and '-' only",
          "%s has %s; it becomes part of file paths and container names", what, c);
    } else if (val[0] == '.' || val[0] == '-') {
        E(v, key, "start it with a letter or digit", "%s '%s' starts with '%c'", what, val,
          val[0]);
    } else if (strlen(val) > NAME_MAX_LEN) {
        E(v, key, "use at most 63 characters", "%s '%s' is %zu characters long", what, val,
          strlen(val));
    }
}

/* An absolute path with plain characters and no "." or ".." segment. */
static void path_rule(struct vctx *v, const char *key, const char *val)
{
    if (!val || val[0] != '/') return; /* check_abs_path() reports these */
    char c[24];
    if (!only(val, PATH_CHARS)) {
        bad_char(val, PATH_CHARS, c);
        E(v, key, "use letters, digits and / . _ + - @ : , = only (no spaces, quotes or line "
          "breaks: the path goes into systemd units, /etc/fstab and TOML files)",
          "%s has %s", key, c);
        return;
    }
    for (const char *s = val; *s;) {
        size_t n = strcspn(s, "/");
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
            E(v, key, "write the path without '.' or '..' segments",
              "%s '%s' has a '%.*s' segment", key, val, (int)n, s);
            return;
        }
        s += n + (s[n] == '/');
    }
}

/* System directories never taken as a workDir (m3fs deletes under it); the
 * same list is in templates/m3fs-node.sh, checked there on the path the
 * node resolves. */
static const char *const denied_dirs[] = {
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",
    "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share", "/var", "/var/lib",
    "/var/log", "/var/tmp", "/var/cache", "/var/run", "/var/lib/docker",
};

int config_workdir_denied(const char *wd)
{
    if (wd[0] != '/') return 1;
    struct strbuf n = STRBUF_INIT; /* wd without repeated and trailing slashes */
    int bad = 0;
    for (const char *p = wd; *p && !bad; ) {
        while (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (!len) break;
        bad = (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
        sb_addch(&n, '/');
        sb_add(&n, p, len);
        p += len;
    }
    if (!n.len) sb_addch(&n, '/');
    for (size_t i = 0; !bad && i < ARRAY_SIZE(denied_dirs); i++) bad = !strcmp(n.buf, denied_dirs[i]);
    sb_release(&n);
    return bad;
}

static void host_rule(struct vctx *v, const char *key, const char *what, const char *val)
{
    if (!val || !*val) return;
    char c[24];
    if (!only(val, HOST_CHARS)) {
        bad_char(val, HOST_CHARS, c);
        E(v, key, "write an IP address or a host name (letters, digits, '.', '-')", "%s has %s",
          what, c);
    } else if (val[0] == '-') {
        E(v, key, "write an IP address or a host name", "%s '%s' starts with '-'", what, val);
    }
}

static void user_rule(struct vctx *v, const char *key, const char *what, const char *val)
{
    if (!val || !*val) return;
    char c[24];
    if (!only(val, NAME_CHARS "@$")) {
        bad_char(val, NAME_CHARS "@$", c);
        E(v, key, "write a login name (letters, digits, '.', '_', '-')", "%s has %s", what, c);
    } else if (val[0] == '-') {
        E(v, key, "write a login name", "%s '%s' starts with '-'", what, val);
    }
}

static void check_node_chars(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    struct strbuf p = STRBUF_INIT, w = STRBUF_INIT;
    for (size_t i = 0; i < c->n_explicit_nodes; i++) {
        const struct m3fs_node *n = &c->nodes[i];
        const char *label = n->name && only(n->name, NAME_CHARS) ? n->name : "?";
        sb_reset(&p);
        sb_reset(&w);
        sb_addf(&p, "nodes.%zu.name", i);
        sb_addf(&w, "the name of node #%zu", i + 1);
        name_rule(v, p.buf, w.buf, n->name);
        sb_reset(&p);
        sb_reset(&w);
        sb_addf(&p, "nodes.%zu.host", i);
        sb_addf(&w, "host of node '%s'", label);
        host_rule(v, p.buf, w.buf, n->host);
        sb_reset(&p);
        sb_reset(&w);
        sb_addf(&p, "nodes.%zu.username", i);
        sb_addf(&w, "username of node '%s'", label);
        user_rule(v, p.buf, w.buf, n->username);
    }
    for (size_t g = 0; g < c->n_groups; g++) {
        const struct m3fs_node_group *gr = &c->groups[g];
        sb_reset(&p);
        sb_reset(&w);
        sb_addf(&p, "nodeGroups.%zu.name", g);
        sb_addf(&w, "the name of nodeGroup #%zu", g + 1);
        name_rule(v, p.buf, w.buf, gr->name);
        sb_reset(&p);
        sb_addf(&p, "nodeGroups.%zu.username", g);
        user_rule(v, p.buf, "username of a nodeGroup", gr->username);
    }
    sb_release(&p);
    sb_release(&w);
}

static void check_service_chars(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    struct strbuf p = STRBUF_INIT;
    for (int k = 0; k < SVC_COUNT; k++) {
        sb_reset(&p);
        sb_addf(&p, "services.%s.containerName", svc_key((enum svc_kind)k));
        name_rule(v, p.buf, p.buf, c->svc[k].container_name);
    }
    sb_release(&p);
}

#define REF_CHARS ALNUM "._-/"
#define TAG_CHARS ALNUM "._-"

static void check_image_chars(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    char ch[24];
    const char *reg = c->images.registry;
    if (reg && *reg && !strstr(reg, "://") && !only(reg, REF_CHARS ":[]")) {
        bad_char(reg, REF_CHARS ":[]", ch);
        E(v, "images.registry", "write host[:port][/path], e.g. registry.local:5000",
          "images.registry has %s", ch);
    }
    struct strbuf p = STRBUF_INIT;
    for (int k = 0; k < IMG_COUNT; k++) {
        const struct m3fs_image *im = &c->images.img[k];
        const char *which = NULL, *val = NULL, *set = NULL;
        if (im->repo && !only(im->repo, REF_CHARS))
            which = "repo", val = im->repo, set = REF_CHARS;
        else if (im->tag && !only(im->tag, TAG_CHARS))
            which = "tag", val = im->tag, set = TAG_CHARS;
        if (!which) continue;
        sb_reset(&p);
        sb_addf(&p, "images.%s.%s", img_key((enum img_kind)k), which);
        bad_char(val, set, ch);
        E(v, p.buf, "a repo has letters, digits, '.', '_', '-' and '/'; a tag the same without "
          "'/'", "%s has %s", p.buf, ch);
    }
    sb_release(&p);
}

void check_chars(struct vctx *v)
{
    const struct m3fs_config *c = v->c;
    path_rule(v, "workDir", c->work_dir);
    if (c->work_dir && c->work_dir[0] == '/' && config_workdir_denied(c->work_dir))
        E(v, "workDir", "m3fs creates and deletes its files under workDir: give it a directory "
          "of its own, e.g. /opt/3fs", "workDir '%s' is a system directory", c->work_dir);
    path_rule(v, "serviceBasePath", c->service_base_path);
    path_rule(v, "services.client.hostMountpoint", c->client.host_mountpoint);
    check_node_chars(v);
    check_service_chars(v);
    check_image_chars(v);
}
