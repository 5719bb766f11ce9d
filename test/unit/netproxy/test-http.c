/* test-http.c - the proxy's metrics, health state and its two HTTP servers
 * (on 127.0.0.1, ephemeral ports). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/strbuf.h"
#include "netproxy/http.h"
#include "netproxy/proxy.h"
#include "test/runner/kt.h"

#define SEC 1000000000LL

KT_TEST(netproxy_http, histogram_buckets)
{
    np_histogram h = {0};
    KT_ASSERT(np_histogram_bound(0) == 0.001);
    KT_ASSERT(np_histogram_bound(14) == 16.384);
    np_histogram_observe(&h, 0.0005);
    np_histogram_observe(&h, 0.001); /* le is inclusive */
    np_histogram_observe(&h, 0.003);
    np_histogram_observe(&h, 100);
    KT_ASSERT_EQ(h.counts[0], 2);
    KT_ASSERT_EQ(h.counts[2], 1);
    KT_ASSERT_EQ(h.count, 4);
    np_metrics m;
    np_metrics_init(&m);
    np_sync_gauges g = {.services = 7, .endpoints = 21, .rules = 40};
    np_metrics_sync(&m, 0.003, true, true, &g);
    np_metrics_sync(&m, 20, false, false, NULL);
    kn_buf out = KN_BUF_INIT;
    np_metrics_render(&m, "nftables", &out);
    KT_ASSERT_CONTAINS(out.data, "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n");
    KT_ASSERT_CONTAINS(out.data,
                       "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.002\"} 0\n");
    KT_ASSERT_CONTAINS(out.data,
                       "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 1\n");
    KT_ASSERT_CONTAINS(out.data,
                       "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"16.384\"} 1\n");
    KT_ASSERT_CONTAINS(out.data,
                       "kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} 2\n");
    KT_ASSERT_CONTAINS(out.data, "kubeproxy_sync_proxy_rules_duration_seconds_count 2\n");
    KT_ASSERT_CONTAINS(out.data, "kubeproxy_sync_full_proxy_rules_duration_seconds_count 1\n");
    KT_ASSERT_CONTAINS(out.data, "kubeproxy_sync_partial_proxy_rules_duration_seconds_count 1\n");
    KT_ASSERT_CONTAINS(out.data, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total 1\n");
    KT_ASSERT_CONTAINS(out.data, "knode_proxy_services 7\n");
    KT_ASSERT_CONTAINS(out.data, "knode_proxy_endpoints 21\n");
    KT_ASSERT_CONTAINS(out.data, "knode_proxy_mode{mode=\"nftables\"} 1\n");
    kn_buf_free(&out);
    np_metrics_destroy(&m);
}

KT_TEST(netproxy_http, go_time_format)
{
    char buf[64];
    np_format_go_time(0, buf, sizeof(buf));
    KT_ASSERT_STREQ(buf, "0001-01-01 00:00:00 +0000 UTC");
    np_format_go_time(1700000000LL * SEC, buf, sizeof(buf));
    KT_ASSERT_STREQ(buf, "2023-11-14 22:13:20 +0000 UTC");
    np_format_go_time(1700000000LL * SEC + 120000000, buf, sizeof(buf));
    KT_ASSERT_STREQ(buf, "2023-11-14 22:13:20.12 +0000 UTC");
}

KT_TEST(netproxy_http, health_rules)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 100 * SEC);
    np_health h;
    np_health_init(&h, &fc.clock, 60 * SEC);
    int64_t last = 0, now = 0;
    KT_ASSERT(!np_health_check(&h, &last, &now)); /* never synced */
    KT_ASSERT_EQ(last, 0);
    np_health_queued(&h);
    np_health_updated(&h, 100 * SEC);
    KT_ASSERT(np_health_check(&h, &last, &now));
    KT_ASSERT_EQ(last, now);
    kn_fake_clock_advance(&fc, 10 * SEC);
    np_health_queued(&h); /* at 110 */
    kn_fake_clock_advance(&fc, 50 * SEC);
    KT_ASSERT(!np_health_check(&h, &last, &now)); /* the last sync is 60 s old */
    KT_ASSERT_EQ(now - last, 60 * SEC);
    np_health_updated(&h, 105 * SEC); /* started before the change: still pending */
    kn_fake_clock_advance(&fc, 10 * SEC);
    KT_ASSERT(!np_health_check(&h, &last, &now)); /* the change waits since 110: 60 s */
    np_health_updated(&h, 169 * SEC);
    KT_ASSERT(np_health_check(&h, &last, &now));
    np_health_destroy(&h);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(netproxy_http, bind_addresses)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_parse_bind_address("0.0.0.0:10256", 1, &ss, &len, &err), err);
    KT_ASSERT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 10256);
    KT_ASSERT_OK(np_parse_bind_address("127.0.0.1", 10249, &ss, &len, &err), err);
    KT_ASSERT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 10249);
    KT_ASSERT_OK(np_parse_bind_address("[::1]:99", 1, &ss, &len, &err), err);
    KT_ASSERT_EQ(ss.ss_family, AF_INET6);
    KT_ASSERT_EQ(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 99);
    KT_ASSERT_OK(np_parse_bind_address("::", 7, &ss, &len, &err), err);
    KT_ASSERT_EQ(ss.ss_family, AF_INET6);
    KT_ASSERT_OK(np_parse_bind_address(":8080", 7, &ss, &len, &err), err);
    KT_ASSERT_EQ(ss.ss_family, AF_INET);
    KT_ASSERT_FAILS(np_parse_bind_address("localhost:1", 1, &ss, &len, &err));
    kn_error_free(&err);
    KT_ASSERT_FAILS(np_parse_bind_address("1.2.3.4:99999", 1, &ss, &len, &err));
    kn_error_free(&err);
    KT_ASSERT_FAILS(np_parse_bind_address("[::1", 1, &ss, &len, &err));
    kn_error_free(&err);
}

/* GET path from 127.0.0.1:port; returns the whole answer (caller frees). */
static char *get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    KT_ASSERT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    dprintf(fd, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    kn_buf b = KN_BUF_INIT;
    char chunk[4096];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof(chunk))) > 0)
        kn_buf_append(&b, chunk, (size_t)r);
    close(fd);
    kn_buf_append_str(&b, "");
    return kn_buf_steal(&b);
}

KT_TEST(netproxy_http, servers)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 100 * SEC);
    np_metrics m;
    np_metrics_init(&m);
    np_health h;
    np_health_init(&h, &fc.clock, 60 * SEC);
    np_http_status st = {&h, &m, "nftables"};
    np_http *hz = NULL, *mx = NULL;
    kn_error *err = NULL;
    KT_ASSERT_OK(np_http_start("127.0.0.1:0", 10256, np_http_healthz_routes, &st, &hz, &err), err);
    KT_ASSERT_OK(np_http_start("127.0.0.1:0", 10249, np_http_metrics_routes, &st, &mx, &err), err);
    KT_ASSERT(np_http_port(hz) > 0 && np_http_port(hz) != np_http_port(mx));

    cleanup_free char *before = get(np_http_port(hz), "/healthz");
    KT_ASSERT_CONTAINS(before, "HTTP/1.1 503 ");
    KT_ASSERT_CONTAINS(before,
                       "{\"lastUpdated\": \"0001-01-01 00:00:00 +0000 UTC\",\"currentTime\": \"");
    np_health_updated(&h, 100 * SEC);
    cleanup_free char *after = get(np_http_port(hz), "/healthz");
    KT_ASSERT_CONTAINS(after, "HTTP/1.1 200 ");
    KT_ASSERT_CONTAINS(after, "Content-Type: application/json");
    KT_ASSERT_CONTAINS(after, "\", \"nodeEligible\": true}");
    cleanup_free char *livez = get(np_http_port(hz), "/livez");
    KT_ASSERT_CONTAINS(livez, "HTTP/1.1 200 ");
    KT_ASSERT(!strstr(livez, "nodeEligible"));
    /* a Node being deleted: /healthz says so, /livez does not care */
    np_health_set_node_eligible(&h, false);
    cleanup_free char *leaving = get(np_http_port(hz), "/healthz");
    KT_ASSERT_CONTAINS(leaving, "HTTP/1.1 503 ");
    KT_ASSERT_CONTAINS(leaving, "\", \"nodeEligible\": false}");
    cleanup_free char *live = get(np_http_port(hz), "/livez");
    KT_ASSERT_CONTAINS(live, "HTTP/1.1 200 ");
    np_health_set_node_eligible(&h, true);
    cleanup_free char *nf = get(np_http_port(hz), "/metrics");
    KT_ASSERT_CONTAINS(nf, "HTTP/1.1 404 ");

    cleanup_free char *metrics = get(np_http_port(mx), "/metrics");
    KT_ASSERT_CONTAINS(metrics, "HTTP/1.1 200 ");
    KT_ASSERT_CONTAINS(metrics, "text/plain; version=0.0.4");
    KT_ASSERT_CONTAINS(metrics, "kubeproxy_proxy_healthz_total{code=\"200\"} 1\n");
    KT_ASSERT_CONTAINS(metrics, "kubeproxy_proxy_healthz_total{code=\"503\"} 2\n");
    KT_ASSERT_CONTAINS(metrics, "kubeproxy_proxy_livez_total{code=\"200\"} 2\n");
    cleanup_free char *mode = get(np_http_port(mx), "/proxyMode");
    KT_ASSERT_CONTAINS(mode, "\r\n\r\nnftables");

    /* a taken address is an error naming it */
    char taken[32];
    snprintf(taken, sizeof(taken), "127.0.0.1:%d", np_http_port(hz));
    np_http *dup = NULL;
    KT_ASSERT_FAILS(np_http_start(taken, 1, np_http_healthz_routes, &st, &dup, &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "Address already in use");
    kn_error_free(&err);

    np_http_stop(hz);
    np_http_stop(mx);
    np_health_destroy(&h);
    np_metrics_destroy(&m);
    kn_fake_clock_destroy(&fc);
}

static bool eligible(const char *json)
{
    cJSON *o = cJSON_Parse(json);
    KT_ASSERT(o);
    bool e = np_node_eligible(o);
    cJSON_Delete(o);
    return e;
}

KT_TEST(netproxy_http, node_eligibility)
{
    KT_ASSERT(eligible("{\"metadata\":{\"name\":\"n\"}}"));
    KT_ASSERT(eligible("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"taints\":[{\"key\":"
                       "\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]}}"));
    KT_ASSERT(!eligible("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"taints\":[{\"key\":"
                        "\"ToBeDeletedByClusterAutoscaler\",\"value\":\"1700000000\","
                        "\"effect\":\"NoSchedule\"}]}}"));
    KT_ASSERT(!eligible("{\"metadata\":{\"name\":\"n\",\"deletionTimestamp\":"
                        "\"2024-01-01T00:00:00Z\"}}"));
}
