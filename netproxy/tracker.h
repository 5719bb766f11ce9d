/* tracker.h - the proxy model kept between syncs (kube-proxy's
 * ServiceChangeTracker / EndpointsChangeTracker): Services rebuilt one at a
 * time (from the Service and its EndpointSlices, by np_builder) replace
 * their earlier state in place, so that a sync costs what changed, not
 * what exists.
 *
 * Conflicts between Services (a destination claimed twice) are decided
 * over all Services in namespace/name order by np_builder_finish; the
 * tracker keeps an index of the destinations its Services claim and
 * refuses a change that touches a conflict (np_tracker_apply returns
 * false): the caller then rebuilds the whole model, which gives the same
 * answer as always. */
#ifndef KNODE_NETPROXY_TRACKER_H
#define KNODE_NETPROXY_TRACKER_H

#include <stdbool.h>
#include <stddef.h>

#include "netproxy/model.h"

typedef struct np_tracker np_tracker;

/* A tracker over model m (taken; from a full build). nconflicts: how many
 * Services that build dropped for a conflict. Never NULL. */
np_tracker *np_tracker_new(np_model *m, size_t nconflicts);

void np_tracker_free(np_tracker *t);

/* The current model (owned by the tracker; changes with np_tracker_apply). */
const np_model *np_tracker_model(const np_tracker *t);

/* One Service's new state: svc NULL when it is gone or invalid. */
typedef struct np_svc_update {
    char *ns, *name; /* borrowed */
    np_service *svc; /* borrowed; moved into the model on success */
} np_svc_update;

/* What np_tracker_apply changed, per update: the Service before (ns NULL:
 * absent; owned here) and after (a pointer into the model; NULL: absent),
 * valid until the next call on the tracker. */
typedef struct np_svc_change {
    np_service old;
    const np_service *new;
} np_svc_change;

/* Applies n updates of distinct Services. Returns false, changing nothing,
 * when one of them claims a destination another Service holds, or when
 * earlier conflicts exist and a Service's claims change; on true, fills
 * out[0..n) (free with np_svc_changes_free). */
bool np_tracker_apply(np_tracker *t, np_svc_update *u, size_t n, np_svc_change *out);

void np_svc_changes_free(np_svc_change *c, size_t n);

#endif
