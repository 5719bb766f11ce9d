/* Strategic merge patch keyed by the schema table's patch merge keys:
 * containers by name, container ports by containerPort, env by name,
 * volumes by name, Service ports by port, finalizers as a set, tolerations
 * (no strategy upstream) replaced whole, and the directives. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/kschema.h"
#include "controlplane/smpatch.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "test/runner/kt.h"

/* Applies patch (JSON text) to orig (JSON text) as a kind; returns the
 * result printed, or the error message prefixed with "error: ". */
static char *smp(const char *api_version, const char *kind, const char *orig, const char *patch)
{
    cJSON *o = cJSON_Parse(orig), *p = cJSON_Parse(patch), *out = NULL;
    KT_ASSERT(o && p);
    kn_error *err = NULL;
    const kn_schema_type *t = kn_schema_by_kind(api_version, kind);
    char *res;
    if (kn_strategic_merge_patch(t, o, p, &out, &err) < 0) {
        res = malloc(strlen(kn_error_msg(err)) + 8);
        strcpy(res, "error: ");
        strcat(res, kn_error_msg(err));
        kn_error_free(&err);
    } else {
        res = kn_json_print(out);
    }
    cJSON_Delete(o);
    cJSON_Delete(p);
    cJSON_Delete(out);
    return res;
}

static const char pod[] =
    "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"ports\":[{\"containerPort\":80,"
    "\"name\":\"http\"},{\"containerPort\":443}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},"
    "{\"name\":\"b\",\"image\":\"y:1\"}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}],"
    "\"tolerations\":[{\"key\":\"k1\",\"operator\":\"Exists\"}]},"
    "\"metadata\":{\"finalizers\":[\"f1\"]}}";

KT_TEST(smpatch, containers_merge_by_name_and_ports_by_container_port)
{
    cleanup_free char *r =
        smp("v1", "Pod", pod,
            "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y:2\"},{\"name\":\"a\","
            "\"ports\":[{\"containerPort\":80,\"name\":\"web\"}],\"env\":[{\"name\":\"B\","
            "\"value\":\"2\"}]}]}}");
    KT_ASSERT_CONTAINS(r, "{\"name\":\"b\",\"image\":\"y:2\"}");
    KT_ASSERT_CONTAINS(r, "\"image\":\"x:1\"");
    KT_ASSERT_CONTAINS(r, "[{\"containerPort\":80,\"name\":\"web\"},{\"containerPort\":443}]");
    KT_ASSERT_CONTAINS(r, "[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]");
}

KT_TEST(smpatch, tolerations_have_no_merge_key_and_are_replaced)
{
    cleanup_free char *r =
        smp("v1", "Pod", pod,
            "{\"spec\":{\"tolerations\":[{\"key\":\"k2\",\"operator\":\"Exists\"}]}}");
    KT_ASSERT_CONTAINS(r, "\"tolerations\":[{\"key\":\"k2\",\"operator\":\"Exists\"}]");
}

KT_TEST(smpatch, volumes_by_name_delete_directive_and_finalizer_set)
{
    cleanup_free char *r =
        smp("v1", "Pod", pod,
            "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$patch\":\"delete\"},{\"name\":\"w\","
            "\"emptyDir\":{}}]},\"metadata\":{\"finalizers\":[\"f2\",\"f1\"]}}");
    KT_ASSERT_CONTAINS(r, "\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}}]");
    KT_ASSERT_CONTAINS(r, "\"finalizers\":[\"f1\",\"f2\"]");
}

KT_TEST(smpatch, service_ports_merge_by_port)
{
    cleanup_free char *r = smp("v1", "Service",
                               "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},"
                               "{\"port\":443}]}}",
                               "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}");
    KT_ASSERT_STREQ(r, "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":443}]}}");
}

KT_TEST(smpatch, deployment_template_containers_are_keyed_through_nested_types)
{
    cleanup_free char *r = smp("apps/v1", "Deployment",
                               "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
                               "\"image\":\"a\",\"command\":[\"x\"]}]}}}}",
                               "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
                               "\"image\":\"b\"}]}}}}");
    KT_ASSERT_STREQ(r, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\","
                       "\"image\":\"b\",\"command\":[\"x\"]}]}}}}");
}

KT_TEST(smpatch, a_list_of_a_field_the_schema_does_not_key_is_replaced)
{
    /* "containers" of a ConfigMap's data would be keyed by a field-name
     * table; by schema it is a plain map value */
    cleanup_free char *r =
        smp("v1", "Node", "{\"spec\":{\"taints\":[{\"key\":\"a\",\"effect\":\"NoSchedule\"}]}}",
            "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoSchedule\"}]}}");
    KT_ASSERT_STREQ(r, "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoSchedule\"}]}}");
}

KT_TEST(smpatch, element_without_merge_key_is_an_error)
{
    cleanup_free char *r = smp("v1", "Pod", pod, "{\"spec\":{\"containers\":[{\"image\":\"z\"}]}}");
    KT_ASSERT_CONTAINS(r,
                       "error: containers: an element does not contain declared merge key: name");
}

KT_TEST(smpatch, replace_directive_on_a_keyed_list)
{
    cleanup_free char *r = smp("v1", "Pod", pod,
                               "{\"spec\":{\"containers\":[{\"name\":\"z\",\"image\":\"z\"},"
                               "{\"$patch\":\"replace\"}]}}");
    KT_ASSERT_CONTAINS(r, "\"containers\":[{\"name\":\"z\",\"image\":\"z\"}]");
}
