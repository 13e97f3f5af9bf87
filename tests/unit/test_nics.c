/* test_nics: where 3FS would listen on a node (src/prepare/nics.c, the
 * preflight of prepare and create): the script that lists the node's
 * IPv4 addresses, run here with sh against a fake `ip`, and the judgement
 * per network type, listenNics and NIC (upstream Listener.cc rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "m3fs/network.h"
#include "m3fs/shquote.h"
#include "m3fs/tmpl.h"
#include "testutil.h"

TU_TMPDIR_FIXTURE("m3fs-test-nics")

/* n1 (10.0.0.1): fdb, clickhouse, monitor, mgmtd, meta, storage, client;
 * n2 (10.0.0.2): storage only. */
static struct m3fs_config *load(const char *net, const char *top)
{
    char *y = xstrfmt("networkType: %s\n%s"
                      "nodes:\n"
                      "  - {name: n1, host: 10.0.0.1, username: root}\n"
                      "  - {name: n2, host: 10.0.0.2, username: root}\n"
                      "services:\n" TU_SVCS_N1
                      "  client: {nodes: [n1]}\n"
                      "  storage: {nodes: [n1, n2]}\n",
                      net, top);
    struct m3fs_config *c = tu_load_yaml(y);
    free(y);
    return c;
}

/* Judge node `node` against NICs given as script output; the result, and
 * summary or error text in out. */
static int judge(const struct m3fs_config *c, size_t node, const char *nics, struct strbuf *out)
{
    struct net_nics l = { 0 };
    assert_int_equal(net_parse_nics(nics, &l), 0);
    struct strbuf summary = STRBUF_INIT;
    sb_reset(out);
    int rc = net_check_listeners(c, node, &l, &summary, out);
    if (!rc) sb_add(out, summary.buf, summary.len);
    sb_release(&summary);
    net_nics_release(&l);
    return rc;
}

static void expect_has(const struct strbuf *out, const char *want)
{
    if (!strstr(out->buf, want)) fail_msg("\"%s\" not in:\n%s", want, out->buf);
}

static void test_parse(void **state)
{
    (void)state;
    struct net_nics l = { 0 };
    assert_int_equal(net_parse_nics("nic eth0 10.0.0.1 1\nnic eth0:1 10.0.0.9 0\n", &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1].name, "eth0:1");
    assert_string_equal(l.v[1].addr, "10.0.0.9");
    assert_false(l.v[1].up);
    net_nics_release(&l);
    assert_int_equal(net_parse_nics("", &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(net_parse_nics("nic eth0 10.0.0.1\n", &l), -1);
    net_nics_release(&l);
    assert_int_equal(net_parse_nics("nic eth0 10.0.0.1 1 extra\n", &l), -1);
    net_nics_release(&l);
}

static void test_tcp(void **state)
{
    (void)state;
    struct m3fs_config *c = load("TCP", "");
    struct strbuf out = STRBUF_INIT;
    assert_int_equal(judge(c, 0, "nic lo 127.0.0.1 1\nnic eth0 10.0.0.1 1\n", &out), 0);
    assert_string_equal(out.buf, "TCP/RDMA on eth0 10.0.0.1");
    /* the address on a NIC 3FS does not take: mgmtd and the monitor would
     * not listen there (one line), the fix named */
    assert_int_equal(judge(c, 0, "nic lo 127.0.0.1 1\nnic lan0 10.0.0.1 1\n", &out), -1);
    expect_has(&out, "n1: mgmtd, monitor would not listen on 10.0.0.1, the node's 3FS address: "
                     "it is on NIC lan0, and 3FS's TCP and RDMA listeners take only NICs named "
                     "en*, eth*, bond* or xgbe*");
    expect_has(&out, "rename the NIC (a udev rule or a systemd .link file)");
    assert_null(strchr(out.buf, '\n'));
    /* a storage-only node needs some eligible NIC, not its address's */
    assert_int_equal(judge(c, 1, "nic lan0 10.0.0.2 1\nnic bond0 10.1.0.2 1\n", &out), 0);
    assert_string_equal(out.buf, "TCP/RDMA on bond0 10.1.0.2");
    assert_int_equal(judge(c, 1, "nic lan0 10.0.0.2 1\nnic lo 127.0.0.1 1\n", &out), -1);
    expect_has(&out, "n2: storage would find no NIC to listen on (\"No available address for "
                     "listener\")");
    expect_has(&out, "the node has lan0 10.0.0.2, lo 127.0.0.1");
    /* no NIC has the address; a NIC that is down */
    assert_int_equal(judge(c, 0, "nic eth0 10.0.0.5 1\n", &out), -1);
    expect_has(&out, "no NIC on the node has it (its IPv4 addresses: eth0 10.0.0.5)");
    assert_int_equal(judge(c, 0, "nic eth0 10.0.0.1 0\nnic eth1 10.0.0.7 1\n", &out), -1);
    expect_has(&out, "NIC eth0 is down; bring it up (ip link set eth0 up)");
    /* every prefix 3FS takes */
    static const char *const ok[] = { "en", "ens1f0np0", "eth12", "bond0", "xgbe3" };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        char *nics = xstrfmt("nic %s 10.0.0.1 1\n", ok[i]);
        assert_int_equal(judge(c, 0, nics, &out), 0);
        free(nics);
    }
    static const char *const no[] = { "em1", "p1p1", "br0", "ib0", "lo", "wlan0", "e" };
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        char *nics = xstrfmt("nic %s 10.0.0.1 1\n", no[i]);
        assert_int_equal(judge(c, 0, nics, &out), -1);
        free(nics);
    }
    sb_release(&out);
    config_free(c);
}

static void test_listen_nics(void **state)
{
    (void)state;
    struct m3fs_config *c = load("RDMA", "listenNics: [eth1, bond0]\n");
    struct strbuf out = STRBUF_INIT;
    assert_int_equal(judge(c, 0, "nic eth0 10.0.0.1 1\nnic eth1 10.9.0.1 1\n", &out), -1);
    expect_has(&out, "n1: mgmtd, monitor would not listen on 10.0.0.1, the node's 3FS address: "
                     "it is on NIC eth0, which listenNics (eth1, bond0) does not include; add "
                     "eth0 to listenNics");
    assert_int_equal(judge(c, 0, "nic bond0 10.0.0.1 1\n", &out), 0);
    assert_string_equal(out.buf, "TCP/RDMA on bond0 10.0.0.1");
    /* storage only: listens on what listenNics allows */
    assert_int_equal(judge(c, 1, "nic eth0 10.0.0.2 1\n", &out), -1);
    expect_has(&out, "and in listenNics (eth1, bond0)");
    assert_int_equal(judge(c, 1, "nic eth0 10.0.0.2 1\nnic eth1 10.9.0.2 1\n", &out), 0);
    /* 3FS compares the address's label: eth0:1 is not eth0 */
    config_free(c);
    c = load("RDMA", "listenNics: [eth0]\n");
    assert_int_equal(judge(c, 0, "nic eth0:1 10.0.0.1 1\nnic eth0 10.0.5.1 1\n", &out), -1);
    expect_has(&out, "it is on NIC eth0:1, which listenNics (eth0) does not include");
    sb_release(&out);
    config_free(c);
}

/* networkType IB: mgmtd's main group is IPoIB (ib*), its Core group and
 * meta/storage (RDMA) take en/eth/bond/xgbe. */
static void test_ib(void **state)
{
    (void)state;
    struct m3fs_config *c = load("IB", "");
    struct strbuf out = STRBUF_INIT;
    /* mgmtd and the monitor on one node: the monitor (TCP) cannot listen on
     * the IPoIB address that mgmtd needs */
    assert_int_equal(judge(c, 0, "nic ib0 10.0.0.1 1\nnic eno1 192.168.0.1 1\n", &out), -1);
    expect_has(&out, "n1: monitor would not listen on 10.0.0.1, the node's 3FS address: it is on "
                     "NIC ib0, and 3FS's TCP and RDMA listeners take only NICs named en*");
    expect_has(&out, "run the monitor on a node without mgmtd");
    assert_null(strchr(out.buf, '\n'));
    config_free(c);
    c = tu_load_yaml("networkType: IB\n"
                     "nodes:\n"
                     "  - {name: n1, host: 10.0.0.1, username: root}\n"
                     "  - {name: n2, host: 10.0.0.2, username: root}\n"
                     "services:\n"
                     "  fdb: {nodes: [n2]}\n  clickhouse: {nodes: [n2]}\n  monitor: {nodes: [n2]}\n"
                     "  mgmtd: {nodes: [n1]}\n  meta: {nodes: [n2]}\n"
                     "  storage: {nodes: [n2], replicationFactor: 1}\n");
    assert_int_equal(judge(c, 0, "nic ib0 10.0.0.1 1\nnic eno1 192.168.0.1 1\n", &out), 0);
    assert_string_equal(out.buf, "TCP/RDMA on eno1 192.168.0.1; IPoIB on ib0 10.0.0.1");
    /* no Ethernet NIC: mgmtd's Core group finds nothing */
    assert_int_equal(judge(c, 0, "nic ib0 10.0.0.1 1\n", &out), -1);
    expect_has(&out, "n1: mgmtd would find no NIC to listen on");
    expect_has(&out, "TCP and RDMA listeners take NICs that are up, named en*, eth*, bond* or xgbe*");
    /* the address on Ethernet: mgmtd over IPoIB would not listen there */
    assert_int_equal(judge(c, 0, "nic eth0 10.0.0.1 1\nnic ib0 10.1.0.1 1\n", &out), -1);
    expect_has(&out, "n1: mgmtd would not listen on 10.0.0.1, the node's 3FS address: it is on "
                     "NIC eth0, and 3FS's IPoIB listeners take only NICs named ib*");
    sb_release(&out);
    config_free(c);
}

/* templates/net-nics.sh against a fake `ip`: labels, @peer names, UP. */
static void test_script(void **state)
{
    (void)state;
    char *bin = xstrfmt("%s/bin", tmpdir);
    mkdir(bin, 0755);
    tu_write(bin, "ip",
             "#!/bin/sh\n"
             "case \"$*\" in\n"
             "'-o link show') cat <<'E'\n"
             "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback\n"
             "7: eth0@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue\\    link/ether\n"
             "9: lan1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN\\    link/ether\n"
             "E\n;;\n"
             "'-o -4 addr show') cat <<'E'\n"
             "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
             "7: eth0    inet 198.18.0.11/24 brd 198.18.0.255 scope global eth0\\       valid_lft forever\n"
             "7: eth0    inet 198.18.0.99/24 scope global secondary eth0:7\\       valid_lft forever\n"
             "9: lan1    inet 10.1.0.1/16 scope global lan1\\       valid_lft forever\n"
             "E\n;;\n"
             "*) echo \"unexpected ip $*\" >&2; exit 1 ;;\n"
             "esac\n");
    char *ip = xstrfmt("%s/ip", bin);
    chmod(ip, 0755);
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf script = STRBUF_INIT, err = STRBUF_INIT, cmd = STRBUF_INIT;
    assert_int_equal(tmpl_render_embedded("net-nics.sh", &none, &script, &err), 0);
    tu_write(tmpdir, "nics.sh", script.buf);
    sb_addf(&cmd, "PATH=%s:$PATH sh %s/nics.sh", bin, tmpdir);
    FILE *p = popen(cmd.buf, "r");
    assert_non_null(p);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_string_equal(buf, "nic lo 127.0.0.1 1\n"
                             "nic eth0 198.18.0.11 1\n"
                             "nic eth0:7 198.18.0.99 1\n"
                             "nic lan1 10.1.0.1 0\n");
    struct net_nics l = { 0 };
    assert_int_equal(net_parse_nics(buf, &l), 0);
    assert_int_equal(l.n, 4);
    net_nics_release(&l);
    /* without ip the script says what is missing */
    sb_reset(&cmd);
    sb_addf(&cmd, "PATH=/nonexistent /bin/sh %s/nics.sh 2>&1", tmpdir);
    p = popen(cmd.buf, "r");
    n = fread(buf, 1, sizeof(buf) - 1, p);
    buf[n] = 0;
    assert_int_not_equal(pclose(p), 0);
    assert_non_null(strstr(buf, "the ip command (iproute2) is missing"));
    sb_release(&script), sb_release(&err), sb_release(&cmd);
    free(ip), free(bin);
}

/* networkType TCP on a node without any RDMA device: real 3FS exits at
 * start (IBDevice::openAll), so the preflight warns; RXE or a device: no. */
static void test_no_rdma(void **state)
{
    (void)state;
    struct strbuf out = STRBUF_INIT;
    struct net_nics l = { 0 };
    struct m3fs_config *tcp = load("TCP", ""), *rxe = load("RXE", "");
    assert_int_equal(net_parse_nics("nic eth0 10.0.0.1 1\n", &l), 0);
    assert_int_equal(l.rdma.n, 0);
    assert_int_equal(net_warn_no_rdma(tcp, 0, &l, &out), 1);
    expect_has(&out, "n1: no RDMA device");
    expect_has(&out, "No usable RDMA devices.");
    expect_has(&out, "networkType RXE");
    sb_reset(&out);
    assert_int_equal(net_warn_no_rdma(rxe, 0, &l, &out), 0);
    net_nics_release(&l);
    assert_int_equal(net_parse_nics("nic eth0 10.0.0.1 1\nrdma rxe0\nrdma mlx5_0\n", &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rdma.n, 2);
    assert_string_equal(l.rdma.v[1], "mlx5_0");
    assert_int_equal(net_warn_no_rdma(tcp, 0, &l, &out), 0);
    assert_int_equal(out.len, 0);
    net_nics_release(&l);
    assert_int_equal(net_parse_nics("rdma\n", &l), -1); /* a device line needs a name */
    net_nics_release(&l);
    config_free(tcp), config_free(rxe);
    sb_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_listen_nics),
        cmocka_unit_test(test_ib),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_no_rdma),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
