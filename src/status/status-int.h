/* status-int.h: helpers private to src/status/ (see include/m3fs/status.h). */
#ifndef M3FS_STATUS_INT_H
#define M3FS_STATUS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "m3fs/status.h"

/* Timeouts of a status round: the script bounds each of its own waits
 * (10 s for docker, 6 s for a probe, 2 s for a stat or df); the whole command is
 * killed after ST_EXEC_TIMEOUT_MS. */
#define ST_EXEC_TIMEOUT_MS 20000L

/* Split line (modified in place) at every `sep` into at most max fields;
 * the last field keeps the rest.  Returns the count. */
size_t st_split(char *line, char sep, char **fld, size_t max);
/* Strict decimal integer in [lo, hi]: 0, or -1. */
int st_num(const char *s, long long lo, long long hi, long long *out);
/* Like st_num, "-" giving -1. */
int st_num_or_dash(const char *s, long long *out);
/* "YYYY-MM-DDTHH:MM:SS[.frac]Z" (docker) or "YYYY-MM-DD HH:MM:SS" as UTC
 * Unix seconds; 0, or -1. */
int st_parse_time(const char *s, int64_t *out);

/* The probes (probes.c): the script's -p options for the cluster probes
 * that run on node, given which probes are still wanted (bit i: probe i). */
#define ST_PROBE_ALL 0xffffffffu
void st_probe_args(const struct st_report *r, size_t node, unsigned want, struct strbuf *args);
/* The facts options of node (-c, -f, -t, -a, -k, -r). */
void st_fact_args(const struct st_report *r, size_t node, struct strbuf *args);
/* Read the outputs (in f) of the wanted probes that ran on node into the
 * report; returns the bits of those that did not run and still want a node. */
unsigned st_probe_take(struct st_report *r, long node, const struct st_facts *f, unsigned want);
/* Bits of the probes whose first choice is node: each probe is placed on a
 * node of its service, spread so that no one node runs them all. */
unsigned st_probe_first_at(const struct st_report *r, size_t node);
/* After the first round: a node of a service with wanted probes, other
 * than the one they were placed on, that answered and runs the service's
 * container, or -1;
 * *bits gets that service's wanted probes. */
long st_probe_fallback(const struct st_report *r, unsigned want, unsigned *bits);
/* Record why the wanted probes ran nowhere. */
void st_probe_give_up(struct st_report *r, unsigned want);

/* The judges of the check table (checks.c). */
#define ST_JUDGE(name) void name(const struct st_report *r, struct st_findings *out)
ST_JUDGE(st_judge_reachable);
ST_JUDGE(st_judge_docker);
ST_JUDGE(st_judge_containers);
ST_JUDGE(st_judge_crash);
ST_JUDGE(st_judge_images);
ST_JUDGE(st_judge_limits);
ST_JUDGE(st_judge_fuse);
ST_JUDGE(st_judge_target_paths);
ST_JUDGE(st_judge_space);
ST_JUDGE(st_judge_aio);
ST_JUDGE(st_judge_cpu);
ST_JUDGE(st_judge_nic);
ST_JUDGE(st_judge_rdma);
ST_JUDGE(st_judge_clock);
ST_JUDGE(st_judge_tokens);
ST_JUDGE(st_judge_mgmtd);
ST_JUDGE(st_judge_heartbeats);
ST_JUDGE(st_judge_chains);
ST_JUDGE(st_judge_fdb);
ST_JUDGE(st_judge_clickhouse);

/* Append a finding; what and fix (may be NULL) are taken over. */
void st_add(struct st_findings *out, const char *check, enum st_severity sev, long node,
            char *what, char *fix);

/* Human sizes and durations for the renderers (render.c). */
void st_kib(struct strbuf *sb, int64_t kib);
void st_secs(struct strbuf *sb, int64_t s);

#endif
