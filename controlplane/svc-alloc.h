/* svc-alloc.h - the ClusterIPs and NodePorts the stored Services hold, kept
 * up to date from the store's event history, so allocating for a new Service
 * reads what changed since the last allocation instead of every Service
 * (kube-apiserver keeps allocation bitmaps for the same reason). Not
 * thread-safe: the API server uses it under its allocation lock. */
#ifndef KNODE_CONTROLPLANE_SVC_ALLOC_H
#define KNODE_CONTROLPLANE_SVC_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/store.h"
#include "lib/error.h"

#define KN_NODEPORT_MIN 30000
#define KN_NODEPORT_MAX 32767

typedef struct kn_svc_alloc kn_svc_alloc;

kn_svc_alloc *kn_svc_alloc_new(void);
void kn_svc_alloc_free(kn_svc_alloc *a);

/* Brings a up to the store's newest revision (the first call, and any call
 * after the history it needs was compacted, lists every Service). */
int kn_svc_alloc_sync(kn_svc_alloc *a, kn_store *st, kn_error **err);

/* The IPv4 ClusterIPs in use, sorted (host order; valid until the next
 * sync), and their number. */
const uint32_t *kn_svc_alloc_ips(kn_svc_alloc *a, size_t *n);

/* Whether a NodePort in KN_NODEPORT_MIN..MAX is in use. */
bool kn_svc_alloc_port_used(const kn_svc_alloc *a, int port);

#endif
