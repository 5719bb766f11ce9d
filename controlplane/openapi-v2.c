/* openapi-v2.c - the OpenAPI v2 document in the protobuf form kubectl up to
 * 1.29 downloads (gnostic's openapi.v2.Document, field numbers as upstream's
 * OpenAPIv2.proto) to find out whether the server validates fields itself:
 * for every resource a PATCH operation carrying x-kubernetes-group-version-kind
 * and the `fieldValidation` query parameter; and the definitions of every
 * served kind (kubectl 1.27 `explain`, and the patch metadata kubectl apply
 * builds strategic merge patches with). Hand-encoded: nested
 * length-delimited messages, no generated code needed. The definitions are
 * generated as JSON schemas (openapi-schema.c) and translated here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/kschema.h"
#include "lib/json.h"

#include "controlplane/openapi.h"
#include "controlplane/resources.h"
#include "lib/strbuf.h"

/* ---- protobuf wire writing -------------------------------------------------- */

static void put_varint(kn_buf *b, unsigned long long v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        kn_buf_append_char(b, (char)c);
    } while (v);
}

static void put_bytes(kn_buf *b, int field, const char *data, size_t len)
{
    put_varint(b, ((unsigned long long)field << 3) | 2);
    put_varint(b, len);
    kn_buf_append(b, data, len);
}

static void put_str(kn_buf *b, int field, const char *s)
{
    put_bytes(b, field, s, strlen(s));
}

/* Appends msg as a length-delimited field and frees it. */
static void put_msg(kn_buf *b, int field, kn_buf *msg)
{
    put_bytes(b, field, msg->data, msg->len);
    kn_buf_free(msg);
}

/* ---- the document ------------------------------------------------------------- */

/* NamedAny{name=1, value=2 Any{yaml=2}} */
static void vendor_extension(kn_buf *op, int field, const char *name, const char *yaml)
{
    kn_buf any, named;
    kn_buf_init(&any);
    kn_buf_init(&named);
    put_str(&any, 2, yaml);
    put_str(&named, 1, name);
    put_msg(&named, 2, &any);
    put_msg(op, field, &named);
}

/* ParametersItem{parameter=1 Parameter{non_body_parameter=2
 * NonBodyParameter{query_parameter_sub_schema=3 {in=2, name=4, type=6}}}} */
static void query_parameter(kn_buf *op, const char *name)
{
    kn_buf q, nb, p, item;
    kn_buf_init(&q);
    kn_buf_init(&nb);
    kn_buf_init(&p);
    kn_buf_init(&item);
    put_str(&q, 2, "query");
    put_str(&q, 4, name);
    put_str(&q, 6, "string");
    put_msg(&nb, 3, &q);
    put_msg(&p, 2, &nb);
    put_msg(&item, 1, &p);
    put_msg(op, 8, &item);
}

static void patch_operation(kn_buf *path_item, const kn_resource *r)
{
    kn_buf op;
    kn_buf_init(&op);
    put_str(&op, 5, "patch"); /* operation_id */
    query_parameter(&op, "dryRun");
    query_parameter(&op, "fieldManager");
    query_parameter(&op, "fieldValidation");
    char gvk[256];
    snprintf(gvk, sizeof(gvk), "group: \"%s\"\nkind: %s\nversion: %s\n", r->group, r->kind,
             r->version);
    vendor_extension(&op, 13, "x-kubernetes-action", "patch\n");
    vendor_extension(&op, 13, "x-kubernetes-group-version-kind", gvk);
    put_msg(path_item, 8, &op);
}

static void add_path(kn_buf *paths, const kn_resource *r)
{
    char p[320];
    const char *prefix = r->group[0] ? "/apis/" : "/api";
    if (r->namespaced)
        snprintf(p, sizeof(p), "%s%s%s%s/namespaces/{namespace}/%s/{name}", prefix, r->group,
                 r->group[0] ? "/" : "/", r->version, r->name);
    else
        snprintf(p, sizeof(p), "%s%s%s%s/%s/{name}", prefix, r->group, r->group[0] ? "/" : "/",
                 r->version, r->name);
    kn_buf item, named;
    kn_buf_init(&item);
    kn_buf_init(&named);
    patch_operation(&item, r);
    put_str(&named, 1, p);
    put_msg(&named, 2, &item);
    put_msg(paths, 2, &named);
}

/* ---- definitions: JSON schema -> gnostic Schema ---------------------------------------- */

static void put_schema(kn_buf *b, const cJSON *s);

/* A Schema message as field `field` of b. */
static void put_schema_field(kn_buf *b, int field, const cJSON *s)
{
    kn_buf m;
    kn_buf_init(&m);
    put_schema(&m, s);
    put_msg(b, field, &m);
}

/* Properties or Definitions {repeated NamedSchema additional_properties = 1}
 * of the members of obj, as field `field` of b. */
static void put_named_schemas(kn_buf *b, int field, const cJSON *obj)
{
    kn_buf p;
    kn_buf_init(&p);
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        kn_buf named;
        kn_buf_init(&named);
        put_str(&named, 1, it->string);
        put_schema_field(&named, 2, it);
        put_msg(&p, 1, &named);
    }
    put_msg(b, field, &p);
}

/* An x- extension: NamedAny{name, Any{yaml}}; JSON text is YAML. */
static void put_extension(kn_buf *b, const cJSON *ext)
{
    char *text = cJSON_IsString(ext) ? NULL : kn_json_print(ext);
    vendor_extension(b, 31, ext->string, text ? text : ext->valuestring);
    free(text);
}

/* Schema: _ref=1 format=2 description=4 required=19 additional_properties=21
 * type=22 items=23 all_of=24 properties=25 vendor_extension=31. */
static void put_schema(kn_buf *b, const cJSON *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, s)
    {
        const char *k = it->string;
        if (strcmp(k, "$ref") == 0) {
            put_str(b, 1, it->valuestring);
        } else if (strcmp(k, "format") == 0) {
            put_str(b, 2, it->valuestring);
        } else if (strcmp(k, "description") == 0) {
            if (*it->valuestring)
                put_str(b, 4, it->valuestring);
        } else if (strcmp(k, "required") == 0) {
            const cJSON *r;
            cJSON_ArrayForEach(r, it) put_str(b, 19, r->valuestring);
        } else if (strcmp(k, "additionalProperties") == 0) {
            kn_buf ap;
            kn_buf_init(&ap);
            put_schema_field(&ap, 1, it);
            put_msg(b, 21, &ap);
        } else if (strcmp(k, "type") == 0) {
            kn_buf ti;
            kn_buf_init(&ti);
            put_str(&ti, 1, it->valuestring);
            put_msg(b, 22, &ti);
        } else if (strcmp(k, "items") == 0) {
            kn_buf ii;
            kn_buf_init(&ii);
            put_schema_field(&ii, 1, it);
            put_msg(b, 23, &ii);
        } else if (strcmp(k, "properties") == 0) {
            put_named_schemas(b, 25, it);
        } else if (strncmp(k, "x-", 2) == 0) {
            put_extension(b, it);
        }
    }
}

/* Definitions{repeated NamedSchema additional_properties = 1} of every
 * served kind and what it refers to. */
static void put_definitions(kn_buf *doc)
{
    cJSON *defs = cJSON_CreateObject();
    for (size_t i = 0; i < kn_resource_count(); i++) {
        const kn_resource *r = kn_resource_at(i);
        char apiv[64];
        const kn_schema_type *t =
            kn_schema_by_kind(kn_resource_api_version(r, apiv, sizeof(apiv)), r->kind);
        if (t)
            kn_openapi_add_definitions(defs, t, false);
    }
    put_named_schemas(doc, 9, defs);
    cJSON_Delete(defs);
}

char *kn_openapi_v2_proto(size_t *len)
{
    kn_buf doc, info, paths;
    kn_buf_init(&doc);
    kn_buf_init(&info);
    kn_buf_init(&paths);
    put_str(&doc, 1, "2.0");
    put_str(&info, 1, "Kubernetes");
    put_str(&info, 2, "v1.30.0");
    put_msg(&doc, 2, &info);
    for (size_t i = 0; i < kn_resource_count(); i++)
        add_path(&paths, kn_resource_at(i));
    put_msg(&doc, 8, &paths);
    put_definitions(&doc);
    *len = doc.len;
    return kn_buf_steal(&doc);
}
