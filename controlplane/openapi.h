/* openapi.h - the OpenAPI v3 documents kubectl reads.
 *
 * kubectl (1.27+) downloads /openapi/v3 and the document of an object's
 * group/version to learn whether the server validates fields itself (the
 * `fieldValidation` parameter on the PATCH operation of that kind); when it
 * does, kubectl sends ?fieldValidation=Strict instead of validating client
 * side against a full schema. Each document lists, for every resource, its
 * operations with x-kubernetes-group-version-kind and x-kubernetes-action.
 * Component schemas (for `kubectl explain`) are not published yet. */
#ifndef KNODE_CONTROLPLANE_OPENAPI_H
#define KNODE_CONTROLPLANE_OPENAPI_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The /openapi/v3 index: {"paths": {"api/v1": {"serverRelativeURL": ...}}}. */
cJSON *kn_openapi_v3_index(void);

/* The document of one group/version path ("api/v1", "apis/apps/v1"), or NULL
 * if there is no such group/version. */
cJSON *kn_openapi_v3_gv(const char *gv_path);

/* The OpenAPI v2 document as gnostic protobuf
 * (application/com.github.proto-openapi.spec.v2@v1.0+protobuf), owned; *len
 * gets its size. Paths with PATCH operations only, no definitions. */
char *kn_openapi_v2_proto(size_t *len);

#endif
