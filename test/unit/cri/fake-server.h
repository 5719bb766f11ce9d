/* fake-server.h - a real gRPC server (gRPC C core, HTTP/2 on a unix socket
 * in the test's tmpdir) that answers each call with a scripted answer.
 *
 * It drives the CRI client through answers a healthy runtime never gives
 * (malformed bytes, missing fields, any status code, slow replies, a runtime
 * that speaks only v1alpha2) without a runtime; the client side is the real
 * cri/ code. Calls are served one at a time, in a thread of its own. */
#ifndef KNODE_TEST_UNIT_CRI_FAKE_SERVER_H
#define KNODE_TEST_UNIT_CRI_FAKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef struct fake_answer {
    const char *method;  /* full path ("/runtime.v1.RuntimeService/Version"); NULL: any */
    int code;            /* grpc_status_code of the final status */
    const char *details; /* status details, may be NULL */
    const void *body;    /* reply message bytes; NULL: no message */
    size_t len;
    int repeat;   /* send the message this many times (streams); 0 counts as 1 */
    int delay_ms; /* wait this long before answering */
    bool hold;    /* after the messages, wait until the client cancels */
} fake_answer;

typedef struct fake_server fake_server;

/* Starts a server; fails the test if it cannot. */
fake_server *fake_server_start(void);

/* "unix://<tmpdir>/fake-cri.sock" */
const char *fake_server_endpoint(const fake_server *s);

/* Adds (or replaces, for the same method) an answer; a is copied. Methods
 * without an answer get UNIMPLEMENTED. */
void fake_server_answer(fake_server *s, const fake_answer *a);

/* Shortcut: answer method with OK and msg packed. */
void fake_server_answer_msg(fake_server *s, const char *method, const ProtobufCMessage *msg);

/* Calls served so far. */
int fake_server_calls(fake_server *s);

/* A copy of the last request's bytes (caller frees), or NULL. */
uint8_t *fake_server_last_request(fake_server *s, size_t *len);

/* Cancels what is in flight, stops and frees the server. */
void fake_server_stop(fake_server *s);

#endif
