/* clock.h - time in nanoseconds and an injectable clock.
 *
 * Everything that waits or measures time (backoff, rate limiters, work
 * queues, timers) takes a `kn_clock *`, so tests drive it with a fake clock
 * and never sleep or compare against wall-time thresholds:
 *
 *     kn_fake_clock fc;
 *     kn_fake_clock_init(&fc, 0);
 *     kn_workqueue *q = kn_workqueue_new(&(kn_workqueue_opts){.clock = &fc.clock});
 *     kn_workqueue_add_after(q, "a", 10 * KN_NSEC_PER_SEC);
 *     kn_fake_clock_advance(&fc, 10 * KN_NSEC_PER_SEC);    "a" is now ready
 *
 * A clock has two operations: now() and wait_until(), a condition-variable
 * wait that returns when the clock reaches a deadline (or earlier, when the
 * condition is signalled or spuriously; callers re-check their predicate).
 * Condition variables handed to wait_until must be created with
 * kn_cond_init() (CLOCK_MONOTONIC), which real clocks rely on. */
#ifndef KNODE_LIB_CLOCK_H
#define KNODE_LIB_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A deadline that is never reached / a wait that never ends. */
#define KN_TIME_NEVER INT64_MAX

typedef struct kn_clock kn_clock;
struct kn_clock {
    /* Current time in nanoseconds on this clock's scale. */
    int64_t (*now)(kn_clock *c);
    /* Called with mu held; waits on cond until signalled or until now() >=
     * deadline_ns (KN_TIME_NEVER: no time limit); returns with mu held. May
     * return early: callers loop on their own condition. */
    void (*wait_until)(kn_clock *c, pthread_cond_t *cond, pthread_mutex_t *mu, int64_t deadline_ns);
};

/* The process-wide real clocks; never freed. Monotonic for measuring
 * intervals and deadlines, realtime (ns since the Unix epoch) where times
 * come from outside (container start/finish timestamps). */
kn_clock *kn_clock_monotonic(void);
kn_clock *kn_clock_realtime(void);

/* Shorthands for clock_gettime(CLOCK_MONOTONIC / CLOCK_REALTIME) in ns. */
int64_t kn_time_monotonic_ns(void);
int64_t kn_time_wall_ns(void);

/* c->now(c); a NULL clock means kn_clock_monotonic(). */
int64_t kn_clock_now(kn_clock *c);

/* c->wait_until(...); a NULL clock means kn_clock_monotonic(). */
void kn_clock_wait_until(kn_clock *c, pthread_cond_t *cond, pthread_mutex_t *mu,
                         int64_t deadline_ns);

/* Blocks until the clock has advanced by ns (returns at once for ns <= 0).
 * With a fake clock it returns when another thread advances it. */
void kn_clock_sleep(kn_clock *c, int64_t ns);

/* Initialises a condition variable that waits on CLOCK_MONOTONIC, as
 * kn_clock_wait_until requires. Destroy with pthread_cond_destroy. */
void kn_cond_init(pthread_cond_t *cond);

/* Saturating a + b for deadlines: never wraps past KN_TIME_NEVER or INT64_MIN. */
int64_t kn_time_add(int64_t a, int64_t b);

/* ---- fake clock for tests ------------------------------------------------ */

typedef struct kn_fake_waiter kn_fake_waiter;

/* Time moves only when a test calls kn_fake_clock_advance/set. Threads in
 * wait_until on it are woken when the time reaches their deadline. Pass
 * &fc->clock wherever a kn_clock * is taken. Fields are private. */
typedef struct kn_fake_clock {
    kn_clock clock;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int64_t now;
    kn_fake_waiter *waiters;
    int nwaiters;
    int busy; /* advances currently waking waiters */
} kn_fake_clock;

/* Starts the clock at start_ns. */
void kn_fake_clock_init(kn_fake_clock *fc, int64_t start_ns);

/* Releases the clock; no thread may be waiting on it. */
void kn_fake_clock_destroy(kn_fake_clock *fc);

/* Moves the time forward by d_ns (>= 0) and wakes the waiters whose deadline
 * has come. Returns after every woken waiter's condition was signalled. */
void kn_fake_clock_advance(kn_fake_clock *fc, int64_t d_ns);

/* Sets the time (may go backwards, as a wall clock can) and wakes due waiters. */
void kn_fake_clock_set(kn_fake_clock *fc, int64_t t_ns);

/* Number of threads currently blocked in wait_until on this clock. */
int kn_fake_clock_waiters(kn_fake_clock *fc);

/* Blocks until at least n threads are blocked in wait_until on this clock:
 * lets a test know a worker is parked before it advances the time. */
void kn_fake_clock_wait_for_waiters(kn_fake_clock *fc, int n);

#endif
