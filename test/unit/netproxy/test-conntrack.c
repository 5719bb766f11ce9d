/* test-conntrack.c - which UDP conntrack entries a sync calls stale (the
 * plan; deleting them from the kernel is covered by test-proxy-api). */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "netproxy/conntrack.h"
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

/* dns: UDP 53 on a ClusterIP, an external IP and nodePort 30053, plus TCP
 * 53; endpoints .11 (ready), .12 (ready), .13 (not serving) */
#define DNS_SVC                                                                                    \
    "{'metadata':{'namespace':'kube-system','name':'dns'},'spec':{'type':'NodePort',"              \
    "'clusterIP':'10.96.0.10','externalIPs':['192.0.2.10'],'ports':[{'name':'dns','port':53,"      \
    "'protocol':'UDP','nodePort':30053},{'name':'tcp','port':53,'nodePort':30054}]}}"
#define DNS_SLICE(eps)                                                                             \
    "{'metadata':{'namespace':'kube-system','name':'dns-1','labels':{"                             \
    "'kubernetes.io/service-name':'dns'}},'addressType':'IPv4','ports':[{'name':'dns','port':"     \
    "5353,'protocol':'UDP'},{'name':'tcp','port':5353}],'endpoints':[" eps "]}"
#define EP11 "{'addresses':['10.244.1.11']}"
#define EP12 "{'addresses':['10.244.1.12']}"
#define EP13 "{'addresses':['10.244.1.13'],'conditions':{'ready':false,'serving':false}}"

static const char *const THREE = "[" DNS_SVC "," DNS_SLICE(EP11 "," EP12 "," EP13) "]";
static const char *const ONE = "[" DNS_SVC "," DNS_SLICE(EP11) "]";
static const char *const EMPTY = "[" DNS_SVC "," DNS_SLICE("") "]";
static const char *const OTHER =
    "[{'metadata':{'namespace':'default','name':'web'},'spec':{'clusterIP':'10.96.0.20',"
    "'ports':[{'port':80}]}}]";

static np_ct_entry entry(uint8_t proto, const char *dst, uint16_t dport, const char *reply_src)
{
    np_ct_entry e;
    memset(&e, 0, sizeof(e));
    e.proto = proto;
    np_addr_parse(dst, &e.orig_dst);
    e.orig_dport = dport;
    np_addr_parse(reply_src, &e.reply_src);
    return e;
}

static bool stale(const np_ct_plan *p, uint8_t proto, const char *dst, uint16_t dport,
                  const char *reply_src)
{
    np_ct_entry e = entry(proto, dst, dport, reply_src);
    return np_ct_plan_stale(p, &e);
}

static np_ct_plan *plan(const char *old, const char *new)
{
    np_model *a = old ? model_of(old) : NULL, *b = model_of(new);
    np_addr node[2];
    np_addr_parse("10.250.0.1", &node[0]);
    np_addr_parse("fd00:250::1", &node[1]);
    np_ct_plan *p = np_ct_plan_build(a, b, node, 2);
    np_model_free(a);
    np_model_free(b);
    return p;
}

KT_TEST(netproxy_conntrack, entries_to_serving_endpoints_stay)
{
    np_ct_plan *p = plan(NULL, THREE);
    KT_ASSERT(!np_ct_plan_empty(p));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.11"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.12"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "192.0.2.10", 53, "10.244.1.12"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.250.0.1", 30053, "10.244.1.11"));
    /* not serving: its flows are stale even on a first sync (a restart) */
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.13"));
    /* a flow that was never DNATed (created while there was no endpoint) */
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.96.0.10"));
    /* TCP is never touched, nor unrelated UDP */
    KT_ASSERT(!stale(p, IPPROTO_TCP, "10.96.0.10", 53, "10.244.1.99"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.10", 54, "10.244.1.99"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "8.8.8.8", 53, "8.8.8.8"));
    /* port 30053 only means the nodePort on a node address */
    KT_ASSERT(!stale(p, IPPROTO_UDP, "198.51.100.7", 30053, "198.51.100.7"));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, removed_endpoint_is_stale)
{
    np_ct_plan *p = plan(THREE, ONE);
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.11"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.12"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "192.0.2.10", 53, "10.244.1.12"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.250.0.1", 30053, "10.244.1.12"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.250.0.1", 30053, "10.244.1.11"));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, service_without_endpoints_loses_its_flows)
{
    np_ct_plan *p = plan(THREE, EMPTY);
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.11"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.250.0.1", 30053, "10.244.1.11"));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, deleted_service_flows_are_stale)
{
    np_ct_plan *p = plan(THREE, OTHER);
    KT_ASSERT(!np_ct_plan_empty(p));
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.11"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "192.0.2.10", 53, "10.244.1.11"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.250.0.1", 30053, "10.244.1.11"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.20", 80, "10.244.1.11"));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, changed_cluster_ip)
{
    static const char *const MOVED =
        "[{'metadata':{'namespace':'kube-system','name':'dns'},'spec':{'clusterIP':"
        "'10.96.0.53','ports':[{'name':'dns','port':53,'protocol':'UDP'}]}}," DNS_SLICE(
            EP11 "," EP12) "]";
    np_ct_plan *p = plan(THREE, MOVED);
    KT_ASSERT(stale(p, IPPROTO_UDP, "10.96.0.10", 53, "10.244.1.11")); /* the old ClusterIP */
    KT_ASSERT(!stale(p, IPPROTO_UDP, "10.96.0.53", 53, "10.244.1.11"));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, no_udp_no_plan)
{
    np_ct_plan *p = plan(OTHER, OTHER);
    KT_ASSERT(np_ct_plan_empty(p));
    np_ct_plan_free(p);
}

KT_TEST(netproxy_conntrack, ipv6)
{
    static const char *const V6 =
        "[{'metadata':{'namespace':'default','name':'d6'},'spec':{'clusterIPs':['fd00:96::a'],"
        "'ipFamilies':['IPv6'],'ports':[{'port':53,'protocol':'UDP','nodePort':30055}],"
        "'type':'NodePort'}},"
        "{'metadata':{'namespace':'default','name':'d6-1','labels':{"
        "'kubernetes.io/service-name':'d6'}},'addressType':'IPv6','ports':[{'port':53,"
        "'protocol':'UDP'}],'endpoints':[{'addresses':['fd00:244::5']}]}]";
    np_ct_plan *p = plan(NULL, V6);
    KT_ASSERT(!stale(p, IPPROTO_UDP, "fd00:96::a", 53, "fd00:244::5"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "fd00:96::a", 53, "fd00:244::6"));
    KT_ASSERT(stale(p, IPPROTO_UDP, "fd00:250::1", 30055, "fd00:244::6"));
    KT_ASSERT(!stale(p, IPPROTO_UDP, "fd00:250::1", 30055, "fd00:244::5"));
    np_ct_plan_free(p);
}
