/* test-proxy-api.c - `knode proxy` fed by `knode server`, with real packets,
 * only inside network namespaces this test creates:
 *
 *   out (10.250.0.2) --veth-- node (10.250.0.1; br0 10.244.1.1/24, br1 10.244.2.1/24)
 *   p1 p2 p3 (10.244.1.11-13, on br0): busybox httpd on 8080 answering its
 *            name, and this test's TCP echo (8081) and UDP echo (5353)
 *   c1 (10.244.2.11, on br1): a client pod
 *
 * `knode server` (API on 127.0.0.1:6443 of the node namespace) and `knode
 * proxy` both run inside the node namespace; kubectl runs there too and
 * creates a Service "web" and its EndpointSlice (no controller writes slices
 * for a Service without selector). Nothing is created in the root namespace:
 * `nft list tables` there is checked empty before and after. Every process
 * is stopped by PID and every namespace deleted at the end and on failure.
 * Skipped (with the reason) when not root. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "netproxy/nft.h"
#include "netproxy/proxier.h"
#include "test/runner/kt.h"

#define NPODS 3
#define MAX_PIDS 16
#define API_PORT "6443"
#define VIP_WAIT_S 30 /* how long a change may take to show (a hang guard only) */

typedef struct topo {
    char prefix[32];
    char node[48], out[48], client[48], pods[NPODS][48];
    char dir[300]; /* kt_tmpdir() */
    char kubeconfig[340];
    pid_t pids[MAX_PIDS];
    int npids;
    pid_t server, proxy;
    int proxy_starts;
    bool up;
} topo;

static topo T;

/* ---- shell, processes and namespaces ---- */

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

/* Output of a shell command (caller frees); *status its exit status. */
static char *capture(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *capture(int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    KT_ASSERT_MSG(p, "popen %s", cmd);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    free(cmd);
    if (!b.data)
        kn_buf_append_str(&b, "");
    return kn_buf_steal(&b);
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

static void stop_pid(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

static void topo_down(void *arg)
{
    (void)arg;
    stop_pid(&T.proxy, SIGKILL);
    stop_pid(&T.server, SIGKILL);
    for (int i = 0; i < T.npids; i++)
        stop_pid(&T.pids[i], SIGKILL);
    T.npids = 0;
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
    cleanup_free char *out = capture(NULL, "nft list tables 2>&1");
    KT_ASSERT_MSG(out[0] == '\0', "root namespace has nftables tables: %s", out);
}

/* Forks a child that enters netns, sends its output to log (appending) and
 * execs argv. */
static pid_t spawn_in(const char *netns, const char *log, char *const argv[])
{
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        enter_netns(netns);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* ---- topology ---- */

static void add_pod(const char *ns, const char *host_if, const char *br, const char *ip,
                    const char *gw)
{
    KT_ASSERT_EQ(run("ip netns add %s", ns), 0);
    KT_ASSERT_EQ(run("ip -n %s link add %s type veth peer name eth0 netns %s", T.node, host_if, ns),
                 0);
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
    /* the node's own Service traffic needs a route before DNAT happens; it
     * is also the default route whose interface holds the NodePort address */
    KT_ASSERT_EQ(run("ip -n %s route add default via 10.250.0.2", n), 0);
}

static void echo_main(const char *name);

/* busybox httpd answering the pod's name, and the echo servers. */
static void start_pod_servers(int i)
{
    const char *name = T.pods[i] + strlen(T.prefix);
    char www[400], log[400];
    snprintf(www, sizeof(www), "%s/www-%s", T.dir, name);
    snprintf(log, sizeof(log), "%s/httpd-%s.log", T.dir, name);
    KT_ASSERT(mkdir(www, 0755) == 0);
    KT_ASSERT_EQ(run("echo %s > %s/index.html", name, www), 0);
    char *argv[] = {"busybox", "httpd", "-f", "-p", "8080", "-h", www, NULL};
    T.pids[T.npids++] = spawn_in(T.pods[i], log, argv);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        enter_netns(T.pods[i]);
        echo_main(name);
    }
    T.pids[T.npids++] = pid;
}

static void topo_up(void)
{
    memset(&T, 0, sizeof(T));
    snprintf(T.prefix, sizeof(T.prefix), "kt%d-pa-", (int)getpid());
    snprintf(T.node, sizeof(T.node), "%snode", T.prefix);
    snprintf(T.out, sizeof(T.out), "%sout", T.prefix);
    snprintf(T.client, sizeof(T.client), "%sc1", T.prefix);
    for (int i = 0; i < NPODS; i++)
        snprintf(T.pods[i], sizeof(T.pods[i]), "%sp%d", T.prefix, i + 1);
    snprintf(T.dir, sizeof(T.dir), "%s", kt_tmpdir());
    snprintf(T.kubeconfig, sizeof(T.kubeconfig), "%s/data/admin.kubeconfig", T.dir);
    kt_on_cleanup(topo_down, NULL);
    node_up();
    for (int i = 0; i < NPODS; i++) {
        char ip[32], hif[16];
        snprintf(ip, sizeof(ip), "10.244.1.%d", 11 + i);
        snprintf(hif, sizeof(hif), "vp%d", i + 1);
        add_pod(T.pods[i], hif, "br0", ip, "10.244.1.1");
    }
    add_pod(T.client, "vc1", "br1", "10.244.2.11", "10.244.2.1");
    for (int i = 0; i < NPODS; i++)
        start_pod_servers(i);
}

/* ---- the pods' echo servers ---- */

static int bind_port(int type, int port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0))
        _exit(97);
    return fd;
}

static void udp_answer(int fd, const char *name)
{
    char buf[256];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    if (r >= 0 && sendto(fd, name, strlen(name), 0, (struct sockaddr *)&from, fl) < 0)
        return;
}

/* TCP echo on 8081 ("name:<line>") and UDP on 5353 (answers the name),
 * forever (killed by the test). */
static void echo_main(const char *name)
{
    struct pollfd p[18];
    int np = 2;
    p[0] = (struct pollfd){.fd = bind_port(SOCK_STREAM, 8081), .events = POLLIN};
    p[1] = (struct pollfd){.fd = bind_port(SOCK_DGRAM, 5353), .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)np, -1) < 0)
            continue;
        if ((p[0].revents & POLLIN) && np < 18) {
            int c = accept4(p[0].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0)
                p[np++] = (struct pollfd){.fd = c, .events = POLLIN};
        }
        if (p[1].revents & POLLIN)
            udp_answer(p[1].fd, name);
        for (int i = 2; i < np; i++) {
            if (!p[i].revents)
                continue;
            char buf[256], reply[300];
            ssize_t r = read(p[i].fd, buf, sizeof(buf));
            if (r <= 0) {
                close(p[i].fd);
                p[i--] = p[--np];
                continue;
            }
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

/* One HTTP GET: writes the body's first line ("p1") or "!<errno>". */
static void http_get(const char *ip, int port, char *out, size_t len)
{
    int fd = connect_to(ip, port, 3000);
    if (fd < 0) {
        snprintf(out, len, "!%d", -fd);
        return;
    }
    const char req[] = "GET / HTTP/1.0\r\nHost: web\r\n\r\n";
    char buf[2048];
    size_t got = 0;
    ssize_t r = write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1 ? 1 : -1;
    while (r > 0 && got < sizeof(buf) - 1) {
        r = read(fd, buf + got, sizeof(buf) - 1 - got);
        got += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    buf[got] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (!body) {
        snprintf(out, len, "!read");
        return;
    }
    snprintf(out, len, "%s", body + 4);
    out[strcspn(out, "\r\n")] = '\0';
}

typedef struct tally {
    int n;
    int by_pod[NPODS];
    int refused, timedout, other;
    char first_other[32];
} tally;

static void tally_line(tally *t, const char *line)
{
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

/* From netns, n HTTP requests to ip:port; counts who answered. */
static void probe(const char *netns, const char *ip, int port, int n, tally *t)
{
    memset(t, 0, sizeof(*t));
    int fds[2];
    KT_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        enter_netns(netns);
        for (int i = 0; i < n; i++) {
            char name[64];
            http_get(ip, port, name, sizeof(name));
            dprintf(fds[1], "%s\n", name);
        }
        _exit(0);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[128];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        tally_line(t, line);
    }
    fclose(f);
    waitpid(pid, NULL, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Probes (30 requests a round) until exactly the pods in want[] answer and
 * nothing else happens; fails after VIP_WAIT_S. */
static void expect_pods(const char *netns, const char *ip, int port, const bool want[NPODS],
                        const char *what)
{
    double end = now_s() + VIP_WAIT_S;
    tally t;
    for (;;) {
        probe(netns, ip, port, 30, &t);
        bool ok = t.refused + t.timedout + t.other == 0;
        for (int i = 0; i < NPODS; i++)
            ok = ok && (t.by_pod[i] > 0) == want[i];
        if (ok) {
            printf("%s: %s:%d from %s: p1=%d p2=%d p3=%d\n", what, ip, port, netns, t.by_pod[0],
                   t.by_pod[1], t.by_pod[2]);
            return;
        }
        KT_ASSERT_MSG(now_s() < end,
                      "%s: %s:%d from %s: p1=%d p2=%d p3=%d refused=%d timedout=%d other=%d (%s)",
                      what, ip, port, netns, t.by_pod[0], t.by_pod[1], t.by_pod[2], t.refused,
                      t.timedout, t.other, t.first_other);
        usleep(200000);
    }
}

static const bool ALL[NPODS] = {true, true, true};

/* ---- knode server, kubectl, knode proxy ---- */

static void start_server(void)
{
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *data = xasprintf("%s/data", T.dir);
    cleanup_free char *log = xasprintf("%s/server.log", T.dir);
    char *argv[] = {knode,       "server",        "--data-dir", data, "--bind-address",
                    "127.0.0.1", "--secure-port", API_PORT,     NULL};
    T.server = spawn_in(T.node, log, argv);
    for (int i = 0; i < 300; i++) {
        cleanup_free char *out = capture(NULL,
                                         "ip netns exec %s curl -sk --cert %s/admin.crt --key "
                                         "%s/admin.key https://127.0.0.1:" API_PORT "/readyz 2>&1",
                                         T.node, data, data);
        if (strcmp(out, "ok") == 0)
            return;
        usleep(100000);
    }
    KT_FAIL("knode server did not become ready in %s", T.node);
}

static char *kubectl(int *status, const char *args)
{
    return capture(status, "ip netns exec %s kubectl --kubeconfig %s %s 2>&1", T.node, T.kubeconfig,
                   args);
}

static void apply(const char *name, const char *yaml)
{
    cleanup_free char *path = xasprintf("%s/%s.yaml", T.dir, name);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f && fputs(yaml, f) >= 0 && fclose(f) == 0);
    cleanup_free char *args = xasprintf("apply -f %s", path);
    int st = 0;
    cleanup_free char *out = kubectl(&st, args);
    KT_ASSERT_MSG(st == 0, "kubectl %s: %s", args, out);
}

static const char SERVICE[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n"
    "  type: NodePort\n  ports:\n"
    "  - {name: http, port: 80, targetPort: 8080, protocol: TCP}\n"
    "  - {name: echo, port: 81, targetPort: 8081, protocol: TCP}\n"
    "  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}\n";

/* The Service's EndpointSlice with the pods in want[] (ready, on "node"). */
static void apply_slice(const bool want[NPODS])
{
    kn_buf y = KN_BUF_INIT;
    kn_buf_append_str(&y, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
                          "  name: web-1\n  namespace: default\n  labels:\n"
                          "    kubernetes.io/service-name: web\n"
                          "    endpointslice.kubernetes.io/managed-by: knode-test\n"
                          "addressType: IPv4\nports:\n"
                          "- {name: http, port: 8080, protocol: TCP}\n"
                          "- {name: echo, port: 8081, protocol: TCP}\n"
                          "- {name: dns, port: 5353, protocol: UDP}\n");
    int n = 0;
    for (int i = 0; i < NPODS; i++)
        n += want[i];
    kn_buf_append_str(&y, n ? "endpoints:\n" : "endpoints: []\n");
    for (int i = 0; i < NPODS; i++) {
        if (want[i])
            kn_buf_appendf(&y,
                           "- addresses: [\"10.244.1.%d\"]\n  conditions: {ready: true}\n"
                           "  nodeName: node\n",
                           11 + i);
    }
    apply("slice", y.data);
    kn_buf_free(&y);
}

/* The Service's ClusterIP and nodePort of port "http" (as allocated). */
static void service_addrs(char vip[32], int *node_port)
{
    cleanup_free char *out =
        kubectl(NULL, "get svc web -o jsonpath='{.spec.clusterIP} {.spec.ports[0].nodePort}'");
    KT_ASSERT_MSG(sscanf(out, "%31s %d", vip, node_port) == 2, "service web: %s", out);
}

static void start_proxy(void)
{
    cleanup_free char *knode = kt_beside_self("knode");
    cleanup_free char *log = xasprintf("%s/proxy.log", T.dir);
    char *argv[] = {knode,
                    "proxy",
                    "--kubeconfig",
                    T.kubeconfig,
                    "--hostname-override",
                    "node",
                    "--cluster-cidr",
                    "10.244.0.0/16",
                    "--healthz-bind-address",
                    "127.0.0.1:10256",
                    "--metrics-bind-address",
                    "127.0.0.1:10249",
                    "-v",
                    "2",
                    NULL};
    T.proxy = spawn_in(T.node, log, argv);
    T.proxy_starts++;
}

/* GET http://127.0.0.1:port/path in the node namespace: the body; *code the
 * HTTP status (0: no answer). */
static char *node_http(int port, const char *path, int *code)
{
    char *out = capture(NULL,
                        "ip netns exec %s curl -s -m 5 -w '\\n%%{http_code}' "
                        "http://127.0.0.1:%d%s 2>&1",
                        T.node, port, path);
    char *nl = strrchr(out, '\n');
    *code = nl ? atoi(nl + 1) : 0;
    if (nl)
        *nl = '\0';
    return out;
}

/* The value of a metric line "name value" (-1 when absent). */
static double metric(const char *name)
{
    int code = 0;
    cleanup_free char *body = node_http(10249, "/metrics", &code);
    if (code != 200)
        return -1;
    size_t n = strlen(name);
    for (char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, n) == 0 && l[n] == ' ')
            return atof(l + n + 1);
    }
    return -1;
}

/* Waits until the running proxy finished a first sync: /healthz answers 200
 * (and said 503, or nothing, before). */
static void wait_first_sync(void)
{
    double end = now_s() + VIP_WAIT_S;
    for (;;) {
        int code = 0;
        cleanup_free char *body = node_http(10256, "/healthz", &code);
        if (code == 200) {
            KT_ASSERT_CONTAINS(body, "\"lastUpdated\": \"");
            KT_ASSERT_CONTAINS(body, "\"currentTime\": \"");
            KT_ASSERT(metric("kubeproxy_sync_proxy_rules_duration_seconds_count") >= 1);
            return;
        }
        KT_ASSERT_MSG(code == 503 || code == 0, "healthz answered %d: %s", code, body);
        KT_ASSERT_MSG(now_s() < end, "no first sync; last healthz %d: %s", code, body);
        if (waitpid(T.proxy, NULL, WNOHANG) != 0) {
            T.proxy = 0;
            cleanup_free char *log = capture(NULL, "tail -20 %s/proxy.log", T.dir);
            KT_FAIL("knode proxy exited:\n%s", log);
        }
        usleep(100000);
    }
}

static void skip_unless_root(void)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces and nftables)");
    if (system("command -v ip >/dev/null 2>&1 && command -v nft >/dev/null 2>&1 && "
               "command -v kubectl >/dev/null 2>&1 && command -v busybox >/dev/null 2>&1 && "
               "command -v conntrack >/dev/null 2>&1 && command -v curl >/dev/null 2>&1") != 0)
        KT_SKIP("needs ip, nft, kubectl, busybox, conntrack and curl");
}

/* Everything up to a synced proxy with the Service and all three endpoints. */
static void cluster_up(char *vip, int *node_port)
{
    skip_unless_root();
    root_tables_empty();
    topo_up();
    start_server();
    apply("service", SERVICE);
    apply_slice(ALL);
    service_addrs(vip, node_port);
    start_proxy();
    wait_first_sync();
}

/* SIGTERM: a clean stop (exit 0, nothing a sanitizer reported). */
static void stop_proxy_cleanly(void)
{
    int status = 0;
    kill(T.proxy, SIGTERM);
    KT_ASSERT(waitpid(T.proxy, &status, 0) == T.proxy);
    T.proxy = 0;
    cleanup_free char *log = capture(NULL, "cat %s/proxy.log", T.dir);
    KT_ASSERT_MSG(!strstr(log, "runtime error") && !strstr(log, "Sanitizer"),
                  "sanitizer report in the proxy log:\n%s", log);
    KT_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "knode proxy exit status %d",
                  status);
}

/* Stops the proxy (its tables stay), optionally runs `knode proxy
 * --cleanup` (they go), and removes everything. */
static void cluster_down(bool cleanup)
{
    cleanup_free char *tables = capture(NULL, "ip netns exec %s nft list tables", T.node);
    KT_ASSERT_CONTAINS(tables, "table ip knode-proxy");
    stop_proxy_cleanly();
    cleanup_free char *still = capture(NULL, "ip netns exec %s nft list tables", T.node);
    KT_ASSERT_STREQ(still, tables);
    if (cleanup) {
        cleanup_free char *knode = kt_beside_self("knode");
        KT_ASSERT_EQ(run("ip netns exec %s %s proxy --cleanup 2>/dev/null", T.node, knode), 0);
        cleanup_free char *none = capture(NULL, "ip netns exec %s nft list tables", T.node);
        KT_ASSERT_STREQ(none, "");
    }
    topo_down(NULL);
    root_tables_empty();
}

/* Polls /healthz until it answers code with body containing want. */
static void expect_healthz(int want_code, const char *want)
{
    double end = now_s() + VIP_WAIT_S;
    for (;;) {
        int code = 0;
        cleanup_free char *body = node_http(10256, "/healthz", &code);
        if (code == want_code && strstr(body, want))
            return;
        KT_ASSERT_MSG(now_s() < end, "healthz: %d %s, want %d %s", code, body, want_code, want);
        usleep(100000);
    }
}

/* The Node "node" being removed by the cluster autoscaler: /healthz says 503
 * (load balancers stop sending), /livez stays 200. */
static void node_eligibility(void)
{
    static const char NODE[] = "apiVersion: v1\nkind: Node\nmetadata:\n  name: node\n";
    apply("node", NODE);
    expect_healthz(200, "\"nodeEligible\": true}");
    apply("node", "apiVersion: v1\nkind: Node\nmetadata:\n  name: node\nspec:\n  taints:\n"
                  "  - {key: ToBeDeletedByClusterAutoscaler, value: \"1700000000\", effect: "
                  "NoSchedule}\n");
    expect_healthz(503, "\"nodeEligible\": false}");
    int code = 0;
    cleanup_free char *livez = node_http(10256, "/livez", &code);
    KT_ASSERT_EQ(code, 200);
    int st = 0;
    cleanup_free char *out = kubectl(&st, "delete node node");
    KT_ASSERT_MSG(st == 0, "delete node: %s", out);
    expect_healthz(503, "\"nodeEligible\": false}");
    apply("node2", NODE);
    expect_healthz(200, "\"nodeEligible\": true}");
}

/* ---- the tests ---- */

/* ClusterIP from a pod and from the node, NodePort from outside, a Service
 * scaled to 0 rejects at once, and comes back. */
KT_TEST_TIMEOUT(proxy_api, clusterip_nodeport_scale, 240)
{
    char vip[32];
    int node_port = 0;
    cluster_up(vip, &node_port);
    expect_pods(T.client, vip, 80, ALL, "from a pod");
    expect_pods(T.node, vip, 80, ALL, "from the node");
    expect_pods(T.out, "10.250.0.1", node_port, ALL, "NodePort from outside");

    static const bool NONE[NPODS] = {false, false, false};
    apply_slice(NONE);
    /* until the sync lands connections still succeed; then they are
     * refused (a reject, not silence: no timeout may ever be seen) */
    double end = now_s() + VIP_WAIT_S;
    for (;;) {
        tally t;
        probe(T.client, vip, 80, 1, &t);
        KT_ASSERT_MSG(t.timedout == 0 && t.other == 0, "scaled to 0: timeout or error (%s)",
                      t.first_other);
        if (t.refused)
            break;
        KT_ASSERT_MSG(now_s() < end, "scaled to 0: still answered after %d s", VIP_WAIT_S);
        usleep(100000);
    }
    tally t;
    probe(T.node, vip, 80, 5, &t);
    KT_ASSERT_EQ(t.refused, 5);
    probe(T.out, "10.250.0.1", node_port, 5, &t);
    KT_ASSERT_EQ(t.refused, 5);

    apply_slice(ALL);
    expect_pods(T.client, vip, 80, ALL, "scaled back");
    expect_pods(T.out, "10.250.0.1", node_port, ALL, "NodePort scaled back");

    int code = 0;
    cleanup_free char *livez = node_http(10256, "/livez", &code);
    KT_ASSERT_EQ(code, 200);
    node_eligibility();
    KT_ASSERT(metric("knode_proxy_endpoints") == 3);
    KT_ASSERT(metric("kubeproxy_sync_proxy_rules_nftables_sync_failures_total") == 0);
    KT_ASSERT(metric("kubeproxy_sync_partial_proxy_rules_duration_seconds_count") >= 2);
    cluster_down(true);
}

/* ---- skipped objects ---- */

/* Two Services claim the same externalIP:port (the API server allows it):
 * the later one in namespace/name order is skipped with a log line and a
 * Warning Event naming it and the field, and everything else stays
 * programmed. */
KT_TEST_TIMEOUT(proxy_api, conflicting_service_event, 240)
{
    char vip[32];
    int node_port = 0;
    cluster_up(vip, &node_port);
    static const char A[] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext-a\n"
                            "  namespace: default\nspec:\n  externalIPs: [\"192.0.2.50\"]\n"
                            "  ports:\n  - {port: 80, targetPort: 8080}\n";
    static const char B[] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext-b\n"
                            "  namespace: default\nspec:\n  externalIPs: [\"192.0.2.50\"]\n"
                            "  ports:\n  - {port: 80, targetPort: 8080}\n";
    apply("ext-a", A);
    apply("ext-b", B);
    double end = now_s() + VIP_WAIT_S;
    for (;;) {
        cleanup_free char *ev =
            kubectl(NULL, "get events -n default --field-selector involvedObject.name=ext-b -o "
                          "jsonpath='{range .items[*]}{.type} {.reason} {.involvedObject.kind} "
                          "{.source.component}: {.message}{\"\\n\"}{end}'");
        if (strstr(ev, "ServiceConflict")) {
            KT_ASSERT_CONTAINS(ev, "Warning ServiceConflict Service kube-proxy: service "
                                   "default/ext-b: externalIP 192.0.2.50:80/tcp is already used "
                                   "by default/ext-a");
            break;
        }
        KT_ASSERT_MSG(now_s() < end, "no Event on ext-b: %s", ev);
        usleep(200000);
    }
    cleanup_free char *none =
        kubectl(NULL, "get events -n default --field-selector involvedObject.name=ext-a -o name");
    KT_ASSERT_STREQ(none, "");
    cleanup_free char *log = capture(NULL, "cat %s/proxy.log", T.dir);
    KT_ASSERT_CONTAINS(log, "skipping invalid object");
    KT_ASSERT_CONTAINS(log, "service default/ext-b: externalIP 192.0.2.50:80/tcp");
    /* the others are untouched: web still answers, ext-a is programmed */
    expect_pods(T.client, vip, 80, ALL, "beside the skipped Service");
    cleanup_free char *keys =
        capture(NULL, "ip netns exec %s nft list set ip knode-proxy noep-reject", T.node);
    KT_ASSERT_CONTAINS(keys, "192.0.2.50 . tcp . 80");
    cluster_down(false);
}

/* ---- UDP ---- */

/* A client in c1 that keeps one UDP socket (one source port): each byte
 * written to *ctl sends one query to vip:53 and reads back who answered. */
static pid_t start_udp_client(const char *vip, int *ctl)
{
    int fds[2];
    KT_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        enter_netns(T.client);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
        inet_pton(AF_INET, vip, &a.sin_addr);
        struct timeval tv = {.tv_sec = 1};
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
            _exit(96);
        char c;
        while (read(fds[1], &c, 1) == 1) {
            char buf[64];
            ssize_t r = send(s, "q", 1, 0) == 1 ? recv(s, buf, sizeof(buf) - 1, 0) : -1;
            if (dprintf(fds[1], "%.*s\n", r > 0 ? (int)r : 7, r > 0 ? buf : "TIMEOUT") < 0)
                break;
        }
        _exit(0);
    }
    close(fds[1]);
    *ctl = fds[0];
    T.pids[T.npids++] = pid;
    return pid;
}

static void udp_ask(int ctl, char *who, size_t len)
{
    KT_ASSERT(write(ctl, "x", 1) == 1);
    ssize_t r = read(ctl, who, len - 1);
    KT_ASSERT(r > 0);
    who[r] = '\0';
    who[strcspn(who, "\n")] = '\0';
}

/* conntrack entries in the node namespace to vip (UDP) with reply source ip */
static int ct_entries(const char *vip, const char *reply_src)
{
    cleanup_free char *out =
        capture(NULL, "ip netns exec %s conntrack -L -p udp --orig-dst %s --reply-src %s 2>&1",
                T.node, vip, reply_src);
    int n = 0;
    for (char *l = out; (l = strstr(l, "udp ")) != NULL; l += 4)
        n++;
    return n;
}

/* A UDP flow pinned to an endpoint that leaves the Service: its conntrack
 * entry is deleted, so the very next datagram of the same flow reaches a
 * remaining endpoint (without the cleanup it would stay pinned for as long
 * as it keeps sending). */
KT_TEST_TIMEOUT(proxy_api, udp_conntrack_cleanup, 240)
{
    char vip[32];
    int node_port = 0;
    cluster_up(vip, &node_port);
    int ctl = -1;
    start_udp_client(vip, &ctl);
    char who[64];
    udp_ask(ctl, who, sizeof(who));
    KT_ASSERT_MSG(who[0] == 'p' && who[1] >= '1' && who[1] <= '3' && !who[2], "answer: %s", who);
    int gone = who[1] - '1';
    char gone_ip[32];
    snprintf(gone_ip, sizeof(gone_ip), "10.244.1.%d", 11 + gone);
    for (int i = 0; i < 3; i++) { /* the flow is pinned */
        char again[64];
        udp_ask(ctl, again, sizeof(again));
        KT_ASSERT_STREQ(again, who);
    }
    KT_ASSERT_EQ(ct_entries(vip, gone_ip), 1);

    bool rest[NPODS] = {true, true, true};
    rest[gone] = false;
    apply_slice(rest);
    double end = now_s() + VIP_WAIT_S;
    for (;;) {
        char now[64];
        udp_ask(ctl, now, sizeof(now));
        if (strcmp(now, who) != 0) {
            KT_ASSERT_MSG(now[0] == 'p' && now[1] - '1' != gone, "after removal: %s", now);
            break;
        }
        KT_ASSERT_MSG(now_s() < end, "the UDP flow stayed on %s after its removal", who);
        usleep(200000);
    }
    KT_ASSERT_EQ(ct_entries(vip, gone_ip), 0);
    KT_ASSERT(metric("knode_proxy_conntrack_deleted_total") >= 1);
    close(ctl);
    cluster_down(false);
}

/* ---- restarts ---- */

/* A TCP connection through the ClusterIP from c1 that stays open: each byte
 * written to *ctl sends "ping" and reads the echo back. */
static void start_holder(const char *vip, int *ctl)
{
    int fds[2];
    KT_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        enter_netns(T.client);
        int c = connect_to(vip, 81, 5000);
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
    T.pids[T.npids++] = pid;
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

static char *node_table(void)
{
    return capture(NULL, "ip netns exec %s nft -a list table ip knode-proxy 2>&1", T.node);
}

/* The first sync line the latest proxy process logged (caller frees). */
static char *last_start_first_sync(void)
{
    cleanup_free char *log = capture(NULL, "cat %s/proxy.log", T.dir);
    char *start = NULL;
    for (char *l = log; (l = strstr(l, "\"starting\"")) != NULL; l++)
        start = l;
    KT_ASSERT(start);
    char *sync = strstr(start, "] synced ");
    KT_ASSERT_MSG(sync, "no sync logged: %s", start);
    return xstrndup(sync, strcspn(sync, "\n"));
}

/* kill -9 leaves the rules (traffic keeps flowing); a restarted proxy
 * reconciles the table it finds without a flush: with nothing changed the
 * table is byte-for-byte the same (rule handles included) and the
 * established connection survives; a change made while it was down is
 * applied on start. */
KT_TEST_TIMEOUT(proxy_api, kill9_restart_reconciles, 240)
{
    char vip[32];
    int node_port = 0;
    cluster_up(vip, &node_port);
    expect_pods(T.client, vip, 80, ALL, "before the kill");
    int ctl = -1;
    start_holder(vip, &ctl);
    assert_echo(ctl, "before the kill");
    cleanup_free char *before = node_table();
    KT_ASSERT_CONTAINS(before, "table ip knode-proxy");

    stop_pid(&T.proxy, SIGKILL);
    expect_pods(T.client, vip, 80, ALL, "while the proxy is dead");
    expect_pods(T.out, "10.250.0.1", node_port, ALL, "NodePort while the proxy is dead");
    assert_echo(ctl, "while the proxy is dead");

    start_proxy();
    wait_first_sync();
    /* a full sync that found nothing to change: an empty transaction */
    cleanup_free char *first = last_start_first_sync();
    KT_ASSERT_CONTAINS(first, "full=1 ");
    KT_ASSERT_CONTAINS(first, " messages=0 ");
    cleanup_free char *after = node_table();
    KT_ASSERT_STREQ(after, before);
    assert_echo(ctl, "after the restart");

    stop_pid(&T.proxy, SIGKILL);
    static const bool TWO[NPODS] = {true, true, false};
    apply_slice(TWO);
    start_proxy();
    wait_first_sync();
    expect_pods(T.client, vip, 80, TWO, "changed while the proxy was dead");
    assert_echo(ctl, "after the second restart");
    close(ctl);
    cluster_down(false);
}

/* ---- benchmark (information only; suite "bench" runs when named) ---- */

#define BENCH_NSVC 10000

typedef struct bench_src {
    pthread_mutex_t mu;
    cJSON *objs[2][BENCH_NSVC]; /* [kind][k]: Service k, its slice */
} bench_src;

static void bs_set(np_objects *out, size_t n)
{
    out->n = n;
    out->v = xcalloc(n + 1, sizeof(*out->v));
}

static void bs_list(void *ud, np_kind kind, np_objects *out)
{
    bench_src *s = ud;
    pthread_mutex_lock(&s->mu);
    bs_set(out, BENCH_NSVC);
    for (size_t k = 0; k < BENCH_NSVC; k++)
        out->v[k] = s->objs[kind][k];
}

/* Service keys are "bench/s<k>"; its one slice is labelled with it. */
static void bs_one(void *ud, np_kind kind, const char *key, np_objects *out)
{
    bench_src *s = ud;
    pthread_mutex_lock(&s->mu);
    int k = -1;
    bs_set(out, sscanf(key, "bench/s%d", &k) == 1 && k >= 0 && k < BENCH_NSVC);
    if (out->n)
        out->v[0] = s->objs[kind][k];
}

static void bs_get_service(void *ud, const char *key, np_objects *out)
{
    bs_one(ud, NP_KIND_SERVICE, key, out);
}

static void bs_slices_of(void *ud, const char *key, np_objects *out)
{
    bs_one(ud, NP_KIND_SLICE, key, out);
}

static void bs_release(void *ud, np_objects *objs)
{
    free(objs->v);
    pthread_mutex_unlock(&((bench_src *)ud)->mu);
}

static int bs_sync(void *ud, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                   kn_error **err)
{
    return np_nft_sync(ud, v4, v6, full, st, err);
}

static int bs_sync_delta(void *ud, np_ruleset *const from[2], np_ruleset *const to[2],
                         np_sync_stats *st, kn_error **err)
{
    return np_nft_sync_delta(ud, from, to, st, err);
}

/* Service k (ClusterIP 10.96/12 + k, port 80) and its slice of nep
 * endpoints, shifted by `shift`. */
static void bench_objects(bench_src *s, int k, int nep, int shift)
{
    char *svc = xasprintf("{\"metadata\":{\"namespace\":\"bench\",\"name\":\"s%d\"},\"spec\":"
                          "{\"clusterIP\":\"10.%d.%d.%d\",\"ports\":[{\"port\":80}]}}",
                          k, 96 + (k >> 16), (k >> 8) & 255, k & 255);
    kn_buf eps = KN_BUF_INIT;
    for (int e = 0; e < nep; e++) {
        int ip = k * nep + e + shift;
        kn_buf_appendf(&eps, "%s{\"addresses\":[\"10.%d.%d.%d\"]}", e ? "," : "", 128 + (ip >> 16),
                       (ip >> 8) & 255, ip & 255);
    }
    char *slice = xasprintf("{\"metadata\":{\"namespace\":\"bench\",\"name\":\"s%d-1\",\"labels\":"
                            "{\"kubernetes.io/service-name\":\"s%d\"}},\"addressType\":\"IPv4\","
                            "\"ports\":[{\"port\":8080}],\"endpoints\":[%s]}",
                            k, k, eps.data);
    if (!s->objs[0][k])
        s->objs[0][k] = cJSON_Parse(svc);
    cJSON_Delete(s->objs[1][k]);
    s->objs[1][k] = cJSON_Parse(slice);
    free(svc);
    free(slice);
    kn_buf_free(&eps);
}

static void wait_syncs(np_proxier *p, uint64_t n)
{
    np_proxier_stats st;
    for (np_proxier_get_stats(p, &st); st.syncs < n || !np_proxier_wait_idle(p, 0);
         np_proxier_get_stats(p, &st))
        usleep(200);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Changes the endpoints of `rounds` Services one at a time, each through
 * the sync loop; prints the median and worst notify-to-synced time. */
static void bench_partials(bench_src *src, np_proxier *p, int rounds)
{
    double *t = xcalloc((size_t)rounds, sizeof(double));
    np_proxier_stats st;
    np_proxier_get_stats(p, &st);
    uint64_t syncs = st.syncs;
    for (int i = 0; i < rounds; i++) {
        int k = 4242 + i * 97;
        pthread_mutex_lock(&src->mu);
        bench_objects(src, k, 10, 1 << 20);
        pthread_mutex_unlock(&src->mu);
        double t0 = now_s();
        np_proxier_notify_service(
            p, NP_KIND_SLICE, "bench",
            cJSON_GetObjectItem(cJSON_GetObjectItem(src->objs[0][k], "metadata"), "name")
                ->valuestring);
        wait_syncs(p, ++syncs);
        t[i] = now_s() - t0;
    }
    np_proxier_get_stats(p, &st);
    qsort(t, (size_t)rounds, sizeof(double), cmp_double);
    printf("BENCH one Service's endpoints changed (partial sync, notify to synced, %d changes): "
           "median %.1f ms, worst %.1f ms; last: %zu messages, +%zu -%zu elements\n",
           rounds, t[rounds / 2] * 1e3, t[rounds - 1] * 1e3, st.last.messages, st.last.elems_added,
           st.last.elems_deleted);
    free(t);
}

/* The sync loop over 10,000 Services x 10 endpoints with the real nftables
 * backend (in a namespace): the first (full) sync, one Service's endpoints
 * changed at a time (partial: only that Service is rebuilt and only the
 * difference sent), and a full sync afterwards, which must find the kernel
 * already equal to a rebuild from every object. */
KT_TEST_TIMEOUT(bench, proxier_10k_services, 600)
{
    skip_unless_root();
    memset(&T, 0, sizeof(T));
    snprintf(T.prefix, sizeof(T.prefix), "kt%d-pa-", (int)getpid());
    snprintf(T.node, sizeof(T.node), "%snode", T.prefix);
    kt_on_cleanup(topo_down, NULL);
    KT_ASSERT_EQ(run("ip netns add %s", T.node), 0);
    T.up = true;
    int root = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    enter_netns(T.node);
    np_nft *nft = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_nft_open(&nft, &err), err);
    KT_ASSERT(setns(root, CLONE_NEWNET) == 0);
    close(root);
    bench_src *src = xcalloc(1, sizeof(*src));
    /* the proxier holds a Service and its slices at once */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&src->mu, &ma);
    for (int k = 0; k < BENCH_NSVC; k++)
        bench_objects(src, k, 10, 0);
    np_proxier_opts o = {.node_name = "node",
                         .ipv4 = true,
                         .ipv6 = true,
                         .sync_period_ns = 3600LL * 1000000000,
                         .source = {bs_list, bs_release, NULL, src, bs_get_service, bs_slices_of},
                         .dataplane = {bs_sync, NULL, NULL, nft, bs_sync_delta}};
    np_proxier *p = np_proxier_new(&o);
    double t0 = now_s();
    KT_ASSERT_OK(np_proxier_start(p, &err), err);
    wait_syncs(p, 1);
    printf("BENCH proxier 10000 services x 10 endpoints: first sync (full, new table, and the "
           "kept state for partial syncs) %.3f s\n",
           now_s() - t0);
    bench_partials(src, p, 21);
    np_metrics *m = np_proxier_metrics(p);
    printf("BENCH sync durations (inside the loop): full %.3f s; partial %.1f ms on average over "
           "%llu\n",
           m->sync_full.sum, m->sync_partial.sum * 1e3 / (double)m->sync_partial.count,
           (unsigned long long)m->sync_partial.count);
    /* the same path a rebuild takes: notify without a key */
    np_proxier_notify(p, NP_KIND_SERVICE);
    t0 = now_s();
    wait_syncs(p, 23);
    np_proxier_stats st;
    np_proxier_get_stats(p, &st);
    printf("BENCH the same change as a rebuild from every object (the path before partial "
           "syncs): %.3f s, %zu messages\n",
           now_s() - t0, st.last.messages);
    np_proxier_free(p);
    /* after 21 partial syncs the kernel equals a full rebuild */
    np_builder *b = np_builder_new(NULL, NULL);
    for (int k = 0; k < BENCH_NSVC; k++) {
        np_builder_add_service(b, src->objs[0][k], NULL);
        np_builder_add_slice(b, src->objs[1][k], NULL);
    }
    np_model *model = np_builder_finish(b);
    np_config cfg;
    np_config_init(&cfg);
    cfg.node_name = "node";
    np_sync_stats fs;
    KT_ASSERT_OK(np_nft_sync(nft, np_ruleset_build(model, &cfg, AF_INET),
                             np_ruleset_build(model, &cfg, AF_INET6), true, &fs, &err),
                 err);
    printf("BENCH full sync (read back + diff) after the partial syncs: %zu messages "
           "(0: the kernel already matched the rebuild)\n",
           fs.messages);
    KT_ASSERT_EQ(fs.messages, 0);
    np_model_free(model);
    np_nft_close(nft);
    for (int k = 0; k < BENCH_NSVC; k++) {
        cJSON_Delete(src->objs[0][k]);
        cJSON_Delete(src->objs[1][k]);
    }
    free(src);
    topo_down(NULL);
}
