/* Tests for lib/workqueue: client-go workqueue semantics on a fake clock,
 * plus multi-threaded runs (several producers and consumers) that check
 * every key is processed after its last add, never by two consumers at once,
 * and never queued twice. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/workqueue.h"
#include "test/runner/kt.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

typedef struct fixture {
    kn_fake_clock fc;
    kn_workqueue *q;
} fixture;

static void setup(fixture *f, const kn_workqueue_opts *opts)
{
    kn_fake_clock_init(&f->fc, 0);
    kn_workqueue_opts o = opts ? *opts : (kn_workqueue_opts){0};
    o.clock = &f->fc.clock;
    f->q = kn_workqueue_new(&o);
}

static void teardown(fixture *f)
{
    kn_workqueue_shutdown(f->q);
    kn_workqueue_free(f->q);
    kn_fake_clock_destroy(&f->fc);
}

/* Gets one key (the queue must not be empty) and checks it. */
static void expect_get(kn_workqueue *q, const char *want)
{
    char *key = NULL;
    KT_ASSERT(kn_workqueue_len(q) > 0);
    KT_ASSERT(kn_workqueue_get(q, &key));
    KT_ASSERT_STREQ(key, want);
    free(key);
}

static void get_done(kn_workqueue *q, const char *want)
{
    expect_get(q, want);
    kn_workqueue_done(q, want);
}

KT_TEST(workqueue, fifo_order)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "b");
    kn_workqueue_add(f.q, "c");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 3);
    get_done(f.q, "a");
    get_done(f.q, "b");
    get_done(f.q, "c");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    teardown(&f);
}

KT_TEST(workqueue, dedups_queued_keys)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "b");
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 2);
    get_done(f.q, "a"); /* keeps its first place */
    get_done(f.q, "b");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    teardown(&f);
}

KT_TEST(workqueue, readd_while_processing_waits_for_done)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    expect_get(f.q, "a");
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0); /* not handed to a second worker */
    kn_workqueue_add(f.q, "b");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 1);
    kn_workqueue_done(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 2);
    get_done(f.q, "b");
    get_done(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    teardown(&f);
}

KT_TEST(workqueue, done_of_unknown_key_is_ignored)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_done(f.q, "nope");
    kn_workqueue_add(f.q, "a");
    kn_workqueue_done(f.q, "a"); /* queued, not processing */
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 1);
    get_done(f.q, "a");
    kn_workqueue_done(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    teardown(&f);
}

KT_TEST(workqueue, add_after_waits_for_the_clock)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add_after(f.q, "a", 10 * SEC);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 1);
    kn_fake_clock_advance(&f.fc, 10 * SEC - 1);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    kn_fake_clock_advance(&f.fc, 1);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 1);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 0);
    get_done(f.q, "a");

    kn_workqueue_add_after(f.q, "now", 0);
    kn_workqueue_add_after(f.q, "past", -5 * SEC);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 2);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 0);
    teardown(&f);
}

/* A waiting key only ever moves earlier (client-go's knownEntries rule). */
KT_TEST(workqueue, add_after_keeps_the_earliest_time)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add_after(f.q, "a", 10 * SEC);
    kn_workqueue_add_after(f.q, "a", 5 * SEC);
    kn_workqueue_add_after(f.q, "a", 20 * SEC);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 1);
    kn_fake_clock_advance(&f.fc, 5 * SEC);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 1);
    get_done(f.q, "a");
    kn_fake_clock_advance(&f.fc, 30 * SEC);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    teardown(&f);
}

/* add() does not cancel a pending add_after: the key is queued now and again
 * when its time comes. */
KT_TEST(workqueue, add_and_add_after_are_independent)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add_after(f.q, "a", 10 * SEC);
    kn_workqueue_add(f.q, "a");
    get_done(f.q, "a");
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
    kn_fake_clock_advance(&f.fc, 10 * SEC);
    get_done(f.q, "a");
    teardown(&f);
}

KT_TEST(workqueue, delayed_keys_keep_due_order)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add_after(f.q, "b", 2 * SEC);
    kn_workqueue_add_after(f.q, "a", 1 * SEC);
    kn_workqueue_add_after(f.q, "a2", 1 * SEC);
    kn_fake_clock_advance(&f.fc, 1 * SEC);
    kn_workqueue_add(f.q, "c"); /* after a and a2 became due */
    kn_fake_clock_advance(&f.fc, 1 * SEC);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 4);
    get_done(f.q, "a");
    get_done(f.q, "a2");
    get_done(f.q, "c");
    get_done(f.q, "b");
    teardown(&f);
}

typedef struct getter {
    kn_workqueue *q;
    char *key;
    bool ok;
} getter;

static void *getter_main(void *p)
{
    getter *g = p;
    g->ok = kn_workqueue_get(g->q, &g->key);
    return NULL;
}

/* A blocked getter is woken by the fake clock reaching a delayed key. */
KT_TEST(workqueue, blocked_get_wakes_on_delayed_key)
{
    fixture f;
    setup(&f, NULL);
    getter g = {.q = f.q};
    pthread_t th;
    pthread_create(&th, NULL, getter_main, &g);
    kn_fake_clock_wait_for_waiters(&f.fc, 1); /* parked, nothing queued */
    kn_workqueue_add_after(f.q, "late", 30 * SEC);
    kn_workqueue_add_after(f.q, "soon", 5 * SEC);
    kn_fake_clock_advance(&f.fc, 5 * SEC);
    pthread_join(th, NULL);
    KT_ASSERT(g.ok);
    KT_ASSERT_STREQ(g.key, "soon");
    kn_workqueue_done(f.q, g.key);
    free(g.key);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 1);
    teardown(&f);
}

KT_TEST(workqueue, blocked_get_wakes_on_add)
{
    fixture f;
    setup(&f, NULL);
    getter g = {.q = f.q};
    pthread_t th;
    pthread_create(&th, NULL, getter_main, &g);
    kn_fake_clock_wait_for_waiters(&f.fc, 1);
    kn_workqueue_add(f.q, "x");
    pthread_join(th, NULL);
    KT_ASSERT(g.ok);
    KT_ASSERT_STREQ(g.key, "x");
    free(g.key);
    teardown(&f);
}

/* Per-item exponential failure backoff: 5ms, 10ms, 20ms, ... */
KT_TEST(workqueue, rate_limited_per_item_backoff)
{
    fixture f;
    setup(&f, NULL);
    int64_t delay = 5 * MS;
    for (unsigned i = 0; i < 6; i++) {
        KT_ASSERT_EQ(kn_workqueue_num_requeues(f.q, "k"), i);
        kn_workqueue_add_rate_limited(f.q, "k");
        KT_ASSERT_EQ(kn_workqueue_num_requeues(f.q, "k"), i + 1);
        kn_fake_clock_advance(&f.fc, delay - 1);
        KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
        kn_fake_clock_advance(&f.fc, 1);
        get_done(f.q, "k");
        delay *= 2;
    }
    kn_workqueue_forget(f.q, "k");
    KT_ASSERT_EQ(kn_workqueue_num_requeues(f.q, "k"), 0);
    kn_workqueue_add_rate_limited(f.q, "k");
    kn_fake_clock_advance(&f.fc, 5 * MS);
    get_done(f.q, "k");
    KT_ASSERT_EQ(kn_workqueue_num_requeues(f.q, "other"), 0);
    kn_workqueue_forget(f.q, "other");
    teardown(&f);
}

KT_TEST(workqueue, rate_limited_caps_at_max)
{
    fixture f;
    setup(&f, &(kn_workqueue_opts){.base_delay_ns = 1 * SEC, .max_delay_ns = 10 * SEC});
    int64_t expect[] = {1, 2, 4, 8, 10, 10};
    for (int i = 0; i < 6; i++) {
        kn_workqueue_add_rate_limited(f.q, "k");
        kn_fake_clock_advance(&f.fc, expect[i] * SEC - 1);
        KT_ASSERT_EQ(kn_workqueue_len(f.q), 0);
        kn_fake_clock_advance(&f.fc, 1);
        get_done(f.q, "k");
    }
    /* many failures: the doubling never overflows past the cap */
    for (int i = 0; i < 100; i++)
        kn_workqueue_add_rate_limited(f.q, "k");
    KT_ASSERT_EQ(kn_workqueue_num_requeues(f.q, "k"), 106);
    kn_fake_clock_advance(&f.fc, 10 * SEC);
    get_done(f.q, "k");
    teardown(&f);
}

/* The overall bucket (10 qps, burst 100) spaces out a storm of distinct
 * keys: the first 100 go after the per-item 5ms, then one per 100ms. */
KT_TEST(workqueue, rate_limited_overall_bucket)
{
    fixture f;
    setup(&f, NULL);
    char key[16];
    for (int i = 0; i < 103; i++) {
        snprintf(key, sizeof(key), "k%03d", i);
        kn_workqueue_add_rate_limited(f.q, key);
    }
    kn_fake_clock_advance(&f.fc, 5 * MS);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 100);
    kn_fake_clock_advance(&f.fc, 95 * MS - 1);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 100);
    kn_fake_clock_advance(&f.fc, 1);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 101);
    kn_fake_clock_advance(&f.fc, 200 * MS);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 103);
    for (int i = 0; i < 103; i++) {
        snprintf(key, sizeof(key), "k%03d", i);
        get_done(f.q, key);
    }
    teardown(&f);
}

KT_TEST(workqueue, unlimited_bucket_option)
{
    fixture f;
    setup(&f, &(kn_workqueue_opts){.qps = INFINITY});
    char key[16];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%03d", i);
        kn_workqueue_add_rate_limited(f.q, key);
    }
    kn_fake_clock_advance(&f.fc, 5 * MS);
    KT_ASSERT_EQ(kn_workqueue_len(f.q), 500);
    teardown(&f);
}

KT_TEST(workqueue, shutdown_hands_out_queued_then_stops)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "b");
    kn_workqueue_add_after(f.q, "delayed", 1 * SEC);
    expect_get(f.q, "a");
    kn_workqueue_add(f.q, "a"); /* dirty while processing */
    KT_ASSERT(!kn_workqueue_shutting_down(f.q));
    kn_workqueue_shutdown(f.q);
    KT_ASSERT(kn_workqueue_shutting_down(f.q));
    kn_workqueue_add(f.q, "ignored");
    kn_workqueue_add_after(f.q, "ignored2", 1);
    kn_workqueue_add_rate_limited(f.q, "ignored3");
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 0);
    get_done(f.q, "b");
    kn_workqueue_done(f.q, "a"); /* re-queued: it was added before shutdown */
    get_done(f.q, "a");
    kn_fake_clock_advance(&f.fc, 10 * SEC);
    char *key = (char *)"x";
    KT_ASSERT(!kn_workqueue_get(f.q, &key));
    KT_ASSERT(key == NULL);
    teardown(&f);
}

KT_TEST(workqueue, shutdown_wakes_all_getters)
{
    enum { N = 4 };
    fixture f;
    setup(&f, NULL);
    getter g[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        g[i] = (getter){.q = f.q};
        pthread_create(&th[i], NULL, getter_main, &g[i]);
    }
    kn_fake_clock_wait_for_waiters(&f.fc, N);
    kn_workqueue_shutdown(f.q);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        KT_ASSERT(!g[i].ok);
    }
    teardown(&f);
}

typedef struct drainer {
    kn_workqueue *q;
    int returned; /* atomic */
} drainer;

static void *drainer_main(void *p)
{
    drainer *d = p;
    kn_workqueue_shutdown_with_drain(d->q);
    __atomic_store_n(&d->returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

KT_TEST(workqueue, shutdown_with_drain_waits_for_done)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    kn_workqueue_add(f.q, "b");
    expect_get(f.q, "a");
    drainer d = {.q = f.q};
    pthread_t th;
    pthread_create(&th, NULL, drainer_main, &d);
    while (!kn_workqueue_shutting_down(f.q))
        sched_yield();
    /* "a" is still being processed, so the drain cannot have finished */
    KT_ASSERT_EQ(__atomic_load_n(&d.returned, __ATOMIC_SEQ_CST), 0);
    expect_get(f.q, "b"); /* queued keys are still handed out */
    kn_workqueue_done(f.q, "a");
    KT_ASSERT_EQ(__atomic_load_n(&d.returned, __ATOMIC_SEQ_CST), 0);
    kn_workqueue_done(f.q, "b");
    pthread_join(th, NULL);
    KT_ASSERT_EQ(d.returned, 1);
    char *key;
    KT_ASSERT(!kn_workqueue_get(f.q, &key));
    teardown(&f);
}

KT_TEST(workqueue, shutdown_ends_a_drain_early)
{
    fixture f;
    setup(&f, NULL);
    kn_workqueue_add(f.q, "a");
    expect_get(f.q, "a");
    drainer d = {.q = f.q};
    pthread_t th;
    pthread_create(&th, NULL, drainer_main, &d);
    while (!kn_workqueue_shutting_down(f.q))
        sched_yield();
    kn_workqueue_shutdown(f.q);
    pthread_join(th, NULL);
    KT_ASSERT_EQ(d.returned, 1);
    kn_workqueue_done(f.q, "a");
    teardown(&f);
}

KT_TEST(workqueue, drain_with_nothing_processing_returns)
{
    kn_workqueue *q = kn_workqueue_new(NULL);
    kn_workqueue_add(q, "left-over");
    kn_workqueue_shutdown_with_drain(q);
    char *key;
    KT_ASSERT(kn_workqueue_get(q, &key));
    KT_ASSERT_STREQ(key, "left-over");
    kn_workqueue_done(q, key);
    free(key);
    KT_ASSERT(!kn_workqueue_get(q, &key));
    kn_workqueue_free(q);
    kn_workqueue_free(NULL);
}

/* ---- multi-threaded ------------------------------------------------------------------ */

enum { MT_KEYS = 40, MT_PRODUCERS = 3, MT_CONSUMERS = 4, MT_ADDS = 1500 };

typedef struct mt_state {
    kn_workqueue *q;
    kn_fake_clock *fc;      /* NULL: real clock */
    int version[MT_KEYS];   /* bumped by producers before each add (atomic) */
    int seen[MT_KEYS];      /* highest version a consumer started with (atomic) */
    int in_flight[MT_KEYS]; /* consumers processing the key now (atomic) */
    int overlaps;           /* two consumers on one key (atomic) */
    int too_long;           /* len() above the number of keys (atomic) */
    int processed;          /* (atomic) */
    int producer_id;        /* (atomic) */
} mt_state;

static int key_index(const char *key)
{
    return atoi(key + 3);
}

static void mt_process(mt_state *s, const char *key)
{
    int k = key_index(key);
    if (__atomic_fetch_add(&s->in_flight[k], 1, __ATOMIC_SEQ_CST) != 0)
        __atomic_fetch_add(&s->overlaps, 1, __ATOMIC_SEQ_CST);
    int v = __atomic_load_n(&s->version[k], __ATOMIC_SEQ_CST);
    int old = __atomic_load_n(&s->seen[k], __ATOMIC_SEQ_CST);
    while (v > old && !__atomic_compare_exchange_n(&s->seen[k], &old, v, false, __ATOMIC_SEQ_CST,
                                                   __ATOMIC_SEQ_CST))
        ;
    if (kn_workqueue_len(s->q) > MT_KEYS)
        __atomic_fetch_add(&s->too_long, 1, __ATOMIC_SEQ_CST);
    sched_yield(); /* widen the window for overlap */
    __atomic_fetch_sub(&s->in_flight[k], 1, __ATOMIC_SEQ_CST);
}

static void *mt_consumer(void *p)
{
    mt_state *s = p;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    char *key;
    while (kn_workqueue_get(s->q, &key)) {
        mt_process(s, key);
        /* "fail" a few times per key, then succeed */
        if (kn_workqueue_num_requeues(s->q, key) < 2 && rand_r(&seed) % 5 == 0)
            kn_workqueue_add_rate_limited(s->q, key);
        else
            kn_workqueue_forget(s->q, key);
        __atomic_fetch_add(&s->processed, 1, __ATOMIC_SEQ_CST);
        kn_workqueue_done(s->q, key);
        free(key);
    }
    return NULL;
}

static void *mt_producer(void *p)
{
    mt_state *s = p;
    unsigned seed = (unsigned)__atomic_fetch_add(&s->producer_id, 1, __ATOMIC_SEQ_CST) + 1;
    char key[16];
    for (int i = 0; i < MT_ADDS; i++) {
        int k = rand_r(&seed) % MT_KEYS;
        snprintf(key, sizeof(key), "key%d", k);
        __atomic_fetch_add(&s->version[k], 1, __ATOMIC_SEQ_CST);
        if (i % 10 == 0)
            kn_workqueue_add_after(s->q, key, (rand_r(&seed) % 200) * US);
        else
            kn_workqueue_add(s->q, key);
        if (s->fc && i % 50 == 0)
            kn_fake_clock_advance(s->fc, 100 * US);
    }
    return NULL;
}

/* Waits (yielding the CPU) until no key is waiting for its time. */
static void mt_wait_delayed(mt_state *s)
{
    while (kn_workqueue_delayed_len(s->q) > 0) {
        if (s->fc)
            kn_fake_clock_advance(s->fc, 100 * US);
        else
            kn_clock_sleep(NULL, 100 * US);
    }
}

static void mt_run(mt_state *s)
{
    pthread_t prod[MT_PRODUCERS], cons[MT_CONSUMERS];
    for (int i = 0; i < MT_CONSUMERS; i++)
        pthread_create(&cons[i], NULL, mt_consumer, s);
    for (int i = 0; i < MT_PRODUCERS; i++)
        pthread_create(&prod[i], NULL, mt_producer, s);
    for (int i = 0; i < MT_PRODUCERS; i++)
        pthread_join(prod[i], NULL);
    /* every producer add must land before the shutdown drops waiting keys;
     * consumers' own rate-limited retries stop after 2 per key */
    mt_wait_delayed(s);
    kn_workqueue_shutdown(s->q);
    for (int i = 0; i < MT_CONSUMERS; i++)
        pthread_join(cons[i], NULL);

    KT_ASSERT_EQ(s->overlaps, 0);
    KT_ASSERT_EQ(s->too_long, 0);
    for (int k = 0; k < MT_KEYS; k++)
        KT_ASSERT_MSG(s->seen[k] == s->version[k],
                      "key%d: last add (version %d) not processed (%d)", k, s->version[k],
                      s->seen[k]);
    KT_ASSERT(s->processed > 0);
    KT_ASSERT_EQ(kn_workqueue_len(s->q), 0);
}

KT_TEST(workqueue, mt_producers_consumers_real_clock)
{
    static mt_state s;
    s.q = kn_workqueue_new(
        &(kn_workqueue_opts){.base_delay_ns = 10 * US, .max_delay_ns = 1 * MS, .qps = INFINITY});
    mt_run(&s);
    kn_workqueue_free(s.q);
}

KT_TEST(workqueue, mt_producers_consumers_fake_clock)
{
    static mt_state s;
    static kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    s.fc = &fc;
    s.q = kn_workqueue_new(&(kn_workqueue_opts){.clock = &fc.clock, .base_delay_ns = 10 * US});
    mt_run(&s);
    kn_workqueue_free(s.q);
    kn_fake_clock_destroy(&fc);
}

typedef struct fc_consumer {
    kn_workqueue *q;
    int got; /* atomic */
} fc_consumer;

static void *fc_consumer_main(void *p)
{
    fc_consumer *c = p;
    char *key;
    while (kn_workqueue_get(c->q, &key)) {
        __atomic_fetch_add(&c->got, 1, __ATOMIC_SEQ_CST);
        kn_workqueue_done(c->q, key);
        free(key);
    }
    return NULL;
}

/* Consumers parked on delayed keys are woken, step by step, as a fake clock
 * moves: each key is handed out exactly once. */
KT_TEST(workqueue, mt_consumers_follow_fake_clock)
{
    enum { N = 300, C = 3 };
    fixture f;
    setup(&f, NULL);
    fc_consumer c = {.q = f.q};
    pthread_t th[C];
    for (int i = 0; i < C; i++)
        pthread_create(&th[i], NULL, fc_consumer_main, &c);
    char key[16];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "d%d", i);
        kn_workqueue_add_after(f.q, key, (1 + (i * 7) % 50) * MS);
    }
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), N);
    for (int t = 0; t < 50; t++)
        kn_fake_clock_advance(&f.fc, 1 * MS);
    KT_ASSERT_EQ(kn_workqueue_delayed_len(f.q), 0);
    while (__atomic_load_n(&c.got, __ATOMIC_SEQ_CST) < N)
        sched_yield();
    kn_workqueue_shutdown(f.q);
    for (int i = 0; i < C; i++)
        pthread_join(th[i], NULL);
    KT_ASSERT_EQ(c.got, N);
    teardown(&f);
}
