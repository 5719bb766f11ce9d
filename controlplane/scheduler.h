/* scheduler.h - the scheduling algorithm: kube-scheduler's default profile
 * as far as knode implements it, as pure functions on cJSON Pods and Nodes.
 * The loop that watches pods and nodes and binds lives in ctl-sched.c.
 *
 * Filters run in upstream's plugin order and a node fails at the first
 * failing plugin, with that plugin's reason texts:
 *   NodeUnschedulable  spec.unschedulable (unless the pod tolerates the
 *                      node.kubernetes.io/unschedulable:NoSchedule taint)
 *                      "node(s) were unschedulable"
 *   TaintToleration    NoSchedule/NoExecute taints; a node whose Ready
 *                      condition is not True counts as tainted
 *                      node.kubernetes.io/not-ready (False) or
 *                      node.kubernetes.io/unreachable (Unknown or missing)
 *                      "node(s) had untolerated taint {key: value}"
 *   NodeAffinity       nodeSelector and required node affinity
 *                      "node(s) didn't match Pod's node affinity/selector"
 *   NodePorts          host ports "node(s) didn't have free ports for the
 *                      requested pod ports"
 *   NodeResourcesFit   requests against status.allocatable: "Too many pods",
 *                      "Insufficient cpu", "Insufficient memory", ...
 * Scores: NodeResourcesFit least-allocated (weight 1), TaintToleration
 * PreferNoSchedule (weight 3) and preferred node affinity (weight 2), each
 * normalized to 0..100 as upstream; ties are broken at random. */
#ifndef KNODE_CONTROLPLANE_SCHEDULER_H
#define KNODE_CONTROLPLANE_SCHEDULER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/backoff.h"

#define KN_SCHED_MAX_SCALAR 8
#define KN_SCHED_MAX_REASONS 8

/* Default requests counted for scoring when a container sets none
 * (upstream's DefaultMilliCPURequest and DefaultMemoryRequest). */
#define KN_SCHED_DEFAULT_MILLI_CPU 100
#define KN_SCHED_DEFAULT_MEMORY (200 * 1024 * 1024)

/* An extended resource ("example.com/gpu") and its amount. */
typedef struct kn_sched_scalar {
    char name[128];
    int64_t value;
} kn_sched_scalar;

/* A resource list: cpu in millicores, the rest in units. */
typedef struct kn_sched_res {
    int64_t milli_cpu;
    int64_t memory;
    int64_t ephemeral;
    int64_t pods; /* allocatable pods (node lists only) */
    kn_sched_scalar scalar[KN_SCHED_MAX_SCALAR];
    size_t nscalar;
} kn_sched_res;

/* A host port in use or asked for: protocol, host IP ("0.0.0.0": all), port. */
typedef struct kn_sched_port {
    char proto[8];
    char ip[48];
    int port;
} kn_sched_port;

/* A node with what is placed on it. Build with kn_sched_node_init, add its
 * pods with kn_sched_node_add_pod, release with kn_sched_node_clear. */
typedef struct kn_sched_node {
    const cJSON *node; /* borrowed; must outlive this */
    const char *name;  /* points into node */
    kn_sched_res alloc;
    kn_sched_res used;    /* requests of the pods on it */
    int64_t nz_milli_cpu; /* non-zero requests (scoring) */
    int64_t nz_memory;
    int npods;
    kn_sched_port *ports;
    size_t nports, cap_ports;
} kn_sched_node;

/* The pod's effective requests as the scheduler counts them: the larger of
 * the sum over containers (plus restartable init containers) and the peak
 * of the init containers, plus overhead. A container with limits but no
 * requests requests its limits (API defaulting). */
void kn_sched_pod_requests(const cJSON *pod, kn_sched_res *out);

/* The pod's cpu/memory requests with KN_SCHED_DEFAULT_* for unset values. */
void kn_sched_pod_nonzero(const cJSON *pod, int64_t *milli_cpu, int64_t *memory);

void kn_sched_node_init(kn_sched_node *n, const cJSON *node);
/* Counts pod (borrowed only during the call) as placed on n. */
void kn_sched_node_add_pod(kn_sched_node *n, const cJSON *pod);
void kn_sched_node_clear(kn_sched_node *n);

/* Reasons a node was rejected (owned strings). */
typedef struct kn_sched_reasons {
    char *v[KN_SCHED_MAX_REASONS];
    size_t n;
} kn_sched_reasons;

void kn_sched_reasons_clear(kn_sched_reasons *r);

/* True if pod fits n; otherwise fills why (cleared first) with the first
 * failing plugin's reasons. */
bool kn_sched_filter(const cJSON *pod, const kn_sched_node *n, kn_sched_reasons *why);

/* v1 Toleration.ToleratesTaint: effect (empty: all), key (empty: all),
 * operator Equal (default) compares values, Exists matches any value. */
bool kn_sched_tolerates(const cJSON *toleration, const cJSON *taint);

/* True if some toleration in the array tolerates taint. */
bool kn_sched_tolerations_tolerate(const cJSON *tolerations, const cJSON *taint);

/* The node's taints (spec.taints) plus the NoSchedule taint its Ready
 * condition implies (see the header comment). New array, caller deletes. */
cJSON *kn_sched_node_taints(const cJSON *node);

/* nodeSelector and requiredDuringSchedulingIgnoredDuringExecution. */
bool kn_sched_node_affinity_matches(const cJSON *pod, const cJSON *node);

/* One NodeSelectorTerm (matchExpressions and matchFields ANDed; an empty
 * term matches nothing). */
bool kn_sched_term_matches(const cJSON *term, const cJSON *node);

/* Least-allocated score 0..100 of n for pod (cpu and memory, weight 1). */
int64_t kn_sched_least_allocated(const cJSON *pod, const kn_sched_node *n);

/* upstream's FitError text for nodes rejected with reasons[i]:
 * "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were
 * unschedulable." (counts per reason, sorted as strings). Owned. */
char *kn_sched_fit_message(const kn_sched_reasons *reasons, size_t nnodes);

/* Filters and scores nodes[0..n) for pod. Returns the index chosen, or -1
 * with *message (owned) saying why none fits. rnd breaks ties. */
int kn_sched_pick(const cJSON *pod, kn_sched_node *nodes, size_t n, kn_rand *rnd, char **message);

#endif
