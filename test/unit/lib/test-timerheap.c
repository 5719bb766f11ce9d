/* Tests for lib/timerheap and lib/clock (the fake clock the other timing
 * tests rely on). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/timerheap.h"
#include "test/runner/kt.h"

KT_TEST(timerheap, empty)
{
    kn_timerheap *h = kn_timerheap_new();
    kn_timer_entry e;
    KT_ASSERT_EQ(kn_timerheap_len(h), 0);
    KT_ASSERT_EQ(kn_timerheap_next_deadline(h), KN_TIME_NEVER);
    KT_ASSERT(!kn_timerheap_pop_expired(h, KN_TIME_NEVER, &e));
    KT_ASSERT(!kn_timerheap_cancel(h, 0));
    KT_ASSERT(!kn_timerheap_reschedule(h, 12345, 1));
    KT_ASSERT(!kn_timerheap_pending(h, 0, NULL));
    KT_ASSERT_EQ(kn_timerheap_run_expired(h, 100), 0);
    kn_timerheap_free(h);
    kn_timerheap_free(NULL);
}

KT_TEST(timerheap, pops_in_deadline_order)
{
    kn_timerheap *h = kn_timerheap_new();
    int64_t deadlines[] = {50, 10, 40, 30, 20, 60, 0, -5};
    for (size_t i = 0; i < sizeof(deadlines) / sizeof(deadlines[0]); i++)
        KT_ASSERT_NE(kn_timerheap_add(h, deadlines[i], NULL, &deadlines[i]), 0);
    KT_ASSERT_EQ(kn_timerheap_len(h), 8);
    KT_ASSERT_EQ(kn_timerheap_next_deadline(h), -5);

    kn_timer_entry e;
    KT_ASSERT(!kn_timerheap_pop_expired(h, -6, &e));
    int64_t expect[] = {-5, 0, 10, 20, 30};
    for (size_t i = 0; i < 5; i++) {
        KT_ASSERT(kn_timerheap_pop_expired(h, 30, &e));
        KT_ASSERT_EQ(e.deadline, expect[i]);
        KT_ASSERT_EQ(*(int64_t *)e.data, expect[i]);
        KT_ASSERT(!kn_timerheap_pending(h, e.id, NULL));
    }
    KT_ASSERT(!kn_timerheap_pop_expired(h, 30, &e));
    KT_ASSERT_EQ(kn_timerheap_next_deadline(h), 40);
    KT_ASSERT_EQ(kn_timerheap_len(h), 3);
    kn_timerheap_free(h);
}

KT_TEST(timerheap, equal_deadlines_are_fifo)
{
    kn_timerheap *h = kn_timerheap_new();
    int vals[20];
    for (int i = 0; i < 20; i++) {
        vals[i] = i;
        kn_timerheap_add(h, 100, NULL, &vals[i]);
    }
    kn_timer_entry e;
    for (int i = 0; i < 20; i++) {
        KT_ASSERT(kn_timerheap_pop_expired(h, 100, &e));
        KT_ASSERT_EQ(*(int *)e.data, i);
    }
    kn_timerheap_free(h);
}

KT_TEST(timerheap, cancel_and_stale_handles)
{
    kn_timerheap *h = kn_timerheap_new();
    kn_timer_id a = kn_timerheap_add(h, 10, NULL, NULL);
    kn_timer_id b = kn_timerheap_add(h, 20, NULL, NULL);
    kn_timer_id c = kn_timerheap_add(h, 30, NULL, NULL);
    KT_ASSERT(a != b && b != c && a != c);

    KT_ASSERT(kn_timerheap_cancel(h, a));
    KT_ASSERT(!kn_timerheap_cancel(h, a));
    KT_ASSERT(!kn_timerheap_pending(h, a, NULL));
    KT_ASSERT_EQ(kn_timerheap_next_deadline(h), 20);

    /* the freed slot is reused, but the old handle stays dead */
    kn_timer_id d = kn_timerheap_add(h, 5, NULL, NULL);
    KT_ASSERT_NE(d, a);
    KT_ASSERT(!kn_timerheap_pending(h, a, NULL));
    KT_ASSERT(!kn_timerheap_reschedule(h, a, 1));
    int64_t dl = 0;
    KT_ASSERT(kn_timerheap_pending(h, d, &dl));
    KT_ASSERT_EQ(dl, 5);

    KT_ASSERT(kn_timerheap_cancel(h, c));
    KT_ASSERT_EQ(kn_timerheap_len(h), 2);
    kn_timer_entry e;
    KT_ASSERT(kn_timerheap_pop_expired(h, 100, &e));
    KT_ASSERT_EQ(e.id, d);
    KT_ASSERT(kn_timerheap_pop_expired(h, 100, &e));
    KT_ASSERT_EQ(e.id, b);
    KT_ASSERT(!kn_timerheap_cancel(h, b));
    KT_ASSERT(!kn_timerheap_cancel(h, (kn_timer_id)1 << 40 | 999));
    kn_timerheap_free(h);
}

KT_TEST(timerheap, reschedule_moves_both_ways)
{
    kn_timerheap *h = kn_timerheap_new();
    kn_timer_id a = kn_timerheap_add(h, 10, NULL, NULL);
    kn_timer_id b = kn_timerheap_add(h, 20, NULL, NULL);
    kn_timer_id c = kn_timerheap_add(h, 30, NULL, NULL);
    KT_ASSERT(kn_timerheap_reschedule(h, c, 1));
    KT_ASSERT_EQ(kn_timerheap_next_deadline(h), 1);
    KT_ASSERT(kn_timerheap_reschedule(h, c, 25));
    KT_ASSERT(kn_timerheap_reschedule(h, a, 40));
    kn_timer_entry e;
    kn_timer_id order[] = {b, c, a};
    for (int i = 0; i < 3; i++) {
        KT_ASSERT(kn_timerheap_pop_expired(h, 100, &e));
        KT_ASSERT_EQ(e.id, order[i]);
    }
    kn_timerheap_free(h);
}

typedef struct cb_ctx {
    kn_timerheap *h;
    int fired[8];
    int nfired;
    kn_timer_id victim;
} cb_ctx;

static cb_ctx *g_ctx;

static void cb_record(void *data)
{
    g_ctx->fired[g_ctx->nfired++] = (int)(intptr_t)data;
}

static void cb_spawn(void *data)
{
    cb_record(data);
    /* already due: runs within the same run_expired call */
    kn_timerheap_add(g_ctx->h, 0, cb_record, (void *)(intptr_t)99);
    kn_timerheap_cancel(g_ctx->h, g_ctx->victim);
}

KT_TEST(timerheap, run_expired_calls_callbacks)
{
    cb_ctx ctx = {.h = kn_timerheap_new()};
    g_ctx = &ctx;
    kn_timerheap_add(ctx.h, 5, cb_record, (void *)(intptr_t)1);
    kn_timerheap_add(ctx.h, 6, cb_spawn, (void *)(intptr_t)2);
    ctx.victim = kn_timerheap_add(ctx.h, 7, cb_record, (void *)(intptr_t)3);
    kn_timerheap_add(ctx.h, 50, cb_record, (void *)(intptr_t)4);
    kn_timerheap_add(ctx.h, 8, NULL, NULL);

    KT_ASSERT_EQ(kn_timerheap_run_expired(ctx.h, 10), 4);
    KT_ASSERT_EQ(ctx.nfired, 3);
    KT_ASSERT_EQ(ctx.fired[0], 1);
    KT_ASSERT_EQ(ctx.fired[1], 2);
    KT_ASSERT_EQ(ctx.fired[2], 99);
    KT_ASSERT_EQ(kn_timerheap_len(ctx.h), 1);
    KT_ASSERT_EQ(kn_timerheap_next_deadline(ctx.h), 50);
    kn_timerheap_free(ctx.h);
}

/* Random operations checked against a plain array model. */
KT_TEST(timerheap, random_ops_match_model)
{
    enum { N = 3000 };
    kn_timerheap *h = kn_timerheap_new();
    kn_timer_id ids[N];
    int64_t dl[N];
    bool live[N];
    size_t n = 0, nlive = 0;
    unsigned seed = 12345;
    for (int step = 0; step < 20000; step++) {
        int op = rand_r(&seed) % 4;
        if ((op == 0 || nlive == 0) && n < N) {
            dl[n] = rand_r(&seed) % 1000;
            ids[n] = kn_timerheap_add(h, dl[n], NULL, (void *)(intptr_t)n);
            live[n++] = true;
            nlive++;
        } else if (op == 1 && n > 0) {
            size_t i = (size_t)rand_r(&seed) % n;
            KT_ASSERT_EQ(kn_timerheap_cancel(h, ids[i]), live[i]);
            if (live[i])
                nlive--;
            live[i] = false;
        } else if (op == 2 && n > 0) {
            size_t i = (size_t)rand_r(&seed) % n;
            int64_t nd = rand_r(&seed) % 1000;
            KT_ASSERT_EQ(kn_timerheap_reschedule(h, ids[i], nd), live[i]);
            if (live[i])
                dl[i] = nd;
        } else if (nlive > 0) {
            int64_t min = KN_TIME_NEVER;
            for (size_t i = 0; i < n; i++)
                if (live[i] && dl[i] < min)
                    min = dl[i];
            KT_ASSERT_EQ(kn_timerheap_next_deadline(h), min);
            kn_timer_entry e;
            KT_ASSERT(kn_timerheap_pop_expired(h, min, &e));
            size_t i = (size_t)(intptr_t)e.data;
            KT_ASSERT(live[i]);
            KT_ASSERT_EQ(dl[i], min);
            KT_ASSERT_EQ(e.id, ids[i]);
            live[i] = false;
            nlive--;
        }
        KT_ASSERT_EQ(kn_timerheap_len(h), nlive);
    }
    kn_timerheap_free(h);
}

/* ---- clock ---------------------------------------------------------------------- */

KT_TEST(clock, real_clocks)
{
    int64_t a = kn_time_monotonic_ns();
    int64_t b = kn_clock_now(kn_clock_monotonic());
    int64_t c = kn_clock_now(NULL);
    KT_ASSERT(a <= b && b <= c);
    time_t before = time(NULL);
    int64_t wall = kn_clock_now(kn_clock_realtime());
    time_t after = time(NULL);
    KT_ASSERT(wall / 1000000000 >= before && wall / 1000000000 <= after);
    KT_ASSERT(kn_time_wall_ns() >= wall);
}

KT_TEST(clock, time_add_saturates)
{
    KT_ASSERT_EQ(kn_time_add(1, 2), 3);
    KT_ASSERT_EQ(kn_time_add(INT64_MAX - 1, 5), INT64_MAX);
    KT_ASSERT_EQ(kn_time_add(KN_TIME_NEVER, 1), KN_TIME_NEVER);
    KT_ASSERT_EQ(kn_time_add(INT64_MIN + 1, -5), INT64_MIN);
    KT_ASSERT_EQ(kn_time_add(10, -20), -10);
}

/* A real-clock wait with a near deadline returns, and sleep lasts at least
 * what was asked (the monotonic clock guarantees the lower bound). */
KT_TEST(clock, real_wait_and_sleep_return)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    kn_cond_init(&cond);
    pthread_mutex_lock(&mu);
    int64_t deadline = kn_time_monotonic_ns() + 1000000;
    while (kn_time_monotonic_ns() < deadline)
        kn_clock_wait_until(NULL, &cond, &mu, deadline);
    kn_clock_wait_until(kn_clock_realtime(), &cond, &mu, kn_time_wall_ns() - 1);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cond);

    int64_t t0 = kn_time_monotonic_ns();
    kn_clock_sleep(NULL, 2000000);
    KT_ASSERT(kn_time_monotonic_ns() - t0 >= 2000000);
    kn_clock_sleep(NULL, -1);
    kn_clock_sleep(kn_clock_realtime(), 0);
}

KT_TEST(clock, fake_now_advance_set)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 1000);
    KT_ASSERT_EQ(kn_clock_now(&fc.clock), 1000);
    kn_fake_clock_advance(&fc, 500);
    KT_ASSERT_EQ(kn_clock_now(&fc.clock), 1500);
    kn_fake_clock_advance(&fc, -10); /* never backwards through advance */
    KT_ASSERT_EQ(kn_clock_now(&fc.clock), 1500);
    kn_fake_clock_set(&fc, 7);
    KT_ASSERT_EQ(kn_clock_now(&fc.clock), 7);
    KT_ASSERT_EQ(kn_fake_clock_waiters(&fc), 0);
    kn_fake_clock_destroy(&fc);
}

typedef struct sleeper {
    kn_fake_clock *fc;
    int64_t ns;
    int done; /* atomic */
} sleeper;

static void *sleeper_main(void *arg)
{
    sleeper *s = arg;
    kn_clock_sleep(&s->fc->clock, s->ns);
    __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

KT_TEST(clock, fake_sleep_wakes_only_when_due)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    sleeper s = {.fc = &fc, .ns = 10};
    pthread_t th;
    pthread_create(&th, NULL, sleeper_main, &s);
    kn_fake_clock_wait_for_waiters(&fc, 1);
    kn_fake_clock_advance(&fc, 9);
    /* not due: the sleeper is not woken and stays registered */
    kn_fake_clock_wait_for_waiters(&fc, 1);
    KT_ASSERT_EQ(__atomic_load_n(&s.done, __ATOMIC_SEQ_CST), 0);
    kn_fake_clock_advance(&fc, 1);
    pthread_join(th, NULL);
    KT_ASSERT_EQ(s.done, 1);
    KT_ASSERT_EQ(kn_fake_clock_waiters(&fc), 0);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(clock, fake_wakes_many_waiters)
{
    enum { N = 6 };
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 0);
    sleeper s[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        s[i] = (sleeper){.fc = &fc, .ns = (i + 1) * 100};
        pthread_create(&th[i], NULL, sleeper_main, &s[i]);
    }
    kn_fake_clock_wait_for_waiters(&fc, N);
    kn_fake_clock_advance(&fc, 300);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    kn_fake_clock_wait_for_waiters(&fc, N - 3);
    for (int i = 3; i < N; i++)
        KT_ASSERT_EQ(__atomic_load_n(&s[i].done, __ATOMIC_SEQ_CST), 0);
    kn_fake_clock_set(&fc, 1000);
    for (int i = 3; i < N; i++)
        pthread_join(th[i], NULL);
    kn_fake_clock_destroy(&fc);
}

KT_TEST(clock, fake_wait_until_past_deadline_returns)
{
    kn_fake_clock fc;
    kn_fake_clock_init(&fc, 100);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    kn_cond_init(&cond);
    pthread_mutex_lock(&mu);
    kn_clock_wait_until(&fc.clock, &cond, &mu, 100);
    kn_clock_wait_until(&fc.clock, &cond, &mu, 50);
    pthread_mutex_unlock(&mu);
    KT_ASSERT_EQ(kn_fake_clock_waiters(&fc), 0);
    pthread_cond_destroy(&cond);
    kn_fake_clock_destroy(&fc);
}
