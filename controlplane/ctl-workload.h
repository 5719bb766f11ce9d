/* ctl-workload.h - the decisions of the workload controllers as pure
 * functions (upstream pkg/controller, pkg/controller/deployment/util,
 * pkg/controller/daemon and pkg/controller/statefulset semantics): which
 * pods to delete first, the pod-template-hash, maxSurge/maxUnavailable,
 * how far each ReplicaSet of a rollout is scaled, which nodes run a
 * DaemonSet pod and which StatefulSet pod is created or deleted next. */
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

/* ---- DaemonSets ------------------------------------------------------------------------- */

/* AddOrUpdateDaemonPodTolerations: adds to pod_spec.tolerations (unless
 * the same key/effect/operator is there) Exists tolerations of
 * node.kubernetes.io/not-ready and unreachable (NoExecute, no
 * tolerationSeconds), disk-pressure, memory-pressure, pid-pressure and
 * unschedulable (NoSchedule), and network-unavailable (NoSchedule) for
 * hostNetwork pods. */
void kn_ctl_ds_add_tolerations(cJSON *pod_spec);

/* ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity of
 * pod_spec becomes the one term matchFields metadata.name In [node]
 * (preferred terms stay), so the scheduler binds the pod to node. */
void kn_ctl_ds_pin(cJSON *pod_spec, const char *node);

/* The node a DaemonSet pod is for: spec.nodeName, else the value of its
 * metadata.name matchFields requirement, else NULL (borrowed). */
const char *kn_ctl_ds_target_node(const cJSON *pod);

/* NodeShouldRunDaemonPod for pod (the template's pod with the DaemonSet
 * tolerations) on node: should_run when nodeSelector and required node
 * affinity match and every NoSchedule/NoExecute taint is tolerated;
 * should_continue when they match and every NoExecute taint is. */
void kn_ctl_ds_should_run(const cJSON *pod, const cJSON *node, bool *should_run,
                          bool *should_continue);

/* podsShouldBeOnNode for one node and the daemon pods mapped to it
 * (pods[0..n), any phase): *create when the node should run a pod and
 * has none (a pod still being deleted counts: the next sync creates);
 * fills del (room for n) with the pods to delete: failed ones, all but
 * the oldest running one, and all when the node may no longer run one.
 * Returns the number in del. */
size_t kn_ctl_ds_node_plan(bool should_run, bool should_continue, const cJSON *const *pods,
                           size_t n, bool *create, const cJSON **del);

/* A node's daemon pods as rollingUpdate sees them (pods being deleted
 * left out). */
typedef struct kn_ctl_ds_slot {
    int nnew, nold;     /* pods with and without the current hash */
    bool new_available; /* the (single) new pod is available */
    bool old_available; /* the (single) old pod is available */
} kn_ctl_ds_slot;

/* rollingUpdate (maxSurge 0): old pods that are unavailable are replaced
 * at once; available ones while fewer than max_unavailable daemon pods
 * are unavailable (a node with no pod, with two, or with a new pod not
 * yet available counts as unavailable). Writes the indexes of the slots
 * whose old pod goes now to out (room for n); returns how many. */
size_t kn_ctl_ds_rolling_pick(const kn_ctl_ds_slot *slots, size_t n, int64_t max_unavailable,
                              size_t *out);

/* ---- StatefulSets ---------------------------------------------------------------------- */

/* The ordinal of a pod named <set>-<ordinal>, or -1. */
int64_t kn_ctl_sts_ordinal(const char *set, const char *pod);

/* The pod at one ordinal as the StatefulSet controller sees it. */
typedef struct kn_ctl_sts_pod {
    bool exists;
    bool terminating; /* deletionTimestamp set */
    bool healthy;     /* Running and Ready (and not terminating) */
    bool finished;    /* Failed or Succeeded: to be replaced */
    bool updated;     /* labelled with the update revision */
} kn_ctl_sts_pod;

typedef struct kn_ctl_sts_params {
    int64_t replicas;
    int64_t partition; /* RollingUpdate: ordinals below keep the current revision */
    bool parallel;     /* podManagementPolicy Parallel (else OrderedReady) */
    bool rolling;      /* updateStrategy RollingUpdate (else OnDelete) */
} kn_ctl_sts_params;

typedef struct kn_ctl_sts_action {
    int64_t ordinal;
    bool create; /* else delete */
} kn_ctl_sts_action;

/* updateStatefulSet's decisions for pods[0..n) (n >= replicas, indexed
 * by ordinal): finished pods are deleted and missing ones created in
 * ordinal order, OrderedReady stopping at the first action or at a pod
 * not yet healthy; then pods at or above replicas are deleted from the
 * highest ordinal (OrderedReady: one at a time, after those above are
 * gone); then RollingUpdate deletes the highest pod at or above the
 * partition that is not updated, one at a time, waiting for unhealthy
 * ones. Writes the actions to out (room for n) and returns how many. */
size_t kn_ctl_sts_plan(const kn_ctl_sts_params *p, const kn_ctl_sts_pod *pods, size_t n,
                       kn_ctl_sts_action *out);

#endif
