/* test-call.c - the CRI client end to end over real gRPC, against the
 * scripted server of fake-server.h: status codes and details, malformed and
 * incomplete replies, deadlines, a runtime without CRI v1, and streams. */
#include <grpc/status.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cri/image.h"
#include "cri/msg.h"
#include "cri/runtime.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"
#include "test/unit/cri/fake-server.h"

#define VERSION_V1 CRI_RUNTIME_METHOD("Version")
#define VERSION_V1ALPHA2 "/runtime.v1alpha2.RuntimeService/Version"
#define EVENTS CRI_RUNTIME_METHOD("GetContainerEvents")

static cri_conn *connect_fake(fake_server *s)
{
    kn_error *err = NULL;
    cri_conn *c = NULL;
    KT_ASSERT_OK(cri_conn_new(fake_server_endpoint(s), 10 * 1000, &c, &err), err);
    return c;
}

static void answer_version(fake_server *s, const char *method, const char *name,
                           const char *version, const char *api)
{
    Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
    v.version = "0.1.0";
    v.runtime_name = (char *)name;
    v.runtime_version = (char *)version;
    v.runtime_api_version = (char *)api;
    fake_server_answer_msg(s, method, &v.base);
}

KT_TEST(cri_call, status_codes_and_details)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    static const struct {
        grpc_status_code st;
        kn_errcode code;
    } cases[] = {
        {GRPC_STATUS_NOT_FOUND, KN_ENOTFOUND},
        {GRPC_STATUS_UNAVAILABLE, KN_EUNAVAILABLE},
        {GRPC_STATUS_INVALID_ARGUMENT, KN_EINVAL},
        {GRPC_STATUS_ALREADY_EXISTS, KN_EEXIST},
        {GRPC_STATUS_UNKNOWN, KN_EIO},
        {GRPC_STATUS_INTERNAL, KN_EINTERNAL},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        fake_answer a = {.method = CRI_RUNTIME_METHOD("ContainerStatus"),
                         .code = cases[i].st,
                         .details = "an error occurred when try to find container \"c9\""};
        fake_server_answer(s, &a);
        kn_error *err = NULL;
        Runtime__V1__ContainerStatusResponse *st = NULL;
        KT_ASSERT_FAILS(cri_runtime_container_status(c, "c9", false, &st, &err));
        KT_ASSERT(st == NULL);
        KT_ASSERT_EQ(kn_error_code(err), cases[i].code);
        cleanup_free char *want = xasprintf(
            "runtime.v1.RuntimeService/ContainerStatus: %s: an error occurred when try to find "
            "container \"c9\"",
            cri_status_name(cases[i].st));
        KT_ASSERT_STREQ(kn_error_msg(err), want);
        kn_error_free(&err);
    }
    /* the request carried the id */
    size_t len = 0;
    cleanup_free uint8_t *req = fake_server_last_request(s, &len);
    Runtime__V1__ContainerStatusRequest *r =
        runtime__v1__container_status_request__unpack(NULL, len, req);
    KT_ASSERT(r);
    KT_ASSERT_STREQ(r->container_id, "c9");
    cri_msg_free(r);
    cri_conn_free(c);
    fake_server_stop(s);
}

KT_TEST(cri_call, malformed_and_incomplete_replies)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    kn_error *err = NULL;
    char *id = NULL;
    Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;

    fake_answer garbage = {.method = CRI_RUNTIME_METHOD("RunPodSandbox"),
                           .code = GRPC_STATUS_OK,
                           .body = "\x0a\x7f"
                                   "abc",
                           .len = 5};
    fake_server_answer(s, &garbage);
    KT_ASSERT_FAILS(cri_runtime_run_sandbox(c, &cfg, NULL, &id, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "RunPodSandbox: malformed RunPodSandboxResponse reply");
    kn_error_free(&err);

    Runtime__V1__RunPodSandboxResponse empty = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
    fake_server_answer_msg(s, CRI_RUNTIME_METHOD("RunPodSandbox"), &empty.base);
    KT_ASSERT_FAILS(cri_runtime_run_sandbox(c, &cfg, NULL, &id, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "pod_sandbox_id is not set");
    kn_error_free(&err);
    KT_ASSERT(id == NULL);

    /* OK status but no message at all */
    fake_answer nomsg = {.method = CRI_IMAGE_METHOD("PullImage"), .code = GRPC_STATUS_OK};
    fake_server_answer(s, &nomsg);
    Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
    spec.image = "localhost/x:1";
    KT_ASSERT_FAILS(cri_image_pull(c, &spec, NULL, NULL, 0, &id, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "PullImage: no reply message");
    kn_error_free(&err);

    Runtime__V1__RunPodSandboxResponse good = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
    good.pod_sandbox_id = "4f0a9c";
    fake_server_answer_msg(s, CRI_RUNTIME_METHOD("RunPodSandbox"), &good.base);
    KT_ASSERT_OK(cri_runtime_run_sandbox(c, &cfg, "crun", &id, &err), err);
    KT_ASSERT_STREQ(id, "4f0a9c");
    free(id);
    size_t len = 0;
    cleanup_free uint8_t *req = fake_server_last_request(s, &len);
    Runtime__V1__RunPodSandboxRequest *r =
        runtime__v1__run_pod_sandbox_request__unpack(NULL, len, req);
    KT_ASSERT(r && r->config);
    KT_ASSERT_STREQ(r->runtime_handler, "crun");
    cri_msg_free(r);
    cri_conn_free(c);
    fake_server_stop(s);
}

KT_TEST(cri_call, deadline_exceeded)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    fake_answer slow = {.method = CRI_RUNTIME_METHOD("ListContainers"),
                        .code = GRPC_STATUS_OK,
                        .body = "",
                        .len = 0,
                        .delay_ms = 600};
    fake_server_answer(s, &slow);
    cri_conn *quick = cri_conn_with_timeout(c, 100);
    kn_error *err = NULL;
    Runtime__V1__ListContainersResponse *l = NULL;
    KT_ASSERT_FAILS(cri_runtime_list_containers(quick, NULL, &l, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ETIMEDOUT);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "ListContainers: DEADLINE_EXCEEDED");
    kn_error_free(&err);
    cri_conn_free(quick);
    cri_conn_free(c);
    fake_server_stop(s);
}

KT_TEST(cri_call, version_v1)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    answer_version(s, VERSION_V1, "containerd", "1.6.20", "v1");
    kn_error *err = NULL;
    Runtime__V1__VersionResponse *v = NULL;
    KT_ASSERT_OK(cri_runtime_version(c, &v, &err), err);
    KT_ASSERT_STREQ(v->runtime_version, "1.6.20");
    cri_msg_free(v);
    /* the kubelet's request version */
    size_t len = 0;
    cleanup_free uint8_t *req = fake_server_last_request(s, &len);
    Runtime__V1__VersionRequest *r = runtime__v1__version_request__unpack(NULL, len, req);
    KT_ASSERT_STREQ(r->version, "0.1.0");
    cri_msg_free(r);

    /* answering on runtime.v1 with another API version is refused */
    answer_version(s, VERSION_V1, "oddruntime", "0.9", "0.1.0");
    KT_ASSERT_FAILS(cri_runtime_version(c, &v, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "(oddruntime 0.9) reports API version 0.1.0");
    kn_error_free(&err);
    cri_conn_free(c);
    fake_server_stop(s);
}

KT_TEST(cri_call, version_v1alpha2_only)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    kn_error *err = NULL;
    Runtime__V1__VersionResponse *v = NULL;

    /* nothing answers: a plain "does not implement CRI v1" */
    KT_ASSERT_FAILS(cri_runtime_version(c, &v, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "does not implement CRI v1");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "Version: UNIMPLEMENTED");
    kn_error_free(&err);

    /* an old containerd: v1alpha2 only */
    answer_version(s, VERSION_V1ALPHA2, "containerd", "1.5.18", "v1alpha2");
    KT_ASSERT_FAILS(cri_runtime_version(c, &v, &err));
    KT_ASSERT(v == NULL);
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "(containerd 1.5.18) offers only CRI API v1alpha2");
    KT_ASSERT_CONTAINS(kn_error_msg(err), "knode needs CRI v1");
    KT_ASSERT_CONTAINS(kn_error_msg(err), fake_server_endpoint(s));
    kn_error_free(&err);
    cri_conn_free(c);
    fake_server_stop(s);
}

/* ---- streams ------------------------------------------------------------------------- */

typedef struct collected {
    pthread_mutex_t mu;
    int n;
    char last_id[64];
    int stop_after; /* 0: never */
} collected;

static int collect(const Runtime__V1__ContainerEventResponse *ev, void *arg)
{
    collected *c = arg;
    pthread_mutex_lock(&c->mu);
    c->n++;
    snprintf(c->last_id, sizeof(c->last_id), "%s", ev->container_id);
    int stop = c->stop_after && c->n >= c->stop_after;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

static void answer_events(fake_server *s, int n, bool hold, const char *id)
{
    Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
    ev.container_id = (char *)id;
    ev.container_event_type = RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT;
    ev.created_at = 1700000000000000000;
    size_t len = protobuf_c_message_get_packed_size(&ev.base);
    cleanup_free uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(&ev.base, buf);
    fake_answer a = {.method = EVENTS,
                     .code = GRPC_STATUS_OK,
                     .body = buf,
                     .len = len,
                     .repeat = n,
                     .hold = hold};
    fake_server_answer(s, &a);
}

KT_TEST(cri_call, events_until_end_of_stream)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    answer_events(s, 3, false, "c1");
    kn_error *err = NULL;
    cri_stream *st = NULL;
    KT_ASSERT_OK(cri_runtime_events_open(c, &st, &err), err);
    collected got = {.mu = PTHREAD_MUTEX_INITIALIZER};
    KT_ASSERT_OK(cri_runtime_events_run(st, collect, &got, &err), err);
    KT_ASSERT_EQ(got.n, 3);
    KT_ASSERT_STREQ(got.last_id, "c1");
    cri_stream_free(st);

    /* the callback can stop early; freeing cancels the rest */
    answer_events(s, 5, true, "c2");
    KT_ASSERT_OK(cri_runtime_events_open(c, &st, &err), err);
    collected two = {.mu = PTHREAD_MUTEX_INITIALIZER, .stop_after = 2};
    KT_ASSERT_OK(cri_runtime_events_run(st, collect, &two, &err), err);
    KT_ASSERT_EQ(two.n, 2);
    cri_stream_free(st);
    cri_conn_free(c);
    fake_server_stop(s);
}

KT_TEST(cri_call, events_unimplemented_and_malformed)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    kn_error *err = NULL;
    cri_stream *st = NULL;
    collected got = {.mu = PTHREAD_MUTEX_INITIALIZER};
    KT_ASSERT_OK(cri_runtime_events_open(c, &st, &err), err);
    KT_ASSERT_FAILS(cri_runtime_events_run(st, collect, &got, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTSUP);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "GetContainerEvents: UNIMPLEMENTED");
    kn_error_free(&err);
    cri_stream_free(st);

    answer_events(s, 1, false, ""); /* an event without container_id */
    KT_ASSERT_OK(cri_runtime_events_open(c, &st, &err), err);
    KT_ASSERT_FAILS(cri_runtime_events_run(st, collect, &got, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EIO);
    KT_ASSERT_CONTAINS(kn_error_msg(err), "container_id is not set");
    kn_error_free(&err);
    KT_ASSERT_EQ(got.n, 0);
    cri_stream_free(st);
    cri_conn_free(c);
    fake_server_stop(s);
}

typedef struct runner {
    cri_stream *st;
    collected got;
    int rc;
    kn_error *err;
} runner;

static void *run_events(void *arg)
{
    runner *r = arg;
    r->rc = cri_runtime_events_run(r->st, collect, &r->got, &r->err);
    return NULL;
}

KT_TEST(cri_call, events_cancel_from_another_thread)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    answer_events(s, 1, true, "c3"); /* one event, then the server waits */
    kn_error *err = NULL;
    runner r = {.got = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    KT_ASSERT_OK(cri_runtime_events_open(c, &r.st, &err), err);
    pthread_t t;
    KT_ASSERT(pthread_create(&t, NULL, run_events, &r) == 0);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&r.got.mu);
        int n = r.got.n;
        pthread_mutex_unlock(&r.got.mu);
        if (n)
            break;
        usleep(10 * 1000);
    }
    cri_stream_cancel(r.st);
    cri_stream_cancel(r.st); /* idempotent */
    pthread_join(t, NULL);
    KT_ASSERT_EQ(r.got.n, 1);
    KT_ASSERT_EQ(r.rc, -KN_ECANCELED);
    KT_ASSERT_EQ(kn_error_code(r.err), KN_ECANCELED);
    kn_error_free(&r.err);
    cri_stream_free(r.st);
    cri_conn_free(c);
    fake_server_stop(s);
}

/* ---- concurrency --------------------------------------------------------------------- */

typedef struct worker {
    cri_conn *c;
    int ok;
} worker;

static void *version_loop(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20; i++) {
        kn_error *err = NULL;
        Runtime__V1__VersionResponse *v = NULL;
        if (cri_runtime_version(w->c, &v, &err) == 0 && strcmp(v->runtime_name, "fake") == 0)
            w->ok++;
        cri_msg_free(v);
        kn_error_free(&err);
    }
    return NULL;
}

KT_TEST(cri_call, concurrent_calls_share_one_channel)
{
    fake_server *s = fake_server_start();
    cri_conn *c = connect_fake(s);
    answer_version(s, VERSION_V1, "fake", "1", "v1");
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.c = c};
        KT_ASSERT(pthread_create(&t[i], NULL, version_loop, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        KT_ASSERT_EQ(w[i].ok, 20);
    }
    KT_ASSERT_EQ(fake_server_calls(s), 80);
    cri_conn_free(c);
    fake_server_stop(s);
}
