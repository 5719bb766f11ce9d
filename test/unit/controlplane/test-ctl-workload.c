/* test-ctl-workload.c - deletion ranking, template hashes and the rollout
 * arithmetic of the ReplicaSet and Deployment controllers. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-workload.h"
#include "controlplane/objmeta.h"
#include "lib/duration.h"
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

/* A pod: node ("" unassigned), phase, ready since (NULL: not ready),
 * created at, uid. */
static cJSON *pod(const char *name, const char *node, const char *phase, const char *ready_since,
                  const char *created)
{
    char *conds = ready_since ? xasprintf("[{\"type\":\"Ready\",\"status\":\"True\","
                                          "\"lastTransitionTime\":\"%s\"}]",
                                          ready_since)
                              : xstrdup("[]");
    char *t = xasprintf("{\"metadata\":{\"name\":\"%s\",\"uid\":\"uid-%s\",\"creationTimestamp\":"
                        "\"%s\"},\"spec\":{\"nodeName\":\"%s\"},\"status\":{\"phase\":\"%s\","
                        "\"conditions\":%s}}",
                        name, name, created, node, phase, conds);
    cJSON *p = js(t);
    free(t);
    free(conds);
    return p;
}

static const char *name_of(const kn_ctl_ranked_pod *p)
{
    return kn_meta_str(p->pod, "name");
}

KT_TEST(ctl_workload, deletion_order_as_upstream)
{
    int64_t now = kn_rfc3339_parse("2025-01-01T12:00:00Z");
    cJSON *p[] = {
        pod("ready-old", "n1", "Running", "2025-01-01T10:00:00Z", "2025-01-01T09:00:00Z"),
        pod("unassigned", "", "Pending", NULL, "2025-01-01T09:00:00Z"),
        pod("pending", "n1", "Pending", NULL, "2025-01-01T09:00:00Z"),
        pod("not-ready", "n2", "Running", NULL, "2025-01-01T09:00:00Z"),
        pod("ready-new", "n2", "Running", "2025-01-01T11:59:00Z", "2025-01-01T09:00:00Z"),
    };
    kn_ctl_ranked_pod v[5];
    for (int i = 0; i < 5; i++)
        v[i] = (kn_ctl_ranked_pod){p[i], 1};
    kn_ctl_sort_for_deletion(v, 5, now);
    static const char *const want[] = {"unassigned", "pending", "not-ready", "ready-new",
                                       "ready-old"};
    for (int i = 0; i < 5; i++)
        KT_ASSERT_STREQ(name_of(&v[i]), want[i]);

    /* doubled-up pods go first among equals; then the newer one */
    kn_ctl_ranked_pod a = {p[0], 1}, b = {p[4], 2};
    KT_ASSERT(kn_ctl_deletion_less(&b, &a, now));
    b.rank = 1;
    KT_ASSERT(kn_ctl_deletion_less(&b, &a, now));
    KT_ASSERT(!kn_ctl_deletion_less(&a, &b, now));
    /* the pod-deletion-cost annotation comes before ranks and times */
    cJSON_AddItemToObject(cJSON_GetObjectItem(p[4], "metadata"), "annotations",
                          js("{\"controller.kubernetes.io/pod-deletion-cost\":\"10\"}"));
    b.rank = 5;
    KT_ASSERT(kn_ctl_deletion_less(&a, &b, now));
    for (int i = 0; i < 5; i++)
        cJSON_Delete(p[i]);
}

KT_TEST(ctl_workload, creation_time_in_log_buckets)
{
    int64_t now = kn_rfc3339_parse("2025-01-01T12:00:00Z");
    /* 100 s and 101 s old fall in the same log2 bucket: the uid decides */
    cJSON *x = pod("b", "n1", "Running", NULL, "2025-01-01T11:58:20Z");
    cJSON *y = pod("a", "n1", "Running", NULL, "2025-01-01T11:58:19Z");
    kn_ctl_ranked_pod a = {x, 0}, b = {y, 0};
    KT_ASSERT(kn_ctl_deletion_less(&b, &a, now)); /* uid-a < uid-b */
    KT_ASSERT(!kn_ctl_deletion_less(&a, &b, now));
    /* without a reference time plain newer-first applies */
    KT_ASSERT(kn_ctl_deletion_less(&a, &b, 0));
    /* an hour apart: the newer one first */
    cJSON *old = pod("z", "n1", "Running", NULL, "2025-01-01T10:00:00Z");
    kn_ctl_ranked_pod c = {old, 0};
    KT_ASSERT(kn_ctl_deletion_less(&a, &c, now));
    cJSON_Delete(x);
    cJSON_Delete(y);
    cJSON_Delete(old);
}

KT_TEST(ctl_workload, template_hash_is_stable_and_ignores_key_order)
{
    cJSON *a = js("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"f\"}},\"spec\":"
                  "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}");
    cJSON *b = js("{\"spec\":{\"containers\":[{\"image\":\"nginx:1\",\"name\":\"c\"}]},"
                  "\"metadata\":{\"labels\":{\"tier\":\"f\",\"app\":\"web\"}}}");
    cJSON *c = js("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"f\"}},\"spec\":"
                  "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}");
    char *ha = kn_ctl_template_hash(a, -1), *hb = kn_ctl_template_hash(b, -1);
    char *hc = kn_ctl_template_hash(c, -1), *hcol = kn_ctl_template_hash(a, 1);
    KT_ASSERT_STREQ(ha, hb);
    KT_ASSERT(strcmp(ha, hc) != 0);
    KT_ASSERT(strcmp(ha, hcol) != 0);
    KT_ASSERT(strlen(ha) >= 6 && strlen(ha) <= 10);
    KT_ASSERT_EQ(strspn(ha, "bcdfghjklmnpqrstvwxz2456789"), strlen(ha));
    /* the label itself does not make templates differ */
    cJSON *labelled = cJSON_Duplicate(a, 1);
    cJSON_AddStringToObject(
        cJSON_GetObjectItem(cJSON_GetObjectItem(labelled, "metadata"), "labels"),
        "pod-template-hash", ha);
    KT_ASSERT(kn_ctl_templates_equal(a, labelled));
    /* null, {} and [] are the same as absent (what kubectl rollout undo sends back) */
    cJSON *zero = js("{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"web\","
                     "\"tier\":\"f\"},\"annotations\":{}},\"spec\":{\"containers\":[{\"name\":"
                     "\"c\",\"image\":\"nginx:1\",\"resources\":{},\"env\":[]}]}}");
    KT_ASSERT(kn_ctl_templates_equal(a, zero));
    char *hz = kn_ctl_template_hash(zero, -1);
    KT_ASSERT_STREQ(hz, ha);
    free(hz);
    cJSON_Delete(zero);
    KT_ASSERT(kn_ctl_templates_equal(a, b));
    KT_ASSERT(!kn_ctl_templates_equal(a, c));
    free(ha);
    free(hb);
    free(hc);
    free(hcol);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(labelled);
}

KT_TEST(ctl_workload, fenceposts_round_as_upstream)
{
    kn_ctl_rollout d = {.rolling = true};
    cJSON *pct = js("\"25%\""), *one = js("1"), *zero = js("0"), *bad = js("\"x%\"");
    KT_ASSERT_EQ(kn_ctl_fenceposts(pct, pct, 3, &d), 0);
    KT_ASSERT_EQ(d.max_surge, 1);       /* ceil(0.75) */
    KT_ASSERT_EQ(d.max_unavailable, 0); /* floor(0.75) */
    KT_ASSERT_EQ(kn_ctl_fenceposts(pct, pct, 10, &d), 0);
    KT_ASSERT_EQ(d.max_surge, 3);
    KT_ASSERT_EQ(d.max_unavailable, 2);
    KT_ASSERT_EQ(kn_ctl_fenceposts(zero, zero, 4, &d), 0);
    KT_ASSERT_EQ(d.max_unavailable, 1); /* both 0: one may be unavailable */
    cJSON *big = js("\"300%\"");
    KT_ASSERT_EQ(kn_ctl_fenceposts(one, big, 2, &d), 0);
    cJSON_Delete(big);
    KT_ASSERT_EQ(d.max_unavailable, 2); /* capped at replicas */
    KT_ASSERT_EQ(kn_ctl_fenceposts(bad, one, 2, &d), -1);
    d.rolling = false;
    KT_ASSERT_EQ(kn_ctl_fenceposts(pct, pct, 10, &d), 0);
    KT_ASSERT_EQ(d.max_surge + d.max_unavailable, 0);
    cJSON_Delete(pct);
    cJSON_Delete(one);
    cJSON_Delete(zero);
    cJSON_Delete(bad);
}

KT_TEST(ctl_workload, rolling_update_steps)
{
    /* 3 replicas, maxSurge 1, maxUnavailable 0: the classic one-at-a-time roll */
    kn_ctl_rollout d = {.replicas = 3, .max_surge = 1, .max_unavailable = 0, .rolling = true};
    kn_ctl_rs old = {.created_ns = 1, .replicas = 3, .available = 3, .name = "old"};
    kn_ctl_rs neu = {.created_ns = 2, .replicas = 0, .available = 0, .name = "new"};
    kn_ctl_rs all[2] = {old, neu};
    KT_ASSERT_EQ(kn_ctl_new_rs_replicas(&d, all, 2, &neu), 1);
    neu.replicas = 1;
    /* the new pod is not available yet: nothing may go */
    KT_ASSERT_EQ(kn_ctl_scale_down_old(&d, &old, 1, &neu), 0);
    KT_ASSERT_EQ(old.replicas, 3);
    neu.available = 1;
    KT_ASSERT_EQ(kn_ctl_scale_down_old(&d, &old, 1, &neu), 1);
    KT_ASSERT_EQ(old.replicas, 2);
    all[0] = old;
    all[1] = neu;
    KT_ASSERT_EQ(kn_ctl_new_rs_replicas(&d, all, 2, &neu), 2);

    /* unavailable old replicas are removed first, whatever their age */
    kn_ctl_rollout d2 = {.replicas = 4, .max_surge = 1, .max_unavailable = 1, .rolling = true};
    kn_ctl_rs olds[2] = {{.created_ns = 1, .replicas = 2, .available = 2, .name = "a"},
                         {.created_ns = 2, .replicas = 2, .available = 0, .name = "b"}};
    kn_ctl_rs n2 = {.created_ns = 3, .replicas = 1, .available = 0, .name = "c"};
    /* all 5, min available 3, new unavailable 1: at most 1 goes, an unhealthy one */
    KT_ASSERT_EQ(kn_ctl_scale_down_old(&d2, olds, 2, &n2), 1);
    KT_ASSERT_EQ(olds[0].replicas, 2);
    KT_ASSERT_EQ(olds[1].replicas, 1);

    /* Recreate: the new one gets everything */
    kn_ctl_rollout r = {.replicas = 5, .rolling = false};
    KT_ASSERT_EQ(kn_ctl_new_rs_replicas(&r, all, 2, &neu), 5);
}

KT_TEST(ctl_workload, proportional_scaling)
{
    /* upstream's example: 10 replicas with maxSurge 3 mid-rollout, scaled to 15 */
    kn_ctl_rollout d = {.replicas = 15, .max_surge = 3, .rolling = true, .status_replicas = 13};
    kn_ctl_rs rs[2] = {
        {.created_ns = 1, .replicas = 8, .max_replicas = 13, .desired = 10, .name = "old"},
        {.created_ns = 2, .replicas = 5, .max_replicas = 13, .desired = 10, .name = "new"}};
    kn_ctl_scale(&d, rs, 2, 1);
    KT_ASSERT_EQ(rs[0].replicas, 11);
    KT_ASSERT_EQ(rs[1].replicas, 7);
    /* and back down to 5: allowed 8 */
    kn_ctl_rollout down = {.replicas = 5, .max_surge = 3, .rolling = true, .status_replicas = 18};
    rs[0].max_replicas = rs[1].max_replicas = 18;
    kn_ctl_scale(&down, rs, 2, 1);
    KT_ASSERT_EQ(rs[0].replicas + rs[1].replicas, 8);
    KT_ASSERT(rs[0].replicas >= rs[1].replicas);

    /* one active ReplicaSet takes the new size whole */
    kn_ctl_rs one[2] = {{.created_ns = 1, .replicas = 0, .name = "old"},
                        {.created_ns = 2, .replicas = 3, .name = "new"}};
    kn_ctl_rollout d7 = {.replicas = 7, .max_surge = 2, .rolling = true};
    kn_ctl_scale(&d7, one, 2, 1);
    KT_ASSERT_EQ(one[0].replicas, 0);
    KT_ASSERT_EQ(one[1].replicas, 7);
    /* none active: the new one */
    one[1].replicas = 0;
    kn_ctl_scale(&d7, one, 2, 1);
    KT_ASSERT_EQ(one[1].replicas, 7);
    /* a saturated new ReplicaSet: old ones go to 0 */
    kn_ctl_rs sat[2] = {
        {.created_ns = 1, .replicas = 2, .name = "old"},
        {.created_ns = 2, .replicas = 7, .available = 7, .desired = 7, .name = "new"}};
    kn_ctl_scale(&d7, sat, 2, 1);
    KT_ASSERT_EQ(sat[0].replicas, 0);
    KT_ASSERT_EQ(sat[1].replicas, 7);
}
