/* fieldvalid.h - server-side field validation (the `fieldValidation` query
 * parameter of create, update and patch, as kube-apiserver): a request body
 * is checked against the schema table (kschema.h) for members that name no
 * field of their type and for duplicate members.
 *
 *   Strict  such a body is rejected: 400 "<Kind> in version "v1" cannot be
 *           handled as a <Kind>: strict decoding error: unknown field
 *           "spec.foo"" (a patch: 422 "patch: Invalid value: ...");
 *   Warn    (the default) accepted, with one `Warning: 299 - "unknown field
 *           \"spec.foo\""` per problem, which kubectl prints;
 *   Ignore  accepted silently.
 * Unknown members are removed before the object is stored either way (Go's
 * decoder has nowhere to put them); of duplicates the last one wins. */
#ifndef KNODE_CONTROLPLANE_FIELDVALID_H
#define KNODE_CONTROLPLANE_FIELDVALID_H

#include <cjson/cJSON.h>

#include "controlplane/kschema.h"
#include "lib/error.h"

typedef enum kn_field_validation {
    KN_FV_IGNORE,
    KN_FV_WARN,
    KN_FV_STRICT,
} kn_field_validation;

/* Parses the query value: "Strict", "Warn", "Ignore"; NULL or "" is Warn.
 * Anything else: KN_EINVAL with upstream's message (`Unsupported value`). */
int kn_field_validation_parse(const char *value, kn_field_validation *out, kn_error **err);

/* Removes from obj every member that names no field of t, recursively
 * through nested objects and lists; at the top level of a kind, apiVersion
 * and kind are fields. Appends `unknown field "spec.template.spec.
 * containers[0].foo"` for each to problems (a cJSON array of strings, may be
 * NULL). Returns the number removed. */
size_t kn_field_prune_unknown(const kn_schema_type *t, cJSON *obj, cJSON *problems);

/* NULL if every known member of obj has a JSON type its Go field can hold
 * (fieldtype.c), else (owned) the message Go's decoder fails with for the
 * first one, in document order: `json: cannot unmarshal string into Go
 * struct field DeploymentSpec.spec.replicas of type int32`, `illegal base64
 * data at input byte 3`, `quantities must match the regular expression
 * ...`. Unknown members are not looked at. Upstream rejects such a body
 * whatever the fieldValidation directive. */
char *kn_field_type_error(const kn_schema_type *t, const cJSON *obj);

/* "strict decoding error: <p1>, <p2>" (owned). */
char *kn_field_strict_message(const cJSON *problems);

/* The value of a Warning header carrying every problem: `299 - "<p1>",
 * 299 - "<p2>"`, quotes and backslashes escaped (owned). */
char *kn_field_warning_header(const cJSON *problems);

#endif
