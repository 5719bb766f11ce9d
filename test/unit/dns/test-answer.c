/* test-answer.c - whole responses built from the zone: flags, sections,
 * negative answers with the SOA, errors, CNAME chains, truncation, and the
 * responses to forwarded queries. */
#include "dns/answer.h"
#include "lib/cleanup.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

#include <stdio.h>

static dnst_msg m; /* large: one shared parse result */

static const dns_model_port ports[] = {{"http", DNS_PROTO_TCP, 80}};
static const char *const web_ips[] = {"10.96.0.20"};
static dns_model_endpoint many[100];
static char many_ips[100][16];
static const dns_model_endpoint two[] = {{"10.244.1.1", "a", true, true},
                                         {"10.244.1.2", "b", true, true}};

static dns_zone *test_zone(void)
{
    for (int i = 0; i < 100; i++) {
        snprintf(many_ips[i], sizeof(many_ips[i]), "10.244.9.%d", i + 1);
        many[i] = (dns_model_endpoint){many_ips[i], NULL, true, true};
    }
    static const dns_model_service svcs[] = {
        {.ns = "default",
         .name = "web",
         .type = DNS_SVC_CLUSTER_IP,
         .cluster_ips = web_ips,
         .ncluster_ips = 1,
         .ports = ports,
         .nports = 1},
        {.ns = "default",
         .name = "big",
         .type = DNS_SVC_HEADLESS,
         .ports = ports,
         .nports = 1,
         .endpoints = many,
         .nendpoints = 100},
        {.ns = "default",
         .name = "pair",
         .type = DNS_SVC_HEADLESS,
         .ports = ports,
         .nports = 1,
         .endpoints = two,
         .nendpoints = 2},
        {.ns = "default",
         .name = "out",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "www.example.com"},
        {.ns = "default",
         .name = "in",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "web.default.svc.cluster.local"},
        {.ns = "default",
         .name = "hop",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "out.default.svc.cluster.local"},
        {.ns = "default",
         .name = "gone",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "nope.default.svc.cluster.local"},
        {.ns = "loop",
         .name = "a",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "b.loop.svc.cluster.local"},
        {.ns = "loop",
         .name = "b",
         .type = DNS_SVC_EXTERNAL_NAME,
         .external_name = "a.loop.svc.cluster.local"},
    };
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    cfg.serial = 7;
    dns_model model = {svcs, KN_ARRAY_SIZE(svcs), NULL, 0};
    dns_zone *z = NULL;
    KT_ASSERT(dns_zone_build(&cfg, &model, &z, NULL) == 0);
    return z;
}

static uint8_t out[DNS_MSG_MAX];
static dns_query q;
static dns_answer_result res;

/* Answers a query over UDP (udp_max 1232) or TCP and parses the reply. */
static dns_action ask(const dns_zone *z, const char *name, uint16_t qtype, int edns, bool tcp)
{
    uint8_t in[512];
    size_t n = dnst_query(in, 0x4242, DNS_FLAG_RD, name, qtype, edns);
    dns_answer_opts o = {.tcp = tcp, .udp_max = 1232};
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    if (res.action == DNS_ACT_REPLY) {
        KT_ASSERT(res.len <= res.limit);
        dnst_parse(out, res.len, &m);
        KT_ASSERT_EQ(m.id, 0x4242);
        KT_ASSERT_EQ(m.rcode, res.rcode);
    }
    return res.action;
}

#define FLAGS(f) (m.flags & (f))

KT_TEST(dns_answer, positive_answer)
{
    dns_zone *z = test_zone();
    KT_ASSERT_EQ(ask(z, "Web.Default.svc.cluster.local", DNS_TYPE_A, 1232, false), DNS_ACT_REPLY);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NOERROR);
    KT_ASSERT(FLAGS(DNS_FLAG_QR) && FLAGS(DNS_FLAG_AA) && FLAGS(DNS_FLAG_RD) && FLAGS(DNS_FLAG_RA));
    KT_ASSERT(!FLAGS(DNS_FLAG_TC));
    KT_ASSERT_STREQ(m.qname, "Web.Default.svc.cluster.local.");
    KT_ASSERT_EQ(m.n[1], 1);
    /* the owner keeps the query's case (a pointer to the question) */
    KT_ASSERT_STREQ(m.rr[1][0], "Web.Default.svc.cluster.local. 5 A 10.96.0.20");
    KT_ASSERT_EQ(m.n[2], 0);
    KT_ASSERT(m.edns);
    KT_ASSERT_EQ(m.edns_udp, 1232);
    /* without EDNS, no OPT */
    ask(z, "web.default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT(!m.edns);
    KT_ASSERT_EQ(m.n[1], 1);
    dns_zone_free(z);
}

KT_TEST(dns_answer, negative_answers_carry_the_soa)
{
    dns_zone *z = test_zone();
    const char *soa = "cluster.local. 5 SOA ns.dns.cluster.local. hostmaster.cluster.local. "
                      "7 7200 1800 86400 5";
    ask(z, "nope.default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
    KT_ASSERT(FLAGS(DNS_FLAG_AA));
    KT_ASSERT_EQ(m.n[1], 0);
    KT_ASSERT_EQ(m.n[2], 1);
    KT_ASSERT_STREQ(m.rr[2][0], soa);
    ask(z, "web.default.svc.cluster.local", DNS_TYPE_AAAA, -1, false);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NOERROR);
    KT_ASSERT_EQ(m.n[1], 0);
    KT_ASSERT_STREQ(m.rr[2][0], soa);
    ask(z, "default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NOERROR);
    KT_ASSERT_STREQ(m.rr[2][0], soa);
    dns_zone_free(z);
}

KT_TEST(dns_answer, malformed_and_unsupported)
{
    dns_zone *z = test_zone();
    uint8_t in[512];
    dns_answer_opts o = {.udp_max = 1232};
    size_t n = dnst_query(in, 9, DNS_FLAG_RD, "web.default.svc.cluster.local", DNS_TYPE_A, -1);
    /* FORMERR: a trailing byte */
    in[n] = 0;
    dns_answer_query(z, in, n + 1, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.action, DNS_ACT_REPLY);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_FORMERR);
    dnst_parse(out, res.len, &m);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_FORMERR);
    /* NOTIMP: opcode STATUS */
    in[2] = (uint8_t)(in[2] | DNS_OPCODE_STATUS << 3);
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_NOTIMP);
    /* a response is dropped */
    in[2] = 0x80;
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.action, DNS_ACT_DROP);
    dns_answer_query(z, in, 5, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.action, DNS_ACT_DROP);
    /* BADVERS: EDNS version 1 */
    n = dnst_query(in, 9, 0, "web.default.svc.cluster.local", DNS_TYPE_A, 1232);
    in[n - 5] = 1; /* the OPT TTL: ext-rcode, version, flags */
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_BADVERS);
    dnst_parse(out, res.len, &m);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_BADVERS);
    /* REFUSED: class CH, and zone transfers */
    n = dnst_query(in, 9, 0, "version.bind", DNS_TYPE_TXT, -1);
    in[n - 1] = DNS_CLASS_CH;
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_REFUSED);
    ask(z, "cluster.local", DNS_TYPE_AXFR, -1, true);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_REFUSED);
    dns_zone_free(z);
}

KT_TEST(dns_answer, truncation_and_tcp)
{
    dns_zone *z = test_zone();
    /* 100 A records (16 bytes each with compression) exceed 512 and 1232 */
    ask(z, "big.default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT(FLAGS(DNS_FLAG_TC));
    KT_ASSERT_EQ(m.n[1], 0);
    KT_ASSERT_EQ(res.limit, 512);
    ask(z, "big.default.svc.cluster.local", DNS_TYPE_A, 4096, false);
    KT_ASSERT(FLAGS(DNS_FLAG_TC));
    KT_ASSERT_EQ(res.limit, 1232);
    KT_ASSERT(m.edns);
    ask(z, "big.default.svc.cluster.local", DNS_TYPE_A, -1, true);
    KT_ASSERT(!FLAGS(DNS_FLAG_TC));
    KT_ASSERT_EQ(m.n[1], 100);
    /* a larger udp_max lets it through over UDP */
    uint8_t in[512];
    size_t n = dnst_query(in, 1, 0, "big.default.svc.cluster.local", DNS_TYPE_A, 4096);
    dns_answer_opts o = {.udp_max = 4096};
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    dnst_parse(out, res.len, &m);
    KT_ASSERT(!FLAGS(DNS_FLAG_TC));
    KT_ASSERT_EQ(m.n[1], 100);
    dns_zone_free(z);
}

KT_TEST(dns_answer, srv_adds_target_addresses)
{
    dns_zone *z = test_zone();
    ask(z, "_http._tcp.pair.default.svc.cluster.local", DNS_TYPE_SRV, 1232, false);
    KT_ASSERT_EQ(m.n[1], 2);
    KT_ASSERT_STREQ(m.rr[1][0], "_http._tcp.pair.default.svc.cluster.local. 5 SRV 0 50 80 "
                                "a.pair.default.svc.cluster.local.");
    KT_ASSERT_EQ(m.n[3], 2);
    KT_ASSERT_STREQ(m.rr[3][0], "a.pair.default.svc.cluster.local. 5 A 10.244.1.1");
    KT_ASSERT_STREQ(m.rr[3][1], "b.pair.default.svc.cluster.local. 5 A 10.244.1.2");
    /* 100 SRV records do not fit 1232 bytes: truncated */
    ask(z, "_http._tcp.big.default.svc.cluster.local", DNS_TYPE_SRV, 1232, false);
    KT_ASSERT(FLAGS(DNS_FLAG_TC));
    /* over TCP they all come, the additional addresses as far as they fit */
    ask(z, "_http._tcp.big.default.svc.cluster.local", DNS_TYPE_SRV, -1, true);
    KT_ASSERT_EQ(m.n[1], 100);
    KT_ASSERT_EQ(m.n[3], 100);
    dns_zone_free(z);
}

KT_TEST(dns_answer, cname_chains)
{
    dns_zone *z = test_zone();
    /* within the zone: CNAME then the target's A */
    ask(z, "in.default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT_EQ(m.n[1], 2);
    KT_ASSERT_STREQ(m.rr[1][0],
                    "in.default.svc.cluster.local. 5 CNAME web.default.svc.cluster.local.");
    KT_ASSERT_STREQ(m.rr[1][1], "web.default.svc.cluster.local. 5 A 10.96.0.20");
    /* a target that does not exist: NXDOMAIN for the end of the chain */
    ask(z, "gone.default.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_NXDOMAIN);
    KT_ASSERT_EQ(m.n[1], 1);
    KT_ASSERT_EQ(m.n[2], 1);
    /* a loop ends in SERVFAIL */
    ask(z, "a.loop.svc.cluster.local", DNS_TYPE_A, -1, false);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_SERVFAIL);
    /* asking for the CNAME itself does not follow it */
    ask(z, "hop.default.svc.cluster.local", DNS_TYPE_CNAME, -1, false);
    KT_ASSERT_EQ(m.n[1], 1);
    /* leaving the zone: forward the last target */
    KT_ASSERT_EQ(ask(z, "hop.default.svc.cluster.local", DNS_TYPE_A, -1, false), DNS_ACT_FORWARD);
    KT_ASSERT_EQ(res.nchain, 2);
    uint8_t *fn = (uint8_t *)dns_answer_forward_name(&q, &res);
    KT_ASSERT(dns_name_equal(fn, dnst_name("www.example.com")));
    dns_zone_free(z);
}

/* An upstream's answer to (id, name, A): a CNAME and an A. */
static size_t upstream_answer(uint8_t *buf, uint16_t id, const char *name, unsigned rcode)
{
    dns_writer w;
    uint8_t target[DNS_NAME_MAX], owner[DNS_NAME_MAX];
    dns_name_from_str("cdn.example.net", target);
    dns_name_from_str(name, owner);
    dns_writer_init(&w, buf, DNS_MSG_MAX, id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA);
    dns_writer_set_rcode(&w, rcode);
    dns_writer_question(&w, owner, DNS_TYPE_A, DNS_CLASS_IN);
    dns_rr cn = {owner, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, (uint16_t)dns_name_len(target), target};
    uint8_t ip[4] = {192, 0, 2, 7};
    dns_rr a = {target, DNS_TYPE_A, DNS_CLASS_IN, 60, 4, ip};
    dns_writer_rr(&w, DNS_SEC_ANSWER, &cn);
    dns_writer_rr(&w, DNS_SEC_ANSWER, &a);
    return dns_writer_len(&w);
}

KT_TEST(dns_answer, forwarded_responses)
{
    dns_zone *z = test_zone();
    KT_ASSERT_EQ(ask(z, "WWW.Example.COM", DNS_TYPE_A, 1232, false), DNS_ACT_FORWARD);
    KT_ASSERT_EQ(res.nchain, 0);
    uint8_t up[512];
    size_t n = upstream_answer(up, 77, "www.example.com", 0);
    dns_cache_entry *e = NULL;
    KT_ASSERT_EQ(dns_cache_entry_parse(up, n, 77, dnst_name("www.example.com"), DNS_TYPE_A,
                                       DNS_CLASS_IN, 0, &e),
                 0);
    unsigned rcode;
    /* 10 s later: the TTLs have aged */
    size_t len = dns_answer_forwarded(&q, &res, e, 10000000000, out, sizeof(out), &rcode);
    dnst_parse(out, len, &m);
    KT_ASSERT_EQ(rcode, DNS_RCODE_NOERROR);
    KT_ASSERT(!FLAGS(DNS_FLAG_AA) && FLAGS(DNS_FLAG_RA));
    KT_ASSERT_EQ(m.n[1], 2);
    KT_ASSERT_STREQ(m.rr[1][0], "WWW.Example.COM. 290 CNAME cdn.example.net.");
    KT_ASSERT_STREQ(m.rr[1][1], "cdn.example.net. 50 A 192.0.2.7");
    KT_ASSERT(m.edns);
    /* through an ExternalName: the zone's CNAME first */
    KT_ASSERT_EQ(ask(z, "out.default.svc.cluster.local", DNS_TYPE_A, -1, false), DNS_ACT_FORWARD);
    len = dns_answer_forwarded(&q, &res, e, 0, out, sizeof(out), &rcode);
    dnst_parse(out, len, &m);
    KT_ASSERT_EQ(m.n[1], 3);
    KT_ASSERT_STREQ(m.rr[1][0], "out.default.svc.cluster.local. 5 CNAME www.example.com.");
    KT_ASSERT_STREQ(m.rr[1][1], "www.example.com. 300 CNAME cdn.example.net.");
    /* every upstream failed */
    len = dns_answer_forwarded(&q, &res, NULL, 0, out, sizeof(out), &rcode);
    dnst_parse(out, len, &m);
    KT_ASSERT_EQ(m.rcode, DNS_RCODE_SERVFAIL);
    KT_ASSERT_EQ(rcode, DNS_RCODE_SERVFAIL);
    dns_cache_entry_unref(e);
    /* no zone at all: everything is forwarded */
    KT_ASSERT_EQ(ask(NULL, "web.default.svc.cluster.local", DNS_TYPE_A, -1, false),
                 DNS_ACT_FORWARD);
    dns_zone_free(z);
}
