/* workqueue.h - a thread-safe, de-duplicating, delaying, rate-limited work
 * queue of string keys with client-go's workqueue semantics (the
 * RateLimitingInterface every controller loop is built on):
 *
 *     while (kn_workqueue_get(q, &key)) {
 *         if (sync(key) < 0)
 *             kn_workqueue_add_rate_limited(q, key);   retry with backoff
 *         else
 *             kn_workqueue_forget(q, key);             success: reset backoff
 *         kn_workqueue_done(q, key);
 *         free(key);
 *     }
 *
 * - A key is queued at most once: adding a key that is already waiting does
 *   nothing (it keeps its place in the FIFO).
 * - A key is handed to at most one getter at a time: adding a key that is
 *   being processed marks it dirty and it is queued again only at done().
 * - add_after(key, d) queues the key once d has passed (d <= 0: now). While a
 *   key is waiting, a later add_after only moves its time earlier. A waiting
 *   key is independent of the queue: add() still queues it at once.
 * - add_rate_limited(key) is add_after(key, max(per-item, overall)):
 *   per-item: base * 2^failures (5ms, 10ms, ... capped at 1000s), failures
 *   counting add_rate_limited calls since the last forget(key);
 *   overall: a token bucket (10 qps, burst 100) shared by all keys.
 *   (client-go DefaultControllerRateLimiter.)
 * - shutdown(): new adds are ignored, waiting (delayed) keys are dropped,
 *   getters still receive what is already queued, then get() returns false.
 *   shutdown_with_drain() additionally blocks until no key is being
 *   processed (every get has its done); a shutdown() ends that wait early.
 *
 * Delayed keys are kept in a timer heap; getters wait on the queue's clock
 * until the earliest one is due, and every operation first moves due keys
 * into the queue, so they appear in due-time order relative to plain adds. */
#ifndef KNODE_LIB_WORKQUEUE_H
#define KNODE_LIB_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/clock.h"

typedef struct kn_workqueue_opts {
    kn_clock *clock;       /* NULL: kn_clock_monotonic() */
    int64_t base_delay_ns; /* per-item failure backoff start; 0: 5ms */
    int64_t max_delay_ns;  /* per-item failure backoff cap; 0: 1000s */
    double qps;            /* overall bucket rate; 0: 10; INFINITY: no limit */
    int burst;             /* overall bucket size; 0: 100 */
} kn_workqueue_opts;

typedef struct kn_workqueue kn_workqueue;

/* A new empty queue; opts may be NULL for all defaults. */
kn_workqueue *kn_workqueue_new(const kn_workqueue_opts *opts);

/* Frees the queue. Call only once no thread uses it any more (after
 * shutdown and after every getter returned). NULL is ignored. */
void kn_workqueue_free(kn_workqueue *q);

/* Queues key (copied) unless it is already queued; see above. */
void kn_workqueue_add(kn_workqueue *q, const char *key);

/* Blocks until a key is available and marks it as being processed. Returns
 * true with *key set (newly allocated; the caller frees it after done), or
 * false (*key = NULL) once the queue is shut down and empty. */
bool kn_workqueue_get(kn_workqueue *q, char **key);

/* Ends processing of key (from get). If it was added meanwhile it is queued
 * again. A key not being processed is ignored. */
void kn_workqueue_done(kn_workqueue *q, const char *key);

/* Queues key once delay_ns has passed on the queue's clock. */
void kn_workqueue_add_after(kn_workqueue *q, const char *key, int64_t delay_ns);

/* Queues key after its rate-limited delay (see above) and counts a failure. */
void kn_workqueue_add_rate_limited(kn_workqueue *q, const char *key);

/* Clears key's failure count: its next add_rate_limited starts at base. */
void kn_workqueue_forget(kn_workqueue *q, const char *key);

/* The key's failure count (add_rate_limited calls since the last forget). */
unsigned kn_workqueue_num_requeues(kn_workqueue *q, const char *key);

/* Number of keys queued and not handed out (delayed ones once due). */
size_t kn_workqueue_len(kn_workqueue *q);

/* Number of keys waiting for an add_after/add_rate_limited time. */
size_t kn_workqueue_delayed_len(kn_workqueue *q);

/* Stops accepting keys and wakes every getter; see above. */
void kn_workqueue_shutdown(kn_workqueue *q);

/* Like shutdown, then waits until no key is being processed. */
void kn_workqueue_shutdown_with_drain(kn_workqueue *q);

/* True once shutdown or shutdown_with_drain was called. */
bool kn_workqueue_shutting_down(kn_workqueue *q);

#endif
