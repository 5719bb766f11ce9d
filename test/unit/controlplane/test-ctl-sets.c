/* test-ctl-sets.c - the decisions of the DaemonSet and StatefulSet
 * controllers: which nodes run a daemon pod, what happens to the pods on
 * a node, which old daemon pods a rolling update replaces, and the order
 * in which StatefulSet pods are created, deleted and updated. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-workload.h"
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

/* A DaemonSet pod from a pod spec, with the automatic tolerations. */
static cJSON *daemon_pod(const char *spec)
{
    char *t = xasprintf("{\"metadata\":{\"name\":\"p\"},\"spec\":%s}", spec);
    cJSON *p = js(t);
    free(t);
    kn_ctl_ds_add_tolerations(cJSON_GetObjectItem(p, "spec"));
    return p;
}

static void check_run(const char *spec, const char *node, bool run, bool cont)
{
    cJSON *p = daemon_pod(spec), *n = js(node);
    bool r = !run, c = !cont;
    kn_ctl_ds_should_run(p, n, &r, &c);
    KT_ASSERT_MSG(r == run && c == cont, "spec %s node %s: run %d continue %d", spec, node, r, c);
    cJSON_Delete(p);
    cJSON_Delete(n);
}

KT_TEST(ctl_sets, daemonset_node_eligibility)
{
    const char *plain = "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"disk\":\"ssd\"}}}";
    check_run("{}", plain, true, true);
    check_run("{\"nodeSelector\":{\"disk\":\"ssd\"}}", plain, true, true);
    check_run("{\"nodeSelector\":{\"disk\":\"hdd\"}}", plain, false, false);
    check_run("{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
              "{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":"
              "\"In\",\"values\":[\"n2\"]}]}]}}}}",
              plain, false, false);
    /* a NoSchedule taint: no new pod, but a running one stays */
    const char *tainted = "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":"
                          "\"dedicated\",\"value\":\"db\",\"effect\":\"NoSchedule\"}]}}";
    check_run("{}", tainted, false, true);
    check_run("{\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"db\","
              "\"effect\":\"NoSchedule\"}]}",
              tainted, true, true);
    const char *evicting = "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":"
                           "\"dedicated\",\"effect\":\"NoExecute\"}]}}";
    check_run("{}", evicting, false, false);
    /* the automatic tolerations: cordoned, not ready, under pressure */
    check_run("{}",
              "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"unschedulable\":true,\"taints\":["
              "{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"},"
              "{\"key\":\"node.kubernetes.io/not-ready\",\"effect\":\"NoExecute\"},"
              "{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"},"
              "{\"key\":\"node.kubernetes.io/memory-pressure\",\"effect\":\"NoSchedule\"},"
              "{\"key\":\"node.kubernetes.io/disk-pressure\",\"effect\":\"NoSchedule\"},"
              "{\"key\":\"node.kubernetes.io/pid-pressure\",\"effect\":\"NoSchedule\"}]}}",
              true, true);
    const char *no_net = "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"taints\":[{\"key\":"
                         "\"node.kubernetes.io/network-unavailable\",\"effect\":\"NoSchedule\"}]}}";
    check_run("{}", no_net, false, true);
    check_run("{\"hostNetwork\":true}", no_net, true, true);
}

KT_TEST(ctl_sets, daemonset_tolerations_replace_and_pin)
{
    cJSON *p = daemon_pod(
        "{\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
        "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"affinity\":{\"nodeAffinity\":{"
        "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":1,\"preference\":{}}],"
        "\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{"
        "\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}]}}}}");
    cJSON *spec = cJSON_GetObjectItem(p, "spec");
    const cJSON *tols = cJSON_GetObjectItem(spec, "tolerations"), *t;
    KT_ASSERT_EQ(cJSON_GetArraySize(tols), 6);
    cJSON_ArrayForEach(t, tols) KT_ASSERT(cJSON_GetObjectItem(t, "tolerationSeconds") == NULL);
    KT_ASSERT(kn_ctl_ds_target_node(p) == NULL);
    kn_ctl_ds_pin(spec, "n7");
    KT_ASSERT_STREQ(kn_ctl_ds_target_node(p), "n7");
    const cJSON *pref = NULL;
    KT_ASSERT(kn_json_lookup(p,
                             "spec.affinity.nodeAffinity.preferredDuringScheduling"
                             "IgnoredDuringExecution",
                             &pref, NULL) > 0);
    cJSON *node = js("{\"metadata\":{\"name\":\"n7\"}}");
    bool run, cont;
    kn_ctl_ds_should_run(p, node, &run, &cont);
    KT_ASSERT(run && cont);
    cJSON_Delete(node);
    cJSON_Delete(p);
}

static cJSON *at_node(const char *name, const char *created, const char *phase, bool deleting)
{
    char *t = xasprintf("{\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\"%s},"
                        "\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"%s\"}}",
                        name, created,
                        deleting ? ",\"deletionTimestamp\":\"2024-01-01T00:00:09Z\"" : "", phase);
    cJSON *p = js(t);
    free(t);
    return p;
}

KT_TEST(ctl_sets, daemonset_node_plan)
{
    cJSON *old = at_node("a", "2024-01-01T00:00:01Z", "Running", false);
    cJSON *young = at_node("b", "2024-01-01T00:00:05Z", "Running", false);
    cJSON *failed = at_node("c", "2024-01-01T00:00:00Z", "Failed", false);
    cJSON *going = at_node("d", "2024-01-01T00:00:00Z", "Running", true);
    const cJSON *del[4], *pods[4] = {young, old, failed, going};
    bool create;
    KT_ASSERT_EQ(kn_ctl_ds_node_plan(true, true, pods, 0, &create, del), 0);
    KT_ASSERT(create);
    /* duplicates: the oldest stays; failed pods go; a pod being deleted blocks creation */
    KT_ASSERT_EQ(kn_ctl_ds_node_plan(true, true, pods, 4, &create, del), 2);
    KT_ASSERT(!create);
    KT_ASSERT(del[0] == young && del[1] == failed);
    KT_ASSERT_EQ(kn_ctl_ds_node_plan(true, true, &pods[3], 1, &create, del), 0);
    KT_ASSERT(!create);
    /* the node may no longer run it: everything goes */
    KT_ASSERT_EQ(kn_ctl_ds_node_plan(false, false, pods, 4, &create, del), 3);
    KT_ASSERT(!create);
    /* should not run, may continue: nothing happens */
    KT_ASSERT_EQ(kn_ctl_ds_node_plan(false, true, pods, 1, &create, del), 0);
    KT_ASSERT(!create);
    cJSON_Delete(old);
    cJSON_Delete(young);
    cJSON_Delete(failed);
    cJSON_Delete(going);
}

KT_TEST(ctl_sets, daemonset_rolling_update_respects_max_unavailable)
{
    kn_ctl_ds_slot s[5] = {
        {.nold = 1, .old_available = true},  {.nold = 1, .old_available = true},
        {.nold = 1, .old_available = false}, {.nnew = 1, .new_available = true},
        {.nold = 1, .old_available = true},
    };
    size_t out[5];
    /* the unavailable old pod goes regardless; one more within maxUnavailable 1 */
    size_t n = kn_ctl_ds_rolling_pick(s, 5, 1, out);
    KT_ASSERT_EQ(n, 2);
    KT_ASSERT_EQ(out[0], 2);
    KT_ASSERT_EQ(out[1], 0);
    KT_ASSERT_EQ(kn_ctl_ds_rolling_pick(s, 5, 2, out), 3);
    /* a new pod not yet available uses up the budget */
    s[3].new_available = false;
    n = kn_ctl_ds_rolling_pick(s, 5, 1, out);
    KT_ASSERT_EQ(n, 1);
    KT_ASSERT_EQ(out[0], 2);
    /* a node without a pod, or with old and new, counts as unavailable */
    kn_ctl_ds_slot t[3] = {{0}, {.nold = 1, .nnew = 1}, {.nold = 1, .old_available = true}};
    KT_ASSERT_EQ(kn_ctl_ds_rolling_pick(t, 3, 2, out), 0);
    KT_ASSERT_EQ(kn_ctl_ds_rolling_pick(t, 3, 3, out), 1);
    KT_ASSERT_EQ(out[0], 2);
}

KT_TEST(ctl_sets, statefulset_ordinals)
{
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-0"), 0);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-12"), 12);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-01"), -1);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-"), -1);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-x"), -1);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "webs-1"), -1);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web", "web-api-1"), -1);
    KT_ASSERT_EQ(kn_ctl_sts_ordinal("web-api", "web-api-1"), 1);
}

#define UP ((kn_ctl_sts_pod){.exists = true, .healthy = true, .updated = true})
#define OLD ((kn_ctl_sts_pod){.exists = true, .healthy = true})
#define NONE ((kn_ctl_sts_pod){0})

static size_t plan(kn_ctl_sts_params p, const kn_ctl_sts_pod *pods, size_t n, kn_ctl_sts_action *a)
{
    return kn_ctl_sts_plan(&p, pods, n, a);
}

KT_TEST(ctl_sets, statefulset_ordered_ready_creation)
{
    kn_ctl_sts_action a[4];
    kn_ctl_sts_params p = {.replicas = 3, .rolling = true};
    kn_ctl_sts_pod none[3] = {NONE, NONE, NONE};
    KT_ASSERT_EQ(plan(p, none, 3, a), 1);
    KT_ASSERT(a[0].create && a[0].ordinal == 0);
    /* web-0 exists but is not Running and Ready: wait */
    kn_ctl_sts_pod starting[3] = {{.exists = true, .updated = true}, NONE, NONE};
    KT_ASSERT_EQ(plan(p, starting, 3, a), 0);
    kn_ctl_sts_pod one[3] = {UP, NONE, NONE};
    KT_ASSERT_EQ(plan(p, one, 3, a), 1);
    KT_ASSERT(a[0].create && a[0].ordinal == 1);
    /* Parallel: all at once */
    p.parallel = true;
    KT_ASSERT_EQ(plan(p, none, 3, a), 3);
    KT_ASSERT(a[2].create && a[2].ordinal == 2);
    /* a failed pod is deleted first, then recreated */
    p.parallel = false;
    kn_ctl_sts_pod failed[3] = {UP, {.exists = true, .finished = true, .updated = true}, NONE};
    KT_ASSERT_EQ(plan(p, failed, 3, a), 1);
    KT_ASSERT(!a[0].create && a[0].ordinal == 1);
}

KT_TEST(ctl_sets, statefulset_scale_down_in_reverse)
{
    kn_ctl_sts_action a[4];
    kn_ctl_sts_params p = {.replicas = 1, .rolling = true};
    kn_ctl_sts_pod pods[4] = {UP, UP, NONE, UP};
    KT_ASSERT_EQ(plan(p, pods, 4, a), 1);
    KT_ASSERT(!a[0].create && a[0].ordinal == 3);
    pods[3].terminating = true, pods[3].healthy = false;
    KT_ASSERT_EQ(plan(p, pods, 4, a), 0); /* waits for web-3 to go */
    pods[3] = NONE;
    KT_ASSERT_EQ(plan(p, pods, 4, a), 1);
    KT_ASSERT(!a[0].create && a[0].ordinal == 1);
    /* not while a remaining replica is unhealthy */
    pods[0].healthy = false;
    KT_ASSERT_EQ(plan(p, pods, 4, a), 0);
    /* Parallel deletes every condemned pod at once */
    p.parallel = true;
    kn_ctl_sts_pod more[4] = {UP, UP, UP, UP};
    KT_ASSERT_EQ(plan(p, more, 4, a), 3);
    KT_ASSERT(a[0].ordinal == 3 && a[1].ordinal == 2 && a[2].ordinal == 1);
}

KT_TEST(ctl_sets, statefulset_rolling_update_reverse_with_partition)
{
    kn_ctl_sts_action a[4];
    kn_ctl_sts_params p = {.replicas = 3, .rolling = true};
    kn_ctl_sts_pod pods[3] = {OLD, OLD, OLD};
    KT_ASSERT_EQ(plan(p, pods, 3, a), 1);
    KT_ASSERT(!a[0].create && a[0].ordinal == 2);
    pods[2] = (kn_ctl_sts_pod){.exists = true, .updated = true}; /* recreated, not ready */
    KT_ASSERT_EQ(plan(p, pods, 3, a), 0);
    pods[2] = UP;
    KT_ASSERT_EQ(plan(p, pods, 3, a), 1);
    KT_ASSERT(a[0].ordinal == 1);
    /* the partition keeps the ordinals below it */
    p.partition = 2;
    KT_ASSERT_EQ(plan(p, pods, 3, a), 0);
    /* OnDelete never deletes for an update */
    p.partition = 0, p.rolling = false;
    KT_ASSERT_EQ(plan(p, pods, 3, a), 0);
}
