#include "lib/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/xalloc.h"

struct kn_ratelimit {
    pthread_mutex_t lock;
    kn_clock *clock;
    double qps;
    double burst;
    double tokens;
    int64_t last; /* time tokens was last brought up to date */
};

kn_ratelimit *kn_ratelimit_new(kn_clock *clock, double qps, int burst)
{
    kn_ratelimit *rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->lock, NULL);
    rl->clock = clock ? clock : kn_clock_monotonic();
    rl->qps = qps;
    rl->burst = burst > 0 ? burst : 0;
    rl->tokens = rl->burst;
    rl->last = kn_clock_now(rl->clock);
    return rl;
}

void kn_ratelimit_free(kn_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* Brings tokens up to now: refill for the elapsed time, at most to burst. */
static void refill(kn_ratelimit *rl, int64_t now)
{
    if (now > rl->last && rl->qps > 0) {
        double add = (double)(now - rl->last) * rl->qps / 1e9;
        rl->tokens = fmin(rl->burst, rl->tokens + add);
    }
    rl->last = now;
}

/* Takes one token if that is possible at all; returns the wait (see header). */
static int64_t take(kn_ratelimit *rl, bool only_now)
{
    if (isinf(rl->qps) && rl->qps > 0)
        return 0;
    refill(rl, kn_clock_now(rl->clock));
    double left = rl->tokens - 1;
    if (left >= 0) {
        rl->tokens = left;
        return 0;
    }
    if (only_now || rl->qps <= 0 || rl->burst < 1)
        return KN_TIME_NEVER;
    double wait = ceil(-left * 1e9 / rl->qps);
    if (!(wait < 9.2e18))
        return KN_TIME_NEVER;
    rl->tokens = left;
    return (int64_t)wait;
}

bool kn_ratelimit_try_accept(kn_ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    bool ok = take(rl, true) == 0;
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

int64_t kn_ratelimit_reserve(kn_ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    int64_t wait = take(rl, false);
    pthread_mutex_unlock(&rl->lock);
    return wait;
}

bool kn_ratelimit_accept(kn_ratelimit *rl)
{
    int64_t wait = kn_ratelimit_reserve(rl);
    if (wait == KN_TIME_NEVER)
        return false;
    kn_clock_sleep(rl->clock, wait);
    return true;
}

double kn_ratelimit_tokens(kn_ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    if (!(isinf(rl->qps) && rl->qps > 0))
        refill(rl, kn_clock_now(rl->clock));
    double t = rl->tokens;
    pthread_mutex_unlock(&rl->lock);
    return t;
}

double kn_ratelimit_qps(const kn_ratelimit *rl)
{
    return rl->qps;
}
