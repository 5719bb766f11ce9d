/* test-ruleset.c - the nftables ruleset built from a model (sets, elements,
 * rules) and its `nft -f` rendering. No root needed: nothing is loaded. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netproxy/model.h"
#include "netproxy/ruleset.h"
#include "test/runner/kt.h"

static np_model *model_of(const char *sq)
{
    char *json = xstrdup(sq);
    for (char *p = json; *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    cJSON *doc = cJSON_Parse(json);
    free(json);
    KT_ASSERT_MSG(doc, "bad test JSON");
    np_builder *b = np_builder_new(NULL, NULL);
    for (cJSON *it = doc->child; it; it = it->next) {
        kn_error *err = NULL;
        int r = cJSON_GetObjectItem(it, "addressType") ? np_builder_add_slice(b, it, &err)
                                                       : np_builder_add_service(b, it, &err);
        KT_ASSERT_OK(r, err);
    }
    cJSON_Delete(doc);
    return np_builder_finish(b);
}

static void config(np_config *c, bool cidrs)
{
    np_config_init(c);
    c->node_name = "n1";
    np_addr_parse("10.250.0.1", &c->node_ips[c->nnode_ips++]);
    np_addr_parse("fd00:250::1", &c->node_ips[c->nnode_ips++]);
    if (cidrs) {
        np_cidr_parse("10.244.0.0/16", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
        np_cidr_parse("10.245.0.0/16", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
        np_cidr_parse("fd00:244::/56", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
    }
}

/* Test documents are written with single quotes (turned into double quotes
 * before parsing) to stay readable. */
static const char *const WEB =
    "[{'metadata':{'namespace':'default','name':'web'},'spec':{'type':'LoadBalancer',"
    "'clusterIPs':['10.96.0.10','fd00:96::a'],'ports':[{'name':'http','port':80,"
    "'nodePort':30080}],'externalIPs':['192.0.2.7'],'loadBalancerSourceRanges':["
    "'203.0.113.0/24','203.0.113.128/25','198.51.100.9/32'],'externalTrafficPolicy':'Local'},"
    "'status':{'loadBalancer':{'ingress':[{'ip':'198.51.100.1'}]}}},"
    "{'metadata':{'namespace':'default','name':'empty'},'spec':{'clusterIP':'10.96.0.12',"
    "'ports':[{'port':80,'protocol':'SCTP'}]}},"
    "{'metadata':{'namespace':'default','name':'web-1','labels':{"
    "'kubernetes.io/service-name':'web'}},'addressType':'IPv4','ports':[{'name':'http',"
    "'port':8080}],'endpoints':[{'addresses':['10.244.1.3'],'nodeName':'n1'},"
    "{'addresses':['10.244.2.3'],'nodeName':'n2'},{'addresses':['10.244.1.2'],"
    "'nodeName':'n1'}]},"
    "{'metadata':{'namespace':'default','name':'web-6','labels':{"
    "'kubernetes.io/service-name':'web'}},'addressType':'IPv6','ports':[{'name':'http',"
    "'port':8080}],'endpoints':[{'addresses':['fd00:244::2'],'nodeName':'n2'}]}]";

static const char *const AFF =
    "[{'metadata':{'namespace':'default','name':'aff'},'spec':{'type':'NodePort',"
    "'clusterIP':'10.96.0.11','ports':[{'port':80,'nodePort':30081}],"
    "'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':30}},"
    "'externalTrafficPolicy':'Local'}},"
    "{'metadata':{'namespace':'default','name':'aff-1','labels':{"
    "'kubernetes.io/service-name':'aff'}},'addressType':'IPv4','ports':[{'port':8080}],"
    "'endpoints':[{'addresses':['10.244.1.5'],'nodeName':'n1'},{'addresses':['10.244.2.5'],"
    "'nodeName':'n2'},{'addresses':['10.244.1.6'],'nodeName':'n1'}]}]";

/* Renders one element of set name as text, for assertions. */
static char *set_text(const np_ruleset *rs, const char *name)
{
    const np_set *s = np_ruleset_find_set(rs, name);
    KT_ASSERT_MSG(s, "no set %s", name);
    np_ruleset one = {.family = rs->family, .nsets = 1, .sets = (np_set *)s};
    return np_ruleset_render(&one);
}

KT_TEST(netproxy_ruleset, ipv4_layout)
{
    np_model *m = model_of(WEB);
    np_config cfg;
    config(&cfg, true);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    cleanup_free char *ep3 = set_text(rs, "ep-3");
    /* the ClusterIP uses every ready endpoint (traffic policy Cluster) */
    KT_ASSERT_CONTAINS(ep3, "10.96.0.10 . tcp . 80 . 0 : 10.244.1.2 . 8080");
    KT_ASSERT_CONTAINS(ep3, "10.96.0.10 . tcp . 80 . 2 : 10.244.2.3 . 8080");
    KT_ASSERT_CONTAINS(ep3, "typeof ip daddr . meta l4proto . th dport . numgen random mod 3 : "
                            "ip daddr . th dport");
    /* external destinations use the two endpoints on n1 (Local), and pods
     * or the node itself reach every endpoint through sc-3 */
    cleanup_free char *ep2 = set_text(rs, "ep-2");
    KT_ASSERT_CONTAINS(ep2, "10.250.0.1 . tcp . 30080 . 1 : 10.244.1.3 . 8080");
    KT_ASSERT_CONTAINS(ep2, "192.0.2.7 . tcp . 80 . 0 : 10.244.1.2 . 8080");
    KT_ASSERT_CONTAINS(ep2, "198.51.100.1 . tcp . 80 . 1 : 10.244.1.3 . 8080");
    cleanup_free char *sc3 = set_text(rs, "sc-3");
    KT_ASSERT_CONTAINS(sc3, "10.250.0.1 . tcp . 30080 . 2 : 10.244.2.3 . 8080");
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "masq-keys")->nelems, 0);
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "ext-local-keys")->nelems, 3);
    /* a Service without endpoints rejects */
    cleanup_free char *noep = set_text(rs, "noep-reject");
    KT_ASSERT_CONTAINS(noep, "10.96.0.12 . sctp . 80");
    /* source ranges: overlapping ones merged, only for the LB IP */
    cleanup_free char *fw = set_text(rs, "fw-allow");
    KT_ASSERT_CONTAINS(fw, "198.51.100.1 . tcp . 80 . 203.0.113.0-203.0.113.255");
    KT_ASSERT_CONTAINS(fw, "198.51.100.1 . tcp . 80 . 198.51.100.9");
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "fw-allow")->nelems, 2);
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "fw-keys")->nelems, 1);
    cleanup_free char *cidrs = set_text(rs, "cluster-cidrs");
    KT_ASSERT_CONTAINS(cidrs, "10.244.0.0-10.245.255.255"); /* adjacent CIDRs merged */
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "hairpin")->nelems, 3);
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "cluster-ips")->nelems, 2);
    np_ruleset_free(rs);
    np_model_free(m);
}

KT_TEST(netproxy_ruleset, ipv6_and_no_local_endpoints)
{
    np_model *m = model_of(WEB);
    np_config cfg;
    config(&cfg, true);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET6);
    cleanup_free char *ep1 = set_text(rs, "ep-1");
    KT_ASSERT_CONTAINS(ep1, "fd00:96::a . tcp . 80 . 0 : fd00:244::2 . 8080");
    /* the v6 nodePort (externalTrafficPolicy Local) has no endpoint on n1
     * but one elsewhere: external clients are dropped, pods short-circuit */
    cleanup_free char *drop = set_text(rs, "noep-drop");
    KT_ASSERT_CONTAINS(drop, "fd00:250::1 . tcp . 30080");
    cleanup_free char *sc1 = set_text(rs, "sc-1");
    KT_ASSERT_CONTAINS(sc1, "fd00:250::1 . tcp . 30080 . 0 : fd00:244::2 . 8080");
    KT_ASSERT(!np_ruleset_find_set(rs, "ep-3"));
    np_ruleset_free(rs);
    np_model_free(m);
}

static const np_chain *chain(const np_ruleset *rs, const char *name)
{
    const np_chain *c = np_ruleset_find_chain(rs, name);
    KT_ASSERT_MSG(c, "no chain %s", name);
    return c;
}

static char *rule_text(const np_ruleset *rs, const char *ch, size_t i)
{
    char buf[1024];
    const np_chain *c = chain(rs, ch);
    KT_ASSERT_MSG(i < c->nrules, "chain %s has %zu rules", ch, c->nrules);
    return xstrdup(np_rule_render(&c->rules[i], rs->family, buf, sizeof(buf)));
}

KT_TEST(netproxy_ruleset, fixed_chains)
{
    np_model *m = model_of(WEB);
    np_config cfg;
    config(&cfg, true);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    /* a fixed number of chains whatever the number of Services */
    KT_ASSERT_EQ(rs->nchains, 9);
    KT_ASSERT_EQ(chain(rs, "nat-prerouting")->hook, NP_HOOK_PREROUTING);
    KT_ASSERT_EQ(chain(rs, "nat-output")->priority, -100);
    cleanup_free char *r0 = rule_text(rs, "services", 0);
    KT_ASSERT_STREQ(r0, "ip daddr @cluster-ips ip saddr != @cluster-cidrs meta mark set meta "
                        "mark | 0x00004000");
    cleanup_free char *r4 = rule_text(rs, "services", 4);
    KT_ASSERT_STREQ(r4, "ip saddr @cluster-cidrs dnat ip to ip daddr . meta l4proto . th dport "
                        ". numgen random mod 3 map @sc-3");
    const np_chain *svc = chain(rs, "services");
    cleanup_free char *last = rule_text(rs, "services", svc->nrules - 1);
    KT_ASSERT_STREQ(last, "dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 "
                          "map @ep-3");
    cleanup_free char *post = rule_text(rs, "nat-postrouting", 1);
    KT_ASSERT_STREQ(post, "ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random");
    cleanup_free char *rej = rule_text(rs, "endpoints-check", 1);
    KT_ASSERT_STREQ(rej, "meta l4proto tcp ip daddr . meta l4proto . th dport @noep-reject "
                         "reject with tcp reset");
    /* rules carry a hash of their text: equal text, equal comment */
    KT_ASSERT_STREQ(chain(rs, "filter-input")->rules[0].comment,
                    chain(rs, "filter-output")->rules[0].comment);
    KT_ASSERT(strcmp(svc->rules[0].comment, svc->rules[1].comment) != 0);
    np_ruleset_free(rs);

    /* no cluster CIDR: nothing keyed on the pod network */
    config(&cfg, false);
    rs = np_ruleset_build(m, &cfg, AF_INET);
    cleanup_free char *first = rule_text(rs, "services", 0);
    KT_ASSERT_STREQ(first, "ip daddr . meta l4proto . th dport @masq-keys meta mark set meta "
                           "mark | 0x00004000");
    np_ruleset_free(rs);
    np_model_free(m);
}

KT_TEST(netproxy_ruleset, masquerade_all_and_empty)
{
    np_model *m = model_of(WEB);
    np_config cfg;
    config(&cfg, true);
    cfg.masquerade_all = true;
    cfg.masq_mark = 0x8000;
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    /* every destination: ClusterIP, external IP, LB IP, nodePort, the
     * endpoint-less one */
    KT_ASSERT_EQ(np_ruleset_find_set(rs, "masq-keys")->nelems, 5);
    cleanup_free char *r0 = rule_text(rs, "services", 0);
    KT_ASSERT_CONTAINS(r0, "@masq-keys meta mark set meta mark | 0x00008000");
    np_ruleset_free(rs);
    np_model_free(m);

    rs = np_ruleset_build(NULL, &cfg, AF_INET);
    KT_ASSERT_EQ(rs->nchains, 9);
    KT_ASSERT_EQ(rs->nsets, 10);
    for (size_t i = 0; i < rs->nsets; i++) /* only the configured pod network */
        KT_ASSERT_EQ(rs->sets[i].nelems, strcmp(rs->sets[i].name, "cluster-cidrs") == 0);
    np_ruleset_free(rs);
}

KT_TEST(netproxy_ruleset, affinity_chains)
{
    np_model *m = model_of(AFF);
    np_config cfg;
    config(&cfg, true);
    np_ruleset *rs = np_ruleset_build(m, &cfg, AF_INET);
    const np_set *d = np_ruleset_find_set(rs, "aff-dispatch");
    KT_ASSERT_EQ(d->nelems, 2); /* ClusterIP and nodePort */
    const np_chain *cl = np_ruleset_find_chain(rs, d->elems[0].chain);
    const np_chain *ext = np_ruleset_find_chain(rs, d->elems[1].chain);
    KT_ASSERT(cl && ext && cl != ext);
    /* cluster chain: 3 "seen before" rules, then 3 picks */
    KT_ASSERT_EQ(cl->nrules, 6);
    /* external Local chain: pods and the node go to the cluster chain, the
     * rest to the 2 endpoints on n1 */
    KT_ASSERT_EQ(ext->nrules, 2 + 4);
    char buf[1024];
    KT_ASSERT_CONTAINS(np_rule_render(&ext->rules[0], AF_INET, buf, sizeof(buf)),
                       "ip saddr @cluster-cidrs goto aff-");
    KT_ASSERT_CONTAINS(np_rule_render(&cl->rules[3], AF_INET, buf, sizeof(buf)),
                       "meta l4proto tcp numgen random mod 3 == 0 update @aff-");
    KT_ASSERT_CONTAINS(np_rule_render(&cl->rules[5], AF_INET, buf, sizeof(buf)),
                       "dnat ip to 10.244.2.5:8080");
    /* one dynamic set of client addresses per endpoint and chain */
    size_t dyn = 0;
    for (size_t i = 0; i < rs->nsets; i++) {
        if (rs->sets[i].flags & NP_SET_DYNAMIC) {
            dyn++;
            KT_ASSERT_EQ(rs->sets[i].timeout, 30);
        }
    }
    KT_ASSERT_EQ(dyn, 5);
    /* no ep-N map: affinity Services are dispatched to their chains */
    KT_ASSERT(!np_ruleset_find_set(rs, "ep-3"));
    np_ruleset_free(rs);
    np_model_free(m);
}

KT_TEST(netproxy_ruleset, render_is_stable)
{
    np_model *m = model_of(WEB);
    np_config cfg;
    config(&cfg, true);
    np_ruleset *a = np_ruleset_build(m, &cfg, AF_INET6);
    np_ruleset *b = np_ruleset_build(m, &cfg, AF_INET6);
    cleanup_free char *ta = np_ruleset_render(a);
    cleanup_free char *tb = np_ruleset_render(b);
    KT_ASSERT_STREQ(ta, tb);
    KT_ASSERT(strncmp(ta, "table ip6 knode-proxy {\n", 24) == 0);
    KT_ASSERT_CONTAINS(ta, "\tchain nat-output {\n\t\ttype nat hook output priority -100; "
                           "policy accept;\n");
    KT_ASSERT_CONTAINS(ta, "elements = { fd00:244::-fd00:244:0:ff:ffff:ffff:ffff:ffff }");
    KT_ASSERT_CONTAINS(ta, "ip6 daddr . meta l4proto . th dport . ip6 saddr != @fw-allow drop");
    np_ruleset_free(a);
    np_ruleset_free(b);
    np_model_free(m);
}

KT_TEST(netproxy_ruleset, set_sort_and_find)
{
    np_set s;
    memset(&s, 0, sizeof(s));
    s.key = NP_KEY_ADDR;
    np_elem e;
    memset(&e, 0, sizeof(e));
    for (int i = 9; i >= 0; i--) {
        e.key[3] = (uint8_t)i;
        np_set_add(&s, &e);
        np_set_add(&s, &e);
    }
    np_set_sort(&s, AF_INET);
    KT_ASSERT_EQ(s.nelems, 10);
    KT_ASSERT_EQ(s.elems[0].key[3], 0);
    KT_ASSERT_EQ(s.elems[9].key[3], 9);
    e.key[3] = 4;
    KT_ASSERT(np_set_find(&s, &e, AF_INET) == &s.elems[4]);
    e.key[3] = 42;
    KT_ASSERT(np_set_find(&s, &e, AF_INET) == NULL);
    free(s.elems);
    KT_ASSERT_EQ(np_key_len(NP_KEY_SVC, AF_INET), 12);
    KT_ASSERT_EQ(np_key_len(NP_KEY_SVC_IDX, AF_INET6), 28);
    KT_ASSERT_EQ(np_key_len(NP_KEY_SVC_SADDR, AF_INET6), 40);
    KT_ASSERT_EQ(np_data_len(NP_DATA_ADDR_PORT, AF_INET6), 20);
}
