/* http.h - the DNS server's plain-HTTP endpoint: health, readiness and
 * Prometheus metrics, as CoreDNS's health (:8080/health), ready (/ready)
 * and prometheus (/metrics) plugins serve them, on one address.
 *
 *   GET /health   200 "OK" while the process serves
 *   GET /ready    200 "OK" once ready() says so, else 503
 *   GET /metrics  200, the text exposition format (version 0.0.4)
 *
 * HEAD works as GET without a body; other methods get 405, other paths
 * 404. No TLS: bind it to loopback or a node address. lib/httpd serves
 * it: a thread per connection (at most 64, idle ones closed after 10 s);
 * the callbacks run on those threads. */
#ifndef KNODE_DNS_HTTP_H
#define KNODE_DNS_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "lib/error.h"
#include "lib/strbuf.h"

typedef struct dns_http_config {
    const char *address;                    /* "127.0.0.1:8080", "[::1]:8080"; port 0: any */
    bool (*ready)(void *ud);                /* NULL: always ready */
    void (*metrics)(void *ud, kn_buf *out); /* appends the metrics; NULL: none */
    void *ud;
} dns_http_config;

typedef struct dns_http dns_http;

/* Parses "ip:port" or "[ip6]:port" (port 0..65535) into *ss. Errors:
 * KN_EINVAL. */
int dns_http_parse_address(const char *s, struct sockaddr_storage *ss, kn_error **err);

/* Binds the address and starts serving. Errors: KN_EINVAL for a bad
 * address, KN_EIO when it cannot be bound. */
int dns_http_start(const dns_http_config *cfg, dns_http **out, kn_error **err);

/* The port bound (useful with port 0). */
int dns_http_port(const dns_http *h);

/* Stops serving and frees. NULL is ignored. */
void dns_http_stop(dns_http *h);

#endif
