/* Tests for lib/backoff: wait.Backoff-style sequences and the per-key
 * flowcontrol.Backoff tracker, on a fake clock with injected randomness. */
#include <pthread.h>
#include <stdio.h>

#include "lib/backoff.h"
#include "test/runner/kt.h"

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

static double rand_half(void *ud)
{
    (void)ud;
    return 0.5;
}

static double rand_from(void *ud)
{
    return *(double *)ud;
}

KT_TEST(backoff, doubles_then_holds_when_steps_run_out)
{
    kn_backoff b;
    kn_backoff_init(&b, &(kn_backoff_params){.duration_ns = 10 * MS, .factor = 2.0, .steps = 4});
    int64_t expect[] = {10, 20, 40, 80, 160, 160, 160};
    for (size_t i = 0; i < 7; i++)
        KT_ASSERT_EQ(kn_backoff_next(&b), expect[i] * MS);
    KT_ASSERT_EQ(b.steps, 0);
}

KT_TEST(backoff, cap_ends_the_steps)
{
    kn_backoff b;
    kn_backoff_init(&b, &(kn_backoff_params){
                            .duration_ns = 1 * SEC, .factor = 3.0, .steps = 10, .cap_ns = 5 * SEC});
    KT_ASSERT_EQ(kn_backoff_next(&b), 1 * SEC);
    KT_ASSERT_EQ(kn_backoff_next(&b), 3 * SEC);
    KT_ASSERT_EQ(b.steps, 0); /* 9s would exceed the cap */
    KT_ASSERT_EQ(kn_backoff_next(&b), 5 * SEC);
    KT_ASSERT_EQ(kn_backoff_next(&b), 5 * SEC);
}

KT_TEST(backoff, no_steps_or_no_factor_keep_duration)
{
    kn_backoff b;
    kn_backoff_init(&b, &(kn_backoff_params){.duration_ns = 7 * MS, .factor = 2.0, .steps = 0});
    for (int i = 0; i < 3; i++)
        KT_ASSERT_EQ(kn_backoff_next(&b), 7 * MS);
    kn_backoff_init(&b, &(kn_backoff_params){.duration_ns = 7 * MS, .factor = 0, .steps = 5});
    for (int i = 0; i < 8; i++)
        KT_ASSERT_EQ(kn_backoff_next(&b), 7 * MS);
    kn_backoff_init(&b, &(kn_backoff_params){.duration_ns = 7 * MS, .factor = 2.0, .steps = -3});
    KT_ASSERT_EQ(kn_backoff_next(&b), 7 * MS);
}

KT_TEST(backoff, jitter_is_added_per_step_not_accumulated)
{
    kn_backoff b;
    kn_backoff_init(&b, &(kn_backoff_params){
                            .duration_ns = 100 * MS, .factor = 2.0, .jitter = 0.1, .steps = 3});
    kn_backoff_set_rand(&b, rand_half, NULL);
    /* d + 0.5 * 0.1 * d */
    KT_ASSERT_EQ(kn_backoff_next(&b), 105 * MS);
    KT_ASSERT_EQ(kn_backoff_next(&b), 210 * MS);
    KT_ASSERT_EQ(kn_backoff_next(&b), 420 * MS);
    KT_ASSERT_EQ(kn_backoff_next(&b), 840 * MS);
    KT_ASSERT_EQ(kn_backoff_next(&b), 840 * MS);
    kn_backoff_reset(&b);
    KT_ASSERT_EQ(kn_backoff_next(&b), 105 * MS);
}

KT_TEST(backoff, jitter_stays_in_bounds_with_real_prng)
{
    kn_backoff b;
    kn_backoff_init(&b, &(kn_backoff_params){.duration_ns = 1 * SEC, .jitter = 0.5, .steps = 0});
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t d = kn_backoff_next(&b);
        KT_ASSERT(d >= 1 * SEC && d < 1500 * MS);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    KT_ASSERT(hi > lo); /* it does vary */
}

KT_TEST(backoff, kn_jitter_defaults_factor_to_one)
{
    kn_rand r;
    kn_rand_init(&r);
    double v = 0.25;
    r.fn = rand_from;
    r.userdata = &v;
    KT_ASSERT_EQ(kn_jitter(100, 0, &r), 125);
    KT_ASSERT_EQ(kn_jitter(100, 2.0, &r), 150);
    v = 0.0;
    KT_ASSERT_EQ(kn_jitter(100, 1.0, &r), 100);
    v = 0.999;
    KT_ASSERT_EQ(kn_jitter(INT64_MAX - 10, 1.0, &r), INT64_MAX);
}

KT_TEST(backoff, rand_seeding)
{
    kn_rand a, b;
    kn_rand_seed(&a, 42);
    kn_rand_seed(&b, 42);
    for (int i = 0; i < 100; i++) {
        double x = kn_rand_float(&a);
        KT_ASSERT(x >= 0.0 && x < 1.0);
        KT_ASSERT(x == kn_rand_float(&b));
    }
    kn_rand_init(&a);
    kn_rand_init(&b);
    bool differ = false;
    for (int i = 0; i < 4; i++)
        differ |= kn_rand_float(&a) != kn_rand_float(&b);
    KT_ASSERT(differ);
}

/* ---- per-key tracker -------------------------------------------------------------- */

typedef struct tracker_fixture {
    kn_fake_clock fc;
    kn_backoff_tracker *t;
} tracker_fixture;

static void fixture_init(tracker_fixture *f, int64_t initial, int64_t max, double jitter)
{
    kn_fake_clock_init(&f->fc, 1000 * SEC);
    f->t = kn_backoff_tracker_new(&f->fc.clock, initial, max, jitter);
}

static void fixture_fini(tracker_fixture *f)
{
    kn_backoff_tracker_free(f->t);
    kn_fake_clock_destroy(&f->fc);
}

static int64_t now_of(tracker_fixture *f)
{
    return kn_clock_now(&f->fc.clock);
}

KT_TEST(backoff_tracker, unknown_key_is_not_in_backoff)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 300 * SEC, 0);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "x"), 0);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since(f.t, "x", now_of(&f)));
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since_update(f.t, "x", now_of(&f)));
    KT_ASSERT_EQ(kn_backoff_tracker_len(f.t), 0);
    fixture_fini(&f);
}

/* The kubelet's CrashLoopBackOff: a container that exits at once is held
 * back 10s, 20s, 40s, ... up to 5 minutes after each exit. */
KT_TEST(backoff_tracker, crashloop_sequence)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 300 * SEC, 0);
    const char *key = "pod-uid_app";
    int64_t expect[] = {10, 20, 40, 80, 160, 300, 300, 300};
    for (size_t i = 0; i < 8; i++) {
        int64_t finished = now_of(&f); /* the container just exited */
        if (i > 0) {
            KT_ASSERT(kn_backoff_tracker_is_in_backoff_since(f.t, key, finished));
            kn_fake_clock_advance(&f.fc, expect[i - 1] * SEC - 1);
            KT_ASSERT(kn_backoff_tracker_is_in_backoff_since(f.t, key, finished));
            kn_fake_clock_advance(&f.fc, 1);
        }
        KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since(f.t, key, finished));
        kn_backoff_tracker_next(f.t, key, finished);
        KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, key), expect[i] * SEC);
    }
    KT_ASSERT_EQ(kn_backoff_tracker_len(f.t), 1);
    fixture_fini(&f);
}

KT_TEST(backoff_tracker, keys_are_independent)
{
    tracker_fixture f;
    fixture_init(&f, 1 * SEC, 8 * SEC, 0);
    for (int i = 0; i < 3; i++)
        kn_backoff_tracker_next(f.t, "a", now_of(&f));
    kn_backoff_tracker_next(f.t, "b", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "a"), 4 * SEC);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "b"), 1 * SEC);
    kn_backoff_tracker_reset(f.t, "a");
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "a"), 0);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since(f.t, "a", now_of(&f)));
    KT_ASSERT(kn_backoff_tracker_is_in_backoff_since(f.t, "b", now_of(&f)));
    kn_backoff_tracker_reset(f.t, "missing");
    KT_ASSERT_EQ(kn_backoff_tracker_len(f.t), 1);
    fixture_fini(&f);
}

/* After 2*max without an update the entry is stale: not in backoff, and the
 * next failure starts again from the initial delay. */
KT_TEST(backoff_tracker, expires_after_twice_max)
{
    tracker_fixture f;
    fixture_init(&f, 1 * SEC, 10 * SEC, 0);
    for (int i = 0; i < 5; i++)
        kn_backoff_tracker_next(f.t, "k", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "k"), 10 * SEC);
    int64_t last = now_of(&f);
    /* exactly 2*max is not yet expired (upstream: Sub > 2*max) */
    KT_ASSERT(kn_backoff_tracker_is_in_backoff_since_update(f.t, "k", last + 9 * SEC));
    kn_fake_clock_set(&f.fc, last + 20 * SEC);
    kn_backoff_tracker_next(f.t, "k", last + 20 * SEC);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "k"), 10 * SEC);

    last = now_of(&f);
    kn_fake_clock_set(&f.fc, last + 20 * SEC + 1);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since(f.t, "k", last + 20 * SEC + 1));
    kn_backoff_tracker_next(f.t, "k", last + 20 * SEC + 1);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "k"), 1 * SEC);
    fixture_fini(&f);
}

/* The kubelet's rule for containers: a run of more than 10 minutes (exit
 * time - last restart) resets the backoff, whatever the max. */
KT_TEST(backoff_tracker, kubelet_reset_after_ten_minutes_running)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 300 * SEC, 0);
    kn_backoff_tracker_set_expiry(f.t, 600 * SEC);
    for (int i = 0; i < 4; i++)
        kn_backoff_tracker_next(f.t, "c", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "c"), 80 * SEC);
    int64_t started = now_of(&f);

    /* ran exactly 10 minutes: still counts as crash looping */
    kn_fake_clock_set(&f.fc, started + 600 * SEC);
    KT_ASSERT(kn_backoff_tracker_is_in_backoff_since(f.t, "c", started + 600 * SEC));
    kn_fake_clock_advance(&f.fc, 80 * SEC);
    kn_backoff_tracker_next(f.t, "c", started + 600 * SEC);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "c"), 160 * SEC);

    /* ran longer than 10 minutes: restart at once, backoff back to 10s */
    started = now_of(&f);
    int64_t exited = started + 600 * SEC + 1;
    kn_fake_clock_set(&f.fc, exited);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since(f.t, "c", exited));
    kn_backoff_tracker_next(f.t, "c", exited);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "c"), 10 * SEC);
    fixture_fini(&f);
}

/* Image pulls: is_in_backoff_since_update(key, now) compares now with the
 * time of the last failure. */
KT_TEST(backoff_tracker, since_update_for_image_pulls)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 300 * SEC, 0);
    const char *key = "pod_docker.io/library/nginx:latest";
    kn_backoff_tracker_next(f.t, key, now_of(&f)); /* pull failed */
    kn_fake_clock_advance(&f.fc, 9 * SEC);
    KT_ASSERT(kn_backoff_tracker_is_in_backoff_since_update(f.t, key, now_of(&f)));
    kn_fake_clock_advance(&f.fc, 1 * SEC);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since_update(f.t, key, now_of(&f)));
    kn_backoff_tracker_next(f.t, key, now_of(&f)); /* failed again */
    kn_fake_clock_advance(&f.fc, 19 * SEC);
    KT_ASSERT(kn_backoff_tracker_is_in_backoff_since_update(f.t, key, now_of(&f)));
    kn_fake_clock_advance(&f.fc, 1 * SEC);
    KT_ASSERT(!kn_backoff_tracker_is_in_backoff_since_update(f.t, key, now_of(&f)));
    fixture_fini(&f);
}

KT_TEST(backoff_tracker, gc_drops_stale_entries)
{
    tracker_fixture f;
    fixture_init(&f, 1 * SEC, 10 * SEC, 0);
    kn_backoff_tracker_next(f.t, "old", now_of(&f));
    kn_fake_clock_advance(&f.fc, 15 * SEC);
    kn_backoff_tracker_next(f.t, "new", now_of(&f));
    char key[32];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "bulk-%d", i);
        kn_backoff_tracker_next(f.t, key, now_of(&f));
    }
    KT_ASSERT_EQ(kn_backoff_tracker_gc(f.t), 0);
    kn_fake_clock_advance(&f.fc, 5 * SEC + 1); /* "old" is 20s+1ns stale */
    KT_ASSERT_EQ(kn_backoff_tracker_gc(f.t), 1);
    KT_ASSERT_EQ(kn_backoff_tracker_len(f.t), 51);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "old"), 0);
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "new"), 1 * SEC);
    kn_fake_clock_advance(&f.fc, 15 * SEC);
    KT_ASSERT_EQ(kn_backoff_tracker_gc(f.t), 51);
    KT_ASSERT_EQ(kn_backoff_tracker_len(f.t), 0);
    fixture_fini(&f);
}

KT_TEST(backoff_tracker, jitter_grows_from_jittered_value)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 60 * SEC, 0.5);
    kn_backoff_tracker_set_rand(f.t, rand_half, NULL);
    /* initial + 0.5*0.5*initial, then 2b + 0.25b, capped */
    kn_backoff_tracker_next(f.t, "j", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "j"), 12500 * MS);
    kn_backoff_tracker_next(f.t, "j", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "j"), 28125 * MS);
    kn_backoff_tracker_next(f.t, "j", now_of(&f));
    KT_ASSERT_EQ(kn_backoff_tracker_get(f.t, "j"), 60 * SEC);
    fixture_fini(&f);
}

KT_TEST(backoff_tracker, jitter_bounds_with_real_prng)
{
    tracker_fixture f;
    fixture_init(&f, 10 * SEC, 1000 * SEC, 0.2);
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        kn_backoff_tracker_next(f.t, key, now_of(&f));
        int64_t d = kn_backoff_tracker_get(f.t, key);
        KT_ASSERT(d >= 10 * SEC && d < 12 * SEC);
    }
    fixture_fini(&f);
}

typedef struct hammer_arg {
    kn_backoff_tracker *t;
    kn_fake_clock *fc;
    int id;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    char key[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "k%d", (i + a->id) % 7);
        int64_t now = kn_clock_now(&a->fc->clock);
        if (!kn_backoff_tracker_is_in_backoff_since(a->t, key, now))
            kn_backoff_tracker_next(a->t, key, now);
        if (i % 100 == 0)
            kn_backoff_tracker_gc(a->t);
        if (i % 333 == 0)
            kn_backoff_tracker_reset(a->t, key);
        if (a->id == 0)
            kn_fake_clock_advance(a->fc, 1 * SEC);
    }
    return NULL;
}

KT_TEST(backoff_tracker, concurrent_use)
{
    tracker_fixture f;
    fixture_init(&f, 1 * SEC, 30 * SEC, 0.1);
    pthread_t th[4];
    hammer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (hammer_arg){f.t, &f.fc, i};
        pthread_create(&th[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    KT_ASSERT(kn_backoff_tracker_len(f.t) <= 7);
    for (int i = 0; i < 7; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        KT_ASSERT(kn_backoff_tracker_get(f.t, key) <= 30 * SEC);
    }
    fixture_fini(&f);
}
