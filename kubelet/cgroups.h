/* cgroups.h - pod-level cgroups with the cgroupfs driver, as upstream's pod
 * container manager keeps them (containerd never creates or removes them:
 * runc only mkdir -p's the parent and leaves it behind).
 *
 * Layout (--cgroups-per-qos, the default):
 *     <cgroup-root>/kubepods/pod<uid>               Guaranteed
 *     <cgroup-root>/kubepods/burstable/pod<uid>     Burstable
 *     <cgroup-root>/kubepods/besteffort/pod<uid>    BestEffort
 * created in every cgroup v1 hierarchy the host mounts, or in the unified
 * hierarchy on a pure cgroup v2 host (a hybrid host's cgroup2 mount, which
 * holds no controller the kubelet uses, is left alone as upstream's v1 mode
 * does). Limits are upstream's ResourceConfigForPod.
 *
 * The resource arithmetic (MilliCPUToShares, MilliCPUToQuota, pod requests
 * and limits) is shared with the container configs. */
#ifndef KNODE_KUBELET_CGROUPS_H
#define KNODE_KUBELET_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

#define KL_MIN_SHARES 2
#define KL_MAX_SHARES 262144
#define KL_MIN_QUOTA_US 1000

/* upstream MilliCPUToShares: 0 gives 2; (milli * 1024) / 1000 within [2, 262144]. */
int64_t kl_milli_cpu_to_shares(int64_t milli_cpu);

/* upstream MilliCPUToQuota: 0 gives 0 (no quota); else milli * period / 1000,
 * at least 1000 us. */
int64_t kl_milli_cpu_to_quota(int64_t milli_cpu, int64_t period_us);

/* upstream CpuSharesToCpuWeight (cgroup v2): 1 + ((shares - 2) * 9999) / 262142. */
int64_t kl_shares_to_weight(int64_t shares);

/* A pod's effective requests and limits (upstream PodRequests/PodLimits
 * without overhead): per resource, the larger of the app containers' sum and
 * any single init container. */
typedef struct kl_pod_resources {
    bool has_cpu_request; /* some container requests cpu */
    int64_t cpu_request_milli;
    int64_t cpu_limit_milli;  /* 0: none */
    int64_t memory_limit;     /* bytes; 0: none */
    bool cpu_limits_declared; /* every container has a cpu limit */
    bool memory_limits_declared;
} kl_pod_resources;

void kl_pod_resources_compute(const kl_pod *pod, kl_pod_resources *out);

/* Limits written into a cgroup; 0 leaves a value alone. cpu_quota -1 means
 * "no limit" (written as -1 / "max"). */
typedef struct kl_cgroup_limits {
    int64_t cpu_shares;
    int64_t cpu_quota_us;
    int64_t cpu_period_us;
    int64_t memory_limit;
} kl_cgroup_limits;

/* upstream ResourceConfigForPod for pod. */
void kl_pod_cgroup_limits(const kl_pod *pod, const kl_node_config *nc, kl_cgroup_limits *out);

/* "<root>/kubepods[/burstable|/besteffort]" (root "/" gives "/kubepods"). */
char *kl_cgroup_qos_name(const char *cgroup_root, kl_qos_class qos);

/* "<qos name>/pod<uid>": the cgroup parent passed to the runtime. */
char *kl_cgroup_pod_name(const char *cgroup_root, kl_qos_class qos, const char *uid);

typedef struct kl_cgroups kl_cgroups;

/* Finds the cgroup hierarchies from a mounts table (/proc/self/mounts
 * format; mounts_path NULL means /proc/self/mounts). Errors: KN_EIO, or
 * KN_ENOTSUP when no cgroup hierarchy is mounted. */
int kl_cgroups_open(const char *mounts_path, kl_cgroups **out, kn_error **err);

void kl_cgroups_free(kl_cgroups *cg);

/* True for a pure cgroup v2 host. */
bool kl_cgroups_v2(const kl_cgroups *cg);

/* Number of hierarchies used and the mount point of the i-th. */
size_t kl_cgroups_count(const kl_cgroups *cg);
const char *kl_cgroups_mount(const kl_cgroups *cg, size_t i);

/* mkdir -p path (a cgroup name such as "/kubepods/burstable/pod<uid>") in
 * every hierarchy, then writes lim (may be NULL). New cpuset cgroups get
 * their parent's cpus and mems. Idempotent. */
int kl_cgroups_ensure(kl_cgroups *cg, const char *path, const kl_cgroup_limits *lim,
                      kn_error **err);

/* Creates <root>/kubepods, .../burstable and .../besteffort (cpu shares 2),
 * as upstream's QoS container manager does at start. */
int kl_cgroups_ensure_qos(kl_cgroups *cg, const char *cgroup_root, kn_error **err);

/* True if path exists in the first hierarchy. */
bool kl_cgroups_exists(const kl_cgroups *cg, const char *path);

/* Removes path in every hierarchy: processes still inside (and in its
 * children) are killed with SIGKILL first, then the tree is removed
 * bottom-up. A missing path is fine. Errors: KN_EIO naming what is left. */
int kl_cgroups_remove(kl_cgroups *cg, const char *path, kn_error **err);

/* Calls fn for every pod cgroup ("pod<uid>" under the three QoS parents)
 * found in the first hierarchy, with the uid and the cgroup name. */
void kl_cgroups_list_pods(const kl_cgroups *cg, const char *cgroup_root,
                          void (*fn)(const char *uid, const char *path, void *arg), void *arg);

#endif
