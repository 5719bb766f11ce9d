/* test-dns-api.c - `knode dns` fed by `knode server`, driven by kubectl and
 * queried with dig.
 *
 * Each test makes its own network namespace kt<pid>-dnsw (lo up, 10.96.0.10,
 * 169.254.20.10 and 10.53.0.2 on lo) and moves itself into it (setns), so every process
 * it starts runs there: `knode server` on the namespace's 127.0.0.1, `knode
 * dns` on 10.96.0.10 with its HTTP endpoint on 127.0.0.1, kubectl, dig and
 * curl. The upstream resolver is a DNS server instance inside the test
 * process on 10.53.0.2 serving the zone example.test, so nothing leaves the
 * namespace. Services and EndpointSlices (discovery.k8s.io/v1, labelled
 * kubernetes.io/service-name) are created with kubectl, as a controller
 * would. Everything started is killed by PID and the namespace removed at
 * the end, also on failure (kt_on_cleanup). KT_VERBOSE=1 shows every
 * command and its output. */
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns/server.h"
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define DNS_IP "10.96.0.10"
#define UPSTREAM_IP "10.53.0.2"
#define LOCAL_IP "169.254.20.10" /* --dns-local-address, as NodeLocal DNSCache */
#define UPSTREAM_A "10.53.1.1"   /* www.default.svc.example.test */

typedef struct env {
    char netns[64];
    char dir[300];
    char kubeconfig[340];
    int api_port, http_port;
    pid_t server_pid, dns_pid;
    dns_zone_holder *up_zones;
    dns_server *up_srv;
} env;

static bool verbose(void)
{
    const char *v = getenv("KT_VERBOSE");
    return v && strcmp(v, "1") == 0;
}

static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command; returns its output (stdout + stderr), caller frees. */
static char *run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *cmd = xvasprintf(fmt, ap);
    va_end(ap);
    cleanup_free char *full = xasprintf("(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    KT_ASSERT_MSG(p != NULL, "cannot run %s", cmd);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        kn_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (verbose())
        printf("$ %s (exit %d)\n%s", cmd, st, b.data);
    return kn_buf_steal(&b);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    KT_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- processes and the namespace ---------------------------------------------------- */

static void stop_pid(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid(*pid, NULL, WNOHANG) == 0; i++)
        usleep(50000);
    if (waitpid(*pid, NULL, WNOHANG) == 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

static void show_log(const char *name)
{
    cleanup_free char *path = xasprintf("%s/%s", kt_tmpdir(), name);
    cleanup_free char *cmd = xasprintf("tail -n 40 %s 2>/dev/null", path);
    printf("---- %s (last lines)\n", name);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(none)\n");
}

/* Cleanup: the processes (by PID), the upstream, then the namespace. */
static void teardown(void *arg)
{
    env *e = arg;
    stop_pid(&e->dns_pid);
    stop_pid(&e->server_pid);
    show_log("dns.log"); /* shown only when the test fails (or verbose) */
    if (e->up_srv)
        dns_server_stop(e->up_srv);
    if (e->up_zones)
        dns_zone_holder_free(e->up_zones);
    e->up_srv = NULL;
    e->up_zones = NULL;
    if (e->netns[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", e->netns);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove netns %s\n", e->netns);
        e->netns[0] = '\0';
    }
}

static void need_tools(void)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    if (system("command -v ip >/dev/null && command -v dig >/dev/null && "
               "command -v kubectl >/dev/null && command -v curl >/dev/null") != 0)
        KT_SKIP("needs ip, dig, kubectl and curl");
}

static void enter_netns(env *e)
{
    snprintf(e->netns, sizeof(e->netns), "kt%d-dnsw", (int)getpid());
    cleanup_free char *out = run("ip netns add %s", e->netns);
    KT_ASSERT_MSG(out[0] == '\0', "ip netns add: %s", out);
    cleanup_free char *o2 =
        run("ip -n %s link set lo up && ip -n %s addr add %s/32 dev lo && "
            "ip -n %s addr add %s/32 dev lo && ip -n %s addr add %s/32 dev lo",
            e->netns, e->netns, DNS_IP, e->netns, UPSTREAM_IP, e->netns, LOCAL_IP);
    KT_ASSERT_MSG(o2[0] == '\0', "set up %s: %s", e->netns, o2);
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", e->netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    KT_ASSERT_MSG(fd >= 0, "open %s", path);
    KT_ASSERT_MSG(setns(fd, CLONE_NEWNET) == 0, "setns %s", path);
    close(fd);
}

/* The upstream: zone example.test with www.default.svc.example.test. */
static void start_upstream(env *e)
{
    static const char *const www_ips[] = {UPSTREAM_A};
    dns_model_service svcs[] = {{.ns = "default",
                                 .name = "www",
                                 .type = DNS_SVC_CLUSTER_IP,
                                 .cluster_ips = www_ips,
                                 .ncluster_ips = 1}};
    dns_model m = {svcs, 1, NULL, 0};
    dns_zone_config zc;
    dns_zone_config_default(&zc);
    zc.domain = "example.test";
    zc.ttl = 30;
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&zc, &m, &z, &err), err);
    e->up_zones = dns_zone_holder_new(z);
    static const char *const listen[] = {UPSTREAM_IP};
    dns_server_config sc;
    dns_server_config_default(&sc);
    sc.listen = listen;
    sc.nlisten = 1;
    sc.workers = 1;
    KT_ASSERT_OK(dns_server_start(&sc, e->up_zones, &e->up_srv, &err), err);
}

static pid_t spawn(const char *log, char *const argv[])
{
    pid_t pid = fork();
    KT_ASSERT(pid >= 0);
    if (pid == 0) {
        char *path = xasprintf("%s/%s", kt_tmpdir(), log);
        if (!freopen(path, "a", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void start_server(env *e)
{
    cleanup_free char *knode = kt_beside_self("knode");
    e->api_port = free_port();
    snprintf(e->dir, sizeof(e->dir), "%s/data", kt_tmpdir());
    snprintf(e->kubeconfig, sizeof(e->kubeconfig), "%s/admin.kubeconfig", e->dir);
    char port[16];
    snprintf(port, sizeof(port), "%d", e->api_port);
    char *argv[] = {knode,       "server",        "--data-dir", e->dir, "--bind-address",
                    "127.0.0.1", "--secure-port", port,         NULL};
    e->server_pid = spawn("server.log", argv);
    for (int i = 0; i < 300; i++) {
        cleanup_free char *out =
            run("curl -sk --cert %s/admin.crt --key %s/admin.key https://127.0.0.1:%d/readyz",
                e->dir, e->dir, e->api_port);
        if (strcmp(out, "ok") == 0)
            return;
        KT_ASSERT_MSG(waitpid(e->server_pid, NULL, WNOHANG) == 0, "knode server exited");
        usleep(50000);
    }
    KT_FAIL("knode server did not become ready on port %d", e->api_port);
}

static char *http_get(const env *e, const char *path)
{
    return run("curl -s -w ' %%{http_code}' http://127.0.0.1:%d%s", e->http_port, path);
}

static void start_dns(env *e)
{
    cleanup_free char *knode = kt_beside_self("knode");
    e->http_port = free_port();
    char health[32];
    snprintf(health, sizeof(health), "127.0.0.1:%d", e->http_port);
    char *argv[] = {knode,
                    "dns",
                    "--kubeconfig",
                    e->kubeconfig,
                    "--dns-listen-address",
                    DNS_IP,
                    "--dns-local-address",
                    LOCAL_IP,
                    "--dns-upstream",
                    UPSTREAM_IP,
                    "--dns-health-address",
                    health,
                    "--dns-threads",
                    "2",
                    "-v",
                    "2",
                    NULL};
    e->dns_pid = spawn("dns.log", argv);
    for (int i = 0; i < 200; i++) {
        cleanup_free char *out = http_get(e, "/ready");
        if (strcmp(out, "OK 200") == 0)
            return;
        KT_ASSERT_MSG(waitpid(e->dns_pid, NULL, WNOHANG) == 0, "knode dns exited");
        usleep(50000);
    }
    KT_FAIL("knode dns did not become ready");
}

/* The whole set-up; teardown is registered before anything is made. */
static void setup(env *e)
{
    memset(e, 0, sizeof(*e));
    need_tools();
    kt_on_cleanup(teardown, e);
    enter_netns(e);
    start_upstream(e);
    start_server(e);
    start_dns(e);
}

/* ---- kubectl and dig ---------------------------------------------------------------- */

static void kubectl_apply(const env *e, const char *yaml)
{
    static int seq;
    cleanup_free char *path = xasprintf("%s/obj-%d.yaml", kt_tmpdir(), seq++);
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    fputs(yaml, f);
    fclose(f);
    cleanup_free char *out =
        run("kubectl --kubeconfig %s apply -f %s >/dev/null && echo applied", e->kubeconfig, path);
    KT_ASSERT_MSG(strstr(out, "applied") != NULL, "kubectl apply failed: %s", out);
}

static char *kubectl(const env *e, const char *args)
{
    return run("kubectl --kubeconfig %s %s", e->kubeconfig, args);
}

/* dig at the cluster DNS address, tabs and runs of spaces squeezed. */
static char *dig(const char *args)
{
    return run("dig @" DNS_IP " +time=2 +tries=1 %s | tr -s '\\t ' '  '", args);
}

#define ASSERT_SHORT(args, expect)                                                                 \
    do {                                                                                           \
        cleanup_free char *o_ = dig("+short " args);                                               \
        KT_ASSERT_STREQ(o_, expect);                                                               \
    } while (0)

#define ASSERT_DIG(args, expect)                                                                   \
    do {                                                                                           \
        cleanup_free char *o_ = dig(args);                                                         \
        KT_ASSERT_CONTAINS(o_, expect);                                                            \
    } while (0)

/* Polls `dig +short args` until it prints want; gives up after budget_ns.
 * Returns whether it did. */
static bool dig_until(const char *args, const char *want, int64_t budget_ns)
{
    int64_t deadline = kn_time_monotonic_ns() + budget_ns;
    for (;;) {
        cleanup_free char *o = run("dig @" DNS_IP " +time=1 +tries=1 +short %s", args);
        if (strcmp(o, want) == 0)
            return true;
        if (kn_time_monotonic_ns() >= deadline)
            return false;
        usleep(20000);
    }
}

#define ONE_SECOND (1000 * 1000 * 1000LL)

/* ---- the objects ---------------------------------------------------------------------- */

static const char web_yaml[] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
                               "  namespace: default\nspec:\n  ports:\n"
                               "  - {name: http, port: 80, targetPort: 8080}\n"
                               "  - {name: dns, port: 53, protocol: UDP}\n";

static const char db_yaml[] =
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: prod}\n"
    "spec:\n  clusterIP: None\n  ports: [{name: mysql, port: 3306}]\n---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-a\n"
    "  namespace: prod\n  labels: {kubernetes.io/service-name: db}\n"
    "addressType: IPv4\nports: [{name: mysql, port: 3306, protocol: TCP}]\nendpoints:\n"
    "- {addresses: [10.244.1.10], hostname: db-0, conditions: {ready: true}}\n"
    "- {addresses: [10.244.1.11], hostname: db-1, conditions: {ready: true}}\n"
    "- {addresses: [10.244.1.12], hostname: db-2, conditions: {ready: true}}\n---\n"
    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-b\n"
    "  namespace: prod\n  labels: {kubernetes.io/service-name: db}\n"
    "addressType: IPv4\nports: [{name: mysql, port: 3306, protocol: TCP}]\nendpoints:\n"
    "- {addresses: [10.244.1.13], hostname: db-3, conditions: {ready: false}}\n";

static const char ext_yaml[] = "apiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: "
                               "default}\nspec:\n  type: ExternalName\n"
                               "  externalName: www.default.svc.example.test\n";

/* A headless Service with 100 ready endpoints: too big for UDP. */
static char *big_yaml(void)
{
    kn_buf b = KN_BUF_INIT;
    kn_buf_append_str(&b, "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: "
                          "default}\nspec:\n  clusterIP: None\n---\n"
                          "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
                          "  name: big-a\n  namespace: default\n"
                          "  labels: {kubernetes.io/service-name: big}\n"
                          "addressType: IPv4\nendpoints:\n");
    for (int i = 1; i <= 100; i++)
        kn_buf_appendf(&b, "- {addresses: [10.244.2.%d]}\n", i);
    return kn_buf_steal(&b);
}

static char *cluster_ip(const env *e, const char *ns, const char *name)
{
    cleanup_free char *args = xasprintf("get svc %s -n %s -o jsonpath={.spec.clusterIP}", name, ns);
    char *ip = kubectl(e, args);
    KT_ASSERT_MSG(strncmp(ip, "10.96.", 6) == 0, "ClusterIP of %s/%s: %s", ns, name, ip);
    return ip;
}

/* SIGTERM to knode dns: it must shut down cleanly (exit 0; under the
 * sanitizers, no report). */
static void stop_dns_cleanly(env *e)
{
    KT_ASSERT(kill(e->dns_pid, SIGTERM) == 0);
    int st = 0;
    KT_ASSERT(waitpid(e->dns_pid, &st, 0) == e->dns_pid);
    e->dns_pid = 0;
    KT_ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "knode dns ended with status %#x", st);
    cleanup_free char *log = run("cat %s/dns.log", kt_tmpdir());
    KT_ASSERT_CONTAINS(log, "shutting down");
    KT_ASSERT(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL);
}

/* ---- tests ------------------------------------------------------------------------------ */

KT_TEST_TIMEOUT(dns_api, records_from_kubectl_objects, 180)
{
    static env e; /* the cleanup runs after the test function returns */
    setup(&e);
    kubectl_apply(&e, web_yaml);
    kubectl_apply(&e, db_yaml);
    kubectl_apply(&e, ext_yaml);
    cleanup_free char *web_ip = cluster_ip(&e, "default", "web");
    cleanup_free char *web_a = xasprintf("%s\n", web_ip);
    KT_ASSERT_MSG(dig_until("web.default.svc.cluster.local A", web_a, 10 * ONE_SECOND),
                  "web never appeared");
    KT_ASSERT(dig_until("ext.default.svc.cluster.local CNAME", "www.default.svc.example.test.\n",
                        10 * ONE_SECOND));

    /* ClusterIP: A, the kubernetes Service, SRV per named port, PTR */
    ASSERT_DIG("web.default.svc.cluster.local A", "flags: qr aa rd ra;");
    ASSERT_SHORT("_http._tcp.web.default.svc.cluster.local SRV",
                 "0 100 80 web.default.svc.cluster.local.\n");
    ASSERT_SHORT("_dns._udp.web.default.svc.cluster.local SRV",
                 "0 100 53 web.default.svc.cluster.local.\n");
    cleanup_free char *ptr = xasprintf("+short -x %s", web_ip);
    cleanup_free char *ptr_out = dig(ptr);
    KT_ASSERT_STREQ(ptr_out, "web.default.svc.cluster.local.\n");
    cleanup_free char *k8s_ip = cluster_ip(&e, "default", "kubernetes");
    cleanup_free char *k8s_a = xasprintf("%s\n", k8s_ip);
    cleanup_free char *k8s_out = dig("+short kubernetes.default.svc.cluster.local A");
    KT_ASSERT_STREQ(k8s_out, k8s_a);

    /* headless: both slices merged, ready endpoints only, hostnames, SRV
     * with the slices' ports, PTR for endpoints; over TCP as well */
    ASSERT_SHORT("db.prod.svc.cluster.local A | sort", "10.244.1.10\n10.244.1.11\n10.244.1.12\n");
    ASSERT_SHORT("+tcp db-1.db.prod.svc.cluster.local A", "10.244.1.11\n");
    ASSERT_SHORT("_mysql._tcp.db.prod.svc.cluster.local SRV | sort",
                 "0 33 3306 db-0.db.prod.svc.cluster.local.\n"
                 "0 33 3306 db-1.db.prod.svc.cluster.local.\n"
                 "0 33 3306 db-2.db.prod.svc.cluster.local.\n");
    ASSERT_SHORT("-x 10.244.1.12", "db-2.db.prod.svc.cluster.local.\n");
    ASSERT_DIG("db-3.db.prod.svc.cluster.local A", "status: NXDOMAIN"); /* not ready */

    /* ExternalName: the CNAME, followed upstream for the address */
    ASSERT_DIG("+noall +answer ext.default.svc.cluster.local A",
               "ext.default.svc.cluster.local. 5 IN CNAME www.default.svc.example.test.");
    ASSERT_DIG("+noall +answer ext.default.svc.cluster.local A",
               "www.default.svc.example.test. 30 IN A " UPSTREAM_A);

    /* negative answers carry the SOA; namespaces are NODATA */
    ASSERT_DIG("nope.default.svc.cluster.local A", "status: NXDOMAIN");
    ASSERT_DIG("nope.default.svc.cluster.local A",
               ";; AUTHORITY SECTION:\ncluster.local. 5 IN SOA ns.dns.cluster.local. "
               "hostmaster.cluster.local.");
    ASSERT_DIG("prod.svc.cluster.local A", "status: NOERROR");
    ASSERT_DIG("prod.svc.cluster.local A", "ANSWER: 0, AUTHORITY: 1,");
    ASSERT_SHORT("ns.dns.cluster.local A", DNS_IP "\n");
    ASSERT_SHORT("10-244-1-5.prod.pod.cluster.local A", "10.244.1.5\n");
    ASSERT_DIG("10-244-1-5.nons.pod.cluster.local A", "status: NXDOMAIN");

    /* the node-local address answers the same, over UDP and TCP */
    cleanup_free char *local = run("dig @" LOCAL_IP " +short +time=2 +tries=1 "
                                   "db-0.db.prod.svc.cluster.local A; dig @" LOCAL_IP
                                   " +tcp +short +time=2 +tries=1 web.default.svc.cluster.local A");
    cleanup_free char *local_want = xasprintf("10.244.1.10\n%s\n", web_ip);
    KT_ASSERT_STREQ(local, local_want);

    /* names outside the zone go to the test's upstream */
    ASSERT_SHORT("www.default.svc.example.test A", UPSTREAM_A "\n");
    ASSERT_DIG("nope.default.svc.example.test A", "status: NXDOMAIN");
    ASSERT_DIG("nope.default.svc.example.test A", "example.test. 30 IN SOA");

    /* health and metrics */
    cleanup_free char *health = http_get(&e, "/health");
    KT_ASSERT_STREQ(health, "OK 200");
    cleanup_free char *metrics = http_get(&e, "/metrics");
    KT_ASSERT_CONTAINS(metrics, "knode_dns_requests_total{proto=\"udp\",type=\"A\"} ");
    KT_ASSERT_CONTAINS(metrics, "knode_dns_responses_total{rcode=\"NXDOMAIN\"} ");
    KT_ASSERT_CONTAINS(metrics, "\nknode_dns_zone_ready 1\n");
    KT_ASSERT_CONTAINS(metrics, "\nknode_dns_zone_services 4\n"); /* kubernetes web db ext */
    KT_ASSERT_CONTAINS(metrics, "\nknode_dns_cache_misses_total ");
    KT_ASSERT(strstr(metrics, "\nknode_dns_cache_misses_total 0\n") == NULL);
    stop_dns_cleanly(&e);
}

KT_TEST_TIMEOUT(dns_api, truncation_and_tcp_retry_with_100_endpoints, 180)
{
    static env e; /* the cleanup runs after the test function returns */
    setup(&e);
    cleanup_free char *yaml = big_yaml();
    kubectl_apply(&e, yaml);
    KT_ASSERT(dig_until("10-244-2-100.big.default.svc.cluster.local A", "10.244.2.100\n",
                        10 * ONE_SECOND));
    /* over UDP 100 addresses do not fit: TC, no answers */
    ASSERT_DIG("+ignore big.default.svc.cluster.local A", "flags: qr aa tc rd ra;");
    /* dig retries over TCP by itself and gets all 100 */
    cleanup_free char *n = dig("+noall +answer big.default.svc.cluster.local A | wc -l");
    KT_ASSERT_STREQ(n, "100\n");
}

KT_TEST_TIMEOUT(dns_api, service_changes_visible_within_1s, 180)
{
    static env e; /* the cleanup runs after the test function returns */
    setup(&e);
    kubectl_apply(&e, web_yaml);
    kubectl_apply(&e, db_yaml);
    cleanup_free char *web_ip = cluster_ip(&e, "default", "web");
    cleanup_free char *web_a = xasprintf("%s\n", web_ip);
    KT_ASSERT(dig_until("web.default.svc.cluster.local A", web_a, 10 * ONE_SECOND));

    /* each change is served within 1 s of kubectl returning */
    cleanup_free char *del = kubectl(&e, "delete svc web -n default");
    KT_ASSERT_CONTAINS(del, "deleted");
    KT_ASSERT_MSG(dig_until("web.default.svc.cluster.local A", "", ONE_SECOND),
                  "deleted Service still answered after 1 s");
    ASSERT_DIG("web.default.svc.cluster.local A", "status: NXDOMAIN");

    kubectl_apply(&e, "apiVersion: v1\nkind: Service\nmetadata: {name: web2, namespace: "
                      "default}\nspec:\n  ports: [{name: http, port: 8080}]\n");
    cleanup_free char *web2_ip = cluster_ip(&e, "default", "web2");
    cleanup_free char *web2_a = xasprintf("%s\n", web2_ip);
    KT_ASSERT_MSG(dig_until("web2.default.svc.cluster.local A", web2_a, ONE_SECOND),
                  "new Service not answered within 1 s");

    /* an endpoint becoming ready, in a slice update */
    kubectl_apply(&e, "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n"
                      "  name: db-b\n  namespace: prod\n"
                      "  labels: {kubernetes.io/service-name: db}\n"
                      "addressType: IPv4\nports: [{name: mysql, port: 3306}]\nendpoints:\n"
                      "- {addresses: [10.244.1.13], hostname: db-3, conditions: {ready: "
                      "true}}\n");
    KT_ASSERT_MSG(dig_until("db-3.db.prod.svc.cluster.local A", "10.244.1.13\n", ONE_SECOND),
                  "endpoint change not answered within 1 s");

    /* a Service turned into an ExternalName */
    kubectl_apply(&e, "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: "
                      "default}\nspec:\n  type: ExternalName\n  externalName: elsewhere.example\n");
    KT_ASSERT(dig_until("web.default.svc.cluster.local CNAME", "elsewhere.example.\n", ONE_SECOND));
    stop_dns_cleanly(&e);
}

KT_TEST_TIMEOUT(dns_api, invalid_objects_are_logged_and_skipped, 180)
{
    static env e; /* the cleanup runs after the test function returns */
    setup(&e);
    kubectl_apply(&e, db_yaml);
    KT_ASSERT(dig_until("db-0.db.prod.svc.cluster.local A", "10.244.1.10\n", 10 * ONE_SECOND));
    /* an IPv6 address in an IPv4 slice: the API server may refuse it; if it
     * stores it, knode dns leaves that endpoint out and says why */
    cleanup_free char *path = xasprintf("%s/bad.yaml", kt_tmpdir());
    FILE *f = fopen(path, "w");
    KT_ASSERT(f != NULL);
    fputs("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-bad\n"
          "  namespace: prod\n  labels: {kubernetes.io/service-name: db}\n"
          "addressType: IPv4\nendpoints:\n- {addresses: ['fd00::1'], hostname: db-9}\n"
          "- {addresses: [10.244.1.19], hostname: db-8}\n",
          f);
    fclose(f);
    cleanup_free char *out = run("kubectl --kubeconfig %s apply -f %s", e.kubeconfig, path);
    if (strstr(out, "created") == NULL) {
        KT_ASSERT_CONTAINS(out, "Invalid");
        return;
    }
    KT_ASSERT(dig_until("db-8.db.prod.svc.cluster.local A", "10.244.1.19\n", 10 * ONE_SECOND));
    ASSERT_DIG("db-9.db.prod.svc.cluster.local A", "status: NXDOMAIN");
    cleanup_free char *log = run("cat %s/dns.log", kt_tmpdir());
    KT_ASSERT_CONTAINS(log, "\"skipping invalid object\" error=\"endpointslice prod/db-bad: "
                            "endpoints[0].addresses[0]: invalid IPv4 address \\\"fd00::1\\\"\"");
    ASSERT_SHORT("db-0.db.prod.svc.cluster.local A", "10.244.1.10\n");
}

KT_TEST(dns_api, bad_flag_values_name_the_flag)
{
    cleanup_free char *knode = kt_beside_self("knode");
    static const struct {
        const char *args, *error;
    } cases[] = {
        {"--dns-pods verified", "invalid value \"verified\" for --dns-pods"},
        {"--dns-ttl 99999", "invalid value \"99999\" for --dns-ttl"},
        {"--dns-port 0", "invalid value \"0\" for --dns-port"},
        {"--dns-listen-address 10.96.0.10:53", "for --dns-listen-address"},
        {"--dns-upstream not-an-ip", "for --dns-upstream"},
        {"--dns-threads -1", "for --dns-threads"},
        {"--dns-port abc", "--dns-port"},
        {"--dns-health-address localhost:8080", "for --dns-health-address"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        cleanup_free char *out = run("%s dns %s; echo \"exit=$?\"", knode, cases[i].args);
        KT_ASSERT_CONTAINS(out, cases[i].error);
        KT_ASSERT_CONTAINS(out, "exit=2");
    }
    /* a kubeconfig that cannot be loaded is reported at start */
    cleanup_free char *out =
        run("%s dns --kubeconfig /nonexistent --dns-upstream 127.0.0.1; echo \"exit=$?\"", knode);
    KT_ASSERT_CONTAINS(out, "load kubeconfig");
    KT_ASSERT_CONTAINS(out, "exit=1");
}
