/* kschema.c - lookups over the schema table (the tables themselves are in
 * kschema-*.c). */
#include "controlplane/kschema.h"

#include <string.h>

#include "controlplane/kschema-internal.h"

static const kn_schema_type *const all_types[] = {
#define KS_T(id) &KS_ID(id),
#include "controlplane/kschema-types.h"
#undef KS_T
};

#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

size_t kn_schema_count(void)
{
    return NTYPES;
}

const kn_schema_type *kn_schema_at(size_t i)
{
    return i < NTYPES ? all_types[i] : NULL;
}

const kn_schema_type *kn_schema_by_kind(const char *api_version, const char *kind)
{
    if (!api_version || !kind)
        return NULL;
    for (size_t i = 0; i < NTYPES; i++) {
        const kn_schema_type *t = all_types[i];
        if (t->kind && strcmp(t->kind, kind) == 0 && strcmp(t->api_version, api_version) == 0)
            return t;
    }
    /* DeleteOptions is registered in every group version (clients send it
     * with the apiVersion of the resource they delete) */
    if (strcmp(kind, "DeleteOptions") == 0)
        return &KS_ID(meta_DeleteOptions);
    return NULL;
}

const kn_schema_type *kn_schema_by_name(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++) {
        if (strcmp(all_types[i]->name, name) == 0)
            return all_types[i];
    }
    return NULL;
}

const kn_schema_field *kn_schema_field_by_number(const kn_schema_type *t, uint32_t num)
{
    for (size_t i = 0; i < t->nfields; i++) {
        if (t->fields[i].num == num)
            return &t->fields[i];
    }
    return NULL;
}

const kn_schema_field *kn_schema_field_by_json(const kn_schema_type *t, const char *json)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const kn_schema_field *f = &t->fields[i];
        if (f->flags & KN_SF_INLINE) {
            const kn_schema_field *in = kn_schema_field_by_json(f->type, json);
            if (in)
                return in;
        } else if (strcmp(f->json, json) == 0) {
            return f;
        }
    }
    return NULL;
}

kn_schema_wire kn_schema_wire_type(const kn_schema_field *f)
{
    switch ((kn_schema_kind)f->kind) {
    case KN_SK_BOOL:
    case KN_SK_INT32:
    case KN_SK_INT64:
        return KN_WIRE_VARINT;
    case KN_SK_DOUBLE:
        return KN_WIRE_I64;
    default:
        return KN_WIRE_LEN;
    }
}

const char *kn_schema_kind_name(kn_schema_kind kind)
{
    static const char *const names[] = {
        [KN_SK_STRING] = "string",
        [KN_SK_BOOL] = "bool",
        [KN_SK_INT32] = "int32",
        [KN_SK_INT64] = "int64",
        [KN_SK_DOUBLE] = "double",
        [KN_SK_BYTES] = "bytes",
        [KN_SK_MESSAGE] = "message",
        [KN_SK_MAP_STRING] = "map<string,string>",
        [KN_SK_MAP_BYTES] = "map<string,bytes>",
        [KN_SK_MAP_QUANTITY] = "map<string,Quantity>",
        [KN_SK_MAP_STRLIST] = "map<string,[]string>",
        [KN_SK_INT_OR_STRING] = "IntOrString",
        [KN_SK_QUANTITY] = "Quantity",
        [KN_SK_TIME] = "Time",
        [KN_SK_MICROTIME] = "MicroTime",
        [KN_SK_DURATION] = "Duration",
        [KN_SK_RAW] = "RawExtension",
    };
    return (unsigned)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}
