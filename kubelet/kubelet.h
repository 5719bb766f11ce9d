/* kubelet.h - the kubelet's pod core: the pods bound to this node (fed by
 * pod sources), one worker per pod syncing it with the runtime, the PLEG
 * waking workers, status reporting and housekeeping.
 *
 * Pod sources (static manifest files now, the API informer later) feed the
 * kubelet through kl_pod_sink: a source replaces its whole set of pods, or
 * updates/deletes one. A pod with a deletionTimestamp is killed (grace
 * period) and kept until its source drops it; a pod dropped by its source is
 * killed and everything it left is removed (containers, sandboxes, pod
 * cgroup, pod and log directories).
 *
 * Each sync emits the pod's status (a v1 PodStatus as cJSON) through the
 * status sink; the API status manager plugs in there.
 *
 * Restart recovery: a new kubelet on the same runtime adopts the sandboxes
 * and containers it finds by their labels; the sync sees them as running
 * with the spec's hash and leaves them alone. Once every source named in
 * kl_kubelet_opts.sources has reported ready, pods the runtime holds that
 * no source knows (orphans) are killed and removed, and pod cgroups nobody
 * owns are removed. Dead containers are collected (one kept per container). */
#ifndef KNODE_KUBELET_KUBELET_H
#define KNODE_KUBELET_KUBELET_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "cri/grpc.h"
#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "lib/clock.h"
#include "lib/error.h"
#include "lib/rcstr.h"

/* Receives a pod's status after each sync: as a tree and as compact JSON
 * text (the kubelet keeps that text as the pod's last status; a sink that
 * keeps the status takes a reference to it instead of a copy). final: the
 * pod was killed for good (deleted or removed) and will not be synced
 * again. Both are borrowed for the call. Called from worker threads,
 * several at once for different pods, never twice at once for the same
 * pod. */
typedef void (*kl_status_sink)(void *arg, const kl_pod *pod, const cJSON *status, kn_rcstr *text,
                               bool final);

typedef struct kl_kubelet_opts {
    const kl_node_config *node;   /* borrowed; outlives the kubelet */
    const char *runtime_endpoint; /* CRI endpoint */
    int64_t runtime_timeout_ms;   /* --runtime-request-timeout (0: 2 min) */
    kl_status_sink status_sink;   /* may be NULL */
    void *status_arg;
    const char *const *sources;       /* NULL-terminated source names that must be ready
                                       * before orphans are removed (NULL: none) */
    int64_t relist_period_ns;         /* PLEG relist (0: 1 s) */
    int64_t resync_period_ns;         /* --sync-frequency (0: 1 min) */
    int64_t error_requeue_ns;         /* retry after a failed sync (0: 10 s) */
    int64_t housekeeping_period_ns;   /* orphan and cgroup cleanup (0: 2 s) */
    int64_t crash_backoff_initial_ns; /* 0: 10 s */
    int64_t crash_backoff_max_ns;     /* 0: 5 min */
    int64_t image_backoff_initial_ns; /* 0: 10 s */
    int64_t image_backoff_max_ns;     /* 0: 5 min */
    kn_clock *backoff_clock;          /* wall clock of the backoffs (NULL: realtime) */
    bool disable_cgroups;             /* do not manage pod cgroups */
    const char *cgroup_mounts;        /* mounts table for cgroup discovery (NULL: /proc) */
    int max_workers;                  /* 0: 512 */
} kl_kubelet_opts;

typedef struct kl_kubelet kl_kubelet;

/* Connects to the runtime (CRI v1 Version check), finds the cgroup
 * hierarchies and creates the QoS cgroups. Threads start with
 * kl_kubelet_start. */
int kl_kubelet_new(const kl_kubelet_opts *opts, kl_kubelet **out, kn_error **err);

/* Starts the pod workers and the PLEG. */
int kl_kubelet_start(kl_kubelet *k, kn_error **err);

/* Stops every thread (letting running syncs finish) and frees k. The
 * runtime is left as it is: a new kubelet adopts it. NULL is fine. */
void kl_kubelet_free(kl_kubelet *k);

/* ---- pod sources ---- */

/* The interface sources feed (so a source does not depend on the kubelet). */
typedef struct kl_pod_sink {
    /* Replaces the set of pods of source (pods borrowed; the kubelet takes
     * its own references). */
    void (*set)(void *arg, const char *source, kl_pod *const *pods, size_t n);
    /* Adds or updates one pod. */
    void (*update)(void *arg, const char *source, kl_pod *pod);
    /* The source no longer has the pod. */
    void (*remove)(void *arg, const char *uid);
    /* The source has delivered its initial set. */
    void (*ready)(void *arg, const char *source);
    void *arg;
} kl_pod_sink;

/* A sink that feeds k. */
kl_pod_sink kl_kubelet_sink(kl_kubelet *k);

void kl_kubelet_source_set(kl_kubelet *k, const char *source, kl_pod *const *pods, size_t n);
void kl_kubelet_pod_update(kl_kubelet *k, const char *source, kl_pod *pod);
void kl_kubelet_pod_remove(kl_kubelet *k, const char *uid);
void kl_kubelet_source_ready(kl_kubelet *k, const char *source);

/* ---- queries ---- */

/* A copy of the pod's last status (caller deletes), or NULL. */
cJSON *kl_kubelet_pod_status(kl_kubelet *k, const char *uid);

/* True while the kubelet tracks uid (including pods being removed). */
bool kl_kubelet_has_pod(kl_kubelet *k, const char *uid);

/* The pod the kubelet runs as namespace/name (from a source, not being
 * removed), with a new reference (kl_pod_unref), or NULL. */
kl_pod *kl_kubelet_find_pod(kl_kubelet *k, const char *ns, const char *name);

/* A v1 PodList of the pods from the sources, each with the kubelet's
 * latest status (caller deletes). */
cJSON *kl_kubelet_pod_list(kl_kubelet *k);

/* The kubelet's runtime connection (thread-safe; lives as long as k). */
cri_conn *kl_kubelet_runtime(kl_kubelet *k);

/* The runtime's name from Version ("containerd"). */
const char *kl_kubelet_runtime_name(const kl_kubelet *k);

/* False when the PLEG has not relisted for 3 minutes; *why (may be NULL)
 * then holds the reason (owned by the caller). */
bool kl_kubelet_healthy(kl_kubelet *k, char **why);

#endif
