/* test-dns.c - the DNS server end to end, queried with dig.
 *
 * Each test makes its own network namespace kt<pid>-dns (lo up, the
 * addresses 10.96.0.10, 10.53.0.2 and fd00:96::10 on lo), moves itself into
 * it (setns) and starts the server there on worker threads; dig runs through
 * `ip netns exec`. The upstream for forwarding is a second server instance
 * with another zone (example.test) at 10.53.0.2 in the same namespace, so
 * nothing leaves it. The namespace is removed at the end, also on failure
 * (kt_on_cleanup). Set KT_VERBOSE=1 to see every command and its output. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/forward.h"
#include "dns/server.h"
#include "dns/wire.h"
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define DNS_IP "10.96.0.10"
#define DNS_IP6 "fd00:96::10"
#define UPSTREAM_IP "10.53.0.2"

static char netns[64];

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

static void netns_del(void *arg)
{
    (void)arg;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", netns);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove netns %s\n", netns);
}

/* Skips unless root with ip and dig; makes the namespace and enters it. */
static void enter_netns(void)
{
    if (geteuid() != 0)
        KT_SKIP("needs root (network namespaces)");
    if (system("command -v ip >/dev/null && command -v dig >/dev/null") != 0)
        KT_SKIP("needs ip (iproute2) and dig (bind9-dnsutils)");
    snprintf(netns, sizeof(netns), "kt%d-dns", (int)getpid());
    cleanup_free char *out = run("ip netns add %s", netns);
    KT_ASSERT_MSG(out[0] == '\0', "ip netns add: %s", out);
    kt_on_cleanup(netns_del, NULL);
    cleanup_free char *o2 = run("ip -n %s link set lo up && ip -n %s addr add %s/32 dev lo && "
                                "ip -n %s addr add %s/32 dev lo && "
                                "ip -n %s addr add %s/128 dev lo nodad",
                                netns, netns, DNS_IP, netns, UPSTREAM_IP, netns, DNS_IP6);
    KT_ASSERT_MSG(o2[0] == '\0', "set up %s: %s", netns, o2);
    char path[128];
    snprintf(path, sizeof(path), "/run/netns/%s", netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    KT_ASSERT_MSG(fd >= 0, "open %s", path);
    KT_ASSERT_MSG(setns(fd, CLONE_NEWNET) == 0, "setns %s", path);
    close(fd);
}

/* dig against server inside the namespace, its tabs and runs of spaces
 * squeezed to one space; args may end in a pipe. */
static char *dig_at(const char *server, const char *args)
{
    return run("ip netns exec %s dig @%s -p 53 +time=3 +tries=1 %s | tr -s '\\t ' '  '", netns,
               server, args);
}

static char *dig(const char *args)
{
    return dig_at(DNS_IP, args);
}

/* ---- the cluster ------------------------------------------------------------------ */

static const dns_model_port http[] = {{"http", DNS_PROTO_TCP, 80}, {"dns", DNS_PROTO_UDP, 53}};
static const char *const web_ips[] = {"10.96.0.20", "fd00:96::20"};
static const char *const web2_ips[] = {"10.96.0.99"};
static const dns_model_endpoint db_eps[] = {
    {"10.244.1.10", "db-0", true, true},
    {"10.244.1.11", "db-1", true, true},
    {"10.244.1.12", "db-2", false, false},
};
static dns_model_endpoint big_eps[100];
static char big_ips[100][16];

/* A zone with web (ClusterIP, dual-stack), prod/db (headless, one endpoint
 * not ready), big (headless, 100 endpoints), ext (ExternalName to
 * ext_target); with_web2 adds web2. */
static dns_zone *cluster_zone(const char *domain, const char *ext_target, uint32_t ttl,
                              bool with_web2)
{
    for (int i = 0; i < 100; i++) {
        snprintf(big_ips[i], sizeof(big_ips[i]), "10.244.2.%d", i + 1);
        big_eps[i] = (dns_model_endpoint){big_ips[i], NULL, true, true};
    }
    dns_model_service svcs[] = {
        {.ns = "default",
         .name = "web",
         .type = DNS_SVC_CLUSTER_IP,
         .cluster_ips = web_ips,
         .ncluster_ips = 2,
         .ports = http,
         .nports = 2},
        {.ns = "prod",
         .name = "db",
         .type = DNS_SVC_HEADLESS,
         .ports = http,
         .nports = 1,
         .endpoints = db_eps,
         .nendpoints = 3},
        {.ns = "default",
         .name = "big",
         .type = DNS_SVC_HEADLESS,
         .ports = http,
         .nports = 1,
         .endpoints = big_eps,
         .nendpoints = 100},
        {.ns = "default",
         .name = "ext",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = ext_target},
        {.ns = "default",
         .name = "web2",
         .type = DNS_SVC_CLUSTER_IP,
         .cluster_ips = web2_ips,
         .ncluster_ips = 1},
    };
    static const char *const nss[] = {"kube-system"};
    static const char *const ns_ips[] = {DNS_IP};
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    cfg.domain = domain;
    cfg.ttl = ttl;
    cfg.ns_ips = ns_ips;
    cfg.nns_ips = 1;
    cfg.serial = 12345;
    dns_model m = {svcs, KN_ARRAY_SIZE(svcs) - (with_web2 ? 0 : 1), nss, 1};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &m, &z, &err), err);
    return z;
}

typedef struct instance {
    dns_zone_holder *zones;
    dns_forwarder *fwd;
    dns_server *srv;
} instance;

static void start(instance *in, dns_zone *z, const char *const *listen, size_t nlisten,
                  const char *upstream, int idle_ms)
{
    cleanup_error kn_error *err = NULL;
    in->zones = dns_zone_holder_new(z);
    in->fwd = NULL;
    if (upstream) {
        dns_forward_config fc;
        dns_forward_config_default(&fc);
        const char *ups[] = {upstream};
        fc.upstreams = ups;
        fc.nupstreams = 1;
        fc.timeout_ms = 1000;
        KT_ASSERT_OK(dns_forwarder_new(&fc, &in->fwd, &err), err);
    }
    dns_server_config sc;
    dns_server_config_default(&sc);
    sc.listen = listen;
    sc.nlisten = nlisten;
    sc.workers = 2;
    sc.forwarder = in->fwd;
    if (idle_ms)
        sc.tcp_idle_ms = idle_ms;
    KT_ASSERT_OK(dns_server_start(&sc, in->zones, &in->srv, &err), err);
}

static void stop(instance *in)
{
    dns_server_stop(in->srv);
    dns_forwarder_free(in->fwd);
    dns_zone_holder_free(in->zones);
}

/* The cluster server on 10.96.0.10 and [fd00:96::10], forwarding to
 * upstream when given; ext points at ext.default.svc.example.test. */
static void start_cluster(instance *in, const char *upstream, int idle_ms)
{
    static const char *const listen[] = {DNS_IP, "[" DNS_IP6 "]:53"};
    start(in, cluster_zone("cluster.local", "ext.default.svc.example.test", 5, false), listen, 2,
          upstream, idle_ms);
}

#define ASSERT_DIG(args, expect)                                                                   \
    do {                                                                                           \
        cleanup_free char *o_ = dig(args);                                                         \
        KT_ASSERT_CONTAINS(o_, expect);                                                            \
    } while (0)

#define ASSERT_SHORT(args, expect)                                                                 \
    do {                                                                                           \
        cleanup_free char *o_ = dig("+short " args);                                               \
        KT_ASSERT_STREQ(o_, expect);                                                               \
    } while (0)

static const char *soa_text = "cluster.local. 5 IN SOA ns.dns.cluster.local. "
                              "hostmaster.cluster.local. 12345 7200 1800 86400 5";

/* The status and the zone's SOA in the authority section, no answers. */
static void assert_negative(const char *args, const char *status)
{
    cleanup_free char *o = dig(args);
    cleanup_free char *st = xasprintf("status: %s,", status);
    cleanup_free char *auth = xasprintf(";; AUTHORITY SECTION:\n%s", soa_text);
    KT_ASSERT_CONTAINS(o, st);
    KT_ASSERT_CONTAINS(o, "ANSWER: 0, AUTHORITY: 1,");
    KT_ASSERT_CONTAINS(o, auth);
}

KT_TEST_TIMEOUT(dns_integration, services_and_endpoints, 120)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 0);
    ASSERT_SHORT("web.default.svc.cluster.local A", "10.96.0.20\n");
    ASSERT_SHORT("web.default.svc.cluster.local AAAA", "fd00:96::20\n");
    ASSERT_DIG("web.default.svc.cluster.local A", "flags: qr aa rd ra;");
    /* case-insensitive, the answer keeps the question's case */
    ASSERT_DIG("WEB.Default.SVC.Cluster.Local A",
               "WEB.Default.SVC.Cluster.Local. 5 IN A 10.96.0.20");
    /* ClusterIP SRV per named port */
    ASSERT_SHORT("_http._tcp.web.default.svc.cluster.local SRV",
                 "0 100 80 web.default.svc.cluster.local.\n");
    ASSERT_SHORT("_dns._udp.web.default.svc.cluster.local SRV",
                 "0 100 53 web.default.svc.cluster.local.\n");
    /* headless: ready endpoints only, hostnames, N x M SRV with additional A */
    ASSERT_SHORT("db.prod.svc.cluster.local A | sort", "10.244.1.10\n10.244.1.11\n");
    ASSERT_SHORT("db-1.db.prod.svc.cluster.local A", "10.244.1.11\n");
    ASSERT_SHORT("_http._tcp.db.prod.svc.cluster.local SRV | sort",
                 "0 50 80 db-0.db.prod.svc.cluster.local.\n"
                 "0 50 80 db-1.db.prod.svc.cluster.local.\n");
    ASSERT_DIG("_http._tcp.db.prod.svc.cluster.local SRV", ";; ADDITIONAL SECTION:\n");
    ASSERT_DIG("_http._tcp.db.prod.svc.cluster.local SRV",
               "db-0.db.prod.svc.cluster.local. 5 IN A 10.244.1.10");
    /* ExternalName */
    ASSERT_SHORT("ext.default.svc.cluster.local CNAME", "ext.default.svc.example.test.\n");
    /* PTR for ClusterIPs (v4, v6) and endpoints */
    ASSERT_SHORT("-x 10.96.0.20", "web.default.svc.cluster.local.\n");
    ASSERT_SHORT("-x fd00:96::20", "web.default.svc.cluster.local.\n");
    ASSERT_SHORT("-x 10.244.1.10", "db-0.db.prod.svc.cluster.local.\n");
    /* pods (insecure) */
    ASSERT_SHORT("10-244-7-8.default.pod.cluster.local A", "10.244.7.8\n");
    /* apex, NS, version */
    ASSERT_DIG("cluster.local SOA", soa_text);
    ASSERT_SHORT("cluster.local NS", "ns.dns.cluster.local.\n");
    ASSERT_SHORT("ns.dns.cluster.local A", "10.96.0.10\n");
    ASSERT_SHORT("dns-version.cluster.local TXT", "\"1.1.0\"\n");
    /* over IPv6 too */
    cleanup_free char *o = dig_at(DNS_IP6, "+short web.default.svc.cluster.local A");
    KT_ASSERT_STREQ(o, "10.96.0.20\n");
    stop(&in);
}

KT_TEST_TIMEOUT(dns_integration, nxdomain_vs_nodata, 120)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 0);
    assert_negative("nope.default.svc.cluster.local A", "NXDOMAIN");
    assert_negative("nope.svc.cluster.local A", "NXDOMAIN");
    assert_negative("db-2.db.prod.svc.cluster.local A", "NXDOMAIN"); /* not ready */
    assert_negative("1-2-3.default.pod.cluster.local A", "NXDOMAIN");
    assert_negative("web.default.svc.cluster.local TXT", "NOERROR"); /* NODATA */
    assert_negative("default.svc.cluster.local A", "NOERROR");       /* empty non-terminals */
    assert_negative("kube-system.svc.cluster.local A", "NOERROR");
    assert_negative("svc.cluster.local A", "NOERROR");
    assert_negative("_tcp.web.default.svc.cluster.local SRV", "NOERROR");
    assert_negative("10-244-7-8.default.pod.cluster.local AAAA", "NOERROR");
    /* no forwarder: names outside the zone are refused */
    ASSERT_DIG("example.com A", "status: REFUSED");
    stop(&in);
}

KT_TEST_TIMEOUT(dns_integration, truncation_and_tcp, 120)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 0);
    /* over UDP 100 addresses do not fit: TC, no answers */
    ASSERT_DIG("+ignore big.default.svc.cluster.local A", "flags: qr aa tc rd ra;");
    ASSERT_DIG("+ignore +noedns big.default.svc.cluster.local A", "ANSWER: 0,");
    /* dig retries over TCP by itself and gets all 100 */
    cleanup_free char *o = dig("+noall +answer big.default.svc.cluster.local A | wc -l");
    KT_ASSERT_STREQ(o, "100\n");
    cleanup_free char *t = dig("+tcp +noall +answer big.default.svc.cluster.local A | wc -l");
    KT_ASSERT_STREQ(t, "100\n");
    cleanup_free char *s = dig("+tcp +short _http._tcp.big.default.svc.cluster.local SRV | wc -l");
    KT_ASSERT_STREQ(s, "100\n");
    ASSERT_DIG("+tcp web.default.svc.cluster.local A",
               "web.default.svc.cluster.local. 5 IN A 10.96.0.20");
    dns_server_stats st;
    dns_server_get_stats(in.srv, &st);
    KT_ASSERT(st.truncated >= 2);
    KT_ASSERT(st.queries_tcp >= 4);
    KT_ASSERT(st.tcp_connections >= 4);
    stop(&in);
}

/* ---- raw queries from the test process (it is in the namespace) ------------------------ */

static int udp_to(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    KT_ASSERT(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

/* Waits for readable data (bounded, so a lost answer fails the test). */
static void wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    KT_ASSERT_MSG(poll(&p, 1, 5000) == 1, "no answer");
}

static size_t query_msg(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype)
{
    uint8_t wire[DNS_NAME_MAX];
    KT_ASSERT(dns_name_from_str(name, wire) > 0);
    dns_writer w;
    dns_writer_init(&w, buf, 512, id, DNS_FLAG_RD);
    dns_writer_question(&w, wire, qtype, DNS_CLASS_IN);
    return dns_writer_len(&w);
}

KT_TEST_TIMEOUT(dns_integration, malformed_queries, 60)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 0);
    int fd = udp_to(DNS_IP);
    uint8_t q[512], r[4096];
    /* trailing garbage: FORMERR */
    size_t n = query_msg(q, 0x1111, "web.default.svc.cluster.local", DNS_TYPE_A);
    q[n] = 0xff;
    KT_ASSERT(send(fd, q, n + 1, 0) == (ssize_t)n + 1);
    wait_readable(fd);
    ssize_t rn = recv(fd, r, sizeof(r), 0);
    KT_ASSERT(rn >= DNS_HEADER_SIZE && r[0] == 0x11 && (r[3] & 0xf) == DNS_RCODE_FORMERR);
    /* a compression loop in the question: FORMERR */
    const uint8_t loop[] = {0x22, 0x22, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    KT_ASSERT(send(fd, loop, sizeof(loop), 0) == (ssize_t)sizeof(loop));
    wait_readable(fd);
    rn = recv(fd, r, sizeof(r), 0);
    KT_ASSERT(rn >= DNS_HEADER_SIZE && r[0] == 0x22 && (r[3] & 0xf) == DNS_RCODE_FORMERR);
    /* opcode NOTIFY: NOTIMP; a response and a runt are dropped, then a
     * normal query still gets its answer */
    n = query_msg(q, 0x3333, "cluster.local", DNS_TYPE_SOA);
    q[2] = (uint8_t)(DNS_OPCODE_NOTIFY << 3);
    send(fd, q, n, 0);
    wait_readable(fd);
    rn = recv(fd, r, sizeof(r), 0);
    KT_ASSERT(rn >= DNS_HEADER_SIZE && r[0] == 0x33 && (r[3] & 0xf) == DNS_RCODE_NOTIMP);
    q[2] = 0x80;
    send(fd, q, n, 0);
    send(fd, q, 5, 0);
    n = query_msg(q, 0x4444, "web.default.svc.cluster.local", DNS_TYPE_A);
    send(fd, q, n, 0);
    wait_readable(fd);
    rn = recv(fd, r, sizeof(r), 0);
    KT_ASSERT(rn > DNS_HEADER_SIZE && r[0] == 0x44 && (r[3] & 0xf) == 0 && r[7] == 1);
    close(fd);
    dns_server_stats st;
    dns_server_get_stats(in.srv, &st);
    KT_ASSERT_EQ(st.dropped, 2);
    KT_ASSERT_EQ(st.responses[DNS_RCODE_FORMERR], 2);
    KT_ASSERT_EQ(st.responses[DNS_RCODE_NOTIMP], 1);
    /* also via dig */
    ASSERT_DIG("+opcode=status cluster.local SOA", "status: NOTIMP");
    stop(&in);
}

static int tcp_to(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    KT_ASSERT(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

/* Reads exactly n bytes (each wait bounded). */
static void read_full(int fd, uint8_t *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        wait_readable(fd);
        ssize_t r = read(fd, buf + got, n - got);
        KT_ASSERT_MSG(r > 0, "connection closed after %zu of %zu bytes", got, n);
        got += (size_t)r;
    }
}

KT_TEST_TIMEOUT(dns_integration, tcp_pipelining_and_idle_timeout, 60)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 300);
    int fd = tcp_to(DNS_IP);
    /* three queries in one write */
    uint8_t out[3 * 520], r[70000];
    size_t off = 0;
    const char *names[] = {"web.default.svc.cluster.local", "nope.default.svc.cluster.local",
                           "big.default.svc.cluster.local"};
    for (int i = 0; i < 3; i++) {
        size_t n = query_msg(out + off + 2, (uint16_t)(0x100 + i), names[i], DNS_TYPE_A);
        out[off] = (uint8_t)(n >> 8);
        out[off + 1] = (uint8_t)n;
        off += 2 + n;
    }
    KT_ASSERT(write(fd, out, off) == (ssize_t)off);
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 3; i++) {
        read_full(fd, r, 2);
        size_t len = (size_t)(r[0] << 8 | r[1]);
        read_full(fd, r, len);
        int k = (r[0] << 8 | r[1]) - 0x100;
        KT_ASSERT(k >= 0 && k < 3 && !seen[k]);
        seen[k] = true;
        unsigned an = (unsigned)(r[6] << 8 | r[7]);
        KT_ASSERT_EQ(an, k == 0 ? 1 : k == 1 ? 0 : 100);
        KT_ASSERT_EQ(r[3] & 0xf, k == 1 ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR);
        KT_ASSERT(!(r[2] & (DNS_FLAG_TC >> 8)));
    }
    /* then silence: the server closes the idle connection */
    wait_readable(fd);
    KT_ASSERT_EQ(read(fd, r, sizeof(r)), 0);
    close(fd);

    /* a client that half-closes after its query still gets the answer,
     * then the server closes too */
    fd = tcp_to(DNS_IP);
    size_t n = query_msg(out + 2, 0x200, names[0], DNS_TYPE_A);
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    KT_ASSERT(write(fd, out, 2 + n) == (ssize_t)(2 + n));
    KT_ASSERT(shutdown(fd, SHUT_WR) == 0);
    read_full(fd, r, 2);
    read_full(fd, r, (size_t)(r[0] << 8 | r[1]));
    KT_ASSERT(r[0] == 0x02 && r[1] == 0x00);
    wait_readable(fd);
    KT_ASSERT_EQ(read(fd, r, sizeof(r)), 0);
    close(fd);

    /* a client that resets the connection right after a partial query */
    fd = tcp_to(DNS_IP);
    KT_ASSERT(write(fd, out, 5) == 5);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    ASSERT_DIG("+tcp +short web.default.svc.cluster.local A", "10.96.0.20\n");
    stop(&in);
}

KT_TEST_TIMEOUT(dns_integration, zone_swap_is_visible, 60)
{
    enter_netns();
    instance in;
    start_cluster(&in, NULL, 0);
    assert_negative("web2.default.svc.cluster.local A", "NXDOMAIN");
    dns_zone_holder_publish(in.zones,
                            cluster_zone("cluster.local", "ext.default.svc.example.test", 5, true));
    ASSERT_SHORT("web2.default.svc.cluster.local A", "10.96.0.99\n");
    ASSERT_SHORT("web.default.svc.cluster.local A", "10.96.0.20\n");
    stop(&in);
}

/* ---- forwarding ------------------------------------------------------------------ */

static uint64_t upstream_queries(instance *up)
{
    dns_server_stats st;
    dns_server_get_stats(up->srv, &st);
    return st.queries_udp + st.queries_tcp;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

KT_TEST_TIMEOUT(dns_integration, forwarding_and_caching, 120)
{
    enter_netns();
    /* the upstream: a second server with the zone example.test, TTL 300 */
    instance up, in;
    static const char *const up_listen[] = {UPSTREAM_IP};
    start(&up, cluster_zone("example.test", "web.default.svc.example.test", 300, false), up_listen,
          1, NULL, 0);
    start_cluster(&in, UPSTREAM_IP, 0);

    /* a positive answer, then the same from the cache */
    ASSERT_SHORT("web.default.svc.example.test A", "10.96.0.20\n");
    KT_ASSERT_EQ(upstream_queries(&up), 1);
    ASSERT_DIG("Web.Default.SVC.example.test A", "Web.Default.SVC.example.test. ");
    ASSERT_DIG("web.default.svc.example.test A", "flags: qr rd ra;"); /* not authoritative */
    KT_ASSERT_EQ(upstream_queries(&up), 1);
    /* negative caching: NXDOMAIN and NODATA with the upstream's SOA, asked
     * upstream once each */
    ASSERT_DIG("nope.default.svc.example.test A", "status: NXDOMAIN");
    ASSERT_DIG("nope.default.svc.example.test A", "IN SOA ns.dns.example.test. hostmaster");
    ASSERT_DIG("default.svc.example.test A", "status: NOERROR");
    ASSERT_DIG("default.svc.example.test A", "ANSWER: 0, AUTHORITY: 1,");
    KT_ASSERT_EQ(upstream_queries(&up), 3);
    dns_server_stats st;
    dns_server_get_stats(in.srv, &st);
    KT_ASSERT_EQ(st.cache_hits, 4);
    KT_ASSERT_EQ(st.forwarded, 3);

    /* an ExternalName leading out of the zone is followed upstream */
    cleanup_free char *o = dig("+noall +answer ext.default.svc.cluster.local A");
    KT_ASSERT_CONTAINS(o,
                       "ext.default.svc.cluster.local. 5 IN CNAME ext.default.svc.example.test.");
    KT_ASSERT_CONTAINS(o,
                       "ext.default.svc.example.test. 300 IN CNAME web.default.svc.example.test.");
    KT_ASSERT_CONTAINS(o, "web.default.svc.example.test. 300 IN A 10.96.0.20");

    /* a truncated upstream answer is asked again over TCP; the client then
     * gets TC over UDP and all 100 over TCP */
    ASSERT_DIG("+ignore big.default.svc.example.test A", "flags: qr tc rd ra;");
    cleanup_free char *big = dig("+noall +answer big.default.svc.example.test A | wc -l");
    KT_ASSERT_STREQ(big, "100\n");
    dns_forward_stats fs;
    dns_forwarder_get_stats(in.fwd, &fs);
    KT_ASSERT_EQ(fs.tcp_fallbacks, 1);
    KT_ASSERT_EQ(fs.failures, 0);

    /* TTLs are respected: with TTL 1 upstream, an answer is asked for again
     * once a second has passed */
    dns_zone_holder_publish(up.zones,
                            cluster_zone("example.test", "web.default.svc.example.test", 1, true));
    ASSERT_SHORT("web2.default.svc.example.test A", "10.96.0.99\n");
    uint64_t before = upstream_queries(&up);
    sleep_ms(1500);
    ASSERT_SHORT("web2.default.svc.example.test A", "10.96.0.99\n");
    KT_ASSERT_EQ(upstream_queries(&up), before + 1);

    /* the upstream itself has no forwarder: it refuses outside names, and
     * its REFUSED makes ours SERVFAIL */
    cleanup_free char *ref = dig_at(UPSTREAM_IP, "example.com A");
    KT_ASSERT_CONTAINS(ref, "status: REFUSED");
    ASSERT_DIG("example.com A", "status: SERVFAIL");

    /* the metrics say so too */
    kn_buf b = KN_BUF_INIT;
    dns_server_metrics(in.srv, &b);
    KT_ASSERT_CONTAINS(b.data, "knode_dns_cache_hits_total ");
    KT_ASSERT_CONTAINS(b.data, "knode_dns_forward_tcp_fallbacks_total 1\n");
    KT_ASSERT_CONTAINS(b.data, "knode_dns_forward_failures_total 1\n");
    KT_ASSERT_CONTAINS(b.data, "knode_dns_responses_total{rcode=\"NXDOMAIN\"} 2\n");
    KT_ASSERT_CONTAINS(b.data, "knode_dns_request_duration_seconds_bucket{le=\"+Inf\"}");
    if (verbose())
        printf("%s", b.data);
    kn_buf_free(&b);
    stop(&in);
    stop(&up);
}

KT_TEST_TIMEOUT(dns_integration, start_failures_are_reported, 60)
{
    enter_netns();
    dns_zone_holder *h = dns_zone_holder_new(NULL);
    dns_server_config sc;
    dns_server_config_default(&sc);
    dns_server *srv = NULL;
    cleanup_error kn_error *err = NULL;
    const char *bad[] = {"10.96.0.300"};
    sc.listen = bad;
    sc.nlisten = 1;
    KT_ASSERT_FAILS(dns_server_start(&sc, h, &srv, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    /* an address the namespace does not have, after one that works */
    const char *absent[] = {DNS_IP, "10.99.0.1"};
    sc.listen = absent;
    sc.nlisten = 2;
    KT_ASSERT_FAILS(dns_server_start(&sc, h, &srv, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "10.99.0.1");
    kn_error_free(&err);
    /* the good address alone serves; without a zone yet and without a
     * forwarder every name is refused */
    sc.nlisten = 1;
    KT_ASSERT_OK(dns_server_start(&sc, h, &srv, &err), err);
    ASSERT_DIG("web.default.svc.cluster.local A", "status: REFUSED");
    dns_server_stop(srv);
    dns_zone_holder_free(h);
}
