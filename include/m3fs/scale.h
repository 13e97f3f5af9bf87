/* scale: growing and shrinking a running cluster (docs/scale.md):
 * `cluster add-storage-nodes` and `remove-storage-nodes`.
 *
 * The pieces: what admin_cli says of the cluster (list-chains,
 * list-targets, list-targets --orphan; remote, untrusted output) read into
 * a struct sc_view and the current chain table; the migration plan of
 * ct_plan_migration() kept in the state file as text (a rerun continues the
 * same plan); which sub-step of one replica move comes next from what the
 * cluster shows (sc_next_sub: every sub-step is skipped when the cluster
 * shows it done); and the executor, one CALL step per move on the first
 * mgmtd node.
 *
 * Layering: above services (it reuses storage's create steps) and
 * admincli (admin_cli's table reader, admin_table_parse; shared with
 * status, which scale does not include).
 *
 * Ownership: struct sc_view owns its arrays (sc_view_release); the
 * struct ct_table of sc_view_table() and the migration of
 * sc_plan_decode() are the caller's (ct_table_free, ct_migration_free). */
#ifndef M3FS_SCALE_H
#define M3FS_SCALE_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/chaintable.h"
#include "m3fs/strbuf.h"

/* A target as list-targets (or --orphan) or list-chains shows it. */
struct sc_target {
    uint64_t id;
    uint32_t chain;   /* 0: none (an orphan) */
    long node, disk;  /* -1: N/A */
    char pub[16];     /* public state: SERVING, SYNCING, WAITING, LASTSRV, OFFLINE; "" orphan */
    char local[16];   /* local state: UPTODATE, ONLINE, OFFLINE */
    uint64_t used;    /* UsedSize, bytes */
    int orphan;       /* listed by list-targets --orphan */
};

/* One chain of list-chains: its targets head first. */
struct sc_chain {
    uint32_t id;
    uint64_t *targets;
    size_t n;
};

struct sc_view {
    struct sc_target *t;
    size_t n, alloc;
    struct sc_chain *c;
    size_t n_chains, c_alloc;
    long table_version; /* list-chains -t 1: ChainTableVersion, else -1 */
};

/* list-targets or list-targets --orphan (upstream
 * src/client/cli/admin/ListTargets.cc); appended to v.  0, or -1 with err. */
int sc_parse_targets(const char *text, struct sc_view *v, struct strbuf *err);
/* list-chains [-t 1] (ListChains.cc): every chain with its targets
 * "ID(PUBLIC-LOCAL)" in order; a target not yet in v is added with those
 * states.  0, or -1 with err. */
int sc_parse_chains(const char *text, struct sc_view *v, struct strbuf *err);
/* The three listings of templates/m3fs-scale.sh observe, one after the
 * other, each started by a line "== NAME ==" (targets, orphans, chains). */
int sc_parse_observe(const char *text, struct sc_view *v, struct strbuf *err);
const struct sc_target *sc_find(const struct sc_view *v, uint64_t id);
/* The chain table the view shows (chains of list-chains, nodes and disk
 * indices of list-targets; disk indices 0-based as the generator's).
 * 0, or -1 with err (a target without node or disk). */
int sc_view_table(const struct sc_view *v, struct ct_table **out, struct strbuf *err);
void sc_view_release(struct sc_view *v);

/* ---- one replica move (docs/scale.md "One replica move") ---------------- */
enum sc_sub {
    SC_OFFLINE,       /* offline-target --node-id a --target-id A */
    SC_WAIT_OFFLINE,  /* A offlined, mgmtd not yet showing it public OFFLINE */
    SC_CHAIN_REMOVE,  /* update-chain C A --mode remove */
    SC_REMOVE_TARGET, /* remove-target --node-id a --target-id A */
    SC_CREATE_TARGET, /* create-target --node-id b --disk-index i --target-id B --chain-id C */
    SC_CHAIN_ADD,     /* update-chain C B --mode add */
    SC_WAIT_SERVING,  /* B in the chain, not yet SERVING-UPTODATE */
    SC_DONE,
    SC_STUCK          /* the cluster shows something no sub-step leads to */
};
const char *sc_sub_name(enum sc_sub s);
/* 1 when a failed sub-step's admin_cli output (text: its stdout or
 * stderr) means it is done already and the listings will show it after the
 * storage node's next heartbeat (wait and look again), else 0: an offlined
 * target, a target not yet out of its chain on its node or already gone
 * (scale/view.c lists the answers). */
int sc_answer_waits(enum sc_sub sub, const char *text);

/* The sub-step of move m that comes next, from what v shows.  add_first:
 * steps 4-6 before 1-3 (replication factor 1, where removing the only
 * replica first is impossible).  why (may be NULL) gets a sentence for
 * SC_STUCK. */
enum sc_sub sc_next_sub(const struct ct_move *m, const struct sc_view *v, int add_first,
                        struct strbuf *why);

/* ---- the plan in the state file ----------------------------------------- */
#define SC_STATE_PLAN "scale-plan"
/* What a plan is for: "add" or "remove" and the node ids. */
struct sc_plan_info {
    char op[8];
    uint32_t nodes[64];
    size_t n_nodes;
    long k, disks;
};
/* The migration as one line of text (the op, the nodes, the moves, the new
 * chains, the new table's chains and order). */
void sc_plan_encode(const struct sc_plan_info *pi, const struct ct_migration *m,
                    struct strbuf *out);
/* Read it back (m->after is rebuilt: chains, targets, order).  0, or -1
 * with err (a state file edited by hand). */
int sc_plan_decode(const char *text, struct sc_plan_info *pi, struct ct_migration **m,
                   struct strbuf *err);
/* State key of move i's completion ("scale-move C/STEP"); caller frees. */
char *sc_move_key(const struct ct_move *mv);

/* ---- room for the moved bytes (docs/scale.md "Room for the moved bytes") -- */
#define SC_MAX_DISKS 999 /* storage.diskNumPerNode at most (config/validate.c) */
/* What must stay free on a receiving filesystem, in percent of its size:
 * upstream 3FS marks a disk low on space at 96 % used
 * (src/storage/worker/CheckWorker.cc, disk_low_space_threshold 0.96 in
 * CheckWorker.h) and stops creating chunks at 98 %. */
#define SC_ROOM_KEEP_PCT 4
/* df of one target path of one storage node. */
struct sc_space {
    uint32_t node, disk;  /* storage node id (the caller's), disk index */
    const char *name;     /* the node's name, borrowed (the caller's) */
    uint64_t size, avail; /* bytes of the filesystem holding the path */
    char mount[256];      /* its mount point */
    int known;            /* 0: an NVMe disk not mounted yet (size unknown) */
    int seen;
};
/* One move's arrival: bytes (the leaving target's UsedSize) for disk index
 * disk of node. */
struct sc_need {
    uint32_t node, disk;
    uint64_t bytes;
};
/* Output of templates/m3fs-scale.sh space BASE COUNT (remote, untrusted):
 * for each disk index i < disks a line "== i ==" then `df -P -B1` of the
 * target path (or of the nearest directory above it that exists).  Fills
 * out[0..disks-1] (disk, size, avail, mount, known; node and name are left
 * to the caller).  own_base (NVMe disks; NULL for directories): a path
 * counts as known only when its filesystem is mounted at own_base/data<i>.
 * 0, or -1 with err. */
int sc_parse_space(const char *text, long disks, const char *own_base, struct sc_space *out,
                   struct strbuf *err);
/* Bytes that must stay free on a filesystem of size bytes (SC_ROOM_KEEP_PCT,
 * rounded up). */
uint64_t sc_room_reserve(uint64_t size);
/* Sum the needs per filesystem (node and mount point: several target paths
 * may share one) and judge each: it has room when need + sc_room_reserve(size)
 * <= avail.  report (may be NULL) gets a line per filesystem; err gets every
 * one without room (naming node, target paths under base, bytes needed and
 * free, what to do) or a need without its sc_space.  0, or -1. */
int sc_room_judge(const struct sc_need *need, size_t n_need, const struct sc_space *sp,
                  size_t n_sp, const char *base, struct strbuf *report, struct strbuf *err);
/* b as "1.5 GiB". */
void sc_human(uint64_t b, char out[32]);
/* ---- the disks m3fs formatted on a node (--clear-disks) ----------------- */
/* One line of <workDir>/storage/3fsdata.formatted as templates/m3fs-disks.sh
 * prepare appends it for each disk it formats: "DEV LABEL\n" (DEV /dev/...,
 * LABEL <prefix>-<i>, the XFS label; clear wipes each disk by its label). */
struct sc_fmt_disk {
    char dev[256];
    char label[16]; /* at most 12 bytes: XFS labels hold 12 */
};
struct sc_fmt_list {
    struct sc_fmt_disk *v; /* owned: sc_fmt_list_release */
    size_t n, alloc;
    size_t skipped; /* lines not of that form, left out */
};
/* The file's text[0..len) (remote, untrusted: any bytes, NULs included)
 * into out (zeroed first).  A line counts only when it is exactly what
 * m3fs-disks.sh writes: DEV (/dev/ then letters, digits and ._-/:+, at most
 * 255 bytes), one space, LABEL (1 to 8 of A-Z a-z 0-9 -, a '-' and 1 to 3
 * digits), '\n'.  Any other line (a CR, a NUL, another space, an overlong
 * field, an empty line, a last line without its '\n', which the clear's
 * `read` passes over too) is left out and counted in out->skipped.  Pure:
 * reads nothing remote. */
void sc_parse_formatted(const char *text, size_t len, struct sc_fmt_list *out);
void sc_fmt_list_release(struct sc_fmt_list *l);

/* ---- cluster create on a cluster these commands changed ---------------- */
/* State key: which storage nodes hold targets of the cluster's chain table
 * and which ones remove-storage-nodes drained (still named, by id and
 * cluster.yml name, so a shifted list is seen).  Recorded by create with
 * its upload-chain-table and by add/remove-storage-nodes when they finish
 * (or find nothing to add). */
#define SC_STATE_NODES "storage-nodes"
struct sc_node {
    uint32_t id;
    char name[64];
};
struct sc_nodes {
    struct sc_node *hold, *drained;
    size_t n_hold, n_drained;
};
void sc_nodes_add(struct sc_nodes *n, int drained, uint32_t id, const char *name);
/* "hold ID=NAME,... drained ID=NAME,..." */
void sc_nodes_encode(const struct sc_nodes *n, struct strbuf *out);
/* 0, or -1 (n left empty) for text not of that form or holding no node. */
int sc_nodes_decode(const char *text, struct sc_nodes *n);
void sc_nodes_release(struct sc_nodes *n);
/* The first of v[0..n-1] with id id and, when name is not NULL, that name;
 * NULL when there is none.  It points into v (owns nothing, frees nothing). */
const struct sc_node *sc_nodes_find(const struct sc_node *v, size_t n, uint32_t id,
                                    const char *name);
/* The record after a scale command (or its "nothing to add"), into out:
 * hold now->hold; drained the drained of old (the record before; NULL or
 * unreadable: none) and now->drained, less any node holding targets again. */
void sc_nodes_next(const char *old, const struct sc_nodes *now, struct strbuf *out);

/* What create does with the chain table (docs/scale.md). */
enum sc_create_case {
    SC_CREATE_NEW,        /* no table recorded: create makes (or finishes) its own */
    SC_CREATE_OWN,        /* create's table, and cluster.yml still gives it: as always */
    SC_CREATE_KEEP,       /* add/remove-storage-nodes made the table: create keeps it
                           * (its target and chain steps left out, its waits check
                           * that table's ids; drained nodes left alone) */
    SC_CREATE_UNFINISHED, /* refuse: an unfinished plan of one of these commands */
    SC_CREATE_NEW_NODES,  /* refuse: storage nodes of cluster.yml hold no targets */
    SC_CREATE_GONE_NODES, /* refuse: a node holding targets is not cluster.yml's under
                           * its id (taken out of services.storage, or ids shifted) */
    SC_CREATE_CHANGED,    /* refuse: cluster.yml's chain table is not the one create
                           * uploaded (replicationFactor, disks, targets per disk) */
    SC_CREATE_UNKNOWN,    /* refuse: a finished scale with no SC_STATE_NODES record */
};
struct sc_create_in {
    const char *plan;       /* state SC_STATE_PLAN, or NULL */
    const char *nodes;      /* state SC_STATE_NODES, or NULL */
    const char *uploaded;   /* state "upload-chain-table" (create's digest), or NULL */
    const char *table_hex;  /* sha256 of the table file cluster.yml gives */
    const uint32_t *ids;    /* services.storage's node ids, in order */
    const char *const *names; /* and their names */
    size_t n_ids;
};
/* The case; why gets the op (UNFINISHED) or the nodes concerned (NEW_NODES,
 * GONE_NODES).  skip (n_ids bytes, may be NULL): for KEEP, 1 for each node
 * of cluster.yml that remove-storage-nodes drained, else 0. */
enum sc_create_case sc_create_case(const struct sc_create_in *in, unsigned char *skip,
                                   struct strbuf *why);
/* Whatever the plan: the nodes of in that in->nodes records as drained
 * (same id and name) and not holding targets, marked 1 in skip (n_ids
 * bytes); their count (0 for no or an unreadable record).  What stop and
 * start leave out while a plan is unfinished (src/cmd/drained.c). */
size_t sc_drained_nodes(const struct sc_create_in *in, unsigned char *skip);

#endif
