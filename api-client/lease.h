/* lease.h - coordination.k8s.io/v1 Leases: node heartbeats and the building
 * block of leader election (client-go's leaderelection LeaseLock).
 *
 * A Lease's spec holds holderIdentity, leaseDurationSeconds, acquireTime,
 * renewTime (MicroTime: "2006-01-02T15:04:05.000000Z") and leaseTransitions.
 * kc_lease_acquire gets the Lease (creating it when missing) and, when it may,
 * writes itself as the holder with a fresh renewTime using the read
 * resourceVersion (optimistic concurrency: on 409 it reads again and
 * retries a few times). */
#ifndef KNODE_API_CLIENT_LEASE_H
#define KNODE_API_CLIENT_LEASE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "api-client/rest.h"
#include "lib/error.h"

#define KC_MICRO_TIME_LEN 48

/* Formats wall-clock ns as a Kubernetes MicroTime into out. */
void kc_micro_time_format(int64_t wall_ns, char out[KC_MICRO_TIME_LEN]);

/* Parses a MicroTime or RFC 3339 time ("...Z" or "+hh:mm", fraction
 * optional) into wall-clock ns. Returns 0, or -1 when malformed. */
int kc_micro_time_parse(const char *s, int64_t *wall_ns);

typedef struct kc_lease_options {
    const char *ns, *name; /* where the Lease lives */
    const char *holder;    /* our identity */
    int duration_s;        /* leaseDurationSeconds written */
    bool force;            /* take it even while another holder's lease is valid
                              (a node's own heartbeat lease) */
    const cJSON *owner;    /* an ownerReference set on create, or NULL */
    int64_t now_ns;        /* wall clock to write; 0: now */
} kc_lease_options;

/* Acquires or renews the Lease. *held says whether we hold it afterwards
 * (false: another holder's lease has not expired and force is off; nothing
 * was written). *out (optional) gets the Lease as the server last returned
 * it. */
int kc_lease_acquire(kc_client *c, const kc_lease_options *o, bool *held, cJSON **out,
                     kn_error **err);

#endif
