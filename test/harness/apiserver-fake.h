/* apiserver-fake.h - a loopback HTTPS server that answers like a Kubernetes
 * API server with scripted responses, for api-client tests (until the bundled
 * API server exists, and afterwards for fault injection).
 *
 * It listens on 127.0.0.1 on an ephemeral port only (libmicrohttpd over
 * GnuTLS, one thread per connection so streams can block). At start it
 * creates, with OpenSSL, a test CA, a server certificate for 127.0.0.1,
 * localhost and "kubernetes", a client certificate signed by the CA
 * (CN=system:node:test, O=system:nodes), an expired client certificate, and
 * an unrelated CA; their PEM files are in fa_dir(). Requests authenticate as
 * kube-apiserver does: a client certificate that verifies against the CA, or
 * the bearer token; otherwise 401 with a Status body.
 *
 * Responses are scripted: fa_expect*() queues a reply for the next request
 * matching method, path and a query substring (FIFO among matches). A reply
 * may be a fa_stream the test writes to while the client reads (a watch),
 * ends cleanly or cuts mid-event. Requests with no scripted reply go to the
 * handler set with fa_set_handler (if any), else get a 404 Status. Every
 * request is recorded (method, path, query, headers, body, client identity,
 * arrival time) for assertions. */
#ifndef KNODE_TEST_APISERVER_FAKE_H
#define KNODE_TEST_APISERVER_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

typedef struct fa_server fa_server;
typedef struct fa_stream fa_stream;

typedef struct fa_options {
    const char *token; /* accepted bearer token; NULL: any bearer token is refused */
    bool anonymous;    /* accept requests with no credentials */
} fa_options;

typedef struct fa_request {
    char *method;
    char *path;    /* without the query */
    char *query;   /* "k=v&k2=v2", values decoded; "" when none */
    char *headers; /* "Name: value\n" per header, as received */
    char *body;    /* NUL-terminated, "" when none */
    size_t body_len;
    char *user;    /* authenticated identity ("system:node:test", "token"), or NULL */
    int64_t at_ns; /* arrival (monotonic) */
    int status;    /* status answered */
} fa_request;

/* A reply built by a handler. Strings are copied by the server. */
typedef struct fa_reply {
    int status;               /* default 200 */
    const char *content_type; /* default "application/json" */
    const char *header;       /* one extra "Name: value" header, or NULL */
    const char *body;         /* NULL: empty */
    size_t body_len;          /* 0: strlen(body) */
    char *body_owned;         /* instead of body: freed by the server after sending */
    fa_stream *stream;        /* stream the body from this instead; a handler gives the
                                 server one reference with it */
} fa_reply;

typedef void (*fa_handler_fn)(fa_server *s, const fa_request *req, fa_reply *reply, void *ud);

/* Generates the certificates under dir (created) and starts the server. */
int fa_start(const char *dir, const fa_options *opts, fa_server **out, kn_error **err);

/* Stops the server (ending open streams) and frees it. NULL is ignored. */
void fa_stop(fa_server *s);

/* "https://127.0.0.1:<port>" */
const char *fa_url(const fa_server *s);
int fa_port(const fa_server *s);

/* Directory of ca.crt, client.crt, client.key, expired.crt, expired.key,
 * other-ca.crt. */
const char *fa_dir(const fa_server *s);

/* Queues a reply to the next request matching method, path (exact) and, when
 * query_has is not NULL, whose query contains that substring. */
void fa_expect(fa_server *s, const char *method, const char *path, const char *query_has,
               int status, const char *header, const char *body);

/* Queues a streamed reply (status 200, chunked) from st (reference taken). */
void fa_expect_stream(fa_server *s, const char *method, const char *path, const char *query_has,
                      fa_stream *st);

/* Called for requests that no queued reply matches. */
void fa_set_handler(fa_server *s, fa_handler_fn fn, void *ud);

/* Number of scripted replies not yet used. */
size_t fa_pending(fa_server *s);

/* A stream body: data written is sent as it comes; fa_stream_end finishes
 * the body, fa_stream_cut drops the connection (the client sees a body cut
 * short). Thread-safe. Released by fa_stream_unref (the server holds its own
 * reference while serving). */
fa_stream *fa_stream_new(void);
void fa_stream_write(fa_stream *st, const char *data, size_t len);
void fa_stream_printf(fa_stream *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fa_stream_end(fa_stream *st);
void fa_stream_cut(fa_stream *st);
/* True once a client has read every byte written so far. */
bool fa_stream_drained(fa_stream *st);
/* True once the client went away or the stream ended. */
bool fa_stream_closed(fa_stream *st);
void fa_stream_unref(fa_stream *st);

/* Recorded requests: the number so far, and a copy of request i (release
 * with fa_request_clear). fa_wait_requests blocks until at least n arrived
 * or timeout_ms passed; returns the count. */
size_t fa_request_count(fa_server *s);
void fa_request_get(fa_server *s, size_t i, fa_request *out);
size_t fa_wait_requests(fa_server *s, size_t n, int timeout_ms);
void fa_request_clear(fa_request *r);

/* The value of header name in r (case-insensitive), newly allocated, or NULL. */
char *fa_request_header(const fa_request *r, const char *name);

/* A meta/v1 Status body; caller frees. */
char *fa_status_json(int code, const char *reason, const char *message);

/* ---- a simulated collection --------------------------------------------------------- */

/* A store of objects with resourceVersions (a global revision counter, as
 * etcd's) served at one collection path with Kubernetes semantics: GET lists
 * every object (one page, metadata.resourceVersion = the revision); GET with
 * watch=true streams the events after the requested resourceVersion, then
 * every new change, and answers 410 Expired for a version older than the
 * last compaction. It becomes the server's handler. Objects are
 * {"kind":KIND,"apiVersion":"v1","metadata":{name,namespace,uid,
 * resourceVersion},"spec":SPEC}. Thread-safe. */
typedef struct fa_store fa_store;

fa_store *fa_store_new(fa_server *s, const char *path, const char *kind);
/* Frees the store; call after fa_stop. */
void fa_store_free(fa_store *st);
/* Creates or replaces ns/name with spec (JSON object text); returns the new
 * revision. */
int64_t fa_store_put(fa_store *st, const char *ns, const char *name, const char *spec);
/* Deletes ns/name; returns the new revision, or 0 if it did not exist. */
int64_t fa_store_delete(fa_store *st, const char *ns, const char *name);
/* Forgets history: watches from older versions get 410. */
void fa_store_compact(fa_store *st);
/* Cuts every open watch stream (the clients see a broken connection). */
void fa_store_cut_watches(fa_store *st);
/* Sends a BOOKMARK at the current revision to every open watch. */
void fa_store_bookmark(fa_store *st);
/* While held, watch requests are answered 503 (clients back off and retry). */
void fa_store_hold_watches(fa_store *st, bool hold);
int64_t fa_store_revision(fa_store *st);
size_t fa_store_len(fa_store *st);
/* The list answer as served now; caller frees. */
char *fa_store_list_json(fa_store *st);

#endif
