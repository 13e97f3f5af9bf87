/* bench: the fio benchmark of a mounted 3FS (`cluster bench`, and the last
 * step of `cluster create`).
 *
 * A profile is a list of fio workloads.  bench_fio_argv() builds the fio
 * command for one workload (run inside the client container against the
 * mountpoint, JSON output); bench_parse_fio() reads fio's JSON;
 * bench_row_add() sums the results of the client nodes that ran a workload
 * at the same time; bench_table() prints the rows.
 * Ownership: strings appended to caller-owned strbufs; struct bench_row is
 * plain data. */
#ifndef M3FS_BENCH_H
#define M3FS_BENCH_H

#include <stddef.h>

#include "m3fs/strbuf.h"

struct bench_workload {
    const char *name;  /* "seq-write-1m" */
    const char *label; /* "1 MiB sequential write" */
    const char *rw;    /* fio rw= */
    const char *bs;
    int numjobs;
    int iodepth;
    int runtime_s;
    const char *size;  /* per job */
    int is_write;
};

/* "quick" (under a minute) or "full"; NULL for an unknown name. */
const struct bench_workload *bench_profile(const char *name, size_t *n);

/* The fio command line for one workload writing under dir (quoted for a
 * shell with sh_quote); direct: O_DIRECT (1) or buffered I/O (0). */
void bench_fio_cmd(const struct bench_workload *w, const char *fio, const char *dir, int direct,
                   struct strbuf *out);

/* The largest numjobs of the n workloads ws: how many files they use. */
int bench_max_jobs(const struct bench_workload *ws, size_t n);

/* The fio command that writes, whole and with 1 MiB writes, every file
 * the n workloads ws use (they share one size), run before them so that
 * fio never lays a file out itself with a workload's block size (4 KiB
 * writes for random reads). */
void bench_fill_cmd(const struct bench_workload *ws, size_t n, const char *fio, const char *dir,
                    int direct, struct strbuf *out);

struct bench_row {
    const struct bench_workload *w;
    int clients;
    double iops;       /* sum over clients */
    double bw_bytes;   /* bytes/s, sum over clients */
    double lat_ns_sum; /* sum of per-client mean latency (ns) */
    int buffered;      /* some client's mount refused O_DIRECT: buffered I/O */
};

/* Parse fio --output-format=json --group_reporting output; fills iops,
 * bytes/s and mean latency (ns) of the read or write side.  0 or -1 with a
 * message in err. */
int bench_parse_fio(const char *json, int is_write, double *iops, double *bw_bytes,
                    double *lat_ns, struct strbuf *err);
void bench_row_add(struct bench_row *r, double iops, double bw_bytes, double lat_ns);
/* A table: operation, clients, numjobs, iodepth, IOPS, MiB/s, mean latency. */
void bench_table(const struct bench_row *rows, size_t n, struct strbuf *out);

struct m3fs_config;
struct remote_ctx;

/* Run a profile on every client node at once (one workload after another)
 * inside the client containers, against hostMountpoint, as a plan (one
 * CALL step per fio run, src/plan), then remove the test files.  Appends
 * the table to `table`; saves each node's fio JSON as
 * <json_dir>/<node>-<workload>.json when json_dir is not NULL.  With
 * dry_run not NULL, appends the plan there instead and runs nothing (rc
 * may be NULL).  0, or -1 with every node's error in err. */
int bench_run(const struct m3fs_config *cfg, struct remote_ctx *rc, const char *profile,
              const char *json_dir, struct strbuf *dry_run, struct strbuf *table,
              struct strbuf *err);

/* Where a run's fio JSON is kept: <dir of cluster.yml>/.m3fs/<name>.bench-<UTC
 * time> (the .m3fs directory is created 0700).  Caller frees. */
char *bench_json_dir(const struct m3fs_config *cfg);

#endif
