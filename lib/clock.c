#include "lib/clock.h"

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#include "lib/xalloc.h"

#define NSEC_PER_SEC INT64_C(1000000000)

static int64_t ts_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

int64_t kn_time_monotonic_ns(void)
{
    return ts_ns(CLOCK_MONOTONIC);
}

int64_t kn_time_wall_ns(void)
{
    return ts_ns(CLOCK_REALTIME);
}

int64_t kn_time_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

void kn_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

/* ---- real clocks ------------------------------------------------------------ */

static int64_t mono_now(kn_clock *c)
{
    (void)c;
    return kn_time_monotonic_ns();
}

static int64_t real_now(kn_clock *c)
{
    (void)c;
    return kn_time_wall_ns();
}

/* Both real clocks wait on CLOCK_MONOTONIC for the remaining interval, so a
 * wall-clock step during the wait only shortens or lengthens this one wait;
 * callers re-check now() and wait again. */
static void real_wait_until(kn_clock *c, pthread_cond_t *cond, pthread_mutex_t *mu,
                            int64_t deadline_ns)
{
    if (deadline_ns == KN_TIME_NEVER) {
        pthread_cond_wait(cond, mu);
        return;
    }
    int64_t now = c->now(c);
    if (now >= deadline_ns)
        return;
    int64_t abs = kn_time_add(kn_time_monotonic_ns(), kn_time_add(deadline_ns, -now));
    struct timespec ts = {.tv_sec = abs / NSEC_PER_SEC, .tv_nsec = abs % NSEC_PER_SEC};
    pthread_cond_timedwait(cond, mu, &ts);
}

static kn_clock monotonic_clock = {mono_now, real_wait_until};
static kn_clock realtime_clock = {real_now, real_wait_until};

kn_clock *kn_clock_monotonic(void)
{
    return &monotonic_clock;
}

kn_clock *kn_clock_realtime(void)
{
    return &realtime_clock;
}

int64_t kn_clock_now(kn_clock *c)
{
    if (!c)
        c = &monotonic_clock;
    return c->now(c);
}

void kn_clock_wait_until(kn_clock *c, pthread_cond_t *cond, pthread_mutex_t *mu,
                         int64_t deadline_ns)
{
    if (!c)
        c = &monotonic_clock;
    c->wait_until(c, cond, mu, deadline_ns);
}

void kn_clock_sleep(kn_clock *c, int64_t ns)
{
    if (ns <= 0)
        return;
    if (!c)
        c = &monotonic_clock;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond;
    kn_cond_init(&cond);
    pthread_mutex_lock(&mu);
    int64_t deadline = kn_time_add(c->now(c), ns);
    while (c->now(c) < deadline)
        c->wait_until(c, &cond, &mu, deadline);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cond);
    pthread_mutex_destroy(&mu);
}

/* ---- fake clock ----------------------------------------------------------------
 *
 * A waiter registers (cond, mu, deadline) under fc->lock while holding mu, then
 * waits on cond. An advance collects the due waiters under fc->lock and then
 * signals each cond while holding its mu: it can only take mu once the waiter
 * is inside pthread_cond_wait, so no wake-up is lost. A waiter leaving
 * wait_until first waits (with mu released) until no advance is still
 * signalling, so its cond and mu are never touched after it returns. */

struct kn_fake_waiter {
    pthread_cond_t *cond;
    pthread_mutex_t *mu;
    int64_t deadline;
    kn_fake_waiter *prev, *next;
};

typedef struct fake_wake {
    pthread_cond_t *cond;
    pthread_mutex_t *mu;
} fake_wake;

static kn_fake_clock *fake_of(kn_clock *c)
{
    return (kn_fake_clock *)((char *)c - offsetof(kn_fake_clock, clock));
}

static int64_t fake_now(kn_clock *c)
{
    kn_fake_clock *fc = fake_of(c);
    pthread_mutex_lock(&fc->lock);
    int64_t now = fc->now;
    pthread_mutex_unlock(&fc->lock);
    return now;
}

static void fake_link(kn_fake_clock *fc, kn_fake_waiter *w)
{
    w->prev = NULL;
    w->next = fc->waiters;
    if (fc->waiters)
        fc->waiters->prev = w;
    fc->waiters = w;
    fc->nwaiters++;
    pthread_cond_broadcast(&fc->changed);
}

static void fake_unlink(kn_fake_clock *fc, kn_fake_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        fc->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    fc->nwaiters--;
    pthread_cond_broadcast(&fc->changed);
}

static void fake_wait_until(kn_clock *c, pthread_cond_t *cond, pthread_mutex_t *mu,
                            int64_t deadline_ns)
{
    kn_fake_clock *fc = fake_of(c);
    kn_fake_waiter w = {.cond = cond, .mu = mu, .deadline = deadline_ns};
    pthread_mutex_lock(&fc->lock);
    if (fc->now >= deadline_ns) {
        pthread_mutex_unlock(&fc->lock);
        return;
    }
    fake_link(fc, &w);
    pthread_mutex_unlock(&fc->lock);

    pthread_cond_wait(cond, mu);

    pthread_mutex_unlock(mu);
    pthread_mutex_lock(&fc->lock);
    fake_unlink(fc, &w);
    while (fc->busy > 0)
        pthread_cond_wait(&fc->changed, &fc->lock);
    pthread_mutex_unlock(&fc->lock);
    pthread_mutex_lock(mu);
}

/* Sets the time (to t, or forward by t when relative) and wakes every waiter
 * whose deadline has come. */
static void fake_move(kn_fake_clock *fc, int64_t t, bool relative)
{
    pthread_mutex_lock(&fc->lock);
    if (relative)
        t = kn_time_add(fc->now, t);
    fc->now = t;
    fake_wake *due = xreallocarray(NULL, (size_t)fc->nwaiters + 1, sizeof(*due));
    size_t n = 0;
    for (kn_fake_waiter *w = fc->waiters; w; w = w->next) {
        if (w->deadline <= t)
            due[n++] = (fake_wake){w->cond, w->mu};
    }
    if (n > 0)
        fc->busy++;
    pthread_mutex_unlock(&fc->lock);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(due[i].mu);
        pthread_cond_broadcast(due[i].cond);
        pthread_mutex_unlock(due[i].mu);
    }
    free(due);
    if (n == 0)
        return;
    pthread_mutex_lock(&fc->lock);
    fc->busy--;
    pthread_cond_broadcast(&fc->changed);
    pthread_mutex_unlock(&fc->lock);
}

void kn_fake_clock_init(kn_fake_clock *fc, int64_t start_ns)
{
    fc->clock.now = fake_now;
    fc->clock.wait_until = fake_wait_until;
    pthread_mutex_init(&fc->lock, NULL);
    pthread_cond_init(&fc->changed, NULL);
    fc->now = start_ns;
    fc->waiters = NULL;
    fc->nwaiters = 0;
    fc->busy = 0;
}

void kn_fake_clock_destroy(kn_fake_clock *fc)
{
    pthread_cond_destroy(&fc->changed);
    pthread_mutex_destroy(&fc->lock);
}

void kn_fake_clock_advance(kn_fake_clock *fc, int64_t d_ns)
{
    fake_move(fc, d_ns > 0 ? d_ns : 0, true);
}

void kn_fake_clock_set(kn_fake_clock *fc, int64_t t_ns)
{
    fake_move(fc, t_ns, false);
}

int kn_fake_clock_waiters(kn_fake_clock *fc)
{
    pthread_mutex_lock(&fc->lock);
    int n = fc->nwaiters;
    pthread_mutex_unlock(&fc->lock);
    return n;
}

void kn_fake_clock_wait_for_waiters(kn_fake_clock *fc, int n)
{
    pthread_mutex_lock(&fc->lock);
    while (fc->nwaiters < n)
        pthread_cond_wait(&fc->changed, &fc->lock);
    pthread_mutex_unlock(&fc->lock);
}
