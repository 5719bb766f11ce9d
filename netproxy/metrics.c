/* metrics.c - the proxy's Prometheus metrics and health state. */
#include "netproxy/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- histogram ---- */

double np_histogram_bound(size_t i)
{
    return 0.001 * (double)(1u << i);
}

void np_histogram_observe(np_histogram *h, double v)
{
    for (size_t i = 0; i < NP_HIST_BUCKETS; i++) {
        if (v <= np_histogram_bound(i)) {
            h->counts[i]++;
            break;
        }
    }
    h->count++;
    h->sum += v;
}

/* ---- metrics ---- */

void np_metrics_init(np_metrics *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
}

void np_metrics_destroy(np_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void np_metrics_sync(np_metrics *m, double seconds, bool full, bool ok, const np_sync_gauges *g)
{
    pthread_mutex_lock(&m->mu);
    np_histogram_observe(&m->sync_all, seconds);
    np_histogram_observe(full ? &m->sync_full : &m->sync_partial, seconds);
    if (ok) {
        m->last_sync_unix = (double)kn_time_wall_ns() / 1e9;
        if (g)
            m->gauges = *g;
    } else {
        m->sync_failures++;
    }
    pthread_mutex_unlock(&m->mu);
}

static void head(kn_buf *out, const char *name, const char *type, const char *help)
{
    kn_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_histogram(kn_buf *out, const char *name, const char *help, const np_histogram *h)
{
    head(out, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < NP_HIST_BUCKETS; i++) {
        cum += h->counts[i];
        kn_buf_appendf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, np_histogram_bound(i), cum);
    }
    kn_buf_appendf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
    kn_buf_appendf(out, "%s_sum %.9g\n%s_count %" PRIu64 "\n", name, h->sum, name, h->count);
}

static void render_value(kn_buf *out, const char *name, const char *type, const char *help,
                         uint64_t v)
{
    head(out, name, type, help);
    kn_buf_appendf(out, "%s %" PRIu64 "\n", name, v);
}

static void render_codes(kn_buf *out, const char *name, const char *help, uint64_t ok, uint64_t bad)
{
    head(out, name, "counter", help);
    kn_buf_appendf(out, "%s{code=\"200\"} %" PRIu64 "\n%s{code=\"503\"} %" PRIu64 "\n", name, ok,
                   name, bad);
}

static void render_gauges(kn_buf *out, const np_sync_gauges *g)
{
    render_value(out, "knode_proxy_services", "gauge", "Services in the last synced model",
                 g->services);
    render_value(out, "knode_proxy_endpoints", "gauge",
                 "Endpoints joined to Services in the last synced model", g->endpoints);
    render_value(out, "knode_proxy_frontends_without_endpoints", "gauge",
                 "Service frontends (address, protocol, port) with no usable endpoint",
                 g->no_endpoints);
    render_value(out, "knode_proxy_nftables_rules", "gauge",
                 "nftables rules in the knode-proxy tables", g->rules);
    render_value(out, "knode_proxy_nftables_elements", "gauge",
                 "nftables set and map elements in the knode-proxy tables", g->elements);
    render_value(out, "knode_proxy_skipped_objects", "gauge",
                 "Services and EndpointSlices (or parts) skipped as invalid in the last sync",
                 g->skipped);
    render_value(out, "knode_proxy_last_sync_netlink_messages", "gauge",
                 "netlink messages in the last sync's transaction", g->batch_messages);
}

void np_metrics_render(np_metrics *m, const char *mode, kn_buf *out)
{
    pthread_mutex_lock(&m->mu);
    render_histogram(out, "kubeproxy_sync_proxy_rules_duration_seconds",
                     "SyncProxyRules latency in seconds", &m->sync_all);
    render_histogram(out, "kubeproxy_sync_full_proxy_rules_duration_seconds",
                     "SyncProxyRules latency in seconds for full resyncs", &m->sync_full);
    render_histogram(out, "kubeproxy_sync_partial_proxy_rules_duration_seconds",
                     "SyncProxyRules latency in seconds for partial resyncs", &m->sync_partial);
    head(out, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "gauge",
         "The last time proxy rules were successfully synced");
    kn_buf_appendf(out, "kubeproxy_sync_proxy_rules_last_timestamp_seconds %.3f\n",
                   m->last_sync_unix);
    render_value(out, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total", "counter",
                 "Cumulative proxy nftables sync failures", m->sync_failures);
    render_value(out, "kubeproxy_sync_proxy_rules_service_changes_total", "counter",
                 "Cumulative proxy rules Service changes", m->service_changes);
    render_value(out, "kubeproxy_sync_proxy_rules_endpoint_changes_total", "counter",
                 "Cumulative proxy rules Endpoint changes", m->endpoint_changes);
    render_value(out, "knode_proxy_conntrack_deleted_total", "counter",
                 "Stale UDP conntrack entries deleted", m->conntrack_deleted);
    render_value(out, "knode_proxy_conntrack_cleanup_failures_total", "counter",
                 "Failed conntrack cleanups", m->conntrack_failures);
    render_codes(out, "kubeproxy_proxy_healthz_total", "Cumulative proxy healthz HTTP status",
                 m->healthz_200, m->healthz_503);
    render_codes(out, "kubeproxy_proxy_livez_total", "Cumulative proxy livez HTTP status",
                 m->livez_200, m->livez_503);
    render_gauges(out, &m->gauges);
    pthread_mutex_unlock(&m->mu);
    head(out, "knode_proxy_mode", "gauge", "The proxy mode in use");
    kn_buf_appendf(out, "knode_proxy_mode{mode=\"%s\"} 1\n", mode);
}

/* ---- health ---- */

void np_health_init(np_health *h, kn_clock *clock, int64_t timeout_ns)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    h->clock = clock;
    h->timeout = timeout_ns;
    h->wall_off = kn_time_wall_ns() - kn_clock_now(clock);
    /* eligible while starting, until the Node says otherwise (kube-proxy) */
    h->node_eligible = true;
}

void np_health_set_node_eligible(np_health *h, bool eligible)
{
    pthread_mutex_lock(&h->mu);
    h->node_eligible = eligible;
    pthread_mutex_unlock(&h->mu);
}

bool np_health_node_eligible(np_health *h)
{
    pthread_mutex_lock(&h->mu);
    bool e = h->node_eligible;
    pthread_mutex_unlock(&h->mu);
    return e;
}

void np_health_destroy(np_health *h)
{
    pthread_mutex_destroy(&h->mu);
}

/* A monotonic time of 0 means "never": real times are never 0. */
static int64_t now_nonzero(np_health *h)
{
    int64_t t = kn_clock_now(h->clock);
    return t ? t : 1;
}

void np_health_queued(np_health *h)
{
    pthread_mutex_lock(&h->mu);
    if (!h->pending)
        h->pending = now_nonzero(h);
    pthread_mutex_unlock(&h->mu);
}

void np_health_updated(np_health *h, int64_t sync_start_ns)
{
    pthread_mutex_lock(&h->mu);
    h->last_ok = now_nonzero(h);
    if (h->pending && h->pending <= sync_start_ns)
        h->pending = 0;
    pthread_mutex_unlock(&h->mu);
}

bool np_health_check(np_health *h, int64_t *last_updated_wall, int64_t *now_wall)
{
    pthread_mutex_lock(&h->mu);
    int64_t now = kn_clock_now(h->clock);
    bool ok = h->last_ok && now - h->last_ok < h->timeout &&
              (!h->pending || now - h->pending < h->timeout);
    *now_wall = now + h->wall_off;
    /* as kube-proxy: a healthy answer reports "updated now" */
    *last_updated_wall = ok ? *now_wall : h->last_ok ? h->last_ok + h->wall_off : 0;
    pthread_mutex_unlock(&h->mu);
    return ok;
}

void np_format_go_time(int64_t wall_ns, char *buf, size_t len)
{
    if (wall_ns == 0) {
        snprintf(buf, len, "0001-01-01 00:00:00 +0000 UTC");
        return;
    }
    time_t s = (time_t)(wall_ns / 1000000000);
    long ns = (long)(wall_ns % 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char date[40], frac[16] = "";
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    if (ns) {
        snprintf(frac, sizeof(frac), ".%09ld", ns);
        size_t n = strlen(frac);
        while (frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    snprintf(buf, len, "%s%s +0000 UTC", date, frac);
}
