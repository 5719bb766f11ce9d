#include "lib/workqueue.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ratelimit.h"
#include "lib/timerheap.h"
#include "lib/xalloc.h"

#define DEFAULT_BASE_DELAY INT64_C(5000000)            /* 5ms */
#define DEFAULT_MAX_DELAY (INT64_C(1000) * 1000000000) /* 1000s */
#define DEFAULT_QPS 10.0
#define DEFAULT_BURST 100

/* Everything known about one key. It exists while any field is set and is
 * freed by item_release otherwise. */
typedef struct wq_item {
    char *key;
    bool dirty;        /* needs processing (queued, or re-added while processing) */
    bool processing;   /* handed out by get, no done yet */
    unsigned failures; /* add_rate_limited calls since forget */
    kn_timer_id timer; /* pending add_after, 0 = none */
} wq_item;

struct kn_workqueue {
    pthread_mutex_t lock;
    pthread_cond_t cond_get;   /* getters: key queued, shutdown, earlier timer */
    pthread_cond_t cond_drain; /* shutdown_with_drain: nothing processing */
    kn_clock *clock;
    void *items; /* tsearch tree of wq_item * by key */
    wq_item **fifo;
    size_t head, count, cap;
    size_t nprocessing;
    kn_timerheap *delayed; /* data: wq_item * */
    kn_ratelimit *bucket;
    int64_t base_delay, max_delay;
    bool shutting_down, drain;
};

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const wq_item *)a)->key, ((const wq_item *)b)->key);
}

static void item_free(void *p)
{
    wq_item *it = p;
    free(it->key);
    free(it);
}

kn_workqueue *kn_workqueue_new(const kn_workqueue_opts *opts)
{
    kn_workqueue_opts o = opts ? *opts : (kn_workqueue_opts){0};
    kn_workqueue *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    kn_cond_init(&q->cond_get);
    pthread_cond_init(&q->cond_drain, NULL);
    q->clock = o.clock ? o.clock : kn_clock_monotonic();
    q->delayed = kn_timerheap_new();
    q->bucket = kn_ratelimit_new(q->clock, o.qps != 0 ? o.qps : DEFAULT_QPS,
                                 o.burst != 0 ? o.burst : DEFAULT_BURST);
    q->base_delay = o.base_delay_ns > 0 ? o.base_delay_ns : DEFAULT_BASE_DELAY;
    q->max_delay = o.max_delay_ns > 0 ? o.max_delay_ns : DEFAULT_MAX_DELAY;
    return q;
}

void kn_workqueue_free(kn_workqueue *q)
{
    if (!q)
        return;
    tdestroy(q->items, item_free);
    free(q->fifo);
    kn_timerheap_free(q->delayed);
    kn_ratelimit_free(q->bucket);
    pthread_cond_destroy(&q->cond_drain);
    pthread_cond_destroy(&q->cond_get);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* ---- key state (called with q->lock held) ---------------------------------------- */

static wq_item *item_find(kn_workqueue *q, const char *key)
{
    wq_item probe = {.key = (char *)key};
    wq_item **node = tfind(&probe, &q->items, item_cmp);
    return node ? *node : NULL;
}

static wq_item *item_get(kn_workqueue *q, const char *key)
{
    wq_item *it = item_find(q, key);
    if (it)
        return it;
    it = xcalloc(1, sizeof(*it));
    it->key = xstrdup(key);
    if (!tsearch(it, &q->items, item_cmp))
        kn_oom();
    return it;
}

/* Frees the key's state once nothing refers to it any more. */
static void item_release(kn_workqueue *q, wq_item *it)
{
    if (it->dirty || it->processing || it->failures || it->timer)
        return;
    tdelete(it, &q->items, item_cmp);
    item_free(it);
}

static void fifo_push(kn_workqueue *q, wq_item *it)
{
    if (q->count == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        wq_item **n = xreallocarray(NULL, ncap, sizeof(*n));
        for (size_t i = 0; i < q->count; i++)
            n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->fifo[(q->head + q->count) % q->cap] = it;
    q->count++;
}

static wq_item *fifo_pop(kn_workqueue *q)
{
    wq_item *it = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return it;
}

/* client-go Add: dirty keys are not queued twice; keys being processed are
 * queued again by done. */
static void add_locked(kn_workqueue *q, wq_item *it)
{
    if (q->shutting_down || it->dirty)
        return;
    it->dirty = true;
    if (it->processing)
        return;
    fifo_push(q, it);
    pthread_cond_signal(&q->cond_get);
}

/* Moves every delayed key whose time has come into the queue. */
static void promote_due(kn_workqueue *q)
{
    if (q->shutting_down || kn_timerheap_len(q->delayed) == 0)
        return;
    int64_t now = kn_clock_now(q->clock);
    kn_timer_entry e;
    while (kn_timerheap_pop_expired(q->delayed, now, &e)) {
        wq_item *it = e.data;
        it->timer = 0;
        add_locked(q, it);
    }
}

static void add_after_locked(kn_workqueue *q, const char *key, int64_t delay_ns)
{
    if (delay_ns <= 0) {
        add_locked(q, item_get(q, key));
        return;
    }
    int64_t deadline = kn_time_add(kn_clock_now(q->clock), delay_ns);
    wq_item *it = item_get(q, key);
    int64_t current;
    if (it->timer && kn_timerheap_pending(q->delayed, it->timer, &current)) {
        if (deadline >= current)
            return;
        kn_timerheap_reschedule(q->delayed, it->timer, deadline);
    } else {
        it->timer = kn_timerheap_add(q->delayed, deadline, NULL, it);
    }
    /* a getter may be waiting for a later deadline: let it re-arm */
    if (kn_timerheap_next_deadline(q->delayed) == deadline)
        pthread_cond_broadcast(&q->cond_get);
}

/* client-go ItemExponentialFailureRateLimiter.When: base * 2^failures, capped. */
static int64_t item_delay(kn_workqueue *q, wq_item *it)
{
    unsigned exp = it->failures;
    if (it->failures < UINT32_MAX)
        it->failures++;
    if (exp >= 62)
        return q->max_delay;
    int64_t d;
    if (__builtin_mul_overflow(q->base_delay, INT64_C(1) << exp, &d) || d > q->max_delay)
        return q->max_delay;
    return d;
}

/* ---- public API ---------------------------------------------------------------------- */

void kn_workqueue_add(kn_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    if (!q->shutting_down) {
        promote_due(q);
        add_locked(q, item_get(q, key));
    }
    pthread_mutex_unlock(&q->lock);
}

bool kn_workqueue_get(kn_workqueue *q, char **key)
{
    pthread_mutex_lock(&q->lock);
    for (;;) {
        promote_due(q);
        if (q->count > 0)
            break;
        if (q->shutting_down) {
            pthread_mutex_unlock(&q->lock);
            *key = NULL;
            return false;
        }
        kn_clock_wait_until(q->clock, &q->cond_get, &q->lock,
                            kn_timerheap_next_deadline(q->delayed));
    }
    wq_item *it = fifo_pop(q);
    it->processing = true;
    it->dirty = false;
    q->nprocessing++;
    *key = xstrdup(it->key);
    pthread_mutex_unlock(&q->lock);
    return true;
}

void kn_workqueue_done(kn_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    wq_item *it = item_find(q, key);
    if (it && it->processing) {
        it->processing = false;
        q->nprocessing--;
        if (it->dirty) {
            fifo_push(q, it);
            pthread_cond_signal(&q->cond_get);
        } else {
            item_release(q, it);
        }
        if (q->nprocessing == 0)
            pthread_cond_broadcast(&q->cond_drain);
    }
    pthread_mutex_unlock(&q->lock);
}

void kn_workqueue_add_after(kn_workqueue *q, const char *key, int64_t delay_ns)
{
    pthread_mutex_lock(&q->lock);
    if (!q->shutting_down) {
        promote_due(q);
        add_after_locked(q, key, delay_ns);
    }
    pthread_mutex_unlock(&q->lock);
}

void kn_workqueue_add_rate_limited(kn_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    if (!q->shutting_down) {
        promote_due(q);
        int64_t d = item_delay(q, item_get(q, key));
        int64_t overall = kn_ratelimit_reserve(q->bucket);
        add_after_locked(q, key, overall > d ? overall : d);
    }
    pthread_mutex_unlock(&q->lock);
}

void kn_workqueue_forget(kn_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    wq_item *it = item_find(q, key);
    if (it) {
        it->failures = 0;
        item_release(q, it);
    }
    pthread_mutex_unlock(&q->lock);
}

unsigned kn_workqueue_num_requeues(kn_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->lock);
    wq_item *it = item_find(q, key);
    unsigned n = it ? it->failures : 0;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t kn_workqueue_len(kn_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    promote_due(q);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t kn_workqueue_delayed_len(kn_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    promote_due(q);
    size_t n = kn_timerheap_len(q->delayed);
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* Drops every waiting key (shutdown discards them, as client-go's waiting
 * loop stops). */
static void drop_delayed(kn_workqueue *q)
{
    kn_timer_entry e;
    while (kn_timerheap_pop_expired(q->delayed, KN_TIME_NEVER, &e)) {
        wq_item *it = e.data;
        it->timer = 0;
        item_release(q, it);
    }
}

void kn_workqueue_shutdown(kn_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->shutting_down = true;
    q->drain = false;
    drop_delayed(q);
    pthread_cond_broadcast(&q->cond_get);
    pthread_cond_broadcast(&q->cond_drain);
    pthread_mutex_unlock(&q->lock);
}

void kn_workqueue_shutdown_with_drain(kn_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->shutting_down = true;
    q->drain = true;
    drop_delayed(q);
    pthread_cond_broadcast(&q->cond_get);
    while (q->nprocessing > 0 && q->drain)
        pthread_cond_wait(&q->cond_drain, &q->lock);
    pthread_mutex_unlock(&q->lock);
}

bool kn_workqueue_shutting_down(kn_workqueue *q)
{
    pthread_mutex_lock(&q->lock);
    bool r = q->shutting_down;
    pthread_mutex_unlock(&q->lock);
    return r;
}
