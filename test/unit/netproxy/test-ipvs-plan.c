/* test-ipvs-plan.c - what the IPVS mode asks of the kernel for a model
 * (virtual services, destinations, kube-ipvs0 addresses, masquerade keys),
 * the requests between two IPVS tables, and the knode-ipvs table text. No
 * kernel needed. */
#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"
#include "netproxy/ipvs.h"
#include "test/runner/kt.h"

/* One Service (spec JSON) and one IPv4 slice of it (endpoints JSON). */
static np_model *one_service(const char *spec, const char *endpoints, const char *ports)
{
    np_builder *b = np_builder_new(NULL, NULL);
    char *svc = xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"s\"},\"spec\":%s}", spec);
    char *sl = xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"s-1\",\"labels\":"
                         "{\"kubernetes.io/service-name\":\"s\"}},\"addressType\":\"IPv4\","
                         "\"ports\":%s,\"endpoints\":%s}",
                         ports, endpoints);
    cJSON *a = cJSON_Parse(svc), *c = cJSON_Parse(sl);
    KT_ASSERT_MSG(a && c, "bad test JSON");
    kn_error *err = NULL;
    KT_ASSERT_OK(np_builder_add_service(b, a, &err), err);
    KT_ASSERT_OK(np_builder_add_slice(b, c, &err), err);
    cJSON_Delete(a);
    cJSON_Delete(c);
    free(svc);
    free(sl);
    return np_builder_finish(b);
}

static const char *const EPS2 = "[{\"addresses\":[\"10.244.1.3\"],\"nodeName\":\"n1\"},"
                                "{\"addresses\":[\"10.244.2.3\"],\"nodeName\":\"n2\"}]";
static const char *const PORT8080 = "[{\"name\":\"http\",\"port\":8080}]";

static void node(np_config *c, bool cidr)
{
    np_config_init(c);
    c->node_name = "n1";
    np_addr_parse("10.250.0.1", &c->node_ips[c->nnode_ips++]);
    if (cidr)
        np_cidr_parse("10.244.0.0/16", false, &c->cluster_cidrs[c->ncluster_cidrs++]);
}

static np_ipvs_svc key(const char *ip, uint16_t proto, uint16_t port)
{
    np_ipvs_svc k = {.af = AF_INET, .protocol = proto, .port = port};
    inet_pton(AF_INET, ip, k.addr);
    return k;
}

static bool has_key(const np_ipvs_keys *ks, const char *ip, uint16_t port)
{
    np_ipvs_svc k = key(ip, IPPROTO_TCP, port);
    for (size_t i = 0; i < ks->n; i++) {
        if (np_ipvs_svc_same_key(&ks->v[i], &k))
            return true;
    }
    return false;
}

static const np_ipvs_vs *vs_of(const np_ipvs_plan *p, const char *ip, uint16_t port)
{
    np_ipvs_svc k = key(ip, IPPROTO_TCP, port);
    const np_ipvs_vs *vs = np_ipvs_table_find(&p->table, &k);
    KT_ASSERT_MSG(vs, "no virtual service %s:%u", ip, port);
    return vs;
}

static void assert_dest(const np_ipvs_dest *d, const char *ip, uint16_t port)
{
    uint8_t a[16] = {0};
    inet_pton(AF_INET, ip, a);
    KT_ASSERT_EQ(d->af, AF_INET);
    KT_ASSERT(memcmp(d->addr, a, 16) == 0);
    KT_ASSERT_EQ(d->port, port);
    KT_ASSERT_EQ(d->fwd, IP_VS_CONN_F_MASQ);
    KT_ASSERT_EQ(d->weight, 1);
}

KT_TEST(ipvs_plan, cluster_ip_nodeport_external_lb)
{
    np_model *m = one_service(
        "{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\","
        "\"port\":80,\"targetPort\":8080,\"nodePort\":30080}],\"externalIPs\":[\"192.0.2.7\"]},"
        "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.1\"}]}}",
        EPS2, PORT8080);
    np_config cfg;
    node(&cfg, true);
    np_ipvs_plan p;
    np_ipvs_plan_build(m, &cfg, true, true, NULL, &p);
    KT_ASSERT_EQ(p.table.n, 4); /* ClusterIP, externalIP, LB IP, NodePort on 10.250.0.1 */
    const char *addrs[] = {"10.96.0.10", "192.0.2.7", "198.51.100.1"};
    for (int i = 0; i < 3; i++) {
        const np_ipvs_vs *vs = vs_of(&p, addrs[i], 80);
        KT_ASSERT_STREQ(vs->svc.sched, "rr");
        KT_ASSERT_EQ(vs->svc.flags, 0);
        KT_ASSERT_EQ(vs->svc.netmask, 0xffffffffu);
        KT_ASSERT_EQ(vs->ndests, 2);
        assert_dest(&vs->dests[0], "10.244.1.3", 8080);
        assert_dest(&vs->dests[1], "10.244.2.3", 8080);
    }
    KT_ASSERT_EQ(vs_of(&p, "10.250.0.1", 30080)->ndests, 2);
    /* kube-ipvs0 holds the three Service addresses, never the node's */
    KT_ASSERT_EQ(p.naddrs, 3);
    KT_ASSERT(has_key(&p.cluster, "10.96.0.10", 80) && p.cluster.n == 1);
    KT_ASSERT_EQ(p.bound.n, 3);
    KT_ASSERT(!has_key(&p.bound, "10.250.0.1", 30080));
    /* policy Cluster: NodePort, externalIP and LB IP are masqueraded */
    KT_ASSERT_EQ(p.masq.n, 3);
    KT_ASSERT(has_key(&p.masq, "10.250.0.1", 30080) && has_key(&p.masq, "192.0.2.7", 80));
    KT_ASSERT_EQ(p.nhairpin, 2);
    np_ipvs_plan_free(&p);
    np_model_free(m);
}

KT_TEST(ipvs_plan, affinity_local_policy_and_scheduler)
{
    np_model *m =
        one_service("{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.11\",\"ports\":[{\"port\":80,"
                    "\"targetPort\":8080,\"nodePort\":30081}],\"sessionAffinity\":\"ClientIP\","
                    "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":30}},"
                    "\"externalTrafficPolicy\":\"Local\"}",
                    EPS2, "[{\"port\":8080}]");
    np_config cfg;
    node(&cfg, true);
    np_ipvs_plan p;
    np_ipvs_plan_build(m, &cfg, true, false, "lc", &p);
    const np_ipvs_vs *c = vs_of(&p, "10.96.0.11", 80), *n = vs_of(&p, "10.250.0.1", 30081);
    KT_ASSERT_STREQ(c->svc.sched, "lc");
    KT_ASSERT_EQ(c->svc.flags, IP_VS_SVC_F_PERSISTENT);
    KT_ASSERT_EQ(c->svc.timeout, 30);
    KT_ASSERT_EQ(c->ndests, 2);
    /* externalTrafficPolicy Local: the NodePort uses this node's endpoint
     * only and keeps the client's address */
    KT_ASSERT_EQ(n->ndests, 1);
    assert_dest(&n->dests[0], "10.244.1.3", 8080);
    KT_ASSERT_EQ(n->svc.flags, IP_VS_SVC_F_PERSISTENT);
    KT_ASSERT_EQ(p.masq.n, 0);
    np_ipvs_plan_free(&p);
    np_model_free(m);
}

KT_TEST(ipvs_plan, no_endpoints_keeps_the_virtual_service)
{
    np_model *m = one_service("{\"clusterIP\":\"10.96.0.12\",\"ports\":[{\"port\":53,"
                              "\"protocol\":\"UDP\"}]}",
                              "[]", "[{\"port\":53,\"protocol\":\"UDP\"}]");
    np_config cfg;
    node(&cfg, false);
    np_ipvs_plan p;
    np_ipvs_plan_build(m, &cfg, true, false, NULL, &p);
    KT_ASSERT_EQ(p.table.n, 1);
    KT_ASSERT_EQ(p.table.v[0].svc.protocol, IPPROTO_UDP);
    KT_ASSERT_EQ(p.table.v[0].ndests, 0); /* IPVS answers port unreachable */
    np_ipvs_plan_free(&p);
    np_model_free(m);
}

static np_ipvs_vs vs(const char *ip, uint16_t port, const char *sched, int ndests)
{
    np_ipvs_vs v = {.svc = key(ip, IPPROTO_TCP, port)};
    snprintf(v.svc.sched, sizeof(v.svc.sched), "%s", sched);
    v.svc.netmask = 0xffffffffu;
    v.ndests = (size_t)ndests;
    v.dests = xcalloc((size_t)ndests + 1, sizeof(*v.dests));
    for (int i = 0; i < ndests; i++) {
        v.dests[i] = (np_ipvs_dest){.af = AF_INET, .port = 8080, .weight = 1};
        uint8_t a[4] = {10, 244, 1, (uint8_t)(10 + i)};
        memcpy(v.dests[i].addr, a, 4);
    }
    return v;
}

static np_ipvs_table table_of(np_ipvs_vs *v, size_t n)
{
    np_ipvs_table t = {.n = n, .cap = n, .v = xcalloc(n + 1, sizeof(*v))};
    memcpy(t.v, v, n * sizeof(*v));
    return t;
}

static size_t count_cmd(const np_ipvs_ops *ops, uint8_t cmd)
{
    size_t n = 0;
    for (size_t i = 0; i < ops->n; i++)
        n += ops->v[i].cmd == cmd;
    return n;
}

KT_TEST(ipvs_plan, diff_sends_only_changes)
{
    np_ipvs_vs a[] = {vs("10.96.0.1", 80, "rr", 2), vs("10.96.0.2", 80, "rr", 3)};
    np_ipvs_table want = table_of(a, 2);
    np_ipvs_ops ops;
    np_ipvs_diff(NULL, &want, &ops); /* from nothing */
    KT_ASSERT_EQ(ops.n, 7);
    KT_ASSERT_EQ(ops.v[0].cmd, IPVS_CMD_NEW_SERVICE);
    KT_ASSERT_EQ(count_cmd(&ops, IPVS_CMD_NEW_DEST), 5);
    np_ipvs_ops_free(&ops);
    np_ipvs_table cur;
    np_ipvs_table_copy(&cur, &want);
    cur.v[0].svc.flags |= IP_VS_SVC_F_HASHED; /* the kernel's, not a change */
    np_ipvs_diff(&cur, &want, &ops);
    KT_ASSERT_EQ(ops.n, 0);
    np_ipvs_ops_free(&ops);
    /* one endpoint replaced, one weight changed, one scheduler changed */
    cur.v[1].dests[2].addr[3] = 99; /* still sorted last */
    cur.v[1].dests[1].weight = 0;
    snprintf(cur.v[0].svc.sched, sizeof(cur.v[0].svc.sched), "lc");
    np_ipvs_diff(&cur, &want, &ops);
    KT_ASSERT_EQ(ops.n, 4);
    KT_ASSERT_EQ(count_cmd(&ops, IPVS_CMD_SET_SERVICE), 1);
    KT_ASSERT_EQ(count_cmd(&ops, IPVS_CMD_DEL_DEST), 1);
    KT_ASSERT_EQ(count_cmd(&ops, IPVS_CMD_NEW_DEST), 1);
    KT_ASSERT_EQ(count_cmd(&ops, IPVS_CMD_SET_DEST), 1);
    np_ipvs_ops_free(&ops);
    np_ipvs_table_free(&cur);
    np_ipvs_table_free(&want);
}

KT_TEST(ipvs_plan, diff_deletes_unwanted_but_not_fwmark)
{
    np_ipvs_vs c[] = {vs("10.96.0.1", 80, "rr", 1), vs("10.96.0.9", 80, "rr", 1)};
    np_ipvs_vs fw = {.svc = {.af = AF_INET, .fwmark = 5, .sched = "rr"}};
    np_ipvs_vs all[] = {fw, c[0], c[1]};
    np_ipvs_table cur = table_of(all, 3);
    np_ipvs_vs w[] = {vs("10.96.0.1", 80, "rr", 1)};
    np_ipvs_table want = table_of(w, 1);
    np_ipvs_ops ops;
    np_ipvs_diff(&cur, &want, &ops);
    KT_ASSERT_EQ(ops.n, 1);
    KT_ASSERT_EQ(ops.v[0].cmd, IPVS_CMD_DEL_SERVICE);
    char buf[64];
    KT_ASSERT_STREQ(np_ipvs_svc_str(&ops.v[0].svc, buf, sizeof(buf)), "tcp 10.96.0.9:80");
    np_ipvs_ops_free(&ops);
    np_ipvs_table_free(&cur);
    np_ipvs_table_free(&want);
}

KT_TEST(ipvs_plan, nft_text)
{
    np_model *m = one_service(
        "{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\","
        "\"port\":80,\"nodePort\":30080}],\"loadBalancerSourceRanges\":[\"203.0.113.0/24\"]},"
        "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.1\"}]}}",
        EPS2, PORT8080);
    np_config cfg;
    node(&cfg, true);
    np_ipvs_plan p;
    np_ipvs_plan_build(m, &cfg, true, false, NULL, &p);
    char *t = np_ipvs_nft_render(&p, &cfg, AF_INET);
    KT_ASSERT_CONTAINS(t, "add table ip knode-ipvs\ndelete table ip knode-ipvs\n");
    KT_ASSERT_CONTAINS(t, "10.96.0.10 . tcp . 80");
    KT_ASSERT_CONTAINS(t, "ip daddr . meta l4proto . th dport @cluster-keys ip saddr != "
                          "@cluster-cidrs meta mark set meta mark | 0x4000");
    KT_ASSERT_CONTAINS(t, "10.250.0.1 . tcp . 30080");
    KT_ASSERT_CONTAINS(t, "198.51.100.1 . tcp . 80 . 203.0.113.0/24");
    KT_ASSERT_CONTAINS(t, "10.244.1.3 . 10.244.1.3");
    KT_ASSERT_CONTAINS(t, "masquerade fully-random");
    free(t);
    cfg.ncluster_cidrs = 0; /* no cluster CIDR: the ClusterIP as source */
    t = np_ipvs_nft_render(&p, &cfg, AF_INET);
    KT_ASSERT_CONTAINS(t, "ip saddr . meta l4proto . th dport @cluster-keys meta mark set");
    free(t);
    t = np_ipvs_nft_render(&p, &cfg, AF_INET6); /* no IPv6 keys: empty sets */
    KT_ASSERT(!strstr(t, "elements"));
    KT_ASSERT_CONTAINS(t, "table ip6 knode-ipvs {");
    free(t);
    np_ipvs_plan_free(&p);
    np_model_free(m);
}
