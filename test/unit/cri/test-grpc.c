/* test-grpc.c - endpoint parsing, gRPC status mapping and connections
 * without a runtime (cri/grpc.h). */
#include <grpc/status.h>
#include <string.h>

#include "cri/grpc.h"
#include "cri/runtime.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "test/runner/kt.h"

static void parse_ok(const char *endpoint, const char *want)
{
    kn_error *err = NULL;
    char *target = NULL;
    KT_ASSERT_OK(cri_endpoint_parse(endpoint, &target, &err), err);
    KT_ASSERT_STREQ(target, want);
    free(target);
}

static void parse_fails(const char *endpoint, const char *why)
{
    kn_error *err = NULL;
    char *target = NULL;
    KT_ASSERT_FAILS(cri_endpoint_parse(endpoint, &target, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    KT_ASSERT_CONTAINS(kn_error_msg(err), why);
    KT_ASSERT(target == NULL);
    kn_error_free(&err);
}

KT_TEST(cri_grpc, endpoint_parse)
{
    parse_ok("unix:///run/containerd/containerd.sock", "unix:///run/containerd/containerd.sock");
    /* a bare path, as the kubelet still accepts */
    parse_ok("/run/containerd/containerd.sock", "unix:///run/containerd/containerd.sock");
    parse_ok("unix:///x", "unix:///x");
    parse_fails("", "empty");
    parse_fails(NULL, "empty");
    parse_fails("tcp://127.0.0.1:2375", "only unix sockets");
    parse_fails("npipe:////./pipe/containerd", "only unix sockets");
    parse_fails("unix://relative/path.sock", "absolute");
    parse_fails("containerd.sock", "absolute");
    parse_fails("unix://", "absolute");
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'a', 150);
    longpath[158] = '\0';
    parse_fails(longpath, "longer than 107 bytes");
    /* exactly 107 bytes of path still fits sun_path */
    char fits[120] = "/";
    memset(fits + 1, 'b', 106);
    fits[107] = '\0';
    cleanup_free char *want = xasprintf("unix://%s", fits);
    parse_ok(fits, want);
}

KT_TEST(cri_grpc, status_mapping)
{
    static const struct {
        grpc_status_code st;
        kn_errcode code;
        const char *name;
    } cases[] = {
        {GRPC_STATUS_OK, KN_OK, "OK"},
        {GRPC_STATUS_CANCELLED, KN_ECANCELED, "CANCELLED"},
        {GRPC_STATUS_UNKNOWN, KN_EIO, "UNKNOWN"},
        {GRPC_STATUS_INVALID_ARGUMENT, KN_EINVAL, "INVALID_ARGUMENT"},
        {GRPC_STATUS_DEADLINE_EXCEEDED, KN_ETIMEDOUT, "DEADLINE_EXCEEDED"},
        {GRPC_STATUS_NOT_FOUND, KN_ENOTFOUND, "NOT_FOUND"},
        {GRPC_STATUS_ALREADY_EXISTS, KN_EEXIST, "ALREADY_EXISTS"},
        {GRPC_STATUS_PERMISSION_DENIED, KN_EFORBIDDEN, "PERMISSION_DENIED"},
        {GRPC_STATUS_RESOURCE_EXHAUSTED, KN_ETOOLARGE, "RESOURCE_EXHAUSTED"},
        {GRPC_STATUS_FAILED_PRECONDITION, KN_ECONFLICT, "FAILED_PRECONDITION"},
        {GRPC_STATUS_ABORTED, KN_ECONFLICT, "ABORTED"},
        {GRPC_STATUS_OUT_OF_RANGE, KN_ERANGE, "OUT_OF_RANGE"},
        {GRPC_STATUS_UNIMPLEMENTED, KN_ENOTSUP, "UNIMPLEMENTED"},
        {GRPC_STATUS_INTERNAL, KN_EINTERNAL, "INTERNAL"},
        {GRPC_STATUS_UNAVAILABLE, KN_EUNAVAILABLE, "UNAVAILABLE"},
        {GRPC_STATUS_DATA_LOSS, KN_EIO, "DATA_LOSS"},
        {GRPC_STATUS_UNAUTHENTICATED, KN_EUNAUTHORIZED, "UNAUTHENTICATED"},
    };
    for (size_t i = 0; i < KN_ARRAY_SIZE(cases); i++) {
        KT_ASSERT_EQ(cri_status_to_code(cases[i].st), cases[i].code);
        KT_ASSERT_STREQ(cri_status_name(cases[i].st), cases[i].name);
    }
    KT_ASSERT_EQ(cri_status_to_code(17), KN_EINTERNAL);
    KT_ASSERT_EQ(cri_status_to_code(-1), KN_EINTERNAL);
    KT_ASSERT_STREQ(cri_status_name(99), "UNRECOGNIZED");
}

KT_TEST(cri_grpc, status_error_message)
{
    kn_error *err = NULL;
    int r = cri_status_error(&err, "/runtime.v1.RuntimeService/ContainerStatus",
                             GRPC_STATUS_NOT_FOUND, "container \"abc\" not found");
    KT_ASSERT_EQ(r, -KN_ENOTFOUND);
    KT_ASSERT_EQ(kn_error_code(err), KN_ENOTFOUND);
    KT_ASSERT_STREQ(kn_error_msg(err),
                    "runtime.v1.RuntimeService/ContainerStatus: NOT_FOUND: container \"abc\" "
                    "not found");
    kn_error_free(&err);
    cri_status_error(&err, "/runtime.v1.ImageService/PullImage", GRPC_STATUS_UNKNOWN, "");
    KT_ASSERT_STREQ(kn_error_msg(err), "runtime.v1.ImageService/PullImage: UNKNOWN: (no details)");
    kn_error_free(&err);
    /* a NULL err is allowed and only returns the code */
    KT_ASSERT_EQ(cri_status_error(NULL, "/m", GRPC_STATUS_UNAVAILABLE, NULL), -KN_EUNAVAILABLE);
}

KT_TEST(cri_grpc, conn_timeouts_and_handles)
{
    kn_error *err = NULL;
    cri_conn *c = NULL;
    KT_ASSERT_OK(cri_conn_new("/run/knode-test-none.sock", 0, &c, &err), err);
    KT_ASSERT_EQ(cri_conn_timeout_ms(c), CRI_DEFAULT_TIMEOUT_MS);
    KT_ASSERT_EQ(CRI_DEFAULT_TIMEOUT_MS, 120000);
    KT_ASSERT_STREQ(cri_conn_endpoint(c), "/run/knode-test-none.sock");
    cri_conn *q = cri_conn_with_timeout(c, 1500);
    KT_ASSERT_EQ(cri_conn_timeout_ms(q), 1500);
    KT_ASSERT_STREQ(cri_conn_endpoint(q), "/run/knode-test-none.sock");
    /* either handle may go first */
    cri_conn_free(c);
    cri_conn_free(q);
    cri_conn_free(NULL);
    KT_ASSERT_FAILS(cri_conn_new("tcp://1.2.3.4:5", 0, &c, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
}

KT_TEST(cri_grpc, no_runtime_is_unavailable)
{
    kn_error *err = NULL;
    cri_conn *c = NULL;
    cleanup_free char *ep = xasprintf("unix://%s/absent.sock", kt_tmpdir());
    KT_ASSERT_OK(cri_conn_new(ep, 5000, &c, &err), err);
    for (int i = 0; i < 2; i++) { /* fails fast, also on a second try */
        Runtime__V1__StatusResponse *st = NULL;
        KT_ASSERT_FAILS(cri_runtime_status(c, false, &st, &err));
        KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
        KT_ASSERT_CONTAINS(kn_error_msg(err), "runtime.v1.RuntimeService/Status: UNAVAILABLE");
        kn_error_free(&err);
    }
    cri_stream *s = NULL;
    KT_ASSERT_OK(cri_runtime_events_open(c, &s, &err), err);
    ProtobufCMessage *m = NULL;
    KT_ASSERT_FAILS(cri_stream_next(s, &m, &err));
    KT_ASSERT_EQ(kn_error_code(err), KN_EUNAVAILABLE);
    kn_error_free(&err);
    KT_ASSERT_FAILS(cri_stream_next(s, &m, &err)); /* ended */
    KT_ASSERT_EQ(kn_error_code(err), KN_EINVAL);
    kn_error_free(&err);
    cri_stream_free(s);
    cri_conn_free(c);
}
