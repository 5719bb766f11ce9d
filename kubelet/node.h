/* node.h - the kubelet's Node: registration, node status and the heartbeat
 * Lease (upstream kubelet_node_status.go and nodelease).
 *
 * On start the Node object is created (or, when it exists, its labels and
 * taints are left alone as upstream does after the first registration).
 * A thread then
 *   - every status period (10 s) computes the node status (addresses,
 *     capacity/allocatable, nodeInfo, conditions) and patches nodes/NAME/
 *     status when it changed, or anyway once the report period (5 min)
 *     passed since the last patch;
 *   - reads spec.podCIDR back from the Node; when it appears or changes it
 *     tells the runtime (CRI UpdateRuntimeConfig) and the on_pod_cidr
 *     callback (CNI config);
 *   - renews the Lease kube-node-lease/NAME (40 s duration) every lease
 *     period (10 s).
 * Ready is False (reason KubeletNotReady) with a message while the runtime
 * does not answer CRI Status, reports RuntimeReady or NetworkReady false,
 * or the PLEG is unhealthy; MemoryPressure, DiskPressure and PIDPressure
 * are False. */
#ifndef KNODE_KUBELET_NODE_H
#define KNODE_KUBELET_NODE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "kubelet/config.h"
#include "kubelet/kubelet.h"
#include "lib/error.h"

#define KL_KUBELET_VERSION "v1.30.0-knode"

/* What the host offers (filled by kl_host_info_read; tests fill it). */
typedef struct kl_host_info {
    char kernel[128];   /* uname release */
    char os_image[256]; /* PRETTY_NAME of /etc/os-release */
    char arch[32];      /* GOARCH spelling: amd64, arm64, ... */
    char machine_id[64];
    char boot_id[64];
    int64_t cpu_milli;     /* online CPUs x 1000 */
    int64_t memory_bytes;  /* MemTotal */
    int64_t storage_bytes; /* size of the file system holding root_dir */
} kl_host_info;

/* Reads the host's facts; storage from the file system of root_dir (or /
 * when root_dir does not exist yet). */
void kl_host_info_read(const char *root_dir, kl_host_info *h);

/* Resources reserved: cpu millicores and byte counts. */
typedef struct kl_reserved {
    int64_t cpu_milli, memory, storage, pids;
} kl_reserved;

/* Parses "cpu=100m,memory=256Mi,ephemeral-storage=1Gi,pid=100" (empty or
 * NULL: nothing) and adds it to *r. Errors: KN_EINVAL naming the entry. */
int kl_reserved_parse(const char *s, kl_reserved *r, kn_error **err);

/* Parses --node-labels "k=v,k2=v2" into obj (an object; keys set). */
int kl_node_labels_parse(const char *s, cJSON *obj, kn_error **err);

/* Parses --register-with-taints "key=value:Effect,key:Effect" into an array
 * of v1 Taints (caller deletes). NULL or "": an empty array. */
int kl_node_taints_parse(const char *s, cJSON **out, kn_error **err);

typedef struct kl_node_opts {
    kc_client *client;            /* borrowed */
    const kl_node_config *config; /* node name, IPs, root dir */
    const char *runtime_endpoint;
    int64_t runtime_timeout_ms;
    kl_kubelet *kubelet; /* PLEG health (may be NULL) */
    const char *node_labels;
    const char *taints;
    int max_pods; /* 0: 110 */
    const char *kube_reserved, *system_reserved;
    const kl_host_info *host; /* NULL: read from the host */
    int64_t status_period_ns; /* 0: 10 s */
    int kubelet_port;         /* status.daemonEndpoints.kubeletEndpoint.Port (0: 10250) */
    int64_t report_period_ns; /* 0: 5 min */
    int64_t lease_period_ns;  /* 0: 10 s */
    int lease_duration_s;     /* 0: 40 */
    /* when the Node has no spec.podCIDR, set this one (standalone: the
     * cluster's first /24, as the node IPAM controller would); NULL: wait */
    const char *assign_pod_cidr;
    void (*on_pod_cidr)(void *arg, const char *cidr);
    void *pod_cidr_arg;
} kl_node_opts;

/* Runtime facts the status is built from. */
typedef struct kl_node_facts {
    const char *runtime_version; /* "containerd://1.6.20" or NULL */
    bool ready;
    const char *not_ready_message; /* when !ready */
    const char *now;               /* RFC 3339 time written into conditions */
} kl_node_facts;

/* The Node object to register (caller deletes). */
int kl_node_build(const kl_node_opts *o, const kl_host_info *h, const kl_node_facts *f, cJSON **out,
                  kn_error **err);

/* The status object (capacity, allocatable, addresses, nodeInfo, conditions,
 * daemonEndpoints). prev: the conditions last posted (or NULL): a
 * condition keeps its lastTransitionTime while its status stays. */
cJSON *kl_node_status_build(const kl_node_opts *o, const kl_host_info *h, const kl_node_facts *f,
                            const cJSON *prev);

/* The status as compared between rounds: its JSON without the conditions'
 * lastHeartbeatTime (caller frees). */
char *kl_node_status_signature(const cJSON *status);

/* Whether a round posts the status: it changed (signature differs, or
 * nothing was posted yet) or report_period_ns passed since the last post. */
bool kl_node_status_due(const char *last_sig, const char *sig, int64_t last_post_ns, int64_t now_ns,
                        int64_t report_period_ns);

typedef struct kl_node kl_node;

/* Registers the node and starts the status and lease thread. */
int kl_node_start(const kl_node_opts *o, kl_node **out, kn_error **err);

/* Asks the thread to post the status and renew the lease now. */
void kl_node_kick(kl_node *n);

/* The podCIDR last read from the Node (copy, caller frees), or NULL. */
char *kl_node_pod_cidr(kl_node *n);

/* Stops the thread and frees n. NULL is fine. */
void kl_node_stop(kl_node *n);

#endif
