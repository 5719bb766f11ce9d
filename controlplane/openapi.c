#include "controlplane/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/resources.h"
#include "lib/json.h"
#include "lib/xalloc.h"

static void gv_path(const kn_resource *r, char *buf, size_t size)
{
    if (r->group[0])
        snprintf(buf, size, "apis/%s/%s", r->group, r->version);
    else
        snprintf(buf, size, "api/%s", r->version);
}

static cJSON *gvk(const kn_resource *r)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "group", r->group);
    cJSON_AddStringToObject(g, "version", r->version);
    cJSON_AddStringToObject(g, "kind", r->kind);
    return g;
}

static cJSON *query_param(const char *name)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", "query");
    cJSON_AddItemToObject(p, "schema", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "schema"), "type", "string");
    return p;
}

static cJSON *operation(const kn_resource *r, const char *action, bool body)
{
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "x-kubernetes-action", action);
    cJSON_AddItemToObject(op, "x-kubernetes-group-version-kind", gvk(r));
    cJSON *params = cJSON_AddArrayToObject(op, "parameters");
    if (body) {
        cJSON_AddItemToArray(params, query_param("dryRun"));
        cJSON_AddItemToArray(params, query_param("fieldManager"));
        cJSON_AddItemToArray(params, query_param("fieldValidation"));
        cJSON *content =
            cJSON_AddObjectToObject(cJSON_AddObjectToObject(op, "requestBody"), "content");
        /* the patch types the server applies; with strategic merge listed,
         * kubectl apply builds its patches from the component schemas */
        if (strcmp(action, "patch") == 0) {
            cJSON_AddObjectToObject(content, "application/json-patch+json");
            cJSON_AddObjectToObject(content, "application/merge-patch+json");
            cJSON_AddObjectToObject(content, "application/strategic-merge-patch+json");
        } else {
            cJSON_AddObjectToObject(content, "application/json");
        }
    }
    return op;
}

static void add_paths(cJSON *paths, const kn_resource *r)
{
    char gv[128], coll[320], item[340];
    gv_path(r, gv, sizeof(gv));
    if (r->namespaced)
        snprintf(coll, sizeof(coll), "/%s/namespaces/{namespace}/%s", gv, r->name);
    else
        snprintf(coll, sizeof(coll), "/%s/%s", gv, r->name);
    snprintf(item, sizeof(item), "%s/{name}", coll);
    cJSON *c = cJSON_AddObjectToObject(paths, coll);
    cJSON_AddItemToObject(c, "get", operation(r, "list", false));
    cJSON_AddItemToObject(c, "post", operation(r, "post", true));
    cJSON *i = cJSON_AddObjectToObject(paths, item);
    cJSON_AddItemToObject(i, "get", operation(r, "get", false));
    cJSON_AddItemToObject(i, "put", operation(r, "put", true));
    cJSON_AddItemToObject(i, "patch", operation(r, "patch", true));
    cJSON_AddItemToObject(i, "delete", operation(r, "delete", false));
}

cJSON *kn_openapi_v3_gv(const char *path)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.0");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "Kubernetes");
    cJSON_AddStringToObject(info, "version", "v1.30.0");
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    cJSON *schemas = cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "components"), "schemas");
    bool any = false;
    for (size_t k = 0; k < kn_resource_count(); k++) {
        const kn_resource *r = kn_resource_at(k);
        char gv[128], apiv[64];
        gv_path(r, gv, sizeof(gv));
        if (strcmp(gv, path) != 0)
            continue;
        add_paths(paths, r);
        any = true;
        const kn_schema_type *t =
            kn_schema_by_kind(kn_resource_api_version(r, apiv, sizeof(apiv)), r->kind);
        if (t)
            kn_openapi_add_definitions(schemas, t, true);
    }
    if (!any) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* FNV-1a of the document text: the `hash` clients cache documents by. */
static unsigned long long doc_hash(const char *gv)
{
    cJSON *d = kn_openapi_v3_gv(gv);
    char *text = kn_json_print(d);
    cJSON_Delete(d);
    unsigned long long h = 1469598103934665603ULL;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    free(text);
    return h;
}

cJSON *kn_openapi_v3_index(void)
{
    cJSON *idx = cJSON_CreateObject();
    cJSON *paths = cJSON_AddObjectToObject(idx, "paths");
    for (size_t k = 0; k < kn_resource_count(); k++) {
        char gv[128], url[256];
        gv_path(kn_resource_at(k), gv, sizeof(gv));
        if (cJSON_GetObjectItemCaseSensitive(paths, gv))
            continue;
        snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%016llX", gv, doc_hash(gv));
        cJSON_AddStringToObject(cJSON_AddObjectToObject(paths, gv), "serverRelativeURL", url);
    }
    return idx;
}
