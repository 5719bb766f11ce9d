/* zone.h - the cluster zone: an immutable snapshot of every record, and the
 * holder that swaps snapshots under lock-free readers.
 *
 * dns_zone_build() turns a dns_model into a dns_zone in which every name the
 * Kubernetes DNS specification (github.com/kubernetes/dns
 * docs/specification.md) and CoreDNS's kubernetes plugin define is
 * precomputed, with its records in wire form:
 *
 *   <zone>                               SOA, NS ns.dns.<zone>
 *   ns.dns.<zone>                        A/AAAA of the DNS service (config)
 *   dns-version.<zone>                   TXT "1.1.0"
 *   <svc>.<ns>.svc.<zone>                A/AAAA ClusterIPs; headless: one per
 *                                        ready endpoint; ExternalName: CNAME;
 *                                        SRV for every port (as CoreDNS)
 *   <host>.<svc>.<ns>.svc.<zone>         A/AAAA per ready endpoint; <host> is
 *                                        its hostname, else its IP with '-'
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV per named port; headless:
 *                                        per ready endpoint × named port,
 *                                        target <host>.<svc>.<ns>.svc.<zone>
 *   <reversed ip>.in-addr.arpa/ip6.arpa  PTR for ClusterIPs and endpoint IPs
 *   <a-b-c-d>.<ns>.pod.<zone>            A (AAAA for IPv6 with '-' for ':'),
 *                                        synthesized, pods insecure mode
 *
 * Every ancestor of a name, down to the apex, exists as an empty
 * non-terminal (NODATA, not NXDOMAIN), like svc.<zone>, <ns>.svc.<zone> for
 * every existing namespace, _tcp.<svc>.<ns>.svc.<zone>. A headless Service
 * without ready endpoints has no records, so its name is NXDOMAIN (spec
 * 2.4.1). An endpoint counts when it is ready, or always when the Service
 * publishes not-ready addresses.
 *
 * Lookups (dns_zone_lookup) hash the query name case-insensitively, take no
 * lock and do not allocate.
 *
 * Snapshot swapping (dns_zone_holder) uses hazard pointers: every reading
 * thread owns a slot. To read, it stores the current snapshot pointer in its
 * slot and checks that it is still current (retrying otherwise); when done it
 * clears the slot. dns_zone_holder_publish() exchanges the pointer and then
 * waits until no slot holds the old snapshot before freeing it. With
 * sequentially consistent atomics a reader either sees the new pointer or
 * has its hazard seen by the publisher, so readers never wait and never
 * touch freed memory; only publishers wait, for at most one query's worth
 * of work per reader. */
#ifndef KNODE_DNS_ZONE_H
#define KNODE_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/model.h"
#include "dns/wire.h"
#include "lib/error.h"

#define DNS_SCHEMA_VERSION "1.1.0"

typedef enum dns_pods_mode {
    DNS_PODS_INSECURE = 0, /* answer any <ip>.<ns>.pod.<zone> of an existing ns */
    DNS_PODS_DISABLED,     /* everything below pod.<zone> is NXDOMAIN */
} dns_pods_mode;

typedef struct dns_zone_config {
    const char *domain; /* the cluster domain, "cluster.local" */
    uint32_t ttl;       /* TTL of every record, also the SOA minimum */
    dns_pods_mode pods;
    const char *const *ns_ips; /* addresses of ns.dns.<zone> (the DNS Service) */
    size_t nns_ips;
    uint32_t serial; /* SOA serial; 0 means the current time in seconds */
    /* A placeholder until the API caches have synced: every name in the
     * zone is answered SERVFAIL (as CoreDNS does before its first sync),
     * so clients retry instead of caching a wrong NXDOMAIN, and cluster
     * names are not leaked upstream. */
    bool unsynced;
} dns_zone_config;

/* Fills the defaults: cluster.local, TTL 5, pods insecure, no NS addresses. */
void dns_zone_config_default(dns_zone_config *cfg);

typedef struct dns_zone dns_zone;

/* Builds a snapshot from the model. Objects with invalid names or addresses
 * are left out (counted in dns_zone_stats.skipped), never fatal. Errors:
 * KN_EINVAL for a bad domain. The caller owns *out (dns_zone_free or
 * dns_zone_holder_publish). */
int dns_zone_build(const dns_zone_config *cfg, const dns_model *model, dns_zone **out,
                   kn_error **err);

void dns_zone_free(dns_zone *z);

typedef struct dns_zone_stats {
    size_t names;   /* names with records or empty non-terminals */
    size_t records; /* records, SOA and NS included */
    size_t skipped; /* model objects left out as invalid */
    size_t bytes;   /* memory the snapshot holds */
} dns_zone_stats;

void dns_zone_get_stats(const dns_zone *z, dns_zone_stats *st);

/* The apex in wire form (lower case). */
const uint8_t *dns_zone_apex(const dns_zone *z);
uint32_t dns_zone_ttl(const dns_zone *z);
/* True for a placeholder built with cfg.unsynced. */
bool dns_zone_unsynced(const dns_zone *z);

typedef enum dns_zone_status {
    DNS_ZONE_ANSWER = 0, /* records of the type (or a CNAME) */
    DNS_ZONE_NODATA,     /* the name exists without records of the type */
    DNS_ZONE_NXDOMAIN,   /* no such name in the zone */
    DNS_ZONE_NOTAUTH,    /* not ours: outside the zone, or a reverse name
                            we hold no PTR for (forward it) */
} dns_zone_status;

typedef struct dns_zone_answer {
    dns_zone_status status;
    bool cname;     /* the answer is the name's CNAME (qtype was another) */
    uint32_t first; /* internal: where the records of the answer start */
    uint32_t count; /* number of records in the answer */
    uint16_t synth_type;
    uint8_t synth_rdata[16]; /* a pod's address (synthesized) */
} dns_zone_answer;

/* Looks qname (any case) up for qtype (ANY: every record of the name).
 * Fills *a; does not allocate. Returns a->status. */
dns_zone_status dns_zone_lookup(const dns_zone *z, const uint8_t *qname, uint16_t qtype,
                                dns_zone_answer *a);

/* The i-th record of an answer, with owner as its owner name (the query name
 * as sent, to keep its case). Pointers stay valid while the snapshot does. */
void dns_zone_answer_rr(const dns_zone *z, const dns_zone_answer *a, uint32_t i,
                        const uint8_t *owner, dns_rr *rr);

/* The SOA record (owner: the apex), for the authority section of negative
 * answers. */
void dns_zone_soa_rr(const dns_zone *z, dns_rr *rr);

/* ---- snapshot holder ------------------------------------------------------ */

#define DNS_ZONE_MAX_READERS 256

typedef struct dns_zone_holder dns_zone_holder;
typedef struct dns_zone_reader dns_zone_reader;

/* A holder starting with z (owned, may be NULL). */
dns_zone_holder *dns_zone_holder_new(dns_zone *z);

/* Frees the holder and its snapshot; every reader must have detached. */
void dns_zone_holder_free(dns_zone_holder *h);

/* Makes z (owned) the current snapshot; frees the previous one once no
 * reader holds it. Publishers are serialized; readers are never blocked. */
void dns_zone_holder_publish(dns_zone_holder *h, dns_zone *z);

/* Takes a reader slot for the calling thread (NULL when all are taken). */
dns_zone_reader *dns_zone_reader_attach(dns_zone_holder *h);
void dns_zone_reader_detach(dns_zone_reader *r);

/* The current snapshot (may be NULL), valid until dns_zone_leave(). */
const dns_zone *dns_zone_enter(dns_zone_reader *r);
void dns_zone_leave(dns_zone_reader *r);

#endif
