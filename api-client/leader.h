/* leader.h - leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection.LeaderElector with a LeaseLock.
 *
 * A candidate tries to acquire the Lease every retry period (jittered by
 * 1.2, as upstream): it takes it when it is free (no holder) or when the
 * record it last observed has not changed for leaseDurationSeconds of its
 * own clock (the holder's clock is never trusted: renewTime is not
 * compared). The leader renews every retry period; when it cannot renew
 * within the renew deadline it stops leading. Writes use the read
 * resourceVersion, so two candidates never both win. On stop, a leader
 * with release_on_cancel empties holderIdentity (leaseDurationSeconds 1) so
 * another can take over at once.
 *
 * Callbacks run on the elector's thread and must not block:
 * started_leading when it acquired, stopped_leading when it lost or gave up
 * leadership (only after started_leading), new_leader whenever the
 * observed holder changes. After losing, the elector becomes a candidate
 * again (upstream's Run returns instead; its callers exit). */
#ifndef KNODE_API_CLIENT_LEADER_H
#define KNODE_API_CLIENT_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/error.h"

typedef struct kc_leader kc_leader;

typedef struct kc_leader_options {
    const char *ns, *name;     /* the Lease */
    const char *identity;      /* this candidate's holderIdentity */
    int64_t lease_duration_ns; /* 0: 15 s */
    int64_t renew_deadline_ns; /* 0: 10 s */
    int64_t retry_period_ns;   /* 0: 2 s */
    bool release_on_cancel;
    void (*started_leading)(void *userdata);
    void (*stopped_leading)(void *userdata);
    void (*new_leader)(const char *identity, void *userdata);
    void *userdata;
    kn_clock *clock;      /* waits and observed times; NULL: monotonic */
    kn_clock *wall_clock; /* acquireTime and renewTime written; NULL: realtime */
    kn_rand *rand;        /* jitter; NULL: a seeded generator */
} kc_leader_options;

/* Validates o as upstream (leaseDuration > renewDeadline > 1.2 *
 * retryPeriod > 0, an identity) and starts electing through c (not owned;
 * must outlive the elector). */
int kc_leader_start(kc_client *c, const kc_leader_options *o, kc_leader **out, kn_error **err);

/* True while this candidate holds the Lease (as last observed). */
bool kc_leader_is_leader(kc_leader *l);

/* The holder last observed (owned copy; "" when none), or NULL before the
 * Lease was read. */
char *kc_leader_holder(kc_leader *l);

/* The number of acquire/renew attempts made so far (metrics, tests). */
int64_t kc_leader_tries(kc_leader *l);

/* Stops (releasing the Lease if configured and leading; stopped_leading
 * runs if it was leading) and frees. NULL is ignored. */
void kc_leader_stop(kc_leader *l);

#endif
