/* status.h - a pod's v1 PodStatus computed from its spec and runtime state,
 * as upstream's generateAPIPodStatus / convertToAPIContainerStatuses /
 * getPhase do:
 *
 * - containerStatuses (sorted by name) and initContainerStatuses (spec
 *   order): the newest runtime container gives state (running / terminated
 *   with exitCode, reason, message, startedAt, finishedAt / waiting),
 *   restartCount, image, imageID, containerID "<runtime>://<id>", the second
 *   newest gives lastState; a container that should be (re)started and has
 *   a recorded failure shows it as waiting reason/message (CrashLoopBackOff,
 *   ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ...);
 *   otherwise a container without runtime state waits with ContainerCreating
 *   (PodInitializing when the pod has init containers).
 * - ready/started: without probes (not run yet) a running container is
 *   started and ready; an init container is ready once it exited 0.
 * - phase from the container states and restartPolicy (a terminal phase is
 *   never left again); conditions PodReadyToStartContainers, Initialized,
 *   Ready, ContainersReady, PodScheduled with upstream's reasons and
 *   messages, lastTransitionTime kept while a condition's status holds;
 *   conditions owned by others (from the previous status) kept.
 * - hostIP/hostIPs (node IPs), podIP/podIPs (the newest ready sandbox; node
 *   IPs for hostNetwork pods; kept from the previous status when none),
 *   startTime (kept once set), qosClass. */
#ifndef KNODE_KUBELET_STATUS_H
#define KNODE_KUBELET_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "kubelet/podspec.h"
#include "kubelet/runtime_state.h"

/* Why the last sync could not start a container (upstream reasonCache). */
typedef struct kl_reason {
    char *container;
    char *reason; /* "CrashLoopBackOff", "ErrImagePull", ... */
    char *message;
} kl_reason;

typedef struct kl_reasons {
    kl_reason *v;
    size_t n;
} kl_reasons;

/* Records (replacing) the reason for container. */
void kl_reasons_set(kl_reasons *r, const char *container, const char *reason, const char *message);

/* Forgets container's reason. */
void kl_reasons_remove(kl_reasons *r, const char *container);

/* The reason recorded for container, or NULL. */
const kl_reason *kl_reasons_get(const kl_reasons *r, const char *container);

void kl_reasons_clear(kl_reasons *r);

typedef struct kl_status_input {
    const kl_pod *pod;
    const kl_pod_runtime *rt;    /* may be NULL (nothing in the runtime) */
    const cJSON *old;            /* the previous status, may be NULL */
    const kl_reasons *reasons;   /* may be NULL */
    const char *runtime_name;    /* for containerID: "containerd" */
    const char *const *host_ips; /* node IPs, NULL-terminated, may be NULL */
    int64_t now_ns;              /* wall clock: startTime and transition times */
    bool terminal;               /* the pod was killed for good (deleted) */
} kl_status_input;

/* Returns a new status object (caller deletes). */
cJSON *kl_pod_status(const kl_status_input *in);

/* "2006-01-02T15:04:05Z" for ns since the epoch (UTC, seconds). */
void kl_format_time(int64_t ns, char buf[32]);

/* Upstream getPhase over the statuses in status (containerStatuses and
 * initContainerStatuses of a status object). */
const char *kl_pod_phase(const kl_pod *pod, const cJSON *status, bool terminal);

#endif
