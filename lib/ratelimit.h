/* ratelimit.h - a token bucket, as client-go's flowcontrol token bucket
 * (golang.org/x/time/rate underneath): the kubelet talks to the API server at
 * 50 QPS with a burst of 100 by default, work queues share 10 QPS / burst 100.
 *
 * The bucket holds at most `burst` tokens and starts full; it refills
 * continuously at `qps` tokens per second. Taking a token:
 *   - try_accept takes one only if one is there now;
 *   - reserve always takes one, letting the count go negative, and returns
 *     how long the caller must wait before acting (0 when a token was there):
 *     reservations queue up, each qps-th of a second after the previous;
 *   - accept reserves and sleeps (on the limiter's clock) for that wait.
 * A qps of INFINITY never limits. With qps <= 0 only the initial burst is
 * ever granted; with burst <= 0 and finite qps nothing is; reserve then
 * returns KN_TIME_NEVER and takes nothing. Wait times are rounded up to the
 * nanosecond at which the token is really there (x/time/rate truncates).
 * If the clock goes backwards, refill restarts from the earlier time.
 * Thread-safe. */
#ifndef KNODE_LIB_RATELIMIT_H
#define KNODE_LIB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/clock.h"

typedef struct kn_ratelimit kn_ratelimit;

/* A bucket of `burst` tokens refilled at qps per second. clock NULL means
 * kn_clock_monotonic(). Free with kn_ratelimit_free. */
kn_ratelimit *kn_ratelimit_new(kn_clock *clock, double qps, int burst);

/* NULL is ignored. */
void kn_ratelimit_free(kn_ratelimit *rl);

/* Takes a token if one is available now (client-go TryAccept). */
bool kn_ratelimit_try_accept(kn_ratelimit *rl);

/* Takes a token now or in the future; returns the ns to wait before using it
 * (0: now), or KN_TIME_NEVER (nothing taken) if it can never be granted. */
int64_t kn_ratelimit_reserve(kn_ratelimit *rl);

/* Blocks until a token is granted (client-go Accept). Returns false, without
 * blocking, if it can never be granted. */
bool kn_ratelimit_accept(kn_ratelimit *rl);

/* Tokens available now (may be negative while reservations are pending). */
double kn_ratelimit_tokens(kn_ratelimit *rl);

/* The configured rate. */
double kn_ratelimit_qps(const kn_ratelimit *rl);

#endif
