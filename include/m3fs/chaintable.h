/* chaintable: native generation and verification of 3FS chain tables
 * (replaces upstream's Python MIP model + gen_chain_table.py).
 *
 * Model: v storage nodes, replication factor k, d disks per node, r targets
 * per disk.  One node-level design (b = v*r/k groups of k distinct nodes,
 * every node in exactly r groups) is laid on every disk index: group g on disk
 * index i becomes the chain (chain_prefix*1000 + i+1)*100000 + g+1 and node
 * n's t-th group (ascending) gets target
 * ((target_prefix*1000000 + node_id)*1000 + i+1)*100 + t+1.
 * See docs/chain-table.md.
 *
 * Ownership: ct_generate() and ct_read_files() return a heap struct ct_table
 * that owns all its arrays; free it with ct_table_free().  Messages are
 * appended to caller-owned strbufs.  Nothing here prints or logs. */
#ifndef M3FS_CHAINTABLE_H
#define M3FS_CHAINTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/strbuf.h"

#define CT_DEFAULT_NODE_ID_BEGIN 10001
#define CT_DEFAULT_TARGET_PREFIX 1
#define CT_DEFAULT_CHAIN_PREFIX 9
#define CT_MAX_R 99          /* target index has two digits */
#define CT_MAX_DISKS 999     /* disk index + 1 has three digits */
#define CT_MAX_PREFIX 99     /* upstream limit for both prefixes */
#define CT_MAX_NODE_ID 999999
#define CT_MAX_NODES 1000    /* upstream: node_id_end - node_id_begin < 1000 */
#define CT_MAX_CHAIN_INDEX 99999
#define CT_MAX_TARGETS 20000000L /* memory bound for one table */

/* Upstream's file names inside the output directory. */
#define CT_FILE_CHAINS "generated_chains.csv"
#define CT_FILE_TABLE "generated_chain_table.csv"
#define CT_FILE_CREATE "create_target_cmd.txt"
#define CT_FILE_REMOVE "remove_target_cmd.txt"

struct ct_params {
    long v;              /* storage nodes */
    long k;              /* replication factor (targets per chain) */
    long disks;          /* disks per node */
    long r_min;          /* requested targets per disk (minimum r) */
    long node_id_begin;  /* node ids node_id_begin .. +v-1, unless node_ids */
    const uint32_t *node_ids; /* optional: v distinct node ids (borrowed) */
    long target_prefix;
    long chain_prefix;
    int rotate_heads;    /* spread chain heads evenly over nodes */
    int interleave;      /* chain table order: index-major across disks */
    uint64_t seed;       /* 0 = the built-in fixed seed */
};

/* Fill defaults: node ids from 10001, prefixes 1 and 9, one disk, r_min 1. */
void ct_params_init(struct ct_params *p);

/* Choose r for (v, k, r_min) as described in the header comment of
 * src/chaintable/params.c.  Returns 0 and sets *r, appending a sentence that
 * names the rule (and why r differs from r_min) to `why`; or -1 with the
 * reason in `why`. */
int ct_choose_r(long v, long k, long r_min, long *r, struct strbuf *why);

/* Check every parameter (ranges, ID overflow) for a chosen r; 0 or -1 with
 * the reason appended to err. */
int ct_check_params(const struct ct_params *p, long r, struct strbuf *err);

uint64_t ct_target_id(long target_prefix, long node_id, long disk_index, long target_index);
uint64_t ct_chain_id(long chain_prefix, long disk_index, long chain_index);

/* Node-level design.  groups[g*k + j] (g < b, j < k) are node indices
 * 0..v-1, distinct and ascending inside a group; every node is in exactly r
 * groups.  Pair co-occurrence is balanced toward mu = r(k-1)/(v-1).
 * Deterministic for a given seed.  Returns a malloc'd array of b*k entries
 * (caller frees) and sets *b; NULL if v*r is not a multiple of k, k > v,
 * v > CT_MAX_NODES or r is outside 1..CT_MAX_R. */
uint32_t *ct_design(long v, long k, long r, uint64_t seed, long *b);

struct ct_target {
    uint64_t target_id;
    uint32_t node_id;
    uint32_t disk_index; /* 0-based */
    uint32_t chain_id;
};

struct ct_chain {
    uint32_t chain_id;
    uint32_t disk_index; /* disk index of its first target */
    size_t first;        /* index of its first target in table->targets */
    size_t n;            /* number of targets; row order, head first */
};

struct ct_table {
    struct ct_chain *chains; /* ascending chain id (as written to generated_chains.csv) */
    size_t n_chains;
    struct ct_target *targets; /* grouped by chain, in row order */
    size_t n_targets;
    uint32_t *order;         /* chain ids in chain-table order */
    size_t n_order;
    /* Generation facts (0 / NULL for a table read from files). */
    long v, k, r, b, disks;
    char *r_reason;          /* sentence from ct_choose_r */
    /* Inconsistencies found by ct_read_files() between the files (reported
     * as errors by ct_verify()). */
    struct strvec problems;
};

/* Generate.  Returns 0 and *out, or -1 with the reason in err. */
int ct_generate(const struct ct_params *p, struct ct_table **out, struct strbuf *err);
void ct_table_free(struct ct_table *t);

/* Append the upstream file called name (one of CT_FILE_*) to out; -1 for
 * another name. */
int ct_format(const struct ct_table *t, const char *name, struct strbuf *out);
/* Write the four upstream files into dir (which must exist); each file is
 * written to a temporary name and renamed.  0 or -1 with err. */
int ct_write_files(const struct ct_table *t, const char *dir, struct strbuf *err);

/* Read generated_chains.csv, generated_chain_table.csv and
 * create_target_cmd.txt from dir.  Format errors ("file:line: what") fail
 * with -1; rule violations are left for ct_verify(). */
int ct_read_files(const char *dir, struct ct_table **out, struct strbuf *err);
/* The largest chain-table file ct_read_files() reads (a FIFO or anything
 * but a regular file is refused too). */
#define CT_FILE_MAX (256u << 20)

/* What the caller expects; 0 = not checked. */
struct ct_expect {
    long k;
    long disks;       /* every disk index must be < disks */
    long stripe_size; /* table must list at least this many chains */
};

struct ct_stats {
    size_t n_chains, n_targets, n_nodes, n_disks;
    long k;                      /* -1 when chains differ in size */
    long tgt_node_min, tgt_node_max; /* targets per node */
    long tgt_disk_min, tgt_disk_max; /* targets per (node, disk index) */
    long lambda_min, lambda_max; /* per disk index and node pair; -1 = not computed */
    double mu;                   /* mean pair co-occurrence per disk index */
    long band_lo, band_hi;       /* floor(mu), ceil(mu) */
    long head_min, head_max;     /* chains headed per node */
    double head_ideal;
    long errors, warnings;
};

/* Check the hard rules (docs/chain-table.md) and measure balance.  Appends
 * "error: ..."/"warning: ..." lines and a summary to report (may be NULL).
 * Returns the number of errors. */
long ct_verify(const struct ct_table *t, const struct ct_expect *exp, struct ct_stats *st,
               struct strbuf *report);

/* Only the balance fields of st (counts, lambda, heads); used by ct_verify. */
void ct_measure_balance(const struct ct_table *t, struct ct_stats *st);

/* ---- migration: growing or shrinking a table in use (docs/scale.md) ----
 *
 * Every existing chain keeps its id (files refer to it); its replicas are
 * moved one at a time so that on every disk index each remaining node ends
 * with an equal share (+-1) of the existing chains' replicas, and new chains
 * are added so every node holds r' targets per disk index. */

struct ct_move {
    uint32_t chain_id;
    uint32_t step;        /* 0-based: this chain's moves run in step order */
    uint32_t disk_index;  /* both targets are on this disk index */
    uint32_t from_node, to_node;
    uint64_t from_target; /* leaves the chain (offline, remove) */
    uint64_t to_target;   /* new id in the upstream scheme on to_node */
};

struct ct_migrate_params {
    const uint32_t *add;    /* node ids to add (borrowed); not in the table */
    size_t n_add;
    const uint32_t *remove; /* node ids to drain (borrowed); in the table */
    size_t n_remove;
    long k;                 /* replication factor: every chain must have k targets */
    long disks;             /* disks per node */
    long r_min;             /* requested targets per disk (r' >= this) */
};

struct ct_migration {
    struct ct_table *after;  /* the new table (owned): old chains + new ones */
    struct ct_move *moves;   /* ascending (step, chain_id); owned */
    size_t n_moves;
    uint32_t *new_chains;    /* ids of chains created fresh (ascending); owned */
    size_t n_new_chains;
    long v_before, v_after;  /* storage nodes */
    long r_after;            /* targets per node and disk index afterwards */
    long max_steps;          /* largest number of moves of one chain */
    size_t n_detours;        /* moves beyond the minimum: a replica parked on a
                                node at its share, which passes another on */
};

/* Plan the change from cur.  Returns 0 and *out (free with
 * ct_migration_free), or -1 with the reason appended to err (e.g. removing
 * nodes would leave fewer than k).  cur is only read. */
int ct_plan_migration(const struct ct_table *cur, const struct ct_migrate_params *p,
                      struct ct_migration **out, struct strbuf *err);
void ct_migration_free(struct ct_migration *m);

/* Replay m's moves on cur: each move takes a target that is in its chain
 * and puts a new, unused target on a node not yet in the chain, steps in
 * order; the result must equal m->after, and ct_verify(m->after) must pass
 * with equal targets per node and disk index.  Appends "error: ..." lines to
 * report (may be NULL); returns the number of errors. */
long ct_check_migration(const struct ct_table *cur, const struct ct_migration *m, long k,
                        long disks, struct strbuf *report);

#endif
