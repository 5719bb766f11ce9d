/* test-daemon.c - `knode dns` flag values: every bad one is an error naming
 * the flag; and a daemon whose API server is not reachable (yet) serves
 * /health but not /ready. */
#include "api-client/informer.h"
#include "api-client/kubeconfig.h"
#include "api-client/rest.h"
#include "dns/daemon.h"
#include "lib/cleanup.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

KT_TEST(dns_daemon, defaults_are_valid)
{
    dns_daemon_config cfg;
    dns_daemon_config_default(&cfg);
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_daemon_config_check(&cfg, &err), err);
    cfg.listen_address = "10.96.0.10, fd00:96::a";
    cfg.local_address = "169.254.20.10";
    cfg.upstream = "10.0.0.2,10.0.0.3:5353,[fd00::2]:53";
    cfg.pods = "disabled";
    cfg.ttl = 0;
    cfg.threads = 64;
    cfg.health_address = "";
    KT_ASSERT_OK(dns_daemon_config_check(&cfg, &err), err);
}

typedef struct bad_case {
    const char *field, *value;
    long long num;
    const char *error;
} bad_case;

static const bad_case bad[] = {
    {"pods", "verified", 0, "invalid value \"verified\" for --dns-pods: want insecure or disabled"},
    {"pods", "", 0, "invalid value \"\" for --dns-pods"},
    {"listen", "10.96.0.10:53", 0,
     "invalid value \"10.96.0.10:53\" for --dns-listen-address: want IP addresses (the port is "
     "--dns-port)"},
    {"listen", "", 0, "invalid value \"\" for --dns-listen-address: want at least one IP address"},
    {"listen", "10.96.0.10,dns.local", 0, "for --dns-listen-address"},
    {"local", "169.254.20", 0, "invalid value \"169.254.20\" for --dns-local-address"},
    {"upstream", "10.0.0.2,8.8.8.8:99999", 0,
     "invalid value \"10.0.0.2,8.8.8.8:99999\" for --dns-upstream: invalid port in "
     "\"8.8.8.8:99999\""},
    {"upstream", "resolver.example", 0, "for --dns-upstream: invalid address"},
    {"domain", "", 0, "invalid value \"\" for --cluster-domain: want a DNS name"},
    {"domain", "a..b", 0, "invalid value \"a..b\" for --cluster-domain"},
    {"port", NULL, 0, "invalid value \"0\" for --dns-port: want 1..65535"},
    {"port", NULL, 65536, "invalid value \"65536\" for --dns-port"},
    {"ttl", NULL, -1, "invalid value \"-1\" for --dns-ttl: want 0..3600 seconds"},
    {"ttl", NULL, 86400, "invalid value \"86400\" for --dns-ttl"},
    {"threads", NULL, -2, "invalid value \"-2\" for --dns-threads"},
    {"threads", NULL, 1000, "invalid value \"1000\" for --dns-threads"},
    {"resolv", "", 0, "no upstream resolvers: set --dns-upstream or --dns-resolv-conf"},
    {"health", "8080", 0,
     "invalid value \"8080\" for --dns-health-address: want ip:port or [ip6]:port"},
    {"health", "localhost:8080", 0, "for --dns-health-address"},
};

static void apply(dns_daemon_config *cfg, const bad_case *c)
{
    if (strcmp(c->field, "pods") == 0)
        cfg->pods = c->value;
    else if (strcmp(c->field, "listen") == 0)
        cfg->listen_address = c->value;
    else if (strcmp(c->field, "local") == 0)
        cfg->local_address = c->value;
    else if (strcmp(c->field, "upstream") == 0)
        cfg->upstream = c->value;
    else if (strcmp(c->field, "domain") == 0)
        cfg->cluster_domain = c->value;
    else if (strcmp(c->field, "port") == 0)
        cfg->port = c->num;
    else if (strcmp(c->field, "ttl") == 0)
        cfg->ttl = c->num;
    else if (strcmp(c->field, "threads") == 0)
        cfg->threads = c->num;
    else if (strcmp(c->field, "resolv") == 0)
        cfg->resolv_conf = c->value;
    else if (strcmp(c->field, "health") == 0)
        cfg->health_address = c->value;
}

KT_TEST(dns_daemon, bad_values_name_the_flag)
{
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        dns_daemon_config cfg;
        dns_daemon_config_default(&cfg);
        apply(&cfg, &bad[i]);
        kn_error *err = NULL;
        KT_ASSERT_FAILS(dns_daemon_config_check(&cfg, &err));
        KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
        KT_ASSERT_CONTAINS(kn_error_msg(err), bad[i].error);
        kn_error_free(&err);
    }
}

static char *http_get(int port, const char *path)
{
    cleanup_close int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KT_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    char req[128];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
    KT_ASSERT(write(fd, req, (size_t)n) == n);
    static char buf[65536];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    return buf;
}

/* A client for an API server that is not there (nothing is dialled until
 * the informers start). */
static kc_client *unreachable_client(void)
{
    static const char kubeconfig[] =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
        "    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n"
        "users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n"
        "    cluster: c\n    user: u\ncurrent-context: x\n";
    cleanup_kc_config kc_config *kc = NULL;
    kc_client *c = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(kc_config_load_data(kubeconfig, strlen(kubeconfig), "test", NULL, &kc, &err), err);
    kc_client_options o = {.max_retries = -1}; /* as knode dns: no retry waits on stop */
    KT_ASSERT_OK(kc_client_new(kc, &o, &c, &err), err);
    return c;
}

KT_TEST(dns_daemon, not_ready_before_the_first_zone)
{
    kc_client *c = unreachable_client();
    kc_informer_factory *f = kc_informer_factory_new(c);
    dns_daemon_config cfg;
    dns_daemon_config_default(&cfg);
    cfg.upstream = "127.0.0.1:1";
    cfg.health_address = "127.0.0.1:0";
    dns_daemon *d = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_daemon_new(&cfg, f, &d, &err), err);
    int port = dns_daemon_http_port(d);
    KT_ASSERT(port > 0);
    KT_ASSERT_CONTAINS(http_get(port, "/health"), " 200 OK");
    KT_ASSERT_CONTAINS(http_get(port, "/ready"), " 503 ");
    KT_ASSERT_CONTAINS(http_get(port, "/metrics"), "\nknode_dns_zone_ready 0\n");
    kc_informer_factory_free(f);
    dns_daemon_free(d);
    kc_client_free(c);
}

static int free_udp_port(void)
{
    cleanup_close int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    KT_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    return ntohs(sa.sin_port);
}

/* One UDP query to 127.0.0.1:port; returns the response's rcode. */
static int query_rcode(int port, const char *name)
{
    uint8_t msg[512], resp[1232];
    size_t n = dnst_query(msg, 0x1234, DNS_FLAG_RD, name, DNS_TYPE_A, -1);
    cleanup_close int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KT_ASSERT(sendto(fd, msg, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n);
    ssize_t r = recv(fd, resp, sizeof(resp), 0);
    KT_ASSERT_MSG(r >= 12, "no answer from 127.0.0.1:%d", port);
    return resp[3] & 0x0f;
}

KT_TEST(dns_daemon, serves_servfail_for_cluster_names_until_synced)
{
    kc_client *c = unreachable_client();
    kc_informer_factory *f = kc_informer_factory_new(c);
    dns_daemon_config cfg;
    dns_daemon_config_default(&cfg);
    cfg.listen_address = "127.0.0.1";
    cfg.port = free_udp_port();
    cfg.threads = 1;
    cfg.upstream = "127.0.0.1:1";
    cfg.health_address = "127.0.0.1:0";
    cfg.startup_timeout_ns = 100 * 1000 * 1000; /* the API never answers */
    dns_daemon *d = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_daemon_new(&cfg, f, &d, &err), err);
    KT_ASSERT_OK(kc_informer_factory_start(f, &err), err);
    KT_ASSERT_OK(dns_daemon_serve(d, &err), err);
    KT_ASSERT_EQ(query_rcode((int)cfg.port, "kubernetes.default.svc.cluster.local"),
                 DNS_RCODE_SERVFAIL);
    KT_ASSERT_EQ(query_rcode((int)cfg.port, "nope.svc.cluster.local"), DNS_RCODE_SERVFAIL);
    KT_ASSERT_CONTAINS(http_get(dns_daemon_http_port(d), "/ready"), " 503 ");
    kc_informer_factory_free(f);
    dns_daemon_free(d);
    kc_client_free(c);
}

KT_TEST(dns_daemon, unreadable_resolv_conf)
{
    kc_client *c = unreachable_client();
    kc_informer_factory *f = kc_informer_factory_new(c);
    dns_daemon_config cfg;
    dns_daemon_config_default(&cfg);
    char path[512];
    snprintf(path, sizeof(path), "%s/missing.conf", kt_tmpdir());
    cfg.resolv_conf = path;
    cfg.health_address = "";
    dns_daemon *d = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_FAILS(dns_daemon_new(&cfg, f, &d, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "--dns-resolv-conf: ");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "missing.conf");
    kc_informer_factory_free(f);
    kc_client_free(c);
}
