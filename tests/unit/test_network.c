/* test_network: the network part of `cluster prepare` without a node:
 * which files each node gets, the preflight and verification judgements,
 * and the generated shell really run here with sh (the shim against a fake
 * `rdma` and a fake sysfs, the filter against hostile rdmaAddresses, the
 * write-if-different command, destroy's removal by record), plus the boot
 * unit checked by `systemd-analyze verify` when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "m3fs/network.h"
#include "m3fs/shquote.h"
#include "m3fs/strbuf.h"
#include "m3fs/tmpl.h"
#include "testutil.h"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/m3fs-test-network-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *cmd = xstrfmt("rm -rf '%s'", tmp);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* A config: node a (storage, mgmtd...) and node b (client) with extra
 * per-node YAML for b. */
static struct m3fs_config *load(const char *net, const char *tag, const char *b_extra)
{
    char *y = xstrfmt("name: t\nworkDir: %s/wd\nnetworkType: %s\nserviceBasePath: %s/units\n"
                      "nodes:\n"
                      "  - {name: a, host: 10.0.0.1, username: root}\n"
                      "  - {name: b, host: 10.0.0.2, username: root%s}\n"
                      "services:\n"
                      "  fdb: {nodes: [a]}\n  clickhouse: {nodes: [a]}\n  monitor: {nodes: [a]}\n"
                      "  mgmtd: {nodes: [a]}\n  meta: {nodes: [a]}\n"
                      "  storage: {nodes: [a], diskType: dir, replicationFactor: 1}\n"
                      "  client: {nodes: [b], hostMountpoint: /mnt/3fs}\n"
                      "images:\n  3fs: {repo: open3fs/3fs, tag: '%s'}\n",
                      tmp, net, tmp, b_extra, tag);
    struct diag_list dl = { 0 };
    struct m3fs_config *cfg = config_load_buffer(y, strlen(y), "cluster.yml", NULL, &dl);
    if (!cfg) diag_print(&dl, stderr);
    diag_list_free(&dl);
    free(y);
    assert_non_null(cfg);
    return cfg;
}

static const struct net_file *find(const struct net_files *f, const char *suffix)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t a = strlen(f->v[i].path), b = strlen(suffix);
        if (a >= b && !strcmp(f->v[i].path + a - b, suffix)) return &f->v[i];
    }
    return NULL;
}

/* Run a shell command line here; returns its exit status, stdout in out. */
static int sh(const char *cmd, const char *in, struct strbuf *out)
{
    char *inpath = xstrfmt("%s/stdin", tmp);
    FILE *fp = fopen(inpath, "w");
    assert_non_null(fp);
    if (in) fputs(in, fp);
    fclose(fp);
    struct strbuf line = STRBUF_INIT;
    struct strbuf q = STRBUF_INIT;
    sh_quote(&q, cmd);
    sb_addf(&line, "sh -c %s <%s", q.buf, inpath);
    FILE *p = popen(line.buf, "r");
    assert_non_null(p);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) sb_add(out, buf, n);
    int st = pclose(p);
    sb_release(&line), sb_release(&q);
    free(inpath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
}

static void test_files_per_type(void **state)
{
    (void)state;
    struct strbuf err = STRBUF_INIT;
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct net_files a = { 0 }, b = { 0 };
    assert_int_equal(net_node_files(cfg, 0, &a, &err), 0);
    assert_int_equal(net_node_files(cfg, 1, &b, &err), 0);
    /* a: shim, script, unit, modules-load, sysctl (storage); b: no sysctl */
    assert_int_equal(a.n, 5);
    assert_int_equal(b.n, 4);
    assert_non_null(find(&a, "/wd/bin/ibdev2netdev"));
    assert_non_null(find(&a, NET_SYSCTL_FILE));
    assert_null(find(&b, NET_SYSCTL_FILE));
    const struct net_file *unit = find(&a, "/units/" NET_UNIT_NAME);
    assert_non_null(unit);
    assert_non_null(strstr(unit->content, "Type=oneshot\nRemainAfterExit=yes\n"));
    assert_non_null(strstr(unit->content, "Before=docker.service"));
    assert_non_null(strstr(unit->content, "/wd/bin/m3fs-network-setup\" setup"));
    assert_string_equal(find(&a, NET_MODULES_FILE)->content + strcspn(
                            find(&a, NET_MODULES_FILE)->content, "\n") + 1, "rdma_rxe\n");
    assert_int_equal(find(&a, "/wd/bin/m3fs-network-setup")->mode, 0755);
    net_files_release(&a), net_files_release(&b);
    config_free(cfg);

    cfg = load("ERDMA", "x", "");
    assert_int_equal(net_node_files(cfg, 1, &a, &err), 0);
    assert_non_null(strstr(find(&a, NET_MODPROBE_FILE)->content, "options erdma compat_mode=Y"));
    assert_null(find(&a, NET_MODULES_FILE));
    net_files_release(&a);
    config_free(cfg);

    cfg = load("IB", "x", "");
    assert_int_equal(net_node_files(cfg, 0, &a, &err), 0);
    assert_int_equal(a.n, 2); /* shim + sysctl: nothing to install for IB */
    net_files_release(&a);
    config_free(cfg);

    cfg = load("TCP", "x", "");
    assert_int_equal(net_type_of(cfg), NET_TCP);
    assert_int_equal(net_node_files(cfg, 0, &a, &err), 0);
    assert_int_equal(a.n, 0);
    config_free(cfg);
    sb_release(&err);
}

static void test_rendered_scripts_parse(void **state)
{
    (void)state;
    const char *types[] = { "RXE", "ERDMA", "RDMA", "IB" };
    for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
        struct m3fs_config *cfg = load(types[t], "x", ", rdmaAddresses: [\"it's $(x)\", eth9]");
        struct net_files f = { 0 };
        struct strbuf err = STRBUF_INIT, chk = STRBUF_INIT, out = STRBUF_INIT;
        assert_int_equal(net_node_files(cfg, 1, &f, &err), 0);
        assert_int_equal(net_render_with_lib(cfg, 1, "net-check.sh", &chk, &err), 0);
        for (size_t i = 0; i < f.n; i++) {
            if (!strstr(f.v[i].content, "#!/bin/sh")) continue;
            char *p = xstrfmt("%s/s.sh", tmp);
            write_file(p, f.v[i].content, 0755);
            char *cmd = xstrfmt("sh -n %s", p);
            assert_int_equal(sh(cmd, NULL, &out), 0);
            free(cmd), free(p);
        }
        assert_int_equal(sh("sh -n", chk.buf, &out), 0);
        net_files_release(&f);
        sb_release(&err), sb_release(&chk), sb_release(&out);
        config_free(cfg);
    }
}

/* The filter words reach the shell as exactly the words of cluster.yml. */
static void test_filter_words_quoted(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("RXE", "x", ", rdmaAddresses: [\"a b\", \"it's $(touch /tmp/x)\", '*']");
    struct strbuf lib = STRBUF_INIT, err = STRBUF_INIT, out = STRBUF_INIT;
    assert_int_equal(net_render_lib(cfg, 1, &lib, &err), 0);
    sb_adds(&lib, "\nm3fs_filter_words\n");
    assert_int_equal(sh("sh -s", lib.buf, &out), 0);
    /* m3fs_filter_words prints one word per line; "a b" keeps its space. */
    assert_string_equal(out.buf, "a b\nit's $(touch /tmp/x)\n*\n");
    sb_reset(&lib), sb_reset(&out);
    assert_int_equal(net_render_lib(cfg, 0, &lib, &err), 0); /* node a: no filter */
    sb_adds(&lib, "\nm3fs_filter_words; echo end\n");
    assert_int_equal(sh("sh -s", lib.buf, &out), 0);
    assert_string_equal(out.buf, "end\n");
    sb_release(&lib), sb_release(&err), sb_release(&out);
    config_free(cfg);
}

static const char *RDMA_OUT =
    "link ens4_rxe0/1 state ACTIVE physical_state LINK_UP netdev ens4 \n"
    "link mlx5_1/1 state DOWN physical_state DISABLED netdev eth1 \n"
    "link ibp0/1 subnet_prefix fe80:0000:0000:0000 lid 4 sm_lid 1 lmc 0 state ACTIVE "
    "physical_state LINK_UP \n";

static void fake_rdma(void)
{
    char *dir = xstrfmt("%s/bin", tmp), *p = xstrfmt("%s/bin/rdma", tmp);
    mkdir(dir, 0755);
    char *body = xstrfmt("#!/bin/sh\n[ \"$1 $2\" = 'link show' ] || exit 1\ncat <<'EOF'\n%sEOF\n",
                         RDMA_OUT);
    write_file(p, body, 0755);
    free(body), free(dir), free(p);
}

static void test_shim_from_rdma(void **state)
{
    (void)state;
    fake_rdma();
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf shim = STRBUF_INIT, err = STRBUF_INIT, out = STRBUF_INIT;
    assert_int_equal(tmpl_render_embedded("net-ibdev2netdev.sh", &none, &shim, &err), 0);
    char *cmd = xstrfmt("PATH=%s/bin:$PATH sh -s", tmp);
    assert_int_equal(sh(cmd, shim.buf, &out), 0);
    assert_string_equal(out.buf, "ens4_rxe0 port 1 ==> ens4 (Up)\n"
                                 "mlx5_1 port 1 ==> eth1 (Down)\n"
                                 "ibp0 port 1 ==> NONE (Up)\n");
    /* the helper the check script uses reads the same output */
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct strbuf lib = STRBUF_INIT;
    assert_int_equal(net_render_lib(cfg, 0, &lib, &err), 0);
    sb_adds(&lib, "\nm3fs_links\nm3fs_has_link ens4 && echo has-ens4\n"
                  "m3fs_has_link ens5 || echo no-ens5\n");
    sb_reset(&out);
    assert_int_equal(sh(cmd, lib.buf, &out), 0);
    assert_string_equal(out.buf, "ens4_rxe0 1 ACTIVE ens4\nmlx5_1 1 DOWN eth1\n"
                                 "ibp0 1 ACTIVE -\nhas-ens4\nno-ens5\n");
    free(cmd);
    sb_release(&shim), sb_release(&err), sb_release(&out), sb_release(&lib);
    config_free(cfg);
}

/* Inside a container there is no `rdma`: the shim reads sysfs. */
static void test_shim_from_sysfs(void **state)
{
    (void)state;
    const char *dirs[] = { "sys", "sys/class", "sys/class/infiniband",
                           "sys/class/infiniband/rxe0", "sys/class/infiniband/rxe0/ports",
                           "sys/class/infiniband/rxe0/ports/1",
                           "sys/class/infiniband/rxe0/ports/1/gid_attrs",
                           "sys/class/infiniband/rxe0/ports/1/gid_attrs/ndevs",
                           "sys/class/infiniband/mlx5_0", "sys/class/infiniband/mlx5_0/ports",
                           "sys/class/infiniband/mlx5_0/ports/1", "sys/class/infiniband/mlx5_0/device",
                           "sys/class/infiniband/mlx5_0/device/net",
                           "sys/class/infiniband/mlx5_0/device/net/enp1s0" };
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        char *p = xstrfmt("%s/%s", tmp, dirs[i]);
        mkdir(p, 0755);
        free(p);
    }
    char *p1 = xstrfmt("%s/sys/class/infiniband/rxe0/ports/1/gid_attrs/ndevs/0", tmp);
    char *p2 = xstrfmt("%s/sys/class/infiniband/rxe0/ports/1/state", tmp);
    char *p3 = xstrfmt("%s/sys/class/infiniband/mlx5_0/ports/1/state", tmp);
    write_file(p1, "ens4\n", 0644);
    write_file(p2, "4: ACTIVE\n", 0644);
    write_file(p3, "1: DOWN\n", 0644);
    struct tmpl_vars none = TMPL_VARS_INIT;
    struct strbuf shim = STRBUF_INIT, err = STRBUF_INIT, out = STRBUF_INIT;
    assert_int_equal(tmpl_render_embedded("net-ibdev2netdev.sh", &none, &shim, &err), 0);
    char *cmd = xstrfmt("IBDEV2NETDEV_SYSFS=%s/sys sh -s", tmp);
    assert_int_equal(sh(cmd, shim.buf, &out), 0);
    assert_string_equal(out.buf, "mlx5_0 port 1 ==> enp1s0 (Down)\nrxe0 port 1 ==> ens4 (Up)\n");
    free(cmd), free(p1), free(p2), free(p3);
    sb_release(&shim), sb_release(&err), sb_release(&out);
}

static void test_facts(void **state)
{
    (void)state;
    struct net_facts f;
    struct strbuf err = STRBUF_INIT;
    const char *out = "kernel=6.1.0-50-amd64\nmachine=x86_64\nos_id=debian\nos_like=\n"
                      "os_name=Debian GNU/Linux 12 (bookworm)\navx512f=0\npkg=apt-get\n";
    assert_int_equal(net_parse_facts(out, &f), 0);
    assert_string_equal(f.os_name, "Debian GNU/Linux 12 (bookworm)");
    assert_string_equal(f.pkg, "apt-get");
    assert_int_equal(f.avx512f, 0);

    struct m3fs_config *cfg = load("RXE", "20250410", "");
    /* node a runs the 3fs image: no AVX-512 and no -avx2 tag is refused */
    assert_int_equal(net_check_facts(cfg, 0, &f, &err), -1);
    assert_non_null(strstr(err.buf, "a: the CPU has no AVX-512"));
    assert_non_null(strstr(err.buf, "set images.3fs.tag to '20250410-avx2'"));
    config_free(cfg);
    sb_reset(&err);
    cfg = load("RXE", "20250410-avx2", "");
    assert_int_equal(net_check_facts(cfg, 0, &f, &err), 0);
    assert_string_equal(err.buf, "");
    f.avx512f = 1;
    config_free(cfg);
    cfg = load("RXE", "20250410", "");
    assert_int_equal(net_check_facts(cfg, 0, &f, &err), 0);

    /* old kernel, wrong arch, no package manager: every problem, one per line */
    free(f.kernel), free(f.machine), free(f.pkg);
    f.kernel = xstrdup("4.19.91"), f.machine = xstrdup("aarch64"), f.pkg = xstrdup("");
    assert_int_equal(net_check_facts(cfg, 1, &f, &err), -1);
    assert_non_null(strstr(err.buf, "b: kernel 4.19.91 is older than 5.1"));
    assert_non_null(strstr(err.buf, "\nb: the CPU is aarch64 but images.arch is 'amd64'"));
    assert_non_null(strstr(err.buf, "\nb: networkType RXE needs the RDMA packages, but Debian"));
    net_facts_release(&f);
    config_free(cfg);

    assert_int_equal(net_parse_facts("os_id=x\n", &f), -1);
    net_facts_release(&f);
    assert_int_equal(net_kernel_at_least("5.1.0", 5, 1), 1);
    assert_int_equal(net_kernel_at_least("5.0.21", 5, 1), 0);
    assert_int_equal(net_kernel_at_least("10.0", 5, 1), 1);
    assert_int_equal(net_kernel_at_least("garbage", 5, 1), 0);
    sb_release(&err);
}

static void test_verify(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct net_check c;
    struct strbuf sum = STRBUF_INIT, err = STRBUF_INIT;
    const char *good = "sel ens4\nlink ens4_rxe0 1 ACTIVE ens4\nuverbs uverbs0\naio 67108864\n";
    assert_int_equal(net_parse_check(good, &c), 0);
    assert_int_equal(net_verify(cfg, 0, &c, &sum, &err), 0);
    assert_string_equal(sum.buf, "active: ens4_rxe0/1 ACTIVE (netdev ens4); devices: uverbs0");
    net_check_release(&c);

    /* a second netdev without a link, no uverbs, aio too low on storage */
    const char *bad = "sel ens4\nsel ens5\nlink ens4_rxe0 1 ACTIVE ens4\n"
                      "link ens5_rxe0 1 DOWN ens5\naio 65536\n";
    assert_int_equal(net_parse_check(bad, &c), 0);
    assert_int_equal(net_verify(cfg, 0, &c, &sum, &err), -1);
    assert_non_null(strstr(err.buf, "a: RDMA is not ready (networkType RXE):"));
    assert_non_null(strstr(err.buf, "no ACTIVE RDMA link on netdev ens5"));
    assert_null(strstr(err.buf, "netdev ens4 ("));
    assert_non_null(strstr(err.buf, "no /dev/infiniband/uverbs*"));
    assert_non_null(strstr(err.buf, "fs.aio-max-nr is 65536"));
    net_check_release(&c);
    sb_reset(&err);
    /* node b is not storage: aio does not matter; an unmatched filter word does */
    assert_int_equal(net_parse_check("unmatched 10.9.9.9\nuverbs uverbs0\naio 0\n", &c), 0);
    assert_int_equal(net_verify(cfg, 1, &c, &sum, &err), -1);
    assert_non_null(strstr(err.buf, "rdmaAddresses entry '10.9.9.9' matches no netdev"));
    assert_non_null(strstr(err.buf, "no netdev to make an rxe link on"));
    assert_null(strstr(err.buf, "aio"));
    net_check_release(&c);
    config_free(cfg);

    /* RDMA without a filter: any ACTIVE port will do, none is an error */
    cfg = load("RDMA", "x", "");
    sb_reset(&err);
    assert_int_equal(net_parse_check("sel eth0\nlink mlx5_0 1 DOWN eth0\nuverbs uverbs0\n", &c), 0);
    assert_int_equal(net_verify(cfg, 1, &c, &sum, &err), -1);
    assert_non_null(strstr(err.buf, "no ACTIVE RDMA port"));
    net_check_release(&c);
    assert_int_equal(net_parse_check("link mlx5_0 1 ACTIVE -\nuverbs uverbs0\nnordma\n", &c), 0);
    sb_reset(&err);
    assert_int_equal(net_verify(cfg, 1, &c, &sum, &err), -1);
    assert_non_null(strstr(err.buf, "install iproute2"));
    net_check_release(&c);
    assert_int_equal(net_parse_check("link broken\n", &c), -1);
    net_check_release(&c);
    assert_int_equal(net_parse_check("what is this\n", &c), -1);
    net_check_release(&c);
    config_free(cfg);
    sb_release(&sum), sb_release(&err);
}

/* The put command writes once, then reports unchanged; the record lists
 * the path once; a changed mode is written again. */
static void test_put_idempotent(void **state)
{
    (void)state;
    char *path = xstrfmt("%s/d/it's here", tmp), *rec = xstrfmt("%s/rec/files", tmp);
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT, rd = STRBUF_INIT;
    net_put_cmd(&cmd, path, 0644, rec);
    assert_int_equal(sh(cmd.buf, "hello\n", &out), 0);
    assert_string_equal(out.buf, "written\n");
    sb_reset(&out);
    assert_int_equal(sh(cmd.buf, "hello\n", &out), 0);
    assert_string_equal(out.buf, "unchanged\n");
    chmod(path, 0600);
    sb_reset(&out);
    assert_int_equal(sh(cmd.buf, "hello\n", &out), 0);
    assert_string_equal(out.buf, "written\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    sb_reset(&out);
    assert_int_equal(sh(cmd.buf, "changed\n", &out), 0);
    assert_string_equal(out.buf, "written\n");
    assert_int_equal(sb_read_file(&rd, rec), 0);
    char *want = xstrfmt("%s\n", path);
    assert_string_equal(rd.buf, want);
    sb_reset(&rd);
    assert_int_equal(sb_read_file(&rd, path), 0);
    assert_string_equal(rd.buf, "changed\n");
    free(want), free(path), free(rec);
    sb_release(&cmd), sb_release(&out), sb_release(&rd);
}

/* docker-args: the shim mount, written once and recorded; for ERDMA the
 * provider must be on the node. */
static void test_docker_args(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT, rd = STRBUF_INIT, path = STRBUF_INIT;
    struct strbuf rec = STRBUF_INIT, shim = STRBUF_INIT;
    net_docker_args_path(&path, cfg), net_record_path(&rec, cfg), net_shim_path(&shim, cfg);
    net_docker_args_cmd(cfg, &cmd);
    for (int i = 0; i < 2; i++) {
        sb_reset(&out);
        assert_int_equal(sh(cmd.buf, NULL, &out), 0);
        assert_string_equal(out.buf, i ? "unchanged\n" : "written\n");
    }
    assert_int_equal(sb_read_file(&rd, path.buf), 0);
    char *want = xstrfmt("--volume=%s:" NET_SHIM_IN_CONTAINER ":ro\n", shim.buf);
    assert_string_equal(rd.buf, want);
    sb_reset(&rd);
    assert_int_equal(sb_read_file(&rd, rec.buf), 0);
    assert_non_null(strstr(rd.buf, path.buf));
    config_free(cfg);
    cfg = load("ERDMA", "x", "");
    sb_reset(&cmd), sb_reset(&out);
    net_docker_args_cmd(cfg, &cmd);
    if (access("/etc/libibverbs.d/erdma.driver", F_OK)) /* no provider here */
        assert_int_not_equal(sh(cmd.buf, NULL, &out), 0);
    unlink(path.buf), unlink(rec.buf);
    free(want);
    sb_release(&cmd), sb_release(&out), sb_release(&rd), sb_release(&path);
    sb_release(&rec), sb_release(&shim);
    config_free(cfg);
}

/* destroy removes the files in the record that m3fs writes, and nothing
 * else even if the record names it. */
static void test_destroy_by_record(void **state)
{
    (void)state;
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct strbuf rec = STRBUF_INIT, shim = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT;
    net_record_path(&rec, cfg);
    net_shim_path(&shim, cfg);
    char *d1 = xstrfmt("%s/wd", tmp), *d2 = xstrfmt("%s/wd/bin", tmp);
    char *d3 = xstrfmt("%s/wd/network", tmp), *keep = xstrfmt("%s/keep-me", tmp);
    mkdir(d1, 0755), mkdir(d2, 0755), mkdir(d3, 0755);
    write_file(shim.buf, "x", 0755);
    write_file(keep, "x", 0644);
    char *lines = xstrfmt("%s\n%s\n", shim.buf, keep);
    write_file(rec.buf, lines, 0644);
    net_destroy_skip_if(cfg, &cmd);
    assert_int_equal(sh(cmd.buf, NULL, &out), 1); /* record there: not skipped */
    sb_reset(&cmd);
    net_destroy_cmd(cfg, &cmd);
    assert_int_equal(sh(cmd.buf, NULL, &out), 0);
    assert_int_equal(access(shim.buf, F_OK), -1);
    assert_int_equal(access(keep, F_OK), 0);
    assert_int_equal(access(rec.buf, F_OK), -1);
    assert_int_equal(access(d3, F_OK), -1);
    sb_reset(&cmd);
    net_destroy_skip_if(cfg, &cmd);
    assert_int_equal(sh(cmd.buf, NULL, &out), 0);
    sb_reset(&cmd);
    net_destroy_cmd(cfg, &cmd);
    assert_int_equal(sh(cmd.buf, NULL, &out), 0); /* twice is fine */
    free(d1), free(d2), free(d3), free(keep), free(lines);
    sb_release(&rec), sb_release(&shim), sb_release(&cmd), sb_release(&out);
    config_free(cfg);
}

/* systemd's own checker accepts the unit (skipped when not installed;
 * under CI a missing checker fails). */
static void test_unit_systemd_verify(void **state)
{
    (void)state;
    if (system("command -v systemd-analyze >/dev/null 2>&1"))
        TU_SKIP_UNLESS_CI("systemd-analyze not installed; unit not verified");
    struct m3fs_config *cfg = load("RXE", "x", "");
    struct net_files f = { 0 };
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    assert_int_equal(net_node_files(cfg, 0, &f, &err), 0);
    char *d1 = xstrfmt("%s/wd", tmp), *d2 = xstrfmt("%s/wd/bin", tmp), *d3 = xstrfmt("%s/units", tmp);
    mkdir(d1, 0755), mkdir(d2, 0755), mkdir(d3, 0755);
    for (size_t i = 0; i < f.n; i++)
        if (!strncmp(f.v[i].path, tmp, strlen(tmp))) write_file(f.v[i].path, f.v[i].content, f.v[i].mode);
    char *cmd = xstrfmt("SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "
                        "%s/units/" NET_UNIT_NAME " 2>&1 | grep -v 'docker.service' ; exit 0", tmp);
    sh(cmd, NULL, &out);
    if (out.len) fprintf(stderr, "systemd-analyze verify says:\n%s", out.buf);
    assert_int_equal(out.len, 0);
    free(cmd), free(d1), free(d2), free(d3);
    net_files_release(&f);
    sb_release(&err), sb_release(&out);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_files_per_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendered_scripts_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_words_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shim_from_rdma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shim_from_sysfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_by_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit_systemd_verify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
