/* compactor.h - periodic compaction of the store's history, as upstream's
 * API server does against etcd: every interval, compact up to the revision
 * that was current one interval ago, so watches can resume from anything
 * newer than about one interval and history does not grow without bound. */
#ifndef KNODE_CONTROLPLANE_COMPACTOR_H
#define KNODE_CONTROLPLANE_COMPACTOR_H

#include <stdint.h>

#include "controlplane/store.h"

typedef struct kn_compactor kn_compactor;

/* Starts the compactor thread (interval_s: 300 as upstream). */
kn_compactor *kn_compactor_start(kn_store *store, int interval_s);
/* Stops and joins the thread. NULL-safe. */
void kn_compactor_stop(kn_compactor *c);

#endif
