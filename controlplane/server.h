/* server.h - `knode server`: the control plane in one process. Creates the
 * certificates, opens the store, makes sure the built-in objects exist
 * (namespaces default, kube-system, kube-public, kube-node-lease; the
 * `kubernetes` Service at the first Service IP) and serves the API until
 * SIGINT/SIGTERM. */
#ifndef KNODE_CONTROLPLANE_SERVER_H
#define KNODE_CONTROLPLANE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

typedef struct kn_server_opts {
    const char *data_dir;
    const char *bind_address;
    int port;
    const char *service_cidr;
    const char *store_url; /* NULL/"": sqlite://<data-dir>/state.db */
    const char *cluster_domain;
    int compact_interval_s;        /* 0: 300, as upstream */
    int64_t node_monitor_grace_ns; /* --node-monitor-grace-period; 0: 40 s */
    bool allocate_node_cidrs;      /* --allocate-node-cidrs: nodes get podCIDRs */
    const char *cluster_cidr;      /* --cluster-cidr they are taken from */
} kn_server_opts;

/* Runs until a termination signal; returns 0 on a clean stop. */
int kn_server_run(const kn_server_opts *opts, kn_error **err);

#endif
