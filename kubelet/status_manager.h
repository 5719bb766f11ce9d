/* status_manager.h - pod status to the API server (upstream status_manager
 * and mirror client).
 *
 * The kubelet's status sink (kl_status_sink) hands each pod's status here;
 * a thread writes it as a strategic-merge PATCH of pods/NAME/status carrying
 * metadata.uid, coalesced per pod (only the latest status is written, and
 * nothing when it equals the last one written). A status never regresses:
 * a pod whose phase in the API is Succeeded or Failed keeps it. A status
 * for a pod that is gone from the API, or that was recreated under the same
 * name (another uid), is dropped. Failed writes are retried (1 s, doubling
 * to 30 s).
 *
 * Graceful deletion: when the kubelet reports a pod final (killed) and the
 * API pod carries a deletionTimestamp, the manager confirms the deletion
 * with DELETE gracePeriodSeconds=0 and a uid precondition.
 *
 * Static pods: the status of a static pod goes to its mirror pod, created
 * when missing (a copy of the static pod with the annotation
 * kubernetes.io/config.mirror = its config hash and spec.nodeName set),
 * recreated when deleted or when it mirrors another version, and deleted
 * when the static pod goes away (final). */
#ifndef KNODE_KUBELET_STATUS_MANAGER_H
#define KNODE_KUBELET_STATUS_MANAGER_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api-client/informer.h"
#include "api-client/rest.h"
#include "kubelet/podspec.h"
#include "lib/error.h"
#include "lib/rcstr.h"

typedef struct kl_status_manager_opts {
    kc_client *client;     /* borrowed */
    kc_informer *pods;     /* this node's pods (the API source's informer) */
    const char *node_name; /* spec.nodeName of mirror pods */
} kl_status_manager_opts;

typedef struct kl_status_manager kl_status_manager;

/* Starts the writer thread. */
int kl_status_manager_new(const kl_status_manager_opts *o, kl_status_manager **out, kn_error **err);

/* The kl_status_sink to pass to the kubelet (arg: the manager). */
void kl_status_manager_sink(void *arg, const kl_pod *pod, const cJSON *status, kn_rcstr *text,
                            bool final);

/* A mirror pod ns/name was deleted from the API (recreated when its static
 * pod still runs). */
void kl_status_manager_mirror_gone(void *arg, const char *ns, const char *name);

/* Number of pods with a status not written yet (for tests). */
int kl_status_manager_pending(kl_status_manager *m);

/* Stops the writer thread (pending writes are dropped); the sink still
 * accepts statuses (kept, never written). Call before the pod informer
 * goes away. Idempotent; NULL is fine. */
void kl_status_manager_stop(kl_status_manager *m);

/* Stops the thread and frees m. NULL is fine. */
void kl_status_manager_free(kl_status_manager *m);

/* The mirror pod of a static pod's manifest raw for node_name (caller
 * deletes). */
cJSON *kl_mirror_pod_build(const cJSON *raw, const char *node_name);

/* True when moving from phase `from` (the API's) to `to` is allowed: a
 * terminal phase (Succeeded, Failed) never changes. */
bool kl_phase_transition_ok(const char *from, const char *to);

#endif
