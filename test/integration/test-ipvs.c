/* test-ipvs.c - the IPVS backend against the real kernel, only inside
 * network namespaces this test creates:
 *
 *   node: br0 10.244.1.1/24 with pods p1 (10.244.1.11) and p2 (10.244.1.12)
 *         answering their name on 8080; br1 10.244.2.1/24 with client c1
 *
 * A ClusterIP Service with both pods as endpoints is synced into IPVS from
 * a thread that entered the node namespace; the client and the node itself
 * must reach both endpoints through the ClusterIP. The kernel must have
 * IPVS (the generic netlink family "IPVS"): where it has not, that test is
 * skipped and says why. kube-ipvs0's addresses and the knode-ipvs table are
 * tested on every kernel (with a bridge standing in for the dummy link
 * where the kernel has no dummy link type). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ip_vs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/xalloc.h"
#include "netproxy/ipvs.h"
#include "test/harness/testbed.h"
#include "test/runner/kt.h"

static char NODE[48], P1[48], P2[48], C1[48];
static pid_t servers[2];

/* A shell command in the caller's namespaces (commands name their netns);
 * returns its exit status, or with out its output too (caller frees). */
static int vsh(char **out, const char *fmt, va_list ap)
{
    char *cmd = xvasprintf(fmt, ap);
    kn_error *err = NULL;
    int rc = tb_sh(NULL, cmd, 30, out, &err);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s %s\n", rc, cmd, rc < 0 ? kn_error_msg(err) : "");
    kn_error_free(&err);
    free(cmd);
    return rc;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vsh(NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static char *output_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *output_of(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsh(&out, fmt, ap);
    va_end(ap);
    return out ? out : xstrdup("");
}

static void names(const char *tag)
{
    snprintf(NODE, sizeof(NODE), "kt%d-%s-node", (int)getpid(), tag);
    snprintf(P1, sizeof(P1), "kt%d-%s-p1", (int)getpid(), tag);
    snprintf(P2, sizeof(P2), "kt%d-%s-p2", (int)getpid(), tag);
    snprintf(C1, sizeof(C1), "kt%d-%s-c1", (int)getpid(), tag);
}

static void down(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        if (servers[i] > 0) {
            kill(servers[i], SIGKILL);
            waitpid(servers[i], NULL, 0);
            servers[i] = 0;
        }
    }
    const char *all[] = {NODE, P1, P2, C1};
    for (int i = 0; i < 4; i++) {
        if (all[i][0] && sh("ip netns del %s 2>/dev/null || true", all[i]) != 0)
            fprintf(stderr, "cleanup of %s failed\n", all[i]);
    }
}

static int enter(const char *ns)
{
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r = fd < 0 ? -1 : setns(fd, CLONE_NEWNET);
    if (fd >= 0)
        close(fd);
    return r;
}

/* Runs fn(arg) on a thread inside namespace ns (this thread stays put). */
typedef struct in_ns {
    const char *ns;
    void (*fn)(void *);
    void *arg;
    int entered;
} in_ns;

static void *in_ns_main(void *p)
{
    in_ns *x = p;
    x->entered = enter(x->ns);
    if (x->entered == 0)
        x->fn(x->arg);
    return NULL;
}

static void run_in(const char *ns, void (*fn)(void *), void *arg)
{
    in_ns x = {ns, fn, arg, -1};
    pthread_t t;
    KT_ASSERT_EQ(pthread_create(&t, NULL, in_ns_main, &x), 0);
    pthread_join(t, NULL);
    KT_ASSERT_MSG(x.entered == 0, "enter netns %s", ns);
}

/* ---- topology ---- */

static void add_pod(const char *ns, const char *hif, const char *br, const char *ip, const char *gw)
{
    KT_ASSERT_EQ(sh("ip netns add %s", ns), 0);
    KT_ASSERT_EQ(sh("ip -n %s link add %s type veth peer name eth0 netns %s && "
                    "ip -n %s link set %s master %s up",
                    NODE, hif, ns, NODE, hif, br),
                 0);
    KT_ASSERT_EQ(sh("ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up && "
                    "ip -n %s link set lo up && ip -n %s route add default via %s",
                    ns, ip, ns, ns, ns, gw),
                 0);
}

static void serve(const char *name)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0)
        _exit(97);
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            dprintf(c, "%s\n", name);
            close(c);
        }
    }
}

static void topo_up(void)
{
    kt_on_cleanup(down, NULL);
    KT_ASSERT_EQ(sh("ip -n %s link set lo up", NODE), 0);
    KT_ASSERT_EQ(sh("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", NODE), 0);
    for (int b = 0; b < 2; b++)
        KT_ASSERT_EQ(sh("ip -n %s link add br%d type bridge && ip -n %s addr add 10.244.%d.1/24 "
                        "dev br%d && ip -n %s link set br%d up",
                        NODE, b, NODE, b + 1, b, NODE, b),
                     0);
    add_pod(P1, "vp1", "br0", "10.244.1.11", "10.244.1.1");
    add_pod(P2, "vp2", "br0", "10.244.1.12", "10.244.1.1");
    add_pod(C1, "vc1", "br1", "10.244.2.11", "10.244.2.1");
    const char *pods[2] = {P1, P2};
    for (int i = 0; i < 2; i++) {
        servers[i] = fork();
        KT_ASSERT(servers[i] >= 0);
        if (servers[i] == 0) {
            if (enter(pods[i]) < 0)
                _exit(98);
            serve(i ? "p2" : "p1");
        }
    }
}

/* ---- the model ---- */

static np_model *service(bool both)
{
    const char *svc = "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"
                      "\"spec\":{\"clusterIP\":\"10.96.0.50\",\"ports\":[{\"port\":80,"
                      "\"targetPort\":8080}]}}";
    char *slice =
        xasprintf("{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-1\",\"labels\":{"
                  "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{"
                  "\"port\":8080}],\"endpoints\":[{\"addresses\":[\"10.244.1.11\"]}%s]}",
                  both ? ",{\"addresses\":[\"10.244.1.12\"]}" : "");
    cJSON *a = cJSON_Parse(svc), *b = cJSON_Parse(slice);
    free(slice);
    np_builder *bl = np_builder_new(NULL, NULL);
    kn_error *err = NULL;
    KT_ASSERT_OK(np_builder_add_service(bl, a, &err), err);
    KT_ASSERT_OK(np_builder_add_slice(bl, b, &err), err);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return np_builder_finish(bl);
}

static void node_config(np_config *cfg)
{
    np_config_init(cfg);
    cfg->node_name = "n1";
    np_cidr_parse("10.244.0.0/16", false, &cfg->cluster_cidrs[cfg->ncluster_cidrs++]);
}

/* ---- IPVS with traffic ---- */

typedef struct probe {
    char reason[256];
    int available;
} probe;

static void probe_fn(void *arg)
{
    probe *p = arg;
    p->available = np_ipvs_available(p->reason, sizeof(p->reason));
}

typedef struct sync_job {
    np_ipvs *v;
    bool both, open, close;
    int rc;
    char msg[512];
    size_t nsvc, ndests;
} sync_job;

static void sync_fn(void *arg)
{
    sync_job *j = arg;
    kn_error *err = NULL;
    j->rc = j->open ? np_ipvs_open(NULL, &j->v, &err) : 0;
    np_model *m = service(j->both);
    np_config cfg;
    node_config(&cfg);
    if (j->rc == 0)
        j->rc = np_ipvs_sync(j->v, m, &cfg, true, false, j->open, NULL, &err);
    np_ipvs_table t = {0};
    if (j->rc == 0)
        j->rc = np_ipvs_dump(j->v, &t, &err);
    j->nsvc = t.n;
    j->ndests = t.n ? t.v[0].ndests : 0;
    np_ipvs_table_free(&t);
    if (j->rc < 0)
        snprintf(j->msg, sizeof(j->msg), "%s", kn_error_msg(err));
    kn_error_free(&err);
    np_model_free(m);
    if (j->close) {
        np_ipvs_close(j->v);
        j->rc = j->rc < 0 ? j->rc : np_ipvs_cleanup(NULL);
    }
}

typedef struct fetch {
    int seen[2];
    int failed;
} fetch;

static void fetch_fn(void *arg)
{
    fetch *f = arg;
    for (int i = 0; i < 20; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {.tv_sec = 3};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
        inet_pton(AF_INET, "10.96.0.50", &a.sin_addr);
        char buf[16] = "";
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && read(fd, buf, 15) > 0) {
            if (strncmp(buf, "p1", 2) == 0 || strncmp(buf, "p2", 2) == 0)
                f->seen[buf[1] - '1']++;
        } else {
            f->failed++;
        }
        close(fd);
    }
}

KT_TEST_TIMEOUT(ipvs, traffic_reaches_both_endpoints, 120)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    names("ipvs");
    kt_on_cleanup(down, NULL);
    KT_ASSERT_EQ(sh("ip netns add %s", NODE), 0);
    probe pr = {"", -1};
    run_in(NODE, probe_fn, &pr);
    KT_ASSERT_MSG(pr.available >= 0, "generic netlink: %s", pr.reason);
    if (pr.available == 0)
        KT_SKIP("IPVS is not available in this kernel: %s", pr.reason);
    topo_up();
    sync_job j = {.both = true, .open = true};
    run_in(NODE, sync_fn, &j);
    KT_ASSERT_MSG(j.rc == 0, "sync: %s", j.msg);
    KT_ASSERT_EQ(j.nsvc, 1);
    KT_ASSERT_EQ(j.ndests, 2);
    const char *from[2] = {C1, NODE};
    for (int i = 0; i < 2; i++) {
        fetch f = {{0, 0}, 0};
        run_in(from[i], fetch_fn, &f);
        KT_ASSERT_MSG(f.seen[0] > 0 && f.seen[1] > 0, "from %s: p1 %d, p2 %d, failed %d", from[i],
                      f.seen[0], f.seen[1], f.failed);
    }
    /* one endpoint gone: a partial sync removes just that destination */
    j.both = false, j.open = false, j.close = true;
    run_in(NODE, sync_fn, &j);
    KT_ASSERT_MSG(j.rc == 0, "sync: %s", j.msg);
    KT_ASSERT_EQ(j.ndests, 1);
}

/* ---- kube-ipvs0 and the knode-ipvs table, on every kernel ---- */

typedef struct link_job {
    const np_addr *addrs;
    size_t n;
    bool ipv6;
    int rc;
    kn_errcode code;
    char msg[512];
    size_t added, removed;
} link_job;

static void link_fn(void *arg)
{
    link_job *j = arg;
    kn_error *err = NULL;
    j->rc = np_ipvs_link_sync(NP_IPVS_DUMMY_IF, j->addrs, j->n, true, j->ipv6, &j->added,
                              &j->removed, &err);
    j->code = j->rc < 0 ? kn_error_code(err) : 0;
    snprintf(j->msg, sizeof(j->msg), "%s", j->rc < 0 ? kn_error_msg(err) : "");
    kn_error_free(&err);
}

static void addrs_of(np_addr *a, const char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        KT_ASSERT_EQ(np_addr_parse(s[i], &a[i]), 0);
    qsort(a, n, sizeof(*a), (int (*)(const void *, const void *))np_addr_cmp);
}

KT_TEST_TIMEOUT(ipvs, kube_ipvs0_addresses, 60)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    names("ipl");
    kt_on_cleanup(down, NULL);
    KT_ASSERT_EQ(sh("ip netns add %s && ip -n %s link set lo up", NODE, NODE), 0);
    np_addr a[3];
    addrs_of(a, (const char *const[]){"10.96.0.1", "10.96.0.2", "fd00:96::1"}, 3);
    link_job j = {.addrs = a, .n = 3, .ipv6 = true};
    run_in(NODE, link_fn, &j);
    if (j.rc < 0) {
        /* this kernel has no dummy links: the error says so, and a bridge
         * of that name stands in for the address reconciliation */
        KT_ASSERT_MSG(j.code == KN_ENOTSUP, "%s", j.msg);
        KT_ASSERT_CONTAINS(j.msg, "dummy");
        KT_ASSERT_EQ(sh("ip -n %s link add %s type bridge", NODE, NP_IPVS_DUMMY_IF), 0);
        run_in(NODE, link_fn, &j);
    }
    KT_ASSERT_MSG(j.rc == 0, "%s", j.msg);
    KT_ASSERT_EQ(j.added, 3);
    char *out = output_of("ip -n %s addr show dev %s", NODE, NP_IPVS_DUMMY_IF);
    KT_ASSERT_CONTAINS(out, "10.96.0.1/32");
    KT_ASSERT_CONTAINS(out, "10.96.0.2/32");
    KT_ASSERT_CONTAINS(out, "fd00:96::1/128");
    free(out);
    /* a stray address is removed; IPv6 left alone when not synced */
    KT_ASSERT_EQ(sh("ip -n %s addr add 10.96.9.9/24 dev %s", NODE, NP_IPVS_DUMMY_IF), 0);
    addrs_of(a, (const char *const[]){"10.96.0.2", "10.96.0.3"}, 2);
    j = (link_job){.addrs = a, .n = 2, .ipv6 = false};
    run_in(NODE, link_fn, &j);
    KT_ASSERT_MSG(j.rc == 0, "%s", j.msg);
    KT_ASSERT_EQ(j.added, 1);
    KT_ASSERT_EQ(j.removed, 2);
    out = output_of("ip -n %s addr show dev %s", NODE, NP_IPVS_DUMMY_IF);
    KT_ASSERT(!strstr(out, "10.96.0.1/") && !strstr(out, "10.96.9.9"));
    KT_ASSERT_CONTAINS(out, "10.96.0.3/32");
    KT_ASSERT_CONTAINS(out, "fd00:96::1/128");
    free(out);
    run_in(NODE, link_fn, &j); /* nothing left to do */
    KT_ASSERT_EQ(j.added + j.removed, 0);
}

typedef struct nft_job {
    bool cidr;
    int rc;
    char msg[1024];
} nft_job;

static void nft_fn(void *arg)
{
    nft_job *j = arg;
    np_model *m = service(true);
    np_config cfg;
    node_config(&cfg);
    if (!j->cidr)
        cfg.ncluster_cidrs = 0;
    np_ipvs_plan p;
    np_ipvs_plan_build(m, &cfg, true, true, NULL, &p);
    kn_error *err = NULL;
    for (int f = 0; f < 2 && j->rc == 0; f++) {
        char *text = np_ipvs_nft_render(&p, &cfg, f ? AF_INET6 : AF_INET);
        j->rc = np_ipvs_nft_run(text, &err);
        free(text);
    }
    snprintf(j->msg, sizeof(j->msg), "%s", j->rc < 0 ? kn_error_msg(err) : "");
    kn_error_free(&err);
    np_ipvs_plan_free(&p);
    np_model_free(m);
}

KT_TEST_TIMEOUT(ipvs, knode_ipvs_table_loads_and_replaces, 60)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    names("ipn");
    kt_on_cleanup(down, NULL);
    KT_ASSERT_EQ(sh("ip netns add %s", NODE), 0);
    nft_job j = {.cidr = true};
    run_in(NODE, nft_fn, &j);
    KT_ASSERT_MSG(j.rc == 0, "%s", j.msg);
    char *out = output_of("ip netns exec %s nft list table ip knode-ipvs", NODE);
    KT_ASSERT_CONTAINS(out, "10.96.0.50 . tcp . 80");
    KT_ASSERT_CONTAINS(out, "10.244.1.12 . 10.244.1.12");
    KT_ASSERT_CONTAINS(out, "@cluster-cidrs");
    free(out);
    j = (nft_job){.cidr = false}; /* replaced in place, one transaction */
    run_in(NODE, nft_fn, &j);
    KT_ASSERT_MSG(j.rc == 0, "%s", j.msg);
    out = output_of("ip netns exec %s nft list tables", NODE);
    KT_ASSERT_CONTAINS(out, "table ip knode-ipvs");
    KT_ASSERT_CONTAINS(out, "table ip6 knode-ipvs");
    free(out);
    out = output_of("ip netns exec %s nft list chain ip knode-ipvs svc-mark", NODE);
    KT_ASSERT_CONTAINS(out, "ip saddr . meta l4proto . th dport @cluster-keys");
    free(out);
}

typedef struct open_job {
    int rc;
    kn_errcode code;
    char msg[512];
} open_job;

static void open_fn(void *arg)
{
    open_job *j = arg;
    kn_error *err = NULL;
    np_ipvs *v = NULL;
    j->rc = np_ipvs_open(NULL, &v, &err);
    j->code = j->rc < 0 ? kn_error_code(err) : 0;
    snprintf(j->msg, sizeof(j->msg), "%s", j->rc < 0 ? kn_error_msg(err) : "");
    kn_error_free(&err);
    np_ipvs_close(v);
}

KT_TEST_TIMEOUT(ipvs, open_without_ipvs_says_why, 60)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    names("ipo");
    kt_on_cleanup(down, NULL);
    KT_ASSERT_EQ(sh("ip netns add %s", NODE), 0);
    probe pr = {"", -1};
    run_in(NODE, probe_fn, &pr);
    if (pr.available > 0)
        KT_SKIP("this kernel has IPVS (ipvs.traffic_reaches_both_endpoints covers it)");
    open_job j = {0};
    run_in(NODE, open_fn, &j);
    KT_ASSERT_EQ(j.rc < 0, 1);
    KT_ASSERT_EQ(j.code, KN_ENOTSUP);
    KT_ASSERT_CONTAINS(j.msg, "--proxy-mode ipvs: the kernel has no IPVS");
    KT_ASSERT_CONTAINS(j.msg, "\"IPVS\"");
}
