/* transport.h - HTTP(S) to one API server over libcurl.
 *
 * One transport owns one curl multi handle driven by one I/O thread, so every
 * request and watch of a process shares its connections: with HTTP/2 (ALPN,
 * CURL_HTTP_VERSION_2TLS) they are streams multiplexed over one connection,
 * as client-go does; against an HTTP/1.1 server curl keeps a pool of
 * keep-alive connections. TLS follows the kc_config: the CA is pinned (only
 * it is trusted), client certificate and key, tls-server-name, or
 * insecure-skip-tls-verify. Every request carries the User-Agent, Accept:
 * application/json, and the credentials (the bearer token is re-read from
 * its file when it changes).
 *
 * Every exchange is a stream: kc_transport_open() returns once the response
 * headers have arrived; the body is read with kc_stream_read() as it comes,
 * and the I/O thread pauses the transfer when the reader falls behind
 * (KC_STREAM_BUFFER bytes queued), so a fast watch never piles up in memory.
 * kc_transport_do() reads a whole (bounded) body. Retries and rate limits are
 * the caller's business (rest.h). */
#ifndef KNODE_API_CLIENT_TRANSPORT_H
#define KNODE_API_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api-client/kubeconfig.h"
#include "lib/error.h"
#include "lib/strbuf.h"

/* Bytes a stream may hold unread before its transfer is paused. */
#define KC_STREAM_BUFFER (1 << 20)

typedef struct kc_transport kc_transport;
typedef struct kc_stream kc_stream;

typedef struct kc_transport_options {
    int64_t connect_timeout_ns; /* 0: 30 s */
    const char *user_agent;     /* NULL: kn_user_agent() */
    bool http1_only;            /* never offer HTTP/2 (tests, debugging) */
} kc_transport_options;

/* Starts a transport (and its I/O thread) for cfg, which is copied. Checks
 * that the CA, certificate and key parse (KN_EINVAL naming the file or
 * field otherwise). opts may be NULL. */
int kc_transport_new(const kc_config *cfg, const kc_transport_options *opts, kc_transport **out,
                     kn_error **err);

/* Stops the I/O thread and frees the transport. Every stream must be closed
 * first. NULL is ignored. */
void kc_transport_free(kc_transport *t);

/* The configuration in use (owned by the transport). */
kc_config *kc_transport_config(kc_transport *t);

typedef struct kc_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;         /* "/api/v1/pods?limit=5", below the server's path prefix */
    const char *content_type; /* of body, or NULL */
    const char *body;         /* copied; NULL for none */
    size_t body_len;
    int64_t timeout_ns;        /* whole exchange; 0: none (watches, logs) */
    int64_t header_timeout_ns; /* until the response headers; 0: none */
    const char *accept;        /* NULL: "application/json" */
} kc_request;

/* Sends req and waits for the response headers. Returns 0 with a stream to
 * read the body from (also for non-2xx answers: see kc_stream_status), or
 * negative when no response came (connection refused, TLS failure, timeout):
 * KN_EUNAVAILABLE, KN_ETIMEDOUT, KN_ECANCELED. */
int kc_transport_open(kc_transport *t, const kc_request *req, kc_stream **out, kn_error **err);

/* The HTTP status of the response. */
int kc_stream_status(const kc_stream *s);

/* Retry-After of the response in seconds (delay-seconds form), -1 if none. */
int kc_stream_retry_after(const kc_stream *s);

/* The response's Content-Type, or "" when none. */
const char *kc_stream_content_type(const kc_stream *s);

/* Negotiated HTTP version: 1 for HTTP/1.x, 2 for HTTP/2. */
int kc_stream_http_version(const kc_stream *s);

/* Connections opened for this exchange: 0 when it reused one (keep-alive,
 * or an HTTP/2 stream multiplexed on a connection in use). */
int kc_stream_new_connections(const kc_stream *s);

/* Reads up to cap bytes of body. Returns the count (> 0), 0 at the end of a
 * complete body, or negative: KN_ETIMEDOUT when no byte came for
 * stall_timeout_ns (0: wait forever) ("stalled"), KN_EUNAVAILABLE when the
 * transfer broke (connection reset, body cut short), KN_ECANCELED after
 * kc_stream_cancel. */
ssize_t kc_stream_read(kc_stream *s, char *buf, size_t cap, int64_t stall_timeout_ns,
                       kn_error **err);

/* Reads the rest of the body into out (appending); KN_ETOOLARGE once more
 * than max bytes came. */
int kc_stream_read_all(kc_stream *s, kn_buf *out, size_t max, kn_error **err);

/* Makes a blocked or future kc_stream_read return KN_ECANCELED and aborts
 * the transfer. Safe from any thread while the stream is open. */
void kc_stream_cancel(kc_stream *s);

/* Aborts the transfer if it is still running and frees the stream. NULL is
 * ignored. */
void kc_stream_close(kc_stream *s);

typedef struct kc_response {
    int status;         /* HTTP status */
    int retry_after;    /* seconds, -1 when absent */
    int http_version;   /* 1 or 2 */
    kn_buf body;        /* the whole body */
    char *content_type; /* owned, "" when none */
} kc_response;

/* Sends req and reads the whole response (at most max_body bytes, else
 * KN_ETOOLARGE). Non-2xx answers are not errors here: see resp->status.
 * Release resp with kc_response_clear. */
int kc_transport_do(kc_transport *t, const kc_request *req, size_t max_body, kc_response *resp,
                    kn_error **err);

void kc_response_clear(kc_response *resp);

/* Percent-encodes s for a URL query value or path segment (RFC 3986
 * unreserved characters are kept). Appends to out. */
void kc_url_escape(kn_buf *out, const char *s);

#endif
