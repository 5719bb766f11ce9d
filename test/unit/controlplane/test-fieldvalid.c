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
