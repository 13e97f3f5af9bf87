/* The bundle manifest: model, JSON form (cJSON) and checks. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/artifact.h"

struct artifact_image *artifact_manifest_add(struct artifact_manifest *m, const char *name,
                                             const char *repo, const char *tag,
                                             const char *arch, const char *file)
{
    ALLOC_GROW(m->img, m->n, m->alloc);
    struct artifact_image *im = &m->img[m->n++];
    memset(im, 0, sizeof(*im));
    im->name = xstrdup(name);
    im->repo = xstrdup(repo);
    im->tag = xstrdup(tag);
    im->arch = xstrdup(arch);
    im->file = xstrdup(file);
    return im;
}

void artifact_manifest_free(struct artifact_manifest *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct artifact_image *im = &m->img[i];
        free(im->name);
        free(im->repo);
        free(im->tag);
        free(im->arch);
        free(im->file);
    }
    free(m->img);
    memset(m, 0, sizeof(*m));
}

const struct artifact_image *artifact_manifest_find(const struct artifact_manifest *m,
                                                    const char *file)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->img[i].file, file)) return &m->img[i];
    return NULL;
}

int artifact_safe_file_name(const char *file)
{
    return file && *file && !strchr(file, '/') && strcmp(file, ".") && strcmp(file, "..") &&
           strcmp(file, ARTIFACT_MANIFEST_NAME);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (!cJSON_AddStringToObject(o, k, v)) abort();
}

char *artifact_manifest_to_json(const struct artifact_manifest *m)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) abort();
    cJSON_AddNumberToObject(root, "format", ARTIFACT_FORMAT);
    cJSON *arr = cJSON_AddArrayToObject(root, "images");
    if (!arr) abort();
    for (size_t i = 0; i < m->n; i++) {
        const struct artifact_image *im = &m->img[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) abort();
        add_str(o, "name", im->name);
        add_str(o, "repo", im->repo);
        add_str(o, "tag", im->tag);
        add_str(o, "arch", im->arch);
        add_str(o, "file", im->file);
        /* Written as digits, not through cJSON's double printer: that one
         * prints 15 significant digits when the value reads back "close
         * enough" (compare_double), which loses bytes near 2^53. */
        char digits[24];
        snprintf(digits, sizeof digits, "%" PRIu64, im->size);
        if (!cJSON_AddRawToObject(o, "size", digits)) abort();
        add_str(o, "sha256", im->sha256);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) abort();
    char *out = xstrfmt("%s\n", s);
    cJSON_free(s);
    return out;
}

static const char *get_str(const cJSON *o, const char *k, size_t idx, struct strbuf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        sb_addf(err, "images[%zu].%s is missing or not a non-empty string", idx, k);
        return NULL;
    }
    return v->valuestring;
}

static int get_size(const cJSON *o, size_t idx, uint64_t *out, struct strbuf *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "size");
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!(d >= 0 && d <= 9007199254740992.0) || floor(d) != d) {
        sb_addf(err, "images[%zu].size is missing or not a whole number of bytes", idx);
        return -1;
    }
    *out = (uint64_t)d;
    return 0;
}

static int check_image(const struct artifact_manifest *m, size_t idx, struct strbuf *err)
{
    const struct artifact_image *im = &m->img[idx];
    if (!artifact_safe_file_name(im->file)) {
        sb_addf(err, "images[%zu].file '%s' is not a plain file name", idx, im->file);
        return -1;
    }
    if (!sha256_hex_valid(im->sha256)) {
        sb_addf(err, "images[%zu].sha256 is not 64 hex digits", idx);
        return -1;
    }
    for (size_t j = 0; j < idx; j++)
        if (!strcmp(m->img[j].file, im->file) || !strcmp(m->img[j].name, im->name)) {
            sb_addf(err, "images[%zu] repeats images[%zu] (%s)", idx, j, im->file);
            return -1;
        }
    return 0;
}

static int parse_image(const cJSON *o, size_t idx, struct artifact_manifest *m,
                       struct strbuf *err)
{
    if (!cJSON_IsObject(o)) {
        sb_addf(err, "images[%zu] is not an object", idx);
        return -1;
    }
    const char *name = get_str(o, "name", idx, err), *repo = NULL, *tag = NULL, *arch = NULL,
               *file = NULL, *sum = NULL;
    if (!name || !(repo = get_str(o, "repo", idx, err)) || !(tag = get_str(o, "tag", idx, err)) ||
        !(arch = get_str(o, "arch", idx, err)) || !(file = get_str(o, "file", idx, err)) ||
        !(sum = get_str(o, "sha256", idx, err)))
        return -1;
    uint64_t size;
    if (get_size(o, idx, &size, err)) return -1;
    struct artifact_image *im = artifact_manifest_add(m, name, repo, tag, arch, file);
    im->size = size;
    if (strlen(sum) == SHA256_HEX_LEN)
        for (size_t i = 0; i <= SHA256_HEX_LEN; i++)
            im->sha256[i] = (char)(sum[i] >= 'A' && sum[i] <= 'F' ? sum[i] + 32 : sum[i]);
    return check_image(m, idx, err);
}

static int parse_root(const cJSON *root, struct artifact_manifest *m, struct strbuf *err)
{
    if (!cJSON_IsObject(root)) {
        sb_adds(err, "the manifest is not a JSON object");
        return -1;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsNumber(fmt) || fmt->valuedouble != ARTIFACT_FORMAT) {
        sb_addf(err, "unsupported manifest format (this m3fs reads format %d)", ARTIFACT_FORMAT);
        return -1;
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "images");
    if (!cJSON_IsArray(arr)) {
        sb_adds(err, "the manifest has no \"images\" array");
        return -1;
    }
    size_t idx = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) {
        if (parse_image(o, idx++, m, err)) return -1;
    }
    return 0;
}

int artifact_manifest_parse(const char *json, size_t len, struct artifact_manifest *m,
                            struct strbuf *err)
{
    memset(m, 0, sizeof(*m));
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        sb_adds(err, "the manifest is not valid JSON");
        return -1;
    }
    int rc = parse_root(root, m, err);
    cJSON_Delete(root);
    if (rc) artifact_manifest_free(m);
    return rc;
}

void artifact_human_size(struct strbuf *sb, double bytes)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
        bytes /= 1024;
        u++;
    }
    if (u == 0) sb_addf(sb, "%.0f B", bytes);
    else sb_addf(sb, "%.1f %s", bytes, unit[u]);
}
