/* fuzz-cri-reply.c - CRI reply decoding and checks (cri/reply.h) on
 * arbitrary bytes.
 *
 * Each input is decoded as every reply type knode reads. Whatever decodes
 * must (1) hold the fields the checks promise, so callers may dereference
 * them, (2) survive map lookups, and (3) pack to its computed size. Corpus: replies captured from
 * containerd 1.6 (test-cri.c with KNODE_CRI_CAPTURE) plus hand-made edge cases. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri/api.pb-c.h"
#include "cri/msg.h"
#include "cri/reply.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &runtime__v1__version_response__descriptor,
    &runtime__v1__status_response__descriptor,
    &runtime__v1__run_pod_sandbox_response__descriptor,
    &runtime__v1__pod_sandbox_status_response__descriptor,
    &runtime__v1__list_pod_sandbox_response__descriptor,
    &runtime__v1__create_container_response__descriptor,
    &runtime__v1__list_containers_response__descriptor,
    &runtime__v1__container_status_response__descriptor,
    &runtime__v1__exec_sync_response__descriptor,
    &runtime__v1__exec_response__descriptor,
    &runtime__v1__container_stats_response__descriptor,
    &runtime__v1__list_container_stats_response__descriptor,
    &runtime__v1__container_event_response__descriptor,
    &runtime__v1__list_images_response__descriptor,
    &runtime__v1__image_status_response__descriptor,
    &runtime__v1__pull_image_response__descriptor,
    &runtime__v1__image_fs_info_response__descriptor,
};

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The promises of cri_reply_check for the types with requirements. */
static void check_promises(const ProtobufCMessage *m)
{
    if (m->descriptor == &runtime__v1__container_status_response__descriptor) {
        const Runtime__V1__ContainerStatusResponse *r = (const void *)m;
        REQUIRE(r->status && r->status->id[0] && r->status->metadata);
        REQUIRE(r->status->metadata->name[0] && r->status->image && r->status->image->image[0]);
        REQUIRE(r->status->image_ref[0] && r->status->created_at != 0);
        (void)cri_map_get(r->status, "labels", "io.kubernetes.container.name");
        (void)cri_map_get(r, "info", "info");
    } else if (m->descriptor == &runtime__v1__pod_sandbox_status_response__descriptor) {
        const Runtime__V1__PodSandboxStatusResponse *r = (const void *)m;
        REQUIRE(r->status && r->status->id[0] && r->status->metadata);
        REQUIRE(r->status->metadata->uid[0] && r->status->metadata->namespace_[0]);
        (void)cri_map_get(r->status, "annotations", "kubernetes.io/config.source");
    } else if (m->descriptor == &runtime__v1__list_containers_response__descriptor) {
        const Runtime__V1__ListContainersResponse *r = (const void *)m;
        for (size_t i = 0; i < r->n_containers; i++)
            REQUIRE(r->containers[i]->id[0] && r->containers[i]->metadata);
    } else if (m->descriptor == &runtime__v1__status_response__descriptor) {
        const Runtime__V1__StatusResponse *r = (const void *)m;
        REQUIRE(r->status && r->status->n_conditions >= 2);
    } else if (m->descriptor == &runtime__v1__run_pod_sandbox_response__descriptor) {
        REQUIRE(((const Runtime__V1__RunPodSandboxResponse *)m)->pod_sandbox_id[0]);
    } else if (m->descriptor == &runtime__v1__container_stats_response__descriptor) {
        const Runtime__V1__ContainerStatsResponse *r = (const void *)m;
        REQUIRE(r->stats && r->stats->attributes && r->stats->attributes->id[0]);
    }
}

/* What was decoded must pack to exactly its computed size, and decoding that
 * again gives the same size. (A re-decode may fail: protobuf-c keeps an
 * unknown field numbered 0 when its tag is encoded in more bytes than needed,
 * but rejects the shortest encoding of it, which is what it packs.) */
static void check_roundtrip(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    REQUIRE(buf);
    REQUIRE(protobuf_c_message_pack(m, buf) == len);
    ProtobufCMessage *again = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    if (again) {
        REQUIRE(protobuf_c_message_get_packed_size(again) == len);
        protobuf_c_message_free_unpacked(again, NULL);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        ProtobufCMessage *m = NULL;
        kn_error *err = NULL;
        if (cri_reply_decode(types[i], data, size, &m, &err) < 0) {
            REQUIRE(err && kn_error_code(err) == KN_EIO && !m);
            kn_error_free(&err);
            continue;
        }
        check_promises(m);
        check_roundtrip(m);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return 0;
}
