/* feed.h - the cluster zone kept up to date from the API server.
 *
 * A dns_feed takes the Services, EndpointSlices (discovery.k8s.io/v1) and
 * Namespaces informers (all namespaces) from a shared informer factory and
 * registers handlers on them. Any change marks the zone dirty; a rebuild
 * thread then lists the three caches, turns them into the DNS model
 * (dns/objects.h), builds a new snapshot (dns_zone_build) and publishes it
 * to the holder, so readers switch over atomically. Bursts are coalesced:
 * at most one rebuild per min_interval (100 ms by default), so a change is
 * served within about that plus the build time. The first snapshot is
 * published once all three informers have synced; until then the feed is
 * not ready.
 *
 * Objects that are invalid are left out of the zone; the handler that sees
 * such an object change logs one warning naming the object and the field.
 * Pod records need no informer: in "pods insecure" mode they are computed
 * from the query name (zone.h). */
#ifndef KNODE_DNS_FEED_H
#define KNODE_DNS_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "api-client/informer.h"
#include "dns/zone.h"
#include "lib/error.h"
#include "lib/strbuf.h"

typedef struct dns_feed_config {
    dns_zone_config zone;    /* domain, TTL, pods mode, NS addresses (copied) */
    int64_t min_interval_ns; /* least time between two rebuilds; 0: 100 ms */
    bool lean_cache;         /* own informers caching only what DNS reads (a process
                                serving DNS alone); false: share the factory's */
} dns_feed_config;

/* The zone defaults (dns_zone_config_default) and 100 ms. */
void dns_feed_config_default(dns_feed_config *cfg);

typedef struct dns_feed dns_feed;

/* Gets the informers from factory and adds the feed's handlers to them.
 * zones (borrowed) receives the snapshots. The caller starts the factory
 * (kc_informer_factory_start) and must stop its informers (free the
 * factory) before freeing the feed, since handlers cannot be removed.
 * Errors: KN_EINVAL for a bad cluster domain. */
int dns_feed_new(kc_informer_factory *factory, const dns_feed_config *cfg, dns_zone_holder *zones,
                 dns_feed **out, kn_error **err);

/* Starts the rebuild thread. Errors: KN_EIO (thread). */
int dns_feed_start(dns_feed *f, kn_error **err);

/* Stops the rebuild thread (idempotent; the holder keeps its snapshot). */
void dns_feed_stop(dns_feed *f);

/* Stops and frees. NULL is ignored. */
void dns_feed_free(dns_feed *f);

/* True once the first snapshot was published. */
bool dns_feed_ready(dns_feed *f);

/* Blocks until ready or timeout_ns passed (< 0: forever); returns ready. */
bool dns_feed_wait_ready(dns_feed *f, int64_t timeout_ns);

typedef struct dns_feed_stats {
    uint64_t rebuilds;       /* snapshots published */
    uint64_t changes;        /* informer events seen */
    int64_t last_build_ns;   /* time the last rebuild took */
    size_t services, slices; /* objects in the last snapshot's input */
    size_t namespaces;       /* ditto */
    size_t skipped;          /* objects and endpoints left out as invalid */
    dns_zone_stats zone;     /* the last snapshot */
} dns_feed_stats;

void dns_feed_get_stats(dns_feed *f, dns_feed_stats *st);

/* Appends the feed's metrics in the Prometheus text format. */
void dns_feed_metrics(dns_feed *f, kn_buf *out);

#endif
