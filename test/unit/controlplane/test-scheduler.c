/* test-scheduler.c - the scheduler's filters, scores and failure messages. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/scheduler.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static cJSON *js(const char *text)
{
    cJSON *v = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &v, &err) < 0)
        KT_FAIL("bad test JSON: %s: %s", kn_error_msg(err), text);
    return v;
}

/* A Ready node with 2 cpu, 4Gi and 110 pods, plus extra JSON members. */
static cJSON *node(const char *name, const char *labels, const char *spec)
{
    char *t = xasprintf("{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":%s,"
                        "\"status\":{\"allocatable\":{\"cpu\":\"2\",\"memory\":\"4Gi\","
                        "\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":"
                        "\"True\"}]}}",
                        name, labels ? labels : "{}", spec ? spec : "{}");
    cJSON *n = js(t);
    free(t);
    return n;
}

static cJSON *pod(const char *spec)
{
    char *t =
        xasprintf("{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":%s}", spec);
    cJSON *p = js(t);
    free(t);
    return p;
}

static bool fits(const cJSON *p, const cJSON *n, char *first_reason, size_t size)
{
    kn_sched_node sn;
    kn_sched_node_init(&sn, n);
    kn_sched_reasons why = {0};
    bool ok = kn_sched_filter(p, &sn, &why);
    if (first_reason)
        snprintf(first_reason, size, "%s", why.n ? why.v[0] : "");
    kn_sched_reasons_clear(&why);
    kn_sched_node_clear(&sn);
    return ok;
}

KT_TEST(scheduler, tolerations_match_as_upstream)
{
    cJSON *taint = js("{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoSchedule\"}");
    static const struct {
        const char *tol;
        bool ok;
    } cases[] = {
        {"{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\",\"effect\":\"NoSchedule\"}", true},
        {"{\"key\":\"k\",\"value\":\"v\"}", true}, /* operator defaults to Equal, any effect */
        {"{\"key\":\"k\",\"value\":\"w\"}", false},
        {"{\"key\":\"k\",\"operator\":\"Exists\"}", true},
        {"{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}", false},
        {"{\"operator\":\"Exists\"}", true}, /* empty key + Exists tolerates everything */
        {"{\"key\":\"other\",\"operator\":\"Exists\"}", false},
        {"{\"key\":\"k\",\"operator\":\"Bogus\"}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *tol = js(cases[i].tol);
        KT_ASSERT_MSG(kn_sched_tolerates(tol, taint) == cases[i].ok, "case %zu: %s", i,
                      cases[i].tol);
        cJSON_Delete(tol);
    }
    cJSON_Delete(taint);
}

KT_TEST(scheduler, taints_and_readiness_filter)
{
    char why[256];
    cJSON *p = pod("{\"containers\":[{\"name\":\"c\"}]}");
    cJSON *tainted = node("n1", NULL,
                          "{\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":"
                          "\"NoSchedule\"},{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]}");
    KT_ASSERT(!fits(p, tainted, why, sizeof(why)));
    KT_ASSERT_STREQ(why, "node(s) had untolerated taint {dedicated: gpu}");
    cJSON *tolerant = pod("{\"containers\":[{\"name\":\"c\"}],\"tolerations\":[{\"key\":"
                          "\"dedicated\",\"operator\":\"Exists\"}]}");
    KT_ASSERT(fits(tolerant, tainted, NULL, 0));

    cJSON *not_ready = node("n2", NULL, NULL);
    cJSON *cond = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(not_ready, "status"), "conditions"), 0);
    cJSON_ReplaceItemInObject(cond, "status", cJSON_CreateString("Unknown"));
    KT_ASSERT(!fits(p, not_ready, why, sizeof(why)));
    KT_ASSERT_STREQ(why, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
    cJSON_ReplaceItemInObject(cond, "status", cJSON_CreateString("False"));
    KT_ASSERT(!fits(p, not_ready, why, sizeof(why)));
    KT_ASSERT_STREQ(why, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
    cJSON *all = pod("{\"containers\":[{\"name\":\"c\"}],\"tolerations\":[{\"operator\":"
                     "\"Exists\"}]}");
    KT_ASSERT(fits(all, not_ready, NULL, 0));

    cJSON *cordoned = node("n3", NULL, "{\"unschedulable\":true}");
    KT_ASSERT(!fits(p, cordoned, why, sizeof(why)));
    KT_ASSERT_STREQ(why, "node(s) were unschedulable");
    KT_ASSERT(fits(all, cordoned, NULL, 0));
    cJSON_Delete(p);
    cJSON_Delete(tolerant);
    cJSON_Delete(all);
    cJSON_Delete(tainted);
    cJSON_Delete(not_ready);
    cJSON_Delete(cordoned);
}

KT_TEST(scheduler, node_selector_and_required_affinity)
{
    cJSON *n = node("n1", "{\"disk\":\"ssd\",\"zone\":\"a\",\"cores\":\"8\"}", NULL);
    static const struct {
        const char *spec;
        bool ok;
    } cases[] = {
        {"{\"nodeSelector\":{\"disk\":\"ssd\"}}", true},
        {"{\"nodeSelector\":{\"disk\":\"hdd\"}}", false},
        {"{\"nodeSelector\":{\"missing\":\"\"}}", false},
#define REQ(terms)                                                                                 \
    "{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"         \
    "{\"nodeSelectorTerms\":" terms "}}}}"
        {REQ("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\","
             "\"b\"]}]}]"),
         true},
        {REQ("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":"
             "[\"a\"]}]}]"),
         false},
        {REQ("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"NotIn\",\"values\":"
             "[\"x\"]}]}]"),
         true},
        {REQ("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}]"), true},
        {REQ("[{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}]"), false},
        {REQ("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":"
             "[\"4\"]}]}]"),
         true},
        {REQ("[{\"matchExpressions\":[{\"key\":\"cores\",\"operator\":\"Lt\",\"values\":"
             "[\"4\"]}]}]"),
         false},
        {REQ("[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"Gt\",\"values\":"
             "[\"4\"]}]}]"),
         false},
        /* terms are ORed; an empty term matches nothing */
        {REQ("[{},{\"matchExpressions\":[{\"key\":\"disk\",\"operator\":\"Exists\"}]}]"), true},
        {REQ("[{}]"), false},
        {REQ("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":"
             "[\"n1\"]}]}]"),
         true},
        {REQ("[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\",\"values\":"
             "[\"n2\"]}]}]"),
         false},
#undef REQ
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *p = pod(cases[i].spec);
        char why[256];
        bool ok = fits(p, n, why, sizeof(why));
        KT_ASSERT_MSG(ok == cases[i].ok, "case %zu: %s", i, cases[i].spec);
        if (!ok)
            KT_ASSERT_STREQ(why, "node(s) didn't match Pod's node affinity/selector");
        cJSON_Delete(p);
    }
    cJSON_Delete(n);
}

KT_TEST(scheduler, requests_follow_the_init_container_rule)
{
    cJSON *p = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":"
                   "\"250m\",\"memory\":\"64Mi\"}}},{\"name\":\"b\",\"resources\":{\"limits\":"
                   "{\"cpu\":\"250m\",\"example.com/gpu\":\"1\"}}}],\"initContainers\":[{\"name\":"
                   "\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"32Mi\"}}}],"
                   "\"overhead\":{\"cpu\":\"10m\"}}");
    kn_sched_res r;
    kn_sched_pod_requests(p, &r);
    KT_ASSERT_EQ(r.milli_cpu, 1010); /* max(500, 1000) + 10 */
    KT_ASSERT_EQ(r.memory, 64 * 1024 * 1024);
    KT_ASSERT_EQ(r.nscalar, 1);
    KT_ASSERT_STREQ(r.scalar[0].name, "example.com/gpu");
    KT_ASSERT_EQ(r.scalar[0].value, 1);
    int64_t cpu, mem;
    kn_sched_pod_nonzero(p, &cpu, &mem);
    KT_ASSERT_EQ(cpu, 1000);
    KT_ASSERT_EQ(mem, 64 * 1024 * 1024 + KN_SCHED_DEFAULT_MEMORY); /* b sets no memory */
    cJSON_Delete(p);

    /* a restartable (sidecar) init container adds to the sum and to later inits */
    p = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}],"
            "\"initContainers\":[{\"name\":\"s\",\"restartPolicy\":\"Always\",\"resources\":"
            "{\"requests\":{\"cpu\":\"200m\"}}},{\"name\":\"i\",\"resources\":{\"requests\":"
            "{\"cpu\":\"250m\"}}}]}");
    kn_sched_pod_requests(p, &r);
    KT_ASSERT_EQ(r.milli_cpu, 450); /* max(100+200, 200+250) */
    cJSON_Delete(p);
}

KT_TEST(scheduler, resources_ports_and_pod_count)
{
    cJSON *n = node("n1", NULL, NULL);
    kn_sched_node sn;
    kn_sched_node_init(&sn, n);
    KT_ASSERT_EQ(sn.alloc.milli_cpu, 2000);
    KT_ASSERT_EQ(sn.alloc.pods, 110);
    cJSON *big = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":"
                     "\"1500m\"}},\"ports\":[{\"containerPort\":80,\"hostPort\":8080}]}]}");
    kn_sched_reasons why = {0};
    KT_ASSERT(kn_sched_filter(big, &sn, &why));
    kn_sched_node_add_pod(&sn, big);
    KT_ASSERT(!kn_sched_filter(big, &sn, &why));
    KT_ASSERT_EQ(why.n, 1);
    KT_ASSERT_STREQ(why.v[0], "node(s) didn't have free ports for the requested pod ports");
    cJSON *udp = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":"
                     "\"1\",\"memory\":\"5Gi\",\"example.com/gpu\":\"1\"}},\"ports\":"
                     "[{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"UDP\"}]}]}");
    KT_ASSERT(!kn_sched_filter(udp, &sn, &why));
    KT_ASSERT_EQ(why.n, 3);
    KT_ASSERT_STREQ(why.v[0], "Insufficient cpu");
    KT_ASSERT_STREQ(why.v[1], "Insufficient memory");
    KT_ASSERT_STREQ(why.v[2], "Insufficient example.com/gpu");
    sn.alloc.pods = 1;
    cJSON *small = pod("{\"containers\":[{\"name\":\"a\"}]}");
    KT_ASSERT(!kn_sched_filter(small, &sn, &why));
    KT_ASSERT_STREQ(why.v[0], "Too many pods");
    kn_sched_reasons_clear(&why);
    kn_sched_node_clear(&sn);
    cJSON_Delete(big);
    cJSON_Delete(udp);
    cJSON_Delete(small);
    cJSON_Delete(n);
}

KT_TEST(scheduler, least_allocated_prefers_the_emptier_node)
{
    cJSON *n1 = node("n1", NULL, NULL), *n2 = node("n2", NULL, NULL);
    cJSON *p = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":"
                   "\"500m\",\"memory\":\"1Gi\"}}}]}");
    kn_sched_node nodes[2];
    kn_sched_node_init(&nodes[0], n1);
    kn_sched_node_init(&nodes[1], n2);
    /* empty node: cpu (2000-500)/2000 = 75, memory (4-1)/4 = 75 */
    KT_ASSERT_EQ(kn_sched_least_allocated(p, &nodes[0]), 75);
    kn_sched_node_add_pod(&nodes[0], p);
    KT_ASSERT_EQ(kn_sched_least_allocated(p, &nodes[0]), 50);
    kn_rand rnd;
    kn_rand_seed(&rnd, 1);
    char *msg = NULL;
    for (int i = 0; i < 10; i++)
        KT_ASSERT_EQ(kn_sched_pick(p, nodes, 2, &rnd, &msg), 1);
    KT_ASSERT(msg == NULL);
    kn_sched_node_clear(&nodes[0]);
    kn_sched_node_clear(&nodes[1]);
    cJSON_Delete(n1);
    cJSON_Delete(n2);
    cJSON_Delete(p);
}

KT_TEST(scheduler, preferences_weigh_in)
{
    cJSON *soft =
        node("soft", NULL, "{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}");
    cJSON *plain = node("plain", "{\"zone\":\"b\"}", NULL);
    kn_sched_node nodes[2];
    kn_sched_node_init(&nodes[0], soft);
    kn_sched_node_init(&nodes[1], plain);
    cJSON *p = pod("{\"containers\":[{\"name\":\"a\"}]}");
    kn_rand rnd;
    kn_rand_seed(&rnd, 7);
    char *msg = NULL;
    KT_ASSERT_EQ(kn_sched_pick(p, nodes, 2, &rnd, &msg), 1);
    /* preferring zone a does not beat the taint; tolerating it makes them equal */
    cJSON *pref = pod("{\"containers\":[{\"name\":\"a\"}],\"tolerations\":[{\"key\":\"k\","
                      "\"operator\":\"Exists\"}],\"affinity\":{\"nodeAffinity\":{"
                      "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":10,"
                      "\"preference\":{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":"
                      "\"In\",\"values\":[\"b\"]}]}}]}}}");
    KT_ASSERT_EQ(kn_sched_pick(pref, nodes, 2, &rnd, &msg), 1);
    /* random tie-breaking reaches both nodes */
    cJSON *tol = pod("{\"containers\":[{\"name\":\"a\"}],\"tolerations\":[{\"key\":\"k\","
                     "\"operator\":\"Exists\"}]}");
    int seen[2] = {0, 0};
    for (int i = 0; i < 64; i++)
        seen[kn_sched_pick(tol, nodes, 2, &rnd, &msg)]++;
    KT_ASSERT(seen[0] > 0 && seen[1] > 0);
    kn_sched_node_clear(&nodes[0]);
    kn_sched_node_clear(&nodes[1]);
    cJSON_Delete(soft);
    cJSON_Delete(plain);
    cJSON_Delete(p);
    cJSON_Delete(pref);
    cJSON_Delete(tol);
}

KT_TEST(scheduler, fit_error_message_as_upstream)
{
    cJSON *a = node("a", NULL, NULL);
    cJSON *b = node("b", NULL,
                    "{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\",\"effect\":"
                    "\"NoSchedule\"}]}");
    cJSON *c = node("c", NULL,
                    "{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\",\"effect\":"
                    "\"NoSchedule\"}]}");
    kn_sched_node nodes[3];
    kn_sched_node_init(&nodes[0], a);
    kn_sched_node_init(&nodes[1], b);
    kn_sched_node_init(&nodes[2], c);
    cJSON *p = pod("{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":"
                   "\"3\"}}}]}");
    kn_rand rnd;
    kn_rand_seed(&rnd, 1);
    char *msg = NULL;
    KT_ASSERT_EQ(kn_sched_pick(p, nodes, 3, &rnd, &msg), -1);
    KT_ASSERT_STREQ(msg, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated "
                         "taint {node-role.kubernetes.io/control-plane: }.");
    free(msg);
    KT_ASSERT_EQ(kn_sched_pick(p, nodes, 0, &rnd, &msg), -1);
    KT_ASSERT_STREQ(msg, "no nodes available to schedule pods");
    free(msg);
    for (int i = 0; i < 3; i++)
        kn_sched_node_clear(&nodes[i]);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(p);
}
