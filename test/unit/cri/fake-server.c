/* fake-server.c - scripted gRPC server for the CRI client's unit tests
 * (see fake-server.h). One thread, one completion queue, one call at a time. */
#include "test/unit/cri/fake-server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "lib/xalloc.h"
#include "test/runner/kt.h"

#define TAG_NEW ((void *)1)
#define TAG_OP ((void *)2)
#define TAG_SHUTDOWN ((void *)3)
#define MAX_ANSWERS 16

struct fake_server {
    grpc_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    char endpoint[300];
    pthread_mutex_t mu;
    fake_answer answers[MAX_ANSWERS];
    int nanswers;
    int calls;
    uint8_t *last_req;
    size_t last_len;
    bool saw_shutdown;
};

static void answer_free(fake_answer *a)
{
    free((void *)a->method);
    free((void *)a->details);
    free((void *)a->body);
}

static fake_answer answer_copy(const fake_answer *a)
{
    fake_answer c = *a;
    c.method = a->method ? xstrdup(a->method) : NULL;
    c.details = a->details ? xstrdup(a->details) : NULL;
    if (a->body) {
        c.body = xmalloc(a->len ? a->len : 1);
        memcpy((void *)c.body, a->body, a->len);
    }
    return c;
}

/* The answer for method (a deep copy the caller frees). */
static fake_answer answer_for(fake_server *s, const char *method)
{
    fake_answer none = {.code = GRPC_STATUS_UNIMPLEMENTED, .details = "unknown method"};
    const fake_answer *found = &none;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nanswers; i++) {
        if (!s->answers[i].method)
            found = found == &none ? &s->answers[i] : found; /* wildcard */
        else if (strcmp(s->answers[i].method, method) == 0)
            found = &s->answers[i];
    }
    fake_answer a = answer_copy(found);
    pthread_mutex_unlock(&s->mu);
    return a;
}

/* Runs one batch and waits for it on the server's queue. */
static bool batch(fake_server *s, grpc_call *call, grpc_op *ops, size_t n)
{
    if (grpc_call_start_batch(call, ops, n, TAG_OP, NULL) != GRPC_CALL_OK)
        return false;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            return false;
        if (ev.tag == TAG_OP)
            return ev.success;
        if (ev.tag == TAG_SHUTDOWN)
            s->saw_shutdown = true;
    }
}

static void record_request(fake_server *s, grpc_byte_buffer *req)
{
    grpc_byte_buffer_reader r;
    if (!req || !grpc_byte_buffer_reader_init(&r, req))
        return;
    grpc_slice all = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    pthread_mutex_lock(&s->mu);
    free(s->last_req);
    s->last_len = GRPC_SLICE_LENGTH(all);
    s->last_req = xmalloc(s->last_len + 1);
    memcpy(s->last_req, GRPC_SLICE_START_PTR(all), s->last_len);
    s->calls++;
    pthread_mutex_unlock(&s->mu);
    grpc_slice_unref(all);
}

static void send_messages(fake_server *s, grpc_call *call, const fake_answer *a)
{
    int n = a->repeat > 0 ? a->repeat : 1;
    for (int i = 0; a->body && i < n; i++) {
        grpc_slice sl = grpc_slice_from_copied_buffer(a->body, a->len);
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
        op.data.send_message.send_message = bb;
        bool ok = batch(s, call, &op, 1);
        grpc_byte_buffer_destroy(bb);
        if (!ok)
            return;
    }
}

static void serve_call(fake_server *s, grpc_call *call, const char *method)
{
    fake_answer a = answer_for(s, method);
    grpc_byte_buffer *req = NULL;
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_MESSAGE;
    ops[1].data.recv_message.recv_message = &req;
    batch(s, call, ops, 2);
    record_request(s, req);
    if (req)
        grpc_byte_buffer_destroy(req);
    if (a.delay_ms)
        usleep((useconds_t)a.delay_ms * 1000);
    send_messages(s, call, &a);

    int cancelled = 0;
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &cancelled;
    if (a.hold)
        batch(s, call, ops, n), n = 0; /* returns once the client cancelled */
    grpc_slice details = grpc_slice_from_copied_string(a.details ? a.details : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)a.code;
    ops[n++].data.send_status_from_server.status_details = &details;
    batch(s, call, ops, n);
    grpc_slice_unref(details);
    grpc_call_unref(call);
    answer_free(&a);
}

static void *serve(void *arg)
{
    fake_server *s = arg;
    for (;;) {
        grpc_call *call = NULL;
        grpc_call_details d;
        grpc_metadata_array md;
        grpc_call_details_init(&d);
        grpc_metadata_array_init(&md);
        bool ok =
            grpc_server_request_call(s->srv, &call, &d, &md, s->cq, s->cq, TAG_NEW) == GRPC_CALL_OK;
        grpc_event ev = {.type = GRPC_QUEUE_SHUTDOWN};
        while (ok) {
            ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            if (ev.type == GRPC_OP_COMPLETE && ev.tag == TAG_SHUTDOWN)
                s->saw_shutdown = true;
            else
                break;
        }
        bool got = ok && ev.type == GRPC_OP_COMPLETE && ev.tag == TAG_NEW && ev.success;
        if (got) {
            char *method = grpc_slice_to_c_string(d.method);
            serve_call(s, call, method);
            gpr_free(method);
        }
        grpc_call_details_destroy(&d);
        grpc_metadata_array_destroy(&md);
        if (!got)
            return NULL;
    }
}

fake_server *fake_server_start(void)
{
    grpc_init();
    fake_server *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->endpoint, sizeof(s->endpoint), "unix://%s/fake-cri.sock", kt_tmpdir());
    s->srv = grpc_server_create(NULL, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->srv, s->cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(s->srv, s->endpoint, creds);
    grpc_server_credentials_release(creds);
    KT_ASSERT_MSG(port != 0, "cannot listen on %s", s->endpoint);
    grpc_server_start(s->srv);
    KT_ASSERT(pthread_create(&s->thread, NULL, serve, s) == 0);
    return s;
}

const char *fake_server_endpoint(const fake_server *s)
{
    return s->endpoint;
}

void fake_server_answer(fake_server *s, const fake_answer *a)
{
    pthread_mutex_lock(&s->mu);
    int i = 0;
    while (i < s->nanswers &&
           !(a->method && s->answers[i].method && strcmp(a->method, s->answers[i].method) == 0))
        i++;
    if (i < s->nanswers)
        answer_free(&s->answers[i]);
    else if (s->nanswers < MAX_ANSWERS)
        s->nanswers++;
    else
        abort();
    s->answers[i] = answer_copy(a);
    pthread_mutex_unlock(&s->mu);
}

void fake_server_answer_msg(fake_server *s, const char *method, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(msg, buf);
    fake_answer a = {.method = method, .code = GRPC_STATUS_OK, .body = buf, .len = len};
    fake_server_answer(s, &a);
    free(buf);
}

int fake_server_calls(fake_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->calls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint8_t *fake_server_last_request(fake_server *s, size_t *len)
{
    pthread_mutex_lock(&s->mu);
    uint8_t *copy = NULL;
    if (s->last_req) {
        copy = xmalloc(s->last_len + 1);
        memcpy(copy, s->last_req, s->last_len);
        *len = s->last_len;
    }
    pthread_mutex_unlock(&s->mu);
    return copy;
}

void fake_server_stop(fake_server *s)
{
    grpc_server_shutdown_and_notify(s->srv, s->cq, TAG_SHUTDOWN);
    grpc_server_cancel_all_calls(s->srv);
    pthread_join(s->thread, NULL);
    while (!s->saw_shutdown) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        s->saw_shutdown = ev.type != GRPC_OP_COMPLETE || ev.tag == TAG_SHUTDOWN;
    }
    grpc_server_destroy(s->srv);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->cq);
    for (int i = 0; i < s->nanswers; i++)
        answer_free(&s->answers[i]);
    free(s->last_req);
    pthread_mutex_destroy(&s->mu);
    free(s);
    grpc_shutdown();
}
