/* runtime.h - the CRI v1 RuntimeService, one function per RPC.
 *
 * Conventions for every function here:
 * - c is a connection from cri_conn_new() (cri/grpc.h); calls are
 *   thread-safe and use c's default deadline unless stated otherwise (the
 *   kubelet's rules: StopContainer and ExecSync add their own timeout to it).
 * - Requests are borrowed protobuf-c structs (see cri/msg.h for building
 *   them); a NULL filter means "no filter".
 * - A reply returned through Runtime__V1__...Response **out is owned by the
 *   caller, who frees it with cri_msg_free(). Returned strings (ids, URLs)
 *   are owned by the caller and freed with free().
 * - Replies are checked (cri/reply.h) before they are returned: e.g. a
 *   container status always has id, metadata.name, created_at, image and
 *   image_ref; a malformed reply is a KN_EIO error.
 * - Errors carry the gRPC method and status details; codes follow
 *   cri_status_to_code(): KN_ENOTFOUND for an unknown id, KN_EUNAVAILABLE
 *   when the runtime is not listening, KN_ETIMEDOUT past the deadline. */
#ifndef KNODE_CRI_RUNTIME_H
#define KNODE_CRI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri/api.pb-c.h"
#include "cri/grpc.h"
#include "lib/error.h"

/* The runtime API version knode requires (VersionResponse.runtime_api_version). */
#define CRI_API_VERSION "v1"

/* Version. Fails with KN_ENOTSUP and a clear message when the runtime does
 * not speak runtime.v1 (e.g. it offers only v1alpha2: the message then names
 * the runtime and its version) or reports an API version other than "v1". */
int cri_runtime_version(cri_conn *c, Runtime__V1__VersionResponse **out, kn_error **err);

/* Status. The reply has at least two conditions (RuntimeReady and
 * NetworkReady, as the kubelet requires). */
int cri_runtime_status(cri_conn *c, bool verbose, Runtime__V1__StatusResponse **out,
                       kn_error **err);

/* The condition named type ("RuntimeReady", "NetworkReady") in s, or NULL. */
const Runtime__V1__RuntimeCondition *cri_runtime_condition(const Runtime__V1__StatusResponse *s,
                                                           const char *type);

/* UpdateRuntimeConfig with the node's pod CIDR. */
int cri_runtime_update_config(cri_conn *c, const char *pod_cidr, kn_error **err);

/* RunPodSandbox. runtime_handler NULL or "" selects the default handler.
 * *id (non-empty) is owned by the caller. */
int cri_runtime_run_sandbox(cri_conn *c, const Runtime__V1__PodSandboxConfig *config,
                            const char *runtime_handler, char **id, kn_error **err);

/* StopPodSandbox: idempotent in the runtime. */
int cri_runtime_stop_sandbox(cri_conn *c, const char *id, kn_error **err);

/* RemovePodSandbox: idempotent in the runtime. */
int cri_runtime_remove_sandbox(cri_conn *c, const char *id, kn_error **err);

/* PodSandboxStatus. (*out)->status is set, with id, metadata
 * (name/namespace/uid) and created_at. */
int cri_runtime_sandbox_status(cri_conn *c, const char *id, bool verbose,
                               Runtime__V1__PodSandboxStatusResponse **out, kn_error **err);

/* ListPodSandbox; every item has an id and metadata. */
int cri_runtime_list_sandboxes(cri_conn *c, const Runtime__V1__PodSandboxFilter *filter,
                               Runtime__V1__ListPodSandboxResponse **out, kn_error **err);

/* CreateContainer in sandbox_id; sandbox_config is the config the sandbox
 * was run with. *id is owned by the caller. */
int cri_runtime_create_container(cri_conn *c, const char *sandbox_id,
                                 const Runtime__V1__ContainerConfig *config,
                                 const Runtime__V1__PodSandboxConfig *sandbox_config, char **id,
                                 kn_error **err);

/* StartContainer. */
int cri_runtime_start_container(cri_conn *c, const char *id, kn_error **err);

/* StopContainer with a grace period of grace_s seconds (0: kill at once);
 * the deadline is c's timeout plus the grace period. */
int cri_runtime_stop_container(cri_conn *c, const char *id, int64_t grace_s, kn_error **err);

/* RemoveContainer: idempotent in the runtime. */
int cri_runtime_remove_container(cri_conn *c, const char *id, kn_error **err);

/* ListContainers; every item has id, pod_sandbox_id and metadata. */
int cri_runtime_list_containers(cri_conn *c, const Runtime__V1__ContainerFilter *filter,
                                Runtime__V1__ListContainersResponse **out, kn_error **err);

/* ContainerStatus; see the checks above. */
int cri_runtime_container_status(cri_conn *c, const char *id, bool verbose,
                                 Runtime__V1__ContainerStatusResponse **out, kn_error **err);

/* UpdateContainerResources (Linux resources). */
int cri_runtime_update_container_resources(cri_conn *c, const char *id,
                                           const Runtime__V1__LinuxContainerResources *resources,
                                           kn_error **err);

/* ReopenContainerLog (after the log file was rotated). */
int cri_runtime_reopen_container_log(cri_conn *c, const char *id, kn_error **err);

/* ExecSync: runs argv (NULL-terminated) in container id. timeout_s > 0 lets
 * the runtime kill the command after that many seconds and makes the
 * deadline c's timeout plus timeout_s; 0 means no timeout at all (as the
 * kubelet). A non-zero exit code is not an error: see (*out)->exit_code,
 * ->stdout and ->stderr (bytes, not NUL-terminated). */
int cri_runtime_exec_sync(cri_conn *c, const char *id, char *const argv[], int64_t timeout_s,
                          Runtime__V1__ExecSyncResponse **out, kn_error **err);

/* Exec: prepares a streaming exec session; *url (owned) is where to connect. */
int cri_runtime_exec(cri_conn *c, const Runtime__V1__ExecRequest *req, char **url, kn_error **err);

/* Attach: prepares a streaming attach session; *url is owned by the caller. */
int cri_runtime_attach(cri_conn *c, const Runtime__V1__AttachRequest *req, char **url,
                       kn_error **err);

/* PortForward for sandbox_id and ports; *url is owned by the caller. */
int cri_runtime_port_forward(cri_conn *c, const char *sandbox_id, const int32_t *ports,
                             size_t nports, char **url, kn_error **err);

/* ContainerStats; (*out)->stats->attributes->id is set. */
int cri_runtime_container_stats(cri_conn *c, const char *id,
                                Runtime__V1__ContainerStatsResponse **out, kn_error **err);

/* ListContainerStats. */
int cri_runtime_list_container_stats(cri_conn *c, const Runtime__V1__ContainerStatsFilter *filter,
                                     Runtime__V1__ListContainerStatsResponse **out, kn_error **err);

/* GetContainerEvents (server streaming, no deadline). Open the stream, then
 * hand it to cri_runtime_events_run() in the thread that should receive the
 * events; cancel it from any thread with cri_stream_cancel() and release it
 * with cri_stream_free() once run has returned. */
int cri_runtime_events_open(cri_conn *c, cri_stream **out, kn_error **err);

/* Called for each event; ev is borrowed for the call. Return non-zero to stop. */
typedef int (*cri_event_cb)(const Runtime__V1__ContainerEventResponse *ev, void *arg);

/* Delivers events to cb until cb returns non-zero or the runtime ends the
 * stream (both return 0), or an error: KN_ECANCELED after
 * cri_stream_cancel(), KN_ENOTSUP if the runtime lacks GetContainerEvents
 * (containerd before 1.7). */
int cri_runtime_events_run(cri_stream *s, cri_event_cb cb, void *arg, kn_error **err);

#endif
