/* diagram: the ASCII picture of a cluster printed by `cluster architecture`.
 * At most 80 columns wide; each node appears once whether it was listed
 * directly or through a nodeGroup.  Appends to a caller-owned strbuf. */
#ifndef M3FS_DIAGRAM_H
#define M3FS_DIAGRAM_H

#include "m3fs/config.h"

void diagram_render(const struct m3fs_config *cfg, int color, struct strbuf *out);

#endif
