/* runtime.c - CRI v1 RuntimeService calls (see runtime.h). */
#include "cri/runtime.h"

#include <string.h>

#include "cri/cri-internal.h"
#include "cri/msg.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* What the kubelet sends as VersionRequest.version. */
#define KUBELET_RUNTIME_API_VERSION "0.1.0"
#define V1ALPHA2_VERSION_METHOD "/runtime.v1alpha2.RuntimeService/Version"

/* c's timeout plus extra seconds, saturating. */
static int64_t timeout_plus(cri_conn *c, int64_t extra_s)
{
    int64_t base = cri_conn_timeout_ms(c);
    if (extra_s <= 0)
        return base;
    if (extra_s > (CRI_TIMEOUT_NONE - base) / 1000 - 1)
        return CRI_TIMEOUT_NONE;
    return base + extra_s * 1000;
}

static void move_error(kn_error **dst, kn_error *e)
{
    if (dst && !*dst)
        *dst = e;
    else
        kn_error_free(&e);
}

/* ---- version and status --------------------------------------------------------------- */

/* runtime.v1 is not implemented: ask v1alpha2 who is there, for a clear error. */
static int version_unsupported(cri_conn *c, const Runtime__V1__VersionRequest *req, kn_error *v1err,
                               kn_error **err)
{
    Runtime__V1__VersionResponse *old = NULL;
    kn_error *e = NULL;
    /* v1alpha2's Version messages are field-for-field the same as v1's */
    if (cri_call_into(c, V1ALPHA2_VERSION_METHOD, &req->base,
                      &runtime__v1__version_response__descriptor, CRI_TIMEOUT_DEFAULT, &old,
                      &e) < 0) {
        kn_error_free(&e);
        int r = -(int)kn_error_code(v1err);
        move_error(err, v1err);
        if (err)
            kn_error_wrap(err, "CRI runtime at %s does not implement CRI v1", cri_conn_endpoint(c));
        return r;
    }
    kn_error_free(&v1err);
    int r = kn_error_set(err, KN_ENOTSUP,
                         "CRI runtime at %s (%s %s) offers only CRI API %s; knode needs CRI %s "
                         "(runtime.v1, e.g. containerd >= 1.6)",
                         cri_conn_endpoint(c), old->runtime_name, old->runtime_version,
                         old->runtime_api_version, CRI_API_VERSION);
    cri_msg_free(old);
    return r;
}

int cri_runtime_version(cri_conn *c, Runtime__V1__VersionResponse **out, kn_error **err)
{
    Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
    req.version = KUBELET_RUNTIME_API_VERSION;
    Runtime__V1__VersionResponse *v = NULL;
    kn_error *e = NULL;
    int r = cri_call_into(c, CRI_RUNTIME_METHOD("Version"), &req.base,
                          &runtime__v1__version_response__descriptor, CRI_TIMEOUT_DEFAULT, &v, &e);
    if (r < 0) {
        if (kn_error_code(e) == KN_ENOTSUP)
            return version_unsupported(c, &req, e, err);
        move_error(err, e);
        return r;
    }
    if (strcmp(v->runtime_api_version, CRI_API_VERSION) != 0) {
        r = kn_error_set(err, KN_ENOTSUP,
                         "CRI runtime at %s (%s %s) reports API version %s; knode needs %s",
                         cri_conn_endpoint(c), v->runtime_name, v->runtime_version,
                         v->runtime_api_version, CRI_API_VERSION);
        cri_msg_free(v);
        return r;
    }
    *out = v;
    return 0;
}

int cri_runtime_status(cri_conn *c, bool verbose, Runtime__V1__StatusResponse **out, kn_error **err)
{
    Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
    req.verbose = verbose;
    return cri_call_into(c, CRI_RUNTIME_METHOD("Status"), &req.base,
                         &runtime__v1__status_response__descriptor, CRI_TIMEOUT_DEFAULT, out, err);
}

const Runtime__V1__RuntimeCondition *cri_runtime_condition(const Runtime__V1__StatusResponse *s,
                                                           const char *type)
{
    if (!s || !s->status)
        return NULL;
    for (size_t i = 0; i < s->status->n_conditions; i++)
        if (strcmp(s->status->conditions[i]->type, type) == 0)
            return s->status->conditions[i];
    return NULL;
}

int cri_runtime_update_config(cri_conn *c, const char *pod_cidr, kn_error **err)
{
    Runtime__V1__NetworkConfig net = RUNTIME__V1__NETWORK_CONFIG__INIT;
    net.pod_cidr = cri_str_arg(pod_cidr);
    Runtime__V1__RuntimeConfig rc = RUNTIME__V1__RUNTIME_CONFIG__INIT;
    rc.network_config = &net;
    Runtime__V1__UpdateRuntimeConfigRequest req = RUNTIME__V1__UPDATE_RUNTIME_CONFIG_REQUEST__INIT;
    req.runtime_config = &rc;
    return cri_call_into(c, CRI_RUNTIME_METHOD("UpdateRuntimeConfig"), &req.base,
                         &runtime__v1__update_runtime_config_response__descriptor,
                         CRI_TIMEOUT_DEFAULT, NULL, err);
}

/* ---- sandboxes ------------------------------------------------------------------------ */

int cri_runtime_run_sandbox(cri_conn *c, const Runtime__V1__PodSandboxConfig *config,
                            const char *runtime_handler, char **id, kn_error **err)
{
    Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
    req.config = (Runtime__V1__PodSandboxConfig *)config;
    req.runtime_handler = cri_str_arg(runtime_handler);
    Runtime__V1__RunPodSandboxResponse *resp;
    int r = cri_call_into(c, CRI_RUNTIME_METHOD("RunPodSandbox"), &req.base,
                          &runtime__v1__run_pod_sandbox_response__descriptor, CRI_TIMEOUT_DEFAULT,
                          &resp, err);
    if (r < 0)
        return r;
    *id = xstrdup(resp->pod_sandbox_id);
    cri_msg_free(resp);
    return 0;
}

int cri_runtime_stop_sandbox(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
    req.pod_sandbox_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("StopPodSandbox"), &req.base,
                         &runtime__v1__stop_pod_sandbox_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         NULL, err);
}

int cri_runtime_remove_sandbox(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
    req.pod_sandbox_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("RemovePodSandbox"), &req.base,
                         &runtime__v1__remove_pod_sandbox_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         NULL, err);
}

int cri_runtime_sandbox_status(cri_conn *c, const char *id, bool verbose,
                               Runtime__V1__PodSandboxStatusResponse **out, kn_error **err)
{
    Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
    req.pod_sandbox_id = cri_str_arg(id);
    req.verbose = verbose;
    return cri_call_into(c, CRI_RUNTIME_METHOD("PodSandboxStatus"), &req.base,
                         &runtime__v1__pod_sandbox_status_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         out, err);
}

int cri_runtime_list_sandboxes(cri_conn *c, const Runtime__V1__PodSandboxFilter *filter,
                               Runtime__V1__ListPodSandboxResponse **out, kn_error **err)
{
    Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
    req.filter = (Runtime__V1__PodSandboxFilter *)filter;
    return cri_call_into(c, CRI_RUNTIME_METHOD("ListPodSandbox"), &req.base,
                         &runtime__v1__list_pod_sandbox_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         out, err);
}

/* ---- containers --------------------------------------------------------------------- */

int cri_runtime_create_container(cri_conn *c, const char *sandbox_id,
                                 const Runtime__V1__ContainerConfig *config,
                                 const Runtime__V1__PodSandboxConfig *sandbox_config, char **id,
                                 kn_error **err)
{
    Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.pod_sandbox_id = cri_str_arg(sandbox_id);
    req.config = (Runtime__V1__ContainerConfig *)config;
    req.sandbox_config = (Runtime__V1__PodSandboxConfig *)sandbox_config;
    Runtime__V1__CreateContainerResponse *resp;
    int r = cri_call_into(c, CRI_RUNTIME_METHOD("CreateContainer"), &req.base,
                          &runtime__v1__create_container_response__descriptor, CRI_TIMEOUT_DEFAULT,
                          &resp, err);
    if (r < 0)
        return r;
    *id = xstrdup(resp->container_id);
    cri_msg_free(resp);
    return 0;
}

int cri_runtime_start_container(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("StartContainer"), &req.base,
                         &runtime__v1__start_container_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         NULL, err);
}

int cri_runtime_stop_container(cri_conn *c, const char *id, int64_t grace_s, kn_error **err)
{
    Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    req.timeout = grace_s > 0 ? grace_s : 0;
    return cri_call_into(c, CRI_RUNTIME_METHOD("StopContainer"), &req.base,
                         &runtime__v1__stop_container_response__descriptor,
                         timeout_plus(c, grace_s), NULL, err);
}

int cri_runtime_remove_container(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("RemoveContainer"), &req.base,
                         &runtime__v1__remove_container_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         NULL, err);
}

int cri_runtime_list_containers(cri_conn *c, const Runtime__V1__ContainerFilter *filter,
                                Runtime__V1__ListContainersResponse **out, kn_error **err)
{
    Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
    req.filter = (Runtime__V1__ContainerFilter *)filter;
    return cri_call_into(c, CRI_RUNTIME_METHOD("ListContainers"), &req.base,
                         &runtime__v1__list_containers_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         out, err);
}

int cri_runtime_container_status(cri_conn *c, const char *id, bool verbose,
                                 Runtime__V1__ContainerStatusResponse **out, kn_error **err)
{
    Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    req.verbose = verbose;
    return cri_call_into(c, CRI_RUNTIME_METHOD("ContainerStatus"), &req.base,
                         &runtime__v1__container_status_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         out, err);
}

int cri_runtime_update_container_resources(cri_conn *c, const char *id,
                                           const Runtime__V1__LinuxContainerResources *resources,
                                           kn_error **err)
{
    Runtime__V1__UpdateContainerResourcesRequest req =
        RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    req.linux = (Runtime__V1__LinuxContainerResources *)resources;
    return cri_call_into(c, CRI_RUNTIME_METHOD("UpdateContainerResources"), &req.base,
                         &runtime__v1__update_container_resources_response__descriptor,
                         CRI_TIMEOUT_DEFAULT, NULL, err);
}

int cri_runtime_reopen_container_log(cri_conn *c, const char *id, kn_error **err)
{
    Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("ReopenContainerLog"), &req.base,
                         &runtime__v1__reopen_container_log_response__descriptor,
                         CRI_TIMEOUT_DEFAULT, NULL, err);
}

/* ---- exec, attach, port-forward ------------------------------------------------------ */

int cri_runtime_exec_sync(cri_conn *c, const char *id, char *const argv[], int64_t timeout_s,
                          Runtime__V1__ExecSyncResponse **out, kn_error **err)
{
    Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    req.cmd = (char **)argv;
    while (argv && argv[req.n_cmd])
        req.n_cmd++;
    req.timeout = timeout_s > 0 ? timeout_s : 0;
    /* the kubelet: no deadline without a command timeout, else timeout + its default */
    int64_t deadline = timeout_s > 0 ? timeout_plus(c, timeout_s) : CRI_TIMEOUT_NONE;
    return cri_call_into(c, CRI_RUNTIME_METHOD("ExecSync"), &req.base,
                         &runtime__v1__exec_sync_response__descriptor, deadline, out, err);
}

/* The url of an Exec/Attach/PortForward reply, moved to *url. */
static int take_url(int r, ProtobufCMessage *resp, char **url)
{
    if (r < 0)
        return r;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(resp->descriptor, 1);
    *url = xstrdup(*(char **)((char *)resp + f->offset));
    cri_msg_free(resp);
    return 0;
}

int cri_runtime_exec(cri_conn *c, const Runtime__V1__ExecRequest *req, char **url, kn_error **err)
{
    ProtobufCMessage *resp = NULL;
    int r = cri_call_into(c, CRI_RUNTIME_METHOD("Exec"), &req->base,
                          &runtime__v1__exec_response__descriptor, CRI_TIMEOUT_DEFAULT, &resp, err);
    return take_url(r, resp, url);
}

int cri_runtime_attach(cri_conn *c, const Runtime__V1__AttachRequest *req, char **url,
                       kn_error **err)
{
    ProtobufCMessage *resp = NULL;
    int r =
        cri_call_into(c, CRI_RUNTIME_METHOD("Attach"), &req->base,
                      &runtime__v1__attach_response__descriptor, CRI_TIMEOUT_DEFAULT, &resp, err);
    return take_url(r, resp, url);
}

int cri_runtime_port_forward(cri_conn *c, const char *sandbox_id, const int32_t *ports,
                             size_t nports, char **url, kn_error **err)
{
    Runtime__V1__PortForwardRequest req = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
    req.pod_sandbox_id = cri_str_arg(sandbox_id);
    req.port = (int32_t *)ports;
    req.n_port = nports;
    ProtobufCMessage *resp = NULL;
    int r = cri_call_into(c, CRI_RUNTIME_METHOD("PortForward"), &req.base,
                          &runtime__v1__port_forward_response__descriptor, CRI_TIMEOUT_DEFAULT,
                          &resp, err);
    return take_url(r, resp, url);
}

/* ---- stats ---------------------------------------------------------------------------- */

int cri_runtime_container_stats(cri_conn *c, const char *id,
                                Runtime__V1__ContainerStatsResponse **out, kn_error **err)
{
    Runtime__V1__ContainerStatsRequest req = RUNTIME__V1__CONTAINER_STATS_REQUEST__INIT;
    req.container_id = cri_str_arg(id);
    return cri_call_into(c, CRI_RUNTIME_METHOD("ContainerStats"), &req.base,
                         &runtime__v1__container_stats_response__descriptor, CRI_TIMEOUT_DEFAULT,
                         out, err);
}

int cri_runtime_list_container_stats(cri_conn *c, const Runtime__V1__ContainerStatsFilter *filter,
                                     Runtime__V1__ListContainerStatsResponse **out, kn_error **err)
{
    Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
    req.filter = (Runtime__V1__ContainerStatsFilter *)filter;
    return cri_call_into(c, CRI_RUNTIME_METHOD("ListContainerStats"), &req.base,
                         &runtime__v1__list_container_stats_response__descriptor,
                         CRI_TIMEOUT_DEFAULT, out, err);
}

/* ---- container events ------------------------------------------------------------------ */

int cri_runtime_events_open(cri_conn *c, cri_stream **out, kn_error **err)
{
    Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
    return cri_stream_open(c, CRI_RUNTIME_METHOD("GetContainerEvents"), &req.base,
                           &runtime__v1__container_event_response__descriptor, CRI_TIMEOUT_NONE,
                           out, err);
}

int cri_runtime_events_run(cri_stream *s, cri_event_cb cb, void *arg, kn_error **err)
{
    for (;;) {
        ProtobufCMessage *m = NULL;
        int r = cri_stream_next(s, &m, err);
        if (r <= 0)
            return r;
        int stop = cb((const Runtime__V1__ContainerEventResponse *)m, arg);
        cri_msg_free(m);
        if (stop)
            return 0;
    }
}
