/* test-model.c - the proxy model's validating builder, endpoint selection and
 * diff. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netproxy/model.h"
#include "test/runner/kt.h"

/* Errors the builder reported through its skip callback. */
typedef struct skips {
    int n;
    char msg[8][300];
} skips;

static void on_skip(const kn_error *e, void *ud)
{
    skips *s = ud;
    if (s->n < 8)
        snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", kn_error_msg(e));
    s->n++;
}

static int add_svc(np_builder *b, const char *json, kn_error **err)
{
    cJSON *o = cJSON_Parse(json);
    KT_ASSERT_MSG(o, "bad test JSON: %s", json);
    int r = np_builder_add_service(b, o, err);
    cJSON_Delete(o);
    return r;
}

static int add_slice(np_builder *b, const char *json, kn_error **err)
{
    cJSON *o = cJSON_Parse(json);
    KT_ASSERT_MSG(o, "bad test JSON: %s", json);
    int r = np_builder_add_slice(b, o, err);
    cJSON_Delete(o);
    return r;
}

static const char *addr_s(const np_addr *a)
{
    static char buf[4][64];
    static int k;
    k = (k + 1) % 4;
    return np_addr_str(a, buf[k], sizeof(buf[k]));
}

#define WEB_SVC                                                                                    \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"                                  \
    "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":[\"10.96.0.10\",\"fd00:96::a\"],"          \
    "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\",\"nodePort\":30080},"        \
    "{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53,\"nodePort\":30053}],"                     \
    "\"externalIPs\":[\"192.0.2.7\"],\"loadBalancerSourceRanges\":[\"203.0.113.0/24\", "           \
    "\" 198.51.100.9/32\"],"                                                                       \
    "\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":"                    \
    "{\"timeoutSeconds\":60}},\"externalTrafficPolicy\":\"Local\",\"healthCheckNodePort\":31000}," \
    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.1\"},{\"hostname\":\"lb\"},"  \
    "{\"ip\":\"198.51.100.2\",\"ipMode\":\"Proxy\"}]}}}"

KT_TEST(netproxy_model, service_all_fields)
{
    skips sk = {0};
    np_builder *b = np_builder_new(on_skip, &sk);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b, WEB_SVC, &err), err);
    np_model *m = np_builder_finish(b);
    KT_ASSERT_EQ(sk.n, 0);
    KT_ASSERT_EQ(m->nservices, 1);
    const np_service *s = np_model_find(m, "default", "web");
    KT_ASSERT(s);
    KT_ASSERT_EQ(s->type, NP_SVC_LOAD_BALANCER);
    KT_ASSERT_EQ(s->ncluster_ips, 2);
    KT_ASSERT_STREQ(addr_s(&s->cluster_ips[0]), "10.96.0.10");
    KT_ASSERT_STREQ(addr_s(&s->cluster_ips[1]), "fd00:96::a");
    KT_ASSERT_EQ(s->nports, 2);
    KT_ASSERT_STREQ(s->ports[0].name, "http");
    KT_ASSERT_EQ(s->ports[0].proto, NP_PROTO_TCP);
    KT_ASSERT_EQ(s->ports[0].port, 80);
    KT_ASSERT_EQ(s->ports[0].node_port, 30080);
    KT_ASSERT_EQ(s->ports[1].proto, NP_PROTO_UDP);
    KT_ASSERT_EQ(s->nexternal_ips, 1);
    KT_ASSERT_EQ(s->nlb_ips, 1); /* hostname-only and ipMode Proxy are not programmed */
    KT_ASSERT_STREQ(addr_s(&s->lb_ips[0]), "198.51.100.1");
    KT_ASSERT_EQ(s->nsource_ranges, 2);
    KT_ASSERT_EQ(s->source_ranges[1].prefix, 32);
    KT_ASSERT(s->affinity);
    KT_ASSERT_EQ(s->affinity_timeout, 60);
    KT_ASSERT_EQ(s->external_policy, NP_POLICY_LOCAL);
    KT_ASSERT_EQ(s->internal_policy, NP_POLICY_CLUSTER);
    KT_ASSERT_EQ(s->health_check_node_port, 31000);
    KT_ASSERT(np_service_external(s));
    np_model_free(m);
}

KT_TEST(netproxy_model, service_defaults)
{
    np_builder *b = np_builder_new(NULL, NULL);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":\"10.96.0.1\","
                         "\"ports\":[{\"port\":443,\"nodePort\":30443}]}}",
                         &err),
                 err);
    KT_ASSERT_OK(
        add_svc(b, "{\"metadata\":{\"name\":\"h\"},\"spec\":{\"clusterIP\":\"None\"}}", &err), err);
    np_model *m = np_builder_finish(b);
    const np_service *s = np_model_find(m, "default", "a");
    KT_ASSERT(s);
    KT_ASSERT_EQ(s->type, NP_SVC_CLUSTER_IP);
    KT_ASSERT_EQ(s->ports[0].proto, NP_PROTO_TCP);
    KT_ASSERT_STREQ(s->ports[0].name, "");
    KT_ASSERT_EQ(s->ports[0].node_port, 0); /* ignored on a ClusterIP Service */
    KT_ASSERT(!s->affinity);
    KT_ASSERT_EQ(s->affinity_timeout, NP_AFFINITY_DEFAULT_TIMEOUT);
    KT_ASSERT(!np_service_external(s));
    const np_service *h = np_model_find(m, "default", "h");
    KT_ASSERT(h);
    KT_ASSERT_EQ(h->ncluster_ips, 0);
    np_model_free(m);
}

/* Each bad Service is skipped with an error naming it and the field; the
 * good one beside it stays. */
KT_TEST(netproxy_model, invalid_services_skipped)
{
    static const struct {
        const char *spec, *field;
    } bad[] = {
        {"\"clusterIP\":\"10.96.0.300\",\"ports\":[{\"port\":80}]", "spec.clusterIP"},
        {"\"clusterIP\":\"010.96.0.3\",\"ports\":[{\"port\":80}]", "spec.clusterIP"},
        {"\"clusterIPs\":[\"::ffff:10.0.0.1\"],\"ports\":[{\"port\":80}]", "spec.clusterIPs[0]"},
        {"\"clusterIPs\":[\"10.96.0.3\",\"10.96.0.4\"]", "spec.clusterIPs[1]"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":0}]", "spec.ports[0].port"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":65536}]", "spec.ports[0].port"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":8.5}]", "spec.ports[0]"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":\"80\"}]", "spec.ports[0]"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":80,\"protocol\":\"ICMP\"}]",
         "spec.ports[0]: protocol: unknown protocol"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\","
         "\"port\":80}]",
         "spec.ports[1].port: duplicate port 80/tcp"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"a\","
         "\"port\":81}]",
         "spec.ports[1].name: duplicate"},
        {"\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":80},{\"port\":81}]",
         "spec.ports[0].name: required"},
        {"\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.3\",\"ports\":[{\"port\":80,\"nodePort\":"
         "70000}]",
         "nodePort"},
        {"\"clusterIP\":\"10.96.0.3\",\"externalIPs\":[\"1.2.3\"]", "spec.externalIPs[0]"},
        {"\"clusterIP\":\"10.96.0.3\",\"loadBalancerSourceRanges\":[\"10.0.0.0/33\"]",
         "spec.loadBalancerSourceRanges[0]"},
        {"\"clusterIP\":\"10.96.0.3\",\"sessionAffinity\":\"Cookie\"}", "spec.sessionAffinity"},
        {"\"clusterIP\":\"10.96.0.3\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":"
         "0}}",
         "timeoutSeconds"},
        {"\"clusterIP\":\"10.96.0.3\",\"externalTrafficPolicy\":\"Nearby\"",
         "spec.externalTrafficPolicy"},
        {"\"type\":\"Balanced\",\"clusterIP\":\"10.96.0.3\"", "spec.type"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        skips sk = {0};
        np_builder *b = np_builder_new(on_skip, &sk);
        kn_error *err = NULL;
        KT_ASSERT_OK(add_svc(b,
                             "{\"metadata\":{\"namespace\":\"ok\",\"name\":\"good\"},"
                             "\"spec\":{\"clusterIP\":\"10.96.0.2\",\"ports\":[{\"port\":80}]}}",
                             &err),
                     err);
        char *json = xasprintf("{\"metadata\":{\"namespace\":\"ns\",\"name\":\"bad%zu\"},"
                               "\"spec\":{%s}}",
                               i, bad[i].spec);
        int r = add_svc(b, json, &err);
        KT_ASSERT_MSG(r < 0, "case %zu accepted: %s", i, json);
        char want[32];
        snprintf(want, sizeof(want), "service ns/bad%zu: ", i);
        KT_ASSERT_CONTAINS(kn_error_msg(err), want);
        KT_ASSERT_CONTAINS(kn_error_msg(err), bad[i].field);
        KT_ASSERT_EQ(sk.n, 1);
        KT_ASSERT_STREQ(sk.msg[0], kn_error_msg(err));
        kn_error_free(&err);
        np_model *m = np_builder_finish(b);
        KT_ASSERT_EQ(m->nservices, 1);
        KT_ASSERT_STREQ(m->services[0].name, "good");
        np_model_free(m);
        free(json);
    }
}

KT_TEST(netproxy_model, not_json_objects)
{
    skips sk = {0};
    np_builder *b = np_builder_new(on_skip, &sk);
    kn_error *err = NULL;
    KT_ASSERT_FAILS(add_svc(b, "[1,2]", &err));
    kn_error_free(&err);
    KT_ASSERT_FAILS(add_svc(b, "{\"metadata\":{\"name\":\"\"}}", &err));
    kn_error_free(&err);
    KT_ASSERT_FAILS(add_slice(b, "\"x\"", &err));
    kn_error_free(&err);
    /* another proxy's Service and a slice of no Service are ignored quietly */
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"name\":\"o\",\"labels\":{\"service.kubernetes.io/"
                         "service-proxy-name\":\"other\"}},\"spec\":{\"clusterIP\":\"bad\"}}",
                         &err),
                 err);
    KT_ASSERT_OK(add_slice(b, "{\"metadata\":{\"name\":\"s\"},\"addressType\":\"IPv4\"}", &err),
                 err);
    KT_ASSERT_EQ(sk.n, 3);
    np_model *m = np_builder_finish(b);
    KT_ASSERT_EQ(m->nservices, 0);
    np_model_free(m);
}

KT_TEST(netproxy_model, conflicts_and_duplicates)
{
    skips sk = {0};
    np_builder *b = np_builder_new(on_skip, &sk);
    kn_error *err = NULL;
    /* b/second takes a/first's ClusterIP:port; c/np takes its nodePort;
     * d/dup is added twice (the first stays) */
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"namespace\":\"b\",\"name\":\"second\"},\"spec\":{"
                         "\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"port\":80}]}}",
                         &err),
                 err);
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"namespace\":\"a\",\"name\":\"first\"},\"spec\":{"
                         "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.5\",\"ports\":[{"
                         "\"port\":80,\"nodePort\":30001}]}}",
                         &err),
                 err);
    KT_ASSERT_OK(
        add_svc(b,
                "{\"metadata\":{\"namespace\":\"c\",\"name\":\"np\"},\"spec\":{"
                "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.6\",\"ports\":[{"
                "\"name\":\"t\",\"port\":80,\"nodePort\":30001},{\"name\":\"u\",\"port\":81,"
                "\"protocol\":\"UDP\",\"nodePort\":30001}]}}",
                &err),
        err);
    /* a UDP nodePort of the same number does not conflict */
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"namespace\":\"c\",\"name\":\"udp\"},\"spec\":{"
                         "\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.7\",\"ports\":[{"
                         "\"port\":53,\"protocol\":\"UDP\",\"nodePort\":30002}]}}",
                         &err),
                 err);
    const char *dup1 = "{\"metadata\":{\"namespace\":\"d\",\"name\":\"dup\"},\"spec\":{"
                       "\"clusterIP\":\"10.96.0.8\",\"ports\":[{\"port\":1}]}}";
    const char *dup2 = "{\"metadata\":{\"namespace\":\"d\",\"name\":\"dup\"},\"spec\":{"
                       "\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"port\":2}]}}";
    KT_ASSERT_OK(add_svc(b, dup1, &err), err);
    KT_ASSERT_OK(add_svc(b, dup2, &err), err);
    np_model *m = np_builder_finish(b);
    KT_ASSERT_EQ(sk.n, 3);
    KT_ASSERT_EQ(m->nservices, 3);
    KT_ASSERT(np_model_find(m, "a", "first"));
    KT_ASSERT(!np_model_find(m, "b", "second"));
    KT_ASSERT(!np_model_find(m, "c", "np"));
    KT_ASSERT(np_model_find(m, "c", "udp"));
    const np_service *d = np_model_find(m, "d", "dup");
    KT_ASSERT(d);
    KT_ASSERT_EQ(d->ports[0].port, 1);
    bool saw_cluster = false, saw_node = false;
    for (int i = 0; i < 3; i++) {
        if (strstr(sk.msg[i], "service b/second: clusterIP 10.96.0.5:80/tcp is already used by "
                              "a/first"))
            saw_cluster = true;
        if (strstr(sk.msg[i], "service c/np: nodePort 30001/tcp is already used by a/first"))
            saw_node = true;
    }
    KT_ASSERT_MSG(saw_cluster && saw_node, "messages: %s | %s | %s", sk.msg[0], sk.msg[1],
                  sk.msg[2]);
    np_model_free(m);
}

#define SLICE_HEAD(name, svc, type)                                                                \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"" name "\",\"labels\":{"                  \
    "\"kubernetes.io/service-name\":\"" svc "\"}},\"addressType\":\"" type "\","

static np_model *web_model(skips *sk)
{
    np_builder *b = np_builder_new(on_skip, sk);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b, WEB_SVC, &err), err);
    /* two slices: the named port "http" resolves to 8080 on some endpoints
     * and 9090 on others (a named targetPort) */
    KT_ASSERT_OK(
        add_slice(
            b,
            SLICE_HEAD(
                "web-1", "web",
                "IPv4") "\"ports\":[{\"name\":\"http\","
                        "\"port\":8080},{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":5353}],"
                        "\"endpoints\":[{\"addresses\":[\"10.244.1.3\"],\"nodeName\":\"n1\"},"
                        "{\"addresses\":[\"10.244.2.3\"],\"nodeName\":\"n2\",\"conditions\":{"
                        "\"ready\":false,\"serving\":true,\"terminating\":true}},"
                        "{\"addresses\":[\"10.244.1.2\"],\"nodeName\":\"n1\",\"conditions\":{"
                        "\"ready\":true}}]}",
            &err),
        err);
    KT_ASSERT_OK(
        add_slice(
            b,
            SLICE_HEAD("web-2", "web",
                       "IPv4") "\"ports\":[{\"name\":\"http\","
                               "\"port\":9090}],\"endpoints\":[{\"addresses\":[\"10.244.2.9\"],"
                               "\"nodeName\":\"n2\"}]}",
            &err),
        err);
    KT_ASSERT_OK(
        add_slice(
            b,
            SLICE_HEAD("web-6", "web",
                       "IPv6") "\"ports\":[{\"name\":\"http\","
                               "\"port\":8080}],\"endpoints\":[{\"addresses\":[\"fd00:244::2\"],"
                               "\"nodeName\":\"n1\",\"conditions\":{\"ready\":false}}]}",
            &err),
        err);
    return np_builder_finish(b);
}

KT_TEST(netproxy_model, slices_join_and_select)
{
    skips sk = {0};
    np_model *m = web_model(&sk);
    KT_ASSERT_EQ(sk.n, 0);
    const np_service *s = np_model_find(m, "default", "web");
    KT_ASSERT_EQ(s->nendpoints, 5);
    KT_ASSERT_STREQ(addr_s(&s->endpoints[0].addr), "10.244.1.2"); /* sorted */

    np_selection sel;
    np_select_endpoints(s, &s->ports[0], AF_INET, "n1", &sel);
    KT_ASSERT_EQ(sel.ncluster, 3); /* ready only: .1.2:8080 .1.3:8080 .2.9:9090 */
    KT_ASSERT_STREQ(addr_s(&sel.cluster[2].addr), "10.244.2.9");
    KT_ASSERT_EQ(sel.cluster[2].port, 9090);
    KT_ASSERT_EQ(sel.cluster[0].port, 8080);
    KT_ASSERT_EQ(sel.nlocal, 2);
    KT_ASSERT(sel.has_any);
    np_selection_free(&sel);

    np_select_endpoints(s, &s->ports[1], AF_INET, "n2", &sel);
    KT_ASSERT_EQ(sel.ncluster, 2); /* only web-1 has "dns" */
    KT_ASSERT_EQ(sel.cluster[0].port, 5353);
    /* n2 has no ready dns endpoint: its serving-terminating one is used */
    KT_ASSERT_EQ(sel.nlocal, 1);
    KT_ASSERT_STREQ(addr_s(&sel.local[0].addr), "10.244.2.3");
    np_selection_free(&sel);

    /* IPv6: not ready, not terminating: nothing, and nothing anywhere */
    np_select_endpoints(s, &s->ports[0], AF_INET6, "n1", &sel);
    KT_ASSERT_EQ(sel.ncluster, 0);
    KT_ASSERT_EQ(sel.nlocal, 0);
    KT_ASSERT(!sel.has_any);
    np_selection_free(&sel);
    np_model_free(m);
}

KT_TEST(netproxy_model, select_terminating_fallback)
{
    np_builder *b = np_builder_new(NULL, NULL);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"name\":\"t\"},\"spec\":{\"clusterIP\":\"10.96.0.4\","
                         "\"ports\":[{\"port\":80}]}}",
                         &err),
                 err);
    /* no ready endpoint: serving+terminating ones are used, a terminating
     * one that no longer serves is not */
    KT_ASSERT_OK(
        add_slice(
            b,
            SLICE_HEAD(
                "t-1", "t",
                "IPv4") "\"ports\":[{\"port\":8000}],"
                        "\"endpoints\":[{\"addresses\":[\"10.1.0.1\"],\"nodeName\":\"x\","
                        "\"conditions\":{\"ready\":false,\"serving\":true,\"terminating\":true}},"
                        "{\"addresses\":[\"10.1.0.2\"],\"conditions\":{\"ready\":false,"
                        "\"serving\":false,\"terminating\":true}},"
                        "{\"addresses\":[\"10.1.0.3\"],\"conditions\":{\"ready\":false}}]}",
            &err),
        err);
    np_model *m = np_builder_finish(b);
    np_selection sel;
    const np_service *s = &m->services[0];
    np_select_endpoints(s, &s->ports[0], AF_INET, "y", &sel);
    KT_ASSERT_EQ(sel.ncluster, 1);
    KT_ASSERT_STREQ(addr_s(&sel.cluster[0].addr), "10.1.0.1");
    KT_ASSERT_EQ(sel.nlocal, 0);
    KT_ASSERT(sel.has_any);
    np_selection_free(&sel);
    np_model_free(m);
}

KT_TEST(netproxy_model, invalid_slices)
{
    skips sk = {0};
    np_builder *b = np_builder_new(on_skip, &sk);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"name\":\"s\"},\"spec\":{\"clusterIP\":\"10.96.0.4\","
                         "\"ports\":[{\"port\":80}]}}",
                         &err),
                 err);
    /* a bad endpoint is skipped alone */
    KT_ASSERT_FAILS(add_slice(
        b,
        SLICE_HEAD("s-1", "s",
                   "IPv4") "\"ports\":[{\"port\":8000}],"
                           "\"endpoints\":[{\"addresses\":[\"10.1.0.1\"]},{\"addresses\":["
                           "\"fd00::1\"]},{\"addresses\":[\"10.1.0.999\"]},{\"addresses\":["
                           "\"10.1.0.4\"]}]}",
        &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "endpointslice default/s-1: endpoints[1]");
    kn_error_free(&err);
    KT_ASSERT_EQ(sk.n, 2);
    /* a bad port or address type skips the slice */
    KT_ASSERT_FAILS(
        add_slice(b,
                  SLICE_HEAD("s-2", "s", "IPv4") "\"ports\":[{\"port\":0}],"
                                                 "\"endpoints\":[{\"addresses\":[\"10.1.0.7\"]}]}",
                  &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "endpointslice default/s-2: ports[0]");
    kn_error_free(&err);
    KT_ASSERT_FAILS(add_slice(b,
                              SLICE_HEAD("s-3", "s", "IPv5") "\"endpoints\":[{\"addresses\":["
                                                             "\"10.1.0.8\"]}]}",
                              &err));
    KT_ASSERT_CONTAINS(kn_error_msg(err), "addressType");
    kn_error_free(&err);
    KT_ASSERT_FAILS(add_slice(b,
                              SLICE_HEAD("s-4", "s", "IPv4") "\"ports\":[{\"port\":1,\"protocol\":"
                                                             "\"GRE\"}]}",
                              &err));
    kn_error_free(&err);
    /* FQDN slices are not proxied */
    KT_ASSERT_OK(add_slice(b,
                           SLICE_HEAD("s-5", "s", "FQDN") "\"endpoints\":[{\"addresses\":["
                                                          "\"example.com\"]}]}",
                           &err),
                 err);
    np_model *m = np_builder_finish(b);
    const np_service *s = &m->services[0];
    KT_ASSERT_EQ(s->nendpoints, 2);
    KT_ASSERT_STREQ(addr_s(&s->endpoints[0].addr), "10.1.0.1");
    KT_ASSERT_STREQ(addr_s(&s->endpoints[1].addr), "10.1.0.4");
    np_model_free(m);
}

KT_TEST(netproxy_model, diff)
{
    skips sk = {0};
    np_model *a = web_model(&sk);
    np_builder *b = np_builder_new(NULL, NULL);
    kn_error *err = NULL;
    KT_ASSERT_OK(add_svc(b, WEB_SVC, &err), err);
    KT_ASSERT_OK(add_svc(b,
                         "{\"metadata\":{\"name\":\"new\"},\"spec\":{\"clusterIP\":\"10.96.1.1\","
                         "\"ports\":[{\"port\":80}]}}",
                         &err),
                 err);
    np_model *m2 = np_builder_finish(b);

    np_diff d;
    np_model_diff(a, m2, &d);
    KT_ASSERT_EQ(d.nchanges, 2);
    KT_ASSERT_STREQ(d.changes[0].name, "new");
    KT_ASSERT_EQ(d.changes[0].what, NP_CHANGE_ADDED);
    KT_ASSERT_STREQ(d.changes[1].name, "web");
    KT_ASSERT_EQ(d.changes[1].what, NP_CHANGE_ENDPOINTS);
    np_diff_free(&d);

    np_model_diff(m2, NULL, &d);
    KT_ASSERT_EQ(d.nchanges, 2);
    KT_ASSERT_EQ(d.changes[0].what, NP_CHANGE_REMOVED);
    np_diff_free(&d);

    np_model *a2 = web_model(&sk);
    np_model_diff(a, a2, &d);
    KT_ASSERT_EQ(d.nchanges, 0);
    np_diff_free(&d);
    np_model_free(a2);

    b = np_builder_new(NULL, NULL);
    char *changed = xstrdup(WEB_SVC);
    memcpy(strstr(changed, "\"timeoutSeconds\":60"), "\"timeoutSeconds\":61", 19);
    KT_ASSERT_OK(add_svc(b, changed, &err), err);
    free(changed);
    np_model *m3 = np_builder_finish(b);
    np_model_diff(m2, m3, &d);
    KT_ASSERT_EQ(d.nchanges, 2);
    KT_ASSERT_EQ(d.changes[1].what, NP_CHANGE_SPEC);
    np_diff_free(&d);
    np_model_free(m3);
    np_model_free(m2);
    np_model_free(a);
}

KT_TEST(netproxy_model, addr_helpers)
{
    np_addr a;
    KT_ASSERT_EQ(np_addr_parse("10.0.0.1", &a), 0);
    KT_ASSERT_EQ(a.family, AF_INET);
    KT_ASSERT_EQ(np_addr_parse("fd00::1", &a), 0);
    KT_ASSERT_EQ(a.family, AF_INET6);
    KT_ASSERT_FAILS(np_addr_parse("", &a));
    KT_ASSERT_FAILS(np_addr_parse("1.2.3.4.5", &a));
    KT_ASSERT_FAILS(np_addr_parse("::ffff:1.2.3.4", &a));
    np_cidr c;
    KT_ASSERT_EQ(np_cidr_parse("10.244.0.0/16", false, &c), 0);
    KT_ASSERT_EQ(c.prefix, 16);
    KT_ASSERT_FAILS(np_cidr_parse("10.244.0.1/16", false, &c));
    KT_ASSERT_EQ(np_cidr_parse("10.244.0.1/16", true, &c), 0);
    KT_ASSERT_STREQ(addr_s(&c.addr), "10.244.0.0");
    KT_ASSERT_FAILS(np_cidr_parse("10.244.0.0/", false, &c));
    KT_ASSERT_FAILS(np_cidr_parse("10.244.0.0/016", false, &c));
    KT_ASSERT_FAILS(np_cidr_parse("fd00::/129", false, &c));
    KT_ASSERT_EQ(np_cidr_parse("fd00::/8", false, &c), 0);
    np_addr_parse("10.244.3.4", &a);
    KT_ASSERT_EQ(np_cidr_parse("10.244.0.0/16", false, &c), 0);
    KT_ASSERT(np_cidr_contains(&c, &a));
    np_addr_parse("10.245.3.4", &a);
    KT_ASSERT(!np_cidr_contains(&c, &a));
    np_addr_parse("fd00::1", &a);
    KT_ASSERT(!np_cidr_contains(&c, &a));
}
