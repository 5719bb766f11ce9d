/* kschema.h - a table of the Kubernetes API types the bundled API server
 * serves (and the ones kubectl sends), transcribed from upstream's Go types
 * (k8s.io/api/<group>/<version>/types.go and generated.proto,
 * k8s.io/apimachinery meta/v1, intstr, resource, runtime).
 *
 * For every field of every type the table records what the three wire forms
 * of an object need to agree on:
 *   - the JSON name and the protobuf field number;
 *   - the value kind (which fixes the protobuf wire type, see
 *     kn_schema_wire_type) and whether it is repeated;
 *   - how Go's encoding/json writes the field: `omitempty` or not, and
 *     whether the Go field is a pointer (nil-able: written when set, even to
 *     a zero value) or a value (a zero value is omitted only with omitempty;
 *     a struct value is always written) -- so a decoded message becomes
 *     exactly the JSON the same Go object would have been sent as;
 *   - embedded (`json:",inline"`) structs, whose fields appear in the
 *     parent's JSON object;
 *   - the strategic-merge-patch metadata (x-kubernetes-patch-strategy and
 *     x-kubernetes-patch-merge-key).
 * Fields are listed in Go declaration order, which is the order Go writes
 * them in JSON.
 *
 * Users:
 *   - kproto.c decodes protobuf bodies into JSON with it;
 *   - OpenAPI component schemas can be generated from it: a type is an
 *     object schema named `name` ("io.k8s.api.core.v1.PodSpec"), each field a
 *     property (kind -> type/format: INT32 integer/int32, TIME string/date-time,
 *     INT_OR_STRING x-kubernetes-int-or-string, QUANTITY the Quantity
 *     definition, MESSAGE a $ref to field->type->name, maps
 *     additionalProperties, REPEATED an array of it); `required` lists the
 *     fields without OMITEMPTY (what upstream's generator does); the patch
 *     strategy and merge key become x-kubernetes-patch-strategy/-merge-key;
 *   - strict field validation walks a JSON object alongside its type with
 *     kn_schema_field_by_json and reports a member that names no field
 *     (`unknown field "spec.foo"`);
 *   - strategic merge patch can take a list's merge key and strategy from the
 *     field instead of from a table of field names.
 *
 * Everything here is static const data; nothing to free. */
#ifndef KNODE_CONTROLPLANE_KSCHEMA_H
#define KNODE_CONTROLPLANE_KSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a field holds. The protobuf form of each is noted. */
typedef enum kn_schema_kind {
    KN_SK_STRING,        /* string (LEN, UTF-8) */
    KN_SK_BOOL,          /* bool (VARINT) */
    KN_SK_INT32,         /* int32 (VARINT) */
    KN_SK_INT64,         /* int64 (VARINT) */
    KN_SK_DOUBLE,        /* float64 (I64) */
    KN_SK_BYTES,         /* []byte (LEN); base64 text in JSON */
    KN_SK_MESSAGE,       /* a struct: field->type (LEN) */
    KN_SK_MAP_STRING,    /* map[string]string (LEN entries {key=1, value=2}) */
    KN_SK_MAP_BYTES,     /* map[string][]byte: values base64 in JSON */
    KN_SK_MAP_QUANTITY,  /* map[string]resource.Quantity (ResourceList) */
    KN_SK_MAP_STRLIST,   /* map[string][]string with a wrapper message
                          * {repeated string items = 1} (ExtraValue) */
    KN_SK_INT_OR_STRING, /* intstr.IntOrString {type=1, intVal=2, strVal=3}:
                          * a JSON number or string */
    KN_SK_QUANTITY,      /* resource.Quantity {string=1}: canonical string */
    KN_SK_TIME,          /* metav1.Time {seconds=1, nanos=2}: RFC 3339 in
                          * seconds ("2006-01-02T15:04:05Z"); zero is null */
    KN_SK_MICROTIME,     /* metav1.MicroTime: RFC 3339 with microseconds */
    KN_SK_DURATION,      /* metav1.Duration {duration=1 (ns)}: "1h2m3s" */
    KN_SK_RAW,           /* runtime.RawExtension / metav1.FieldsV1 {raw=1}:
                          * the raw bytes are JSON text, written verbatim */
} kn_schema_kind;

/* Field flags. */
enum {
    KN_SF_REPEATED = 1u << 0,  /* a Go slice; JSON array */
    KN_SF_OMITEMPTY = 1u << 1, /* json:",omitempty" */
    KN_SF_POINTER = 1u << 2,   /* a Go pointer: written iff set */
    KN_SF_INLINE = 1u << 3,    /* json:",inline": the struct's fields are the
                                * parent's (protobuf still nests it) */
};

/* Protobuf wire types. */
typedef enum kn_schema_wire {
    KN_WIRE_VARINT = 0,
    KN_WIRE_I64 = 1,
    KN_WIRE_LEN = 2,
    KN_WIRE_I32 = 5,
} kn_schema_wire;

struct kn_schema_type;

typedef struct kn_schema_field {
    const char *json;                  /* JSON name ("" for inline structs) */
    uint32_t num;                      /* protobuf field number */
    uint8_t kind;                      /* kn_schema_kind */
    uint8_t flags;                     /* KN_SF_* */
    const struct kn_schema_type *type; /* for KN_SK_MESSAGE */
    const char *patch_strategy;        /* "merge", "replace", "merge,retainKeys", or NULL */
    const char *merge_key;             /* patch merge key of a list, or NULL */
} kn_schema_field;

typedef struct kn_schema_type {
    const char *name; /* OpenAPI definition name: "io.k8s.api.core.v1.PodSpec" */
    const kn_schema_field *fields;
    size_t nfields;
    /* For top-level kinds (objects with TypeMeta): "apps/v1" and "Deployment";
     * NULL for the rest. */
    const char *api_version;
    const char *kind;
} kn_schema_type;

/* The top-level type of an apiVersion ("v1", "apps/v1") and kind, or NULL. */
const kn_schema_type *kn_schema_by_kind(const char *api_version, const char *kind);

/* A type by its definition name ("io.k8s.api.core.v1.PodSpec"), or NULL. */
const kn_schema_type *kn_schema_by_name(const char *name);

/* Iteration over every type in the table (top-level and nested). */
size_t kn_schema_count(void);
const kn_schema_type *kn_schema_at(size_t i);

/* The field of t with protobuf number num, or NULL. Inline structs are
 * fields of their own (their number), not searched through. */
const kn_schema_field *kn_schema_field_by_number(const kn_schema_type *t, uint32_t num);

/* The field of t whose JSON name is json, searching through inline structs,
 * or NULL. */
const kn_schema_field *kn_schema_field_by_json(const kn_schema_type *t, const char *json);

/* The wire type of one element of f: VARINT, I64 or LEN. (A repeated
 * numeric field may also arrive packed, as LEN.) */
kn_schema_wire kn_schema_wire_type(const kn_schema_field *f);

/* A short name of a kind for messages: "string", "int32", "message", ... */
const char *kn_schema_kind_name(kn_schema_kind kind);

#endif
