/* sandbox.h - a pod's CRI PodSandboxConfig, as upstream's
 * generatePodSandboxConfig builds it:
 *
 *   metadata        name, namespace, uid, attempt
 *   hostname        kl_pod_hostname() (not for hostNetwork pods)
 *   log_directory   <pod-logs-dir>/<namespace>_<name>_<uid>
 *   dns_config      kl_pod_dns()
 *   port_mappings   every container port (hostPort 0 included), deduplicated
 *   labels          the pod's labels + io.kubernetes.pod.{name,namespace,uid}
 *   annotations     the pod's annotations
 *   linux           cgroup_parent <cgroup-root>/kubepods/<qos>/pod<uid>; the
 *                   pod's summed resources; security context with namespace
 *                   options (network NODE for hostNetwork, pid/ipc), privileged
 *                   when any container is, runAsUser/runAsGroup, supplemental
 *                   groups (fsGroup first), seccomp RuntimeDefault.
 *
 * The labels let a restarted kubelet find its sandboxes again. */
#ifndef KNODE_KUBELET_SANDBOX_H
#define KNODE_KUBELET_SANDBOX_H

#include <stdint.h>

#include "cri/api.pb-c.h"
#include "kubelet/config.h"
#include "kubelet/dns.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

/* Labels on sandboxes and containers (upstream pkg/kubelet/types). */
#define KL_LABEL_POD_NAME "io.kubernetes.pod.name"
#define KL_LABEL_POD_NAMESPACE "io.kubernetes.pod.namespace"
#define KL_LABEL_POD_UID "io.kubernetes.pod.uid"
#define KL_LABEL_CONTAINER_NAME "io.kubernetes.container.name"

/* "<pod-logs-dir>/<namespace>_<name>_<uid>"; caller frees. */
char *kl_pod_log_dir(const kl_node_config *nc, const kl_pod *pod);

/* "<root-dir>/pods/<uid>"; caller frees. */
char *kl_pod_dir(const kl_node_config *nc, const char *uid);

/* The pod's namespace options (network POD or NODE, pid CONTAINER/POD/NODE,
 * ipc POD or NODE); a new message owned by the caller. */
Runtime__V1__NamespaceOption *kl_pod_namespace_options(const kl_pod *pod);

/* Builds the sandbox config for attempt (0 for the first sandbox). host_dns
 * is the parsed --resolv-conf. *out is owned by the caller (cri_msg_free).
 * Errors: KN_EINVAL (an FQDN host name too long). */
int kl_sandbox_config(const kl_pod *pod, const kl_node_config *nc, const kl_dns_config *host_dns,
                      uint32_t attempt, Runtime__V1__PodSandboxConfig **out, kn_error **err);

/* Linux resources from a cpu request (has_cpu_request false: none), cpu and
 * memory limits, as upstream's calculateLinuxResources: cpu shares from the
 * request (or the limit when there is no request), quota/period from the
 * limit when --cpu-cfs-quota, memory limit when non-zero. New message. */
Runtime__V1__LinuxContainerResources *
kl_linux_resources(const kl_node_config *nc, bool has_cpu_request, int64_t cpu_request_milli,
                   int64_t cpu_limit_milli, int64_t memory_limit);

#endif
