/* containers.h - a container's CRI ContainerConfig, as upstream's
 * generateContainerConfig builds it:
 *
 *   metadata      name, attempt = restart count
 *   image         the resolved image reference (+ user_specified_image)
 *   command/args  with $(VAR) references expanded from the container's env
 *   working_dir, envs (value, $(VAR) expanded against earlier entries;
 *                 fieldRef: metadata.name/namespace/uid, labels['k'],
 *                 annotations['k'], spec.nodeName/serviceAccountName,
 *                 status.podIP(s)/hostIP(s))
 *   mounts        volume mounts (emptyDir, hostPath), /etc/hosts (the pod's
 *                 kubelet-managed file), the termination message file
 *   log_path      <name>/<restart count>.log (under the sandbox log directory)
 *   labels        io.kubernetes.pod.{name,namespace,uid}, io.kubernetes.container.name
 *   annotations   io.kubernetes.container.{hash,restartCount,
 *                 terminationMessagePath,terminationMessagePolicy,ports},
 *                 io.kubernetes.pod.{terminationGracePeriod,deletionGracePeriod}
 *   linux         resources (shares from requests, quota/period and memory
 *                 from limits, oom_score_adj by QoS) and the security context.
 *
 * The labels and annotations let a restarted kubelet adopt the container:
 * the hash says whether the spec changed, restartCount continues. */
#ifndef KNODE_KUBELET_CONTAINERS_H
#define KNODE_KUBELET_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>

#include "cri/api.pb-c.h"
#include "kubelet/config.h"
#include "kubelet/podspec.h"
#include "lib/error.h"

#define KL_ANN_CONTAINER_HASH "io.kubernetes.container.hash"
#define KL_ANN_RESTART_COUNT "io.kubernetes.container.restartCount"
#define KL_ANN_TERMINATION_MESSAGE_PATH "io.kubernetes.container.terminationMessagePath"
#define KL_ANN_TERMINATION_MESSAGE_POLICY "io.kubernetes.container.terminationMessagePolicy"
#define KL_ANN_CONTAINER_PORTS "io.kubernetes.container.ports"
#define KL_ANN_POD_TERMINATION_GRACE "io.kubernetes.pod.terminationGracePeriod"
#define KL_ANN_POD_DELETION_GRACE "io.kubernetes.pod.deletionGracePeriod"

/* What a container's config depends on besides the pod spec. */
typedef struct kl_container_ctx {
    const kl_node_config *nc;
    const char *const *pod_ips; /* NULL-terminated, primary first (node IPs for
                                 * hostNetwork pods); may be NULL */
    const char *image_ref;      /* the image to run (ID from pull/status) */
    int restart_count;
    kl_opt_i64 image_uid;        /* the image's numeric user, if any */
    const char *image_user;      /* the image's user name, if not numeric */
    const char *etc_hosts_path;  /* host file for /etc/hosts; NULL: no mount */
    const char *termination_log; /* host file for terminationMessagePath; NULL: none */
} kl_container_ctx;

/* Expands $(VAR) references in s from env as upstream's expansion package:
 * "$$" is a literal "$", "$(UNDEFINED)" stays as written, an unterminated
 * "$(" is literal. Caller frees. */
char *kl_expand(const char *s, const kl_map *env);

/* The container's environment in spec order (a later entry of the same
 * name replacing the earlier value), values resolved and expanded. *out
 * must be zeroed; release with kl_env_clear. Errors: KN_ENOTSUP for a
 * source that is not supported yet. */
int kl_container_env(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                     kl_map *out, kn_error **err);

void kl_env_clear(kl_map *env);

/* upstream GetContainerOOMScoreAdjust: -997 for Guaranteed and node-critical
 * pods, 1000 for BestEffort, else 1000 - 1000 * memory request / capacity
 * within [3, 999]. */
int kl_oom_score_adj(const kl_pod *pod, const kl_container *c, int64_t memory_capacity);

/* upstream verifyRunAsNonRoot: with runAsNonRoot, the effective user (the
 * security context's, else the image's) must be a non-zero uid. Returns 0
 * or KN_EINVAL with upstream's message. */
int kl_verify_run_as_non_root(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                              kn_error **err);

/* Builds the ContainerConfig. *out is owned by the caller (cri_msg_free).
 * Errors: KN_ENOTSUP (c->unsupported), KN_EINVAL (run-as-non-root policy). */
int kl_container_config(const kl_pod *pod, const kl_container *c, const kl_container_ctx *ctx,
                        Runtime__V1__ContainerConfig **out, kn_error **err);

/* "<name>/<restart>.log" relative to the sandbox log directory; caller frees. */
char *kl_container_log_path(const char *name, int restart_count);

#endif
