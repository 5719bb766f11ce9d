/* config.h - the node-level settings every kubelet module reads: the
 * upstream kubelet flags of the same names, with the same defaults. */
#ifndef KNODE_KUBELET_CONFIG_H
#define KNODE_KUBELET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define KL_MAX_NODE_IPS 2

typedef struct kl_node_config {
    const char *node_name;                 /* --hostname-override, else the host name */
    const char *node_ips[KL_MAX_NODE_IPS]; /* --node-ip (hostIP/hostIPs); [0] may be NULL */
    const char *const *cluster_dns;        /* --cluster-dns, NULL-terminated (may be NULL) */
    const char *cluster_domain;            /* --cluster-domain (default "": no search list) */
    const char *resolv_conf;               /* --resolv-conf (default /etc/resolv.conf; "": none) */
    const char *pod_logs_dir;              /* --pod-logs-dir (default /var/log/pods) */
    const char *root_dir;                  /* --root-dir (default /var/lib/knode/kubelet) */
    const char *cgroup_root;               /* --cgroup-root (default "/") */
    bool cgroups_per_qos;                  /* --cgroups-per-qos (default true) */
    bool cpu_cfs_quota;                    /* --cpu-cfs-quota (default true) */
    int64_t cpu_cfs_quota_period_us;       /* --cpu-cfs-quota-period (default 100ms) */
    int64_t memory_capacity;               /* node memory in bytes (default: /proc/meminfo) */
    const char *runtime_handler;           /* CRI runtime handler (default "": the runtime's) */
} kl_node_config;

/* Fills c with the upstream defaults (node_name from gethostname, memory
 * capacity from /proc/meminfo). Strings point to static storage or to an
 * internal buffer for the host name; replace any field afterwards. */
void kl_node_config_defaults(kl_node_config *c);

/* The node's memory in bytes from /proc/meminfo (MemTotal), or 0. */
int64_t kl_host_memory_bytes(void);

#endif
