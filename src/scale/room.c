/* scale/room.c: whether the receiving storage nodes have room for the
 * bytes a migration moves to them (include/m3fs/scale.h, docs/scale.md
 * "Room for the moved bytes").  The df output read here comes from a node
 * (templates/m3fs-scale.sh space): untrusted, every field checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m3fs/scale.h"

void sc_human(uint64_t b, char out[32])
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)b;
    size_t i = 0;
    while (v >= 1024 && i + 1 < sizeof(u) / sizeof(u[0])) v /= 1024, i++;
    snprintf(out, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* Fields of a df -P data line: 5 words, then the mount point (the rest). */
static int df_line(const char *p, size_t len, const char *f[6], size_t fl[6])
{
    const char *end = p + len;
    for (size_t i = 0; i < 6; i++) {
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p == end) return -1;
        f[i] = p;
        if (i == 5) {
            fl[i] = (size_t)(end - p);
            return 0;
        }
        while (p < end && *p != ' ' && *p != '\t') p++;
        fl[i] = (size_t)(p - f[i]);
    }
    return -1;
}

static int space_row(const char *line, size_t len, struct sc_space *sp, struct strbuf *err)
{
    const char *f[6];
    size_t fl[6];
    if (df_line(line, len, f, fl) || str_to_u64(f[1], fl[1], UINT64_MAX, &sp->size) ||
        str_to_u64(f[3], fl[3], UINT64_MAX, &sp->avail)) {
        sb_addf(err, "not a df -P -B1 data line: '%.80s'", line);
        return -1;
    }
    if (sp->avail > sp->size || f[5][0] != '/' || fl[5] >= sizeof(sp->mount)) {
        sb_addf(err, "bad df numbers or mount point: '%.80s'", line);
        return -1;
    }
    for (size_t i = 0; i < fl[5]; i++)
        if ((unsigned char)f[5][i] < 0x20 || f[5][i] == 0x7f) {
            sb_adds(err, "a control character in df's mount point");
            return -1;
        }
    memcpy(sp->mount, f[5], fl[5]);
    sp->mount[fl[5]] = 0;
    return 0;
}

/* Next line of *p (without "\r\n"), advancing *p; 0 at the end. */
static int next_line(const char **p, const char **line, size_t *len)
{
    if (!**p) return 0;
    *line = *p;
    size_t n = strcspn(*p, "\n");
    *p += n + ((*p)[n] == '\n');
    while (n && (*line)[n - 1] == '\r') n--;
    *len = n;
    return 1;
}

/* "== I ==" with 0 <= I < disks, not seen yet: I, or -1. */
static long section(const char *line, size_t len, long disks, const struct sc_space *out)
{
    uint64_t i;
    if (len < 7 || strncmp(line, "== ", 3) || strncmp(line + len - 3, " ==", 3) ||
        str_to_u64(line + 3, len - 6, UINT64_MAX, &i) || i >= (uint64_t)disks || out[i].seen)
        return -1;
    return (long)i;
}

int sc_parse_space(const char *text, long disks, const char *own_base, struct sc_space *out,
                   struct strbuf *err)
{
    const char *p = text ? text : "", *line;
    size_t len;
    if (disks < 1 || disks > SC_MAX_DISKS) return sb_addf(err, "bad disk count %ld", disks), -1;
    for (long i = 0; i < disks; i++) memset(&out[i], 0, sizeof(out[i]));
    while (next_line(&p, &line, &len)) {
        if (!len) continue;
        long i = section(line, len, disks, out);
        if (i < 0) return sb_addf(err, "expected '== DISK-INDEX ==', got '%.80s'", line), -1;
        if (!next_line(&p, &line, &len) || len < 10 || strncmp(line, "Filesystem", 10))
            return sb_addf(err, "disk index %ld: no df header line", i), -1;
        if (!next_line(&p, &line, &len))
            return sb_addf(err, "disk index %ld: no df data line", i), -1;
        if (space_row(line, len, &out[i], err)) return sb_addf(err, " (disk index %ld)", i), -1;
        out[i].seen = 1;
        out[i].disk = (uint32_t)i;
        out[i].known = 1;
        if (own_base) { /* NVMe: the disk's own filesystem is mounted at BASE/data<i> */
            char want[sizeof(out[i].mount)];
            int n = snprintf(want, sizeof(want), "%s/data%ld", own_base, i);
            out[i].known = n > 0 && (size_t)n < sizeof(want) && !strcmp(want, out[i].mount);
        }
    }
    for (long i = 0; i < disks; i++)
        if (!out[i].seen) return sb_addf(err, "no df output for disk index %ld", i), -1;
    return 0;
}

/* ---- judging ---------------------------------------------------------- */

/* One filesystem of one node that receives moves. */
struct room {
    const struct sc_space *sp; /* its first target path's df */
    uint64_t need;
    size_t n_moves;
};

static const struct sc_space *find_space(const struct sc_space *sp, size_t n, uint32_t node,
                                         uint32_t disk)
{
    for (size_t i = 0; i < n; i++)
        if (sp[i].node == node && sp[i].disk == disk && sp[i].seen) return &sp[i];
    return NULL;
}

static int same_fs(const struct sc_space *a, const struct sc_space *b)
{
    return a->node == b->node && a->known == b->known && !strcmp(a->mount, b->mount) &&
           (a->known || a->disk == b->disk); /* unknown ones stay apart */
}

uint64_t sc_room_reserve(uint64_t size)
{
    return size / 100 * SC_ROOM_KEEP_PCT + (size % 100 * SC_ROOM_KEEP_PCT + 99) / 100;
}

/* What the judging shares: the df figures and which of them receive. */
struct judging {
    const struct sc_space *sp;
    size_t n_sp;
    const unsigned char *recv; /* recv[j]: sp[j] receives a move */
    const char *base;
};

/* The receiving target paths on r's filesystem; their count. */
static size_t paths(struct strbuf *sb, const struct judging *J, const struct room *r)
{
    size_t n = 0;
    for (size_t j = 0; j < J->n_sp; j++)
        if (J->recv[j] && same_fs(&J->sp[j], r->sp))
            sb_addf(sb, "%s%s/data%u/3fs", n++ ? ", " : "", J->base, J->sp[j].disk);
    return n;
}

static int judge_one(const struct room *r, const struct judging *J, struct strbuf *report,
                     struct strbuf *err)
{
    const struct sc_space *s = r->sp;
    char need[32], avail[32], size[32], keep[32];
    uint64_t reserve = sc_room_reserve(s->size);
    int ok = !s->known || (r->need <= s->avail && reserve <= s->avail - r->need);
    sc_human(r->need, need), sc_human(s->avail, avail), sc_human(s->size, size);
    sc_human(reserve, keep);
    if (report) {
        sb_addf(report, "  %s (node %u) ", s->name ? s->name : "?", s->node);
        paths(report, J, r);
        if (!s->known)
            sb_addf(report, ": %zu move%s, %llu bytes (%s); free space not known: the disk is "
                    "not mounted at its target path yet (cluster create's disk step prepares "
                    "it), not checked\n", r->n_moves, r->n_moves == 1 ? "" : "s",
                    (unsigned long long)r->need, need);
        else
            sb_addf(report, " (filesystem %s): %zu move%s, %llu bytes (%s) to receive, %llu "
                    "bytes (%s) free of %s, %s to stay free: %s\n", s->mount, r->n_moves,
                    r->n_moves == 1 ? "" : "s", (unsigned long long)r->need, need,
                    (unsigned long long)s->avail, avail, size, keep,
                    ok ? "ok" : "NOT ENOUGH ROOM");
    }
    if (ok) return 0;
    sb_addf(err, "%sstorage node %s (node %u), target path(s) ", err->len ? "\n" : "",
            s->name ? s->name : "?", s->node);
    paths(err, J, r);
    sb_addf(err, " (filesystem %s): the moves put %llu bytes (%s) there, but %llu bytes (%s) "
            "are free and %llu bytes (%s, %d %% of %s) must stay free", s->mount,
            (unsigned long long)r->need, need, (unsigned long long)s->avail, avail,
            (unsigned long long)reserve, keep, SC_ROOM_KEEP_PCT, size);
    return -1;
}

int sc_room_judge(const struct sc_need *need, size_t n_need, const struct sc_space *sp,
                  size_t n_sp, const char *base, struct strbuf *report, struct strbuf *err)
{
    struct room *rooms = xcalloc(n_need + 1, sizeof(*rooms));
    unsigned char *recv = xcalloc(n_sp + 1, 1);
    struct judging J = { sp, n_sp, recv, base };
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < n_need && !rc; i++) {
        const struct sc_space *s = find_space(sp, n_sp, need[i].node, need[i].disk);
        if (!s) {
            sb_addf(err, "no free-space figure for storage node %u, disk index %u", need[i].node,
                    need[i].disk);
            rc = -1;
            break;
        }
        size_t j = 0;
        while (j < n && !same_fs(rooms[j].sp, s)) j++;
        if (j == n) rooms[n++].sp = s;
        struct room *r = &rooms[j];
        r->need = r->need > UINT64_MAX - need[i].bytes ? UINT64_MAX : r->need + need[i].bytes;
        r->n_moves++;
        recv[s - sp] = 1;
    }
    int bad = 0;
    for (size_t j = 0; j < n && !rc; j++) bad |= judge_one(&rooms[j], &J, report, err) != 0;
    if (!rc && bad)
        sb_addf(err, "\n(3FS marks a disk low on space at %d %% used: upstream "
                "src/storage/worker/CheckWorker.cc, disk_low_space_threshold 0.96); add storage "
                "nodes or disks, or free space there, then run the command again",
                100 - SC_ROOM_KEEP_PCT);
    free(rooms);
    free(recv);
    return rc || bad ? -1 : 0;
}
