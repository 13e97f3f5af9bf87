/* prepare: `m3fs cluster prepare` - get the nodes ready for `cluster create`.
 * User documentation: docs/prepare.md.
 *
 * A run is a plan (plan.h) of CALL steps built from the table in
 * src/prepare/prepare.c and run by plan_run(): one step after another,
 * each over the nodes that take part; when a step fails on any node no
 * further step starts, so every check has passed on every node before
 * anything is copied.  --dry-run prints the plan.  Steps today:
 *
 *   docker     docker is installed and its daemon answers (records DockerRootDir)
 *   host       kernel, CPU and OS checks (network.h)
 *   listen     nodes with a 3FS listener: 3FS would listen on the node's
 *              address (network.h, net_listen_preflight)
 *   inventory  (-a) which needed images each node already has (marker + image)
 *   space      (-a) free space in workDir and Docker's root >= 2 x bytes to send
 *   verify     (-a, local) the whole bundle checked against its manifest
 *   images     (-a) stream, check sha256 on the node, docker load, tag, clean up
 *   pull       (no -a) docker pull of each needed image
 *   net-*      RDMA packages (RXE), setup and verification (not with TCP)
 *
 * Ownership: prepare_run() borrows cfg and o; everything it allocates is
 * freed before it returns.  The helpers below write into caller-owned
 * buffers; prepare_loaded_image() returns a heap string the caller frees. */
#ifndef M3FS_PREPARE_H
#define M3FS_PREPARE_H

#include <stdint.h>

#include "m3fs/artifact.h"
#include "m3fs/config.h"
#include "m3fs/remote.h"
#include "m3fs/sha256.h"
#include "m3fs/strbuf.h"

struct prepare_opts {
    const char *bundle;    /* -a FILE, or NULL: docker pull on the nodes */
    long parallel;         /* nodes worked on at once, >= 1 */
    struct remote_opts ro; /* how to reach the nodes */
    int dry_run;           /* print the plan, touch no node */
    int no_relay;          /* --no-relay: every node gets its images directly */
};

/* Run every step (o->dry_run: print them, connect to no node; a bundle is
 * still opened and matched, locally).  Progress goes to the log (stderr); a
 * report per node and image (sent / skipped and why / pulled) to stdout.  Returns 0 when
 * every node is prepared, -1 otherwise (each error is logged, naming the
 * node and what to do). */
int prepare_run(const struct m3fs_config *cfg, const struct prepare_opts *o);

/* Where images live on a node: "<workDir>/images/<file>.sha256" is the
 * marker written after a successful load (it holds the bundle's sha256 of
 * the file) and "<workDir>/images/.<file>.part" the upload.  Appends to sb. */
void prepare_marker_path(struct strbuf *sb, const struct m3fs_config *cfg, const char *file);
void prepare_part_path(struct strbuf *sb, const struct m3fs_config *cfg, const char *file);

/* --- helpers, exposed for unit tests ------------------------------------- */

/* First word of `sha256sum FILE` output as 64 lower-case hex; 0 or -1. */
int prepare_parse_sha256sum(const char *out, char hex[SHA256_HEX_LEN + 1]);

/* The data line of `df -Pk DIR` output: available KiB and mount point
 * (appended to mount).  0 or -1 when the output is not df -P output. */
int prepare_parse_df(const char *out, uint64_t *avail_kb, struct strbuf *mount);

/* What `docker load` says it loaded: the first "Loaded image: REF" (else
 * the first "Loaded image ID: ID"), or NULL.  Caller frees. */
char *prepare_loaded_image(const char *load_out);

/* Inventory line "<0|1> <marker contents>": whether the image reference
 * exists on the node and the marker's sha256 ("" when missing or not a
 * digest).  0 or -1 on malformed output. */
int prepare_parse_inventory(const char *out, int *have_ref, char marker[SHA256_HEX_LEN + 1]);

/* For every image kind in `needed` (bitmask of 1u << img_kind), find the
 * bundle image of that name whose tag and arch match cluster.yml; fills
 * out[kind] (NULL for kinds not needed).  Returns 0, or -1 with every
 * missing or mismatched image described in err. */
int prepare_match_bundle(const struct m3fs_config *cfg, const struct artifact_manifest *m,
                         const char *bundle_path, unsigned needed,
                         const struct artifact_image *out[IMG_COUNT], struct strbuf *err);

/* Space rule: a filesystem that receives `send_bytes` of image files needs
 * 2 x send_bytes free (the uploaded file plus the loaded layers).  Returns 0,
 * or -1 with a message naming the node, the path, both sizes and the fix. */
int prepare_space_check(const char *node, const char *what, const char *path,
                        const char *mount, uint64_t avail_kb, uint64_t send_bytes,
                        struct strbuf *err);

#endif
