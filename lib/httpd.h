/* httpd.h - knode's HTTP/1.1 server: the API server, the kubelet's :10250,
 * and the plain-HTTP health and metrics endpoints of dns and the proxy.
 *
 * One thread per connection, so a handler (and a streaming body such as a
 * watch) may block. TLS is OpenSSL (the library curl already brings), plain
 * HTTP when no certificate is given. Client certificates are requested (not
 * required) and verified against the client CA; the verified subject (CN,
 * O...) is handed to the handler for authentication. Bodies over max_body
 * get 413 before the handler runs. Request framing is lib/http-wire.h.
 *
 * Protocol upgrades (SPDY, WebSocket): a handler answers 101 with
 * kn_http_response.upgrade set; once the 101 is on the wire the upgrade
 * function runs in a thread of its own with a plain socket to the client
 * (under TLS, a socket pair whose other end the connection's thread relays
 * through the TLS session). kn_httpd_stop shuts those sockets down and
 * waits for the upgrade functions to return. */
#ifndef KNODE_LIB_HTTPD_H
#define KNODE_LIB_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
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

/* Calls fn for every request header in order, repeated names included. */
typedef void (*kn_http_header_fn)(void *arg, const char *name, const char *value);
void kn_http_headers_each(const kn_http_request *req, kn_http_header_fn fn, void *arg);
/* The values of a repeated query key (decoded, in order) into out[0..max);
 * returns how many there are (may exceed max). Valid during the request. */
size_t kn_http_query_all(const kn_http_request *req, const char *key, const char **out, size_t max);
/* True when the request asks to switch protocols: an Upgrade header and
 * "upgrade" among the Connection tokens. */
bool kn_http_is_upgrade(const kn_http_request *req);

/* An upgraded connection: fd is the socket to the client (never close it;
 * shutdown is fine); head holds head_len bytes the client sent before the
 * 101 went out, to be treated as read from fd first. */
typedef struct kn_http_upgraded {
    int fd;
    const char *head;
    size_t head_len;
} kn_http_upgraded;

/* Runs an upgraded connection until either side is done; returning closes
 * it. Runs in a thread of its own. */
typedef void (*kn_http_upgrade_fn)(void *ctx, const kn_http_upgraded *u);

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
    char *headers[16][2]; /* extra headers, owned */
    size_t nheaders;
    /* status 101: run upgrade(upgrade_ctx) on the switched connection;
     * upgrade_free(upgrade_ctx) follows it, or runs alone when the upgrade
     * never happens (any other status, or the client left) */
    kn_http_upgrade_fn upgrade;
    void *upgrade_ctx;
    void (*upgrade_free)(void *ctx);
} kn_http_response;

/* Sets the body (takes ownership of body) and status. */
void kn_http_respond(kn_http_response *resp, int status, const char *content_type, char *body);
/* Adds a header (copied). */
void kn_http_add_header(kn_http_response *resp, const char *name, const char *value);

typedef void (*kn_http_handler)(void *userdata, kn_http_request *req, kn_http_response *resp);

typedef struct kn_httpd_opts {
    const char *bind_address; /* IPv4 or IPv6 literal */
    int port;                 /* 0: ephemeral (see kn_httpd_port) */
    /* instead of bind_address and port, when set */
    const struct sockaddr_storage *addr;
    const char *cert_pem; /* serving certificate chain; NULL: plain HTTP */
    const char *key_pem;
    const char *client_ca_pem; /* NULL: no client certificates */
    size_t max_body;           /* bytes; larger bodies get 413; 0: 1 MiB */
    unsigned max_connections;  /* more are closed at once; 0: 1024 */
    unsigned idle_timeout_s;   /* an idle connection is closed; 0: 180 */
    bool no_cache;             /* "Cache-Control: no-cache, private" on answers */
    kn_http_handler handler;
    void *userdata;
} kn_httpd_opts;

int kn_httpd_start(const kn_httpd_opts *opts, kn_httpd **out, kn_error **err);
int kn_httpd_port(const kn_httpd *d);
/* Stops accepting, closes connections (streaming bodies and upgraded
 * connections end) and frees. */
void kn_httpd_stop(kn_httpd *d);

/* The socket of the request's connection (under TLS, the TCP socket), for
 * streaming handlers that must notice a client hanging up while they wait
 * for data (a followed log, a watch). Valid while the response (and its
 * stream) lives; never close it. */
int kn_http_peer_fd(const kn_http_request *req);

/* True when the peer of fd has hung up (waits up to timeout_ms; 0: just
 * looks). Data the peer sent does not count. */
bool kn_http_peer_gone(int fd, int timeout_ms);

#endif
