/* ctl-manager.h - the scheduler and the core controllers of `knode server`
 * (kube-scheduler and kube-controller-manager in one component).
 *
 * They reach the API server only through api-client, over loopback HTTPS
 * with their own client certificate (<data-dir>/controller-manager.crt, CN
 * system:kube-controller-manager, O system:masters, issued from the cluster
 * CA on first start), like any other client. One shared informer per
 * resource feeds every controller. Of several servers sharing a store
 * only the holder of the Lease kube-system/kube-controller-manager (leader
 * election as upstream; the candidate's identity is kept in
 * <data-dir>/controller-manager.id, so a restarted server takes its Lease
 * back at once) runs the controllers: the scheduler, ReplicaSet,
 * Deployment, DaemonSet, StatefulSet, EndpointSlice (and Endpoints),
 * ServiceAccount, Namespace, garbage collector, node lifecycle, taint eviction and, with a cluster
 * CIDR, node IPAM. */
#ifndef KNODE_CONTROLPLANE_CTL_MANAGER_H
#define KNODE_CONTROLPLANE_CTL_MANAGER_H

#include <stdint.h>

#include "lib/error.h"

typedef struct kn_ctl_manager kn_ctl_manager;

typedef struct kn_ctl_manager_opts {
    const char *data_dir;     /* the pki.h layout: ca.crt, ca.key */
    const char *bind_address; /* of the API server; wildcard: 127.0.0.1 is used */
    int port;                 /* of the API server */
    /* --node-monitor-grace-period: a node whose Lease and status did not
     * change for this long is NotReady/Unknown. 0: 40 s. */
    int64_t node_monitor_grace_ns;
    /* --node-monitor-period. 0: 5 s, at most a quarter of the grace period. */
    int64_t node_monitor_period_ns;
    /* --cluster-cidr (with --allocate-node-cidrs): nodes get their
     * spec.podCIDR from it. NULL/"": no node IPAM. */
    const char *cluster_cidr;
    int node_cidr_mask_size; /* --node-cidr-mask-size; 0: 24 */
} kn_ctl_manager_opts;

/* Issues the client certificate if missing, connects, starts the shared
 * informers, waits for their first lists, starts every controller and
 * the leader election (controllers act once it is won, usually at once).
 * Returns 0 and *out, or negative with err. */
int kn_ctl_manager_start(const kn_ctl_manager_opts *opts, kn_ctl_manager **out, kn_error **err);

/* Stops the controllers and informers and frees everything. NULL is ignored. */
void kn_ctl_manager_stop(kn_ctl_manager *m);

#endif
