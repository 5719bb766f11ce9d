/* smpatch.h - strategic merge patch (application/strategic-merge-patch+json),
 * what kubectl apply, edit, label, annotate and scale send for built-in types.
 *
 * Like a JSON merge patch, except that lists whose field has a patch merge key
 * in the Kubernetes API (containers by name, env by name, container ports by
 * containerPort, Service ports by port, volumes by name, volumeMounts by
 * mountPath, conditions by type, ownerReferences by uid, ...) are merged
 * element by element, primitive lists with the merge strategy (finalizers)
 * are unions, and the directives `$patch: replace|delete|merge`,
 * `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and
 * `$retainKeys` are honoured. Merge keys and strategies come from the
 * schema table (kschema.h): each field's x-kubernetes-patch-merge-key and
 * -strategy as upstream declares them (tolerations and taints, which have
 * none, are replaced whole). Fields the table does not know are merged as a
 * JSON merge patch would. */
#ifndef KNODE_CONTROLPLANE_SMPATCH_H
#define KNODE_CONTROLPLANE_SMPATCH_H

#include <cjson/cJSON.h>

#include "controlplane/kschema.h"
#include "lib/error.h"

/* Applies patch to original, an object of type t (NULL: no merge keys);
 * *out is a new document. KN_EINVAL for a malformed patch (an unknown
 * $patch value, a list element without its merge key), naming the field. */
int kn_strategic_merge_patch(const kn_schema_type *t, const cJSON *original, const cJSON *patch,
                             cJSON **out, kn_error **err);

#endif
