/* openapi-v2.c - the OpenAPI v2 document in the protobuf form kubectl up to
 * 1.29 downloads (gnostic's openapi.v2.Document, field numbers as upstream's
 * OpenAPIv2.proto) to find out whether the server validates fields itself:
 * for every resource a PATCH operation carrying x-kubernetes-group-version-kind
 * and the `fieldValidation` query parameter. Hand-encoded: a few nested
 * length-delimited messages, no generated code needed. */
#include <stdio.h>
#include <string.h>

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
    *len = doc.len;
    return kn_buf_steal(&doc);
}
