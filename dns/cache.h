/* cache.h - upstream answers: parsing and validating them, and a bounded
 * cache of them.
 *
 * An entry is an upstream response taken apart (header rcode and the
 * answer, authority and additional records, names expanded, OPT dropped),
 * so it can be written into any client's response with fresh compression,
 * the client's own id, question case and size limit, and TTLs reduced by
 * the entry's age.
 *
 * Lifetimes (RFC 2308): a positive answer lives as long as the smallest TTL
 * of its answer and authority records; a negative one (NXDOMAIN, or NOERROR
 * without answers) as long as min(SOA TTL, SOA MINIMUM) of the SOA in its
 * authority section, and is not cached without one. Both are capped by the
 * cache's max_ttl; SERVFAIL and the like are never cached.
 *
 * The cache is split into shards, each with its own lock, hash table and
 * LRU list; entries are reference counted, so a reader writes an entry out
 * without holding any lock. */
#ifndef KNODE_DNS_CACHE_H
#define KNODE_DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/wire.h"
#include "lib/clock.h"

typedef struct dns_cache_entry dns_cache_entry;
typedef struct dns_cache dns_cache;

/* Parses an upstream response to the query (id, qname, qtype, qclass) into a
 * new entry (reference count 1). Returns 0, or:
 *   -EBADMSG    malformed, or not a response to that question (id, QR,
 *               opcode, question): ignore it
 *   -EAGAIN     truncated (TC): ask again over TCP
 * stored_ns is the entry's time of birth on the cache's clock. */
int dns_cache_entry_parse(const uint8_t *msg, size_t len, uint16_t id, const uint8_t *qname,
                          uint16_t qtype, uint16_t qclass, int64_t stored_ns,
                          dns_cache_entry **out);

/* The upstream's rcode. */
unsigned dns_cache_entry_rcode(const dns_cache_entry *e);

/* How long (seconds) the entry may be cached under max_ttl; 0: not at all. */
uint32_t dns_cache_entry_lifetime(const dns_cache_entry *e, uint32_t max_ttl);

/* Appends the entry's records to w: the answer and authority sections
 * whole, or nothing and -EMSGSIZE; additional records as far as they fit.
 * Records owned by the question name get owner (the client's spelling).
 * TTLs are reduced by the entry's age at now_ns (never below 0) and capped
 * by its lifetime. Sets the writer's rcode. Returns 0 or -EMSGSIZE. */
int dns_cache_entry_write(const dns_cache_entry *e, int64_t now_ns, const uint8_t *owner,
                          dns_writer *w);

void dns_cache_entry_ref(dns_cache_entry *e);
void dns_cache_entry_unref(dns_cache_entry *e);

/* A cache of at most max_entries entries, none living past max_ttl seconds,
 * timed by clock (NULL: monotonic). */
dns_cache *dns_cache_new(size_t max_entries, uint32_t max_ttl, kn_clock *clock);
void dns_cache_free(dns_cache *c);

/* The time on the cache's clock. */
int64_t dns_cache_now(dns_cache *c);

/* A live entry for the question (a new reference, unref it), or NULL. */
dns_cache_entry *dns_cache_get(dns_cache *c, const uint8_t *qname, uint16_t qtype, uint16_t qclass);

/* Stores e when it is cacheable (taking a reference of its own), replacing
 * an older entry for the same question and evicting the least recently used
 * one when full. The caller keeps its reference. */
void dns_cache_put(dns_cache *c, dns_cache_entry *e);

/* Number of live entries (expired ones not yet evicted included). */
size_t dns_cache_size(dns_cache *c);

#endif
