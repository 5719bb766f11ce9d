/* proxier.h - the Service proxy's sync loop (kube-proxy's nftables Proxier
 * with its BoundedFrequencyRunner): Services and EndpointSlices in, one
 * nftables transaction per sync out.
 *
 * Changes are signalled (np_proxier_notify, np_proxier_notify_service).
 * A full sync reads every current object from the source, builds the model
 * (invalid objects are skipped and logged, naming the object and the
 * field, once per new problem), the rulesets of the enabled families, and
 * hands them to the dataplane in one transaction. A partial sync, when only
 * named Services changed, rebuilds just those (netproxy/tracker.h), updates
 * the kept rulesets (netproxy/ruleset-inc.h) and hands the dataplane their
 * difference (sync_delta), so that its cost follows the change, not the
 * number of Services; a conflict between Services, a change of NodePort
 * addresses or very many changed Services make it a rebuild. Timing:
 *   - nothing is synced before the source has its first complete view, so
 *     a restarted proxy never empties a table it is about to reconcile;
 *   - the first sync is full (the kernel's table is read back and only the
 *     difference is sent: a table left by an earlier run is reconciled,
 *     never flushed);
 *   - a change is applied at once when the last sync started at least
 *     min_sync_period ago, otherwise at that point: changes arriving within
 *     the period are batched into one sync;
 *   - every sync_period a full sync repairs any drift;
 *   - a failed sync leaves the previous ruleset in force; a full sync is
 *     retried with exponential backoff (lib/backoff.h: 1 s doubling, capped
 *     at sync_period), changes waiting for it.
 * After each successful sync, stale UDP conntrack entries are deleted
 * (netproxy/conntrack.h) when a Service with UDP ports changed, or on full
 * syncs. Metrics and health state (netproxy/metrics.h) are kept up to date. */
#ifndef KNODE_NETPROXY_PROXIER_H
#define KNODE_NETPROXY_PROXIER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/clock.h"
#include "lib/error.h"
#include "netproxy/conntrack.h"
#include "netproxy/metrics.h"
#include "netproxy/model.h"
#include "netproxy/nft.h"
#include "netproxy/ruleset.h"

typedef enum np_kind {
    NP_KIND_SERVICE,
    NP_KIND_SLICE,
} np_kind;

/* A snapshot of the objects of one kind; priv is the source's. */
typedef struct np_objects {
    size_t n;
    const cJSON **v;
    void *priv;
} np_objects;

/* Where the objects come from (informers in production). Called from the
 * sync thread. */
typedef struct np_source {
    /* Fills out with every current object of kind; they stay valid and
     * unchanged until release. */
    void (*list)(void *ud, np_kind kind, np_objects *out);
    void (*release)(void *ud, np_objects *objs);
    /* True once the source holds a complete view (informers synced). */
    bool (*synced)(void *ud);
    void *ud;
    /* Optional, both or neither (partial model updates need them): the
     * Service with key "ns/name" (none or one object), and the
     * EndpointSlices labelled as that Service's; released with release.
     * The proxier holds both results at once. */
    void (*get_service)(void *ud, const char *key, np_objects *out);
    void (*slices_of)(void *ud, const char *key, np_objects *out);
} np_source;

/* Where the rules go (nftables + conntrack + rtnetlink in production). */
typedef struct np_dataplane {
    /* np_nft_sync's contract: takes both rulesets, all or nothing. */
    int (*sync)(void *ud, np_ruleset *v4, np_ruleset *v6, bool full, np_sync_stats *st,
                kn_error **err);
    /* The NodePort addresses now (up to max). */
    int (*node_ips)(void *ud, np_addr *out, size_t max, size_t *n, kn_error **err);
    /* Deletes the conntrack entries the plan calls stale. */
    int (*conntrack)(void *ud, const np_ct_plan *plan, size_t *deleted, kn_error **err);
    void *ud;
    /* Optional: np_nft_sync_delta's contract (a difference computed by the
     * proxier; rulesets not taken). */
    int (*sync_delta)(void *ud, np_ruleset *const from[2], np_ruleset *const to[2],
                      np_sync_stats *st, kn_error **err);
    /* Optional, instead of sync: a backend that takes the model itself
     * (--proxy-mode ipvs, netproxy/ipvs.h); no rulesets are built. */
    int (*sync_model)(void *ud, const np_model *m, const np_config *cfg, bool full,
                      np_sync_stats *st, kn_error **err);
} np_dataplane;

typedef struct np_proxier_opts {
    const char *node_name; /* copied; NULL: nothing is local */
    size_t ncluster_cidrs;
    np_cidr cluster_cidrs[NP_MAX_CLUSTER_CIDRS];
    bool masquerade_all;
    bool ipv4, ipv6;            /* families to program (at least one) */
    int64_t min_sync_period_ns; /* 0: no batching */
    int64_t sync_period_ns;     /* > 0 */
    kn_clock *clock;            /* NULL: monotonic */
    bool health_check_servers;  /* serve healthCheckNodePorts (netproxy/hcserver.h) */
    /* Optional: called (from the sync thread) for each object newly
     * skipped, with the message that is also logged ("service ns/name:
     * spec.ports[0].port: ..."); e.g. to write an Event. */
    void (*on_skip)(void *ud, const char *msg);
    void *on_skip_ud;
    np_source source;
    np_dataplane dataplane;
} np_proxier_opts;

typedef struct np_proxier np_proxier;

/* A new, stopped proxier (opts copied). Never NULL. */
np_proxier *np_proxier_new(const np_proxier_opts *opts);

/* Starts the sync thread. */
int np_proxier_start(np_proxier *p, kn_error **err);

/* Something of kind changed: a sync is due (debounced), and it rebuilds
 * the model from every object. Any thread; cheap. */
void np_proxier_notify(np_proxier *p, np_kind kind);

/* The Service ns/name (or one of its EndpointSlices, kind) changed: a sync
 * is due, and with a source that has get_service and slices_of and a
 * dataplane with sync_delta, it rebuilds only the Services named since the
 * last sync and sends only their difference. Any thread; cheap. */
void np_proxier_notify_service(np_proxier *p, np_kind kind, const char *ns, const char *name);

/* Stops the thread (a running sync finishes first). Idempotent. */
void np_proxier_stop(np_proxier *p);

/* Stops and frees; NULL is fine. */
void np_proxier_free(np_proxier *p);

/* The metrics and health state (owned by the proxier). */
np_metrics *np_proxier_metrics(np_proxier *p);
np_health *np_proxier_health(np_proxier *p);

typedef struct np_proxier_stats {
    uint64_t syncs;      /* attempted */
    uint64_t full_syncs; /* attempted with full */
    uint64_t failures;
    int64_t last_start_ns; /* proxier clock */
    np_sync_stats last;    /* what the last sync sent */
} np_proxier_stats;

void np_proxier_get_stats(np_proxier *p, np_proxier_stats *out);

/* For tests on a fake clock: blocks until the sync thread has seen every
 * notify and waits for a time that has not come yet (or until timeout_ns of
 * real time; returns false then). */
bool np_proxier_wait_idle(np_proxier *p, int64_t timeout_ns);

#endif
