/* sync.h - carrying out a pod's actions through CRI (upstream
 * kubeGenericRuntimeManager.SyncPod / KillPod and the kubelet's SyncPod
 * around them):
 *
 *   1. the pod cgroup with its limits, the pod directory and volumes;
 *   2. kill the pod or single containers (StopContainer with the grace
 *      period: deletionGracePeriodSeconds, else terminationGracePeriodSeconds,
 *      at least 2 s; containers stopped in parallel), then the sandbox;
 *   3. a new sandbox (log directory created first) and its IP;
 *   4. the next init container, else the app containers to start, each
 *      after its CrashLoopBackOff check (10 s doubling to 5 min, reset after
 *      10 min; key <pod>_<ns>_<uid>_<container>_<hash>, measured from the
 *      last exit), its image (pull policy; ErrImagePull / ImagePullBackOff
 *      with the pull backoff), its restart count (previous + 1, or from the
 *      log directory when the runtime forgot), then CreateContainer and
 *      StartContainer.
 *
 * Failures are recorded per container in the pod's reasons (the status
 * shows them as waiting reasons) and make the sync return an error, so the
 * worker retries after the error period. */
#ifndef KNODE_KUBELET_SYNC_H
#define KNODE_KUBELET_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "cri/grpc.h"
#include "kubelet/cgroups.h"
#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "kubelet/runtime_state.h"
#include "kubelet/status.h"
#include "lib/backoff.h"
#include "lib/error.h"

/* Waiting reasons (upstream kubecontainer / images errors). */
#define KL_REASON_CRASH_LOOP "CrashLoopBackOff"
#define KL_REASON_IMAGE_PULL "ErrImagePull"
#define KL_REASON_IMAGE_PULL_BACKOFF "ImagePullBackOff"
#define KL_REASON_IMAGE_NEVER_PULL "ErrImageNeverPull"
#define KL_REASON_INVALID_IMAGE "InvalidImageName"
#define KL_REASON_IMAGE_INSPECT "ImageInspectError"
#define KL_REASON_CONFIG "CreateContainerConfigError"
#define KL_REASON_CREATE "CreateContainerError"
#define KL_REASON_RUN "RunContainerError"
#define KL_REASON_CREATING "ContainerCreating"

/* The minimum grace period the kubelet gives a container (upstream
 * minimumGracePeriodInSeconds). */
#define KL_MIN_GRACE_S 2

/* Shared, read-only (after setup) context of every sync. */
typedef struct kl_syncer {
    cri_conn *conn;
    const kl_node_config *nc;
    kl_cgroups *cgroups;               /* NULL: pod cgroups are not managed */
    kn_backoff_tracker *crash_backoff; /* per container, on the wall clock */
    kn_backoff_tracker *image_backoff; /* per pod + image */
    kn_clock *clock;                   /* the trackers' clock ("now" for pulls) */
} kl_syncer;

/* Per-pod state the worker keeps between syncs (one worker at a time). */
typedef struct kl_pod_sync_state {
    kl_reasons reasons;
    int64_t backoff_wait_ns; /* after a sync: the shortest backoff still to wait, 0 none */
} kl_pod_sync_state;

void kl_pod_sync_state_clear(kl_pod_sync_state *ps);

/* Brings the runtime towards pod's spec (steps 1-4). *changed is set when
 * anything was created, started, killed or removed. Returns 0 or the first
 * error (with the reasons recorded in ps). */
int kl_sync_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                kl_pod_sync_state *ps, bool *changed, kn_error **err);

/* Stops every running container of rt (in parallel) and every ready
 * sandbox. pod may be NULL (an orphan: the grace period comes from the
 * containers' annotations). grace_override >= 0 replaces the grace period. */
int kl_kill_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt,
                int64_t grace_override, kn_error **err);

/* Removes everything the pod left: containers, sandboxes, the pod cgroup,
 * the pod directory and the log directory. Call after kl_kill_pod. pod may
 * be NULL (then rt's sandbox metadata names the log directory). */
int kl_remove_pod(const kl_syncer *s, const kl_pod *pod, const kl_pod_runtime *rt, const char *uid,
                  kn_error **err);

/* Dead-container GC for one pod (upstream MaxPerPodContainer=1): of each
 * container name, every non-running container but the newest is removed,
 * then sandboxes that are not ready, not the newest and hold no container.
 * Returns how many objects were removed. */
size_t kl_gc_pod(const kl_syncer *s, const kl_pod_runtime *rt);

/* upstream calcRestartCountByLogDir: 1 + the largest N of "N.log" files in
 * dir, 0 when there are none. */
int kl_restart_count_from_logs(const char *dir);

#endif
