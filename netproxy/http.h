/* http.h - the Service proxy's two small plain-HTTP servers (lib/httpd,
 * no TLS), as kube-proxy has them:
 *
 *   --healthz-bind-address (default 0.0.0.0:10256):
 *       /healthz  200 or 503 with {"lastUpdated": "...","currentTime": "...",
 *                 "nodeEligible": true}; 503 also while the Node is being
 *                 deleted (deletionTimestamp, or the cluster autoscaler's
 *                 ToBeDeletedByClusterAutoscaler taint)
 *       /livez    200 or 503 with {"lastUpdated": "...","currentTime": "..."}
 *   --metrics-bind-address (default 127.0.0.1:10249):
 *       /metrics  Prometheus text; /healthz "ok"; /proxyMode the mode name
 *
 * Health follows np_health (netproxy/metrics.h). The listening socket is
 * opened in the calling thread's network namespace. */
#ifndef KNODE_NETPROXY_HTTP_H
#define KNODE_NETPROXY_HTTP_H

#include <sys/socket.h>

#include "lib/error.h"
#include "lib/strbuf.h"
#include "netproxy/metrics.h"

typedef struct np_http np_http;

/* What a handler answers; body is freed by the server. */
typedef struct np_http_reply {
    int status;
    const char *content_type; /* a literal */
    kn_buf body;
} np_http_reply;

/* Answers one GET/HEAD request for path (without the query). Called from the
 * server's thread. */
typedef void (*np_http_fn)(void *ud, const char *path, np_http_reply *out);

/* Parses "ip:port", "[ipv6]:port", or a bare "ip" (port default_port), as
 * kube-proxy's bind address flags. Returns 0, or < 0 with *err (KN_EINVAL). */
int np_parse_bind_address(const char *s, int default_port, struct sockaddr_storage *out,
                          socklen_t *len, kn_error **err);

/* Listens on bind_address and serves fn until np_http_stop. Port 0 picks a
 * free port (see np_http_port). Errors: KN_EINVAL (address), KN_EIO (bind,
 * with the errno, e.g. address in use). */
int np_http_start(const char *bind_address, int default_port, np_http_fn fn, void *ud,
                  np_http **out, kn_error **err);

/* The port listened on. */
int np_http_port(const np_http *h);

/* Stops the server (waits for its thread) and frees it; NULL is fine. */
void np_http_stop(np_http *h);

/* ---- the proxy's handlers ---- */

/* What both servers report from (not owned; must outlive the servers). */
typedef struct np_http_status {
    np_health *health;
    np_metrics *metrics;
    const char *mode; /* "nftables" */
} np_http_status;

/* The healthz server's routes; ud is an np_http_status. */
void np_http_healthz_routes(void *ud, const char *path, np_http_reply *out);

/* The metrics server's routes; ud is an np_http_status. */
void np_http_metrics_routes(void *ud, const char *path, np_http_reply *out);

#endif
