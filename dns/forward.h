/* forward.h - resolving the names outside the cluster zone through upstream
 * resolvers, with a cache.
 *
 * A dns_forwarder holds the upstream list (given as ip[:port] strings, or
 * read from a resolv.conf file), the shared answer cache and counters. Each
 * server worker drives its own dns_forward_loop on its epoll set: every
 * upstream query gets a fresh UDP socket connected to the upstream (so a
 * kernel-chosen random source port, and only that upstream's datagrams
 * arrive) and a random id. Responses must match the id and the question
 * exactly; others are ignored. A truncated response is asked again over
 * TCP. A timeout, an error or SERVFAIL/REFUSED/NOTIMP/FORMERR moves on to
 * the next upstream, up to the configured number of attempts; then the
 * query fails (the server answers SERVFAIL). */
#ifndef KNODE_DNS_FORWARD_H
#define KNODE_DNS_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/cache.h"
#include "lib/clock.h"
#include "lib/error.h"

typedef struct dns_forward_config {
    const char *const *upstreams; /* "10.0.0.2", "10.0.0.2:5353", "[fd00::2]:53" */
    size_t nupstreams;
    const char *resolv_conf; /* read when there are no upstreams */
    size_t cache_size;       /* most entries cached */
    uint32_t max_ttl;        /* seconds an answer may be cached at most */
    int timeout_ms;          /* per attempt */
    int attempts;            /* in all; 0: two per upstream */
    kn_clock *clock;         /* for the cache; NULL: monotonic */
} dns_forward_config;

/* Defaults: no upstreams, /etc/resolv.conf, 10000 entries, max TTL 3600 s,
 * 2 s per attempt. */
void dns_forward_config_default(dns_forward_config *cfg);

typedef struct dns_forwarder dns_forwarder;

/* Errors: KN_EINVAL for a bad upstream address or a resolv.conf without
 * nameservers, KN_EIO when it cannot be read. */
int dns_forwarder_new(const dns_forward_config *cfg, dns_forwarder **out, kn_error **err);
void dns_forwarder_free(dns_forwarder *f);

dns_cache *dns_forwarder_cache(dns_forwarder *f);
size_t dns_forwarder_nupstreams(const dns_forwarder *f);

/* The i-th upstream as "ip:port" / "[ip6]:port" in buf. */
const char *dns_forwarder_upstream(const dns_forwarder *f, size_t i, char *buf, size_t size);

typedef struct dns_forward_stats {
    uint64_t queries;       /* questions resolved upstream */
    uint64_t sent;          /* datagrams and TCP queries sent */
    uint64_t tcp_fallbacks; /* truncated answers asked again over TCP */
    uint64_t timeouts;
    uint64_t bad_responses; /* ignored: malformed or not matching */
    uint64_t failures;      /* queries for which every attempt failed */
} dns_forward_stats;

void dns_forwarder_get_stats(const dns_forwarder *f, dns_forward_stats *st);

/* Parses "ip", "ip:port", "[ip6]:port" into *ss. Errors: KN_EINVAL. */
int dns_parse_hostport(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
                       socklen_t *len, kn_error **err);

/* The nameserver addresses of a resolv.conf file, as strings (caller frees
 * each and the array). Errors: KN_EIO, KN_EINVAL when there are none. */
int dns_resolv_conf_servers(const char *path, char ***out, size_t *n, kn_error **err);

/* ---- per-thread asynchronous resolution ------------------------------------ */

typedef struct dns_forward_loop dns_forward_loop;

/* Called once per dns_forward_start: e is the validated upstream answer
 * (borrowed, valid during the call), or NULL when every attempt failed;
 * now_ns is the time on the cache's clock. */
typedef void (*dns_forward_cb)(void *arg, const dns_cache_entry *e, int64_t now_ns);

/* A loop registering its sockets in epfd; epoll events whose dns_ev has
 * kind DNS_EV_FORWARD go to dns_forward_loop_event. */
dns_forward_loop *dns_forward_loop_new(dns_forwarder *f, int epfd);

/* Ends every query in flight (their callbacks get NULL) and frees. */
void dns_forward_loop_free(dns_forward_loop *l);

/* Starts resolving the question; the callback is never called from here,
 * only from dns_forward_loop_event / _expire / _free. */
void dns_forward_start(dns_forward_loop *l, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
                       dns_forward_cb cb, void *arg);

void dns_forward_loop_event(dns_forward_loop *l, void *ev, uint32_t events);

/* Milliseconds until the next deadline (-1: none), and the handling of the
 * deadlines that passed. */
int dns_forward_loop_timeout_ms(dns_forward_loop *l);
void dns_forward_loop_expire(dns_forward_loop *l);

/* Queries in flight. */
size_t dns_forward_loop_pending(const dns_forward_loop *l);

#endif
