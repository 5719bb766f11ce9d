/* feed.c - informers → DNS model → zone snapshots (see feed.h). */
#include "dns/feed.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/objects.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define COMPONENT "dns"
#define DEFAULT_INTERVAL_NS (100 * 1000 * 1000LL)
#define SYNC_POLL_NS (50 * 1000 * 1000LL)

enum { SRC_SERVICES, SRC_SLICES, SRC_NAMESPACES, SRC_N };

typedef struct feed_src {
    struct dns_feed *f;
    int kind;
    kc_informer *inf;
} feed_src;

struct dns_feed {
    dns_zone_config zone;
    char *domain;
    char **ns_ips;
    int64_t interval_ns;
    dns_zone_holder *zones;
    feed_src src[SRC_N];

    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool dirty, stop, ready, running;
    pthread_t thread;
    uint32_t serial;
    dns_feed_stats st; /* under mu */
};

/* ---- handlers -------------------------------------------------------------------- */

/* Logs why obj is left out of the zone, if it is. */
static void report_invalid(int kind, kc_obj *obj)
{
    dns_objects *o = dns_objects_new();
    kn_error *e = NULL;
    const cJSON *j = kc_obj_json(obj);
    int r = kind == SRC_SERVICES ? dns_objects_add_service(o, j, &e)
            : kind == SRC_SLICES ? dns_objects_add_slice(o, j, &e)
                                 : dns_objects_add_namespace(o, j, &e);
    if (r < 0)
        kn_log_kv(KN_LOG_WARNING, COMPONENT, "skipping invalid object", "error", kn_error_msg(e),
                  NULL);
    kn_error_free(&e);
    dns_objects_free(o);
}

static void mark_dirty(dns_feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->dirty = true;
    f->st.changes++;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static void on_add(kc_obj *obj, void *ud)
{
    feed_src *s = ud;
    report_invalid(s->kind, obj);
    mark_dirty(s->f);
}

static void on_update(kc_obj *old_obj, kc_obj *new_obj, void *ud)
{
    feed_src *s = ud;
    if (old_obj != new_obj &&
        strcmp(kc_obj_resource_version(old_obj), kc_obj_resource_version(new_obj)) == 0)
        return; /* a relist delivering what we have */
    if (old_obj != new_obj)
        report_invalid(s->kind, new_obj);
    mark_dirty(s->f);
}

static void on_delete(kc_obj *last, void *ud)
{
    (void)last;
    mark_dirty(((feed_src *)ud)->f);
}

/* ---- rebuilding ------------------------------------------------------------------- */

typedef struct snapshot_input {
    kc_obj **objs[SRC_N];
    size_t n[SRC_N];
} snapshot_input;

/* Adds every listed object, dropping each reference (and with it the
 * object's parsed tree) once added, so a rebuild never holds every tree. */
static void build_model(dns_objects *o, snapshot_input *in)
{
    static const int order[] = {SRC_NAMESPACES, SRC_SERVICES, SRC_SLICES};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        int src = order[k];
        for (size_t i = 0; i < in->n[src]; i++) {
            const cJSON *j = kc_obj_json(in->objs[src][i]);
            if (src == SRC_NAMESPACES)
                dns_objects_add_namespace(o, j, NULL);
            else if (src == SRC_SERVICES)
                dns_objects_add_service(o, j, NULL);
            else
                dns_objects_add_slice(o, j, NULL);
            kc_obj_unref(in->objs[src][i]);
            in->objs[src][i] = NULL;
        }
    }
}

static uint32_t next_serial(dns_feed *f)
{
    uint32_t now = (uint32_t)time(NULL);
    f->serial = now > f->serial ? now : f->serial + 1;
    return f->serial;
}

/* Lists the caches, builds a snapshot and publishes it. */
static void rebuild(dns_feed *f)
{
    int64_t t0 = kn_time_monotonic_ns();
    snapshot_input in = {0};
    for (int k = 0; k < SRC_N; k++)
        in.objs[k] = kc_informer_list(f->src[k].inf, &in.n[k]);
    dns_objects *o = dns_objects_new();
    build_model(o, &in);
    dns_zone_config cfg = f->zone;
    cfg.serial = next_serial(f);
    dns_zone *z = NULL;
    kn_error *e = NULL;
    if (dns_zone_build(&cfg, dns_objects_finish(o), &z, &e) < 0) {
        /* the domain was checked in dns_feed_new: cannot happen */
        KN_ERR(COMPONENT, "build zone: %s", kn_error_msg(e));
        kn_error_free(&e);
    }
    size_t skipped = dns_objects_skipped(o);
    dns_objects_free(o);
    for (int k = 0; k < SRC_N; k++)
        kc_objs_free(in.objs[k], in.n[k]);
    if (!z)
        return;
    dns_feed_stats st = {0};
    dns_zone_get_stats(z, &st.zone);
    dns_zone_holder_publish(f->zones, z);
    /* the previous snapshot and the model are gone: give their pages back
     * (glibc keeps freed memory otherwise, and a rebuild briefly holds two
     * snapshots) */
    malloc_trim(0);
    st.last_build_ns = kn_time_monotonic_ns() - t0;
    st.services = in.n[SRC_SERVICES];
    st.slices = in.n[SRC_SLICES];
    st.namespaces = in.n[SRC_NAMESPACES];
    st.skipped = skipped;
    pthread_mutex_lock(&f->mu);
    st.rebuilds = f->st.rebuilds + 1;
    st.changes = f->st.changes;
    f->st = st;
    bool first = !f->ready;
    f->ready = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    if (first || kn_log_v(2))
        KN_INFO(COMPONENT,
                "zone published: serial=%u services=%zu slices=%zu namespaces=%zu names=%zu "
                "records=%zu skipped=%zu build=%.1fms",
                cfg.serial, st.services, st.slices, st.namespaces, st.zone.names, st.zone.records,
                skipped, (double)st.last_build_ns / 1e6);
}

static bool all_synced(dns_feed *f)
{
    for (int k = 0; k < SRC_N; k++) {
        if (!kc_informer_has_synced(f->src[k].inf))
            return false;
    }
    return true;
}

/* Waits (mu held) until a rebuild is due; false when stopping. */
static bool wait_due(dns_feed *f, int64_t last)
{
    for (;;) {
        if (f->stop)
            return false;
        int64_t now = kn_time_monotonic_ns();
        if (!f->ready && !all_synced(f)) {
            kn_clock_wait_until(NULL, &f->cond, &f->mu, now + SYNC_POLL_NS);
            continue;
        }
        if (f->ready && !f->dirty) {
            kn_clock_wait_until(NULL, &f->cond, &f->mu, KN_TIME_NEVER);
            continue;
        }
        int64_t due = kn_time_add(last, f->interval_ns);
        if (now < due) { /* coalesce: the changes until then go in too */
            kn_clock_wait_until(NULL, &f->cond, &f->mu, due);
            continue;
        }
        return true;
    }
}

static void *feed_thread(void *arg)
{
    dns_feed *f = arg;
    int64_t last = INT64_MIN / 2;
    pthread_mutex_lock(&f->mu);
    while (wait_due(f, last)) {
        f->dirty = false;
        last = kn_time_monotonic_ns();
        pthread_mutex_unlock(&f->mu);
        rebuild(f);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* ---- lifetime ------------------------------------------------------------------- */

void dns_feed_config_default(dns_feed_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    dns_zone_config_default(&cfg->zone);
    cfg->min_interval_ns = DEFAULT_INTERVAL_NS;
}

static void copy_zone_config(dns_feed *f, const dns_zone_config *zc)
{
    f->zone = *zc;
    f->domain = xstrdup(zc->domain ? zc->domain : "");
    f->zone.domain = f->domain;
    f->ns_ips = xcalloc(zc->nns_ips + 1, sizeof(*f->ns_ips));
    for (size_t i = 0; i < zc->nns_ips; i++)
        f->ns_ips[i] = xstrdup(zc->ns_ips[i]);
    f->zone.ns_ips = (const char *const *)f->ns_ips;
}

int dns_feed_new(kc_informer_factory *factory, const dns_feed_config *cfg, dns_zone_holder *zones,
                 dns_feed **out, kn_error **err)
{
    dns_zone *probe = NULL;
    dns_model empty = {0};
    if (dns_zone_build(&cfg->zone, &empty, &probe, err) < 0)
        return -KN_EINVAL;
    dns_zone_free(probe);
    dns_feed *f = xcalloc(1, sizeof(*f));
    copy_zone_config(f, &cfg->zone);
    f->interval_ns = cfg->min_interval_ns > 0 ? cfg->min_interval_ns : DEFAULT_INTERVAL_NS;
    f->zones = zones;
    pthread_mutex_init(&f->mu, NULL);
    kn_cond_init(&f->cond);
    static const kc_resource *const res[SRC_N] = {&kc_res_services, &kc_res_endpointslices,
                                                  &kc_res_namespaces};
    static const kc_transform_fn lean[SRC_N] = {dns_objects_lean_service, dns_objects_lean_slice,
                                                dns_objects_lean_namespace};
    for (int k = 0; k < SRC_N; k++) {
        kc_informer_options io = {.transform = cfg->lean_cache ? lean[k] : NULL};
        f->src[k] = (feed_src){f, k, kc_informer_factory_get(factory, res[k], &io)};
        kc_informer_handlers h = {on_add, on_update, on_delete, &f->src[k]};
        kc_informer_add_handlers(f->src[k].inf, &h);
    }
    *out = f;
    return 0;
}

int dns_feed_start(dns_feed *f, kn_error **err)
{
    if (f->running)
        return 0;
    f->stop = false;
    int r = pthread_create(&f->thread, NULL, feed_thread, f);
    if (r != 0)
        return kn_error_errno(err, r, "start the DNS feed thread");
    f->running = true;
    return 0;
}

void dns_feed_stop(dns_feed *f)
{
    if (!f->running)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    f->running = false;
}

void dns_feed_free(dns_feed *f)
{
    if (!f)
        return;
    dns_feed_stop(f);
    for (size_t i = 0; i < f->zone.nns_ips; i++)
        free(f->ns_ips[i]);
    free(f->ns_ips);
    free(f->domain);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- state ---------------------------------------------------------------------- */

bool dns_feed_ready(dns_feed *f)
{
    pthread_mutex_lock(&f->mu);
    bool r = f->ready;
    pthread_mutex_unlock(&f->mu);
    return r;
}

bool dns_feed_wait_ready(dns_feed *f, int64_t timeout_ns)
{
    int64_t deadline =
        timeout_ns < 0 ? KN_TIME_NEVER : kn_time_add(kn_time_monotonic_ns(), timeout_ns);
    pthread_mutex_lock(&f->mu);
    while (!f->ready && kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &f->cond, &f->mu, deadline);
    bool r = f->ready;
    pthread_mutex_unlock(&f->mu);
    return r;
}

void dns_feed_get_stats(dns_feed *f, dns_feed_stats *st)
{
    pthread_mutex_lock(&f->mu);
    *st = f->st;
    pthread_mutex_unlock(&f->mu);
}

static void gauge(kn_buf *b, const char *name, const char *type, const char *help, double v)
{
    kn_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.9g\n", name, help, name, type, name, v);
}

void dns_feed_metrics(dns_feed *f, kn_buf *b)
{
    dns_feed_stats st;
    dns_feed_get_stats(f, &st);
    gauge(b, "knode_dns_zone_ready", "gauge", "1 once the first zone snapshot is published.",
          dns_feed_ready(f));
    gauge(b, "knode_dns_zone_rebuilds_total", "counter", "Zone snapshots published.",
          (double)st.rebuilds);
    gauge(b, "knode_dns_zone_changes_total", "counter", "API object changes seen.",
          (double)st.changes);
    gauge(b, "knode_dns_zone_build_seconds", "gauge", "Time the last zone rebuild took.",
          (double)st.last_build_ns / 1e9);
    gauge(b, "knode_dns_zone_services", "gauge", "Services in the zone's input.",
          (double)st.services);
    gauge(b, "knode_dns_zone_names", "gauge", "Names in the zone.", (double)st.zone.names);
    gauge(b, "knode_dns_zone_records", "gauge", "Records in the zone.", (double)st.zone.records);
    gauge(b, "knode_dns_zone_bytes", "gauge", "Memory held by the zone snapshot.",
          (double)st.zone.bytes);
    gauge(b, "knode_dns_zone_skipped_objects", "gauge",
          "Objects and endpoints left out of the zone as invalid.", (double)st.skipped);
}
