/* test_status: the parsers of src/status/ (m3fs-facts lines, admin_cli
 * tables by column name, fdb status json), the checks on reports built
 * from such output (each fault named, a healthy cluster clean), the JSON
 * schema, the header line, and the facts script run for real on this
 * machine with quoted arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "m3fs/script.h"
#include "m3fs/shquote.h"
#include "m3fs/status.h"
#include "testutil.h"
#include "../../src/status/status-int.h"

#define NOW 1700000000 /* 2023-11-14 22:13:20 UTC */

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("'%s' not found in:\n%s", needle, hay);
}

/* ---- admin_cli tables as upstream's Printer prints them ---------------- */

/* rows: cells separated by '|', rows by '\n'; widths: widest cell + 2; the
 * last cell of a row unpadded (src/client/cli/common/Printer.cc). */
static char *print_table(const char *spec)
{
    struct strvec lines = STRVEC_INIT;
    struct strvec cells[64];
    size_t w[32] = { 0 }, n = 0;
    char *copy = xstrdup(spec), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save)) {
        memset(&cells[n], 0, sizeof(cells[n]));
        char *s2 = NULL;
        for (char *c = strtok_r(l, "|", &s2); c; c = strtok_r(NULL, "|", &s2)) {
            sv_push(&cells[n], !strcmp(c, "_") ? "" : c);
            size_t k = cells[n].n - 1;
            if (strlen(cells[n].v[k]) + 2 > w[k]) w[k] = strlen(cells[n].v[k]) + 2;
        }
        n++;
    }
    struct strbuf out = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < cells[i].n; k++)
            sb_addf(&out, "%-*s", k + 1 < cells[i].n ? (int)w[k] : 0, cells[i].v[k]);
        sb_addch(&out, '\n');
        sv_clear(&cells[i]);
    }
    sv_clear(&lines);
    free(copy);
    return sb_detach(&out);
}

static void test_table_by_column(void **state)
{
    (void)state;
    char *t = print_table("Id|Type|Status|Hostname|Pid|Tags|LastHeartbeatTime|ConfigVersion|"
                          "ReleaseVersion\n"
                          "1|MGMTD|PRIMARY_MGMTD|n1|7|[]|N/A|1(UPTODATE)|250410-dev\n"
                          "100|META|HEARTBEAT_CONNECTED|n1|8|[]|2023-11-14 22:13:15|1(UPTODATE)|x\n"
                          "10002|STORAGE|HEARTBEAT_FAILED|n2|9|[]|2023-11-14 22:11:20|1|x\n");
    struct st_mgmtd m = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_list_nodes(t, NOW, 0, &m, &err), 0);
    assert_int_equal(m.n_nodes, 3);
    assert_int_equal(m.nodes[0].id, 1);
    assert_string_equal(m.nodes[0].status, "PRIMARY_MGMTD");
    assert_int_equal(m.nodes[0].hb_age_s, -1);
    assert_string_equal(m.nodes[1].last_hb, "2023-11-14 22:13:15"); /* a cell with a space */
    assert_int_equal(m.nodes[1].hb_age_s, 5);
    assert_int_equal(m.nodes[2].hb_age_s, 120);
    st_mgmtd_release(&m);
    /* the container's clock is 8 hours ahead of UTC: its local times too */
    char *t8 = print_table("Id|Type|Status|Hostname|LastHeartbeatTime\n"
                           "100|META|HEARTBEAT_CONNECTED|n1|2023-11-15 06:13:10\n");
    long tz;
    assert_int_equal(st_parse_tz("+0800", &tz), 0);
    assert_int_equal(st_parse_list_nodes(t8, NOW, tz, &m, &err), 0);
    assert_int_equal(m.nodes[0].hb_age_s, 10);
    st_mgmtd_release(&m);
    assert_int_equal(st_parse_tz("0800", &tz), -1);
    free(t), free(t8);
    sb_release(&err);
}

static void test_table_chains_targets(void **state)
{
    (void)state;
    /* rows with fewer Target cells than the header (ListChains.cc) */
    char *c = print_table("ChainId|ReferencedBy|ChainVersion|Status|PreferredOrder|Target|Target\n"
                          "900001|1|1|SERVING|[]|101(SERVING-UPTODATE)|201(SERVING-UPTODATE)\n"
                          "900002|1|2|SERVING(1/2)|[]|102(SERVING-UPTODATE)|202(OFFLINE-OFFLINE)\n"
                          "900003|N/A|1|UNAVAILABLE|[]|103(OFFLINE-OFFLINE)\n");
    char *t = print_table("TargetId|ChainId|Role|PublicState|LocalState|NodeId|DiskIndex|UsedSize\n"
                          "101|900001|HEAD|SERVING|UPTODATE|10001|0|0\n"
                          "202|900002|TAIL|OFFLINE|OFFLINE|N/A|N/A|0\n");
    struct st_mgmtd m = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_list_chains(c, &m, &err), 0);
    assert_int_equal(m.n_chains, 3);
    assert_string_equal(m.chains[1].status, "SERVING(1/2)");
    assert_int_equal(m.chains[1].targets.n, 2);
    assert_string_equal(m.chains[1].targets.v[1], "202(OFFLINE-OFFLINE)");
    assert_int_equal(m.chains[2].targets.n, 1);
    assert_int_equal(st_parse_list_targets(t, &m, &err), 0);
    assert_int_equal(m.n_targets, 2);
    assert_int_equal(m.targets[0].node_id, 10001);
    assert_int_equal(m.targets[1].node_id, -1);
    assert_string_equal(m.targets[1].pub, "OFFLINE");
    st_mgmtd_release(&m);
    free(c), free(t);
    sb_release(&err);
}

/* admin_cli "list-nodes; list-targets; list-chains": a failed list-nodes
 * (its error where its table would be), then the two tables. */
static void test_split_lists(void **state)
{
    (void)state;
    char *t = print_table("TargetId|ChainId|Role|PublicState|LocalState|NodeId|DiskIndex|UsedSize\n"
                          "101|900001|HEAD|SERVING|UPTODATE|10001|0|0\n");
    char *c = print_table("ChainId|ReferencedBy|ChainVersion|Status|PreferredOrder|Target\n"
                          "900001|1|1|SERVING|[]|101(SERVING-UPTODATE)\n");
    char *all = xstrfmt("Encounter error: 8001(Mgmtd::NotPrimary)\nnot primary\n%s%s", t, c);
    struct strbuf parts[ST_LISTS];
    for (int k = 0; k < ST_LISTS; k++) sb_init(&parts[k], 0);
    st_split_admin_lists(all, parts);
    assert_string_equal(parts[ST_LIST_NODES].buf,
                        "Encounter error: 8001(Mgmtd::NotPrimary)\nnot primary\n");
    assert_string_equal(parts[ST_LIST_TARGETS].buf, t);
    assert_string_equal(parts[ST_LIST_CHAINS].buf, c);
    for (int k = 0; k < ST_LISTS; k++) sb_reset(&parts[k]);
    /* all three failed: each error goes to the next command in order */
    st_split_admin_lists("Encounter error: 1(A)\nx\nEncounter error: 2(B)\nEncounter error: 3(C)\n",
                         parts);
    assert_string_equal(parts[ST_LIST_NODES].buf, "Encounter error: 1(A)\nx\n");
    assert_string_equal(parts[ST_LIST_CHAINS].buf, "Encounter error: 3(C)\n");
    for (int k = 0; k < ST_LISTS; k++) sb_release(&parts[k]);
    free(t), free(c), free(all);
}

static void expect_table_error(const char *text, const char *why)
{
    struct st_mgmtd m = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_list_nodes(text, NOW, 0, &m, &err), -1);
    assert_contains(err.buf, why);
    st_mgmtd_release(&m);
    sb_release(&err);
}

static void test_table_errors(void **state)
{
    (void)state;
    expect_table_error("Encounter error: 8001(Mgmtd::NotPrimary)\nnot the primary\n",
                       "8001(Mgmtd::NotPrimary) not the primary");
    expect_table_error("", "printed no table");
    char *t = print_table("Id|Type|Status|Hostname\n1|MGMTD|PRIMARY_MGMTD|n1\n");
    expect_table_error(t, "no column LastHeartbeatTime");
    free(t);
    expect_table_error("Id  Type\n1  MGMTD\n", "not aligned");
    expect_table_error("Id Type\n", "not column-aligned");
    expect_table_error("Id  Type  Status  Hostname  LastHeartbeatTime\nx   M     S       h         N/A\n",
                       "bad node id 'x'");
}

/* ---- fdb status json ---------------------------------------------------- */

static void test_fdb_status(void **state)
{
    (void)state;
    struct st_fdb f;
    struct strbuf err = STRBUF_INIT;
    const char *ok = "{\"client\":{\"coordinators\":{\"coordinators\":[{\"address\":"
                     "\"10.0.0.1:4500\",\"reachable\":true},{\"address\":\"10.0.0.2:4500\","
                     "\"reachable\":false}],\"quorum_reachable\":true},\"database_status\":"
                     "{\"available\":true,\"healthy\":true},\"messages\":[]},\"cluster\":"
                     "{\"configuration\":{\"redundancy_mode\":\"double\",\"storage_engine\":"
                     "\"ssd-2\"}}}";
    assert_int_equal(st_parse_fdb_status(ok, strlen(ok), &f, &err), 0);
    assert_true(f.available);
    assert_int_equal(f.quorum, 1);
    assert_string_equal(f.redundancy, "double");
    assert_int_equal(f.n_coords, 2);
    assert_false(f.coords[1].reachable);
    st_fdb_release(&f);
    const char *down = "Using cluster file\n{\"client\":{\"database_status\":{\"available\":false},"
                       "\"messages\":[{\"name\":\"quorum_not_reachable\",\"description\":\"Unable "
                       "to reach a quorum of coordinators.\"}]}}";
    assert_int_equal(st_parse_fdb_status(down, strlen(down), &f, &err), 0);
    assert_false(f.available);
    assert_null(f.redundancy);
    assert_int_equal(f.messages.n, 1);
    assert_contains(f.messages.v[0], "quorum");
    st_fdb_release(&f);
    assert_int_equal(st_parse_fdb_status("ERROR: timed out", 16, &f, &err), -1);
    assert_contains(err.buf, "did not print status json");
    st_fdb_release(&f);
    sb_reset(&err);
    assert_int_equal(st_parse_fdb_status("{\"client\":3}", 12, &f, &err), -1);
    assert_contains(err.buf, "no \"client\" object");
    st_fdb_release(&f);
    sb_release(&err);
}

/* ---- facts ---------------------------------------------------------------- */

static void test_facts_parse(void **state)
{
    (void)state;
    const char *text = "m3fs-facts\t1\nt0\t1700000000.25\nhost\tn1\nmachine\tx86_64\n"
                       "future-fact\twhatever\n"
                       "aio\t12\t65536\ncpu\t0\t1\ndocker\tok\n"
                       "ctr\t3fs-meta\trestarting\t7\t2023-11-14T22:13:00.5Z\topen3fs/3fs:1\t0\n"
                       "ctr\t3fs-storage\tmissing\nlimits\t3fs-meta\t1048576\tunlimited\n"
                       "fuse\t/mnt/3fs\t1\tstale\tstat: Transport endpoint is not connected\n"
                       "target\t0\t/w/storage/3fsdata/data0/3fs\t0\t1\t-\t-\t-\n"
                       "nic\t10.0.0.1\teth0\tup\ntoken\t/w/t.txt\t644\ntoken\t/w/u.txt\tmissing\n"
                       "rdma-tool\trdma\nrdma\trxe0\t1\tDOWN\teth0\ntz\t3fs-mgmtd\t-0330\n"
                       "begin\tlist-nodes\n|Id  Type\n|\tx|y\n!warn\nend\tlist-nodes\t1\n"
                       "begin\tfdb-status\nend\tfdb-status\tnot-running\nt1\t1700000000.75\n";
    struct st_facts f = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_facts(text, strlen(text), &f, &err), 0);
    assert_true(f.t1 - f.t0 > 0.49 && f.t1 - f.t0 < 0.51);
    assert_int_equal(f.aio_max, 65536);
    assert_int_equal(f.avx512f, 0);
    const struct st_ctr *c = st_facts_ctr(&f, "3fs-meta");
    assert_non_null(c);
    assert_int_equal(c->restarts, 7);
    assert_int_equal(c->started, NOW - 20);
    assert_string_equal(c->memlock, "unlimited");
    assert_string_equal(st_facts_ctr(&f, "3fs-storage")->state, "missing");
    assert_string_equal(f.fuse[0].answer, "stale");
    assert_int_equal(f.tp[0].used_kb, -1);
    assert_int_equal(f.tok[0].mode, 0644);
    assert_int_equal(f.tok[1].mode, -1);
    assert_string_equal(f.rdma[0].state, "DOWN");
    assert_string_equal(f.tz_ctr, "3fs-mgmtd");
    assert_int_equal(f.tz_offset_s, -(3 * 3600 + 30 * 60));
    const struct st_probe_out *p = st_facts_probe(&f, "list-nodes");
    assert_true(p->ran);
    assert_int_equal(p->rc, 1);
    assert_string_equal(p->out.buf, "Id  Type\n\tx|y\n");
    assert_string_equal(p->err.buf, "warn\n");
    assert_false(st_facts_probe(&f, "fdb-status")->ran);
    st_facts_release(&f);
    sb_release(&err);
}

/* Containers as the Docker Engine API's inspect documents (the script's
 * curl path). */
static void test_facts_docker_api(void **state)
{
    (void)state;
    const char *text =
        "m3fs-facts\t1\ndocker\tok\n"
        "ctrjson\t3fs-meta\t{\"Id\":\"ab\",\"State\":{\"Status\":\"running\",\"Pid\":42,"
        "\"StartedAt\":\"2023-11-14T22:03:20.5Z\",\"Health\":{\"Status\":\"healthy\"}},"
        "\"RestartCount\":3,\"Name\":\"/3fs-meta\",\"Config\":{\"Image\":\"open3fs/3fs:1\"}}\n"
        "ctrjson\t3fs-storage\t{\"message\":\"No such container: 3fs-storage\"}\n"
        "limits\t3fs-meta\t1048576\tunlimited\n";
    struct st_facts f = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_facts(text, strlen(text), &f, &err), 0);
    const struct st_ctr *c = st_facts_ctr(&f, "3fs-meta");
    assert_string_equal(c->state, "running");
    assert_int_equal(c->restarts, 3);
    assert_int_equal(c->started, NOW - 600);
    assert_string_equal(c->image, "open3fs/3fs:1");
    assert_string_equal(c->nofile, "1048576");
    assert_string_equal(st_facts_ctr(&f, "3fs-storage")->state, "missing");
    st_facts_release(&f);
    const char *bad1 = "m3fs-facts\t1\nctrjson\tx\t{\"State\":{}}\n";
    assert_int_equal(st_parse_facts(bad1, strlen(bad1), &f, &err), -1);
    assert_contains(err.buf, "lacks State.Status");
    st_facts_release(&f);
    sb_reset(&err);
    const char *bad2 = "m3fs-facts\t1\nctrjson\tx\t{\"State\n";
    assert_int_equal(st_parse_facts(bad2, strlen(bad2), &f, &err), -1);
    assert_contains(err.buf, "no JSON object for 'x' (line 2)");
    st_facts_release(&f);
    sb_release(&err);
}

static void expect_facts_error(const char *text, size_t len, const char *why)
{
    struct st_facts f = { 0 };
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_facts(text, len, &f, &err), -1);
    assert_contains(err.buf, why);
    st_facts_release(&f);
    sb_release(&err);
}

static void test_facts_errors(void **state)
{
    (void)state;
    expect_facts_error("", 0, "no m3fs-facts header");
    expect_facts_error("sudo: a password is required\n", 29, "no m3fs-facts header");
    expect_facts_error("m3fs-facts\t1\naio\tmany\t1\n", 24, "bad aio numbers 'many' (line 2)");
    expect_facts_error("m3fs-facts\t1\nctr\tx\trunning\n", 26, "bad container state");
    expect_facts_error("m3fs-facts\t1\n|stray\n", 20, "outside a probe");
    expect_facts_error("m3fs-facts\t1\nbegin\ta\n|x\n", 23, "ends inside probe");
    expect_facts_error("m3fs-facts\t1\nbegin\ta\nend\tb\t0\n", 28, "did not begin");
    expect_facts_error("m3fs-facts\t1\ntoken\t/t\t9z\n", 24, "bad mode");
    expect_facts_error("m3fs-facts\t1\ncpu\t2\t0\n", 20, "expected 0 or 1");
    expect_facts_error("m3fs-facts\t1\nhost\0x\n", 19, "NUL byte");
    expect_facts_error("m3fs-facts\t1\ncpu\t1\n", 19, "wrong number of fields");
}

/* ---- reports ------------------------------------------------------------- */

static const char *yaml =
    "name: t\nworkDir: /w\nnetworkType: RDMA\n"
    "nodes:\n  - {name: n1, host: 10.0.0.1, username: root}\n  - {name: n2, host: 10.0.0.2, username: root}\n"
    "services:\n" TU_SVCS_N1
    "  storage: {nodes: [n1, n2], diskType: nvme, diskNumPerNode: 1}\n"
    "  client: {nodes: [n2], hostMountpoint: /mnt/3fs}\n";

/* The facts of a healthy node i of yaml's cluster, started at NOW - 600. */
static void healthy_facts(const struct m3fs_config *cfg, size_t i, struct strbuf *sb)
{
    enum svc_kind roles[SVC_COUNT];
    size_t n = st_node_roles(cfg, i, roles);
    sb_addf(sb, "m3fs-facts\t1\nt0\t%d.000\nhost\t%s\nmachine\tx86_64\naio\t0\t67108864\n"
            "cpu\t1\t1\ndocker\tok\n", NOW, cfg->nodes[i].name);
    for (size_t k = 0; k < n; k++) {
        char *img = st_role_image(cfg, roles[k]);
        const char *name = cfg->svc[roles[k]].container_name;
        sb_addf(sb, "ctr\t%s\trunning\t0\t2023-11-14T22:03:20.000000001Z\t%s\t4%zu\n", name, img, k);
        sb_addf(sb, "limits\t%s\t1048576\tunlimited\n", name);
        free(img);
    }
    if (config_node_has(cfg, i, SVC_STORAGE))
        sb_adds(sb, "target\t0\t/w/storage/3fsdata/data0/3fs\t1\t1\t1000\t100\t900\n");
    if (config_node_has(cfg, i, SVC_CLIENT)) sb_adds(sb, "fuse\t/mnt/3fs\t1\tok\t\n");
    if (config_node_has(cfg, i, SVC_MGMTD)) sb_adds(sb, "token\t/w/mgmtd/config.d/token.txt\t600\n");
    sb_addf(sb, "nic\t%s\teth0\tup\nrdma-tool\trdma\nrdma\tmlx5_0\t1\tACTIVE\teth0\n"
            "t1\t%d.100\n", cfg->nodes[i].addr, NOW);
}

struct fixture {
    struct m3fs_config *cfg;
    struct st_report r;
    struct strbuf facts[2];
};

static void set_facts(struct fixture *fx, size_t i)
{
    struct strbuf err = STRBUF_INIT;
    struct st_node *n = &fx->r.nodes[i];
    st_facts_release(&n->facts);
    if (st_parse_facts(fx->facts[i].buf, fx->facts[i].len, &n->facts, &err))
        fail_msg("facts of node %zu: %s", i, err.buf);
    n->reachable = 1;
    n->offset_s = n->facts.t0 - NOW;
    n->offset_err_s = 0.05;
    sb_release(&err);
}

static void set_mgmtd(struct fixture *fx, const char *chain2_status)
{
    char *nodes = print_table("Id|Type|Status|Hostname|Pid|Tags|LastHeartbeatTime\n"
                              "1|MGMTD|PRIMARY_MGMTD|n1|1|[]|N/A\n"
                              "100|META|HEARTBEAT_CONNECTED|n1|2|[]|2023-11-14 22:13:17\n"
                              "10001|STORAGE|HEARTBEAT_CONNECTED|n1|3|[]|2023-11-14 22:13:18\n"
                              "10002|STORAGE|HEARTBEAT_CONNECTED|n2|4|[]|2023-11-14 22:13:19\n");
    char *spec = xstrfmt("ChainId|ReferencedBy|ChainVersion|Status|PreferredOrder|Target|Target\n"
                         "900001|1|1|SERVING|[]|101(SERVING-UPTODATE)|201(SERVING-UPTODATE)\n"
                         "900002|1|1|%s|[]|102(SERVING-UPTODATE)|202(SERVING-UPTODATE)\n",
                         chain2_status);
    char *chains = print_table(spec);
    struct strbuf err = STRBUF_INIT;
    st_mgmtd_release(&fx->r.m);
    assert_int_equal(st_parse_list_nodes(nodes, NOW, 0, &fx->r.m, &err), 0);
    assert_int_equal(st_parse_list_chains(chains, &fx->r.m, &err), 0);
    fx->r.mgmtd.node = 0;
    free(nodes), free(spec), free(chains);
    sb_release(&err);
}

static int fx_setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    fx->cfg = tu_load_yaml(yaml);
    st_report_init(&fx->r, fx->cfg);
    fx->r.when = NOW;
    for (size_t i = 0; i < 2; i++) {
        sb_init(&fx->facts[i], 0);
        healthy_facts(fx->cfg, i, &fx->facts[i]);
        set_facts(fx, i);
    }
    set_mgmtd(fx, "SERVING");
    const char *fdb = "{\"client\":{\"database_status\":{\"available\":true},\"coordinators\":"
                      "{\"coordinators\":[{\"address\":\"10.0.0.1:4500\",\"reachable\":true}]}}}";
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_fdb_status(fdb, strlen(fdb), &fx->r.fdb_status, &err), 0);
    fx->r.fdb.node = fx->r.clickhouse.node = 0;
    sb_release(&err);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;
    st_report_release(&fx->r);
    config_free(fx->cfg);
    sb_release(&fx->facts[0]), sb_release(&fx->facts[1]);
    free(fx);
    return 0;
}

/* Judge with `need` and return the findings' "check: what" lines. */
static char *judged(struct fixture *fx, unsigned need, enum st_health *h)
{
    struct st_findings fs = { 0 };
    struct strbuf sb = STRBUF_INIT;
    st_judge(&fx->r, need, &fs);
    for (size_t i = 0; i < fs.n; i++) sb_addf(&sb, "%s: %s\n", fs.v[i].check, fs.v[i].what);
    if (h) *h = st_health_of(&fs);
    st_findings_release(&fs);
    return sb_detach(&sb);
}

/* Replace `from` by `to` in node i's facts and read them again. */
static void edit_facts(struct fixture *fx, size_t i, const char *from, const char *to)
{
    if (!strstr(fx->facts[i].buf, from)) fail_msg("'%s' not in the facts", from);
    sb_replace_all(&fx->facts[i], from, to);
    set_facts(fx, i);
}

static void test_healthy(void **state)
{
    struct fixture *fx = *state;
    enum st_health h;
    char *all = judged(fx, 0, &h);
    assert_string_equal(all, "");
    assert_int_equal(h, ST_H_HEALTHY);
    struct st_findings fs = { 0 };
    struct strbuf out = STRBUF_INIT;
    st_render_text(&fx->r, &fs, 0, &out);
    assert_contains(out.buf, "cluster t: healthy\n");
    assert_contains(out.buf, "n2    storage     3fs-storage     running  0         10m");
    assert_contains(out.buf, "10002 HEARTBEAT_CONNECTED (heartbeat 1s ago)");
    assert_contains(out.buf, "chains:      2: 2 SERVING");
    sb_release(&out);
    free(all);
}

static void test_faults_named(void **state)
{
    struct fixture *fx = *state;
    enum st_health h;
    edit_facts(fx, 1, "3fs-storage\trunning", "3fs-storage\texited");
    edit_facts(fx, 0, "3fs-meta\trunning\t0\t2023-11-14T22:03:20",
               "3fs-meta\trunning\t5\t2023-11-14T22:13:00");
    edit_facts(fx, 1, "fuse\t/mnt/3fs\t1\tok\t", "fuse\t/mnt/3fs\t1\tstale\tstat: Transport endpoint is not connected");
    edit_facts(fx, 1, "data0/3fs\t1\t1\t", "data0/3fs\t0\t0\t");
    set_mgmtd(fx, "UNAVAILABLE");
    char *s = judged(fx, ST_IN_STATUS, &h);
    assert_int_equal(h, ST_H_DOWN);
    assert_contains(s, "container-running: storage container 3fs-storage on n2 is exited");
    assert_contains(s, "container-crash-loop: meta container 3fs-meta on n1 keeps restarting (5 restarts, up 20s)");
    assert_contains(s, "fuse-mount: the FUSE mount at /mnt/3fs on n2 is stale: stat: Transport");
    assert_contains(s, "target-path: /w/storage/3fsdata/data0 on n2 is not a mount point");
    assert_contains(s, "target-path: target path /w/storage/3fsdata/data0/3fs on n2 is missing");
    assert_contains(s, "chains: 1 of 2 chains UNAVAILABLE (no target serving): 900002 UNAVAILABLE");
    free(s);
}

static void test_unreachable_and_fdb(void **state)
{
    struct fixture *fx = *state;
    enum st_health h;
    struct st_node *n = &fx->r.nodes[1];
    st_facts_release(&n->facts);
    n->reachable = 0;
    n->error = xstrdup("cannot connect to n2 (root@10.0.0.2:22) within 3s");
    fx->r.fdb.error = xstrdup("no reachable fdb node runs the 3fs-fdb container");
    char *s = judged(fx, ST_IN_STATUS, &h);
    assert_int_equal(h, ST_H_DOWN);
    assert_contains(s, "node-reachable: n2 is unreachable: cannot connect");
    assert_contains(s, "fdb: FoundationDB does not answer: no reachable fdb node");
    struct st_findings fs = { 0 };
    struct strbuf hdr = STRBUF_INIT;
    st_judge(&fx->r, ST_IN_STATUS, &fs);
    st_render_header(&fx->r, &fs, &hdr);
    /* the down finding first, each cut at its first ": " */
    assert_string_equal(hdr.buf, "cluster t: down (FoundationDB does not answer; n2 is unreachable)");
    st_findings_release(&fs);
    sb_release(&hdr);
    free(s);
}

static void test_heartbeat_and_primary(void **state)
{
    struct fixture *fx = *state;
    enum st_health h;
    char *nodes = print_table("Id|Type|Status|Hostname|LastHeartbeatTime\n"
                              "1|MGMTD|HEARTBEAT_CONNECTED|n1|N/A\n"
                              "10002|STORAGE|HEARTBEAT_FAILED|n2|2023-11-14 22:11:00\n");
    struct strbuf err = STRBUF_INIT;
    st_mgmtd_release(&fx->r.m);
    assert_int_equal(st_parse_list_nodes(nodes, NOW, 0, &fx->r.m, &err), 0);
    char *s = judged(fx, ST_IN_STATUS, &h);
    assert_int_equal(h, ST_H_DOWN);
    assert_contains(s, "mgmtd: no mgmtd is PRIMARY_MGMTD in list-nodes");
    assert_contains(s, "heartbeat: meta on n1 (node 100) is not in list-nodes");
    assert_contains(s, "heartbeat: storage on n2 (node 10002) is HEARTBEAT_FAILED, last heartbeat 2m ago");
    assert_contains(s, "heartbeat: no meta node is HEARTBEAT_CONNECTED");
    assert_contains(s, "chains: mgmtd has no chains");
    free(s), free(nodes);
    sb_release(&err);
}

static void test_doctor_checks(void **state)
{
    struct fixture *fx = *state;
    edit_facts(fx, 0, "aio\t0\t67108864", "aio\t0\t65536");
    edit_facts(fx, 0, "cpu\t1\t1", "cpu\t0\t1");
    edit_facts(fx, 0, "nic\t10.0.0.1\teth0\tup", "nic\t10.0.0.1\tbr0\tup");
    edit_facts(fx, 0, "token.txt\t600", "token.txt\t644");
    edit_facts(fx, 1, "rdma\tmlx5_0\t1\tACTIVE", "rdma\tmlx5_0\t1\tDOWN");
    edit_facts(fx, 1, "t0\t1700000000.000", "t0\t1700000040.000");
    edit_facts(fx, 1, "limits\t3fs-storage\t1048576\tunlimited", "limits\t3fs-storage\t1024\t65536");
    edit_facts(fx, 1, "open3fs/3fs:", "other/3fs:");
    edit_facts(fx, 1, "\t1000\t100\t900\n", "\t1000\t950\t50\n");
    char *s = judged(fx, 0, NULL);
    assert_contains(s, "aio-max-nr: fs.aio-max-nr on storage node n1 is 65536, below 67108864");
    assert_contains(s, "cpu-avx512: n1 has no AVX-512 and the 3fs image tag '");
    assert_contains(s, "nic: the 3FS address 10.0.0.1 of n1 is on NIC br0, which a RDMA listener "
                       "does not take (only en*, eth*, bond* or xgbe*)");
    assert_contains(s, "token-file: token file /w/mgmtd/config.d/token.txt on n1 has mode 0644, not 0600");
    assert_contains(s, "rdma: RDMA link mlx5_0/1 (netdev eth0) of n2 is DOWN, not ACTIVE");
    assert_contains(s, "clock-skew: the clock of n2 is 40.0 s ahead of that of n1 (mgmtd refuses");
    assert_contains(s, "limits: storage container on n2 has an open files limit of 1024, below 1000000");
    assert_contains(s, "limits: storage container on n2 has a locked memory limit of 65536 bytes");
    assert_contains(s, "image: storage on n2 runs image other/3fs:");
    assert_contains(s, "disk-space: target path /w/storage/3fsdata/data0/3fs on n2 is 95% full");
    /* none of these is a status check: status still reads healthy */
    enum st_health h;
    char *st = judged(fx, ST_IN_STATUS, &h);
    assert_string_equal(st, "");
    assert_int_equal(h, ST_H_HEALTHY);
    struct st_findings fs = { 0 };
    struct strbuf out = STRBUF_INIT;
    st_judge(&fx->r, 0, &fs);
    st_render_doctor(&fx->r, &fs, 0, 0, &out);
    assert_contains(out.buf, "FAIL  aio-max-nr\n      warning: fs.aio-max-nr on storage node n1");
    assert_contains(out.buf, "      cause: storage submits more asynchronous I/O");
    assert_contains(out.buf, "ok    fuse-mount\n");
    assert_contains(out.buf, "problems found\n");
    st_findings_release(&fs);
    sb_release(&out);
    free(s), free(st);
}

static void test_json_schema(void **state)
{
    struct fixture *fx = *state;
    edit_facts(fx, 1, "3fs-storage\trunning", "3fs-storage\texited");
    struct st_findings fs = { 0 };
    struct strbuf out = STRBUF_INIT;
    st_judge(&fx->r, ST_IN_STATUS, &fs);
    st_render_json(&fx->r, &fs, &out);
    cJSON *j = cJSON_Parse(out.buf);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "m3fs.status/1");
    assert_string_equal(cJSON_GetObjectItem(j, "health")->valuestring, "degraded");
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "problems"), 0);
    assert_string_equal(cJSON_GetObjectItem(p, "check")->valuestring, "container-running");
    assert_string_equal(cJSON_GetObjectItem(p, "severity")->valuestring, "degraded");
    assert_string_equal(cJSON_GetObjectItem(p, "node")->valuestring, "n2");
    cJSON *n2 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "nodes"), 1);
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(n2, "containers"), 0);
    assert_string_equal(cJSON_GetObjectItem(c, "role")->valuestring, "storage");
    assert_string_equal(cJSON_GetObjectItem(c, "state")->valuestring, "exited");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "uptime_s")));
    cJSON *m = cJSON_GetObjectItem(j, "mgmtd");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "chains"), "total")->valueint, 2);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "chains"), "not_serving")));
    cJSON *fdb = cJSON_GetObjectItem(j, "fdb");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(fdb, "available")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(fdb, "messages")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "clickhouse"), "reachable")));
    cJSON_Delete(j);
    st_findings_release(&fs);
    sb_release(&out);
}

/* ---- where the probes run ------------------------------------------------ */

/* Spread over their services' nodes (admin-lists is probe 0, fdb-status 1,
 * clickhouse 2): ClickHouse has one node to choose, mgmtd two, fdb three;
 * a probe whose node does not answer goes to another node of its service
 * whose container runs. */
static void test_probe_placement(void **state)
{
    (void)state;
    struct m3fs_config *cfg = tu_load_yaml(
        "name: t\nworkDir: /w\nnetworkType: RDMA\nnodes:\n"
        "  - {name: n1, host: 10.0.0.1, username: root}\n"
        "  - {name: n2, host: 10.0.0.2, username: root}\n"
        "  - {name: n3, host: 10.0.0.3, username: root}\n"
        "services:\n  fdb: {nodes: [n1, n2, n3]}\n  clickhouse: {nodes: [n1]}\n"
        "  monitor: {nodes: [n1]}\n  mgmtd: {nodes: [n1, n2]}\n  meta: {nodes: [n1, n2]}\n"
        "  storage: {nodes: [n1, n2, n3], diskType: nvme, diskNumPerNode: 1}\n");
    struct st_report r;
    st_report_init(&r, cfg);
    assert_int_equal(st_probe_first_at(&r, 0), 4u); /* clickhouse */
    assert_int_equal(st_probe_first_at(&r, 1), 1u); /* admin-lists */
    assert_int_equal(st_probe_first_at(&r, 2), 2u); /* fdb-status */
    /* n2 did not answer; n1 and n3 did, their containers running */
    const char *f1 = "m3fs-facts\t1\nctr\t3fs-mgmtd\trunning\t0\t-\ti\t7\n"
                     "ctr\t3fs-fdb\trunning\t0\t-\ti\t8\n";
    const char *f3 = "m3fs-facts\t1\nctr\t3fs-fdb\texited\t0\t-\ti\t0\n";
    struct strbuf err = STRBUF_INIT;
    assert_int_equal(st_parse_facts(f1, strlen(f1), &r.nodes[0].facts, &err), 0);
    assert_int_equal(st_parse_facts(f3, strlen(f3), &r.nodes[2].facts, &err), 0);
    r.nodes[0].reachable = r.nodes[2].reachable = 1;
    unsigned bits;
    assert_int_equal(st_probe_fallback(&r, 1u, &bits), 0); /* admin-lists on n1 */
    assert_int_equal(bits, 1u);
    assert_int_equal(st_probe_fallback(&r, 2u, &bits), 0); /* fdb: n3's is exited, n1's runs */
    assert_int_equal(bits, 2u);
    st_report_release(&r);
    config_free(cfg);
    sb_release(&err);
}

/* ---- the facts script on this machine --------------------------------- */

static void test_script_runs(void **state)
{
    (void)state;
    struct m3fs_config *cfg = tu_load_yaml(yaml);
    struct st_report r;
    st_report_init(&r, cfg);
    char *dir = tu_tmpdir("m3fs-test-facts");
    assert_non_null(dir);
    /* an argument with a quote and a space reaches the script as one word */
    char *odd = xstrfmt("%s/it's a token", dir);
    tu_write_file(odd, "x", 1);
    struct strbuf cmd = STRBUF_INIT;
    script_call(&cmd, "m3fs-facts.sh"); /* as gather.c calls it */
    sb_adds(&cmd, "-k ");
    sh_quote(&cmd, odd);
    sb_adds(&cmd, " -t ");
    sh_quote(&cmd, dir);
    sb_adds(&cmd, " 1 -p echo nosuch-ctr 'echo hi' 2>&1");
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    FILE *p = popen(cmd.buf, "r");
    assert_non_null(p);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) sb_add(&out, buf, n);
    assert_int_equal(pclose(p), 0);
    struct st_facts f = { 0 };
    if (st_parse_facts(out.buf, out.len, &f, &err)) fail_msg("%s\n%s", err.buf, out.buf);
    assert_int_equal(f.n_tok, 1);
    assert_string_equal(f.tok[0].path, odd);
    assert_int_equal(f.n_tp, 1);
    assert_false(f.tp[0].exists);
    assert_true(f.t0 > 1e9 && f.t1 >= f.t0);
    assert_false(st_facts_probe(&f, "echo")->ran); /* no such container runs */
    st_facts_release(&f);
    st_report_release(&r);
    config_free(cfg);
    tu_rmtree(dir);
    free(dir), free(odd);
    sb_release(&cmd), sb_release(&out), sb_release(&err);
}

/* --watch takes 1..86400 seconds: a usage error (exit 2) otherwise. */
static void test_watch_range(void **state)
{
    (void)state;
    const char *bin = getenv("M3FS_BIN");
    if (!bin) fail_msg("M3FS_BIN is not set (run the tests through ctest)");
    char *dir = tu_tmpdir("m3fs-test-status-cli");
    assert_non_null(dir);
    tu_write(dir, "c.yml", yaml);
    char *cmd = xstrfmt("'%s' cluster status -c '%s/c.yml' --watch 0 2>'%s/err'", bin, dir, dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 2);
    char *err = tu_read(dir, "err");
    assert_contains(err, "--watch must be between 1 and 86400 seconds, not 0");
    tu_rmtree(dir);
    free(dir), free(cmd), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_by_column),
        cmocka_unit_test(test_table_chains_targets),
        cmocka_unit_test(test_table_errors),
        cmocka_unit_test(test_split_lists),
        cmocka_unit_test(test_fdb_status),
        cmocka_unit_test(test_facts_parse),
        cmocka_unit_test(test_facts_errors),
        cmocka_unit_test(test_probe_placement),
        cmocka_unit_test(test_facts_docker_api),
        cmocka_unit_test_setup_teardown(test_healthy, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_faults_named, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_and_fdb, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_and_primary, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_doctor_checks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_json_schema, fx_setup, fx_teardown),
        cmocka_unit_test(test_script_runs),
        cmocka_unit_test(test_watch_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
