/* kschema-meta.c - meta/v1 types (k8s.io/apimachinery/pkg/apis/meta/v1
 * types.go), in Go declaration order. Time, MicroTime, Duration,
 * IntOrString, Quantity, RawExtension and FieldsV1 are value kinds of
 * their own (kschema.h), not tables. */
#include "controlplane/kschema-internal.h"

#define META "io.k8s.apimachinery.pkg.apis.meta.v1."

KS_TYPE(meta_ListMeta, META "ListMeta", F("selfLink", 1, STRING, SF_O),
        F("resourceVersion", 2, STRING, SF_O), F("continue", 3, STRING, SF_O),
        F("remainingItemCount", 4, INT64, SF_OP));

/* creationTimestamp is a Time value: null when zero (1.35 added omitzero;
 * the table follows the kubectl 1.27-1.33 era, which writes null) */
KS_TYPE(meta_ObjectMeta, META "ObjectMeta", F("name", 1, STRING, SF_O),
        F("generateName", 2, STRING, SF_O), F("namespace", 3, STRING, SF_O),
        F("selfLink", 4, STRING, SF_O), F("uid", 5, STRING, SF_O),
        F("resourceVersion", 6, STRING, SF_O), F("generation", 7, INT64, SF_O),
        F("creationTimestamp", 8, TIME, SF_O), F("deletionTimestamp", 9, TIME, SF_OP),
        F("deletionGracePeriodSeconds", 10, INT64, SF_OP), F("labels", 11, MAP_STRING, SF_O),
        F("annotations", 12, MAP_STRING, SF_O),
        M("ownerReferences", 13, meta_OwnerReference, SF_OR, PATCH("merge", "uid")),
        F("finalizers", 14, STRING, SF_OR, PATCH("merge", NULL)),
        M("managedFields", 17, meta_ManagedFieldsEntry, SF_OR));

KS_TYPE(meta_OwnerReference, META "OwnerReference", F("apiVersion", 5, STRING, 0),
        F("kind", 1, STRING, 0), F("name", 3, STRING, 0), F("uid", 4, STRING, 0),
        F("controller", 6, BOOL, SF_OP), F("blockOwnerDeletion", 7, BOOL, SF_OP));

KS_KIND(meta_DeleteOptions, META "DeleteOptions", "meta.k8s.io/v1", "DeleteOptions",
        F("gracePeriodSeconds", 1, INT64, SF_OP), M("preconditions", 2, meta_Preconditions, SF_OP),
        F("orphanDependents", 3, BOOL, SF_OP), F("propagationPolicy", 4, STRING, SF_OP),
        F("dryRun", 5, STRING, SF_OR),
        F("ignoreStoreReadErrorWithClusterBreakingPotential", 6, BOOL, SF_OP));

KS_TYPE(meta_Preconditions, META "Preconditions", F("uid", 1, STRING, SF_OP),
        F("resourceVersion", 2, STRING, SF_OP));

KS_TYPE(meta_LabelSelector, META "LabelSelector", F("matchLabels", 1, MAP_STRING, SF_O),
        M("matchExpressions", 2, meta_LabelSelectorRequirement, SF_OR));

KS_TYPE(meta_LabelSelectorRequirement, META "LabelSelectorRequirement", F("key", 1, STRING, 0),
        F("operator", 2, STRING, 0), F("values", 3, STRING, SF_OR));

KS_TYPE(meta_ManagedFieldsEntry, META "ManagedFieldsEntry", F("manager", 1, STRING, SF_O),
        F("operation", 2, STRING, SF_O), F("apiVersion", 3, STRING, SF_O),
        F("time", 4, TIME, SF_OP), F("fieldsType", 6, STRING, SF_O), F("fieldsV1", 7, RAW, SF_OP),
        F("subresource", 8, STRING, SF_O));

/* lastTransitionTime, reason and message have no omitempty */
KS_TYPE(meta_Condition, META "Condition", F("type", 1, STRING, 0), F("status", 2, STRING, 0),
        F("observedGeneration", 3, INT64, SF_O), F("lastTransitionTime", 4, TIME, 0),
        F("reason", 5, STRING, 0), F("message", 6, STRING, 0));
