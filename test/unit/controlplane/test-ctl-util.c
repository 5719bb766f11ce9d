/* test-ctl-util.c - expectations and object helpers of the controllers. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/ctl-internal.h"
#include "lib/json.h"
#include "test/runner/kt.h"

static cJSON *js(const char *text)
{
    cJSON *v = NULL;
    kn_error *err = NULL;
    if (kn_json_parse(text, strlen(text), 0, &v, &err) < 0)
        KT_FAIL("bad test JSON: %s: %s", kn_error_msg(err), text);
    return v;
}

KT_TEST(ctl_util, expectations_wait_for_creates_and_named_deletes)
{
    kn_ctl_expect *e = kn_ctl_expect_new();
    KT_ASSERT(kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_creations(e, "ns/rs", 2);
    KT_ASSERT(!kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_creation_observed(e, "ns/rs");
    KT_ASSERT(!kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_creation_observed(e, "ns/rs");
    KT_ASSERT(kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_creation_observed(e, "ns/rs"); /* never below zero */
    KT_ASSERT(kn_ctl_expect_satisfied(e, "ns/rs"));

    char *keys[] = {"ns/a", "ns/b"};
    kn_ctl_expect_deletions(e, "ns/rs", keys, 2);
    KT_ASSERT(!kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_deletion_observed(e, "ns/rs", "ns/other"); /* not awaited: no effect */
    kn_ctl_expect_deletion_observed(e, "ns/rs", "ns/a");
    KT_ASSERT(!kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_deletion_observed(e, "ns/rs", "ns/b");
    KT_ASSERT(kn_ctl_expect_satisfied(e, "ns/rs"));
    kn_ctl_expect_creations(e, "ns/x", 1);
    kn_ctl_expect_delete(e, "ns/x");
    KT_ASSERT(kn_ctl_expect_satisfied(e, "ns/x"));
    kn_ctl_expect_free(e);
}

KT_TEST(ctl_util, conditions_keep_transition_time_while_status_stays)
{
    cJSON *obj = js("{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                    "\"lastTransitionTime\":\"2020-01-01T00:00:00Z\",\"reason\":\"A\"}]}}");
    cJSON *st = cJSON_GetObjectItem(obj, "status");
    KT_ASSERT(!kn_ctl_set_condition(st, "Ready", "True", "A", NULL, false));
    KT_ASSERT(kn_ctl_set_condition(st, "Ready", "True", "B", "m", false));
    KT_ASSERT_STREQ(kn_ctl_str(kn_ctl_condition(obj, "Ready"), "lastTransitionTime"),
                    "2020-01-01T00:00:00Z");
    KT_ASSERT(kn_ctl_set_condition(st, "Ready", "False", "B", "m", false));
    KT_ASSERT(strcmp(kn_ctl_str(kn_ctl_condition(obj, "Ready"), "lastTransitionTime"),
                     "2020-01-01T00:00:00Z") != 0);
    KT_ASSERT(kn_ctl_set_condition(st, "Other", "True", NULL, NULL, true));
    KT_ASSERT(kn_ctl_str(kn_ctl_condition(obj, "Other"), "lastUpdateTime") != NULL);
    KT_ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(st, "conditions")), 2);
    cJSON_Delete(obj);
}

KT_TEST(ctl_util, owners_selectors_and_pods)
{
    cJSON *pod = js("{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"f\"},"
                    "\"ownerReferences\":[{\"uid\":\"1\",\"kind\":\"X\"},{\"uid\":\"2\","
                    "\"kind\":\"ReplicaSet\",\"controller\":true}]},\"status\":{\"phase\":"
                    "\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
                    "\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"}]}}");
    KT_ASSERT_STREQ(kn_ctl_str(kn_ctl_controller_ref(pod), "uid"), "2");
    cJSON *rs = js("{\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
                   "\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":"
                   "[\"f\",\"g\"]}]}}}");
    kn_label_selector *sel = kn_ctl_selector(rs, "spec.selector");
    KT_ASSERT(sel != NULL);
    KT_ASSERT(kn_ctl_labels_match(sel, pod));
    kn_label_selector_free(sel);
    KT_ASSERT(kn_ctl_selector(rs, "spec.missing") == NULL);
    cJSON *want = js("{\"app\":\"web\"}"), *other = js("{\"app\":\"db\"}");
    KT_ASSERT(kn_ctl_labels_contain(pod, want));
    KT_ASSERT(!kn_ctl_labels_contain(pod, other));
    KT_ASSERT(kn_ctl_pod_active(pod));
    KT_ASSERT(kn_ctl_pod_ready(pod));
    int64_t t2020 = INT64_C(1577836800) * 1000000000;
    KT_ASSERT(kn_ctl_pod_available(pod, 10, t2020 + INT64_C(11) * 1000000000));
    KT_ASSERT(!kn_ctl_pod_available(pod, 10, t2020 + INT64_C(9) * 1000000000));
    char ns[256], name[256];
    kn_ctl_split_key("default/web", ns, name);
    KT_ASSERT_STREQ(ns, "default");
    KT_ASSERT_STREQ(name, "web");
    kn_ctl_split_key("node-1", ns, name);
    KT_ASSERT_STREQ(ns, "");
    KT_ASSERT_STREQ(name, "node-1");
    cJSON_Delete(want);
    cJSON_Delete(other);
    cJSON_Delete(rs);
    cJSON_Delete(pod);
}
