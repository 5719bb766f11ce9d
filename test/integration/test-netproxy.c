/* test-netproxy.c - the Service proxy's nftables backend with real packets,
 * only inside network namespaces this test creates:
 *
 *   out (10.250.0.2) --veth-- node (10.250.0.1; br0 10.244.1.1/24, br1 10.244.2.1/24)
 *   p1 p2 p3 (10.244.1.11-13, on br0): servers answering their name
 *   c1 (10.244.2.11, on br1): a client pod
 *
 * The ruleset is applied through the netlink backend from a socket opened in
 * the node namespace. Nothing is created in the root namespace: `nft list
 * tables` there is checked empty before and after. Servers are processes of
 * this test, stopped by PID; the namespaces are removed at the end and on
 * failure. Skipped (with the reason) when not root. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "netproxy/model.h"
#include "netproxy/nft.h"
#include "netproxy/ruleset.h"
#include "test/runner/kt.h"

#define NPODS 3
#define PORT_NAME 8080 /* answers its pod's name, then closes */
#define PORT_ECHO 8081 /* echoes lines until the client closes */

typedef struct topo {
    char prefix[32];
    char node[48], out[48], client[48], pods[NPODS][48];
    pid_t servers[NPODS + 1];
    int nservers;
    bool up;
} topo;

static topo T;

/* ---- shell and namespaces ---- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    int st = system(cmd);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    free(cmd);
    return rc;
}

/* Output of a shell command (caller frees). */
static char *capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    KT_ASSERT_MSG(p, "popen %s", cmd);
    char *buf = xcalloc(1, 65536);
    size_t n = fread(buf, 1, 65535, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static void enter_netns(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "enter netns %s: %s\n", name, strerror(errno));
        _exit(98);
    }
    close(fd);
}

static void topo_down(void *arg)
{
    (void)arg;
    for (int i = 0; i < T.nservers; i++) {
        if (T.servers[i] > 0) {
            kill(T.servers[i], SIGKILL);
            waitpid(T.servers[i], NULL, 0);
            T.servers[i] = 0;
        }
    }
    T.nservers = 0;
    if (!T.up)
        return;
    const char *all[] = {T.node, T.out, T.client, T.pods[0], T.pods[1], T.pods[2]};
    for (size_t i = 0; i < KN_ARRAY_SIZE(all); i++) {
        if (!all[i][0])
            continue;
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", all[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup: %s failed\n", cmd);
    }
    T.up = false;
}

static void root_tables_empty(void)
{
    cleanup_free char *out = capture("nft list tables 2>&1");
    KT_ASSERT_MSG(out[0] == '\0', "root namespace has nftables tables: %s", out);
}

/* A pod: netns with eth0 on bridge br of the node, ip/24, default via gw. */
static void add_pod(const char *ns, const char *host_if, const char *br, const char *ip,
                    const char *gw)
{
    KT_ASSERT_EQ(run("ip netns add %s", ns), 0);
    KT_ASSERT_EQ(run("ip -n %s link add %s type veth peer name eth0 netns %s", T.node, host_if, ns),
                 0);
    /* as the CNI bridge plugin's hairpinMode: a pod may reach itself */
    KT_ASSERT_EQ(run("ip -n %s link set %s master %s up && ip -n %s link set %s type bridge_slave "
                     "hairpin on",
                     T.node, host_if, br, T.node, host_if),
                 0);
    KT_ASSERT_EQ(run("ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up && "
                     "ip -n %s link set lo up && ip -n %s route add default via %s",
                     ns, ip, ns, ns, ns, gw),
                 0);
}

static void node_up(void)
{
    const char *n = T.node;
    KT_ASSERT_EQ(run("ip netns add %s && ip netns add %s", n, T.out), 0);
    T.up = true;
    KT_ASSERT_EQ(run("ip -n %s link set lo up && ip -n %s link set lo up", n, T.out), 0);
    KT_ASSERT_EQ(run("ip netns exec %s sysctl -qw net.ipv4.ip_forward=1", n), 0);
    for (int b = 0; b < 2; b++)
        KT_ASSERT_EQ(run("ip -n %s link add br%d type bridge && ip -n %s addr add 10.244.%d.1/24 "
                         "dev br%d && ip -n %s link set br%d up",
                         n, b, n, b + 1, b, n, b),
                     0);
    KT_ASSERT_EQ(run("ip -n %s link add out0 type veth peer name eth0 netns %s", n, T.out), 0);
    KT_ASSERT_EQ(run("ip -n %s addr add 10.250.0.1/24 dev out0 && ip -n %s link set out0 up && "
                     "ip -n %s addr add 10.250.0.2/24 dev eth0 && ip -n %s link set eth0 up",
                     n, n, T.out, T.out),
                 0);
    /* the node's own Service traffic needs a route before DNAT happens */
    KT_ASSERT_EQ(run("ip -n %s route add default via 10.250.0.2", n), 0);
}

static void server_main(const char *name);

static void topo_up(void)
{
    memset(&T, 0, sizeof(T));
    snprintf(T.prefix, sizeof(T.prefix), "kt%d-np-", (int)getpid());
    snprintf(T.node, sizeof(T.node), "%snode", T.prefix);
    snprintf(T.out, sizeof(T.out), "%sout", T.prefix);
    snprintf(T.client, sizeof(T.client), "%sc1", T.prefix);
    for (int i = 0; i < NPODS; i++)
        snprintf(T.pods[i], sizeof(T.pods[i]), "%sp%d", T.prefix, i + 1);
    kt_on_cleanup(topo_down, NULL);
    node_up();
    for (int i = 0; i < NPODS; i++) {
        char ip[32], hif[16];
        snprintf(ip, sizeof(ip), "10.244.1.%d", 11 + i);
        snprintf(hif, sizeof(hif), "vp%d", i + 1);
        add_pod(T.pods[i], hif, "br0", ip, "10.244.1.1");
    }
    add_pod(T.client, "vc1", "br1", "10.244.2.11", "10.244.2.1");
    for (int i = 0; i < NPODS; i++) {
        pid_t pid = fork();
        KT_ASSERT(pid >= 0);
        if (pid == 0) {
            enter_netns(T.pods[i]);
            server_main(T.pods[i] + strlen(T.prefix));
        }
        T.servers[T.nservers++] = pid;
    }
}

/* ---- the pods' servers ---- */

static int listen_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0)
        _exit(97);
    return fd;
}

/* Answers its name on PORT_NAME and echoes on PORT_ECHO, forever (killed by
 * the test). */
static void server_main(const char *name)
{
    struct pollfd p[18];
    int np = 2;
    p[0] = (struct pollfd){.fd = listen_tcp(PORT_NAME), .events = POLLIN};
    p[1] = (struct pollfd){.fd = listen_tcp(PORT_ECHO), .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)np, -1) < 0)
            continue;
        if (p[0].revents & POLLIN) {
            int c = accept4(p[0].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                dprintf(c, "%s\n", name);
                close(c);
            }
        }
        if ((p[1].revents & POLLIN) && np < 18) {
            int c = accept4(p[1].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                p[np++] = (struct pollfd){.fd = c, .events = POLLIN};
        }
        for (int i = 2; i < np; i++) {
            if (!p[i].revents)
                continue;
            char buf[256];
            ssize_t r = read(p[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                close(p[i].fd);
                p[i--] = p[--np];
                continue;
            }
            char reply[300];
            int len = snprintf(reply, sizeof(reply), "%s:%.*s", name, (int)r, buf);
            if (write(p[i].fd, reply, (size_t)len) < 0)
                continue;
        }
    }
}

/* ---- clients ---- */

/* Connects with a timeout; returns the socket or -errno. */
static int connect_to(const char *ip, int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (poll(&p, 1, timeout_ms) != 1) {
        close(fd);
        return -ETIMEDOUT;
    }
    int e = 0;
    socklen_t l = sizeof(e);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    if (e) {
        close(fd);
        return -e;
    }
    fcntl(fd, F_SETFL, 0);
    struct timeval tv = {.tv_sec = timeout_ms / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* One request to the name port: writes "p1" or "!<errno>" into out. */
static void ask_name(const char *ip, int port, char *out, size_t len)
{
    int fd = connect_to(ip, port, 5000);
    if (fd < 0) {
        snprintf(out, len, "!%d", -fd);
        return;
    }
    ssize_t r = read(fd, out, len - 1);
    close(fd);
    if (r <= 0) {
        snprintf(out, len, "!read");
        return;
    }
    out[r] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

typedef struct tally {
    int n;
    int by_pod[NPODS];
    int refused, timedout, other;
    char first_other[32];
} tally;

/* Forks a child that enters netns and reports through a pipe: returns 0
 * in the child, with the write end in *wfd; in the parent, the child's PID,
 * with the read end in *rfd. */
static pid_t fork_in_netns(const char *netns, int *rfd, int *wfd)
{
    int fds[2];
    KT_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        enter_netns(netns);
        *wfd = fds[1];
        return 0;
    }
    close(fds[1]);
    *rfd = fds[0];
    return pid;
}

/* From netns, n requests to ip:port; counts who answered. */
static void probe(const char *netns, const char *ip, int port, int n, tally *t)
{
    memset(t, 0, sizeof(*t));
    int rfd = -1, wfd = -1;
    pid_t pid = fork_in_netns(netns, &rfd, &wfd);
    if (pid == 0) {
        for (int i = 0; i < n; i++) {
            char name[32];
            ask_name(ip, port, name, sizeof(name));
            dprintf(wfd, "%s\n", name);
        }
        _exit(0);
    }
    FILE *f = fdopen(rfd, "r");
    char line[64];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        t->n++;
        if (line[0] == 'p' && line[1] >= '1' && line[1] < '1' + NPODS && !line[2])
            t->by_pod[line[1] - '1']++;
        else if (strcmp(line, "!111") == 0) /* ECONNREFUSED */
            t->refused++;
        else if (strcmp(line, "!110") == 0) /* ETIMEDOUT */
            t->timedout++;
        else if (t->other++ == 0)
            snprintf(t->first_other, sizeof(t->first_other), "%.31s", line);
    }
    fclose(f);
    waitpid(pid, NULL, 0);
}

/* ---- the proxy side ---- */

static np_nft *open_in_node(void)
{
    int root = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    KT_ASSERT(root >= 0);
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", T.node);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    KT_ASSERT(fd >= 0 && setns(fd, CLONE_NEWNET) == 0);
    np_nft *n = NULL;
    kn_error *err = NULL;
    int r = np_nft_open(&n, &err);
    KT_ASSERT(setns(root, CLONE_NEWNET) == 0);
    close(fd);
    close(root);
    KT_ASSERT_OK(r, err);
    return n;
}

static void config(np_config *c)
{
    np_config_init(c);
    c->node_name = "node";
    np_addr_parse("10.250.0.1", &c->node_ips[c->nnode_ips++]);
    np_cidr_parse("10.244.0.0/16", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
}

/* A Service of the test, written as the API server would send it: ports
 * "name" (80 -> 8080) and "echo" (81 -> 8081), with nodePorts 30080/30081
 * when nodeport is set; endpoints 10.244.1.<octet> on this node. */
typedef struct svcdef {
    const char *name, *ip;
    bool nodeport, affinity;
    int eps[4]; /* last octets, 0-terminated */
} svcdef;

static void add_def(np_builder *b, const svcdef *d)
{
    char *svc = xasprintf(
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"%s\"},\"spec\":{\"type\":\"%s\","
        "\"clusterIP\":\"%s\",\"sessionAffinity\":\"%s\",\"ports\":[{\"name\":\"name\",\"port\":"
        "80,\"nodePort\":30080},{\"name\":\"echo\",\"port\":81,\"nodePort\":30081}]}}",
        d->name, d->nodeport ? "NodePort" : "ClusterIP", d->ip, d->affinity ? "ClientIP" : "None");
    kn_buf eps = KN_BUF_INIT;
    for (int i = 0; i < 4 && d->eps[i]; i++)
        kn_buf_appendf(&eps, "%s{\"addresses\":[\"10.244.1.%d\"],\"nodeName\":\"node\"}",
                       i ? "," : "", d->eps[i]);
    char *slice = xasprintf(
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"%s-1\",\"labels\":{\"kubernetes.io/"
        "service-name\":\"%s\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"name\",\"port\":"
        "8080},{\"name\":\"echo\",\"port\":8081}],\"endpoints\":[%s]}",
        d->name, d->name, eps.data);
    kn_error *err = NULL;
    cJSON *o = cJSON_Parse(svc);
    KT_ASSERT_OK(np_builder_add_service(b, o, &err), err);
    cJSON_Delete(o);
    o = cJSON_Parse(slice);
    KT_ASSERT_OK(np_builder_add_slice(b, o, &err), err);
    cJSON_Delete(o);
    free(svc);
    free(slice);
    kn_buf_free(&eps);
}

static np_model *model_of(const svcdef *defs)
{
    np_builder *b = np_builder_new(NULL, NULL);
    for (const svcdef *d = defs; d->name; d++)
        add_def(b, d);
    return np_builder_finish(b);
}

static int sync_model(np_nft *n, const np_model *m, bool full, np_sync_stats *st, kn_error **err)
{
    np_config cfg;
    config(&cfg);
    return np_nft_sync(n, np_ruleset_build(m, &cfg, AF_INET), NULL, full, st, err);
}

static void apply(np_nft *n, const svcdef *defs, bool full, np_sync_stats *st)
{
    np_model *m = model_of(defs);
    kn_error *err = NULL;
    KT_ASSERT_OK(sync_model(n, m, full, st, &err), err);
    np_model_free(m);
}

static np_ruleset *build(const svcdef *defs)
{
    np_config cfg;
    config(&cfg);
    np_model *m = model_of(defs);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    np_model_free(m);
    return rs;
}

/* web: 3 endpoints; empty: none; self: p1 only; sticky: ClientIP affinity */
static const svcdef MODEL[] = {
    {"web", "10.96.0.10", true, false, {11, 12, 13}},
    {"empty", "10.96.0.11", false, false, {0}},
    {"self", "10.96.0.12", false, false, {11}},
    {"sticky", "10.96.0.13", false, true, {11, 12, 13}},
    {NULL, NULL, false, false, {0}},
};

static void skip_unless_root(void)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces and nftables)");
    if (system("command -v ip >/dev/null 2>&1 && command -v nft >/dev/null 2>&1") != 0)
        KT_SKIP("needs ip and nft");
}

static void assert_spread(const tally *t, int n, const char *what)
{
    KT_ASSERT_MSG(t->n == n && t->refused == 0 && t->timedout == 0 && t->other == 0,
                  "%s: %d answers, %d refused, %d timed out, %d other (%s)", what, t->n, t->refused,
                  t->timedout, t->other, t->first_other);
    for (int i = 0; i < NPODS; i++)
        KT_ASSERT_MSG(t->by_pod[i] > 0, "%s: p%d never answered (%d/%d/%d)", what, i + 1,
                      t->by_pod[0], t->by_pod[1], t->by_pod[2]);
}

/* ClusterIP from a pod and from the node, NodePort from outside, reject
 * without endpoints or on an undefined port, hairpin. */
KT_TEST_TIMEOUT(netproxy, traffic, 120)
{
    skip_unless_root();
    root_tables_empty();
    topo_up();
    np_nft *n = open_in_node();
    np_sync_stats st;
    apply(n, MODEL, false, &st);
    KT_ASSERT(st.full);
    tally t;
    probe(T.client, "10.96.0.10", 80, 150, &t);
    assert_spread(&t, 150, "pod -> ClusterIP");
    probe(T.node, "10.96.0.10", 80, 90, &t);
    assert_spread(&t, 90, "node -> ClusterIP");
    probe(T.out, "10.250.0.1", 30080, 90, &t);
    assert_spread(&t, 90, "outside -> NodePort");
    /* no endpoints: refused at once (not a timeout), from a pod and the node */
    probe(T.client, "10.96.0.11", 80, 3, &t);
    KT_ASSERT_MSG(t.refused == 3, "empty Service from a pod: %d refused, %d timed out", t.refused,
                  t.timedout);
    probe(T.node, "10.96.0.11", 80, 3, &t);
    KT_ASSERT_MSG(t.refused == 3, "empty Service from the node: %d refused", t.refused);
    /* a ClusterIP on a port no Service defines */
    probe(T.client, "10.96.0.10", 9999, 2, &t);
    KT_ASSERT_MSG(t.refused == 2, "undefined port: %d refused, %d timed out", t.refused,
                  t.timedout);
    /* hairpin: p1 reaches itself through its Service */
    probe(T.pods[0], "10.96.0.12", 80, 5, &t);
    KT_ASSERT_MSG(t.by_pod[0] == 5, "hairpin: p1 answered %d of 5 (%d refused, %d timed out)",
                  t.by_pod[0], t.refused, t.timedout);
    np_nft_close(n);
    topo_down(NULL);
    root_tables_empty();
}

KT_TEST_TIMEOUT(netproxy, session_affinity, 120)
{
    skip_unless_root();
    topo_up();
    np_nft *n = open_in_node();
    apply(n, MODEL, false, NULL);
    tally t;
    probe(T.client, "10.96.0.13", 80, 20, &t);
    int pinned = -1;
    for (int i = 0; i < NPODS; i++) {
        if (t.by_pod[i] == 20)
            pinned = i;
    }
    KT_ASSERT_MSG(pinned >= 0, "affinity: answers spread %d/%d/%d (%d failed)", t.by_pod[0],
                  t.by_pod[1], t.by_pod[2], t.refused + t.timedout + t.other);
    /* another client (the node) is pinned too, on its own */
    probe(T.node, "10.96.0.13", 80, 10, &t);
    KT_ASSERT(t.by_pod[0] == 10 || t.by_pod[1] == 10 || t.by_pod[2] == 10);
    /* the Service without affinity still spreads the same client */
    probe(T.client, "10.96.0.10", 80, 60, &t);
    assert_spread(&t, 60, "no affinity");
    np_nft_close(n);
    topo_down(NULL);
}

/* Asserts that the kernel's table has the sets, elements and rules of want. */
static void assert_kernel_has(np_nft *n, const np_ruleset *want)
{
    np_ruleset *got = NULL;
    kn_error *err = NULL;
    KT_ASSERT_EQ(np_nft_dump(n, AF_INET, &got, &err), 1);
    KT_ASSERT_EQ(got->nsets, want->nsets);
    KT_ASSERT_EQ(got->nchains, want->nchains);
    for (size_t i = 0; i < want->nsets; i++) {
        const np_set *w = &want->sets[i], *g = np_ruleset_find_set(got, w->name);
        KT_ASSERT_MSG(g && np_set_same_def(g, w), "set %s differs", w->name);
        if (w->flags & NP_SET_DYNAMIC)
            continue;
        KT_ASSERT_MSG(g->nelems == w->nelems, "set %s: %zu elements, want %zu", w->name, g->nelems,
                      w->nelems);
        for (size_t e = 0; e < w->nelems; e++)
            KT_ASSERT_MSG(np_elem_equal(w, &g->elems[e], &w->elems[e], AF_INET),
                          "set %s element %zu differs", w->name, e);
    }
    for (size_t i = 0; i < want->nchains; i++) {
        const np_chain *w = &want->chains[i], *g = np_ruleset_find_chain(got, w->name);
        KT_ASSERT_MSG(g && g->nrules == w->nrules, "chain %s differs", w->name);
        for (size_t r = 0; r < w->nrules; r++)
            KT_ASSERT_STREQ(g->rules[r].comment, w->rules[r].comment);
    }
    np_ruleset_free(got);
}

/* A transaction that fails inside the kernel changes nothing: the rules
 * before it stay and traffic keeps flowing; the next sync is a full one. */
KT_TEST_TIMEOUT(netproxy, failed_transaction_keeps_ruleset, 120)
{
    static const svcdef SHRUNK[] = {{"web", "10.96.0.10", true, false, {11}},
                                    {NULL, NULL, false, false, {0}}};
    skip_unless_root();
    topo_up();
    np_nft *n = open_in_node();
    apply(n, MODEL, false, NULL);
    np_nft_set_fault(n, NP_NFT_FAULT_BAD_ELEMENT);
    np_model *m = model_of(SHRUNK);
    kn_error *err = NULL;
    np_sync_stats st;
    KT_ASSERT_FAILS(sync_model(n, m, false, &st, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err),
                       "nftables transaction failed at \"add 1 elements to set cluster-ips\"");
    KT_ASSERT(st.messages > 5); /* the real changes were in the same batch */
    kn_error_free(&err);
    np_ruleset *before = build(MODEL);
    assert_kernel_has(n, before);
    np_ruleset_free(before);
    tally t;
    probe(T.client, "10.96.0.10", 80, 60, &t);
    assert_spread(&t, 60, "after the failed transaction");
    probe(T.client, "10.96.0.11", 80, 1, &t);
    KT_ASSERT_EQ(t.refused, 1);
    /* the next sync reads the kernel's table again and succeeds */
    KT_ASSERT_OK(sync_model(n, m, false, &st, &err), err);
    KT_ASSERT(st.full);
    np_ruleset *after = build(SHRUNK);
    assert_kernel_has(n, after);
    np_ruleset_free(after);
    probe(T.client, "10.96.0.10", 80, 10, &t);
    KT_ASSERT_EQ(t.by_pod[0], 10);
    np_model_free(m);
    np_nft_close(n);
    topo_down(NULL);
}

/* Holds one connection to the echo port of 10.96.0.10 from the client pod;
 * each byte the test writes to *ctl makes it send "ping" and report the
 * server's answer. Returns the child's PID. */
static pid_t start_holder(int *ctl)
{
    int fds[2];
    KT_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        enter_netns(T.client);
        int c = connect_to("10.96.0.10", 81, 5000);
        char buf[256];
        while (c >= 0 && read(fds[1], buf, 1) == 1) {
            ssize_t r = write(c, "ping", 4) == 4 ? read(c, buf, sizeof(buf) - 1) : -1;
            if (dprintf(fds[1], "%.*s\n", r > 0 ? (int)r : 4, r > 0 ? buf : "FAIL") < 0)
                break;
        }
        _exit(0);
    }
    close(fds[1]);
    *ctl = fds[0];
    return pid;
}

static void assert_echo(int ctl, const char *when)
{
    char line[256];
    KT_ASSERT(write(ctl, "x", 1) == 1);
    ssize_t r = read(ctl, line, sizeof(line) - 1);
    KT_ASSERT(r > 0);
    line[r] = '\0';
    KT_ASSERT_MSG(strstr(line, ":ping"), "echo %s: %s", when, line);
}

/* An established connection keeps flowing while the proxy goes away and a
 * new one reconciles the table it finds: nothing is sent when the table is
 * already right, only the difference otherwise (never a flush), and the
 * affinity state of clients survives. */
KT_TEST_TIMEOUT(netproxy, restart_reconciles_without_flush, 120)
{
    static const svcdef MORE[] = {{"web", "10.96.0.10", true, false, {11, 12, 13}},
                                  {"sticky", "10.96.0.13", false, true, {11, 12, 13}},
                                  {"new", "10.96.0.14", false, false, {12}},
                                  {NULL, NULL, false, false, {0}}};
    skip_unless_root();
    topo_up();
    np_nft *n = open_in_node();
    apply(n, MODEL, false, NULL);
    tally t;
    probe(T.client, "10.96.0.13", 80, 5, &t);
    int pinned = t.by_pod[0] == 5 ? 0 : t.by_pod[1] == 5 ? 1 : 2;
    KT_ASSERT_EQ(t.by_pod[pinned], 5);
    int ctl = -1;
    pid_t holder = start_holder(&ctl);
    assert_echo(ctl, "before the restart");

    np_nft_close(n); /* the proxy is gone; its table stays */
    n = open_in_node();
    np_sync_stats st;
    apply(n, MODEL, false, &st);
    KT_ASSERT(st.full);
    KT_ASSERT_EQ(st.messages, 0);
    np_nft_close(n);
    n = open_in_node();
    apply(n, MORE, false, &st);
    KT_ASSERT(st.full && st.messages > 0);
    KT_ASSERT_EQ(st.sets_deleted, 0); /* the affinity sets survived */
    KT_ASSERT_EQ(st.chains_flushed, 0);
    assert_echo(ctl, "after the restart");
    close(ctl);
    waitpid(holder, NULL, 0);
    probe(T.client, "10.96.0.13", 80, 5, &t);
    KT_ASSERT_EQ(t.by_pod[pinned], 5);
    probe(T.client, "10.96.0.14", 80, 3, &t);
    KT_ASSERT_EQ(t.by_pod[1], 3);
    np_ruleset *want = build(MORE);
    assert_kernel_has(n, want);
    np_ruleset_free(want);
    np_nft_close(n);
    topo_down(NULL);
}

/* The text renderer and the netlink backend agree: a table loaded with
 * `nft -f` from the rendered text needs no change; partial syncs end where
 * full ones do; one Service's new endpoints are element changes only. */
KT_TEST_TIMEOUT(netproxy, text_and_netlink_agree, 120)
{
    static const svcdef OTHER[] = {{"web", "10.96.0.10", true, false, {12, 13}},
                                   {NULL, NULL, false, false, {0}}};
    static const svcdef MOVED[] = {{"web", "10.96.0.10", true, false, {11, 12, 14}},
                                   {"empty", "10.96.0.11", false, false, {0}},
                                   {"self", "10.96.0.12", false, false, {11}},
                                   {"sticky", "10.96.0.13", false, true, {11, 12, 13}},
                                   {NULL, NULL, false, false, {0}}};
    skip_unless_root();
    memset(&T, 0, sizeof(T));
    snprintf(T.node, sizeof(T.node), "kt%d-np-node", (int)getpid());
    kt_on_cleanup(topo_down, NULL);
    KT_ASSERT_EQ(run("ip netns add %s", T.node), 0);
    T.up = true;
    np_ruleset *rs = build(MODEL);
    cleanup_free char *text = np_ruleset_render(rs);
    np_ruleset_free(rs);
    char path[300];
    snprintf(path, sizeof(path), "%s/rules.nft", kt_tmpdir());
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
    KT_ASSERT_EQ(run("ip netns exec %s nft -f %s", T.node, path), 0);
    np_nft *n = open_in_node();
    np_sync_stats st;
    apply(n, MODEL, true, &st);
    KT_ASSERT_EQ(st.messages, 0);
    apply(n, OTHER, false, &st);
    KT_ASSERT(!st.full && st.messages > 0);
    np_ruleset *want = build(OTHER);
    assert_kernel_has(n, want);
    np_ruleset_free(want);
    apply(n, MODEL, false, &st);
    want = build(MODEL);
    assert_kernel_has(n, want);
    np_ruleset_free(want);
    apply(n, MOVED, false, &st);
    KT_ASSERT_EQ(st.rules_added, 0);
    /* entry 2 of ClusterIP:80, :81 and the two nodePorts in ep-3, and the
     * new endpoint's hairpin pair (.13 stays: sticky still has it) */
    KT_ASSERT_EQ(st.elems_added, 5);
    KT_ASSERT_EQ(st.elems_deleted, 4);
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nft_delete_tables(n, &err), err);
    np_ruleset *gone = NULL;
    KT_ASSERT_EQ(np_nft_dump(n, AF_INET, &gone, &err), 0);
    np_nft_close(n);
    topo_down(NULL);
}

/* ---- benchmark (information only; KNODE_BENCH=1) ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds nservices Services of nep endpoints each, ClusterIP 10.96/12 + k,
 * port 80; Service `changed` gets other endpoints. */
static void add_big(np_builder *b, int nservices, int nep, int changed)
{
    for (int k = 0; k < nservices; k++) {
        char *svc = xasprintf("{\"metadata\":{\"namespace\":\"bench\",\"name\":\"s%d\"},\"spec\":"
                              "{\"clusterIP\":\"10.%d.%d.%d\",\"ports\":[{\"port\":80}]}}",
                              k, 96 + (k >> 16), (k >> 8) & 255, k & 255);
        kn_buf eps = KN_BUF_INIT;
        for (int e = 0; e < nep; e++) {
            int ip = k * nep + e + (k == changed ? 1 << 20 : 0);
            kn_buf_appendf(&eps, "%s{\"addresses\":[\"10.%d.%d.%d\"]}", e ? "," : "",
                           128 + (ip >> 16), (ip >> 8) & 255, ip & 255);
        }
        char *slice = xasprintf(
            "{\"metadata\":{\"namespace\":\"bench\",\"name\":\"s%d-1\",\"labels\":{"
            "\"kubernetes.io/service-name\":\"s%d\"}},\"addressType\":\"IPv4\",\"ports\":[{"
            "\"port\":8080}],\"endpoints\":[%s]}",
            k, k, eps.data);
        cJSON *o = cJSON_Parse(svc);
        np_builder_add_service(b, o, NULL);
        cJSON_Delete(o);
        o = cJSON_Parse(slice);
        np_builder_add_slice(b, o, NULL);
        cJSON_Delete(o);
        free(svc);
        free(slice);
        kn_buf_free(&eps);
    }
}

static np_model *big_model(int nservices, int nep, int changed)
{
    np_builder *b = np_builder_new(NULL, NULL);
    add_big(b, nservices, nep, changed);
    return np_builder_finish(b);
}

/* Runs `nft -f path` in netns; returns seconds, *rss_kb the child's peak. */
static double time_nft_file(const char *netns, const char *path, long *rss_kb)
{
    double t0 = now_s();
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        enter_netns(netns);
        execlp("nft", "nft", "-f", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    KT_ASSERT(wait4(pid, &status, 0, &ru) == pid);
    KT_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nft -f failed");
    *rss_kb = ru.ru_maxrss;
    return now_s() - t0;
}

/* A benchmark, not a test: the runner leaves suite "bench" out unless a
 * filter names it (make bench does). */
KT_TEST_TIMEOUT(bench, netproxy_10k_services, 600)
{
    skip_unless_root();
    int nsvc = 10000, nep = 10;
    memset(&T, 0, sizeof(T));
    snprintf(T.node, sizeof(T.node), "kt%d-np-node", (int)getpid());
    snprintf(T.out, sizeof(T.out), "kt%d-np-out", (int)getpid());
    kt_on_cleanup(topo_down, NULL);
    KT_ASSERT_EQ(run("ip netns add %s && ip netns add %s", T.node, T.out), 0);
    T.up = true;
    np_config cfg;
    config(&cfg);
    double t0 = now_s();
    np_model *m = big_model(nsvc, nep, -1);
    double t_model = now_s() - t0;
    t0 = now_s();
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    double t_build = now_s() - t0;
    char *text = np_ruleset_render(rs);
    np_nft *n = open_in_node();
    np_sync_stats st;
    kn_error *err = NULL;
    t0 = now_s();
    KT_ASSERT_OK(np_nft_sync(n, rs, NULL, false, &st, &err), err);
    double t_full = now_s() - t0;
    printf("BENCH %d services x %d endpoints: model from JSON %.3f s, ruleset build %.3f s\n", nsvc,
           nep, t_model, t_build);
    printf("BENCH netlink full sync (new table): %.3f s, %zu messages, %.1f MB, %zu elements\n",
           t_full, st.messages, (double)st.bytes / 1e6, st.elems_added);
    np_model *m2 = big_model(nsvc, nep, 4242);
    t0 = now_s();
    np_ruleset *rs2 = np_ruleset_build(m2, &cfg, AF_INET);
    double t_build2 = now_s() - t0;
    t0 = now_s();
    KT_ASSERT_OK(np_nft_sync(n, rs2, NULL, false, &st, &err), err);
    printf("BENCH one Service's 10 endpoints changed: ruleset build %.3f s, partial sync "
           "(diff + transaction) %.3f s, %zu messages, +%zu -%zu elements\n",
           t_build2, now_s() - t0, st.messages, st.elems_added, st.elems_deleted);
    t0 = now_s();
    KT_ASSERT_OK(np_nft_sync(n, np_ruleset_build(m2, &cfg, AF_INET), NULL, true, &st, &err), err);
    printf("BENCH full sync of an up-to-date table (read back + diff): %.3f s, %zu messages\n",
           now_s() - t0, st.messages);
    char path[300];
    snprintf(path, sizeof(path), "%s/bench.nft", kt_tmpdir());
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(text, f) >= 0 && fclose(f) == 0);
    long rss = 0;
    double t_nft = time_nft_file(T.out, path, &rss);
    printf("BENCH nft -f of the same ruleset text (new table): %.3f s, nft peak RSS %ld MB\n",
           t_nft, rss / 1024);
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    printf("BENCH this process's peak RSS (models, rulesets, batch): %ld MB\n",
           self.ru_maxrss / 1024);
    free(text);
    np_model_free(m);
    np_model_free(m2);
    np_nft_close(n);
    topo_down(NULL);
}

/* ---- per-packet cost: new connections to a ClusterIP (information only) ---- */

#define RATE_VIP "10.100.0.10"
#define RATE_ROUNDS 5
#define RATE_SECONDS 1.5

/* `rate` (p1-p3) and nfill Services of 10 endpoints each around it. */
static np_ruleset *rate_ruleset(int nfill)
{
    static const svcdef rate = {"rate", RATE_VIP, false, false, {11, 12, 13}};
    np_builder *b = np_builder_new(NULL, NULL);
    add_def(b, &rate);
    add_big(b, nfill, 10, -1);
    np_model *m = np_builder_finish(b);
    np_config cfg;
    config(&cfg);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    np_model_free(m);
    return rs;
}

/* One connection: connect, read the answer until the server closes, then
 * reset (SO_LINGER 0), so that neither side keeps a TIME_WAIT socket that a
 * reused client port would stall on. True when an answer came. */
static bool rate_conn(const char *ip, int port)
{
    int fd = connect_to(ip, port, 5000);
    if (fd < 0)
        return false;
    char buf[64];
    ssize_t r, total = 0;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        total += r;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    return r == 0 && total > 0;
}

/* From netns, connections to ip:port (rate_conn) one after another for
 * secs seconds. Returns connections per second; *failed counts those
 * without an answer. */
static double conn_rate(const char *netns, const char *ip, int port, double secs, int *failed)
{
    int rfd = -1, wfd = -1;
    pid_t pid = fork_in_netns(netns, &rfd, &wfd);
    if (pid == 0) {
        int ok = 0, bad = 0;
        double t0 = now_s(), t = t0;
        while (t - t0 < secs) {
            if (rate_conn(ip, port))
                ok++;
            else
                bad++;
            t = now_s();
        }
        dprintf(wfd, "%d %d %.6f\n", ok, bad, t - t0);
        _exit(0);
    }
    char buf[96] = "";
    ssize_t r = read(rfd, buf, sizeof(buf) - 1);
    close(rfd);
    waitpid(pid, NULL, 0);
    int ok = 0;
    double elapsed = 0;
    KT_ASSERT_MSG(r > 0 && sscanf(buf, "%d %d %lf", &ok, failed, &elapsed) == 3 && elapsed > 0,
                  "rate client: \"%s\"", buf);
    return ok / elapsed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of_rounds(double v[RATE_ROUNDS])
{
    qsort(v, RATE_ROUNDS, sizeof(double), cmp_double);
    return v[RATE_ROUNDS / 2];
}

/* One measurement with nfill other Services installed: sync (partial from
 * the previous state), empty the node's conntrack table, measure. */
static double rate_round(np_nft *n, int nfill, int *failed)
{
    np_sync_stats st;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nft_sync(n, rate_ruleset(nfill), NULL, false, &st, &err), err);
    KT_ASSERT_EQ(run("ip netns exec %s conntrack -F 2>/dev/null", T.node), 0);
    return conn_rate(T.client, RATE_VIP, 80, RATE_SECONDS, failed);
}

/* New TCP connections per second from a pod to a ClusterIP (3 endpoints on
 * the same node, prerouting DNAT) with 10 and with 10,000 Services
 * installed, alternating RATE_ROUNDS times in the same run; the medians and
 * their ratio (target >= 0.9: a packet's cost does not grow with the number
 * of Services). */
KT_TEST_TIMEOUT(bench, netproxy_conn_rate, 300)
{
    skip_unless_root();
    if (system("command -v conntrack >/dev/null 2>&1") != 0)
        KT_SKIP("needs conntrack");
    topo_up();
    /* closed connections leave the table at once (this namespace only) */
    KT_ASSERT_EQ(run("ip netns exec %s sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=1 "
                     "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1",
                     T.node),
                 0);
    np_nft *n = open_in_node();
    static const int fill[2] = {9, 9999}; /* with `rate`: 10 and 10,000 */
    double rates[2][RATE_ROUNDS];
    int failed[2] = {0, 0};
    for (int r = 0; r < RATE_ROUNDS; r++) {
        for (int k = 0; k < 2; k++) {
            int f = 0;
            rates[k][r] = rate_round(n, fill[k], &f);
            failed[k] += f;
        }
    }
    for (int k = 0; k < 2; k++) {
        printf("BENCH rounds with %5d services:", fill[k] + 1);
        for (int r = 0; r < RATE_ROUNDS; r++)
            printf(" %.0f", rates[k][r]);
        printf(" connections/s\n");
    }
    double lo = median_of_rounds(rates[0]), hi = median_of_rounds(rates[1]);
    printf("BENCH new connections/s from a pod to a ClusterIP (connect, answer, close; median "
           "of %d x %.1f s): 10 services %.0f/s (%d failed), 10000 services %.0f/s (%d failed), "
           "ratio %.2f (target >= 0.9)\n",
           RATE_ROUNDS, RATE_SECONDS, lo, failed[0], hi, failed[1], hi / lo);
    np_nft_close(n);
    topo_down(NULL);
}

/* Every feature in both families (dual-stack ClusterIPs, externalIPs, an LB
 * IP with source ranges, externalTrafficPolicy Local, affinity, a Service
 * without endpoints): the kernel takes the batch, a full sync then finds
 * nothing to change, and `nft -f` of the rendered text builds the same
 * tables. */
KT_TEST_TIMEOUT(netproxy, dual_stack_all_features, 120)
{
    static const char *const JSON =
        "[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":["
        "\"10.96.0.10\",\"fd00:96::a\"],\"ports\":[{\"name\":\"http\",\"port\":80,\"nodePort\":"
        "30080},{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53,\"nodePort\":30053}],"
        "\"externalIPs\":[\"192.0.2.7\",\"2001:db8::7\"],\"loadBalancerSourceRanges\":["
        "\"203.0.113.0/24\",\"2001:db8:1::/48\"],\"externalTrafficPolicy\":\"Local\"},"
        "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.1\"},{\"ip\":"
        "\"2001:db8::1\"}]}}},"
        "{\"metadata\":{\"name\":\"aff\"},\"spec\":{\"type\":\"NodePort\",\"clusterIPs\":["
        "\"10.96.0.11\",\"fd00:96::b\"],\"ports\":[{\"port\":80,\"protocol\":\"SCTP\","
        "\"nodePort\":30081}],\"sessionAffinity\":\"ClientIP\",\"externalTrafficPolicy\":"
        "\"Local\"}},"
        "{\"metadata\":{\"name\":\"none\"},\"spec\":{\"clusterIPs\":[\"fd00:96::c\"],\"ports\":[{"
        "\"port\":80}]}},"
        "{\"metadata\":{\"name\":\"w4\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
        "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080},{\"name\":\"dns\","
        "\"protocol\":\"UDP\",\"port\":5353}],\"endpoints\":[{\"addresses\":[\"10.244.1.3\"],"
        "\"nodeName\":\"node\"},{\"addresses\":[\"10.244.2.3\"],\"nodeName\":\"n2\"}]},"
        "{\"metadata\":{\"name\":\"w6\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
        "\"addressType\":\"IPv6\",\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":[{"
        "\"addresses\":[\"fd00:244::3\"],\"nodeName\":\"n2\"}]},"
        "{\"metadata\":{\"name\":\"a6\",\"labels\":{\"kubernetes.io/service-name\":\"aff\"}},"
        "\"addressType\":\"IPv6\",\"ports\":[{\"port\":9,\"protocol\":\"SCTP\"}],\"endpoints\":[{"
        "\"addresses\":[\"fd00:244::5\"],\"nodeName\":\"node\"},{\"addresses\":[\"fd00:244::6\"],"
        "\"nodeName\":\"n2\"}]}]";
    skip_unless_root();
    memset(&T, 0, sizeof(T));
    snprintf(T.node, sizeof(T.node), "kt%d-np-node", (int)getpid());
    snprintf(T.out, sizeof(T.out), "kt%d-np-out", (int)getpid());
    kt_on_cleanup(topo_down, NULL);
    KT_ASSERT_EQ(run("ip netns add %s && ip netns add %s", T.node, T.out), 0);
    T.up = true;
    np_config cfg;
    config(&cfg);
    np_addr_parse("fd00:250::1", &cfg.node_ips[cfg.nnode_ips++]);
    np_cidr_parse("fd00:244::/56", false, &cfg.cluster_cidrs[cfg.ncluster_cidrs++]);
    cJSON *doc = cJSON_Parse(JSON);
    KT_ASSERT(doc);
    np_builder *b = np_builder_new(NULL, NULL);
    for (cJSON *it = doc->child; it; it = it->next) {
        kn_error *err = NULL;
        int r = cJSON_GetObjectItem(it, "addressType") ? np_builder_add_slice(b, it, &err)
                                                       : np_builder_add_service(b, it, &err);
        KT_ASSERT_OK(r, err);
    }
    cJSON_Delete(doc);
    np_model *m = np_builder_finish(b);
    np_nft *n = open_in_node();
    np_sync_stats st;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nft_sync(n, np_ruleset_build(m, &cfg, AF_INET),
                             np_ruleset_build(m, &cfg, AF_INET6), false, &st, &err),
                 err);
    KT_ASSERT(st.sets_added > 20 && st.rules_added > 40);
    KT_ASSERT_OK(np_nft_sync(n, np_ruleset_build(m, &cfg, AF_INET),
                             np_ruleset_build(m, &cfg, AF_INET6), true, &st, &err),
                 err);
    KT_ASSERT_EQ(st.messages, 0);
    np_nft_close(n);

    /* the same through nft -f, in the other namespace */
    char path[300];
    snprintf(path, sizeof(path), "%s/dual.nft", kt_tmpdir());
    FILE *f = fopen(path, "w");
    KT_ASSERT(f);
    for (int fam = 0; fam < 2; fam++) {
        np_ruleset *rs = np_ruleset_build(m, &cfg, fam ? AF_INET6 : AF_INET);
        char *text = np_ruleset_render(rs);
        KT_ASSERT(fputs(text, f) >= 0);
        free(text);
        np_ruleset_free(rs);
    }
    KT_ASSERT(fclose(f) == 0);
    KT_ASSERT_EQ(run("ip netns exec %s nft -f %s", T.out, path), 0);
    char node[48];
    memcpy(node, T.node, sizeof(node));
    memcpy(T.node, T.out, sizeof(node)); /* open_in_node enters T.node */
    n = open_in_node();
    memcpy(T.node, node, sizeof(node));
    KT_ASSERT_OK(np_nft_sync(n, np_ruleset_build(m, &cfg, AF_INET),
                             np_ruleset_build(m, &cfg, AF_INET6), true, &st, &err),
                 err);
    KT_ASSERT_EQ(st.messages, 0);
    np_nft_close(n);
    np_model_free(m);
    topo_down(NULL);
}
