/* httpd.h - the HTTPS server under the API server, on libmicrohttpd (GnuTLS).
 *
 * One thread per connection, so a handler (and a streaming body such as a
 * watch) may block. Client certificates are requested (not required) and
 * verified against the client CA; the verified subject (CN, O...) is handed
 * to the handler for authentication. Bodies over max_body get 413 before the
 * handler runs. */
#ifndef KNODE_CONTROLPLANE_HTTPD_H
#define KNODE_CONTROLPLANE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/strbuf.h"

typedef struct kn_httpd kn_httpd;

/* The verified client certificate, if one was presented and verified. */
typedef struct kn_http_cert {
    bool verified;
    char cn[256];
    char orgs[8][128];
    size_t norgs;
} kn_http_cert;

typedef struct kn_http_request {
    void *conn; /* internal */
    const char *method;
    const char *path; /* without the query string */
    kn_buf body;
    bool body_too_large;
    kn_http_cert cert;
} kn_http_request;

/* A value of the query string (decoded), or NULL. */
const char *kn_http_query(const kn_http_request *req, const char *key);
/* A request header (case-insensitive name), or NULL. */
const char *kn_http_header(const kn_http_request *req, const char *name);

/* A streaming body: fill buf with up to max bytes; may block. Return the
 * number of bytes (> 0), or -1 to end the stream. */
typedef ssize_t (*kn_http_stream_fn)(void *ctx, char *buf, size_t max);

typedef struct kn_http_response {
    int status;
    char *content_type; /* owned; default application/json */
    char *body;         /* owned */
    size_t body_len;
    kn_http_stream_fn stream; /* set instead of body for a chunked stream */
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    char *headers[8][2]; /* extra headers, owned */
    size_t nheaders;
} kn_http_response;

/* Sets the body (takes ownership of body) and status. */
void kn_http_respond(kn_http_response *resp, int status, const char *content_type, char *body);
/* Adds a header (copied). */
void kn_http_add_header(kn_http_response *resp, const char *name, const char *value);

typedef void (*kn_http_handler)(void *userdata, kn_http_request *req, kn_http_response *resp);

typedef struct kn_httpd_opts {
    const char *bind_address; /* IPv4 or IPv6 literal */
    int port;                 /* 0: ephemeral (see kn_httpd_port) */
    const char *cert_pem;     /* serving certificate chain */
    const char *key_pem;
    const char *client_ca_pem; /* NULL: no client certificates */
    size_t max_body;           /* bytes; larger bodies get 413 */
    kn_http_handler handler;
    void *userdata;
} kn_httpd_opts;

int kn_httpd_start(const kn_httpd_opts *opts, kn_httpd **out, kn_error **err);
int kn_httpd_port(const kn_httpd *d);
/* Stops accepting, closes connections (streaming bodies end) and frees. */
void kn_httpd_stop(kn_httpd *d);

#endif
