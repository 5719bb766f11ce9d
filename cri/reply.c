/* reply.c - unpack and check CRI replies (see reply.h). The checks follow
 * upstream cri-client's verifySandboxStatus/verifyContainerStatus and the
 * per-call checks of its remote runtime and image services. */
#include "cri/reply.h"

#include <stdbool.h>

#include "cri/api.pb-c.h"
#include "lib/cleanup.h"

typedef int (*check_fn)(const ProtobufCMessage *m, kn_error **err);

static bool unset(const char *s)
{
    return !s || !*s;
}

static int missing(kn_error **err, const ProtobufCMessage *m, const char *what)
{
    return kn_error_set(err, KN_EIO, "%s: %s is not set", m->descriptor->short_name, what);
}

static int missing_at(kn_error **err, const ProtobufCMessage *m, const char *list, size_t i,
                      const char *what)
{
    return kn_error_set(err, KN_EIO, "%s: %s[%zu]: %s is not set", m->descriptor->short_name, list,
                        i, what);
}

static int check_version(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__VersionResponse *r = (const void *)m;
    if (unset(r->runtime_name))
        return missing(err, m, "runtime_name");
    if (unset(r->runtime_api_version))
        return missing(err, m, "runtime_api_version");
    return 0;
}

static int check_status(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__StatusResponse *r = (const void *)m;
    /* the kubelet needs at least RuntimeReady and NetworkReady */
    if (!r->status || r->status->n_conditions < 2)
        return missing(err, m, "RuntimeReady or NetworkReady condition");
    for (size_t i = 0; i < r->status->n_conditions; i++)
        if (unset(r->status->conditions[i]->type))
            return missing_at(err, m, "conditions", i, "type");
    return 0;
}

static int check_run_sandbox(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__RunPodSandboxResponse *r = (const void *)m;
    return unset(r->pod_sandbox_id) ? missing(err, m, "pod_sandbox_id") : 0;
}

/* A sandbox status must identify the pod: id, metadata name/namespace/uid,
 * created_at. */
static const char *sandbox_status_gap(const Runtime__V1__PodSandboxStatus *s)
{
    if (unset(s->id))
        return "status.id";
    if (!s->metadata)
        return "status.metadata";
    if (unset(s->metadata->name) || unset(s->metadata->namespace_) || unset(s->metadata->uid))
        return "status.metadata name, namespace or uid";
    if (s->created_at == 0)
        return "status.created_at";
    return NULL;
}

/* A container status must have id, metadata.name, created_at, image and
 * image_ref. */
static const char *container_status_gap(const Runtime__V1__ContainerStatus *s)
{
    if (unset(s->id))
        return "status.id";
    if (!s->metadata || unset(s->metadata->name))
        return "status.metadata.name";
    if (s->created_at == 0)
        return "status.created_at";
    if (!s->image || unset(s->image->image))
        return "status.image";
    if (unset(s->image_ref))
        return "status.image_ref";
    return NULL;
}

static int check_sandbox_status(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__PodSandboxStatusResponse *r = (const void *)m;
    if (!r->status)
        return missing(err, m, "status");
    const char *gap = sandbox_status_gap(r->status);
    if (gap)
        return missing(err, m, gap);
    for (size_t i = 0; i < r->n_containers_statuses; i++)
        if ((gap = container_status_gap(r->containers_statuses[i])))
            return missing_at(err, m, "containers_statuses", i, gap);
    return 0;
}

static int check_list_sandbox(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ListPodSandboxResponse *r = (const void *)m;
    for (size_t i = 0; i < r->n_items; i++) {
        if (unset(r->items[i]->id))
            return missing_at(err, m, "items", i, "id");
        if (!r->items[i]->metadata)
            return missing_at(err, m, "items", i, "metadata");
    }
    return 0;
}

static int check_create_container(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__CreateContainerResponse *r = (const void *)m;
    return unset(r->container_id) ? missing(err, m, "container_id") : 0;
}

static int check_list_containers(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ListContainersResponse *r = (const void *)m;
    for (size_t i = 0; i < r->n_containers; i++) {
        const Runtime__V1__Container *c = r->containers[i];
        if (unset(c->id))
            return missing_at(err, m, "containers", i, "id");
        if (unset(c->pod_sandbox_id))
            return missing_at(err, m, "containers", i, "pod_sandbox_id");
        if (!c->metadata)
            return missing_at(err, m, "containers", i, "metadata");
    }
    return 0;
}

static int check_container_status(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ContainerStatusResponse *r = (const void *)m;
    if (!r->status)
        return missing(err, m, "status");
    const char *gap = container_status_gap(r->status);
    return gap ? missing(err, m, gap) : 0;
}

static int check_url(const ProtobufCMessage *m, kn_error **err)
{
    /* ExecResponse, AttachResponse and PortForwardResponse: string url = 1 */
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(m->descriptor, 1);
    const char *url = *(const char *const *)((const char *)m + f->offset);
    return unset(url) ? missing(err, m, "url") : 0;
}

static const char *stats_gap(const Runtime__V1__ContainerStats *s)
{
    if (!s->attributes || unset(s->attributes->id))
        return "attributes.id";
    return NULL;
}

static int check_container_stats(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ContainerStatsResponse *r = (const void *)m;
    if (!r->stats)
        return missing(err, m, "stats");
    const char *gap = stats_gap(r->stats);
    return gap ? missing(err, m, gap) : 0;
}

static int check_list_stats(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ListContainerStatsResponse *r = (const void *)m;
    for (size_t i = 0; i < r->n_stats; i++) {
        const char *gap = stats_gap(r->stats[i]);
        if (gap)
            return missing_at(err, m, "stats", i, gap);
    }
    return 0;
}

static int check_event(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ContainerEventResponse *r = (const void *)m;
    return unset(r->container_id) ? missing(err, m, "container_id") : 0;
}

static int check_list_images(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ListImagesResponse *r = (const void *)m;
    for (size_t i = 0; i < r->n_images; i++)
        if (unset(r->images[i]->id))
            return missing_at(err, m, "images", i, "id");
    return 0;
}

static int check_image_status(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__ImageStatusResponse *r = (const void *)m;
    /* no image means "not present", which is a valid answer */
    if (r->image && (unset(r->image->id) || r->image->size == 0))
        return missing(err, m, "image id or size");
    return 0;
}

static int check_pull_image(const ProtobufCMessage *m, kn_error **err)
{
    const Runtime__V1__PullImageResponse *r = (const void *)m;
    return unset(r->image_ref) ? missing(err, m, "image_ref") : 0;
}

static const struct {
    const ProtobufCMessageDescriptor *desc;
    check_fn check;
} checks[] = {
    {&runtime__v1__version_response__descriptor, check_version},
    {&runtime__v1__status_response__descriptor, check_status},
    {&runtime__v1__run_pod_sandbox_response__descriptor, check_run_sandbox},
    {&runtime__v1__pod_sandbox_status_response__descriptor, check_sandbox_status},
    {&runtime__v1__list_pod_sandbox_response__descriptor, check_list_sandbox},
    {&runtime__v1__create_container_response__descriptor, check_create_container},
    {&runtime__v1__list_containers_response__descriptor, check_list_containers},
    {&runtime__v1__container_status_response__descriptor, check_container_status},
    {&runtime__v1__exec_response__descriptor, check_url},
    {&runtime__v1__attach_response__descriptor, check_url},
    {&runtime__v1__port_forward_response__descriptor, check_url},
    {&runtime__v1__container_stats_response__descriptor, check_container_stats},
    {&runtime__v1__list_container_stats_response__descriptor, check_list_stats},
    {&runtime__v1__container_event_response__descriptor, check_event},
    {&runtime__v1__list_images_response__descriptor, check_list_images},
    {&runtime__v1__image_status_response__descriptor, check_image_status},
    {&runtime__v1__pull_image_response__descriptor, check_pull_image},
};

int cri_reply_check(const ProtobufCMessage *msg, kn_error **err)
{
    for (size_t i = 0; i < KN_ARRAY_SIZE(checks); i++)
        if (checks[i].desc == msg->descriptor)
            return checks[i].check(msg, err);
    return 0;
}

int cri_reply_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                     ProtobufCMessage **out, kn_error **err)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, buf);
    if (!m)
        return kn_error_set(err, KN_EIO, "malformed %s reply (%zu bytes)", desc->short_name, len);
    int r = cri_reply_check(m, err);
    if (r < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
    }
    *out = m;
    return 0;
}
