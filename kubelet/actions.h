/* actions.h - what a sync must do to bring a pod's runtime state to its spec
 * (upstream computePodActions), as a pure function of the two:
 *
 * - A new sandbox when there is none, the newest is not ready, more than one
 *   is ready, its network namespace mode changed, or it has no IP (non
 *   hostNetwork): then everything is killed and started again (the attempt
 *   counts up), except for a pod that will not restart and has run before.
 * - Init containers one at a time in order; a failed one is restarted unless
 *   restartPolicy is Never (then the pod is killed); app containers wait
 *   until all have succeeded.
 * - App containers that do not run are started when ShouldContainerBeRestarted
 *   (never after deletion; created/unknown always; exited per restartPolicy:
 *   Always, OnFailure on a non-zero exit, Never not); running containers
 *   whose hash differs from the spec are killed and started again; a
 *   container in unknown state is killed before its restart.
 * - When nothing runs and nothing is to be started, the pod is killed.
 *
 * Backoff (CrashLoopBackOff) is not decided here: the executor checks it
 * per container before starting. */
#ifndef KNODE_KUBELET_ACTIONS_H
#define KNODE_KUBELET_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kubelet/podspec.h"
#include "kubelet/runtime_state.h"

typedef struct kl_kill {
    const kl_rt_container *c; /* borrowed from the runtime state */
    const kl_container *spec; /* the container's spec, NULL when gone */
    char *message;            /* why ("Container app definition changed, will be restarted") */
} kl_kill;

typedef struct kl_pod_actions {
    bool kill_pod; /* stop every container and the sandbox(es) */
    bool create_sandbox;
    const char *sandbox_id; /* the sandbox to use or kill (borrowed), NULL if none */
    uint32_t attempt;       /* of the sandbox to create */
    int next_init;          /* index of the init container to start, -1: none */
    size_t *start;          /* indexes of app containers to start */
    size_t n_start;
    kl_kill *kill; /* containers to kill (not with kill_pod) */
    size_t n_kill;
} kl_pod_actions;

/* Fills *out (zero it first); release with kl_pod_actions_clear. */
void kl_compute_pod_actions(const kl_pod *pod, const kl_pod_runtime *rt, kl_pod_actions *out);

void kl_pod_actions_clear(kl_pod_actions *a);

/* upstream ShouldContainerBeRestarted. */
bool kl_should_restart(const kl_container *c, const kl_pod *pod, const kl_pod_runtime *rt);

/* upstream podSandboxChanged: true when a new sandbox is needed; *attempt
 * and *sandbox_id (borrowed) describe the newest one. */
bool kl_sandbox_changed(const kl_pod *pod, const kl_pod_runtime *rt, uint32_t *attempt,
                        const char **sandbox_id);

/* upstream findNextInitContainerToRun: *done when every init container has
 * succeeded (or an app container runs); else *next is the index to start
 * (-1: wait) and *failed says the last one failed. */
void kl_next_init(const kl_pod *pod, const kl_pod_runtime *rt, bool *done, int *next, bool *failed);

#endif
