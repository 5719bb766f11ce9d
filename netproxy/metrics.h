/* metrics.h - what the Service proxy reports about itself: Prometheus
 * metrics (named as kube-proxy's where kube-proxy has one) and the health
 * state behind /healthz and /livez. Thread-safe: the sync loop writes, the
 * HTTP servers read. */
#ifndef KNODE_NETPROXY_METRICS_H
#define KNODE_NETPROXY_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/clock.h"
#include "lib/strbuf.h"

/* kube-proxy's sync duration buckets: 1 ms doubling, 15 of them. */
#define NP_HIST_BUCKETS 15

typedef struct np_histogram {
    uint64_t counts[NP_HIST_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    double sum;
} np_histogram;

/* The upper bound of bucket i in seconds. */
double np_histogram_bound(size_t i);

/* Adds one observation (seconds). */
void np_histogram_observe(np_histogram *h, double v);

/* Gauges set after each successful sync. */
typedef struct np_sync_gauges {
    uint64_t services;       /* Services in the model */
    uint64_t endpoints;      /* endpoints joined to them */
    uint64_t no_endpoints;   /* frontends (addr, proto, port) without an endpoint */
    uint64_t rules;          /* nftables rules, both families */
    uint64_t elements;       /* set and map elements, both families */
    uint64_t skipped;        /* objects (or parts) skipped as invalid */
    uint64_t batch_messages; /* netlink messages the last sync sent */
} np_sync_gauges;

typedef struct np_metrics {
    pthread_mutex_t mu;
    np_histogram sync_all, sync_full, sync_partial;
    uint64_t sync_failures;
    uint64_t conntrack_failures, conntrack_deleted;
    uint64_t service_changes, endpoint_changes;
    uint64_t healthz_200, healthz_503, livez_200, livez_503;
    double last_sync_unix; /* wall clock seconds of the last successful sync */
    np_sync_gauges gauges;
} np_metrics;

void np_metrics_init(np_metrics *m);
void np_metrics_destroy(np_metrics *m);

/* One sync's outcome: its duration, whether it was full, success. */
void np_metrics_sync(np_metrics *m, double seconds, bool full, bool ok, const np_sync_gauges *g);

/* Appends the Prometheus text exposition (version 0.0.4) of m to out;
 * mode is reported as kubeproxy_proxy_mode{mode=...}. */
void np_metrics_render(np_metrics *m, const char *mode, kn_buf *out);

/* ---- health ---- */

/* kube-proxy's ProxyHealthServer state. The proxy is healthy once a sync
 * succeeded, as long as the last success is younger than timeout and no
 * change (or failed sync) has waited longer than timeout. */
typedef struct np_health {
    pthread_mutex_t mu;
    kn_clock *clock;    /* monotonic scale */
    int64_t timeout;    /* ns; kube-proxy: 2 x --sync-period */
    int64_t last_ok;    /* monotonic ns of the last successful sync, 0: none */
    int64_t pending;    /* oldest change not applied yet, 0: none */
    int64_t wall_off;   /* wall - monotonic at init, for reporting times */
    bool node_eligible; /* false: the Node is being deleted (default true) */
} np_health;

void np_health_init(np_health *h, kn_clock *clock, int64_t timeout_ns);
void np_health_destroy(np_health *h);

/* A change arrived (or a sync failed): the rules are behind. */
void np_health_queued(np_health *h);

/* A sync succeeded: everything queued before it started is applied. */
void np_health_updated(np_health *h, int64_t sync_start_ns);

/* Whether healthy now; *last_updated_wall and *now_wall (ns since the
 * epoch; 0 when never) are what the JSON body reports. */
bool np_health_check(np_health *h, int64_t *last_updated_wall, int64_t *now_wall);

/* Records whether this Node may receive traffic (kube-proxy: not deleted,
 * no ToBeDeletedByClusterAutoscaler taint); /healthz (not /livez) reports
 * 503 while it may not. */
void np_health_set_node_eligible(np_health *h, bool eligible);
bool np_health_node_eligible(np_health *h);

/* Formats a wall time as Go's time.Time String() does in UTC
 * ("2006-01-02 15:04:05.999999999 +0000 UTC"; 0 gives Go's zero time). */
void np_format_go_time(int64_t wall_ns, char *buf, size_t len);

#endif
