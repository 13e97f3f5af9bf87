/* test_diagram: `cluster architecture` output against golden files in
 * tests/golden/ (regenerate with M3FS_UPDATE_GOLDEN=1 and review the diff),
 * plus width, colour and node counting checks. */
#include "m3fs/diagram.h"
#include "m3fs/log.h"
#include "testutil.h"

/* A file of the repository that must load without errors or warnings. */
static struct m3fs_config *load_fixture(const char *rel)
{
    char *p = tu_source_path(rel);
    struct m3fs_config *c = tu_load_file_clean(p);
    free(p);
    return c;
}

/* Remove ANSI escape sequences ("\033[...m"). */
static void strip_ansi(const char *in, struct strbuf *out)
{
    while (*in) {
        if (in[0] == '\033' && in[1] == '[') {
            in += 2;
            while (*in && *in != 'm') in++;
            if (*in) in++;
            continue;
        }
        sb_addch(out, *in++);
    }
}

static void assert_width(const char *text, size_t max)
{
    size_t line = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > max) fail_msg("line %zu is %zu columns wide (max %zu): %.*s", line, len, max, (int)len, p);
        if (!nl) break;
        p = nl + 1;
        line++;
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

/* Compare with the golden file, or rewrite it when M3FS_UPDATE_GOLDEN is set. */
static void check_golden(const char *fixture, const char *golden, struct strbuf *plain)
{
    struct m3fs_config *c = load_fixture(fixture);
    diagram_render(c, 0, plain);
    tu_check_golden(golden, plain->buf, plain->len);

    /* width, and colour: codes only with color=1, same text otherwise */
    assert_width(plain->buf, 80);
    assert_null(strchr(plain->buf, '\033'));
    struct strbuf colored = STRBUF_INIT, stripped = STRBUF_INIT;
    diagram_render(c, 1, &colored);
    assert_non_null(strstr(colored.buf, "\033["));
    strip_ansi(colored.buf, &stripped);
    assert_string_equal(stripped.buf, plain->buf);
    sb_release(&colored);
    sb_release(&stripped);
    config_free(c);
}

static void test_sample(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    check_golden("cluster.yml.sample", "tests/golden/arch-sample.txt", &out);
    assert_non_null(strstr(out.buf, "Cluster: open3fs"));
    assert_int_equal(count(out.buf, "|node1"), 2); /* client box and server box */
    assert_int_equal(count(out.buf, "|node2"), 1);
    assert_non_null(strstr(out.buf, "[ RDMA network ]"));
    sb_release(&out);
}

/* Nodes from nodeGroups are drawn and counted once. */
static void test_node_groups(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    check_golden("tests/golden/arch-groups.yml", "tests/golden/arch-groups.txt", &out);
    struct m3fs_config *c = load_fixture("tests/golden/arch-groups.yml");
    assert_int_equal(c->n_nodes, 7);
    char *total = xstrfmt("Total nodes:     %zu\n", c->n_nodes);
    assert_non_null(strstr(out.buf, total));
    free(total);
    assert_non_null(strstr(out.buf, "Client nodes:    3 "));
    assert_non_null(strstr(out.buf, "Server nodes:    5 "));
    assert_non_null(strstr(out.buf, "Storage:         3 "));
    assert_non_null(strstr(out.buf, "Meta:            4\n"));
    assert_non_null(strstr(out.buf, "CLIENT NODES (3)"));
    assert_non_null(strstr(out.buf, "STORAGE AND MANAGEMENT NODES (5)"));
    /* one box per node and role section: 3 client boxes + 5 server boxes */
    assert_int_equal(count(out.buf, "|[hf3fs_fuse]"), 3);
    assert_int_equal(count(out.buf, "|[storage]"), 3);
    /* group nodes keep the end of their names, so each box is distinct */
    assert_int_equal(count(out.buf, "|stor-n...0.1.10)"), 1);
    assert_int_equal(count(out.buf, "|stor-n...0.1.11)"), 1);
    assert_int_equal(count(out.buf, "|cli-no....0.2.2)"), 1);
    /* network summary: IPoIB NICs for mgmtd (networkType IB), the RDMA
     * devices of a node and of a nodeGroup (named once, not per node) */
    assert_non_null(strstr(out.buf, "\nNETWORK\n-------\n"));
    assert_non_null(strstr(out.buf, "mgmtd over IPoIB: ib*"));
    assert_int_equal(count(out.buf, "mlx5_0, mlx5_1 (nodeGroup stor)\n"), 1);
    assert_int_equal(count(out.buf, "mlx5_2 (node mgmt2)\n"), 1);
    config_free(c);
    sb_release(&out);
}

/* Long names are cut to the box, more than 4 boxes wrap to a new row. */
static void test_wide(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    check_golden("tests/golden/arch-wide.yml", "tests/golden/arch-wide.txt", &out);
    assert_non_null(strstr(out.buf, "|exactly16chars-x|"));
    assert_null(strstr(out.buf, "exactly17chars-xy"));
    assert_non_null(strstr(out.buf, "|exactl...hars-xy|"));
    assert_null(strstr(out.buf, "a-very-long-node-name-01"));
    /* 5 client boxes and 6 server boxes: two rows each, 4 boxes at most per row */
    assert_int_equal(count(out.buf, "+----------------+ +----------------+ +----------------+ "
                                    "+----------------+\n"), 4);
    assert_int_equal(count(out.buf, "\n+----------------+\n"), 2);             /* c5 alone */
    assert_int_equal(count(out.buf, "\n+----------------+ +----------------+\n"), 2); /* s5, s6 */
    assert_non_null(strstr(out.buf, "Total nodes:     11\n"));
    /* listenNics wraps within the width (checked by check_golden) */
    assert_non_null(strstr(out.buf, "Listen NICs:     eth0, eth1,"));
    assert_non_null(strstr(out.buf, "enp65s0f1 (listenNics)\n"));
    assert_non_null(strstr(out.buf, "RDMA devices:    rxe0, rxe1 (rdmaDevices)\n"));
    sb_release(&out);
}

/* Only servers, only clients: sections and the network bar come and go. */
static void test_sections(void **state)
{
    (void)state;
    static const char yaml[] =
        "nodes:\n"
        "  - {name: n1, host: 10.0.0.1, username: root}\n"
        "  - {name: n2, host: 10.0.0.2, username: root}\n"
        "services:\n"
        TU_SVCS_N1
        "  storage: {nodes: [n1, n2]}\n";
    struct diag_list dl = { 0 };
    struct m3fs_config *c = config_load_buffer(yaml, strlen(yaml), "t.yml", NULL, &dl);
    assert_non_null(c);
    struct strbuf out = STRBUF_INIT;
    diagram_render(c, 0, &out);
    assert_null(strstr(out.buf, "CLIENT NODES"));
    assert_null(strstr(out.buf, "network ]"));
    assert_non_null(strstr(out.buf, "STORAGE AND MANAGEMENT NODES (2)"));
    assert_non_null(strstr(out.buf, "Client nodes:    0 "));
    assert_width(out.buf, 80);
    sb_release(&out);
    config_free(c);
    diag_list_free(&dl);
    log_clear_secrets();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_node_groups),
        cmocka_unit_test(test_wide),
        cmocka_unit_test(test_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
