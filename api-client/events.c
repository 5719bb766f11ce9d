/* events.c - the event recorder with client-go's EventCorrelator
 * (aggregation, deduplication by patch, per-object spam filter). */
#include "api-client/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-client/kc-internal.h"
#include "lib/backoff.h"
#include "lib/cleanup.h"
#include "lib/duration.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/ratelimit.h"
#include "lib/strbuf.h"
#include "lib/xalloc.h"

/* ---- a small LRU cache on kc_map ------------------------------------------------------- */

/* Every cached value starts with this header. */
typedef struct lru_val {
    uint64_t used;
} lru_val;

typedef struct lru {
    kc_map map;
    size_t cap;
    uint64_t tick;
    void (*free_val)(void *);
} lru;

static void lru_init(lru *l, size_t cap, void (*free_val)(void *))
{
    kc_map_init(&l->map);
    l->cap = cap;
    l->tick = 0;
    l->free_val = free_val;
}

static void *lru_get(lru *l, const char *key)
{
    lru_val *v = kc_map_get(&l->map, key);
    if (v)
        v->used = ++l->tick;
    return v;
}

static void lru_evict_oldest(lru *l)
{
    size_t pos = 0;
    const char *key, *oldest = NULL;
    void *val;
    uint64_t min = UINT64_MAX;
    while (kc_map_next(&l->map, &pos, &key, &val)) {
        if (((lru_val *)val)->used < min) {
            min = ((lru_val *)val)->used;
            oldest = key;
        }
    }
    if (oldest) {
        cleanup_free char *k = xstrdup(oldest);
        l->free_val(kc_map_del(&l->map, k));
    }
}

/* Stores val (owned by the cache) under key. */
static void lru_put(lru *l, const char *key, void *val)
{
    ((lru_val *)val)->used = ++l->tick;
    void *old = kc_map_put(&l->map, key, val);
    if (old && old != val)
        l->free_val(old);
    while (l->map.len > l->cap)
        lru_evict_oldest(l);
}

/* ---- cached records ---------------------------------------------------------------------- */

typedef struct agg_record {
    lru_val h;
    char **local; /* messages seen, at most max_similar */
    size_t n;
    int64_t last;
} agg_record;

static void agg_free(void *p)
{
    agg_record *a = p;
    for (size_t i = 0; a && i < a->n; i++)
        free(a->local[i]);
    if (a)
        free(a->local);
    free(a);
}

typedef struct log_record {
    lru_val h;
    int64_t count;
    char *first, *name, *rv;
} log_record;

static void log_free(void *p)
{
    log_record *l = p;
    if (l) {
        free(l->first);
        free(l->name);
        free(l->rv);
    }
    free(l);
}

typedef struct spam_record {
    lru_val h;
    kn_ratelimit *rl;
} spam_record;

static void spam_free(void *p)
{
    spam_record *s = p;
    if (s)
        kn_ratelimit_free(s->rl);
    free(s);
}

/* ---- the recorder ------------------------------------------------------------------------ */

struct kc_event_recorder {
    kc_client *client;
    kc_event_recorder_options o;
    char *component, *host;
    kn_clock *clock;
    kn_rand rand;
    lru agg, log, spam;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    cJSON **queue;
    size_t head, len;
    uint64_t enqueued, done; /* flush waits for done to catch up */
    bool stop;
    kc_event_stats stats;
};

static const char *str(const cJSON *o, const char *path)
{
    const char *v = NULL;
    kn_json_get_string_opt(o, path, "", &v, NULL);
    return v ? v : "";
}

static void set_str(cJSON *o, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, v);
}

static void set_num(cJSON *o, const char *key, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddNumberToObject(o, key, v);
}

/* metav1.Time: RFC 3339 with second precision. */
static void format_time(int64_t wall_ns, char out[32])
{
    time_t s = (time_t)(wall_ns / KN_NSEC_PER_SEC);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* client-go's getEventKey: every identifying field and the message. */
static char *event_key(const cJSON *e)
{
    return xasprintf("%s%s%s%s%s%s%s%s%s%s%s", str(e, "source.component"), str(e, "source.host"),
                     str(e, "involvedObject.kind"), str(e, "involvedObject.namespace"),
                     str(e, "involvedObject.name"), str(e, "involvedObject.fieldPath"),
                     str(e, "involvedObject.uid"), str(e, "involvedObject.apiVersion"),
                     str(e, "type"), str(e, "reason"), str(e, "message"));
}

/* EventAggregatorByReasonFunc: the same without message and fieldPath,
 * with the reporting controller and instance. */
static char *aggregate_key(const cJSON *e)
{
    return xasprintf("%s%s%s%s%s%s%s%s%s%s%s", str(e, "source.component"), str(e, "source.host"),
                     str(e, "involvedObject.kind"), str(e, "involvedObject.namespace"),
                     str(e, "involvedObject.name"), str(e, "involvedObject.uid"),
                     str(e, "involvedObject.apiVersion"), str(e, "type"), str(e, "reason"),
                     str(e, "reportingComponent"), str(e, "reportingInstance"));
}

/* getSpamKey: source and object. */
static char *spam_key(const cJSON *e)
{
    return xasprintf("%s%s%s%s%s%s%s", str(e, "source.component"), str(e, "source.host"),
                     str(e, "involvedObject.kind"), str(e, "involvedObject.namespace"),
                     str(e, "involvedObject.name"), str(e, "involvedObject.uid"),
                     str(e, "involvedObject.apiVersion"));
}

/* ---- correlation --------------------------------------------------------------------------- */

static bool agg_has(const agg_record *a, const char *msg)
{
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->local[i], msg) == 0)
            return true;
    }
    return false;
}

/* The combined event that stands for ev once too many similar ones came. */
static cJSON *combined_event(const cJSON *ev, int64_t now)
{
    char ts[32];
    format_time(now, ts);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "apiVersion", "v1");
    cJSON_AddStringToObject(c, "kind", "Event");
    cJSON *md = cJSON_AddObjectToObject(c, "metadata");
    cleanup_free char *name =
        xasprintf("%s.%llx", str(ev, "involvedObject.name"), (unsigned long long)now);
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", str(ev, "metadata.namespace"));
    cJSON_AddItemToObject(c, "involvedObject",
                          cJSON_Duplicate(cJSON_GetObjectItem(ev, "involvedObject"), 1));
    cJSON_AddNumberToObject(c, "count", 1);
    cJSON_AddStringToObject(c, "firstTimestamp", ts);
    cJSON_AddStringToObject(c, "lastTimestamp", ts);
    cleanup_free char *msg = xasprintf("(combined from similar events): %s", str(ev, "message"));
    cJSON_AddStringToObject(c, "message", msg);
    cJSON_AddStringToObject(c, "type", str(ev, "type"));
    cJSON_AddStringToObject(c, "reason", str(ev, "reason"));
    cJSON_AddItemToObject(c, "source", cJSON_Duplicate(cJSON_GetObjectItem(ev, "source"), 1));
    return c;
}

/* EventAggregate: returns the event to go on with (ev itself, or a new
 * combined event that replaces it) and the logger's cache key. */
static cJSON *aggregate(kc_event_recorder *r, cJSON *ev, char **cache_key)
{
    int64_t now = kn_clock_now(r->clock);
    cleanup_free char *akey = aggregate_key(ev);
    agg_record *a = lru_get(&r->agg, akey);
    if (!a || now - a->last > r->o.max_interval_ns) {
        a = xcalloc(1, sizeof(*a));
        a->local = xcalloc((size_t)r->o.max_similar + 1, sizeof(char *));
        lru_put(&r->agg, akey, a);
    }
    if (!agg_has(a, str(ev, "message")) && a->n <= (size_t)r->o.max_similar)
        a->local[a->n++] = xstrdup(str(ev, "message"));
    a->last = now;
    if (a->n < (size_t)r->o.max_similar) {
        *cache_key = event_key(ev);
        return ev;
    }
    free(a->local[--a->n]); /* PopAny: do not grow beyond the threshold */
    *cache_key = kn_steal_ptr(akey);
    cJSON *c = combined_event(ev, now);
    cJSON_Delete(ev);
    return c;
}

static void remember(kc_event_recorder *r, const char *key, const cJSON *ev)
{
    log_record *l = xcalloc(1, sizeof(*l));
    int64_t count = 1;
    kn_json_get_int64_opt(ev, "count", 1, &count, NULL);
    l->count = count;
    l->first = xstrdup(str(ev, "firstTimestamp"));
    l->name = xstrdup(str(ev, "metadata.name"));
    l->rv = xstrdup(str(ev, "metadata.resourceVersion"));
    lru_put(&r->log, key, l);
}

/* eventObserve: an event seen before becomes a patch of the existing one;
 * *patch (owned) is NULL for a new event. */
static void observe(kc_event_recorder *r, cJSON *ev, const char *key, char **patch)
{
    log_record *l = lru_get(&r->log, key);
    *patch = NULL;
    if (l && l->count > 0) {
        cJSON *md = cJSON_GetObjectItem(ev, "metadata");
        set_str(md, "name", l->name);
        if (*l->rv)
            set_str(md, "resourceVersion", l->rv);
        set_str(ev, "firstTimestamp", l->first);
        set_num(ev, "count", (double)(l->count + 1));
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "count", (double)(l->count + 1));
        cJSON_AddStringToObject(p, "lastTimestamp", str(ev, "lastTimestamp"));
        cJSON_AddStringToObject(p, "message", str(ev, "message"));
        *patch = kn_json_print(p);
        cJSON_Delete(p);
    }
    remember(r, key, ev);
}

/* EventSourceObjectSpamFilter: true when the event is to be dropped. */
static bool spam_filtered(kc_event_recorder *r, const cJSON *ev)
{
    cleanup_free char *key = spam_key(ev);
    spam_record *s = lru_get(&r->spam, key);
    if (!s) {
        s = xcalloc(1, sizeof(*s));
        s->rl = kn_ratelimit_new(r->clock, r->o.spam_qps, r->o.spam_burst);
        lru_put(&r->spam, key, s);
    }
    return !kn_ratelimit_try_accept(s->rl);
}

/* ---- writing ------------------------------------------------------------------------------- */

/* No answer from the server: retry. Any answer (a Status) is final, as
 * client-go's recordEvent treats a StatusError (the client already retried
 * 429 and 5xx with Retry-After). */
static bool retriable(kn_errcode c)
{
    return c == KN_EUNAVAILABLE || c == KN_ETIMEDOUT;
}

/* One attempt: true when done (written, or refused for good). */
static bool write_event(kc_event_recorder *r, cJSON *ev, const char *patch)
{
    cleanup_cjson cJSON *out = NULL;
    cleanup_error kn_error *err = NULL;
    const char *ns = str(ev, "metadata.namespace");
    bool patched = false;
    int rc = -1;
    if (patch) {
        rc = kc_patch(r->client, &kc_res_events, ns, str(ev, "metadata.name"), NULL,
                      KC_PATCH_STRATEGIC, patch, &out, &err);
        patched = rc == 0;
    }
    if (!patch || (rc < 0 && kn_error_code(err) == KN_ENOTFOUND)) {
        kn_error_free(&err);
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(ev, "metadata"),
                                                "resourceVersion");
        rc = kc_create(r->client, &kc_res_events, ns, ev, &out, &err);
    }
    pthread_mutex_lock(&r->mu);
    if (rc == 0) {
        cleanup_free char *key = event_key(out);
        remember(r, key, out);
        if (patched)
            r->stats.patched++;
        else
            r->stats.created++;
    } else if (!retriable(kn_error_code(err))) {
        r->stats.dropped++;
        KN_V(2, "events", "server rejected event %s/%s: %s", ns, str(ev, "metadata.name"),
             kn_error_msg(err));
    }
    pthread_mutex_unlock(&r->mu);
    if (rc < 0 && retriable(kn_error_code(err)))
        KN_WARN("events", "unable to write event %s/%s (may retry): %s", ns,
                str(ev, "metadata.name"), kn_error_msg(err));
    return rc == 0 || !retriable(kn_error_code(err));
}

/* Waits (mu held) d ns on the clock unless stopping; false when stopping. */
static bool pause_for(kc_event_recorder *r, int64_t d)
{
    int64_t until = kn_time_add(kn_clock_now(r->clock), d);
    while (!r->stop && kn_clock_now(r->clock) < until)
        kn_clock_wait_until(r->clock, &r->cond, &r->mu, until);
    return !r->stop;
}

/* recordToSink: correlate, then write with retries. */
static void record_to_sink(kc_event_recorder *r, cJSON *ev)
{
    cleanup_free char *key = NULL, *patch = NULL;
    pthread_mutex_lock(&r->mu);
    ev = aggregate(r, ev, &key);
    observe(r, ev, key, &patch);
    bool skip = spam_filtered(r, ev);
    if (skip)
        r->stats.filtered++;
    pthread_mutex_unlock(&r->mu);
    for (int tries = 1; !skip && !write_event(r, ev, patch); tries++) {
        pthread_mutex_lock(&r->mu);
        int64_t d = tries == 1 ? (int64_t)((double)r->o.retry_sleep_ns * kn_rand_float(&r->rand))
                               : r->o.retry_sleep_ns;
        bool go_on = tries < r->o.max_tries && pause_for(r, d);
        if (!go_on)
            r->stats.dropped++;
        pthread_mutex_unlock(&r->mu);
        if (!go_on)
            break;
    }
    cJSON_Delete(ev);
}

static void *recorder_main(void *arg)
{
    kc_event_recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->len && !r->stop)
            pthread_cond_wait(&r->cond, &r->mu);
        if (!r->len)
            break;
        cJSON *ev = r->queue[r->head];
        r->head = (r->head + 1) % r->o.queue_len;
        r->len--;
        pthread_mutex_unlock(&r->mu);
        record_to_sink(r, ev);
        pthread_mutex_lock(&r->mu);
        r->done++;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the public side ------------------------------------------------------------------------ */

static void defaults(kc_event_recorder_options *o)
{
    if (!o->queue_len)
        o->queue_len = 1000;
    if (!o->retry_sleep_ns)
        o->retry_sleep_ns = 10 * KN_NSEC_PER_SEC;
    if (!o->max_tries)
        o->max_tries = 12;
    if (!o->spam_burst)
        o->spam_burst = 25;
    if (o->spam_qps == 0)
        o->spam_qps = 1.0 / 300;
    if (!o->max_similar)
        o->max_similar = 10;
    if (!o->max_interval_ns)
        o->max_interval_ns = 600 * KN_NSEC_PER_SEC;
    if (!o->cache_size)
        o->cache_size = 4096;
}

int kc_event_recorder_new(kc_client *c, const kc_event_recorder_options *o, kc_event_recorder **out,
                          kn_error **err)
{
    if (!o || !o->component || !*o->component)
        return kn_error_set(err, KN_EINVAL, "an event recorder needs a component name");
    kc_event_recorder *r = xcalloc(1, sizeof(*r));
    r->client = c;
    r->o = *o;
    defaults(&r->o);
    r->component = xstrdup(o->component);
    r->host = xstrdup(o->host ? o->host : "");
    r->clock = o->clock ? o->clock : kn_clock_realtime();
    kn_rand_init(&r->rand);
    lru_init(&r->agg, r->o.cache_size, agg_free);
    lru_init(&r->log, r->o.cache_size, log_free);
    lru_init(&r->spam, r->o.cache_size, spam_free);
    r->queue = xcalloc(r->o.queue_len, sizeof(cJSON *));
    pthread_mutex_init(&r->mu, NULL);
    kn_cond_init(&r->cond);
    if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
        int e = errno;
        r->thread = 0;
        r->stop = true;
        kc_event_recorder_free(r);
        return kn_error_errno(err, e, "start the event recorder");
    }
    *out = r;
    return 0;
}

void kc_event_recorder_free(kc_event_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    bool running = !r->stop;
    r->stop = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    if (running)
        pthread_join(r->thread, NULL);
    for (size_t i = 0; i < r->len; i++)
        cJSON_Delete(r->queue[(r->head + i) % r->o.queue_len]);
    free(r->queue);
    kc_map_free(&r->agg.map, agg_free);
    kc_map_free(&r->log.map, log_free);
    kc_map_free(&r->spam.map, spam_free);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r->component);
    free(r->host);
    free(r);
}

static void add_opt(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
}

void kc_object_ref_of(const cJSON *obj, kc_object_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    kn_json_get_string_opt(obj, "kind", NULL, &ref->kind, NULL);
    kn_json_get_string_opt(obj, "apiVersion", NULL, &ref->api_version, NULL);
    kn_json_get_string_opt(obj, "metadata.namespace", NULL, &ref->ns, NULL);
    kn_json_get_string_opt(obj, "metadata.name", NULL, &ref->name, NULL);
    kn_json_get_string_opt(obj, "metadata.uid", NULL, &ref->uid, NULL);
    kn_json_get_string_opt(obj, "metadata.resourceVersion", NULL, &ref->resource_version, NULL);
}

/* client-go's makeEvent. */
static cJSON *make_event(kc_event_recorder *r, const kc_object_ref *ref, const char *type,
                         const char *reason, const char *msg)
{
    int64_t now = kn_clock_now(r->clock);
    char ts[32];
    format_time(now, ts);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    cJSON *md = cJSON_AddObjectToObject(e, "metadata");
    cleanup_free char *name =
        xasprintf("%s.%llx", ref->name ? ref->name : "", (unsigned long long)now);
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ref->ns && *ref->ns ? ref->ns : "default");
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    add_opt(io, "kind", ref->kind);
    add_opt(io, "namespace", ref->ns);
    add_opt(io, "name", ref->name);
    add_opt(io, "uid", ref->uid);
    add_opt(io, "apiVersion", ref->api_version);
    add_opt(io, "resourceVersion", ref->resource_version);
    add_opt(io, "fieldPath", ref->field_path);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON *src = cJSON_AddObjectToObject(e, "source");
    add_opt(src, "component", r->component);
    add_opt(src, "host", r->host);
    cJSON_AddStringToObject(e, "firstTimestamp", ts);
    cJSON_AddStringToObject(e, "lastTimestamp", ts);
    cJSON_AddNumberToObject(e, "count", 1);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(e, "reportingComponent", r->component);
    cJSON_AddStringToObject(e, "reportingInstance", r->host);
    return e;
}

void kc_event_record(kc_event_recorder *r, const kc_object_ref *obj, const char *type,
                     const char *reason, const char *fmt, ...)
{
    if (!type || (strcmp(type, "Normal") != 0 && strcmp(type, "Warning") != 0)) {
        KN_ERR("events", "unsupported event type: '%s'", type ? type : "");
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    cJSON *ev = make_event(r, obj, type, reason, msg);
    pthread_mutex_lock(&r->mu);
    if (r->len == r->o.queue_len || r->stop) {
        r->stats.dropped++;
        cJSON_Delete(ev);
    } else {
        r->queue[(r->head + r->len) % r->o.queue_len] = ev;
        r->len++;
        r->enqueued++;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->mu);
}

void kc_event_recorder_flush(kc_event_recorder *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t target = r->enqueued;
    while (r->done < target)
        pthread_cond_wait(&r->cond, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

void kc_event_recorder_stats(kc_event_recorder *r, kc_event_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}
