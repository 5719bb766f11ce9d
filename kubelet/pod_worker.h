/* pod_worker.h - one worker per pod: work items keyed by pod UID, handled
 * one at a time per key and never waiting for other keys.
 *
 * Built on lib/workqueue (a key is queued once and handed to one thread at
 * a time; a key added while it is being processed runs again afterwards)
 * with an elastic thread pool: whenever every thread is busy another one is
 * started (up to max_threads), so a pod that blocks in a long call (an
 * image pull, a 30 s grace period) never holds up the others, as upstream's
 * goroutine per pod. When a burst is over the pool shrinks back: a thread
 * that finishes an item while nothing is queued and two others are idle
 * ends (its stack is unmapped once it is joined). The work function returns
 * when to run the key again. */
#ifndef KNODE_KUBELET_POD_WORKER_H
#define KNODE_KUBELET_POD_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/clock.h"

/* Handles key; returns the delay in ns after which to handle it again
 * (0: at once), or a negative value for "not again unless enqueued". */
typedef int64_t (*kl_work_fn)(void *arg, const char *key);

typedef struct kl_pod_workers kl_pod_workers;

/* Starts min(2, max_threads) threads (more on demand). clock NULL is the
 * monotonic clock (it times the delays). max_threads <= 0 means 512. */
kl_pod_workers *kl_pod_workers_new(kl_work_fn fn, void *arg, int max_threads, kn_clock *clock);

/* Queues key for handling now (deduplicated while waiting). */
void kl_pod_workers_enqueue(kl_pod_workers *w, const char *key);

/* Queues key after delay_ns (an earlier pending time wins). */
void kl_pod_workers_enqueue_after(kl_pod_workers *w, const char *key, int64_t delay_ns);

/* Stops taking work, lets running handlers finish, joins every thread and
 * frees w. Queued keys are dropped. NULL is fine. */
void kl_pod_workers_free(kl_pod_workers *w);

/* Threads running now (busy or idle). */
size_t kl_pod_workers_threads(kl_pod_workers *w);

#endif
