/* proxy.h - the Service proxy as a component (`knode proxy`, and later the
 * proxy inside `knode agent` / `knode standalone`): a client of the API
 * server, informers for Services and EndpointSlices (with kube-proxy's
 * label selectors: not another proxy's, not headless) and for its own Node
 * (healthz eligibility), the sync loop
 * (netproxy/proxier.h) programming nftables over netlink, stale UDP
 * conntrack cleanup, NodePort addresses from the node's interfaces, and the
 * healthz and metrics servers (netproxy/http.h).
 *
 * Everything is opened in the network namespace of the calling thread. */
#ifndef KNODE_NETPROXY_PROXY_H
#define KNODE_NETPROXY_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/error.h"
#include "netproxy/proxier.h"

typedef struct np_proxy_opts {
    const char *kubeconfig;         /* NULL or "": client-go's default lookup */
    kc_client *client;              /* a shared client; NULL: one from kubeconfig */
    const char *hostname_override;  /* node name; NULL/"": the hostname, lower case */
    const char *cluster_cidr;       /* comma-separated pod CIDRs, or NULL/"" */
    const char *nodeport_addresses; /* comma-separated CIDRs, or NULL/"" (default route) */
    bool masquerade_all;
    const char *proxy_mode;      /* "nftables" (NULL/"" too) or "ipvs" (netproxy/ipvs.h) */
    const char *ipvs_scheduler;  /* --ipvs-scheduler; NULL/"": "rr" */
    int64_t min_sync_period_ns;  /* >= 0 */
    int64_t sync_period_ns;      /* > 0 */
    const char *healthz_address; /* NULL/"": no healthz server */
    const char *metrics_address; /* NULL/"": no metrics server */
} np_proxy_opts;

typedef struct np_proxy np_proxy;

/* Checks the options, connects, starts the informers, the sync loop and the
 * servers. Errors: KN_EINVAL (a flag), KN_ENOTSUP (an unknown mode, or
 * ipvs on a kernel without IPVS), KN_EIO (nftables, IPVS, a server's
 * address), kubeconfig errors. */
int np_proxy_start(const np_proxy_opts *o, np_proxy **out, kn_error **err);

/* The sync loop (owned by the proxy). */
np_proxier *np_proxy_proxier(np_proxy *p);

/* Ports the servers listen on (0: none), e.g. when started on port 0. */
int np_proxy_healthz_port(const np_proxy *p);
int np_proxy_metrics_port(const np_proxy *p);

/* Stops everything and frees; the nftables tables stay (traffic keeps
 * flowing; the next start reconciles them). NULL is fine. */
void np_proxy_stop(np_proxy *p);

/* Whether a Node object may receive traffic, as kube-proxy's healthz says:
 * not being deleted and without the ToBeDeletedByClusterAutoscaler taint. */
bool np_node_eligible(const cJSON *node);

/* Deletes the knode-proxy tables and what the ipvs mode leaves: every
 * IPVS virtual service, kube-ipvs0, the knode-ipvs tables (kube-proxy
 * --cleanup). */
int np_proxy_cleanup(kn_error **err);

#endif
