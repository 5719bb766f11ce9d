/* test-reply.c - decoding and checking of CRI replies (cri/reply.h). */
#include <string.h>

#include "cri/api.pb-c.h"
#include "cri/msg.h"
#include "cri/reply.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

/* Packs msg and decodes it again through cri_reply_decode. */
static int roundtrip(const void *msg, ProtobufCMessage **out, kn_error **err)
{
    const ProtobufCMessage *m = msg;
    size_t len = protobuf_c_message_get_packed_size(m);
    cleanup_free uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(m, buf);
    return cri_reply_decode(m->descriptor, buf, len, out, err);
}

static void accepted(const void *msg)
{
    kn_error *err = NULL;
    ProtobufCMessage *out = NULL;
    KT_ASSERT_OK(roundtrip(msg, &out, &err), err);
    KT_ASSERT(out && out->descriptor == ((const ProtobufCMessage *)msg)->descriptor);
    cri_msg_free(out);
}

static void rejected(const void *msg, const char *why)
{
    kn_error *err = NULL;
    ProtobufCMessage *out = NULL;
    KT_ASSERT_FAILS(roundtrip(msg, &out, &err));
    KT_ASSERT(out == NULL);
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), why);
    kn_error_free(&err);
}

KT_TEST(cri_reply, malformed_bytes)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\x0a\x05"
         "ab",
         4},                                                      /* string longer than the input */
        {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12}, /* varint over 10 bytes */
        {"\x0a\xff\xff\xff\xff\x0f", 6},                          /* length past the end */
        {"\x0b", 1},                                              /* start-group wire type */
        {"\x0a", 1},                                              /* tag without length */
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(bad); i++) {
        kn_error *err = NULL;
        ProtobufCMessage *out = NULL;
        KT_ASSERT_FAILS(cri_reply_decode(&runtime__v1__run_pod_sandbox_response__descriptor,
                                         (const uint8_t *)bad[i].bytes, bad[i].len, &out, &err));
        KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
        KT_ASSERT_CONTAINS(kn_error_msg(err), "malformed RunPodSandboxResponse reply");
        kn_error_free(&err);
    }
}

KT_TEST(cri_reply, ids_and_urls_required)
{
    Runtime__V1__RunPodSandboxResponse run = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
    rejected(&run, "RunPodSandboxResponse: pod_sandbox_id is not set");
    run.pod_sandbox_id = "4f0a";
    accepted(&run);

    Runtime__V1__CreateContainerResponse cc = RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT;
    rejected(&cc, "container_id is not set");
    cc.container_id = "c1";
    accepted(&cc);

    Runtime__V1__PullImageResponse pull = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
    rejected(&pull, "image_ref is not set");
    pull.image_ref = "sha256:0123";
    accepted(&pull);

    Runtime__V1__ExecResponse ex = RUNTIME__V1__EXEC_RESPONSE__INIT;
    rejected(&ex, "ExecResponse: url is not set");
    Runtime__V1__AttachResponse at = RUNTIME__V1__ATTACH_RESPONSE__INIT;
    rejected(&at, "AttachResponse: url is not set");
    Runtime__V1__PortForwardResponse pf = RUNTIME__V1__PORT_FORWARD_RESPONSE__INIT;
    pf.url = "http://127.0.0.1:10010/portforward/x";
    accepted(&pf);

    Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
    rejected(&ev, "container_id is not set");

    /* replies with nothing required pass even when empty */
    Runtime__V1__ExecSyncResponse es = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
    accepted(&es);
    Runtime__V1__StopPodSandboxResponse stop = RUNTIME__V1__STOP_POD_SANDBOX_RESPONSE__INIT;
    accepted(&stop);
}

KT_TEST(cri_reply, version_and_status)
{
    Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
    v.runtime_name = "containerd";
    rejected(&v, "runtime_api_version is not set");
    v.runtime_api_version = "v1";
    accepted(&v);

    Runtime__V1__StatusResponse st = RUNTIME__V1__STATUS_RESPONSE__INIT;
    rejected(&st, "RuntimeReady or NetworkReady condition");
    Runtime__V1__RuntimeStatus rs = RUNTIME__V1__RUNTIME_STATUS__INIT;
    Runtime__V1__RuntimeCondition c1 = RUNTIME__V1__RUNTIME_CONDITION__INIT;
    Runtime__V1__RuntimeCondition c2 = RUNTIME__V1__RUNTIME_CONDITION__INIT;
    Runtime__V1__RuntimeCondition *conds[] = {&c1, &c2};
    c1.type = "RuntimeReady";
    c1.status = 1;
    rs.conditions = conds;
    rs.n_conditions = 1;
    st.status = &rs;
    rejected(&st, "RuntimeReady or NetworkReady condition");
    rs.n_conditions = 2;
    rejected(&st, "conditions[1]: type is not set");
    c2.type = "NetworkReady";
    accepted(&st);
}

static Runtime__V1__ContainerStatus *container_status(void)
{
    Runtime__V1__ContainerStatus *s = cri_msg_new(&runtime__v1__container_status__descriptor);
    cri_str_set(&s->id, "c1");
    s->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
    cri_str_set(&s->metadata->name, "app");
    s->created_at = 1700000000000000000;
    s->image = cri_msg_new(&runtime__v1__image_spec__descriptor);
    cri_str_set(&s->image->image, "localhost/busybox:1.35");
    cri_str_set(&s->image_ref, "sha256:0123");
    return s;
}

KT_TEST(cri_reply, container_status_fields)
{
    Runtime__V1__ContainerStatusResponse *r =
        cri_msg_new(&runtime__v1__container_status_response__descriptor);
    rejected(r, "ContainerStatusResponse: status is not set");
    r->status = container_status();
    accepted(r);
    r->status->created_at = 0;
    rejected(r, "status.created_at is not set");
    r->status->created_at = 1;
    cri_str_set(&r->status->image_ref, "");
    rejected(r, "status.image_ref is not set");
    cri_str_set(&r->status->image_ref, "sha256:0123");
    cri_str_set(&r->status->image->image, "");
    rejected(r, "status.image is not set");
    cri_msg_free(r->status->image);
    r->status->image = NULL;
    rejected(r, "status.image is not set");
    cri_msg_free(r->status->metadata);
    r->status->metadata = NULL;
    rejected(r, "status.metadata.name is not set");
    cri_str_set(&r->status->id, "");
    rejected(r, "status.id is not set");
    cri_msg_free(r);
}

KT_TEST(cri_reply, sandbox_status_fields)
{
    Runtime__V1__PodSandboxStatusResponse *r =
        cri_msg_new(&runtime__v1__pod_sandbox_status_response__descriptor);
    rejected(r, "status is not set");
    r->status = cri_msg_new(&runtime__v1__pod_sandbox_status__descriptor);
    cri_str_set(&r->status->id, "s1");
    rejected(r, "status.metadata is not set");
    r->status->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    cri_str_set(&r->status->metadata->name, "web");
    cri_str_set(&r->status->metadata->namespace_, "default");
    rejected(r, "status.metadata name, namespace or uid is not set");
    cri_str_set(&r->status->metadata->uid, "u-1");
    rejected(r, "status.created_at is not set");
    r->status->created_at = 5;
    accepted(r);
    /* the container statuses inside are held to the container rules */
    r->containers_statuses = xcalloc(1, sizeof(*r->containers_statuses));
    r->containers_statuses[r->n_containers_statuses++] = container_status();
    accepted(r);
    cri_str_set(&r->containers_statuses[0]->image_ref, "");
    rejected(r, "containers_statuses[0]: status.image_ref is not set");
    cri_msg_free(r);
}

KT_TEST(cri_reply, lists)
{
    Runtime__V1__ListContainersResponse *l =
        cri_msg_new(&runtime__v1__list_containers_response__descriptor);
    accepted(l); /* empty is fine */
    l->containers = xcalloc(2, sizeof(*l->containers));
    for (int i = 0; i < 2; i++) {
        Runtime__V1__Container *c = cri_msg_new(&runtime__v1__container__descriptor);
        cri_str_set(&c->id, i ? "c2" : "c1");
        cri_str_set(&c->pod_sandbox_id, "s1");
        c->metadata = cri_msg_new(&runtime__v1__container_metadata__descriptor);
        l->containers[l->n_containers++] = c;
    }
    accepted(l);
    cri_str_set(&l->containers[1]->pod_sandbox_id, "");
    rejected(l, "containers[1]: pod_sandbox_id is not set");
    cri_msg_free(l);

    Runtime__V1__ListPodSandboxResponse *ps =
        cri_msg_new(&runtime__v1__list_pod_sandbox_response__descriptor);
    ps->items = xcalloc(1, sizeof(*ps->items));
    ps->items[ps->n_items++] = cri_msg_new(&runtime__v1__pod_sandbox__descriptor);
    rejected(ps, "items[0]: id is not set");
    cri_str_set(&ps->items[0]->id, "s1");
    rejected(ps, "items[0]: metadata is not set");
    ps->items[0]->metadata = cri_msg_new(&runtime__v1__pod_sandbox_metadata__descriptor);
    accepted(ps);
    cri_msg_free(ps);

    Runtime__V1__ListImagesResponse *im =
        cri_msg_new(&runtime__v1__list_images_response__descriptor);
    im->images = xcalloc(1, sizeof(*im->images));
    im->images[im->n_images++] = cri_msg_new(&runtime__v1__image__descriptor);
    rejected(im, "images[0]: id is not set");
    cri_msg_free(im);
}

KT_TEST(cri_reply, images_and_stats)
{
    Runtime__V1__ImageStatusResponse *is =
        cri_msg_new(&runtime__v1__image_status_response__descriptor);
    accepted(is); /* no image: "not present" */
    is->image = cri_msg_new(&runtime__v1__image__descriptor);
    cri_str_set(&is->image->id, "sha256:0123");
    rejected(is, "image id or size is not set");
    is->image->size = 4096;
    accepted(is);
    cri_msg_free(is);

    Runtime__V1__ContainerStatsResponse *cs =
        cri_msg_new(&runtime__v1__container_stats_response__descriptor);
    rejected(cs, "stats is not set");
    cs->stats = cri_msg_new(&runtime__v1__container_stats__descriptor);
    rejected(cs, "attributes.id is not set");
    cs->stats->attributes = cri_msg_new(&runtime__v1__container_attributes__descriptor);
    cri_str_set(&cs->stats->attributes->id, "c1");
    accepted(cs);
    cri_msg_free(cs);

    Runtime__V1__ListContainerStatsResponse *ls =
        cri_msg_new(&runtime__v1__list_container_stats_response__descriptor);
    ls->stats = xcalloc(1, sizeof(*ls->stats));
    ls->stats[ls->n_stats++] = cri_msg_new(&runtime__v1__container_stats__descriptor);
    rejected(ls, "stats[0]: attributes.id is not set");
    cri_msg_free(ls);
}

KT_TEST(cri_reply, unknown_fields_kept)
{
    /* a newer runtime's extra fields decode and are ignored */
    static const uint8_t bytes[] = {0x0a, 0x02, 's', '1', 0xfa,
                                    0x06, 0x03, 'n', 'e', 'w'}; /* id "s1", field 111 "new" */
    kn_error *err = NULL;
    ProtobufCMessage *out = NULL;
    KT_ASSERT_OK(cri_reply_decode(&runtime__v1__run_pod_sandbox_response__descriptor, bytes,
                                  sizeof(bytes), &out, &err),
                 err);
    KT_ASSERT_STREQ(((Runtime__V1__RunPodSandboxResponse *)out)->pod_sandbox_id, "s1");
    KT_ASSERT_EQ(out->n_unknown_fields, 1);
    cri_msg_free(out);
}
