/* test-ctl-node.c - taints from node conditions, Unknown conditions and
 * toleration times of the node lifecycle and taint eviction controllers. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "controlplane/ctl-node.h"
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

static char *taints_of(const char *node_json, bool noschedule, kn_ctl_noexec mode)
{
    cJSON *n = js(node_json);
    cJSON *t = kn_ctl_node_taints(n, noschedule, mode, "2025-01-01T00:00:00Z");
    char *s = kn_json_print(t);
    cJSON_Delete(t);
    cJSON_Delete(n);
    return s;
}

#define NODE(spec, conds)                                                                          \
    "{\"metadata\":{\"name\":\"n\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\"},\"spec\":" spec \
    ",\"status\":{\"conditions\":" conds "}}"

KT_TEST(ctl_node, taints_follow_conditions)
{
    char *s = taints_of(NODE("{\"taints\":[{\"key\":\"own\",\"effect\":\"NoSchedule\"}]}",
                             "[{\"type\":\"Ready\",\"status\":\"Unknown\"},{\"type\":"
                             "\"MemoryPressure\",\"status\":\"True\"}]"),
                        true, KN_CTL_NOEXEC_SET);
    KT_ASSERT_STREQ(s, "[{\"key\":\"own\",\"effect\":\"NoSchedule\"},{\"key\":\"node.kubernetes."
                       "io/unreachable\",\"effect\":\"NoSchedule\"},{\"key\":\"node.kubernetes.io/"
                       "memory-pressure\",\"effect\":\"NoSchedule\"},{\"key\":\"node.kubernetes."
                       "io/unreachable\",\"effect\":\"NoExecute\",\"timeAdded\":\"2025-01-01T00:00:"
                       "00Z\"}]");
    free(s);
    /* back to Ready: the managed taints go, an existing NoExecute keeps its time */
    s = taints_of(NODE("{\"unschedulable\":true,\"taints\":[{\"key\":\"node.kubernetes.io/"
                       "not-ready\",\"effect\":\"NoExecute\",\"timeAdded\":\"2020-01-01T00:00:"
                       "00Z\"},{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":"
                       "\"NoSchedule\"}]}",
                       "[{\"type\":\"Ready\",\"status\":\"True\"}]"),
                  true, KN_CTL_NOEXEC_SET);
    KT_ASSERT_STREQ(s,
                    "[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]");
    free(s);
    s = taints_of(NODE("{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":"
                       "\"NoExecute\",\"timeAdded\":\"2020-01-01T00:00:00Z\"}]}",
                       "[{\"type\":\"Ready\",\"status\":\"False\"}]"),
                  false, KN_CTL_NOEXEC_SET);
    KT_ASSERT_STREQ(s, "[{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoExecute\","
                       "\"timeAdded\":\"2020-01-01T00:00:00Z\"}]");
    free(s);
    /* a zone entirely down gets no new NoExecute taint; every zone down: none at all */
    s = taints_of(NODE("{}", "[{\"type\":\"Ready\",\"status\":\"Unknown\"}]"), false,
                  KN_CTL_NOEXEC_HOLD);
    KT_ASSERT_STREQ(s, "[]");
    free(s);
    s = taints_of(NODE("{\"taints\":[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":"
                       "\"NoExecute\"}]}",
                       "[{\"type\":\"Ready\",\"status\":\"Unknown\"}]"),
                  false, KN_CTL_NOEXEC_REMOVE);
    KT_ASSERT_STREQ(s, "[]");
    free(s);
    /* KEEP leaves NoExecute taints alone */
    s = taints_of(NODE("{\"taints\":[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":"
                       "\"NoExecute\"}]}",
                       "[{\"type\":\"Ready\",\"status\":\"True\"}]"),
                  true, KN_CTL_NOEXEC_KEEP);
    KT_ASSERT_STREQ(s, "[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"}]");
    free(s);
}

KT_TEST(ctl_node, stale_node_conditions_become_unknown)
{
    cJSON *n =
        js(NODE("{}", "[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":"
                      "\"KubeletReady\",\"lastHeartbeatTime\":\"2024-06-01T00:00:00Z\"},"
                      "{\"type\":\"DiskPressure\",\"status\":\"Unknown\",\"reason\":\"x\"}]"));
    KT_ASSERT(kn_ctl_node_mark_unknown(n, "2025-01-01T00:00:00Z"));
    const cJSON *ready = kn_ctl_condition(n, "Ready");
    KT_ASSERT_STREQ(kn_ctl_str(ready, "status"), "Unknown");
    KT_ASSERT_STREQ(kn_ctl_str(ready, "reason"), "NodeStatusUnknown");
    KT_ASSERT_STREQ(kn_ctl_str(ready, "message"), "Kubelet stopped posting node status.");
    KT_ASSERT_STREQ(kn_ctl_str(ready, "lastTransitionTime"), "2025-01-01T00:00:00Z");
    KT_ASSERT_STREQ(kn_ctl_str(ready, "lastHeartbeatTime"), "2024-06-01T00:00:00Z");
    KT_ASSERT_STREQ(kn_ctl_str(kn_ctl_condition(n, "DiskPressure"), "reason"), "x");
    const cJSON *mem = kn_ctl_condition(n, "MemoryPressure");
    KT_ASSERT_STREQ(kn_ctl_str(mem, "reason"), "NodeStatusNeverUpdated");
    KT_ASSERT_STREQ(kn_ctl_str(mem, "lastHeartbeatTime"), "2024-01-01T00:00:00Z");
    KT_ASSERT(!kn_ctl_node_mark_unknown(n, "2025-01-02T00:00:00Z"));
    cJSON_Delete(n);
}

static kn_ctl_evict eviction(const char *tols, const char *taints, int64_t *secs)
{
    cJSON *a = js(tols), *b = js(taints);
    kn_ctl_evict e = kn_ctl_eviction(a, b, secs);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return e;
}

KT_TEST(ctl_node, toleration_seconds_decide_eviction)
{
    static const char unreachable[] =
        "[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"},"
        "{\"key\":\"soft\",\"effect\":\"NoSchedule\"}]";
    int64_t s = -1;
    KT_ASSERT_EQ(eviction("[]", "[]", &s), KN_CTL_EVICT_NEVER);
    KT_ASSERT_EQ(eviction("[]", unreachable, &s), KN_CTL_EVICT_NOW);
    KT_ASSERT_EQ(eviction("[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
                          "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]",
                          unreachable, &s),
                 KN_CTL_EVICT_AFTER);
    KT_ASSERT_EQ(s, 300);
    KT_ASSERT_EQ(eviction("[{\"operator\":\"Exists\"}]", unreachable, &s), KN_CTL_EVICT_NEVER);
    KT_ASSERT_EQ(eviction("[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
                          "\"tolerationSeconds\":0}]",
                          unreachable, &s),
                 KN_CTL_EVICT_NOW);
    /* the first toleration matching each taint counts; the shortest wins */
    KT_ASSERT_EQ(eviction("[{\"key\":\"a\",\"operator\":\"Exists\",\"tolerationSeconds\":60},"
                          "{\"key\":\"b\",\"operator\":\"Exists\",\"tolerationSeconds\":30},"
                          "{\"operator\":\"Exists\",\"tolerationSeconds\":5}]",
                          "[{\"key\":\"a\",\"effect\":\"NoExecute\"},{\"key\":\"b\",\"effect\":"
                          "\"NoExecute\"}]",
                          &s),
                 KN_CTL_EVICT_AFTER);
    KT_ASSERT_EQ(s, 30);
}

KT_TEST(ctl_node, cidrset_hands_out_subnets_round_robin)
{
    KT_ASSERT(kn_ctl_cidrset_new("10.244.0.0/16", 16) == NULL);
    KT_ASSERT(kn_ctl_cidrset_new("fd00::/64", 80) == NULL);
    KT_ASSERT(kn_ctl_cidrset_new("10.244.0.0", 24) == NULL);
    kn_ctl_cidrset *s = kn_ctl_cidrset_new("10.244.7.9/22", 24); /* host bits ignored */
    KT_ASSERT(s != NULL);
    char c[32];
    KT_ASSERT(kn_ctl_cidrset_occupy(s, "10.244.5.0/24"));
    KT_ASSERT(!kn_ctl_cidrset_occupy(s, "10.244.8.0/24")); /* outside */
    KT_ASSERT(!kn_ctl_cidrset_occupy(s, "10.244.5.0/25")); /* other size */
    KT_ASSERT(!kn_ctl_cidrset_occupy(s, "10.244.5.1/24")); /* not a subnet address */
    KT_ASSERT(kn_ctl_cidrset_allocate(s, c));
    KT_ASSERT_STREQ(c, "10.244.4.0/24");
    KT_ASSERT(kn_ctl_cidrset_allocate(s, c));
    KT_ASSERT_STREQ(c, "10.244.6.0/24"); /* .5 is taken */
    kn_ctl_cidrset_release(s, "10.244.4.0/24");
    KT_ASSERT(kn_ctl_cidrset_allocate(s, c));
    KT_ASSERT_STREQ(c, "10.244.7.0/24"); /* round-robin: released ones come later */
    KT_ASSERT(kn_ctl_cidrset_allocate(s, c));
    KT_ASSERT_STREQ(c, "10.244.4.0/24");
    KT_ASSERT(!kn_ctl_cidrset_allocate(s, c)); /* all four used */
    kn_ctl_cidrset_free(s);
}
