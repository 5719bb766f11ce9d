/* openapi-schema.c - OpenAPI definitions generated from the schema table
 * (kschema.h): one object schema per type, a property per field with its
 * type and format, $ref to the nested types, `required`,
 * x-kubernetes-group-version-kind on top-level kinds and the
 * strategic-merge-patch metadata (x-kubernetes-patch-strategy/-merge-key,
 * and x-kubernetes-list-type/-list-map-keys derived from them).
 *
 * Descriptions are left empty: upstream's field documentation is not part
 * of the table. */
#include <stdio.h>
#include <string.h>

#include "controlplane/kschema.h"
#include "controlplane/openapi.h"

#define QUANTITY "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define INTORSTR "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
#define TIME "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
#define MICROTIME "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"

static cJSON *typed(const char *type, const char *format)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", type);
    if (format)
        cJSON_AddStringToObject(s, "format", format);
    return s;
}

/* A reference: plain $ref in v2, wrapped in allOf in v3 (as upstream does,
 * so that a property may carry its own description beside it). */
static cJSON *ref(const char *name, bool v3)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s%s", v3 ? "#/components/schemas/" : "#/definitions/", name);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "$ref", buf);
    if (!v3)
        return r;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "allOf"), r);
    return s;
}

static cJSON *map_of(cJSON *values)
{
    cJSON *s = typed("object", NULL);
    cJSON_AddItemToObject(s, "additionalProperties", values);
    return s;
}

/* The schema of one element of f (the field itself unless repeated). */
static cJSON *element_schema(const kn_schema_field *f, bool v3)
{
    switch ((kn_schema_kind)f->kind) {
    case KN_SK_STRING:
    case KN_SK_DURATION:
        return typed("string", NULL);
    case KN_SK_BOOL:
        return typed("boolean", NULL);
    case KN_SK_INT32:
        return typed("integer", "int32");
    case KN_SK_INT64:
        return typed("integer", "int64");
    case KN_SK_DOUBLE:
        return typed("number", "double");
    case KN_SK_BYTES:
        return typed("string", "byte");
    case KN_SK_MESSAGE:
        return ref(f->type->name, v3);
    case KN_SK_MAP_STRING:
        return map_of(typed("string", NULL));
    case KN_SK_MAP_BYTES:
        return map_of(typed("string", "byte"));
    case KN_SK_MAP_QUANTITY:
        return map_of(ref(QUANTITY, v3));
    case KN_SK_MAP_STRLIST: {
        cJSON *a = typed("array", NULL);
        cJSON_AddItemToObject(a, "items", typed("string", NULL));
        return map_of(a);
    }
    case KN_SK_INT_OR_STRING:
        return ref(INTORSTR, v3);
    case KN_SK_QUANTITY:
        return ref(QUANTITY, v3);
    case KN_SK_TIME:
        return ref(TIME, v3);
    case KN_SK_MICROTIME:
        return ref(MICROTIME, v3);
    case KN_SK_RAW:
        return typed("object", NULL);
    }
    return cJSON_CreateObject();
}

/* Map keys of a list merged by key. Upstream's +listMapKey markers add the
 * protocol to port lists, and whenUnsatisfiable to topology spread
 * constraints. */
static void add_list_type(cJSON *s, const kn_schema_field *f)
{
    if (!f->patch_strategy || !strstr(f->patch_strategy, "merge"))
        return;
    if (!f->merge_key) {
        cJSON_AddStringToObject(s, "x-kubernetes-list-type", "set");
        return;
    }
    cJSON_AddStringToObject(s, "x-kubernetes-list-type", "map");
    cJSON *keys = cJSON_AddArrayToObject(s, "x-kubernetes-list-map-keys");
    cJSON_AddItemToArray(keys, cJSON_CreateString(f->merge_key));
    if (strcmp(f->merge_key, "containerPort") == 0 || strcmp(f->merge_key, "port") == 0)
        cJSON_AddItemToArray(keys, cJSON_CreateString("protocol"));
    else if (strcmp(f->merge_key, "topologyKey") == 0)
        cJSON_AddItemToArray(keys, cJSON_CreateString("whenUnsatisfiable"));
}

static cJSON *field_schema(const kn_schema_field *f, bool v3)
{
    cJSON *s = element_schema(f, v3);
    if (f->flags & KN_SF_REPEATED) {
        cJSON *a = typed("array", NULL);
        cJSON_AddItemToObject(a, "items", s);
        s = a;
        add_list_type(s, f);
    }
    if (f->merge_key)
        cJSON_AddStringToObject(s, "x-kubernetes-patch-merge-key", f->merge_key);
    if (f->patch_strategy)
        cJSON_AddStringToObject(s, "x-kubernetes-patch-strategy", f->patch_strategy);
    return s;
}

static void add_type(cJSON *defs, const kn_schema_type *t, bool v3);

/* Properties (and required names) of t's fields into s, inline structs
 * flattened; nested types are added to defs. */
static void add_properties(cJSON *defs, cJSON *props, cJSON *req, const kn_schema_type *t, bool v3)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const kn_schema_field *f = &t->fields[i];
        if (f->kind == KN_SK_MESSAGE)
            add_type(defs, f->type, v3);
        if (f->flags & KN_SF_INLINE) {
            add_properties(defs, props, req, f->type, v3);
            continue;
        }
        if (cJSON_GetObjectItemCaseSensitive(props, f->json))
            continue;
        cJSON_AddItemToObject(props, f->json, field_schema(f, v3));
        if (!(f->flags & KN_SF_OMITEMPTY))
            cJSON_AddItemToArray(req, cJSON_CreateString(f->json));
    }
}

static void add_gvk(cJSON *s, const kn_schema_type *t)
{
    const char *slash = strchr(t->api_version, '/');
    char group[64] = "";
    if (slash)
        snprintf(group, sizeof(group), "%.*s", (int)(slash - t->api_version), t->api_version);
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "group", group);
    cJSON_AddStringToObject(g, "kind", t->kind);
    cJSON_AddStringToObject(g, "version", slash ? slash + 1 : t->api_version);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "x-kubernetes-group-version-kind"), g);
}

static void add_type(cJSON *defs, const kn_schema_type *t, bool v3)
{
    if (cJSON_GetObjectItemCaseSensitive(defs, t->name))
        return;
    cJSON *s = cJSON_AddObjectToObject(defs, t->name); /* first: stops recursion */
    cJSON_AddStringToObject(s, "description", "");
    cJSON_AddStringToObject(s, "type", "object");
    cJSON *props = cJSON_AddObjectToObject(s, "properties");
    cJSON *req = cJSON_CreateArray();
    if (t->kind) {
        cJSON_AddItemToObject(props, "apiVersion", typed("string", NULL));
        cJSON_AddItemToObject(props, "kind", typed("string", NULL));
    }
    add_properties(defs, props, req, t, v3);
    if (cJSON_GetArraySize(req))
        cJSON_AddItemToObject(s, "required", req);
    else
        cJSON_Delete(req);
    if (t->kind)
        add_gvk(s, t);
}

/* The value kinds with definitions of their own, as upstream names them. */
static void add_value_kinds(cJSON *defs)
{
    cJSON_AddItemToObject(defs, QUANTITY, typed("string", NULL));
    cJSON_AddItemToObject(defs, INTORSTR, typed("string", "int-or-string"));
    cJSON_AddItemToObject(defs, TIME, typed("string", "date-time"));
    cJSON_AddItemToObject(defs, MICROTIME, typed("string", "date-time"));
}

void kn_openapi_add_definitions(cJSON *defs, const kn_schema_type *t, bool v3)
{
    if (!cJSON_GetObjectItemCaseSensitive(defs, QUANTITY))
        add_value_kinds(defs);
    add_type(defs, t, v3);
}
