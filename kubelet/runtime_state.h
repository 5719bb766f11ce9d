/* runtime_state.h - what the runtime holds for one pod (upstream
 * kubecontainer.PodStatus): its sandboxes and containers, found by the
 * io.kubernetes.pod.uid label, each with its status, newest first.
 *
 * Container facts the kubelet recorded at creation come back from the
 * labels and annotations (name, hash, restart count, termination message
 * path), so a restarted kubelet reads the same state. */
#ifndef KNODE_KUBELET_RUNTIME_STATE_H
#define KNODE_KUBELET_RUNTIME_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri/api.pb-c.h"
#include "cri/grpc.h"
#include "lib/error.h"

typedef enum kl_cstate {
    KL_CS_CREATED,
    KL_CS_RUNNING,
    KL_CS_EXITED,
    KL_CS_UNKNOWN,
} kl_cstate;

typedef struct kl_rt_container {
    char *id;
    char *name; /* io.kubernetes.container.name, else metadata.name */
    char *sandbox_id;
    uint32_t attempt;
    kl_cstate state;
    int64_t created_at, started_at, finished_at; /* ns since the epoch; 0: unset */
    int32_t exit_code;
    char *reason;    /* "Completed", "Error", "OOMKilled", ... (exited only) */
    char *message;   /* runtime message + termination message (exited only) */
    char *image;     /* the image as the runtime names it */
    char *image_ref; /* digest or ID */
    bool has_hash;
    uint32_t hash; /* io.kubernetes.container.hash */
    int restart_count;
    int64_t pod_grace_s; /* io.kubernetes.pod.terminationGracePeriod, -1 when absent */
    char *log_path;
} kl_rt_container;

typedef struct kl_rt_sandbox {
    char *id;
    char *name, *namespace_; /* metadata */
    uint32_t attempt;
    bool ready;
    int64_t created_at;
    char *ip; /* "" when none */
    char **extra_ips;
    size_t n_extra_ips;
    int network_mode; /* Runtime__V1__NamespaceMode of the network namespace */
} kl_rt_sandbox;

typedef struct kl_pod_runtime {
    char *uid;
    kl_rt_sandbox *sandboxes; /* newest first */
    size_t n_sandboxes;
    kl_rt_container *containers; /* newest first */
    size_t n_containers;
} kl_pod_runtime;

/* Reads the pod's sandboxes and containers (ListPodSandbox and
 * ListContainers filtered by the uid label, then PodSandboxStatus and
 * ContainerStatus of each; an item that vanished meanwhile is skipped).
 * *out is owned by the caller (kl_pod_runtime_free). */
int kl_runtime_get_pod(cri_conn *c, const char *uid, kl_pod_runtime **out, kn_error **err);

/* Builds the snapshot from replies (for tests and for the getter above):
 * containers[i] runs in sandbox sandbox_ids[i] (sandbox_ids may be NULL).
 * Copies what it needs; borrows nothing. */
kl_pod_runtime *kl_pod_runtime_build(const char *uid,
                                     Runtime__V1__PodSandboxStatus *const *sandboxes, size_t ns,
                                     Runtime__V1__ContainerStatus *const *containers,
                                     const char *const *sandbox_ids, size_t nc);

void kl_pod_runtime_free(kl_pod_runtime *rt);

/* The newest container named name, or NULL. */
const kl_rt_container *kl_rt_find(const kl_pod_runtime *rt, const char *name);

/* The newest sandbox, or NULL. */
const kl_rt_sandbox *kl_rt_newest_sandbox(const kl_pod_runtime *rt);

/* Number of containers in the running state. */
size_t kl_rt_running(const kl_pod_runtime *rt);

/* The termination message of a container from its status: the host file
 * mounted at the path of the io.kubernetes.container.terminationMessagePath
 * annotation (at most 4096 bytes), or with policy FallbackToLogsOnError and
 * a non-zero exit, the last 80 lines (2048 bytes) of its log. Caller frees;
 * NULL when there is none. */
char *kl_termination_message(const Runtime__V1__ContainerStatus *st);

#endif
