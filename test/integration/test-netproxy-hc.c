/* test-netproxy-hc.c - the healthCheckNodePort servers (netproxy/
 * hcserver.h) on a node address inside a test network namespace: 200 with
 * the local endpoint count, 503 without local ready endpoints or while the
 * proxy is unhealthy, closed when the Service stops asking for it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/xalloc.h"
#include "netproxy/hcserver.h"
#include "test/runner/kt.h"

#define NODE_IP "10.77.0.1"
#define HC_PORT 32000

static char hc_ns[64];

static void hc_down(void *arg)
{
    (void)arg;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", hc_ns);
    if (system(cmd) != 0)
        fprintf(stderr, "could not delete netns %s\n", hc_ns);
}

static int run_sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* GET / from NODE_IP:port; returns the status (-errno when the connection
 * failed) and the body in body. */
static int http_get(int port, char *body, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, NODE_IP, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    static const char req[] = "GET /healthz HTTP/1.0\r\nHost: node\r\n\r\n";
    KT_ASSERT(write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1);
    char buf[4096];
    size_t n = 0;
    for (ssize_t r; n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0;)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
    int status = 0;
    KT_ASSERT_MSG(sscanf(buf, "HTTP/1.%*d %d", &status) == 1, "bad answer: %s", buf);
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, len, "%s", b ? b + 4 : "");
    return status;
}

/* Service default/web (LoadBalancer, externalTrafficPolicy policy) with
 * endpoints: ready on node, ready on other, and on node ready `ready`. */
static np_model *model(const char *policy, bool ready)
{
    char *svc = xasprintf(
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},\"spec\":{\"type\":"
        "\"LoadBalancer\",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"nodePort\":"
        "30080}],\"externalTrafficPolicy\":\"%s\",\"healthCheckNodePort\":%d}}",
        policy, HC_PORT);
    char *slice = xasprintf(
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-1\",\"labels\":{"
        "\"kubernetes.io/service-name\":\"web\"}},\"addressType\":\"IPv4\",\"ports\":[{\"port\":"
        "8080}],\"endpoints\":[{\"addresses\":[\"10.244.1.2\"],\"nodeName\":\"node\"},"
        "{\"addresses\":[\"10.244.2.2\"],\"nodeName\":\"other\"},{\"addresses\":[\"10.244.1.3\"],"
        "\"nodeName\":\"node\",\"conditions\":{\"ready\":%s}}]}",
        ready ? "true" : "false");
    np_builder *b = np_builder_new(NULL, NULL);
    cJSON *o = cJSON_Parse(svc);
    KT_ASSERT(np_builder_add_service(b, o, NULL) == 0);
    cJSON_Delete(o);
    o = cJSON_Parse(slice);
    KT_ASSERT(np_builder_add_slice(b, o, NULL) == 0);
    cJSON_Delete(o);
    free(svc);
    free(slice);
    return np_builder_finish(b);
}

static void sync_model(np_hcs *h, np_model *m)
{
    np_addr ip;
    np_addr_parse(NODE_IP, &ip);
    np_hcs_sync(h, m, "node", &ip, 1);
    np_model_free(m);
}

static void expect(int status, int local, const char *healthy)
{
    char body[1024], want[512];
    int got = http_get(HC_PORT, body, sizeof(body));
    snprintf(want, sizeof(want),
             "{\"service\":{\"namespace\":\"default\",\"name\":\"web\"},\"localEndpoints\":%d,"
             "\"serviceProxyHealthy\":%s}",
             local, healthy);
    KT_ASSERT_EQ(got, status);
    KT_ASSERT_STREQ(body, want);
}

KT_TEST_TIMEOUT(netproxy_hc, health_check_node_port, 60)
{
    if (geteuid() != 0 || run_sh("command -v ip >/dev/null 2>&1") != 0)
        KT_SKIP("needs root and ip (a network namespace)");
    snprintf(hc_ns, sizeof(hc_ns), "kt%d-hc", (int)getpid());
    kt_on_cleanup(hc_down, NULL);
    char *cmd = xasprintf("ip netns add %s && ip -n %s link set lo up && ip -n %s link add hc0 "
                          "type veth peer name hc1 && ip -n %s addr add " NODE_IP "/24 dev hc0 "
                          "&& ip -n %s link set hc0 up && ip -n %s link set hc1 up",
                          hc_ns, hc_ns, hc_ns, hc_ns, hc_ns, hc_ns);
    KT_ASSERT_EQ(run_sh(cmd), 0);
    free(cmd);
    int root = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", hc_ns);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    KT_ASSERT(root >= 0 && nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0);
    close(nsfd);

    np_health health;
    np_health_init(&health, kn_clock_monotonic(), 3600LL * 1000000000);
    np_health_updated(&health, kn_clock_now(kn_clock_monotonic()));
    np_hcs *h = np_hcs_new(&health);
    sync_model(h, model("Local", false));
    KT_ASSERT_EQ(np_hcs_len(h), 1);
    expect(200, 1, "true"); /* the not-ready one and the other node's do not count */
    sync_model(h, model("Local", true));
    expect(200, 2, "true");

    /* no local ready endpoint: 503 */
    np_model *m = model("Local", false);
    m->services[0].endpoints[0].ready = false;
    sync_model(h, m);
    expect(503, 0, "true");

    /* Cluster policy: the server closes */
    sync_model(h, model("Cluster", true));
    KT_ASSERT_EQ(np_hcs_len(h), 0);
    char body[64];
    KT_ASSERT_EQ(http_get(HC_PORT, body, sizeof(body)), -ECONNREFUSED);
    np_hcs_free(h);

    /* a proxy that never synced is not healthy: 503 even with endpoints */
    np_health fresh;
    np_health_init(&fresh, kn_clock_monotonic(), 3600LL * 1000000000);
    h = np_hcs_new(&fresh);
    sync_model(h, model("Local", true));
    expect(503, 2, "false");
    np_hcs_free(h);
    np_health_destroy(&fresh);
    np_health_destroy(&health);
    KT_ASSERT(setns(root, CLONE_NEWNET) == 0);
    close(root);
}
