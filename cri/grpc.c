/* grpc.c - unary and server-streaming calls on the gRPC C core (see grpc.h).
 *
 * Each call owns a pluck completion queue and runs its batches like the gRPC
 * C++ synchronous client does: one batch with every op for a unary call; for
 * a stream, a send batch, then one receive batch per message, then the
 * status. The queue is destroyed when the call ends, so nothing is shared
 * between calls except the (thread-safe) channel. */
#include "cri/grpc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "cri/reply.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* The kubelet's dial parameters (cri-client remote_runtime.go). */
#define CRI_BACKOFF_INITIAL_MS 100
#define CRI_BACKOFF_MAX_MS 3000
#define CRI_CONNECT_TIMEOUT_MS 5000

/* The shared part of every handle on one endpoint. */
typedef struct cri_channel {
    atomic_int refs;
    grpc_channel *channel;
    char *endpoint;
    char *target;
} cri_channel;

struct cri_conn {
    cri_channel *ch;
    int64_t timeout_ms;
};

struct cri_stream {
    cri_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    char *method;
    const ProtobufCMessageDescriptor *reply_desc;
    grpc_metadata_array initial_md;
    bool got_initial_md;
    bool finished;
};

/* ---- status mapping ------------------------------------------------------------ */

static const char *const status_names[] = {
    [GRPC_STATUS_OK] = "OK",
    [GRPC_STATUS_CANCELLED] = "CANCELLED",
    [GRPC_STATUS_UNKNOWN] = "UNKNOWN",
    [GRPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [GRPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [GRPC_STATUS_NOT_FOUND] = "NOT_FOUND",
    [GRPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [GRPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [GRPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [GRPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [GRPC_STATUS_ABORTED] = "ABORTED",
    [GRPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [GRPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [GRPC_STATUS_INTERNAL] = "INTERNAL",
    [GRPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
    [GRPC_STATUS_DATA_LOSS] = "DATA_LOSS",
    [GRPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

static const kn_errcode status_codes[] = {
    [GRPC_STATUS_OK] = KN_OK,
    [GRPC_STATUS_CANCELLED] = KN_ECANCELED,
    [GRPC_STATUS_UNKNOWN] = KN_EIO,
    [GRPC_STATUS_INVALID_ARGUMENT] = KN_EINVAL,
    [GRPC_STATUS_DEADLINE_EXCEEDED] = KN_ETIMEDOUT,
    [GRPC_STATUS_NOT_FOUND] = KN_ENOTFOUND,
    [GRPC_STATUS_ALREADY_EXISTS] = KN_EEXIST,
    [GRPC_STATUS_PERMISSION_DENIED] = KN_EFORBIDDEN,
    [GRPC_STATUS_RESOURCE_EXHAUSTED] = KN_ETOOLARGE,
    [GRPC_STATUS_FAILED_PRECONDITION] = KN_ECONFLICT,
    [GRPC_STATUS_ABORTED] = KN_ECONFLICT,
    [GRPC_STATUS_OUT_OF_RANGE] = KN_ERANGE,
    [GRPC_STATUS_UNIMPLEMENTED] = KN_ENOTSUP,
    [GRPC_STATUS_INTERNAL] = KN_EINTERNAL,
    [GRPC_STATUS_UNAVAILABLE] = KN_EUNAVAILABLE,
    [GRPC_STATUS_DATA_LOSS] = KN_EIO,
    [GRPC_STATUS_UNAUTHENTICATED] = KN_EUNAUTHORIZED,
};

kn_errcode cri_status_to_code(int grpc_status)
{
    if (grpc_status < 0 || (size_t)grpc_status >= KN_ARRAY_SIZE(status_codes))
        return KN_EINTERNAL;
    return status_codes[grpc_status];
}

const char *cri_status_name(int grpc_status)
{
    if (grpc_status < 0 || (size_t)grpc_status >= KN_ARRAY_SIZE(status_names))
        return "UNRECOGNIZED";
    return status_names[grpc_status];
}

int cri_status_error(kn_error **err, const char *method, int grpc_status, const char *details)
{
    if (method[0] == '/')
        method++;
    return kn_error_set(err, cri_status_to_code(grpc_status), "%s: %s: %s", method,
                        cri_status_name(grpc_status),
                        details && *details ? details : "(no details)");
}

/* ---- endpoints and channels -------------------------------------------------------- */

int cri_endpoint_parse(const char *endpoint, char **target, kn_error **err)
{
    const char *path = endpoint;
    if (!endpoint || !*endpoint)
        return kn_error_set(err, KN_EINVAL, "CRI endpoint is empty");
    if (strncmp(endpoint, "unix://", 7) == 0) {
        path = endpoint + 7;
    } else if (strstr(endpoint, "://")) {
        return kn_error_set(err, KN_EINVAL,
                            "CRI endpoint %s: only unix sockets are supported (unix:///path)",
                            endpoint);
    }
    if (path[0] != '/')
        return kn_error_set(err, KN_EINVAL, "CRI endpoint %s: socket path must be absolute",
                            endpoint);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return kn_error_set(err, KN_EINVAL, "CRI endpoint %s: socket path longer than %zu bytes",
                            endpoint, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    *target = xasprintf("unix://%s", path);
    return 0;
}

static grpc_channel *channel_create(const char *target)
{
    grpc_arg args[] = {
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, {.integer = CRI_MAX_MSG_SIZE}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, {.integer = CRI_MAX_MSG_SIZE}},
        {GRPC_ARG_INTEGER,
         GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
         {.integer = CRI_BACKOFF_INITIAL_MS}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, {.integer = CRI_BACKOFF_MAX_MS}},
        {GRPC_ARG_INTEGER, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, {.integer = CRI_CONNECT_TIMEOUT_MS}},
    };
    grpc_channel_args cargs = {KN_ARRAY_SIZE(args), args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    return ch;
}

int cri_conn_new(const char *endpoint, int64_t timeout_ms, cri_conn **out, kn_error **err)
{
    char *target;
    if (cri_endpoint_parse(endpoint, &target, err) < 0)
        return -KN_EINVAL;
    grpc_init();
    cri_channel *ch = xcalloc(1, sizeof(*ch));
    atomic_init(&ch->refs, 1);
    ch->endpoint = xstrdup(endpoint);
    ch->target = target;
    ch->channel = channel_create(target);
    cri_conn *c = xcalloc(1, sizeof(*c));
    c->ch = ch;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
    *out = c;
    return 0;
}

cri_conn *cri_conn_with_timeout(cri_conn *c, int64_t timeout_ms)
{
    cri_conn *n = xcalloc(1, sizeof(*n));
    atomic_fetch_add(&c->ch->refs, 1);
    n->ch = c->ch;
    n->timeout_ms = timeout_ms > 0 ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
    return n;
}

static void channel_unref(cri_channel *ch)
{
    if (atomic_fetch_sub(&ch->refs, 1) != 1)
        return;
    grpc_channel_destroy(ch->channel);
    free(ch->endpoint);
    free(ch->target);
    free(ch);
    grpc_shutdown();
}

void cri_conn_free(cri_conn *c)
{
    if (!c)
        return;
    channel_unref(c->ch);
    free(c);
}

int64_t cri_conn_timeout_ms(const cri_conn *c)
{
    return c->timeout_ms;
}

const char *cri_conn_endpoint(const cri_conn *c)
{
    return c->ch->endpoint;
}

/* ---- messages <-> byte buffers ------------------------------------------------------- */

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    grpc_slice slice = grpc_slice_new(buf, len, free);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

static int unpack_message(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                          const char *method, ProtobufCMessage **out, kn_error **err)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return kn_error_set(err, KN_EIO, "%s: cannot read reply", method + 1);
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    int r = cri_reply_decode(desc, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), out, err);
    grpc_slice_unref(all);
    if (r < 0 && err)
        kn_error_wrap(err, "%s", method + 1);
    return r < 0 ? r : 0;
}

static gpr_timespec deadline_after(const cri_conn *c, int64_t timeout_ms)
{
    if (timeout_ms == CRI_TIMEOUT_NONE)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (timeout_ms <= 0)
        timeout_ms = c->timeout_ms;
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

static grpc_call *call_create(cri_channel *ch, grpc_completion_queue *cq, const char *method,
                              gpr_timespec deadline)
{
    grpc_slice m = grpc_slice_from_static_string(method);
    return grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, m, NULL,
                                    deadline, NULL);
}

/* Runs ops as one batch and waits for it. False if gRPC refused the batch or
 * reported it failed. */
static bool run_batch(grpc_call *call, grpc_completion_queue *cq, const grpc_op *ops, size_t n,
                      void *tag)
{
    if (grpc_call_start_batch(call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return false;
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* The status part of a finished call. */
typedef struct call_status {
    grpc_metadata_array trailing_md;
    grpc_status_code code;
    grpc_slice details;
    const char *error_string;
} call_status;

static void status_op(grpc_op *op, call_status *st)
{
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &st->trailing_md;
    op->data.recv_status_on_client.status = &st->code;
    op->data.recv_status_on_client.status_details = &st->details;
    op->data.recv_status_on_client.error_string = &st->error_string;
}

static void status_init(call_status *st)
{
    memset(st, 0, sizeof(*st));
    grpc_metadata_array_init(&st->trailing_md);
    st->code = GRPC_STATUS_UNKNOWN;
    st->details = grpc_empty_slice();
}

/* Turns a non-OK status into *err (err may be NULL) and releases st. */
static int status_finish(call_status *st, const char *method, kn_error **err)
{
    int r = 0;
    if (st->code != GRPC_STATUS_OK) {
        char *details = grpc_slice_to_c_string(st->details);
        r = cri_status_error(err, method, st->code, details);
        gpr_free(details);
    }
    grpc_slice_unref(st->details);
    grpc_metadata_array_destroy(&st->trailing_md);
    gpr_free((void *)st->error_string);
    return r;
}

static void call_release(grpc_call *call, grpc_completion_queue *cq)
{
    if (call)
        grpc_call_unref(call);
    if (cq)
        grpc_completion_queue_destroy(cq);
}

/* ---- unary calls ------------------------------------------------------------------------ */

static void unary_ops(grpc_op ops[6], grpc_byte_buffer *send, grpc_metadata_array *initial_md,
                      grpc_byte_buffer **recv, call_status *st)
{
    memset(ops, 0, 6 * sizeof(ops[0]));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = recv;
    status_op(&ops[5], st);
}

int cri_call(cri_conn *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *reply_desc, int64_t timeout_ms,
             ProtobufCMessage **reply, kn_error **err)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = call_create(c->ch, cq, method, deadline_after(c, timeout_ms));
    grpc_byte_buffer *send = pack_message(req), *recv = NULL;
    grpc_metadata_array initial_md;
    grpc_metadata_array_init(&initial_md);
    call_status st;
    status_init(&st);
    grpc_op ops[6];
    unary_ops(ops, send, &initial_md, &recv, &st);

    int r;
    if (!run_batch(call, cq, ops, KN_ARRAY_SIZE(ops), call)) {
        status_finish(&st, method, NULL);
        r = kn_error_set(err, KN_EINTERNAL, "%s: gRPC batch failed", method + 1);
    } else if ((r = status_finish(&st, method, err)) == 0) {
        r = recv ? unpack_message(recv, reply_desc, method, reply, err)
                 : kn_error_set(err, KN_EIO, "%s: no reply message", method + 1);
    }
    grpc_metadata_array_destroy(&initial_md);
    grpc_byte_buffer_destroy(send);
    if (recv)
        grpc_byte_buffer_destroy(recv);
    call_release(call, cq);
    return r;
}

/* ---- server-streaming calls ---------------------------------------------------------- */

static int stream_send(cri_stream *s, const ProtobufCMessage *req, kn_error **err)
{
    grpc_byte_buffer *send = pack_message(req);
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    grpc_call_error e = grpc_call_start_batch(s->call, ops, KN_ARRAY_SIZE(ops), &ops, NULL);
    if (e == GRPC_CALL_OK) {
        /* a failed send (e.g. no runtime) shows up as the status at the first read */
        grpc_completion_queue_pluck(s->cq, &ops, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    grpc_byte_buffer_destroy(send);
    if (e != GRPC_CALL_OK)
        return kn_error_set(err, KN_EINTERNAL, "%s: gRPC send failed (%d)", s->method + 1, e);
    return 0;
}

int cri_stream_open(cri_conn *c, const char *method, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *reply_desc, int64_t timeout_ms,
                    cri_stream **out, kn_error **err)
{
    cri_stream *s = xcalloc(1, sizeof(*s));
    atomic_fetch_add(&c->ch->refs, 1);
    s->ch = c->ch;
    s->method = xstrdup(method);
    s->reply_desc = reply_desc;
    grpc_metadata_array_init(&s->initial_md);
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    s->call = call_create(c->ch, s->cq, s->method, deadline_after(c, timeout_ms));
    int r = stream_send(s, req, err);
    if (r < 0) {
        s->finished = true;
        cri_stream_free(s);
        return r;
    }
    *out = s;
    return 0;
}

/* Reads the final status once the server stopped sending. */
static int stream_finish(cri_stream *s, kn_error **err)
{
    call_status st;
    status_init(&st);
    grpc_op op;
    status_op(&op, &st);
    s->finished = true;
    if (!run_batch(s->call, s->cq, &op, 1, &op)) {
        status_finish(&st, s->method, NULL);
        return kn_error_set(err, KN_EINTERNAL, "%s: gRPC status batch failed", s->method + 1);
    }
    return status_finish(&st, s->method, err);
}

int cri_stream_next(cri_stream *s, ProtobufCMessage **msg, kn_error **err)
{
    if (s->finished)
        return kn_error_set(err, KN_EINVAL, "%s: stream already ended", s->method + 1);
    grpc_byte_buffer *recv = NULL;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        s->got_initial_md = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &recv;
    if (!run_batch(s->call, s->cq, ops, n, &ops) || !recv) {
        if (recv)
            grpc_byte_buffer_destroy(recv);
        return stream_finish(s, err);
    }
    int r = unpack_message(recv, s->reply_desc, s->method, msg, err);
    grpc_byte_buffer_destroy(recv);
    return r < 0 ? r : 1;
}

void cri_stream_cancel(cri_stream *s)
{
    grpc_call_cancel(s->call, NULL);
}

void cri_stream_free(cri_stream *s)
{
    if (!s)
        return;
    if (!s->finished)
        grpc_call_cancel(s->call, NULL);
    grpc_metadata_array_destroy(&s->initial_md);
    call_release(s->call, s->cq);
    channel_unref(s->ch);
    free(s->method);
    free(s);
}
