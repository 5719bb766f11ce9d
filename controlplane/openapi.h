/* openapi.h - the OpenAPI v3 documents kubectl reads.
 *
 * kubectl (1.27+) downloads /openapi/v3 and the document of an object's
 * group/version to learn whether the server validates fields itself (the
 * `fieldValidation` parameter on the PATCH operation of that kind); when it
 * does, kubectl sends ?fieldValidation=Strict instead of validating client
 * side against a full schema. Each document lists, for every resource, its
 * operations with x-kubernetes-group-version-kind and x-kubernetes-action,
 * and the component schemas of its kinds (for `kubectl explain` and for
 * kubectl's strategic-merge-patch metadata), generated from the schema
 * table (kschema.h). Descriptions are empty: upstream's documentation text
 * is not part of the table. */
#ifndef KNODE_CONTROLPLANE_OPENAPI_H
#define KNODE_CONTROLPLANE_OPENAPI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "controlplane/kschema.h"

/* The /openapi/v3 index: {"paths": {"api/v1": {"serverRelativeURL": ...}}}. */
cJSON *kn_openapi_v3_index(void);

/* The document of one group/version path ("api/v1", "apis/apps/v1"), or NULL
 * if there is no such group/version. */
cJSON *kn_openapi_v3_gv(const char *gv_path);

/* The OpenAPI v2 document as gnostic protobuf
 * (application/com.github.proto-openapi.spec.v2@v1.0+protobuf), owned; *len
 * gets its size. Paths with PATCH operations only, and the definitions of
 * every served kind. */
char *kn_openapi_v2_proto(size_t *len);

/* Adds to defs (an object: definition name -> schema) the definition of t
 * and of every type it refers to, transitively, plus the value kinds
 * (Quantity, IntOrString, Time, MicroTime). v3 selects the reference form
 * (#/components/schemas/ in allOf) over v2's (#/definitions/). */
void kn_openapi_add_definitions(cJSON *defs, const kn_schema_type *t, bool v3);

#endif
