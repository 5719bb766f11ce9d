/* Field validation against the schema table: unknown members found with
 * their paths (through nested types, lists and inline structs), removed,
 * and reported in upstream's words; the directive's values. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/fieldvalid.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "test/runner/kt.h"

KT_TEST(fieldvalid, unknown_fields_are_found_by_path_and_removed)
{
    cJSON *obj = cJSON_Parse(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"w\","
        "\"nmae\":\"x\"},\"spec\":{\"foo\":1,\"template\":{\"spec\":{\"containers\":[{\"name\":"
        "\"a\"},{\"name\":\"b\",\"imagePullPolice\":\"Always\",\"env\":[{\"name\":\"E\","
        "\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"c\",\"key\":\"k\",\"bad\":true}}}]}]}}}}");
    cJSON *problems = cJSON_CreateArray();
    size_t n = kn_field_prune_unknown(kn_schema_by_kind("apps/v1", "Deployment"), obj, problems);
    KT_ASSERT_EQ(n, 4);
    cleanup_free char *p = kn_json_print(problems);
    KT_ASSERT_STREQ(p,
                    "[\"unknown field \\\"metadata.nmae\\\"\",\"unknown field \\\"spec.foo\\\"\","
                    "\"unknown field \\\"spec.template.spec.containers[1].imagePullPolice\\\"\","
                    "\"unknown field \\\"spec.template.spec.containers[1].env[0].valueFrom."
                    "configMapKeyRef.bad\\\"\"]");
    cleanup_free char *o = kn_json_print(obj);
    KT_ASSERT(strstr(o, "nmae") == NULL && strstr(o, "foo") == NULL &&
              strstr(o, "Police") == NULL && strstr(o, "bad") == NULL);
    /* the inline LocalObjectReference's name is known */
    KT_ASSERT_CONTAINS(o, "{\"name\":\"c\",\"key\":\"k\"}");
    cleanup_free char *strict = kn_field_strict_message(problems);
    KT_ASSERT_CONTAINS(strict, "strict decoding error: unknown field \"metadata.nmae\", unknown "
                               "field \"spec.foo\", unknown field");
    cleanup_free char *warn = kn_field_warning_header(problems);
    KT_ASSERT_CONTAINS(warn, "299 - \"unknown field \\\"metadata.nmae\\\"\", 299 - \"unknown "
                             "field \\\"spec.foo\\\"\", 299");
    cJSON_Delete(problems);
    cJSON_Delete(obj);
}

KT_TEST(fieldvalid, known_objects_are_untouched)
{
    const char *text =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"any\":"
        "\"thing\"},\"annotations\":{\"x\":\"y\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
        "\"resources\":{\"limits\":{\"cpu\":\"1\"}},\"ports\":[{\"containerPort\":80}],"
        "\"livenessProbe\":{\"httpGet\":{\"port\":8080},\"periodSeconds\":3}}],"
        "\"nodeSelector\":{\"a\":\"b\"}},\"status\":{\"phase\":\"Pending\"}}";
    cJSON *obj = cJSON_Parse(text);
    KT_ASSERT_EQ(kn_field_prune_unknown(kn_schema_by_kind("v1", "Pod"), obj, NULL), 0);
    cleanup_free char *o = kn_json_print(obj);
    KT_ASSERT_STREQ(o, text);
    cJSON_Delete(obj);
}

KT_TEST(fieldvalid, type_meta_is_known_only_at_the_top)
{
    cJSON *obj =
        cJSON_Parse("{\"kind\":\"ConfigMap\",\"data\":{\"a\":\"b\"},\"metadata\":{\"kind\":1}}");
    cJSON *problems = cJSON_CreateArray();
    KT_ASSERT_EQ(kn_field_prune_unknown(kn_schema_by_kind("v1", "ConfigMap"), obj, problems), 1);
    cleanup_free char *p = kn_json_print(problems);
    KT_ASSERT_STREQ(p, "[\"unknown field \\\"metadata.kind\\\"\"]");
    cJSON_Delete(problems);
    cJSON_Delete(obj);
}

KT_TEST(fieldvalid, directive_values)
{
    kn_field_validation fv;
    kn_error *err = NULL;
    KT_ASSERT_OK(kn_field_validation_parse(NULL, &fv, &err), err);
    KT_ASSERT_EQ(fv, KN_FV_WARN);
    KT_ASSERT_OK(kn_field_validation_parse("Strict", &fv, &err), err);
    KT_ASSERT_EQ(fv, KN_FV_STRICT);
    KT_ASSERT_OK(kn_field_validation_parse("Ignore", &fv, &err), err);
    KT_ASSERT_EQ(fv, KN_FV_IGNORE);
    KT_ASSERT(kn_field_validation_parse("strict", &fv, &err) < 0);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "fieldValidation: Unsupported value: \"strict\"");
    kn_error_free(&err);
}

/* kn_field_type_error on a body of apiVersion/kind (NULL: decodes). */
static char *type_error(const char *api_version, const char *kind, const char *json)
{
    cJSON *obj = cJSON_Parse(json);
    KT_ASSERT(obj != NULL);
    char *msg = kn_field_type_error(kn_schema_by_kind(api_version, kind), obj);
    cJSON_Delete(obj);
    return msg;
}

KT_TEST(fieldvalid, type_mismatches_in_gos_words)
{
    cleanup_free char *replicas =
        type_error("apps/v1", "Deployment", "{\"spec\":{\"replicas\":\"3\"}}");
    KT_ASSERT_STREQ(replicas, "json: cannot unmarshal string into Go struct field "
                              "DeploymentSpec.spec.replicas of type int32");
    /* list indexes are not part of Go's field path */
    cleanup_free char *env = type_error(
        "apps/v1", "Deployment",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
        "\"E\",\"value\":\"x\"},{\"name\":\"F\",\"value\":5}]}]}}}}");
    KT_ASSERT_STREQ(env, "json: cannot unmarshal number into Go struct field "
                         "EnvVar.spec.template.spec.containers.env.value of type string");
    cleanup_free char *frac =
        type_error("v1", "Pod", "{\"spec\":{\"terminationGracePeriodSeconds\":1.5}}");
    KT_ASSERT_STREQ(frac, "json: cannot unmarshal number 1.5 into Go struct field "
                          "PodSpec.spec.terminationGracePeriodSeconds of type int64");
    cleanup_free char *big =
        type_error("apps/v1", "Deployment", "{\"spec\":{\"replicas\":3000000000}}");
    KT_ASSERT_STREQ(big, "json: cannot unmarshal number 3000000000 into Go struct field "
                         "DeploymentSpec.spec.replicas of type int32");
    cleanup_free char *list =
        type_error("v1", "Pod", "{\"spec\":{\"containers\":{\"name\":\"a\"}}}");
    KT_ASSERT_STREQ(list, "json: cannot unmarshal object into Go struct field "
                          "PodSpec.spec.containers of type []v1.Container");
    cleanup_free char *msg = type_error("v1", "Pod", "{\"spec\":[]}");
    KT_ASSERT_STREQ(msg, "json: cannot unmarshal array into Go struct field Pod.spec of type "
                         "v1.PodSpec");
    cleanup_free char *label =
        type_error("v1", "ConfigMap", "{\"metadata\":{\"labels\":{\"a\":true}}}");
    KT_ASSERT_STREQ(label, "json: cannot unmarshal bool into Go struct field "
                           "ObjectMeta.metadata.labels of type string");
}

KT_TEST(fieldvalid, custom_decoders_fail_in_their_own_words)
{
    cleanup_free char *port =
        type_error("v1", "Service", "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":true}]}}");
    KT_ASSERT_STREQ(port, "json: cannot unmarshal bool into Go value of type int32");
    cleanup_free char *qty =
        type_error("v1", "Pod",
                   "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":"
                   "\"lots\"}}}]}}");
    KT_ASSERT_CONTAINS(qty, "quantities must match the regular expression");
    cleanup_free char *b64 = type_error("v1", "Secret", "{\"data\":{\"k\":\"not base64\"}}");
    KT_ASSERT_STREQ(b64, "illegal base64 data at input byte 3");
    cleanup_free char *pad = type_error("v1", "Secret", "{\"data\":{\"k\":\"YWJ\"}}");
    KT_ASSERT_STREQ(pad, "illegal base64 data at input byte 0");
    cleanup_free char *ts =
        type_error("v1", "ConfigMap", "{\"metadata\":{\"creationTimestamp\":5}}");
    KT_ASSERT_STREQ(ts, "json: cannot unmarshal number into Go value of type string");
}

KT_TEST(fieldvalid, well_typed_bodies_decode)
{
    KT_ASSERT(type_error("v1", "Secret",
                         "{\"data\":{\"k\":\"YWJj\",\"l\":\"YW\\nJj\",\"m\":\"YQ==\"}}") == NULL);
    KT_ASSERT(type_error("v1", "Pod",
                         "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":null,\"x\":1},"
                         "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"ports\":"
                         "[{\"containerPort\":80}],\"resources\":{\"limits\":{\"cpu\":0.5,"
                         "\"memory\":\"1Gi\"}},\"livenessProbe\":{\"httpGet\":{\"port\":"
                         "\"http\"}}}],\"nodeSelector\":null,\"unknown\":[1]}}") == NULL);
    KT_ASSERT(type_error("apps/v1", "Deployment",
                         "{\"spec\":{\"replicas\":2,\"strategy\":{\"rollingUpdate\":{"
                         "\"maxSurge\":\"25%\",\"maxUnavailable\":1}}}}") == NULL);
}
