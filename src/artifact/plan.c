/* Which image files to download for a config (--images or the default set). */
#include <stdlib.h>
#include <string.h>

#include "m3fs/artifact.h"
#include "m3fs/config.h"

/* Images a cluster deployed by this m3fs runs. */
static const enum img_kind default_images[] = { IMG_3FS, IMG_FDB, IMG_CLICKHOUSE };

static int kind_of(const char *name)
{
    for (int k = 0; k < IMG_COUNT; k++)
        if (!strcmp(img_key((enum img_kind)k), name)) return k;
    return -1;
}

static void add_kind(const struct m3fs_config *cfg, enum img_kind k, struct artifact_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->img[i].name, img_key(k))) return;
    char *file = config_artifact_file(cfg, k);
    artifact_manifest_add(m, img_key(k), cfg->images.img[k].repo, cfg->images.img[k].tag,
                          cfg->images.arch, file);
    free(file);
}

static void known_names(struct strbuf *sb)
{
    for (int k = 0; k < IMG_COUNT; k++)
        sb_addf(sb, "%s%s", k ? ", " : "", img_key((enum img_kind)k));
}

int artifact_plan(const struct m3fs_config *cfg, const struct strvec *names,
                  struct artifact_manifest *m, struct strbuf *err)
{
    if (!names || !names->n) {
        for (size_t i = 0; i < ARRAY_SIZE(default_images); i++)
            add_kind(cfg, default_images[i], m);
        return 0;
    }
    for (size_t i = 0; i < names->n; i++) {
        int k = kind_of(names->v[i]);
        if (k < 0) {
            sb_addf(err, "unknown image '%s' in --images; known images: ", names->v[i]);
            known_names(err);
            return -1;
        }
        add_kind(cfg, (enum img_kind)k, m);
    }
    return 0;
}
