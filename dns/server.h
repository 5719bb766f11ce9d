/* server.h - the cluster DNS server: UDP and TCP on a list of addresses.
 *
 * One worker thread per core (or as configured), each with its own epoll
 * set, its own SO_REUSEPORT UDP and TCP sockets on every address (the kernel
 * spreads datagrams and connections across them), its own zone reader slot
 * and forward loop. A query is answered from the current zone snapshot
 * (dns/answer.h) without locks or allocation; a name outside the zone is
 * answered from the forwarder's cache when it holds it, else resolved
 * upstream asynchronously while the worker goes on (REFUSED when there is
 * no forwarder).
 *
 * TCP (RFC 7766): length-prefixed messages, several queries per connection
 * and in flight at once (answers may come out of order), an idle timeout,
 * a cap on connections per worker.
 *
 * Metrics are counted per worker with relaxed atomics and summed on demand
 * in the Prometheus text format (dns_server_metrics). */
#ifndef KNODE_DNS_SERVER_H
#define KNODE_DNS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "dns/forward.h"
#include "dns/zone.h"
#include "lib/error.h"
#include "lib/strbuf.h"

typedef struct dns_server_config {
    const char *const *listen; /* "10.96.0.10" (port 53), "127.0.0.1:5353", "[fd00::a]:53" */
    size_t nlisten;
    int workers;              /* 0: one per online CPU */
    size_t udp_max;           /* the largest UDP response (1232) */
    int tcp_idle_ms;          /* close idle TCP connections after this (10000) */
    int tcp_max_conns;        /* per worker (256) */
    dns_forwarder *forwarder; /* borrowed; NULL: outside names are REFUSED */
} dns_server_config;

void dns_server_config_default(dns_server_config *cfg);

typedef struct dns_server dns_server;

/* Binds every address (UDP and TCP) in every worker and starts the workers.
 * zones (borrowed) supplies the snapshot; it and the forwarder must outlive
 * the server. Errors: KN_EINVAL (bad address), KN_EIO (socket, bind). */
int dns_server_start(const dns_server_config *cfg, dns_zone_holder *zones, dns_server **out,
                     kn_error **err);

/* Stops the workers, closes every socket and frees the server. */
void dns_server_stop(dns_server *s);

/* Counters summed over the workers. */
typedef struct dns_server_stats {
    uint64_t queries_udp, queries_tcp;
    uint64_t responses[6]; /* by rcode 0..5 (NOERROR .. REFUSED) */
    uint64_t responses_other;
    uint64_t truncated;  /* UDP answers sent with TC */
    uint64_t dropped;    /* not queries, or unanswerable */
    uint64_t forwarded;  /* resolved upstream (cache misses) */
    uint64_t cache_hits; /* outside names answered from the cache */
    uint64_t tcp_connections;
} dns_server_stats;

void dns_server_get_stats(dns_server *s, dns_server_stats *st);

/* Appends every metric in the Prometheus text format: queries by transport
 * and type, responses by rcode, cache hits and misses, request latency
 * histogram, forwarder counters. */
void dns_server_metrics(dns_server *s, kn_buf *out);

#endif
