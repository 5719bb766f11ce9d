/* backoff.h - exponential backoff with jitter, and per-key backoff tracking.
 *
 * 1. kn_backoff: a delay sequence like apimachinery's wait.Backoff
 *    {Duration, Factor, Jitter, Steps, Cap} and its Step():
 *      - each call returns the current duration, plus jitter when jitter > 0:
 *        d + rand[0,1) * jitter * d (never below d);
 *      - while steps remain, the next duration is duration * factor (factor 0
 *        keeps it), capped at cap when cap > 0; reaching the cap ends the steps;
 *      - once steps are used up (or when steps <= 0 from the start) the
 *        duration no longer changes: every call returns it (with fresh jitter).
 *    E.g. {10ms, 2.0, 0, 4, 0} gives 10, 20, 40, 80, 160, 160, ... ms.
 *    Not thread-safe (one owner, like a retry loop).
 *
 * 2. kn_backoff_tracker: client-go's flowcontrol.Backoff, a per-key backoff
 *    the kubelet uses for CrashLoopBackOff (10s doubling to 5m, key = pod UID +
 *    container name) and image pulls (10s to 5m, key = pod + image). Per key
 *    it keeps {backoff, last_update}:
 *      - next(key, event_time): with no entry, or an expired one, the backoff
 *        starts at `initial` (+ jitter); otherwise it becomes
 *        min(2 * backoff + jitter(backoff), max). last_update = clock now.
 *      - is_in_backoff_since(key, event_time): false without an entry or when
 *        it expired at event_time; else (now - event_time) < backoff.
 *        The kubelet passes the container's finishedAt: restarting is held
 *        back until backoff has passed since the last exit.
 *      - is_in_backoff_since_update(key, event_time): as above but compares
 *        (event_time - last_update) < backoff (image pulls pass now).
 *      - an entry has expired at time t when t - last_update > expire, expire
 *        defaulting to 2 * max ("stable for twice the max": the backoff
 *        restarts from initial). The kubelet overrides it for containers with
 *        "reset after 10 minutes of running" (upstream HasExpiredFunc
 *        returning eventTime - lastUpdate > 600s): set_expiry(600s).
 *      - gc() drops entries expired at the clock's now; callers run it
 *        periodically (the kubelet does so during pod cleanup).
 *      - jitter(d) = rand[0,1) * max_jitter * d; max_jitter 0 (kubelet) = none.
 *    Times are ns on the tracker's clock (realtime by default, because event
 *    times such as finishedAt are wall-clock timestamps). Thread-safe.
 *
 * Jitter comes from a per-object PRNG (drand48_r) seeded from getrandom(2);
 * tests inject their own source with *_set_rand. */
#ifndef KNODE_LIB_BACKOFF_H
#define KNODE_LIB_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/clock.h"

/* A source of uniform random numbers in [0, 1). */
typedef double (*kn_rand_fn)(void *userdata);

/* A per-object PRNG (not shared, so no locking and no global state). */
typedef struct kn_rand {
    struct drand48_data state;
    kn_rand_fn fn; /* when set, used instead of state */
    void *userdata;
} kn_rand;

/* Seeds r from getrandom(2) (falling back to time and address bits). */
void kn_rand_init(kn_rand *r);

/* Seeds r with a fixed value, for reproducible sequences. */
void kn_rand_seed(kn_rand *r, uint64_t seed);

/* A uniform double in [0, 1). */
double kn_rand_float(kn_rand *r);

/* wait.Jitter: d + rand * max_factor * d; max_factor <= 0 means 1.0. */
int64_t kn_jitter(int64_t d_ns, double max_factor, kn_rand *r);

/* wait.Backoff's parameters. */
typedef struct kn_backoff_params {
    int64_t duration_ns; /* initial delay */
    double factor;       /* multiplier per step; 0 keeps the duration */
    double jitter;       /* 0: none; else up to jitter * duration added */
    int steps;           /* number of steps that may change the duration */
    int64_t cap_ns;      /* limit on the duration; 0: none */
} kn_backoff_params;

typedef struct kn_backoff {
    kn_backoff_params initial; /* as passed to init, for reset */
    int64_t duration_ns;       /* current, before jitter */
    int steps;                 /* steps remaining */
    kn_rand rand;
} kn_backoff;

/* Starts the sequence at p (copied) with a freshly seeded PRNG. */
void kn_backoff_init(kn_backoff *b, const kn_backoff_params *p);

/* Returns the next delay in ns (wait.Backoff.Step()). */
int64_t kn_backoff_next(kn_backoff *b);

/* Restarts the sequence from the initial parameters (keeps the PRNG). */
void kn_backoff_reset(kn_backoff *b);

/* Replaces the jitter source (NULL fn: back to the PRNG). */
void kn_backoff_set_rand(kn_backoff *b, kn_rand_fn fn, void *userdata);

/* ---- per-key tracker (flowcontrol.Backoff) ---------------------------------- */

typedef struct kn_backoff_tracker kn_backoff_tracker;

/* initial_ns doubling up to max_ns per key; max_jitter as described above.
 * clock NULL means kn_clock_realtime(). Free with kn_backoff_tracker_free. */
kn_backoff_tracker *kn_backoff_tracker_new(kn_clock *clock, int64_t initial_ns, int64_t max_ns,
                                           double max_jitter);

/* Frees the tracker and its entries. NULL is ignored. */
void kn_backoff_tracker_free(kn_backoff_tracker *t);

/* Sets the expiry interval (default 2 * max_ns); see the header comment. */
void kn_backoff_tracker_set_expiry(kn_backoff_tracker *t, int64_t expire_ns);

/* Replaces the jitter source (NULL fn: back to the PRNG). */
void kn_backoff_tracker_set_rand(kn_backoff_tracker *t, kn_rand_fn fn, void *userdata);

/* The key's current backoff in ns, 0 without an entry. */
int64_t kn_backoff_tracker_get(kn_backoff_tracker *t, const char *key);

/* Moves the key's backoff to its next step (see the header comment). */
void kn_backoff_tracker_next(kn_backoff_tracker *t, const char *key, int64_t event_time_ns);

/* True while now - event_time < the key's backoff (and it has not expired). */
bool kn_backoff_tracker_is_in_backoff_since(kn_backoff_tracker *t, const char *key,
                                            int64_t event_time_ns);

/* True while event_time - last_update < the key's backoff (not expired). */
bool kn_backoff_tracker_is_in_backoff_since_update(kn_backoff_tracker *t, const char *key,
                                                   int64_t event_time_ns);

/* Forgets the key (upstream Reset / DeleteEntry). */
void kn_backoff_tracker_reset(kn_backoff_tracker *t, const char *key);

/* Drops entries that have expired at the clock's now; returns how many. */
size_t kn_backoff_tracker_gc(kn_backoff_tracker *t);

/* Number of keys with an entry. */
size_t kn_backoff_tracker_len(kn_backoff_tracker *t);

#endif
