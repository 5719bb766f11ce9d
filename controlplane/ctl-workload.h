/* ctl-workload.h - the arithmetic of the ReplicaSet and Deployment
 * controllers as pure functions (upstream pkg/controller and
 * pkg/controller/deployment/util semantics): which pods to delete first,
 * the pod-template-hash, maxSurge/maxUnavailable, and how far each
 * ReplicaSet of a rollout is scaled. */
#ifndef KNODE_CONTROLPLANE_CTL_WORKLOAD_H
#define KNODE_CONTROLPLANE_CTL_WORKLOAD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- pods to delete ----------------------------------------------------------------- */

/* A pod and its rank: the number of active related pods on its node. */
typedef struct kn_ctl_ranked_pod {
    const cJSON *pod;
    int rank;
} kn_ctl_ranked_pod;

/* ActivePodsWithRanks.Less: true if a is to be deleted before b. In order:
 * unassigned before assigned; Pending < Unknown < Running; not ready before
 * ready; lower controller.kubernetes.io/pod-deletion-cost first; higher
 * rank (doubled up) first; ready for less time first (log2 buckets of the
 * age at now_ns, then uid); more container restarts first; newer first
 * (log2 buckets, then uid). */
bool kn_ctl_deletion_less(const kn_ctl_ranked_pod *a, const kn_ctl_ranked_pod *b, int64_t now_ns);

/* Sorts pods so the ones to delete first come first. */
void kn_ctl_sort_for_deletion(kn_ctl_ranked_pod *pods, size_t n, int64_t now_ns);

/* ---- templates ------------------------------------------------------------------------- */

#define KN_CTL_HASH_LABEL "pod-template-hash"

/* The pod-template-hash of a pod template: FNV-32a over its canonical JSON
 * (keys sorted; nulls, {} and [] dropped) and the collision count (when
 * >= 0), as decimal digits mapped through upstream's SafeEncodeString
 * alphabet. Owned. */
char *kn_ctl_template_hash(const cJSON *template, int64_t collision_count);

/* EqualIgnoreHash: equal pod templates apart from the pod-template-hash
 * label, with nulls, {} and [] counting as absent (semantic equality). */
bool kn_ctl_templates_equal(const cJSON *a, const cJSON *b);

/* ---- rollouts ---------------------------------------------------------------------------- */

/* An intstr (int or "25%") scaled to total: percentages round up or down.
 * Missing values are 0. Returns 0, or -1 for a malformed value. */
int kn_ctl_scaled_value(const cJSON *v, int64_t total, bool round_up, int64_t *out);

/* A ReplicaSet as the rollout arithmetic sees it. */
typedef struct kn_ctl_rs {
    int64_t created_ns;   /* creationTimestamp (ordering) */
    int64_t replicas;     /* spec.replicas: read, and written by the planners */
    int64_t available;    /* status.availableReplicas */
    int64_t max_replicas; /* deployment.kubernetes.io/max-replicas, 0 if absent */
    int64_t desired;      /* deployment.kubernetes.io/desired-replicas, -1 if absent */
    const char *name;     /* tie-breaker */
} kn_ctl_rs;

/* A deployment's rollout parameters. */
typedef struct kn_ctl_rollout {
    int64_t replicas;        /* spec.replicas */
    int64_t max_surge;       /* resolved (kn_ctl_fenceposts); 0 for Recreate */
    int64_t max_unavailable; /* resolved, at most replicas; 0 for Recreate */
    int64_t status_replicas; /* status.replicas (proportion fallback) */
    bool rolling;            /* RollingUpdate (else Recreate) */
} kn_ctl_rollout;

/* ResolveFenceposts: surge rounds up, unavailable down; both 0 makes
 * unavailable 1. Then MaxUnavailable's cap at replicas (and 0 when replicas
 * is 0). Returns -1 for malformed values. */
int kn_ctl_fenceposts(const cJSON *max_surge, const cJSON *max_unavailable, int64_t replicas,
                      kn_ctl_rollout *d);

/* NewRSNewReplicas: the size the new ReplicaSet may grow to now. */
int64_t kn_ctl_new_rs_replicas(const kn_ctl_rollout *d, const kn_ctl_rs *all, size_t n,
                               const kn_ctl_rs *new_rs);

/* reconcileOldReplicaSets: scales down unhealthy then healthy replicas of
 * the old ReplicaSets (oldest first) as far as maxUnavailable allows;
 * writes old[i].replicas and returns the number scaled down. */
int64_t kn_ctl_scale_down_old(const kn_ctl_rollout *d, kn_ctl_rs *old, size_t nold,
                              const kn_ctl_rs *new_rs);

/* The deployment's scale(): with one active ReplicaSet (or none: the
 * newest), it gets spec.replicas; otherwise, for rolling updates, the
 * difference to spec.replicas + maxSurge is spread proportionally (by
 * the max-replicas annotation), the leftover to the largest. new_idx is
 * the new ReplicaSet's index in rs or -1. Writes rs[i].replicas. */
void kn_ctl_scale(const kn_ctl_rollout *d, kn_ctl_rs *rs, size_t n, int new_idx);

#endif
