/* ctl-endpoints.h - what the EndpointSlice and Endpoints of a Service hold,
 * computed from the Service and its pods (upstream's endpointslice
 * reconciler and endpoints controller semantics), as pure functions.
 *
 * A pod takes part when it is not terminal and has an IP; in
 * EndpointSlices terminating pods stay, with conditions
 *   serving     = pod Ready
 *   terminating = deletionTimestamp set
 *   ready       = publishNotReadyAddresses || (serving && !terminating);
 * in Endpoints terminating pods are left out (unless
 * publishNotReadyAddresses) and the others go to addresses (ready) or
 * notReadyAddresses. Ports are the Service's, each resolved per pod through
 * targetPort (a number, or a container port's name); pods whose ports
 * resolve alike share a slice (at most 100 endpoints a slice) or a
 * subset. */
#ifndef KNODE_CONTROLPLANE_CTL_ENDPOINTS_H
#define KNODE_CONTROLPLANE_CTL_ENDPOINTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define KN_CTL_MAX_SLICE_ENDPOINTS 100
#define KN_CTL_SLICE_MANAGER "endpointslice-controller.k8s.io"

/* The zone of a node (topology.kubernetes.io/zone), or NULL. */
typedef const char *(*kn_ctl_zone_fn)(void *ud, const char *node);

/* FindPort: the pod's port for a Service port (targetPort by number or by
 * container port name and protocol; port when targetPort is unset), or -1. */
int kn_ctl_find_port(const cJSON *pod, const cJSON *svc_port);

/* ShouldPodBeInEndpoints. */
bool kn_ctl_pod_in_endpoints(const cJSON *pod, bool include_terminating);

/* The IPv4 EndpointSlice contents for svc: an array of {"ports": [...],
 * "endpoints": [...]}, endpoints sorted by pod name; a Service without
 * endpoints gets one entry with both empty (upstream's placeholder).
 * zone may be NULL. Owned by the caller. */
cJSON *kn_ctl_slice_groups(const cJSON *svc, const cJSON *const *pods, size_t n,
                           kn_ctl_zone_fn zone, void *ud);

/* The Endpoints subsets for svc (repacked: one subset per port set,
 * addresses sorted by IP). Owned by the caller. */
cJSON *kn_ctl_endpoints_subsets(const cJSON *svc, const cJSON *const *pods, size_t n);

#endif
