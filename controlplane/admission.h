/* admission.h - per-kind behaviour of the API server: defaulting and
 * validation as upstream, ClusterIP/NodePort allocation, graceful deletion,
 * the scale subresource and create-only subresources (binding, eviction). */
#ifndef KNODE_CONTROLPLANE_ADMISSION_H
#define KNODE_CONTROLPLANE_ADMISSION_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "controlplane/apiserver-internal.h"

/* NULL if name is valid for the resource, else why not. */
const char *kn_admission_name_error(const kn_resource *r, const char *name);

/* Defaults, validates (into causes) and allocates for a new object. A
 * negative return is a failure that is not a validation error. */
int kn_admission_create(kn_apiserver *s, const kn_resource *r, cJSON *obj, kn_causes *causes,
                        kn_error **err);

/* The same for an update: upd is the complete new object, old the stored one. */
int kn_admission_update(kn_apiserver *s, const api_route *rt, const cJSON *old, cJSON *upd,
                        kn_causes *causes, kn_error **err);

/* Starts a deferred deletion in obj (deletionTimestamp; pods: grace period;
 * finalizers for foreground/orphan propagation). Returns false when the
 * object is to be removed at once. grace < 0: the object's default. */
bool kn_admission_begin_delete(const kn_resource *r, cJSON *obj, int64_t grace,
                               const char *propagation);

/* True while a terminating object must stay although it has no finalizers:
 * a pod bound to a node (the kubelet confirms with grace 0), a namespace
 * whose spec.finalizers are not done. */
bool kn_admission_keeps_terminating(const kn_resource *r, const cJSON *obj);

/* autoscaling/v1 Scale view of a scalable object, and the object with the
 * replicas of a Scale applied (carrying its resourceVersion). Owned. */
cJSON *kn_admission_scale_view(const kn_resource *r, const cJSON *obj);
cJSON *kn_admission_apply_scale(const kn_resource *r, const cJSON *obj, const cJSON *scale);

/* POST to a subresource: pods/binding, pods/eviction, serviceaccounts/token. */
void kn_admission_subresource_create(kn_apiserver *s, const api_route *rt, kn_http_request *req,
                                     kn_http_response *resp);

#endif
