/* Pure helpers of `cluster prepare`: reading what node commands print,
 * matching the bundle to cluster.yml, and the free-space rule. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "prepare-int.h"

static int is_hex_word(const char *s, size_t n)
{
    if (n != SHA256_HEX_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

static void lower_copy(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = 0;
}

int prepare_parse_sha256sum(const char *out, char hex[SHA256_HEX_LEN + 1])
{
    hex[0] = 0;
    if (!out) return -1;
    out += strspn(out, " \t\n");
    size_t n = strcspn(out, " \t\n");
    if (!is_hex_word(out, n)) return -1;
    lower_copy(hex, out, n);
    return 0;
}

int prepare_parse_inventory(const char *out, int *have_ref, char marker[SHA256_HEX_LEN + 1])
{
    marker[0] = 0;
    if (!out || (out[0] != '0' && out[0] != '1') || out[1] != ' ') return -1;
    *have_ref = out[0] == '1';
    const char *m = out + 2;
    m += strspn(m, " \t\r\n");
    size_t n = strcspn(m, " \t\r\n");
    const char *rest = m + n;
    rest += strspn(rest, " \t\r\n");
    /* Anything but one digest (empty, junk, a truncated or edited file)
     * counts as no marker. */
    if (is_hex_word(m, n) && !*rest) lower_copy(marker, m, n);
    return 0;
}

/* Split a line into whitespace-separated fields; the 6th field is the rest
 * of the line (a mount point may contain spaces). */
static int df_fields(const char *line, size_t len, const char *f[6], size_t fl[6])
{
    const char *p = line, *end = line + len;
    for (int i = 0; i < 6; i++) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p == end) return -1;
        f[i] = p;
        if (i == 5) {
            const char *e = end;
            while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
            fl[i] = (size_t)(e - p);
            return fl[i] ? 0 : -1;
        }
        while (p < end && *p != ' ' && *p != '\t') p++;
        fl[i] = (size_t)(p - f[i]);
    }
    return -1;
}

int prepare_parse_df(const char *out, uint64_t *avail_kb, struct strbuf *mount)
{
    if (!out || strncmp(out, "Filesystem", 10)) return -1;
    const char *line = strchr(out, '\n');
    if (!line) return -1;
    line++;
    size_t len = strcspn(line, "\n");
    const char *f[6];
    size_t fl[6];
    if (df_fields(line, len, f, fl)) return -1;
    char *e;
    if (!isdigit((unsigned char)f[3][0])) return -1;
    unsigned long long v = strtoull(f[3], &e, 10);
    if (e != f[3] + fl[3] || f[5][0] != '/') return -1;
    *avail_kb = v;
    sb_add(mount, f[5], fl[5]);
    return 0;
}

char *prepare_loaded_image(const char *load_out)
{
    static const char named[] = "Loaded image: ", byid[] = "Loaded image ID: ";
    char *id = NULL;
    for (const char *p = load_out; p && *p;) {
        size_t n = strcspn(p, "\r\n");
        if (n > sizeof(named) - 1 && !strncmp(p, named, sizeof(named) - 1)) {
            free(id);
            return xstrndup(p + sizeof(named) - 1, n - (sizeof(named) - 1));
        }
        if (!id && n > sizeof(byid) - 1 && !strncmp(p, byid, sizeof(byid) - 1))
            id = xstrndup(p + sizeof(byid) - 1, n - (sizeof(byid) - 1));
        p += n;
        p += strspn(p, "\r\n");
    }
    return id;
}

/* The image of that name, preferring one with the wanted tag and arch. */
static const struct artifact_image *find_named(const struct artifact_manifest *m, const char *name,
                                               const char *tag, const char *arch)
{
    const struct artifact_image *any = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const struct artifact_image *a = &m->img[i];
        if (strcmp(a->name, name)) continue;
        if (!strcmp(a->tag, tag) && !strcmp(a->arch, arch)) return a;
        if (!any) any = a;
    }
    return any;
}

static int match_one(const struct m3fs_config *cfg, const struct artifact_manifest *m,
                     const char *bundle_path, enum img_kind k,
                     const struct artifact_image **out, struct strbuf *err)
{
    const char *tag = cfg->images.img[k].tag, *arch = cfg->images.arch;
    const struct artifact_image *a = find_named(m, img_key(k), tag, arch);
    if (a && !strcmp(a->tag, tag) && !strcmp(a->arch, arch)) {
        *out = a;
        return 0;
    }
    if (err->len) sb_addch(err, '\n');
    if (!a)
        sb_addf(err, "%s has no %s image, which this cluster needs; make a bundle for this "
                "cluster.yml with 'm3fs artifact download -c %s'", bundle_path, img_key(k),
                cfg->file ? cfg->file : "cluster.yml");
    else
        sb_addf(err, "%s holds %s %s for %s, but cluster.yml wants %s for %s (images.%s.tag, "
                "images.arch); make a matching bundle with 'm3fs artifact download' or fix "
                "cluster.yml", bundle_path, img_key(k), a->tag, a->arch, tag, arch, img_key(k));
    return -1;
}

int prepare_match_bundle(const struct m3fs_config *cfg, const struct artifact_manifest *m,
                         const char *bundle_path, unsigned needed,
                         const struct artifact_image *out[IMG_COUNT], struct strbuf *err)
{
    int rc = 0;
    for (int k = 0; k < IMG_COUNT; k++) {
        out[k] = NULL;
        if ((needed & (1u << k)) && match_one(cfg, m, bundle_path, (enum img_kind)k, &out[k], err))
            rc = -1;
    }
    return rc;
}

int prepare_space_check(const char *node, const char *what, const char *path,
                        const char *mount, uint64_t avail_kb, uint64_t send_bytes,
                        struct strbuf *err)
{
    uint64_t need = send_bytes > UINT64_MAX / 2 ? UINT64_MAX : send_bytes * 2;
    uint64_t avail = avail_kb > UINT64_MAX / 1024 ? UINT64_MAX : avail_kb * 1024;
    if (avail >= need) return 0;
    struct strbuf a = STRBUF_INIT, n = STRBUF_INIT, s = STRBUF_INIT;
    artifact_human_size(&a, (double)avail);
    artifact_human_size(&n, (double)need);
    artifact_human_size(&s, (double)send_bytes);
    sb_addf(err, "%s: not enough free space for the images in %s %s (filesystem %s): %s free, "
            "%s needed (2 x %s to send: the copied files and their loaded layers); free space "
            "there%s", node, what, path, mount, a.buf, n.buf, s.buf,
            strstr(what, "Docker") ? " or move Docker's data-root to a larger filesystem"
                                   : " or set workDir to a larger filesystem");
    sb_release(&a);
    sb_release(&n);
    sb_release(&s);
    return -1;
}
