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
 * `$retainKeys` are honoured. Merge keys come from a table of field names
 * (the API's field names are unambiguous enough for the built-in types). */
#ifndef KNODE_CONTROLPLANE_SMPATCH_H
#define KNODE_CONTROLPLANE_SMPATCH_H

#include <cjson/cJSON.h>

#include "lib/error.h"

/* Applies patch to original; *out is a new document. KN_EINVAL for a
 * malformed patch (e.g. an unknown $patch value), naming the field. */
int kn_strategic_merge_patch(const cJSON *original, const cJSON *patch, cJSON **out,
                             kn_error **err);

#endif
