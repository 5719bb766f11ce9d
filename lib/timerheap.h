/* timerheap.h - a min-heap of timers ordered by deadline.
 *
 * Each timer is (deadline in ns, callback, data) and is named by a handle
 * (kn_timer_id) that stays safe to use after the timer fired or was
 * cancelled: a stale handle is simply not found. Insert, cancel and
 * reschedule are O(log n); next-deadline is O(1). Timers with equal
 * deadlines fire in the order they were (re)scheduled.
 *
 * Not thread-safe: the owner serialises access (the work queue uses it under
 * its own lock). The time scale is the caller's (see lib/clock.h). */
#ifndef KNODE_LIB_TIMERHEAP_H
#define KNODE_LIB_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A timer handle; 0 is never a valid handle ("no timer"). */
typedef uint64_t kn_timer_id;

typedef void (*kn_timer_cb)(void *data);

/* What kn_timerheap_pop_expired hands back. */
typedef struct kn_timer_entry {
    kn_timer_id id;
    int64_t deadline;
    kn_timer_cb cb; /* as given to kn_timerheap_add, may be NULL */
    void *data;
} kn_timer_entry;

typedef struct kn_timerheap kn_timerheap;

/* Returns an empty heap; free with kn_timerheap_free. */
kn_timerheap *kn_timerheap_new(void);

/* Frees the heap; pending timers are dropped without running (their data is
 * the caller's). NULL is ignored. */
void kn_timerheap_free(kn_timerheap *h);

/* Schedules (cb, data) at deadline_ns. cb may be NULL for callers that only
 * pop entries. Returns the new timer's handle (never 0). */
kn_timer_id kn_timerheap_add(kn_timerheap *h, int64_t deadline_ns, kn_timer_cb cb, void *data);

/* Removes a pending timer. Returns false if id is not pending (fired,
 * cancelled, or 0). */
bool kn_timerheap_cancel(kn_timerheap *h, kn_timer_id id);

/* Moves a pending timer to a new deadline. Returns false if id is not pending. */
bool kn_timerheap_reschedule(kn_timerheap *h, kn_timer_id id, int64_t deadline_ns);

/* True if id names a pending timer; its deadline goes to *deadline_ns when
 * deadline_ns is non-NULL. */
bool kn_timerheap_pending(const kn_timerheap *h, kn_timer_id id, int64_t *deadline_ns);

/* The earliest pending deadline, or KN_TIME_NEVER (INT64_MAX) when empty. */
int64_t kn_timerheap_next_deadline(const kn_timerheap *h);

/* Removes the earliest timer if its deadline is <= now_ns and describes it in
 * *out (the callback is not run). Returns false when nothing is due. */
bool kn_timerheap_pop_expired(kn_timerheap *h, int64_t now_ns, kn_timer_entry *out);

/* Pops every timer due at now_ns in deadline order and runs its callback
 * (if any). A callback may add, cancel or reschedule timers; timers it adds
 * that are already due run in the same call. Returns how many fired. */
size_t kn_timerheap_run_expired(kn_timerheap *h, int64_t now_ns);

/* Number of pending timers. */
size_t kn_timerheap_len(const kn_timerheap *h);

#endif
