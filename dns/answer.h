/* answer.h - the response to one query: from the zone, or from an upstream
 * answer for the names the zone does not hold.
 *
 * dns_answer_query() is the server's whole per-query logic without any
 * socket: parse (FORMERR, NOTIMP, BADVERS for bad queries; REFUSED for
 * classes other than IN and for zone transfers), look the name up, write
 * the answer (AA set), or the SOA in the authority section for NXDOMAIN and
 * NODATA, follow CNAMEs within the zone, add the in-zone addresses of SRV
 * targets as additional records where they fit, add an OPT record when the
 * client sent one, and truncate (TC, no records) when the answer does not
 * fit the client's limit: 512 bytes without EDNS, its advertised size (at
 * most udp_max) with EDNS, 65535 over TCP.
 *
 * A placeholder zone (dns_zone_unsynced) answers SERVFAIL for its names.
 * Names outside the zone (and a CNAME leaving the zone) come back as
 * DNS_ACT_FORWARD: the caller resolves dns_answer_forward_name() upstream
 * (through the cache) and builds the response with dns_answer_forwarded().
 * Nothing here allocates. */
#ifndef KNODE_DNS_ANSWER_H
#define KNODE_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/cache.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define DNS_CHASE_MAX 8 /* CNAMEs followed within the zone */

typedef enum dns_action {
    DNS_ACT_REPLY = 0, /* out holds the response (len bytes) */
    DNS_ACT_DROP,      /* not a query: send nothing */
    DNS_ACT_FORWARD,   /* resolve upstream, then dns_answer_forwarded() */
} dns_action;

typedef struct dns_answer_result {
    dns_action action;
    size_t len;     /* REPLY: the response's length */
    unsigned rcode; /* REPLY: its rcode (for metrics) */
    size_t limit;   /* the most the response may take */
    /* FORWARD: the in-zone CNAMEs leading out of the zone, if any: the
     * query name points at chain[0], chain[i] at chain[i + 1]; the last one
     * is the name to resolve upstream. */
    int nchain;
    uint32_t chain_ttl;
    uint8_t chain[DNS_CHASE_MAX][DNS_NAME_MAX];
} dns_answer_result;

typedef struct dns_answer_opts {
    bool tcp;       /* the query came over TCP */
    size_t udp_max; /* the largest UDP response we send (e.g. 1232) */
} dns_answer_opts;

/* Answers the query in msg from z (NULL: no zone yet, everything is
 * forwarded). Fills *q with the parsed query and *res with what to do; out
 * (cap bytes, at least DNS_MSG_MAX over TCP, else at least udp_max) holds
 * the response for DNS_ACT_REPLY. */
void dns_answer_query(const dns_zone *z, const uint8_t *msg, size_t len,
                      const dns_answer_opts *opts, dns_query *q, uint8_t *out, size_t cap,
                      dns_answer_result *res);

/* The name to resolve upstream for a DNS_ACT_FORWARD result. */
const uint8_t *dns_answer_forward_name(const dns_query *q, const dns_answer_result *res);

/* Builds the response to a forwarded query from the upstream answer e (NULL:
 * the upstreams failed: SERVFAIL) seen at now_ns on the cache's clock; the
 * in-zone CNAMEs of res go first. Returns the length and sets *rcode. */
size_t dns_answer_forwarded(const dns_query *q, const dns_answer_result *res,
                            const dns_cache_entry *e, int64_t now_ns, uint8_t *out, size_t cap,
                            unsigned *rcode);

/* A response carrying only rcode (REFUSED when nothing forwards, SERVFAIL)
 * within limit. Returns its length. */
size_t dns_answer_error(const dns_query *q, unsigned rcode, size_t limit, uint8_t *out, size_t cap);

#endif
