/* kschema-internal.h - the macros the schema tables (kschema-*.c) are
 * written with, and the declarations that let them refer to each other.
 *
 *   KS_TYPE(core_Volume, "io.k8s.api.core.v1.Volume",
 *           F("name", 1, STRING, 0),
 *           M("", 2, core_VolumeSource, SF_I));
 *
 * F(json, number, KIND, flags [, PATCH(strategy, key)]) is a field of a
 * scalar or special kind (KN_SK_KIND); M(json, number, type id, flags
 * [, PATCH(...)]) a message field. Flags: SF_O omitempty, SF_P pointer,
 * SF_R repeated, SF_I inline, combined with |. */
#ifndef KNODE_CONTROLPLANE_KSCHEMA_INTERNAL_H
#define KNODE_CONTROLPLANE_KSCHEMA_INTERNAL_H

#include "controlplane/kschema.h"

#define SF_O KN_SF_OMITEMPTY
#define SF_P KN_SF_POINTER
#define SF_R KN_SF_REPEATED
#define SF_I KN_SF_INLINE
#define SF_OP (KN_SF_OMITEMPTY | KN_SF_POINTER)
#define SF_OR (KN_SF_OMITEMPTY | KN_SF_REPEATED)

#define KS_ID(id) kn_schema_t_##id

#define F(j, n, k, fl, ...)                                                                        \
    {                                                                                              \
        .json = j, .num = n, .kind = KN_SK_##k, .flags = fl, __VA_ARGS__                           \
    }
#define M(j, n, id, fl, ...)                                                                       \
    {                                                                                              \
        .json = j, .num = n, .kind = KN_SK_MESSAGE, .flags = fl, .type = &KS_ID(id), __VA_ARGS__   \
    }
#define PATCH(strategy, key) .patch_strategy = strategy, .merge_key = key

#define KS_FIELDS(id, ...) static const kn_schema_field id##_fields[] = {__VA_ARGS__}
#define KS_NFIELDS(id) (sizeof(id##_fields) / sizeof(id##_fields[0]))

/* A nested type. */
#define KS_TYPE(id, name, ...)                                                                     \
    KS_FIELDS(id, __VA_ARGS__);                                                                    \
    const kn_schema_type KS_ID(id) = {name, id##_fields, KS_NFIELDS(id), NULL, NULL}

/* A top-level kind: its JSON starts with kind and apiVersion. */
#define KS_KIND(id, name, api_version, kind, ...)                                                  \
    KS_FIELDS(id, __VA_ARGS__);                                                                    \
    const kn_schema_type KS_ID(id) = {name, id##_fields, KS_NFIELDS(id), api_version, kind}

/* Every type, declared here so tables in different files can refer to each
 * other; kschema.c lists them for lookups. */
#define KS_T(id) extern const kn_schema_type KS_ID(id);
#include "controlplane/kschema-types.h"
#undef KS_T

#endif
