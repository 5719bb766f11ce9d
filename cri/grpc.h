/* grpc.h - a thin unary and server-streaming call layer on the gRPC C core,
 * for talking to a CRI runtime over its unix socket.
 *
 *   cri_conn *c;
 *   if (cri_conn_new("unix:///run/containerd/containerd.sock", 0, &c, err) < 0) ...
 *   Runtime__V1__VersionResponse *v;
 *   cri_call(c, CRI_RUNTIME_METHOD("Version"), &req.base,
 *            &runtime__v1__version_response__descriptor, 0, (ProtobufCMessage **)&v, err);
 *
 * Design: a cri_conn holds one gRPC channel (HTTP/2 over the unix socket,
 * insecure credentials, reconnect backoff as the kubelet's: 100 ms initial,
 * 3 s max, 5 s connect timeout; 16 MiB message limit). gRPC channels are
 * thread-safe, and every call gets its own pluck completion queue that lives
 * only for that call, so concurrent calls from several threads share nothing
 * mutable: no lock, no poller thread. grpc_init()/grpc_shutdown() are
 * reference-counted by gRPC itself; each channel holds one reference.
 *
 * Calls fail fast (no wait-for-ready): a runtime that is not listening gives
 * KN_EUNAVAILABLE at once. gRPC status codes become kn_error codes once, here
 * (see cri_status_to_code), with the method and the status details in the
 * message: "runtime.v1.RuntimeService/ContainerStatus: NOT_FOUND: ...". */
#ifndef KNODE_CRI_GRPC_H
#define KNODE_CRI_GRPC_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "lib/error.h"

/* The kubelet's --runtime-request-timeout default: 2 minutes. */
#define CRI_DEFAULT_TIMEOUT_MS (2 * 60 * 1000)
/* Largest message sent or received (the kubelet's limit). */
#define CRI_MAX_MSG_SIZE (16 * 1024 * 1024)
/* timeout_ms values for cri_call() and cri_stream_open(). */
#define CRI_TIMEOUT_DEFAULT 0      /* the connection's timeout */
#define CRI_TIMEOUT_NONE INT64_MAX /* no deadline */

/* Fully qualified gRPC method paths. */
#define CRI_RUNTIME_METHOD(name) ("/runtime.v1.RuntimeService/" name)
#define CRI_IMAGE_METHOD(name) ("/runtime.v1.ImageService/" name)

typedef struct cri_conn cri_conn;
typedef struct cri_stream cri_stream;

/* Turns a CRI endpoint into a gRPC target. Accepts "unix:///abs/path" and,
 * as the kubelet does, a bare absolute path; rejects other schemes (the
 * kubelet supports only unix sockets on Linux), relative paths and paths too
 * long for sockaddr_un (KN_EINVAL). On success *target is "unix:///abs/path",
 * owned by the caller. */
int cri_endpoint_parse(const char *endpoint, char **target, kn_error **err);

/* Creates a connection to endpoint (see cri_endpoint_parse). timeout_ms is
 * the default per-call deadline; <= 0 means CRI_DEFAULT_TIMEOUT_MS. Does not
 * connect yet: the first call does, so a missing runtime shows up there as
 * KN_EUNAVAILABLE. *out is freed with cri_conn_free(). */
int cri_conn_new(const char *endpoint, int64_t timeout_ms, cri_conn **out, kn_error **err);

/* A second handle on the same channel whose default deadline is timeout_ms
 * (the per-call override: `cri_conn *quick = cri_conn_with_timeout(c, 5000)`).
 * Independent lifetime: free both with cri_conn_free(), in any order. */
cri_conn *cri_conn_with_timeout(cri_conn *c, int64_t timeout_ms);

/* Releases the handle; the channel goes with its last handle. NULL is fine.
 * No call or stream on it may be in progress. */
void cri_conn_free(cri_conn *c);

/* The connection's default deadline in milliseconds. */
int64_t cri_conn_timeout_ms(const cri_conn *c);

/* The endpoint as given to cri_conn_new(). */
const char *cri_conn_endpoint(const cri_conn *c);

/* One unary call: packs req, sends it to method (a full path such as
 * CRI_RUNTIME_METHOD("Version")), waits at most timeout_ms (CRI_TIMEOUT_DEFAULT
 * = the connection's timeout, CRI_TIMEOUT_NONE = no deadline), then unpacks
 * the reply as reply_desc and checks it with cri_reply_check(). On success
 * *reply is owned by the caller: protobuf_c_message_free_unpacked(*reply, NULL).
 * Errors: the mapped gRPC status (KN_EUNAVAILABLE, KN_ETIMEDOUT, KN_ENOTFOUND,
 * ...) or KN_EIO for a malformed reply. Thread-safe. */
int cri_call(cri_conn *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, int64_t timeout_ms,
             ProtobufCMessage **reply, kn_error **err);

/* Starts a server-streaming call: sends req and returns a stream to read
 * replies of type reply_desc from. timeout_ms bounds the whole stream
 * (usually CRI_TIMEOUT_NONE). A status error (e.g. KN_ENOTSUP for a runtime
 * that lacks the method) may only show up at the first cri_stream_next(). */
int cri_stream_open(cri_conn *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *reply_desc, int64_t timeout_ms,
                    cri_stream **out, kn_error **err);

/* Blocks for the next reply. Returns 1 with *msg (owned by the caller, free
 * with protobuf_c_message_free_unpacked), 0 when the server ended the stream
 * with OK, negative on error (KN_ECANCELED after cri_stream_cancel()). Call
 * from one thread at a time. */
int cri_stream_next(cri_stream *s, ProtobufCMessage **msg, kn_error **err);

/* Cancels the stream from any thread; a blocked cri_stream_next() returns
 * KN_ECANCELED. Idempotent. */
void cri_stream_cancel(cri_stream *s);

/* Cancels the stream if still open and releases it. No thread may be inside
 * cri_stream_next(). NULL is fine. */
void cri_stream_free(cri_stream *s);

/* Maps a gRPC status code (grpc_status_code) to a kn_error code:
 * UNAVAILABLE→KN_EUNAVAILABLE, DEADLINE_EXCEEDED→KN_ETIMEDOUT,
 * NOT_FOUND→KN_ENOTFOUND, UNIMPLEMENTED→KN_ENOTSUP, INVALID_ARGUMENT→KN_EINVAL,
 * ALREADY_EXISTS→KN_EEXIST, CANCELLED→KN_ECANCELED,
 * FAILED_PRECONDITION/ABORTED→KN_ECONFLICT, OUT_OF_RANGE→KN_ERANGE,
 * PERMISSION_DENIED→KN_EFORBIDDEN, UNAUTHENTICATED→KN_EUNAUTHORIZED,
 * RESOURCE_EXHAUSTED→KN_ETOOLARGE, UNKNOWN/DATA_LOSS→KN_EIO, the rest
 * (INTERNAL, unknown values)→KN_EINTERNAL. OK→KN_OK. */
kn_errcode cri_status_to_code(int grpc_status);

/* The gRPC name of a status code ("NOT_FOUND"); "UNRECOGNIZED" for values
 * outside the 17 defined codes. */
const char *cri_status_name(int grpc_status);

/* Fills *err from a gRPC status: code via cri_status_to_code(), message
 * "<method without leading slash>: <STATUS_NAME>: <details>". Returns -code. */
int cri_status_error(kn_error **err, const char *method, int grpc_status, const char *details);

#endif
