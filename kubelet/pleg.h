/* pleg.h - the pod lifecycle event generator (upstream GenericPLEG): relists
 * every sandbox and container of the runtime each period (1 s), compares
 * their states with the previous relist and reports every pod (by UID
 * label) in which something appeared, changed state or disappeared, so its
 * worker syncs it. The relist also hands the set of pod UIDs present in the
 * runtime to a callback (the kubelet's orphan housekeeping). Health: the
 * PLEG is unhealthy when no relist has succeeded for 3 minutes. */
#ifndef KNODE_KUBELET_PLEG_H
#define KNODE_KUBELET_PLEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri/grpc.h"
#include "lib/clock.h"
#include "lib/error.h"

#define KL_PLEG_RELIST_PERIOD_NS (1000 * 1000 * 1000LL)
#define KL_PLEG_UNHEALTHY_NS (3 * 60 * 1000 * 1000 * 1000LL)

typedef struct kl_pleg_callbacks {
    /* A pod's runtime state changed. */
    void (*pod_changed)(void *arg, const char *uid);
    /* After each successful relist: every pod UID the runtime holds (with
     * the sandbox metadata's namespace/name of the newest sandbox, "" when
     * unknown). May be NULL. */
    void (*relisted)(void *arg, const char *const *uids, size_t n);
    void *arg;
} kl_pleg_callbacks;

typedef struct kl_pleg kl_pleg;

/* A PLEG over conn (borrowed) relisting every period_ns (<= 0: 1 s) on clock
 * (NULL: monotonic). Not started. */
kl_pleg *kl_pleg_new(cri_conn *conn, const kl_pleg_callbacks *cb, int64_t period_ns,
                     kn_clock *clock);

/* Relists once now (the thread calls this); returns 0 or the CRI error. */
int kl_pleg_relist(kl_pleg *p, kn_error **err);

/* Starts the relist thread. */
int kl_pleg_start(kl_pleg *p, kn_error **err);

/* Stops the thread (if started) and frees p. NULL is fine. */
void kl_pleg_free(kl_pleg *p);

/* False once no relist succeeded for KL_PLEG_UNHEALTHY_NS; *why (may be
 * NULL) then reads "PLEG is not healthy: pleg was last seen active 3m0s ago;
 * threshold is 3m0s" (owned by the caller). */
bool kl_pleg_healthy(kl_pleg *p, char **why);

#endif
