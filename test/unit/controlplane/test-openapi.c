/* OpenAPI documents generated from the schema table: component schemas with
 * types, $refs that resolve, required, GVK and patch metadata; the v3 index
 * and the v2 protobuf carry them too. */
#include <stdlib.h>
#include <string.h>

#include "controlplane/openapi.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "test/runner/kt.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    KT_ASSERT_MSG(v != NULL, "no %s", k);
    return v;
}

/* Every $ref in v names a schema of schemas. */
static void refs_resolve(const cJSON *schemas, const cJSON *v)
{
    if (v->string && strcmp(v->string, "$ref") == 0) {
        const char *name = v->valuestring + strlen("#/components/schemas/");
        KT_ASSERT_MSG(cJSON_GetObjectItemCaseSensitive(schemas, name) != NULL, "dangling %s",
                      v->valuestring);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, v) refs_resolve(schemas, c);
}

KT_TEST(openapi, v3_apps_document_has_deployment_schemas)
{
    cJSON *doc = kn_openapi_v3_gv("apis/apps/v1");
    KT_ASSERT(doc != NULL);
    const cJSON *schemas = get(get(doc, "components"), "schemas");
    refs_resolve(schemas, schemas);
    const cJSON *d = get(schemas, "io.k8s.api.apps.v1.Deployment");
    cleanup_free char *gvk = kn_json_print(get(d, "x-kubernetes-group-version-kind"));
    KT_ASSERT_STREQ(gvk, "[{\"group\":\"apps\",\"kind\":\"Deployment\",\"version\":\"v1\"}]");
    const cJSON *spec = get(schemas, "io.k8s.api.apps.v1.DeploymentSpec");
    cleanup_free char *req = kn_json_print(get(spec, "required"));
    KT_ASSERT_STREQ(req, "[\"selector\",\"template\"]");
    cleanup_free char *strategy = kn_json_print(get(get(spec, "properties"), "strategy"));
    KT_ASSERT_STREQ(strategy, "{\"allOf\":[{\"$ref\":\"#/components/schemas/"
                              "io.k8s.api.apps.v1.DeploymentStrategy\"}],"
                              "\"x-kubernetes-patch-strategy\":\"retainKeys\"}");
    const cJSON *pod = get(get(schemas, "io.k8s.api.core.v1.PodSpec"), "properties");
    cleanup_free char *containers = kn_json_print(get(pod, "containers"));
    KT_ASSERT_CONTAINS(containers, "\"type\":\"array\"");
    KT_ASSERT_CONTAINS(containers, "\"x-kubernetes-patch-merge-key\":\"name\"");
    KT_ASSERT_CONTAINS(containers, "\"x-kubernetes-patch-strategy\":\"merge\"");
    KT_ASSERT_CONTAINS(containers, "\"x-kubernetes-list-map-keys\":[\"name\"]");
    cleanup_free char *tol = kn_json_print(get(pod, "tolerations"));
    KT_ASSERT(strstr(tol, "patch") == NULL);
    const cJSON *patch = get(
        get(get(doc, "paths"), "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"), "patch");
    cleanup_free char *content = kn_json_print(get(get(patch, "requestBody"), "content"));
    KT_ASSERT_CONTAINS(content, "application/strategic-merge-patch+json");
    cJSON_Delete(doc);
}

KT_TEST(openapi, v3_core_document_types_and_formats)
{
    cJSON *doc = kn_openapi_v3_gv("api/v1");
    const cJSON *schemas = get(get(doc, "components"), "schemas");
    refs_resolve(schemas, schemas);
    const cJSON *port = get(get(schemas, "io.k8s.api.core.v1.ContainerPort"), "properties");
    cleanup_free char *cp = kn_json_print(get(port, "containerPort"));
    KT_ASSERT_STREQ(cp, "{\"type\":\"integer\",\"format\":\"int32\"}");
    const cJSON *cm = get(get(schemas, "io.k8s.api.core.v1.ConfigMap"), "properties");
    cleanup_free char *data = kn_json_print(get(cm, "data"));
    KT_ASSERT_STREQ(data, "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}");
    cleanup_free char *kind = kn_json_print(get(cm, "kind"));
    KT_ASSERT_STREQ(kind, "{\"type\":\"string\"}");
    /* an inline struct's fields are the parent's */
    KT_ASSERT(cJSON_GetObjectItemCaseSensitive(
                  get(get(schemas, "io.k8s.api.core.v1.SecretKeySelector"), "properties"),
                  "name") != NULL);
    KT_ASSERT(cJSON_GetObjectItemCaseSensitive(schemas, "io.k8s.api.apps.v1.Deployment") == NULL);
    cJSON_Delete(doc);
    KT_ASSERT(kn_openapi_v3_gv("apis/nope/v1") == NULL);
}

KT_TEST(openapi, v2_protobuf_carries_definitions)
{
    size_t len;
    cleanup_free char *pb = kn_openapi_v2_proto(&len);
    KT_ASSERT(len > 10000);
    /* names and the extension's YAML are length-delimited strings in it */
    KT_ASSERT(memmem(pb, len, "io.k8s.api.apps.v1.DeploymentSpec", 33) != NULL);
    KT_ASSERT(memmem(pb, len, "#/definitions/io.k8s.api.core.v1.PodTemplateSpec", 48) != NULL);
    KT_ASSERT(memmem(pb, len, "x-kubernetes-group-version-kind", 31) != NULL);
    KT_ASSERT(memmem(pb, len, "x-kubernetes-patch-merge-key", 28) != NULL);
}
