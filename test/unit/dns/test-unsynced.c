/* test-unsynced.c - the placeholder zone served before the API caches have
 * synced: SERVFAIL for every name of the cluster zone (as CoreDNS answers
 * before its first sync), other names still forwarded. */
#include "dns/answer.h"
#include "dns/zone.h"
#include "lib/cleanup.h"
#include "test/runner/kt.h"
#include "test/unit/dns/helpers.h"

static dnst_msg m;
static uint8_t out[DNS_MSG_MAX];
static dns_query q;
static dns_answer_result res;

static dns_zone *placeholder(void)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    cfg.unsynced = true;
    dns_model empty = {0};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &empty, &z, &err), err);
    return z;
}

static dns_action ask(const dns_zone *z, const char *name, uint16_t qtype)
{
    uint8_t in[512];
    size_t n = dnst_query(in, 0x77, DNS_FLAG_RD, name, qtype, 1232);
    dns_answer_opts o = {.udp_max = 1232};
    dns_answer_query(z, in, n, &o, &q, out, sizeof(out), &res);
    if (res.action == DNS_ACT_REPLY)
        dnst_parse(out, res.len, &m);
    return res.action;
}

KT_TEST(dns_unsynced, cluster_names_get_servfail)
{
    dns_zone *z = placeholder();
    KT_ASSERT(dns_zone_unsynced(z));
    static const char *const names[] = {"kubernetes.default.svc.cluster.local", "cluster.local",
                                        "nope.cluster.local",
                                        "10-244-1-1.default.pod.cluster.local"};
    for (size_t i = 0; i < KN_ARRAY_SIZE(names); i++) {
        KT_ASSERT_EQ(ask(z, names[i], DNS_TYPE_A), DNS_ACT_REPLY);
        KT_ASSERT_EQ(res.rcode, DNS_RCODE_SERVFAIL);
        KT_ASSERT_EQ(m.rcode, DNS_RCODE_SERVFAIL);
        KT_ASSERT_EQ(m.id, 0x77);
        KT_ASSERT_EQ(m.n[0] + m.n[1], 0);
    }
    /* outside the zone: forwarded as usual */
    KT_ASSERT_EQ(ask(z, "www.example.com", DNS_TYPE_A), DNS_ACT_FORWARD);
    KT_ASSERT_EQ(ask(z, "1.0.0.10.in-addr.arpa", DNS_TYPE_PTR), DNS_ACT_FORWARD);
    dns_zone_free(z);
}

KT_TEST(dns_unsynced, a_real_zone_is_not)
{
    dns_zone_config cfg;
    dns_zone_config_default(&cfg);
    dns_model empty = {0};
    dns_zone *z = NULL;
    cleanup_error kn_error *err = NULL;
    KT_ASSERT_OK(dns_zone_build(&cfg, &empty, &z, &err), err);
    KT_ASSERT(!dns_zone_unsynced(z));
    KT_ASSERT_EQ(ask(z, "nope.cluster.local", DNS_TYPE_A), DNS_ACT_REPLY);
    KT_ASSERT_EQ(res.rcode, DNS_RCODE_NXDOMAIN);
    dns_zone_free(z);
}
