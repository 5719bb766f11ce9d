/* agent.h - the node agent: kubelet (pod core, API pod source, status
 * manager, Node and Lease, static pods) and optionally the Service proxy
 * and the cluster DNS, all on one API client and one informer factory.
 *
 * `knode kubelet` runs it with the proxy and DNS off, `knode agent` with
 * both, `knode standalone` next to its own control plane. */
#ifndef KNODE_KUBELET_AGENT_H
#define KNODE_KUBELET_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "dns/daemon.h"
#include "kubelet/config.h"
#include "kubelet/logrotate.h"
#include "kubelet/server.h"
#include "lib/error.h"
#include "netproxy/proxy.h"

typedef struct kl_agent_opts {
    kc_client *client;            /* borrowed; outlives the agent */
    const kl_node_config *node;   /* borrowed; outlives the agent */
    const char *runtime_endpoint; /* CRI endpoint */
    int64_t runtime_timeout_ms;
    const char *pod_manifest_path; /* NULL/"": no static pods */
    const char *node_labels, *taints, *kube_reserved, *system_reserved;
    int max_pods;
    bool manage_cni;               /* write the CNI conflist for the podCIDR */
    const char *assign_pod_cidr;   /* see kl_node_opts (standalone) */
    const char *cni_conf_dir;      /* NULL: /etc/cni/net.d */
    const char *cni_data_dir;      /* host-local dataDir; NULL: the plugin's default */
    const np_proxy_opts *proxy;    /* NULL: no Service proxy */
    const dns_daemon_config *dns;  /* NULL: no cluster DNS */
    int64_t node_status_period_ns; /* 0: 10 s */
    kl_server_opts server;         /* the :10250 server (kubelet and node set here) */
    kl_logrotate_opts logs;        /* log rotation (conn set here) */
} kl_agent_opts;

typedef struct kl_agent kl_agent;

/* Validates the options, connects to the runtime, registers the Node and
 * starts every component. */
int kl_agent_start(const kl_agent_opts *o, kl_agent **out, kn_error **err);

/* Stops every component (the runtime's pods keep running) and frees a. */
void kl_agent_stop(kl_agent *a);

#endif
