/* Tests for lib/ratelimit: the token bucket on a fake clock. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/ratelimit.h"
#include "test/runner/kt.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

KT_TEST(ratelimit, starts_full_and_refills_at_qps)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 10, 100);
    KT_ASSERT(kn_ratelimit_qps(rl) == 10);
    for (int i = 0; i < 100; i++)
        KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_fake_clock_advance(&fc, 50 * MS);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_fake_clock_advance(&fc, 50 * MS);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_fake_clock_advance(&fc, 300 * MS);
    for (int i = 0; i < 3; i++)
        KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(ratelimit, never_more_than_burst)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 5, 3);
    kn_fake_clock_advance(&fc, 3600 * SEC);
    KT_ASSERT(kn_ratelimit_tokens(rl) == 3);
    for (int i = 0; i < 3; i++)
        KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

/* kubelet's API client: 50 QPS, burst 100. */
KT_TEST(ratelimit, kubelet_defaults)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 50, 100);
    for (int i = 0; i < 100; i++)
        KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 20 * MS);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 40 * MS);
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(ratelimit, reservations_queue_up)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 10, 2);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 100 * MS);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 200 * MS);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 300 * MS);
    KT_ASSERT(kn_ratelimit_tokens(rl) == -3);
    /* pending reservations hold back try_accept */
    kn_fake_clock_advance(&fc, 100 * MS);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 300 * MS);
    kn_fake_clock_advance(&fc, 400 * MS);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

/* 1/3 s is not a whole number of ns: the wait is rounded up so the token is
 * really there when it ends. */
KT_TEST(ratelimit, wait_rounds_up)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 3, 1);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    kn_fake_clock_advance(&fc, 333333333);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_fake_clock_advance(&fc, 1);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 333333334);
    kn_ratelimit_free(rl);

    rl = kn_ratelimit_new(&fc.clock, 0.5, 1);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 2 * SEC);
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(ratelimit, infinite_zero_and_empty)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, INFINITY, 0);
    for (int i = 0; i < 1000; i++)
        KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT(kn_ratelimit_accept(rl));
    kn_ratelimit_free(rl);

    /* qps 0: the initial burst, then nothing ever */
    rl = kn_ratelimit_new(&fc.clock, 0, 2);
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), 0);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), KN_TIME_NEVER);
    kn_fake_clock_advance(&fc, 3600 * SEC);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    KT_ASSERT(!kn_ratelimit_accept(rl));
    kn_ratelimit_free(rl);

    /* burst 0: no token can ever be held */
    rl = kn_ratelimit_new(&fc.clock, 100, 0);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    KT_ASSERT_EQ(kn_ratelimit_reserve(rl), KN_TIME_NEVER);
    KT_ASSERT(kn_ratelimit_tokens(rl) == 0);
    kn_ratelimit_free(rl);
    kn_ratelimit_free(NULL);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(ratelimit, clock_going_back_adds_nothing)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 10 * SEC);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 1, 1);
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    kn_fake_clock_set(&fc, 5 * SEC);
    KT_ASSERT(!kn_ratelimit_try_accept(rl));
    kn_fake_clock_set(&fc, 6 * SEC); /* refill counts from the earlier time */
    KT_ASSERT(kn_ratelimit_try_accept(rl));
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

typedef struct accept_arg {
    kn_ratelimit *rl;
    int ok; /* atomic */
} accept_arg;

static void *accept_main(void *p)
{
    accept_arg *a = p;
    bool ok = kn_ratelimit_accept(a->rl);
    __atomic_store_n(&a->ok, ok ? 1 : 2, __ATOMIC_SEQ_CST);
    return NULL;
}

KT_TEST(ratelimit, accept_sleeps_on_the_clock)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 10, 1);
    KT_ASSERT(kn_ratelimit_accept(rl)); /* token there: no wait */
    accept_arg a = {.rl = rl};
    pthread_t th;
    pthread_create(&th, NULL, accept_main, &a);
    kn_fake_clock_wait_for_waiters(&fc, 1);
    kn_fake_clock_advance(&fc, 99 * MS);
    kn_fake_clock_wait_for_waiters(&fc, 1);
    KT_ASSERT_EQ(__atomic_load_n(&a.ok, __ATOMIC_SEQ_CST), 0);
    kn_fake_clock_advance(&fc, 1 * MS);
    pthread_join(th, NULL);
    KT_ASSERT_EQ(a.ok, 1);
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}

/* Real clock: a tiny wait passes and accept returns. */
KT_TEST(ratelimit, real_clock_accept)
{
    kn_ratelimit *rl = kn_ratelimit_new(NULL, 1000, 1);
    for (int i = 0; i < 5; i++)
        KT_ASSERT(kn_ratelimit_accept(rl));
    kn_ratelimit_free(rl);
}

enum { THREADS = 4, PER_THREAD = 500 };

typedef struct race_arg {
    kn_ratelimit *rl;
    int accepted;
    int64_t waits[PER_THREAD];
} race_arg;

static void *try_main(void *p)
{
    race_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++)
        a->accepted += kn_ratelimit_try_accept(a->rl);
    return NULL;
}

static void *reserve_main(void *p)
{
    race_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++)
        a->waits[i] = kn_ratelimit_reserve(a->rl);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Concurrent takers get exactly the burst; concurrent reservations get
 * distinct slots 1/qps apart. */
KT_TEST(ratelimit, concurrent_takers)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    kn_ratelimit *rl = kn_ratelimit_new(&fc.clock, 1000, 123);
    static race_arg args[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (race_arg){.rl = rl};
        pthread_create(&th[i], NULL, try_main, &args[i]);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += args[i].accepted;
    }
    KT_ASSERT_EQ(total, 123);

    kn_fake_clock_advance(&fc, 1 * SEC); /* full again: 123 tokens */
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, reserve_main, &args[i]);
    static int64_t all[THREADS * PER_THREAD];
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        memcpy(all + i * PER_THREAD, args[i].waits, sizeof(args[i].waits));
    }
    qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_i64);
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        int64_t expect = i < 123 ? 0 : (int64_t)(i - 122) * MS;
        KT_ASSERT_EQ(all[i], expect);
    }
    kn_ratelimit_free(rl);
    kn_fake_clock_destroy(&fc);
}
