/* test-zone.c - the cluster zone: every record form of the Kubernetes DNS
 * specification, NXDOMAIN vs NODATA, and the snapshot holder. */
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const dns_model_port web_ports[] = {
    {"http", DNS_PROTO_TCP, 80},
    {"dns", DNS_PROTO_UDP, 53},
    {NULL, DNS_PROTO_TCP, 8080}, /* unnamed */
};
static const char *const web_ips[] = {"10.96.0.20"};
static const char *const dual_ips[] = {"10.96.0.30", "fd00:96::30"};
static const dns_model_endpoint web_eps[] = {
    {"10.244.1.5", NULL, true, true},
    {"10.244.1.6", "web-0", true, true},
};
static const dns_model_port db_ports[] = {{"pg", DNS_PROTO_TCP, 5432}};
static const dns_model_port db_target_ports[] = {{"pg", DNS_PROTO_TCP, 15432}};
static const dns_model_endpoint db_eps[] = {
    {"10.244.2.10", "db-0", true, true},
    {"10.244.2.11", "db-1", true, true},
    {"10.244.2.12", "db-2", false, false}, /* not ready */
    {"fd00:244::12", NULL, true, true},
};
static const dns_model_endpoint lazy_eps[] = {
    {"10.244.3.1", "lazy-0", false, false},
};

static const dns_model_service services[] = {
    {.ns = "default",
     .name = "web",
     .type = DNS_SVC_CLUSTER_IP,
     .cluster_ips = web_ips,
     .ncluster_ips = 1,
     .ports = web_ports,
     .nports = 3,
     .endpoints = web_eps,
     .nendpoints = 2},
    {.ns = "default",
     .name = "dual",
     .type = DNS_SVC_CLUSTER_IP,
     .cluster_ips = dual_ips,
     .ncluster_ips = 2,
     .ports = web_ports,
     .nports = 1},
    {.ns = "prod",
     .name = "db",
     .type = DNS_SVC_HEADLESS,
     .ports = db_ports,
     .nports = 1,
     .endpoint_ports = db_target_ports,
     .nendpoint_ports = 1,
     .endpoints = db_eps,
     .nendpoints = 4},
    {.ns = "prod", .name = "empty", .type = DNS_SVC_HEADLESS, .ports = db_ports, .nports = 1},
    {.ns = "prod",
     .name = "lazy",
     .type = DNS_SVC_HEADLESS,
     .endpoints = lazy_eps,
     .nendpoints = 1,
     .publish_not_ready = true},
    {.ns = "prod",
     .name = "ext",
     .type = DNS_SVC_EXTERNAL_NAME,
     .external_name = "www.example.com"},
};
static const char *const namespaces[] = {"kube-system", "default"};

static dns_zone *build(dns_pods_mode pods, uint32_t ttl)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    static const char *const ns_ips[] = {"10.96.0.10"};
    cfg.ns_ips = ns_ips;
    cfg.nns_ips = 1;
    cfg.pods = pods;
    cfg.ttl = ttl;
    cfg.serial = 42;
    dns_model m = {services, KN_ARRAY_SIZE(services), namespaces, KN_ARRAY_SIZE(namespaces)};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &m, &z, &err), err);
    return z;
}

#define LOOKUP(z, name, type) dnst_lookup(z, name, DNS_TYPE_##type)

KT_TEST(dns_zone, apex_soa_ns_version)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "cluster.local", SOA),
                    "SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5");
    KT_ASSERT_STREQ(LOOKUP(z, "cluster.local", NS), "NS ns.dns.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "Cluster.Local", ANY),
                    "NS ns.dns.cluster.local.|SOA ns.dns.cluster.local. hostmaster.cluster.local. "
                    "42 7200 1800 86400 5");
    KT_ASSERT_STREQ(LOOKUP(z, "ns.dns.cluster.local", A), "A 10.96.0.10");
    KT_ASSERT_STREQ(LOOKUP(z, "ns.dns.cluster.local", AAAA), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "dns.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "dns-version.cluster.local", TXT), "TXT \"1.1.0\"");
    KT_ASSERT_STREQ(LOOKUP(z, "dns-version.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "svc.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "pod.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "nope.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "x.dns.cluster.local", A), "NXDOMAIN");
    dns_rr soa;
    dns_zone_soa_rr(z, &soa);
    KT_ASSERT_EQ(soa.type, DNS_TYPE_SOA);
    KT_ASSERT_EQ(dns_soa_minimum(&soa), 5);
    KT_ASSERT(dns_name_equal(soa.owner, dnst_name("cluster.local")));
    dns_zone_free(z);
}

KT_TEST(dns_zone, cluster_ip_service)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", A), "A 10.96.0.20");
    KT_ASSERT_STREQ(LOOKUP(z, "WEB.Default.SVC.cluster.LOCAL", A), "A 10.96.0.20");
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", AAAA), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", TXT), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "dual.default.svc.cluster.local", A), "A 10.96.0.30");
    KT_ASSERT_STREQ(LOOKUP(z, "dual.default.svc.cluster.local", AAAA), "AAAA fd00:96::30");
    KT_ASSERT_STREQ(LOOKUP(z, "dual.default.svc.cluster.local", ANY),
                    "A 10.96.0.30|AAAA fd00:96::30|SRV 0 100 80 dual.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "nope.default.svc.cluster.local", A), "NXDOMAIN");
    /* the endpoints of a ClusterIP Service have names too (as CoreDNS) */
    KT_ASSERT_STREQ(LOOKUP(z, "web-0.web.default.svc.cluster.local", A), "A 10.244.1.6");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-5.web.default.svc.cluster.local", A), "A 10.244.1.5");
    dns_zone_free(z);
}

KT_TEST(dns_zone, cluster_ip_srv)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "_http._tcp.web.default.svc.cluster.local", SRV),
                    "SRV 0 100 80 web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "_dns._udp.web.default.svc.cluster.local", SRV),
                    "SRV 0 100 53 web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "_DNS._UDP.web.default.svc.cluster.local", SRV),
                    "SRV 0 100 53 web.default.svc.cluster.local.");
    /* wrong protocol, unnamed port */
    KT_ASSERT_STREQ(LOOKUP(z, "_dns._tcp.web.default.svc.cluster.local", SRV), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "_http._udp.web.default.svc.cluster.local", SRV), "NXDOMAIN");
    /* _tcp.<svc> is an empty non-terminal; the SRV name has no A */
    KT_ASSERT_STREQ(LOOKUP(z, "_tcp.web.default.svc.cluster.local", SRV), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "_http._tcp.web.default.svc.cluster.local", A), "NODATA");
    /* SRV at the Service name: every port, unnamed ones included */
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", SRV),
                    "SRV 0 33 53 web.default.svc.cluster.local.|"
                    "SRV 0 33 80 web.default.svc.cluster.local.|"
                    "SRV 0 33 8080 web.default.svc.cluster.local.");
    dns_zone_free(z);
}

KT_TEST(dns_zone, namespaces_are_empty_non_terminals)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "default.svc.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "prod.svc.cluster.local", A), "NODATA");        /* has Services */
    KT_ASSERT_STREQ(LOOKUP(z, "kube-system.svc.cluster.local", A), "NODATA"); /* listed */
    KT_ASSERT_STREQ(LOOKUP(z, "nope.svc.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "a.b.c.web.default.svc.cluster.local", A), "NXDOMAIN");
    dns_zone_free(z);
}

KT_TEST(dns_zone, headless_service)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    /* ready endpoints only: db-2 is not ready */
    KT_ASSERT_STREQ(LOOKUP(z, "db.prod.svc.cluster.local", A), "A 10.244.2.10|A 10.244.2.11");
    KT_ASSERT_STREQ(LOOKUP(z, "db.prod.svc.cluster.local", AAAA), "AAAA fd00:244::12");
    KT_ASSERT_STREQ(LOOKUP(z, "db-0.db.prod.svc.cluster.local", A), "A 10.244.2.10");
    KT_ASSERT_STREQ(LOOKUP(z, "db-0.db.prod.svc.cluster.local", AAAA), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "db-2.db.prod.svc.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "fd00-244--12.db.prod.svc.cluster.local", AAAA), "AAAA fd00:244::12");
    /* N × M SRV records with the endpoints' names and target ports */
    KT_ASSERT_STREQ(LOOKUP(z, "_pg._tcp.db.prod.svc.cluster.local", SRV),
                    "SRV 0 33 15432 db-0.db.prod.svc.cluster.local.|"
                    "SRV 0 33 15432 db-1.db.prod.svc.cluster.local.|"
                    "SRV 0 33 15432 fd00-244--12.db.prod.svc.cluster.local.");
    /* without ready endpoints a headless Service's name does not exist */
    KT_ASSERT_STREQ(LOOKUP(z, "empty.prod.svc.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "_pg._tcp.empty.prod.svc.cluster.local", SRV), "NXDOMAIN");
    /* publishNotReadyAddresses: not-ready endpoints count */
    KT_ASSERT_STREQ(LOOKUP(z, "lazy.prod.svc.cluster.local", A), "A 10.244.3.1");
    KT_ASSERT_STREQ(LOOKUP(z, "lazy-0.lazy.prod.svc.cluster.local", A), "A 10.244.3.1");
    dns_zone_free(z);
}

KT_TEST(dns_zone, external_name)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "ext.prod.svc.cluster.local", A), "CNAME www.example.com.");
    KT_ASSERT_STREQ(LOOKUP(z, "ext.prod.svc.cluster.local", AAAA), "CNAME www.example.com.");
    KT_ASSERT_STREQ(LOOKUP(z, "ext.prod.svc.cluster.local", CNAME), "CNAME www.example.com.");
    KT_ASSERT_STREQ(LOOKUP(z, "ext.prod.svc.cluster.local", SRV), "CNAME www.example.com.");
    KT_ASSERT_STREQ(LOOKUP(z, "x.ext.prod.svc.cluster.local", A), "NXDOMAIN");
    dns_zone_free(z);
}

KT_TEST(dns_zone, reverse_records)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "20.0.96.10.in-addr.arpa", PTR),
                    "PTR web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "6.1.244.10.in-addr.arpa", PTR),
                    "PTR web-0.web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "5.1.244.10.IN-ADDR.ARPA", PTR),
                    "PTR 10-244-1-5.web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(LOOKUP(z, "10.2.244.10.in-addr.arpa", PTR),
                    "PTR db-0.db.prod.svc.cluster.local.");
    KT_ASSERT_STREQ(
        LOOKUP(z, "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa", PTR),
        "PTR dual.default.svc.cluster.local.");
    KT_ASSERT_STREQ(
        LOOKUP(z, "2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.0.d.f.ip6.arpa", PTR),
        "PTR fd00-244--12.db.prod.svc.cluster.local.");
    /* not-ready endpoints have no PTR; unknown addresses and other types
     * are not ours to answer */
    KT_ASSERT_STREQ(LOOKUP(z, "12.2.244.10.in-addr.arpa", PTR), "NOTAUTH");
    KT_ASSERT_STREQ(LOOKUP(z, "1.1.1.1.in-addr.arpa", PTR), "NOTAUTH");
    KT_ASSERT_STREQ(LOOKUP(z, "20.0.96.10.in-addr.arpa", A), "NOTAUTH");
    KT_ASSERT_STREQ(LOOKUP(z, "example.com", A), "NOTAUTH");
    KT_ASSERT_STREQ(LOOKUP(z, "local", A), "NOTAUTH");
    dns_zone_free(z);
}

KT_TEST(dns_zone, pods_insecure)
{
    dns_zone *z = build(DNS_PODS_INSECURE, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-99.default.pod.cluster.local", A), "A 10.244.1.99");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-99.kube-system.pod.cluster.local", ANY), "A 10.244.1.99");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-99.default.pod.cluster.local", AAAA), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "fd00--1.default.pod.cluster.local", AAAA), "AAAA fd00::1");
    KT_ASSERT_STREQ(LOOKUP(z, "fd00--1.default.pod.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-256.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "010-244-1-1.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-99.nope.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "x.10-244-1-99.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "default.pod.cluster.local", A), "NODATA");
    KT_ASSERT_STREQ(LOOKUP(z, "nope.pod.cluster.local", A), "NXDOMAIN");
    dns_zone_free(z);
}

KT_TEST(dns_zone, pods_disabled)
{
    dns_zone *z = build(DNS_PODS_DISABLED, 5);
    KT_ASSERT_STREQ(LOOKUP(z, "10-244-1-99.default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "default.pod.cluster.local", A), "NXDOMAIN");
    KT_ASSERT_STREQ(LOOKUP(z, "pod.cluster.local", A), "NODATA");
    dns_zone_free(z);
}

KT_TEST(dns_zone, ttl_and_domain)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    KT_ASSERT_STREQ(cfg.domain, "cluster.local");
    KT_ASSERT_EQ(cfg.ttl, 5);
    cfg.domain = "Corp.Example.";
    cfg.ttl = 30;
    dns_model m = {services, KN_ARRAY_SIZE(services), NULL, 0};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &m, &z, &err), err);
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.corp.example", A), "A 10.96.0.20");
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", A), "NOTAUTH");
    dns_rr soa;
    dns_zone_soa_rr(z, &soa);
    KT_ASSERT_EQ(soa.ttl, 30);
    KT_ASSERT_EQ(dns_soa_minimum(&soa), 30);
    dns_zone_free(z);
    cfg.domain = "bad..domain";
    KT_ASSERT_FAILS(dns_zone_build(&cfg, &m, &z, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    cfg.domain = ".";
    KT_ASSERT_FAILS(dns_zone_build(&cfg, &m, &z, &err));
}

KT_TEST(dns_zone, invalid_objects_are_skipped)
{
    static const char *const bad_ips[] = {"None", "10.96.0.99"};
    static const dns_model_endpoint eps[] = {
        {"not-an-ip", NULL, true, true},
        {"10.0.0.1", "bad.host", true, true},
        {"10.0.0.2", NULL, true, true},
        {"10.0.0.2", NULL, true, true}, /* duplicate: one record */
    };
    static const dns_model_service svcs[] = {
        {.ns = "a.b", .name = "dotted", .type = DNS_SVC_CLUSTER_IP},
        {.ns = "", .name = "empty-ns", .type = DNS_SVC_CLUSTER_IP},
        {.ns = "x", .name = "ext", .type = DNS_SVC_EXTERNAL_NAME, .external_name = "1.2.3.4"},
        {.ns = "x",
         .name = "ok",
         .type = DNS_SVC_CLUSTER_IP,
         .cluster_ips = bad_ips,
         .ncluster_ips = 2},
        {.ns = "x", .name = "h", .type = DNS_SVC_HEADLESS, .endpoints = eps, .nendpoints = 4},
    };
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    dns_model m = {svcs, KN_ARRAY_SIZE(svcs), NULL, 0};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &m, &z, &err), err);
    dns_zone_stats st;
    dns_zone_get_stats(z, &st);
    KT_ASSERT_EQ(st.skipped, 5); /* 2 Service names, 1 ExternalName, 1 ip, 1 hostname */
    KT_ASSERT_STREQ(LOOKUP(z, "ok.x.svc.cluster.local", A), "A 10.96.0.99");
    KT_ASSERT_STREQ(LOOKUP(z, "h.x.svc.cluster.local", A), "A 10.0.0.2");
    KT_ASSERT_STREQ(LOOKUP(z, "ext.x.svc.cluster.local", A), "NXDOMAIN");
    dns_zone_free(z);
}

/* ---- the snapshot holder -------------------------------------------------- */

static dns_zone *zone_with_ip(int i)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "10.96.%d.%d", i / 250, i % 250 + 1);
    const char *ips[] = {ip};
    dns_model_service s = {.ns = "default",
                           .name = "web",
                           .type = DNS_SVC_CLUSTER_IP,
                           .cluster_ips = ips,
                           .ncluster_ips = 1};
    dns_model m = {&s, 1, NULL, 0};
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    dns_zone *z = NULL;
    KT_ASSERT(dns_zone_build(&cfg, &m, &z, NULL) == 0);
    return z;
}

typedef struct reader_ctx {
    dns_zone_holder *h;
    atomic_int stop;
    long lookups;
    int last_seen;
} reader_ctx;

static void *reader_main(void *arg)
{
    reader_ctx *c = arg;
    dns_zone_reader *r = dns_zone_reader_attach(c->h);
    uint8_t name[DNS_NAME_MAX];
    dns_name_from_str("web.default.svc.cluster.local", name);
    int last = -1;
    while (!atomic_load(&c->stop)) {
        const dns_zone *z = dns_zone_enter(r);
        dns_zone_answer a;
        if (dns_zone_lookup(z, name, DNS_TYPE_A, &a) != DNS_ZONE_ANSWER || a.count != 1)
            abort();
        dns_rr rr;
        dns_zone_answer_rr(z, &a, 0, name, &rr);
        int i = rr.rdata[2] * 250 + rr.rdata[3] - 1;
        if (i < last) /* snapshots only move forward */
            abort();
        last = i;
        dns_zone_leave(r);
        c->lookups++;
    }
    c->last_seen = last;
    dns_zone_reader_detach(r);
    return NULL;
}

KT_TEST(dns_zone, holder_swaps_under_readers)
{
    dns_zone_holder *h = dns_zone_holder_new(zone_with_ip(0));
    reader_ctx ctx[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ctx[i] = (reader_ctx){.h = h};
        atomic_init(&ctx[i].stop, 0);
        KT_ASSERT_EQ(pthread_create(&th[i], NULL, reader_main, &ctx[i]), 0);
    }
    const int rounds = 200;
    for (int i = 1; i <= rounds; i++)
        dns_zone_holder_publish(h, zone_with_ip(i));
    /* let both readers see the last snapshot, then stop them */
    dns_zone_reader *mine = dns_zone_reader_attach(h);
    KT_ASSERT(mine != NULL);
    const dns_zone *z = dns_zone_enter(mine);
    KT_ASSERT_STREQ(LOOKUP(z, "web.default.svc.cluster.local", A), "A 10.96.0.201");
    dns_zone_leave(mine);
    dns_zone_reader_detach(mine);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 2; i++) {
        atomic_store(&ctx[i].stop, 1);
        pthread_join(th[i], NULL);
        KT_ASSERT(ctx[i].lookups > 0);
        KT_ASSERT(ctx[i].last_seen >= 0 && ctx[i].last_seen <= rounds);
    }
    dns_zone_holder_free(h);
}

KT_TEST(dns_zone, holder_reader_slots)
{
    dns_zone_holder *h = dns_zone_holder_new(NULL);
    static dns_zone_reader *r[DNS_ZONE_MAX_READERS];
    for (int i = 0; i < DNS_ZONE_MAX_READERS; i++)
        KT_ASSERT((r[i] = dns_zone_reader_attach(h)) != NULL);
    KT_ASSERT(dns_zone_reader_attach(h) == NULL);
    KT_ASSERT(dns_zone_enter(r[0]) == NULL);
    dns_zone_leave(r[0]);
    dns_zone_reader_detach(r[7]);
    KT_ASSERT(dns_zone_reader_attach(h) == r[7]);
    for (int i = 0; i < DNS_ZONE_MAX_READERS; i++)
        dns_zone_reader_detach(r[i]);
    dns_zone_holder_free(h);
}

/* 10,000 Services (half headless) with 50,000 endpoints: the snapshot's
 * size is asserted (it is deterministic); the build time is only shown. */
KT_TEST(dns_zone, scale_10k_services_50k_endpoints)
{
    enum { NSVC = 10000, NEP = 5 };
    static dns_model_service svcs[NSVC];
    static dns_model_endpoint eps[NSVC][NEP];
    static char names[NSVC][16], ips[NSVC][16], epips[NSVC][NEP][16], hosts[NSVC][NEP][16];
    static const char *ipp[NSVC];
    static const char *const nss[] = {"ns0", "ns1", "ns2", "ns3", "ns4", "ns5", "ns6", "ns7"};
    static const dns_model_port ports[] = {{"http", DNS_PROTO_TCP, 80},
                                           {"grpc", DNS_PROTO_TCP, 9090}};
    for (int i = 0; i < NSVC; i++) {
        snprintf(names[i], 16, "svc-%d", i);
        snprintf(ips[i], 16, "10.96.%d.%d", i / 250, i % 250 + 1);
        ipp[i] = ips[i];
        bool headless = i % 2;
        for (int e = 0; e < NEP; e++) {
            int k = i * NEP + e;
            snprintf(epips[i][e], 16, "10.%d.%d.%d", 100 + k / 62500, k / 250 % 250, k % 250 + 1);
            snprintf(hosts[i][e], 16, "pod-%d", e);
            eps[i][e] =
                (dns_model_endpoint){epips[i][e], headless ? hosts[i][e] : NULL, true, true};
        }
        svcs[i] = (dns_model_service){.ns = nss[i % 8],
                                      .name = names[i],
                                      .type = headless ? DNS_SVC_HEADLESS : DNS_SVC_CLUSTER_IP,
                                      .cluster_ips = headless ? NULL : &ipp[i],
                                      .ncluster_ips = headless ? 0 : 1,
                                      .ports = ports,
                                      .nports = 2,
                                      .endpoints = eps[i],
                                      .nendpoints = NEP};
    }
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    dns_model m = {svcs, NSVC, NULL, 0};
    dns_zone *z = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_ASSERT(dns_zone_build(&cfg, &m, &z, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dns_zone_stats st;
    dns_zone_get_stats(z, &st);
    printf("build %.0f ms: %zu names, %zu records, %.1f MB\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           st.names, st.records, (double)st.bytes / 1e6);
    KT_ASSERT_EQ(st.skipped, 0);
    KT_ASSERT(st.bytes < 50 * 1000 * 1000);
    KT_ASSERT_STREQ(LOOKUP(z, "svc-9999.ns7.svc.cluster.local", A),
                    "A 10.100.199.246|A 10.100.199.247|A 10.100.199.248|A 10.100.199.249|"
                    "A 10.100.199.250");
    KT_ASSERT_STREQ(LOOKUP(z, "pod-3.svc-9999.ns7.svc.cluster.local", A), "A 10.100.199.249");
    KT_ASSERT_STREQ(LOOKUP(z, "svc-4.ns4.svc.cluster.local", A), "A 10.96.0.5");
    dns_zone_free(z);
}
